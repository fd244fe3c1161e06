/**
 * Benchmark (e): durable sessions — restore time of a 10,000-entry session and append
 * throughput of the session log (informative, no targets).
 *
 * Restore: a segment file of `RESTORE_ENTRIES` entries shaped like a real pod's runs
 * (invoke, user_input or a notification system_item, per tool turn an assistant message of
 * ~200 characters, a tool_call, llm_usage, a tool_result of ~1 KB and turn_end, then the final
 * answer, llm_usage, turn_end, run_completed) is written with `SessionLog.create` / `append`
 * into a temp PODD_HOME, with a matching `pods/<name>/metadata.json`. Each of one warm-up and
 * `RESTORE_STARTS` iterations spawns (1) a new pod (no metadata: an empty new session, the
 * baseline) and (2) the restoring pod, `node dist/src/daemon-main.js <name> --model
 * scripted:<file>` with `PODD_READY_FD=3`, timed from just before `spawn()` to the readiness
 * line and to the snapshot line read on a first connection (whose entry count is checked),
 * then stopped with `shutdown`. In-process, the same file is opened with `SessionLog.open`
 * and folded with `toModelMessages`, timed separately.
 *
 * Append: `APPEND_ENTRIES` assistant message entries of ~300 bytes per line through (1)
 * `SessionLog.append` (podd's policy: one write(2) per entry, no fsync), (2) the same plus
 * `fsyncSync` after every entry (at most `FSYNC_ENTRIES` or `FSYNC_MAX_MS`), (3) a bare
 * `fs.appendFileSync(path, line)` loop and (4) a bare `fs.writeSync(fd, line)` loop of the
 * same pre-encoded lines. Temp files are removed.
 */
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import type { LogEntry } from "../protocol/index.js";
import { script } from "../src/model/scripted/script-builder.js";
import { toModelMessages } from "../src/session/model-messages.js";
import { SessionLog } from "../src/session/session-log.js";
import { connect, elapsedMs, median, nowNs, removeDir, startPod, tempDir, withTimeout, writeRestorableMetadata, type ExitStatus } from "./support.js";

export const RESTORE_ENTRIES = 10_000;
export const RESTORE_STARTS = 5;
export const IN_PROCESS_OPENS = 5;
export const APPEND_ENTRIES = 20_000;
export const APPEND_ROUNDS = 3;
export const FSYNC_ENTRIES = 2_000;
export const FSYNC_MAX_MS = 6_000;
const STEP_TIMEOUT_MS = 20_000;
const SESSION_ID = "01BENCHSESSION0000000000000";
const SEGMENT_ID = "01BENCHSEGMENT0000000000000";
const POD_NAME = "restored";

export interface Timing {
  samples: number[];
  median: number;
}

export interface AppendVariant {
  entries: number;
  /** Per round. */
  entriesPerSecond: number[];
  median: number;
  /** µs per entry at the median rate. */
  usPerEntry: number;
}

export interface SessionsResult {
  restore: {
    entries: number;
    fileBytes: number;
    counts: Record<string, number>;
    runs: number;
    restored: { readyMs: Timing; snapshotMs: Timing };
    empty: { readyMs: Timing; snapshotMs: Timing };
    snapshotBytes: number;
    openMs: Timing;
    foldMs: Timing;
    messages: number;
  };
  append: {
    lineBytes: number;
    podd: AppendVariant;
    fsync: AppendVariant;
    appendFile: AppendVariant;
    writeSync: AppendVariant;
  };
}

function timing(samples: number[]): Timing {
  return { samples, median: median(samples) };
}

/** Deterministic filler text of `length` characters. */
function filler(seed: number, length: number): string {
  const words = ["the", "pod", "reads", "session", "file", "entry", "tool", "result", "model", "turn", "context", "segment", "append", "restore", "line"];
  let text = "";
  for (let index = 0; text.length < length; index += 1) text += `${words[(seed * 7 + index * 3) % words.length] ?? "x"} `;
  return text.slice(0, length);
}

function toolOutput(seed: number): string {
  const lines: string[] = [];
  for (let line = 1; lines.join("\n").length < 1_000; line += 1) lines.push(`${String(line).padStart(4)}  ${filler(seed + line, 60)}`);
  return lines.join("\n").slice(0, 1_000);
}

