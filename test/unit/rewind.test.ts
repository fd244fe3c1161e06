/** Rewind targets, the rewind_to guards and the cut, and the byte mark of an entry in a segment file. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeLine, type LogEntry } from "../../protocol/index.js";
import { listRewindTargets, markAt, planRewind, previewOf } from "../../src/pod/rewind.js";
import { SessionLog } from "../../src/session/session-log.js";

const SEG = "seg-1";

function run(text: string, ts: number, extra: LogEntry[] = []): LogEntry[] {
  return [
    { kind: "invoke", ts, invoke_kind: "user_send" },
    ...extra,
    { kind: "user_input", ts, segments: [{ kind: "text", content: text }] },
    { kind: "assistant_item", ts, item: { kind: "message", role: "assistant", content: `re: ${text}` } },
    { kind: "turn_end", ts, turn: 0, result: "finished" },
    { kind: "run_completed", ts, result: "finished" },
  ] as LogEntry[];
}

const START: LogEntry = { kind: "segment_start", ts: 1, segment_id: SEG, session_id: "s", pod_name: "p" };
const interrupt: LogEntry = { kind: "system_item", ts: 20, item: { kind: "interrupt", body: "[Interrupted by user]" } };
const entries: LogEntry[] = [START, ...run("first question", 10), ...run("second question", 20, [interrupt])];

describe("listRewindTargets", () => {
  it("lists every user input of the segment, oldest first, with its entry index and the head count", () => {
    const listing = listRewindTargets(entries, SEG);
    expect(listing.head_entries).toBe(entries.length);
    expect(listing.targets).toEqual([
      { target: { segment_id: SEG, user_input_entry_index: 2 }, preview: "first question", ts: 10 },
      { target: { segment_id: SEG, user_input_entry_index: 8 }, preview: "second question", ts: 20 },
    ]);
    expect(listRewindTargets([START], SEG)).toEqual({ head_entries: 1, targets: [] });
  });

  it("previews flatten the segments to one line and cut them to about 80 characters", () => {
    expect(previewOf([{ kind: "text", content: "look at " }, { kind: "file_ref", path: "src/a.ts" }, { kind: "text", content: "\n now" }])).toBe("look at @src/a.ts now");
    const long = previewOf([{ kind: "text", content: "x".repeat(200) }]);
    expect(long).toHaveLength(80);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("planRewind", () => {
  const request = (index: number, expected = entries.length, segment = SEG) => ({
    target: { segment_id: segment, user_input_entry_index: index },
    expected_head_entries: expected,
  });

  it("cuts before the invoke that started the target's run (including what came between) and returns the input", () => {
    expect(planRewind(entries, SEG, request(8))).toEqual({
      ok: true,
      keep: 6,
      input: [{ kind: "text", content: "second question" }],
      summary: "rewound 6 entries (1 run)",
    });
    expect(planRewind(entries, SEG, request(2))).toMatchObject({ ok: true, keep: 1, summary: "rewound 11 entries (2 runs)" });
  });

  it("refuses a stale head count, another segment, and an index that is not a user input", () => {
    expect(planRewind(entries, SEG, request(8, entries.length - 1))).toEqual({
      ok: false,
      message: `the session changed since the targets were listed (${entries.length} entries, expected ${entries.length - 1}); list again`,
    });
    expect(planRewind(entries, SEG, request(8, entries.length, "other"))).toMatchObject({ ok: false, message: expect.stringContaining("not the pod's current segment") });
    for (const index of [0, 3, 99]) {
      expect(planRewind(entries, SEG, request(index))).toMatchObject({ ok: false, message: `entry ${index} is not a user input; list again` });
    }
  });
});

describe("markAt", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("finds the byte offset of an entry, skipping bad lines as open does, and truncate then keeps exactly that prefix", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-rewind-"));
    dirs.push(dir);
    const created = SessionLog.create({ sessionDir: dir, sessionId: "s", segmentId: SEG, podName: "p", now: 1 });
    for (const entry of run("first question", 10)) created.append(entry);
    created.close();
    const beforeBadLines = fs.statSync(created.file).size;
    fs.appendFileSync(created.file, "not json\n\n");
    const afterBadLines = fs.statSync(created.file).size;
    const { log } = SessionLog.open({ file: created.file, sessionId: "s", segmentId: SEG });
    const second = run("second question", 20);
    for (const entry of second) log.append(entry);
    expect(log.entries).toHaveLength(11);
    // The 6th entry ends before the bad lines; the 7th is the first after them (they are not counted).
    expect(markAt(log, 6)).toEqual({ bytes: beforeBadLines, count: 6 });
    expect(markAt(log, 7)).toEqual({ bytes: afterBadLines + Buffer.byteLength(encodeLine(second[0])), count: 7 });
    const plan = planRewind(log.entries, SEG, { target: { segment_id: SEG, user_input_entry_index: 7 }, expected_head_entries: 11 });
    if (!plan.ok) throw new Error(plan.message);
    log.truncate(markAt(log, plan.keep));
    expect(log.entries).toHaveLength(6);
    log.close();
    const reopened = SessionLog.open({ file: created.file, sessionId: "s", segmentId: SEG });
    expect(reopened.log.entries).toEqual(log.entries);
    reopened.log.close();
    expect(markAt(reopened.log, 6)).toEqual({ bytes: fs.statSync(created.file).size, count: 6 });
  });
});
