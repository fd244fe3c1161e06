/**
 * Fault injection (issue 5): a scripted run with tool calls is killed with SIGKILL at 20
 * points, each reached by waiting for a client-visible event or a file the bash tool writes
 * (no sleeps). After each kill the pod restarts on the same home and name, and the invariant
 * is checked:
 *   1. every complete line present at the kill is still in the segment file, in order, and is
 *      followed only by new entries; a torn tail (at most one line) is skipped with an alert;
 *      every line parses as a LogEntry;
 *   2. every tool call in history has a result with its id;
 *   3. the pod accepts a new run that ends `run_end{finished}`.
 *
 * Mid-append: a kill cannot be placed inside one write(2) deterministically, so two points
 * simulate it by appending a partial line to the segment file after the kill (as the torn-line
 * test in restore.test.ts does); a real torn tail, should a kill land inside a write, is
 * handled by the same check.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LogEntry, type Event } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { cleanupAll, isIdleStatus, type PodProcess, runText, segmentFile, startPod, tempHome } from "../helpers/pod-process.js";
import { readPid, waitForFile } from "../helpers/wait-for-file.js";

// The cases run concurrently, so cleanup happens once at the end (cleanupAll is global).
afterAll(cleanupAll);

const TORN_ALERT = /^session: skipped a torn last line/;

/** Files in the pod's cwd (its home) that hold the scripted run at known points. */
const GATES = { start: "gate-start", think: "gate-think", text: "gate-text", c1: "gate-c1", bash1: "skip1", turn2: "gate-turn2", bash2: "skip2" } as const;
type Gate = keyof typeof GATES;

/** A bash command that, unless its skip file exists, sleeps in a child whose pid it publishes. */
const holdingCommand = (skip: string, pidFile: string): string =>
  `if [ ! -e ${skip} ]; then sleep 60 & echo $! > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; wait; fi; echo ran`;

/**
 * The run: gates hold the model stream at known points so that a kill lands there; paced
 * deltas (delayMs, the model's pacing, not a wait in the test) let a kill after the first
 * delta land inside a block.
 */
function scenario(home: string) {
  const gate = (name: Gate): string => path.join(home, GATES[name]);
  return script()
    .gate(gate("start"))
    .thinking("Let me think about this")
    .gate(gate("think"))
    .text("Let me look around.", { chunks: ["Let ", "me ", "look ", "around."], delayMs: 100, gate: gate("text") })
    .toolCall("bash", { command: holdingCommand(GATES.bash1, "pid1") }, { id: "c1", delayMs: 100 })
    .gate(gate("c1"))
    .toolCall("list_files", {}, { id: "c2" })
    .usage({ input_tokens: 100, output_tokens: 20 })
    .finish()
    .gate(gate("turn2"))
    .text("All done.")
    .finish()
    .text("Second run.")
    .toolCall("bash", { command: holdingCommand(GATES.bash2, "pid2") }, { id: "c3" })
    .finish()
    .text("Second done.")
    .finish()
    .build();
}

interface Ctx {
  pod: PodProcess;
  client: PodClient;
  home: string;
}

interface KillPoint {
  name: string;
  /** Gates opened before the run: the run goes past them. The others hold it. */
  open: Gate[];
  /** Drive the pod to the kill point (the run is not started yet). */
  reach(ctx: Ctx): Promise<void>;
  /** Simulate a write cut inside a line: append a partial line after the kill. */
  torn?: boolean;
}

const after = (name: Event["event"], nth = 1) => async ({ client }: Ctx): Promise<void> => {
  client.send(runText("go"));
  for (let i = 0; i < nth; i++) await client.waitFor(name);
};
const midTool = (pidFile: string) => async ({ client, home }: Ctx): Promise<void> => {
  client.send(runText("go"));
  await waitForFile(path.join(home, pidFile));
};
const afterFirstRun = async ({ client }: Ctx): Promise<void> => {
  client.send(runText("go"));
  await client.waitFor("run_end");
  await client.waitFor("status", { where: (event) => event.data.status === "idle" });
};

const ALL = Object.keys(GATES) as Gate[];
const UP_TO_TEXT: Gate[] = ["start", "think", "text"];
const FIRST_TURN: Gate[] = [...UP_TO_TEXT, "c1"];
const FIRST_RUN: Gate[] = [...FIRST_TURN, "bash1", "turn2"];
const POINTS: KillPoint[] = [
  { name: "after user_message", open: [], reach: after("user_message") },
  { name: "after turn_start", open: [], reach: after("turn_start") },
  { name: "after llm_call_start", open: [], reach: after("llm_call_start") },
  { name: "after thinking_done (mid-stream)", open: ["start"], reach: after("thinking_done") },
  { name: "after the first text_delta (mid-stream, inside the block)", open: ["start", "think"], reach: after("text_delta") },
  { name: "after the last text_delta, text block held open (mid-stream)", open: ["start", "think"], reach: after("text_delta", 4) },
  { name: "after text_done", open: UP_TO_TEXT, reach: after("text_done") },
  { name: "after tool_call_start", open: UP_TO_TEXT, reach: after("tool_call_start") },
  { name: "after the first tool_call_args_delta (inside the call)", open: UP_TO_TEXT, reach: after("tool_call_args_delta") },
  { name: "after tool_call_done, stream held", open: UP_TO_TEXT, reach: after("tool_call_done") },
  { name: "after usage", open: FIRST_TURN, reach: after("usage") },
  { name: "while the bash tool runs (mid-tool)", open: FIRST_TURN, reach: midTool("pid1") },
  { name: "after tool_result", open: [...FIRST_TURN, "bash1"], reach: after("tool_result") },
  { name: "after the second turn_start (between turns, all tool results in)", open: [...FIRST_TURN, "bash1"], reach: after("turn_start", 2) },
  { name: "after run_end", open: FIRST_RUN, reach: after("run_end") },
  {
    name: "after a notify ack (durable inbox)",
    open: FIRST_RUN,
    reach: async (ctx) => {
      await afterFirstRun(ctx);
      await ctx.client.request({ method: "notify", params: { message: "remember the milk", wake: false } });
    },
  },
  {
    name: "during a second run, mid-tool",
    open: FIRST_RUN,
    reach: async (ctx) => {
      await afterFirstRun(ctx);
      ctx.client.send(runText("again"));
      await waitForFile(path.join(ctx.home, "pid2"));
    },
  },
  {
    name: "paused mid-tool",
    open: FIRST_TURN,
    reach: async (ctx) => {
      await midTool("pid1")(ctx);
      await ctx.client.request({ method: "pause" });
      await ctx.client.waitFor("status", { where: (event) => event.data.status === "paused" });
    },
  },
  { name: "mid-append (simulated) while the bash tool runs", open: FIRST_TURN, reach: midTool("pid1"), torn: true },
  { name: "mid-append (simulated) after run_end", open: FIRST_RUN, reach: after("run_end"), torn: true },
];

