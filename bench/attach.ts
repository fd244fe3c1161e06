/**
 * Benchmark (g): `podd attach` to a pod with a 5,000-entry session, time to the first screen
 * (target: < 1 s).
 *
 * A segment file of `ENTRIES` entries shaped like real runs (user inputs and notifications,
 * reasoning, assistant markdown with code blocks, tool calls with results, usage, turn and run
 * ends) is written line by line into a temp PODD_HOME with a matching
 * `pods/<name>/metadata.json`; the pod restores it (`node dist/src/daemon-main.js <name>
 * --model scripted:<file>`, ready on fd 3), next to a new pod with an empty session. In a real
 * terminal (tmux, `WIDTH` × `HEIGHT`, CI variables unset, TERM=xterm-256color) `node bin/podd
 * attach <name>` is started in a pane (the tmux server already running) and the pane is read
 * with `capture-pane` every `POLL_MS` until it shows the newest message's text and the status
 * line (pod name, model, `idle`, no connection note); then Ctrl-D detaches. References in the
 * same rounds: the empty pod; `node bin/podd attach <name> --json --until snapshot` (no
 * rendering; both pods); and a bare `node -e` printing a line in the same harness (the floor).
 * In-process: `decodeEvent` of the snapshot line, `reduceEvent` into a fresh state and
 * `visibleLines` of the first window; and, in fresh Node processes, the time to import the
 * TUI's module graph (Ink, React, the app). Without tmux the group is skipped.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Event, LogEntry } from "../protocol/index.js";
import { decodeEvent } from "../protocol/index.js";
import { script } from "../src/model/scripted/script-builder.js";
import { visibleLines } from "../src/tui/transcript.js";
import { initialTuiState, reduceEvent } from "../src/tui/transcript-model.js";
import { CLI_ENTRY, elapsedMs, median, nowNs, podEnv, REPO_ROOT, removeDir, sleep, startPod, summary, tempDir, trackPid, untrackPid, withTimeout, writeRestorableMetadata, type PodProcess, type Summary } from "./support.js";
import { hasTmux, TmuxScreen } from "./tmux.js";

export const ENTRIES = 5_000;
export const WARMUP_ROUNDS = 1;
export const MEASURED_ROUNDS = 5;
export const WIDTH = 120;
export const HEIGHT = 40;
export const POLL_MS = 10;
export const IN_PROCESS_ROUNDS = 5;
const SCREEN_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
const SESSION_ID = "01BENCHATTACHSESSION0000000";
const SEGMENT_ID = "01BENCHATTACHSEGMENT0000000";
const BIG_POD = "big";
const EMPTY_POD = "fresh";
/** The newest message ends with this line; the first screen must show it. */
const NEWEST_TEXT = `Newest entry: all ${ENTRIES.toLocaleString("en-US")} entries are back.`;
const FLOOR_TEXT = "floor: node is up";

export type AttachResult =
  | { skipped: string }
  | {
      skipped?: undefined;
      entries: number;
      fileBytes: number;
      snapshotBytes: number;
      counts: Record<string, number>;
      rounds: number;
      width: number;
      height: number;
      /** Spawn → first screen (newest text + status line), ms. */
      big: Summary;
      empty: Summary;
      /** Spawn → exit of `podd attach --json --until snapshot`, ms. */
      jsonBig: Summary;
      jsonEmpty: Summary;
      /** Spawn → a bare `node -e` line on the screen, ms. */
      floor: Summary;
      /** The wait between two screen reads, ms. */
      pollMs: number;
      inProcessRounds: number;
      /** Average interval between two screen reads while waiting, ms. */
      pollIntervalMs: number;
      /** In the runner process, on the 5,000-entry snapshot line. */
      decodeMs: Summary;
      reduceMs: Summary;
      firstWindowMs: Summary;
      /** The same three, first (cold) round in this process. */
      cold: { decodeMs: number; reduceMs: number; firstWindowMs: number };
      /** Fresh Node process: start → first line of the script, then the imports of ink, marked-terminal and the rest of dist/src/tui/main.js. */
      nodeBootMs: Summary;
      import: { inkMs: Summary; markedTerminalMs: Summary; restMs: Summary };
      notes: string[];
    };

