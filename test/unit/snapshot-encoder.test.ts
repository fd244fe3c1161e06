/**
 * SnapshotEncoder: the snapshot line in two Buffers (the entries, shared while they are the
 * same, and the rest) whose concatenation is byte for byte the line encodeLine writes.
 */
import { describe, expect, it } from "vitest";
import { encodeLine, type LogEntry } from "../../protocol/index.js";
import type { SnapshotData } from "../../src/pod/controller-deps.js";
import { SnapshotEncoder } from "../../src/ipc/snapshot-encoder.js";

const greeting = { pod_name: "p", cwd: "/w", provider: "scripted", model: "scripted", scope_summary: "rw /w", tools: ["bash"], context_window: 1000, context_tokens: 12 };

function snapshot(entries: readonly LogEntry[], extra: Partial<SnapshotData> = {}): SnapshotData {
  return { entries, greeting, status: "idle", in_flight: undefined, ...extra };
}

const joined = (parts: readonly Buffer[]): string => Buffer.concat(parts).toString("utf8");

describe("SnapshotEncoder", () => {
  it("writes exactly encodeLine's line, with and without a turn in flight, for empty and non-empty sessions", () => {
    const entries: LogEntry[] = [
      { kind: "segment_start", ts: 1, segment_id: "g", session_id: "s", pod_name: "p" },
      { kind: "user_input", ts: 2, segments: [{ kind: "text", content: "é中😀 \u2028 \"quoted\" \\ \n" }] },
    ];
    const inFlight = { turn: 3, llm_call: 4, thinking: "", text: "so far", tool_calls: [{ id: "t", name: "bash", arguments: '{"c' }] };
    const encoder = new SnapshotEncoder();
    for (const data of [snapshot([]), snapshot(entries), snapshot(entries, { status: "running", in_flight: inFlight })]) {
      const line = joined(encoder.encode(data));
      expect(line).toBe(encodeLine({ event: "snapshot", data }));
      expect(JSON.parse(line)).toEqual({ event: "snapshot", data: JSON.parse(JSON.stringify(data)) });
    }
  });

  it("shares the head while the entries are the same, whatever else changes, and encodes it again after a commit or a cut", () => {
    const entries: LogEntry[] = [{ kind: "segment_start", ts: 1, segment_id: "g", session_id: "s", pod_name: "p" }];
    const encoder = new SnapshotEncoder();
    const [first] = encoder.encode(snapshot(entries));
    const [second, tail] = encoder.encode(snapshot(entries, { status: "running", in_flight: { turn: 0, thinking: "", text: "ab", tool_calls: [] } }));
    expect(second).toBe(first);
    expect(tail?.toString()).toContain('"in_flight"');
    entries.push({ kind: "invoke", ts: 2, invoke_kind: "user_send" });
    const [afterCommit] = encoder.encode(snapshot(entries));
    expect(afterCommit).not.toBe(first);
    expect(afterCommit?.toString()).toContain("user_send");
    // Cut and appended to the same length: the last entry differs, so the head does too.
    entries.splice(1, 1, { kind: "invoke", ts: 3, invoke_kind: "notify" });
    const [afterCut] = encoder.encode(snapshot(entries));
    expect(afterCut?.toString()).toContain('"notify"');
    expect(joined(encoder.encode(snapshot(entries)))).toBe(encodeLine({ event: "snapshot", data: snapshot(entries) }));
  });
});
