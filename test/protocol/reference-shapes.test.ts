/**
 * The golden fixtures against the test-side transcription of the reference's serde types
 * (test/helpers/reference-shapes.ts): every line a reference client or pod may get decodes, and
 * the transcription refuses the shapes podd used to send (issue 12), so the check can fail.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeMethod, EVENT_NAMES, EXTENSION_EVENT_NAMES, METHOD_NAMES } from "../../protocol/index.js";
import { REFERENCE_EVENT_NAMES, REFERENCE_METHOD_NAMES, referenceEventProblem, referenceMethodProblem } from "../helpers/reference-shapes.js";

function fixtureLines(name: string): string[] {
  return readFileSync(new URL(`../../protocol/fixtures/${name}`, import.meta.url), "utf8").split("\n").filter((line) => line !== "");
}

/** Methods only a podd client sends, to a pod it knows is podd (docs/protocol.md, "Is the peer podd?"). */
function isPoddOnlyMethod(line: string): boolean {
  const method = JSON.parse(line) as { method: string; params?: unknown };
  return method.method === "cancel" && method.params !== undefined;
}

describe("fixtures against the reference's types", () => {
  it("every event line a non-opted-in client may get decodes as a reference protocol::Event", () => {
    const lines = fixtureLines("events.jsonl").filter((line) => !EXTENSION_EVENT_NAMES.has((JSON.parse(line) as { event: never }).event));
    expect(lines.length).toBeGreaterThan(60);
    expect(lines.flatMap((line) => (referenceEventProblem(line) === undefined ? [] : [`${referenceEventProblem(line)}: ${line}`]))).toEqual([]);
  });

  it("every method line but the podd-only cancel{cascade} decodes as a reference protocol::Method", () => {
    const lines = fixtureLines("methods.jsonl");
    const poddOnly = lines.filter(isPoddOnlyMethod);
    expect(poddOnly).toEqual(['{"method":"cancel","params":{"cascade":true},"id":"c-3"}']);
    // A reference pod refuses it: that is why a podd parent sends it only to a podd child.
    expect(referenceMethodProblem(poddOnly[0] ?? "")).toMatch(/^cancel: unit variant takes no content/);
    const shared = lines.filter((line) => !isPoddOnlyMethod(line));
    expect(shared.flatMap((line) => (referenceMethodProblem(line) === undefined ? [] : [`${referenceMethodProblem(line)}: ${line}`]))).toEqual([]);
  });

  it("podd's event and method names are the reference's, plus the opt-in extensions", () => {
    expect(EVENT_NAMES.filter((name) => !REFERENCE_EVENT_NAMES.includes(name))).toEqual([...EXTENSION_EVENT_NAMES]);
    expect([...METHOD_NAMES].sort()).toEqual([...REFERENCE_METHOD_NAMES].sort());
  });

  it("the reference's own method vectors decode in podd and in the transcription", () => {
    // From the reference protocol crate's tests (method_*_roundtrip, method_without_params).
    const vectors = [
      '{"method":"run","params":{"input":[{"kind":"text","content":"Hello"}]}}',
      '{"method":"run","params":{"input":[{"kind":"text","content":"see "},{"kind":"paste","id":7,"chars":12,"lines":2,"content":"line1\\nline2"}]}}',
      '{"method":"run","params":{"input":[{"kind":"text","content":"hi"},{"kind":"future_thing","x":1}]}}',
      '{"method":"resume"}',
      '{"method":"pause"}',
      '{"method":"compact"}',
      '{"method":"notify","params":{"message":"turn done"}}',
      '{"method":"list_completions","params":{"kind":"file","prefix":"src/"}}',
    ];
    for (const line of vectors) {
      expect(referenceMethodProblem(line), line).toBeUndefined();
      expect(decodeMethod(line).ok, line).toBe(true);
    }
  });
});

describe("the transcription refuses what a reference client cannot decode", () => {
  it.each([
    ["a ULID segment id", '{"event":"compact_done","data":{"new_segment_id":"01JGZ9A0000000000000000002"}}', "compact_done: data.new_segment_id: UUID parsing failed"],
    [
      "podd 0.1's rewind target",
      '{"event":"rewind_targets","data":{"head_entries":1,"targets":[{"target":{"segment_id":"0193b9a4-6a00-7000-8000-000000000001","user_input_entry_index":0},"preview":"x","ts":1}]}}',
      "rewind_targets: data.targets.0.id:",
    ],
    ["a string rewind summary", '{"event":"rewind_applied","data":{"entries":[],"input":[],"summary":"rewound 2 entries"}}', "rewind_applied: data.summary:"],
    ["an alert source outside the enum", '{"event":"alert","data":{"level":"warn","source":"compaction","message":"m","timestamp_ms":1}}', "alert: data.source:"],
    ["a string paste id", '{"event":"user_message","data":{"segments":[{"kind":"paste","id":"p-1","chars":1,"lines":1,"content":"x"}]}}', "user_message: data.segments.0.id:"],
    ["an unknown event", '{"event":"ack","data":{"method":"run"}}', "unknown variant `ack`"],
    ["data on a unit event", '{"event":"shutdown","data":{"why":"x"}}', "shutdown: unit variant takes no content"],
  ])("%s", (_what, line, problem) => {
    expect(referenceEventProblem(line)).toContain(problem);
  });

  it("a known segment kind with a field of the wrong type, and a negative count", () => {
    expect(referenceMethodProblem('{"method":"run","params":{"input":[{"kind":"text","content":1}]}}')).toContain("run: params.input.0.content");
    expect(referenceEventProblem('{"event":"turn_start","data":{"turn":-1}}')).toContain("turn_start: data.turn");
  });
});