// ---- the session ------------------------------------------------------------------------------

const WORDS = ["the", "pod", "reads", "session", "file", "entry", "tool", "result", "model", "turn", "context", "segment", "render", "screen", "line", "snapshot"];

/** Deterministic filler text of `length` characters. */
function filler(seed: number, length: number): string {
  let text = "";
  for (let index = 0; text.length < length; index += 1) text += `${WORDS[(seed * 7 + index * 3) % WORDS.length] ?? "x"} `;
  return text.slice(0, length).trim();
}

/** An assistant answer in markdown: a heading, a paragraph, a list, sometimes a code block. */
function markdownAnswer(seed: number, withCode: boolean): string {
  const parts = [
    `### Step ${seed}`,
    `${filler(seed, 160)} — see \`src/module-${seed}.ts\` and **${filler(seed + 1, 20)}**.`,
    `- ${filler(seed + 2, 50)}\n- ${filler(seed + 3, 60)}\n- \`${filler(seed + 4, 18)}\``,
  ];
  if (withCode) {
    parts.push(
      [
        "```ts",
        `export function step${seed}(input: string[]): number {`,
        `  // ${filler(seed + 5, 50)}`,
        "  let total = 0;",
        "  for (const line of input) total += line.length;",
        "  return total;",
        "}",
        "```",
      ].join("\n"),
    );
  }
  parts.push(filler(seed + 6, 120));
  return parts.join("\n\n");
}

function toolOutput(seed: number): string {
  const lines: string[] = [];
  for (let line = 1; lines.join("\n").length < 1_200; line += 1) lines.push(`${String(line).padStart(4)}  ${filler(seed + line, 64)}`);
  return lines.join("\n").slice(0, 1_200);
}

/**
 * Exactly `total` entries: segment_start, then runs (invoke; a user input, or every fifth run a
 * notification; per tool step reasoning, an assistant markdown message, a tool call, llm_usage,
 * the tool result and turn_end; then reasoning, the final markdown answer, llm_usage, turn_end,
 * run_completed). The last run is sized to fill the count exactly (with file attachments for the
 * remainder), and its final answer ends with `NEWEST_TEXT`.
 */
