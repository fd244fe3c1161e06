/** Rewind targets, the rewind_to guards and the cut, and the byte mark of an entry in a segment file. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { uuidToULID } from "ulid";
import { encodeLine, type LogEntry } from "../../protocol/index.js";
import { listRewindTargets, markAt, planRewind, previewOf } from "../../src/pod/rewind.js";
import { SessionLog } from "../../src/session/session-log.js";

const SEG = "0193b9a4-6a00-7000-8000-0000000000aa";
/** The same segment as a pre-UUID podd named it (src/config/ids.ts). */
const SEG_ULID = uuidToULID(SEG);

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
    const head = entries.length;
    expect(listing.targets).toEqual([
      { id: { segment_id: SEG, user_input_entry_index: 2 }, expected_head_entries: head, truncate_entries: 1, turn_index: 0, timestamp_ms: 10, preview: "first question", eligible: true },
      { id: { segment_id: SEG, user_input_entry_index: 8 }, expected_head_entries: head, truncate_entries: 6, turn_index: 1, timestamp_ms: 20, preview: "second question", eligible: true },
    ]);
    expect(listRewindTargets([START], SEG)).toEqual({ head_entries: 1, targets: [] });
    // A ULID-named segment is listed under its UUID; a paused pod's targets are not eligible.
    expect(listRewindTargets(entries, SEG_ULID).targets[0]?.id.segment_id).toBe(SEG);
    expect(listRewindTargets(entries, SEG, "paused").targets.map((target) => [target.eligible, target.disabled_reason])).toEqual([
      [false, "paused"],
      [false, "paused"],
    ]);
  });

  it("warns on each target whose rewind would discard write_file, edit_file or bash calls", () => {
    const call = (id: string, name: string): LogEntry => ({ kind: "assistant_item", ts: 30, item: { kind: "tool_call", id, name, arguments: "{}" } });
    const withCalls = [...entries, ...run("third", 30, []).slice(0, 2), call("a", "read_file"), call("b", "edit_file"), call("c", "edit_file"), call("d", "bash")];
    const warnings = listRewindTargets(withCalls, SEG).targets.map((target) => target.warning);
    const warning = "rewinding here does not undo 3 tool calls with side effects (edit_file ×2, bash): files they wrote and commands they ran stay as they are";
    expect(warnings).toEqual([warning, warning, warning]);
    expect(planRewind(withCalls, SEG, { target: { segment_id: SEG, user_input_entry_index: 13 }, expected_head_entries: withCalls.length })).toMatchObject({
      ok: true,
      summary: { truncated_to_entries: 12, discarded_entries: withCalls.length - 12, tool_side_effect_warning: true },
    });
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
      summary: { truncated_to_entries: 6, discarded_entries: 6, tool_side_effect_warning: false },
      description: "rewound 6 entries (1 run)",
    });
    expect(planRewind(entries, SEG, request(2))).toMatchObject({ ok: true, keep: 1, description: "rewound 11 entries (2 runs)" });
    // The ULID a pre-UUID client listed names the same segment.
    expect(planRewind(entries, SEG, request(2, entries.length, SEG_ULID))).toMatchObject({ ok: true, keep: 1 });
    expect(planRewind(entries, SEG_ULID, request(2))).toMatchObject({ ok: true, keep: 1 });
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
