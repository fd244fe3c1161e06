/** Where a fork cuts its source's entries (src/pod/fork.ts, forkCut). */
import { describe, expect, it } from "vitest";
import type { LogEntry } from "../../protocol/index.js";
import { forkCut } from "../../src/pod/fork.js";

const start: LogEntry = { kind: "segment_start", ts: 1, segment_id: "S", session_id: "X", pod_name: "src" };
const run = (text: string, end: LogEntry | undefined, extra: LogEntry[] = []): LogEntry[] => [
  { kind: "invoke", ts: 2, invoke_kind: "user_send" },
  { kind: "user_input", ts: 2, segments: [{ kind: "text", content: text }] },
  ...extra,
  ...(end ? [end] : []),
];
const finished: LogEntry = { kind: "run_completed", ts: 3, result: "finished" };
const paused: LogEntry = { kind: "run_completed", ts: 3, result: "paused" };
const openCall: LogEntry = { kind: "assistant_item", ts: 3, item: { kind: "tool_call", id: "t1", name: "bash", arguments: "{}" } };

describe("forkCut", () => {
  it("at the head takes every entry of finished runs", () => {
    const entries = [start, ...run("one", finished), ...run("two", finished)];
    expect(forkCut(entries, "S", undefined)).toBe(entries.length);
  });

  it("at the head leaves out a run in progress", () => {
    const entries = [start, ...run("one", finished), ...run("two", undefined)];
    expect(forkCut(entries, "S", undefined)).toBe(1 + 3);
  });

  it("at the head leaves out a paused run, so its open tool calls are never resumed in the fork", () => {
    const entries = [start, ...run("one", finished), ...run("two", paused, [openCall])];
    expect(forkCut(entries, "S", undefined)).toBe(1 + 3);
  });

  it("at rewind target n cuts before that input's run, and refuses a target that does not exist", () => {
    const entries = [start, ...run("one", finished), ...run("two", finished)];
    expect(forkCut(entries, "S", 2)).toBe(4);
    expect(forkCut(entries, "S", 1)).toBe(1);
    expect(() => forkCut(entries, "S", 3)).toThrow("the source has 2 rewind targets; there is no target 3");
  });
});