export function attachSessionEntries(total: number, start: number): LogEntry[] {
  const entries: LogEntry[] = [{ kind: "segment_start", ts: start, segment_id: SEGMENT_ID, session_id: SESSION_ID, pod_name: BIG_POD }];
  let ts = start;
  let turn = 0;
  let llmCall = 0;
  let callId = 0;
  const next = (): number => (ts += 11);
  const usage = (): void => {
    entries.push({ kind: "llm_usage", ts: next(), llm_call: llmCall, input_tokens: 4_000 + llmCall * 5, output_tokens: 300, cache_read_input_tokens: 3_600 + llmCall * 5 });
    llmCall += 1;
  };
  const run = (index: number, steps: number, attachments: number, last: boolean): void => {
    const notified = index % 5 === 4;
    entries.push({ kind: "invoke", ts: next(), invoke_kind: notified ? "notify" : "user_send" });
    if (notified) {
      const message = `CI finished for build ${index}: ${filler(index, 60)}`;
      entries.push({ kind: "system_item", ts: next(), item: { kind: "notification", message, body: `<notification>${message}</notification>` } });
    } else {
      entries.push({ kind: "user_input", ts: next(), segments: [{ kind: "text", content: `Please look at src/module-${index}.ts: ${filler(index, 140)}` }] });
    }
    for (let extra = 0; extra < attachments; extra += 1) {
      entries.push({ kind: "system_item", ts: next(), item: { kind: "file_attachment", path: `notes/${index}-${extra}.md`, body: filler(index + extra, 400) } });
    }
    for (let step = 0; step < steps; step += 1) {
      const id = `toolu_${String(callId).padStart(8, "0")}`;
      callId += 1;
      entries.push({ kind: "assistant_item", ts: next(), item: { kind: "reasoning", text: filler(index * 3 + step, 300), signature: `sig-${callId}` } });
      entries.push({ kind: "assistant_item", ts: next(), item: { kind: "message", role: "assistant", content: markdownAnswer(index + step, step % 2 === 1) } });
      const file = `src/module-${index}-${step}.ts`;
      const isGrep = step % 3 === 2;
      entries.push({
        kind: "assistant_item",
        ts: next(),
        item: { kind: "tool_call", id, name: isGrep ? "grep" : "read_file", arguments: JSON.stringify(isGrep ? { pattern: `step${index}`, path: "src" } : { path: file, offset: 0, limit: 200 }) },
      });
      usage();
      entries.push({ kind: "tool_result", ts: next(), item: { kind: "tool_result", id, summary: isGrep ? `3 matches in src` : `read ${file} (20 lines)`, output: toolOutput(index + step), is_error: false } });
      entries.push({ kind: "turn_end", ts: next(), turn, result: "finished" });
      turn += 1;
    }
    entries.push({ kind: "assistant_item", ts: next(), item: { kind: "reasoning", text: filler(index * 5, 200) } });
    const answer = markdownAnswer(index * 13, index % 3 === 0);
    entries.push({ kind: "assistant_item", ts: next(), item: { kind: "message", role: "assistant", content: last ? `${answer}\n\n${NEWEST_TEXT}` : answer } });
    usage();
    entries.push({ kind: "turn_end", ts: next(), turn, result: "finished" });
    turn += 1;
    entries.push({ kind: "run_completed", ts: next(), result: "finished" });
  };
  // A run is 7 + 6 × steps entries (+ attachments); the last one takes up the remainder exactly.
  for (let index = 0; ; index += 1) {
    const remaining = total - entries.length;
    if (remaining < 7 + 6 * 4 + 7) {
      run(index, Math.floor((remaining - 7) / 6), (remaining - 7) % 6, true);
      break;
    }
    run(index, index % 4, 0, false);
  }
  if (entries.length !== total) throw new Error(`built ${entries.length} entries, wanted ${total}`);
  return entries;
}

function writeSession(home: string, cwd: string): { file: string; counts: Record<string, number> } {
  const now = Date.now() - 86_400_000;
  const sessionDir = path.join(home, "sessions", SESSION_ID);
  fs.mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
  const entries = attachSessionEntries(ENTRIES, now);
  const file = path.join(sessionDir, `${SEGMENT_ID}.jsonl`);
  fs.writeFileSync(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""), { mode: 0o600 });
  const counts: Record<string, number> = {};
  for (const entry of entries) {
    const kind = entry.kind === "assistant_item" || entry.kind === "system_item" ? `${entry.kind}:${entry.item.kind}` : entry.kind;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  writeRestorableMetadata({ home, name: BIG_POD, sessionId: SESSION_ID, segmentId: SEGMENT_ID, cwd, now });
  return { file, counts };
}

// ---- measurements -----------------------------------------------------------------------------

/** The status line once the snapshot is in: the last non-blank line names the pod, says idle, and no connection note. */
function statusLineReady(screen: string, pod: string): boolean {
  const last = screen.split("\n").filter((line) => line.trim() !== "").at(-1) ?? "";
  return last.startsWith(`${pod} · `) && / · idle\b/.test(last) && !/connecting|reconnecting|disconnected/.test(last);
}

interface ScreenTiming {
  ms: number;
  polls: number;
  screen: string;
}

/**
 * Start `command` in the pane and read the screen every POLL_MS until `ready` accepts it; the
 * time is taken just before `respawn-pane` and just after the capture that matched.
 */