/** Stop what the killed pod left behind: open every gate and end the sleeping commands. */
function releaseOrphans(home: string): void {
  for (const gate of ALL) fs.writeFileSync(path.join(home, GATES[gate]), "");
  for (const pidFile of ["pid1", "pid2"]) {
    if (!fs.existsSync(path.join(home, pidFile))) continue;
    try {
      process.kill(readPid(path.join(home, pidFile)), "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function unansweredToolCalls(entries: readonly LogEntry[]): string[] {
  const answered = new Set(entries.flatMap((entry) => (entry.kind === "tool_result" ? [entry.item.id] : [])));
  return entries.flatMap((entry) => (entry.kind === "assistant_item" && entry.item.kind === "tool_call" && !answered.has(entry.item.id) ? [entry.item.id] : []));
}

function parseLines(text: string): LogEntry[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const parsed = LogEntry.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`not a LogEntry: ${line}\n${parsed.error.message}`);
      return parsed.data;
    });
}

describe("crash recovery: SIGKILL at 20 points, then restart", () => {
  it.concurrent.each(POINTS.map((point, index) => ({ ...point, label: `${index + 1}. ${point.name}` })))(
    "$label",
    async (point) => {
      const home = tempHome();
      const name = "crashy";
      for (const gate of point.open) fs.writeFileSync(path.join(home.home, GATES[gate]), "");
      const pod = await startPod({ home, name, scenario: scenario(home.home) });
      const client = await pod.connect();
      await client.waitFor("snapshot");
      await point.reach({ pod, client, home: home.home });
      process.kill(pod.pid, "SIGKILL");
      await pod.exited;
      releaseOrphans(home.home);

      const file = segmentFile(home.home, name);
      if (point.torn) fs.appendFileSync(file, '{"kind":"assistant_item","ts":1,"item":{"kind":"mess');
      const atKill = fs.readFileSync(file, "utf8");
      const complete = atKill.slice(0, atKill.lastIndexOf("\n") + 1);
      const tail = atKill.slice(complete.length);
      const committed = parseLines(complete);
      expect(committed.length).toBeGreaterThan(0);

      const again = await startPod({ home, name, scenario: script().text("ok").finish().whenExhausted("repeat_last").build() });
      const watcher = await again.connect();
      const handshake = await watcher.collectUntil("snapshot");
      const snapshot = handshake.at(-1) as Extract<Event, { event: "snapshot" }>;
      const tornAlerts = handshake.filter((event) => event.event === "alert" && TORN_ALERT.test(event.data.message));
      // (1) The restored history starts with every entry committed before the kill, in order.
      expect(snapshot.data.entries.slice(0, committed.length)).toEqual(committed);
      expect(tornAlerts.length).toBeLessThanOrEqual(tail === "" ? 0 : 1);
      if (point.torn) expect(tornAlerts).toHaveLength(1);
      // (2) Every tool call has its result (a paused run keeps its open calls for resume).
      if (snapshot.data.status === "paused") {
        await watcher.request({ method: "resume" });
        await watcher.collectUntil(isIdleStatus);
      } else {
        expect(snapshot.data.status).toBe("idle");
        expect(unansweredToolCalls(snapshot.data.entries)).toEqual([]);
      }
      // (3) A new run is accepted and finishes.
      watcher.send(runText("still there?"));
      const events = await watcher.collectUntil(isIdleStatus);
      expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
      if (point.name.includes("notify")) {
        expect(events.find((event) => event.event === "system_item")).toMatchObject({ data: { item: { kind: "notification", message: "remember the milk" } } });
      }
      watcher.destroy();
      await again.stop();

      const final = fs.readFileSync(file, "utf8");
      expect(final.startsWith(complete)).toBe(true);
      expect(final.endsWith("\n")).toBe(true);
      const entries = parseLines(final);
      expect(entries.slice(0, committed.length)).toEqual(committed);
      // At most one (torn) line was skipped: what follows the committed lines is new.
      if (tail !== "" && tornAlerts.length === 0) expect(final.startsWith(complete + tail)).toBe(true);
      expect(unansweredToolCalls(entries)).toEqual([]);
      expect(entries.at(-1)).toMatchObject({ kind: "run_completed", result: "finished" });
    },
    30_000,
  );
});