/** The entries of a session as real pods write them, exactly `total` of them (segment_start included by SessionLog.create). */
function sessionEntries(total: number, start: number): LogEntry[] {
  const entries: LogEntry[] = [];
  let ts = start;
  let turn = 0;
  let llmCall = 0;
  let callId = 0;
  const next = (): number => (ts += 7);
  const run = (index: number, toolTurns: number, extraSystemItems: number): void => {
    const notified = index % 5 === 4;
    entries.push({ kind: "invoke", ts: next(), invoke_kind: notified ? "notify" : "user_send" });
    if (notified) {
      const message = `build finished: ${filler(index, 80)}`;
      entries.push({ kind: "system_item", ts: next(), item: { kind: "notification", message, body: `<notification>${message}</notification>` } });
    } else {
      entries.push({ kind: "user_input", ts: next(), segments: [{ kind: "text", content: `Please look at src/module-${index}.ts and ${filler(index, 120)}` }] });
    }
    for (let extra = 0; extra < extraSystemItems; extra += 1) {
      entries.push({ kind: "system_item", ts: next(), item: { kind: "file_attachment", path: `notes/${index}-${extra}.md`, body: filler(index + extra, 400) } });
    }
    const usage = (): void => {
      entries.push({ kind: "llm_usage", ts: next(), llm_call: llmCall, input_tokens: 2_000 + llmCall * 3, output_tokens: 150, cache_read_input_tokens: 1_800 + llmCall * 3 });
      llmCall += 1;
    };
    for (let step = 0; step < toolTurns; step += 1) {
      const id = `toolu_${String(callId).padStart(8, "0")}`;
      callId += 1;
      entries.push({ kind: "assistant_item", ts: next(), item: { kind: "message", role: "assistant", content: filler(index + step, 200) } });
      entries.push({ kind: "assistant_item", ts: next(), item: { kind: "tool_call", id, name: "read_file", arguments: JSON.stringify({ path: `src/module-${index}-${step}.ts`, offset: 0, limit: 200 }) } });
      usage();
      entries.push({ kind: "tool_result", ts: next(), item: { kind: "tool_result", id, summary: `read src/module-${index}-${step}.ts (20 lines)`, output: toolOutput(index + step), is_error: false } });
      entries.push({ kind: "turn_end", ts: next(), turn, result: "finished" });
      turn += 1;
    }
    entries.push({ kind: "assistant_item", ts: next(), item: { kind: "message", role: "assistant", content: filler(index * 11, 200) } });
    usage();
    entries.push({ kind: "turn_end", ts: next(), turn, result: "finished" });
    turn += 1;
    entries.push({ kind: "run_completed", ts: next(), result: "finished" });
  };
  // A run is 6 + 5 × tool turns entries (+ extra system items); the last run takes up the remainder exactly.
  const wanted = total - 1;
  for (let index = 0; ; index += 1) {
    const remaining = wanted - entries.length;
    if (remaining < 27) {
      run(index, Math.floor((remaining - 6) / 5), (remaining - 6) % 5);
      break;
    }
    run(index, index % 4, 0);
  }
  return entries;
}

function writeSession(home: string, cwd: string): { file: string; counts: Record<string, number> } {
  const now = Date.now() - 86_400_000;
  const sessionDir = path.join(home, "sessions", SESSION_ID);
  const log = SessionLog.create({ sessionDir, sessionId: SESSION_ID, segmentId: SEGMENT_ID, podName: POD_NAME, now });
  for (const entry of sessionEntries(RESTORE_ENTRIES, now)) log.append(entry);
  if (log.entries.length !== RESTORE_ENTRIES) throw new Error(`wrote ${log.entries.length} entries, wanted ${RESTORE_ENTRIES}`);
  const counts: Record<string, number> = {};
  for (const entry of log.entries) counts[entry.kind] = (counts[entry.kind] ?? 0) + 1;
  log.close();
  writeRestorableMetadata({ home, name: POD_NAME, sessionId: SESSION_ID, segmentId: SEGMENT_ID, cwd, now });
  return { file: path.join(sessionDir, `${SEGMENT_ID}.jsonl`), counts };
}

/** Connect and read the first line (the snapshot) whole; returns its entry count and size. */
function readSnapshot(socketPath: string): Promise<{ entries: number; bytes: number }> {
  return withTimeout(
    connect(socketPath).then(
      (socket: net.Socket) =>
        new Promise<{ entries: number; bytes: number }>((resolve, reject) => {
          const chunks: Buffer[] = [];
          socket.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            if (!chunk.includes(0x0a)) return;
            const all = Buffer.concat(chunks);
            const line = all.subarray(0, all.indexOf(0x0a));
            socket.destroy();
            try {
              const snapshot = JSON.parse(line.toString("utf8")) as { event: string; data: { entries?: unknown[] } };
              if (snapshot.event !== "snapshot") throw new Error(`first line is ${snapshot.event}, not a snapshot`);
              resolve({ entries: snapshot.data.entries?.length ?? -1, bytes: line.length + 1 });
            } catch (error) {
              reject(error as Error);
            }
          });
          socket.on("close", () => reject(new Error("connection closed before the snapshot")));
        }),
    ),
    STEP_TIMEOUT_MS,
    `snapshot on ${socketPath}`,
  );
}