async function timeToScreen(tmux: TmuxScreen, command: string[], env: Record<string, string>, ready: (screen: string) => boolean): Promise<ScreenTiming> {
  const startNs = nowNs();
  tmux.respawn(command, env);
  let polls = 0;
  for (;;) {
    const screen = tmux.screen();
    polls += 1;
    if (ready(screen)) return { ms: elapsedMs(startNs), polls, screen };
    if (elapsedMs(startNs) > SCREEN_TIMEOUT_MS) throw new Error(`no first screen after ${SCREEN_TIMEOUT_MS} ms of ${command.join(" ")}; the screen was:\n${screen}`);
    if (tmux.exited()) throw new Error(`${command.join(" ")} exited before its first screen; the screen was:\n${screen}`);
    await sleep(POLL_MS);
  }
}

async function detach(tmux: TmuxScreen): Promise<void> {
  tmux.keys("C-d");
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  while (!tmux.exited()) {
    if (Date.now() > deadline) throw new Error(`podd attach did not exit ${EXIT_TIMEOUT_MS} ms after Ctrl-D; the screen was:\n${tmux.screen()}`);
    await sleep(10);
  }
}

/** One attach in a fresh tmux server: spawn → first screen, then detach. */
async function attachRound(home: string, pod: string, newestText: string | undefined): Promise<ScreenTiming> {
  const dir = tempDir("podd-bg-");
  const tmux = TmuxScreen.start(dir, { width: WIDTH, height: HEIGHT });
  try {
    const env = { PODD_HOME: home, PODD_RUNTIME_DIR: path.join(home, "run") };
    const timing = await timeToScreen(tmux, [process.execPath, CLI_ENTRY, "attach", pod], env, (screen) => statusLineReady(screen, pod) && (newestText === undefined || screen.includes(newestText)));
    tmux.panePid();
    await detach(tmux);
    return timing;
  } finally {
    tmux.kill();
    removeDir(dir);
  }
}

async function floorRound(): Promise<ScreenTiming> {
  const dir = tempDir("podd-bg-");
  const tmux = TmuxScreen.start(dir, { width: WIDTH, height: HEIGHT });
  try {
    return await timeToScreen(tmux, [process.execPath, "-e", `process.stdout.write(${JSON.stringify(`${FLOOR_TEXT}\n`)}); setTimeout(() => {}, 60000)`], {}, (screen) => screen.includes(FLOOR_TEXT));
  } finally {
    tmux.kill();
    removeDir(dir);
  }
}

/** `node bin/podd attach <pod> --json --until snapshot`: spawn → exit 0; returns the snapshot line. */
async function jsonRound(home: string, pod: string): Promise<{ ms: number; snapshot: string }> {
  const startNs = nowNs();
  const child = spawn(process.execPath, [CLI_ENTRY, "attach", pod, "--json", "--until", "snapshot"], { env: podEnv(home), stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error("cannot spawn podd attach --json");
  const pid = child.pid;
  trackPid(pid);
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  try {
    const [code, signal] = await withTimeout(
      new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]))),
      SCREEN_TIMEOUT_MS,
      "podd attach --json --until snapshot",
    );
    const ms = elapsedMs(startNs);
    if (code !== 0) throw new Error(`podd attach --json exited with ${signal ?? code}: ${err.trim()}`);
    const text = Buffer.concat(out).toString("utf8");
    const snapshot = text.split("\n").find((line) => line.startsWith('{"event":"snapshot"'));
    if (!snapshot) throw new Error(`podd attach --json printed no snapshot: ${text.slice(0, 300)}`);
    return { ms, snapshot };
  } finally {
    child.kill("SIGKILL");
    untrackPid(pid);
  }
}

/**
 * A fresh Node process (cwd the repo, so bare names resolve as for the CLI): its start → the
 * script's first line, then, in the order the TUI needs them, the imports of `ink` (with React
 * and Yoga), `marked-terminal` (with `marked`) and `dist/src/tui/main.js` (the rest: the app,
 * protocol/, src/client/).
 */
async function importRound(): Promise<{ bootMs: number; inkMs: number; markedMs: number; restMs: number }> {
  const tuiMain = new URL(`file://${path.join(REPO_ROOT, "dist", "src", "tui", "main.js")}`).href;
  const source = [
    "const boot = performance.now();",
    'await import("ink");',
    "const ink = performance.now();",
    'await import("marked-terminal");',
    "const marked = performance.now();",
    `await import(${JSON.stringify(tuiMain)});`,
    "const rest = performance.now();",
    "process.stdout.write(JSON.stringify({ bootMs: boot, inkMs: ink - boot, markedMs: marked - ink, restMs: rest - marked }));",
  ].join(" ");
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error("cannot spawn node");
  const pid = child.pid;
  trackPid(pid);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  try {
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on("close", resolve)), SCREEN_TIMEOUT_MS, "import of the TUI");
    if (code !== 0) throw new Error(`importing the TUI failed: ${err.trim()}`);
    return JSON.parse(out) as { bootMs: number; inkMs: number; markedMs: number; restMs: number };
  } finally {
    child.kill("SIGKILL");
    untrackPid(pid);
  }
}

/** decodeEvent → reduceEvent → visibleLines of the first window, on the snapshot line, in this process. */
function inProcessRound(snapshotLine: string): { decodeMs: number; reduceMs: number; windowMs: number; lines: string[] } {
  const decodeNs = nowNs();
  const decoded = decodeEvent(snapshotLine);
  const decodeMs = elapsedMs(decodeNs);
  if (!decoded.ok) throw new Error("the snapshot line does not decode");
  const event: Event = decoded.value;
  const reduceNs = nowNs();
  const state = reduceEvent(initialTuiState(), event, Date.now());
  const reduceMs = elapsedMs(reduceNs);
  const windowNs = nowNs();
  // The app gives the transcript the rows left by the composer and the status line (4).
  const lines = visibleLines(state, WIDTH, false, HEIGHT - 4, 0);
  const windowMs = elapsedMs(windowNs);
  return { decodeMs, reduceMs, windowMs, lines };
}

// ---- the benchmark --------------------------------------------------------------------------