async function startAndStop(home: string, name: string, scenarioFile: string, cwd: string): Promise<{ readyMs: number; snapshotMs: number; entries: number; bytes: number }> {
  const pod = await startPod({ home, name, scenarioFile, cwd });
  let stopped: ExitStatus | undefined;
  try {
    const snapshot = await readSnapshot(pod.socket);
    const snapshotMs = elapsedMs(pod.startNs);
    stopped = await pod.stop();
    if (stopped.code !== 0) throw new Error(`pod ${name} exited with ${stopped.signal ?? stopped.code}: ${pod.stderr()}`);
    return { readyMs: pod.readyMs, snapshotMs, ...snapshot };
  } finally {
    if (!stopped) pod.child.kill("SIGKILL");
  }
}

async function measureRestore(log: (line: string) => void): Promise<SessionsResult["restore"]> {
  const home = tempDir();
  try {
    const cwd = path.join(home, "cwd");
    fs.mkdirSync(cwd);
    const scenarioFile = path.join(home, "scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(script().text("Hello.").finish().build()));
    const { file, counts } = writeSession(home, cwd);
    const fileBytes = fs.statSync(file).size;
    log(`  session file: ${RESTORE_ENTRIES} entries, ${(fileBytes / 1e6).toFixed(2)} MB`);

    const openSamples: number[] = [];
    const foldSamples: number[] = [];
    let messages = 0;
    for (let round = 0; round < IN_PROCESS_OPENS + 1; round += 1) {
      const openNs = nowNs();
      const { log: opened, skipped } = SessionLog.open({ file, sessionId: SESSION_ID, segmentId: SEGMENT_ID });
      const openMs = elapsedMs(openNs);
      const foldNs = nowNs();
      messages = toModelMessages(opened.entries).length;
      const foldMs = elapsedMs(foldNs);
      if (opened.entries.length !== RESTORE_ENTRIES || skipped.length > 0) throw new Error(`SessionLog.open read ${opened.entries.length} entries, skipped ${skipped.length}`);
      opened.close();
      if (round === 0) continue;
      openSamples.push(openMs);
      foldSamples.push(foldMs);
    }

    const samples = { restoredReady: [] as number[], restoredSnapshot: [] as number[], emptyReady: [] as number[], emptySnapshot: [] as number[] };
    let snapshotBytes = 0;
    for (let run = 0; run < RESTORE_STARTS + 1; run += 1) {
      const empty = await startAndStop(home, `empty-${run}`, scenarioFile, cwd);
      if (empty.entries !== 1) throw new Error(`the new pod's snapshot has ${empty.entries} entries, expected 1 (segment_start)`);
      const restored = await startAndStop(home, POD_NAME, scenarioFile, cwd);
      if (restored.entries !== RESTORE_ENTRIES) throw new Error(`the restored pod's snapshot has ${restored.entries} entries, expected ${RESTORE_ENTRIES}`);
      snapshotBytes = restored.bytes;
      const label = run === 0 ? "warm-up" : `run ${run}`;
      log(
        `  restore ${label}: restored ready ${restored.readyMs.toFixed(0)} ms, snapshot ${restored.snapshotMs.toFixed(0)} ms; ` +
          `empty ready ${empty.readyMs.toFixed(0)} ms, snapshot ${empty.snapshotMs.toFixed(0)} ms`,
      );
      if (run === 0) continue;
      samples.restoredReady.push(restored.readyMs);
      samples.restoredSnapshot.push(restored.snapshotMs);
      samples.emptyReady.push(empty.readyMs);
      samples.emptySnapshot.push(empty.snapshotMs);
    }
    const after = fs.statSync(file).size;
    if (after !== fileBytes) throw new Error(`the restored pods changed the session file (${fileBytes} → ${after} bytes)`);
    return {
      entries: RESTORE_ENTRIES,
      fileBytes,
      counts,
      runs: RESTORE_STARTS,
      restored: { readyMs: timing(samples.restoredReady), snapshotMs: timing(samples.restoredSnapshot) },
      empty: { readyMs: timing(samples.emptyReady), snapshotMs: timing(samples.emptySnapshot) },
      snapshotBytes,
      openMs: timing(openSamples),
      foldMs: timing(foldSamples),
      messages,
    };
  } finally {
    removeDir(home);
  }
}

/** A typical ~300-byte line: an assistant message entry. */
function appendEntry(index: number): LogEntry {
  return { kind: "assistant_item", ts: 1_760_000_000_000 + index, item: { kind: "message", role: "assistant", content: filler(index, 230) } };
}

type Variant = "podd" | "fsync" | "appendFile" | "writeSync";

/** Append up to `count` entries (or until `maxMs`), returning entries/s. */
function appendRound(dir: string, variant: Variant, count: number, maxMs = Number.POSITIVE_INFINITY): { entries: number; perSecond: number } {
  const segmentId = `${variant}-${Math.random().toString(36).slice(2)}`;
  const sessionDir = path.join(dir, segmentId);
  let written = 0;
  let ms = 0;
  if (variant === "podd" || variant === "fsync") {
    const log = SessionLog.create({ sessionDir, sessionId: "bench", segmentId, podName: "bench", now: 0 });
    const syncFd = variant === "fsync" ? fs.openSync(log.file, "r+") : -1;
    const entries = Array.from({ length: count }, (_, index) => appendEntry(index));
    const startNs = nowNs();
    for (const entry of entries) {
      log.append(entry);
      // fsync flushes the file, whichever descriptor names it.
      if (syncFd !== -1) fs.fsyncSync(syncFd);
      written += 1;
      if (syncFd !== -1 && (written & 63) === 0 && elapsedMs(startNs) > maxMs) break;
    }
    ms = elapsedMs(startNs);
    if (syncFd !== -1) fs.closeSync(syncFd);
    log.close();
  } else {
    fs.mkdirSync(sessionDir, { recursive: true });
    const file = path.join(sessionDir, "bare.jsonl");
    const lines = Array.from({ length: count }, (_, index) => Buffer.from(`${JSON.stringify(appendEntry(index))}\n`));
    const fd = variant === "writeSync" ? fs.openSync(file, "a") : -1;
    const startNs = nowNs();
    for (const line of lines) {
      if (fd === -1) fs.appendFileSync(file, line);
      else fs.writeSync(fd, line);
      written += 1;
    }
    ms = elapsedMs(startNs);
    if (fd !== -1) fs.closeSync(fd);
  }
  fs.rmSync(sessionDir, { recursive: true, force: true });
  return { entries: written, perSecond: written / (ms / 1000) };
}

function variant(rounds: { entries: number; perSecond: number }[]): AppendVariant {
  const rates = rounds.map((round) => round.perSecond);
  const rate = median(rates);
  return { entries: rounds[0]?.entries ?? 0, entriesPerSecond: rates, median: rate, usPerEntry: 1e6 / rate };
}

function measureAppend(log: (line: string) => void): SessionsResult["append"] {
  const dir = tempDir();
  try {
    // Warm-up: JIT the paths once.
    for (const name of ["podd", "appendFile", "writeSync"] as const) appendRound(dir, name, 2_000);
    const rounds: Record<Variant, { entries: number; perSecond: number }[]> = { podd: [], fsync: [], appendFile: [], writeSync: [] };
    for (let round = 0; round < APPEND_ROUNDS; round += 1) {
      for (const name of ["writeSync", "podd", "appendFile"] as const) rounds[name].push(appendRound(dir, name, APPEND_ENTRIES));
    }
    rounds.fsync.push(appendRound(dir, "fsync", FSYNC_ENTRIES, FSYNC_MAX_MS));
    const result = {
      lineBytes: Buffer.byteLength(`${JSON.stringify(appendEntry(0))}\n`),
      podd: variant(rounds.podd),
      fsync: variant(rounds.fsync),
      appendFile: variant(rounds.appendFile),
      writeSync: variant(rounds.writeSync),
    };
    log(
      `  append (${result.lineBytes}-byte lines): podd ${Math.round(result.podd.median)}/s, fsync per entry ${Math.round(result.fsync.median)}/s ` +
        `(${result.fsync.entries} entries), appendFileSync ${Math.round(result.appendFile.median)}/s, bare writeSync ${Math.round(result.writeSync.median)}/s`,
    );
    return result;
  } finally {
    removeDir(dir);
  }
}

export async function runSessions(log: (line: string) => void): Promise<SessionsResult> {
  const restore = await measureRestore(log);
  const append = measureAppend(log);
  return { restore, append };
}