export async function runAttach(log: (line: string) => void): Promise<AttachResult> {
  if (!hasTmux()) {
    log("  skipped (no tmux)");
    return { skipped: "no tmux" };
  }
  const home = tempDir("podd-bg-");
  const pods: PodProcess[] = [];
  try {
    const cwd = path.join(home, "cwd");
    fs.mkdirSync(cwd);
    const scenarioFile = path.join(home, "scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(script().text("Hello.").finish().whenExhausted("repeat_last").build()));
    const { file, counts } = writeSession(home, cwd);
    const fileBytes = fs.statSync(file).size;
    log(`  session file: ${ENTRIES} entries, ${(fileBytes / 1e6).toFixed(2)} MB`);
    const big = await startPod({ home, name: BIG_POD, scenarioFile, cwd });
    pods.push(big);
    const empty = await startPod({ home, name: EMPTY_POD, scenarioFile, cwd });
    pods.push(empty);

    const samples = { big: [] as number[], empty: [] as number[], jsonBig: [] as number[], jsonEmpty: [] as number[], floor: [] as number[] };
    let polls = 0;
    let pollMs = 0;
    let snapshotLine = "";
    const notes: string[] = [];
    for (let round = 0; round < WARMUP_ROUNDS + MEASURED_ROUNDS; round += 1) {
      const floor = await floorRound();
      const emptyScreen = await attachRound(home, EMPTY_POD, undefined);
      const bigScreen = await attachRound(home, BIG_POD, NEWEST_TEXT);
      const jsonEmpty = await jsonRound(home, EMPTY_POD);
      const jsonBig = await jsonRound(home, BIG_POD);
      snapshotLine = jsonBig.snapshot;
      const label = round < WARMUP_ROUNDS ? "warm-up" : `round ${round}`;
      log(
        `  attach ${label}: ${ENTRIES} entries ${bigScreen.ms.toFixed(0)} ms (${bigScreen.polls} reads), empty ${emptyScreen.ms.toFixed(0)} ms; ` +
          `--json --until snapshot ${jsonBig.ms.toFixed(0)} / ${jsonEmpty.ms.toFixed(0)} ms; bare node ${floor.ms.toFixed(0)} ms`,
      );
      if (round < WARMUP_ROUNDS) continue;
      samples.big.push(bigScreen.ms);
      samples.empty.push(emptyScreen.ms);
      samples.jsonBig.push(jsonBig.ms);
      samples.jsonEmpty.push(jsonEmpty.ms);
      samples.floor.push(floor.ms);
      for (const timing of [bigScreen, emptyScreen, floor]) {
        polls += timing.polls;
        pollMs += timing.ms;
      }
    }
    const snapshotEntries = (JSON.parse(snapshotLine) as { data: { entries: unknown[] } }).data.entries.length;
    if (snapshotEntries !== ENTRIES) throw new Error(`the snapshot has ${snapshotEntries} entries, expected ${ENTRIES}`);

    const decode: number[] = [];
    const reduce: number[] = [];
    const window: number[] = [];
    let cold = { decodeMs: 0, reduceMs: 0, firstWindowMs: 0 };
    for (let round = 0; round < IN_PROCESS_ROUNDS + 1; round += 1) {
      const timing = inProcessRound(snapshotLine);
      if (!timing.lines.some((line) => line.includes(NEWEST_TEXT))) notes.push("the in-process first window does not show the newest text");
      if (round === 0) {
        cold = { decodeMs: timing.decodeMs, reduceMs: timing.reduceMs, firstWindowMs: timing.windowMs };
        continue;
      }
      decode.push(timing.decodeMs);
      reduce.push(timing.reduceMs);
      window.push(timing.windowMs);
    }
    const boot: number[] = [];
    const inkImport: number[] = [];
    const markedImport: number[] = [];
    const restImport: number[] = [];
    for (let round = 0; round < IN_PROCESS_ROUNDS + 1; round += 1) {
      const timing = await importRound();
      if (round === 0) continue;
      boot.push(timing.bootMs);
      inkImport.push(timing.inkMs);
      markedImport.push(timing.markedMs);
      restImport.push(timing.restMs);
    }
    log(
      `  in process: decode ${median(decode).toFixed(1)} ms, reduce ${median(reduce).toFixed(1)} ms, first window ${median(window).toFixed(1)} ms; ` +
        `fresh node: boot ${median(boot).toFixed(0)} ms, import ink ${median(inkImport).toFixed(0)} ms + marked-terminal ${median(markedImport).toFixed(0)} ms + the rest of the TUI ${median(restImport).toFixed(0)} ms`,
    );

    for (const pod of pods.splice(0)) {
      const stopped = await pod.stop();
      if (stopped.code !== 0) notes.push(`pod exited with ${stopped.signal ?? stopped.code} after shutdown`);
    }
    const after = fs.statSync(file).size;
    if (after !== fileBytes) notes.push(`attaching changed the session file (${fileBytes} → ${after} bytes)`);
    return {
      entries: ENTRIES,
      fileBytes,
      snapshotBytes: Buffer.byteLength(snapshotLine) + 1,
      counts,
      rounds: MEASURED_ROUNDS,
      width: WIDTH,
      height: HEIGHT,
      big: summary(samples.big),
      empty: summary(samples.empty),
      jsonBig: summary(samples.jsonBig),
      jsonEmpty: summary(samples.jsonEmpty),
      floor: summary(samples.floor),
      pollMs: POLL_MS,
      inProcessRounds: IN_PROCESS_ROUNDS,
      pollIntervalMs: pollMs / polls,
      decodeMs: summary(decode),
      reduceMs: summary(reduce),
      firstWindowMs: summary(window),
      cold,
      nodeBootMs: summary(boot),
      import: { inkMs: summary(inkImport), markedTerminalMs: summary(markedImport), restMs: summary(restImport) },
      notes,
    };
  } finally {
    for (const pod of pods) pod.child.kill("SIGKILL");
    removeDir(home);
  }
}
