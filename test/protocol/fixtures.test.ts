/**
 * Golden fixtures (protocol/fixtures/*.jsonl) and the method/event decoders.
 *
 * Each fixture line is canonical: the key order of the zod schema's shape, no spaces, so
 * decode + encode must give it back byte for byte. Coverage checks read the names and kinds
 * from the schemas, so adding a method, event, kind or wire enum value without a fixture
 * line fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AlertLevel,
  AlertSource,
  AssistantItem,
  CompletionKind,
  ErrorCode,
  EVENT_NAMES,
  InvokeKind,
  LineDecoder,
  LogEntry,
  METHOD_NAMES,
  PodEvent,
  PodStatus,
  RunResult,
  Segment,
  SystemItem,
  TurnResult,
  decodeEvent,
  decodeMethod,
  encodeLine,
  type Event,
  type EventOf,
  type Method,
} from "../../protocol/index.js";

const REFERENCE_EXAMPLES = [
  '{"method":"run","params":{"input":[{"kind":"text","content":"Hello"}]}}',
  '{"method":"resume"}',
  '{"method":"pod_event","params":{"kind":"turn_ended","pod_name":"c"}}',
  '{"event":"compact_start"}',
];

function readFixtureText(name: string): string {
  return readFileSync(new URL(`../../protocol/fixtures/${name}`, import.meta.url), "utf8");
}

function fixtureLines(name: string): string[] {
  return readFixtureText(name).split("\n").slice(0, -1);
}

const methodLines = fixtureLines("methods.jsonl");
const eventLines = fixtureLines("events.jsonl");

function decodeMethodOrThrow(line: string): Method {
  const result = decodeMethod(line);
  if (!result.ok) throw new Error(`${result.message} in ${line}`);
  return result.value;
}

function decodeEventOrThrow(line: string): Event {
  const result = decodeEvent(line);
  if (!result.ok) throw new Error(`${result.message} in ${line}`);
  return result.value;
}

const methods = (): Method[] => methodLines.map(decodeMethodOrThrow);
const events = (): Event[] => eventLines.map(decodeEventOrThrow);

function eventsNamed<Name extends Event["event"]>(name: Name): EventOf<Name>[] {
  return events().filter((event): event is EventOf<Name> => event.event === name);
}

function missing(expected: readonly string[], seen: Iterable<string>): string[] {
  const seenSet = new Set(seen);
  return expected.filter((value) => !seenSet.has(value));
}

/** Every log entry carried by the event fixtures (snapshots, rewinds, rotations). */
function fixtureLogEntries(): LogEntry[] {
  return events().flatMap((event): LogEntry[] => {
    if (event.event === "snapshot" || event.event === "rewind_applied") return event.data.entries;
    if (event.event === "segment_rotated") return [event.data.entry];
    return [];
  });
}

const SEGMENT_KINDS = Segment.options[0].options.map((option) => option.shape.kind.value);
const POD_EVENT_KINDS = PodEvent.options.map((option) => option.shape.kind.value);
const LOG_ENTRY_KINDS = LogEntry.options.map((option) => option.shape.kind.value);
const ASSISTANT_ITEM_KINDS = AssistantItem.options.map((option) => option.shape.kind.value);
const SYSTEM_ITEM_KINDS = SystemItem.options[0].options.map((option) => option.shape.kind.value);

describe("golden fixture files", () => {
  it.each(["methods.jsonl", "events.jsonl"])("%s is newline-terminated JSON lines with no blank line, framed alike by LineDecoder", (name) => {
    const text = readFixtureText(name);
    expect(text.endsWith("\n")).toBe(true);
    const lines = fixtureLines(name);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.trim() === "")).toEqual([]);
    const decoded = new LineDecoder().push(Buffer.from(text, "utf8"));
    expect(decoded).toEqual(lines.map((line) => ({ kind: "line", text: line })));
  });

  it("contain the reference's own examples byte for byte", () => {
    const all = new Set([...methodLines, ...eventLines]);
    expect(REFERENCE_EXAMPLES.filter((line) => !all.has(line))).toEqual([]);
  });

  it("have no duplicate line", () => {
    for (const lines of [methodLines, eventLines]) expect(new Set(lines).size).toBe(lines.length);
  });
});

describe("every fixture line decodes and re-encodes byte for byte", () => {
  it.each(methodLines.map((line, index) => ({ line, number: index + 1 })))("methods.jsonl:$number", ({ line }) => {
    const result = decodeMethod(line);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(encodeLine(result.value)).toBe(`${line}\n`);
    expect(result.id).toBe((JSON.parse(line) as { id?: unknown }).id);
  });

  it.each(eventLines.map((line, index) => ({ line, number: index + 1 })))("events.jsonl:$number", ({ line }) => {
    const result = decodeEvent(line);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(encodeLine(result.value)).toBe(`${line}\n`);
  });
});

describe("fixture coverage (fails when the contract grows without a fixture)", () => {
  it("has a line for every method name", () => {
    expect(missing(METHOD_NAMES, methods().map((method) => method.method))).toEqual([]);
  });

  it("has a line for every event name", () => {
    expect(missing(EVENT_NAMES, events().map((event) => event.event))).toEqual([]);
  });

  it("has every PodEvent kind inside pod_event", () => {
    const kinds = methods().flatMap((method) => (method.method === "pod_event" ? [method.params.kind] : []));
    expect(missing(POD_EVENT_KINDS, kinds)).toEqual([]);
  });

  it("has every Segment kind inside run and inside user_message", () => {
    const runKinds = methods().flatMap((method) => (method.method === "run" ? method.params.input.map((segment) => segment.kind) : []));
    const messageKinds = eventsNamed("user_message").flatMap((event) => event.data.segments.map((segment) => segment.kind));
    expect(missing(SEGMENT_KINDS, runKinds)).toEqual([]);
    expect(missing(SEGMENT_KINDS, messageKinds)).toEqual([]);
  });

  it("has every value of each wire enum a reference client must understand", () => {
    expect(missing(ErrorCode.options, eventsNamed("error").map((event) => event.data.code))).toEqual([]);
    expect(missing(PodStatus.options, eventsNamed("status").map((event) => event.data.status))).toEqual([]);
    expect(missing(PodStatus.options, eventsNamed("snapshot").map((event) => event.data.status))).toEqual([]);
    expect(missing(RunResult.options, eventsNamed("run_end").map((event) => event.data.result))).toEqual([]);
    expect(missing(TurnResult.options, eventsNamed("turn_end").map((event) => event.data.result))).toEqual([]);
    expect(missing(InvokeKind.options, eventsNamed("invoke_start").map((event) => event.data.kind))).toEqual([]);
    expect(missing(CompletionKind.options, eventsNamed("completions").map((event) => event.data.kind))).toEqual([]);
    const askedKinds = methods().flatMap((method) => (method.method === "list_completions" ? [method.params.kind] : []));
    expect(missing(CompletionKind.options, askedKinds)).toEqual([]);
    expect(missing(AlertLevel.options, eventsNamed("alert").map((event) => event.data.level))).toEqual([]);
    expect(missing(AlertSource.options, eventsNamed("alert").map((event) => event.data.source))).toEqual([]);
  });

  it("has the podd extensions: string and numeric ids, notify wake:false, pod_event report_id, reply_to, snapshot in_flight", () => {
    const ids = methods().map((method) => method.id);
    expect(ids.some((id) => typeof id === "string")).toBe(true);
    expect(ids.some((id) => typeof id === "number")).toBe(true);
    expect(methods().some((method) => method.method === "notify" && method.params.wake === false)).toBe(true);
    expect(methods().some((method) => method.method === "cancel" && method.params?.cascade === true)).toBe(true);
    expect(methods().some((method) => method.method === "pod_event" && method.params.report_id !== undefined && method.id === method.params.report_id)).toBe(true);
    expect(events().some((event) => event.reply_to !== undefined)).toBe(true);
    expect(eventsNamed("snapshot").some((event) => event.data.in_flight !== undefined)).toBe(true);
  });

  it("has a snapshot holding several log entry kinds and an in_flight turn", () => {
    const rich = eventsNamed("snapshot").filter(
      (event) => event.data.in_flight !== undefined && new Set(event.data.entries.map((entry) => entry.kind)).size >= 5,
    );
    expect(rich.length).toBeGreaterThan(0);
  });

  it("has every known SystemItem kind, and an unknown kind passing through as free JSON", () => {
    const items = [
      ...eventsNamed("system_item").map((event) => event.data.item),
      ...fixtureLogEntries().flatMap((entry) => (entry.kind === "system_item" ? [entry.item] : [])),
    ];
    const kinds = items.map((item) => item.kind);
    expect(missing(SYSTEM_ITEM_KINDS, kinds)).toEqual([]);
    expect(kinds.some((kind) => !SYSTEM_ITEM_KINDS.includes(kind as (typeof SYSTEM_ITEM_KINDS)[number]))).toBe(true);
  });
});

describe("log entries", () => {
  it("every LogEntry kind appears in the fixtures and round-trips as a session-file line", () => {
    const entries = fixtureLogEntries();
    expect(missing(LOG_ENTRY_KINDS, entries.map((entry) => entry.kind))).toEqual([]);
    for (const entry of entries) {
      const line = JSON.stringify(entry);
      const reparsed = LogEntry.safeParse(JSON.parse(line));
      expect(reparsed.success, line).toBe(true);
      expect(encodeLine(reparsed.data)).toBe(`${line}\n`);
    }
  });

  it("every AssistantItem kind appears inside assistant_item entries", () => {
    const kinds = fixtureLogEntries().flatMap((entry) => (entry.kind === "assistant_item" ? [entry.item.kind] : []));
    expect(missing(ASSISTANT_ITEM_KINDS, kinds)).toEqual([]);
  });

  it("an entry without ts is refused", () => {
    expect(LogEntry.safeParse({ kind: "invoke", invoke_kind: "user_send" }).success).toBe(false);
  });
});

describe("decodeMethod: segments", () => {
  it("decodes an unknown segment kind inside run as {kind:'unknown'} and keeps its siblings", () => {
    const result = decodeMethod(
      '{"method":"run","params":{"input":[{"kind":"text","content":"look: "},{"kind":"image","url":"https://x/y.png","bytes":[1,2]}]}}',
    );
    expect(result).toEqual({
      ok: true,
      value: { method: "run", params: { input: [{ kind: "text", content: "look: " }, { kind: "unknown" }] } },
    });
    if (result.ok) expect(encodeLine(result.value)).toBe('{"method":"run","params":{"input":[{"kind":"text","content":"look: "},{"kind":"unknown"}]}}\n');
  });

  it("drops the extra fields of an explicit unknown segment", () => {
    expect(decodeMethod('{"method":"run","params":{"input":[{"kind":"unknown","extra":1}]}}')).toEqual({
      ok: true,
      value: { method: "run", params: { input: [{ kind: "unknown" }] } },
    });
  });

  it.each([
    ['{"kind":"text","content":5}', "params.input[0].content", "expected string"],
    ['{"kind":"text"}', "params.input[0].content", "expected string"],
    ['{"kind":"paste","id":1,"lines":1,"content":"x"}', "params.input[0].chars", "expected number"],
    ['{"kind":"paste","id":true,"chars":1,"lines":1,"content":"x"}', "params.input[0].id", "invalid"],
    ['{"kind":"file_ref","path":null}', "params.input[0].path", "expected string"],
    ['{"kind":"knowledge_ref"}', "params.input[0].slug", "expected string"],
    ['{"kind":"workflow_invoke","slug":["a"]}', "params.input[0].slug", "expected string"],
  ])("refuses a known segment kind with bad fields: %s", (segment, path, expected) => {
    const result = decodeMethod(`{"method":"run","params":{"input":[${segment}]}}`);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toMatch(/^invalid method: run: /);
    expect(result.ok ? "" : result.message).toContain(path);
    expect((result.ok ? "" : result.message).toLowerCase()).toContain(expected);
  });

  it("refuses a segment without a string kind", () => {
    for (const segment of ['{"content":"x"}', '{"kind":7}', '"text"']) {
      const result = decodeMethod(`{"method":"run","params":{"input":[${segment}]}}`);
      expect(result.ok, segment).toBe(false);
      expect(result.ok ? "" : result.message, segment).toContain("params.input[0]");
    }
  });
});

describe("decodeMethod: invalid lines", () => {
  it("names an unknown method", () => {
    expect(decodeMethod('{"method":"frobnicate","params":{}}')).toEqual({ ok: false, message: 'invalid method: unknown method "frobnicate"' });
  });

  it("shortens a very long unknown method name in the message", () => {
    const result = decodeMethod(JSON.stringify({ method: "x".repeat(10_000) }));
    expect(result).toEqual({ ok: false, message: `invalid method: unknown method "${"x".repeat(64)}"` });
  });

  it.each(["not json", "{", '{"method":"resume"', "", "\u2028"])("reports non-JSON %j as not JSON", (line) => {
    const result = decodeMethod(line);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toMatch(/^invalid method: not JSON \(.+\)$/s);
    expect(result.id).toBeUndefined();
  });

  it.each(["[]", '["resume"]', '"resume"', "null", "42", "true"])("refuses the non-object JSON %s", (line) => {
    expect(decodeMethod(line)).toEqual({ ok: false, message: "invalid method: expected a JSON object" });
  });

  it.each(['{"params":{}}', '{"method":5}', '{"method":null}'])("refuses %s as missing the method name", (line) => {
    expect(decodeMethod(line)).toEqual({ ok: false, message: 'invalid method: missing "method" name' });
  });

  it.each([
    ['{"method":"run"}', "run: params", "expected object"],
    ['{"method":"run","params":{"input":"hi"}}', "run: params.input", "expected array"],
    ['{"method":"notify","params":{"message":"x","wake":"no"}}', "notify: params.wake", "expected boolean"],
    ['{"method":"notify","params":{"message":42}}', "notify: params.message", "expected string"],
    ['{"method":"pod_event","params":{"kind":"weird","pod_name":"c"}}', "pod_event: params.kind", "turn_ended"],
    ['{"method":"pod_event","params":{"kind":"errored","pod_name":"c"}}', "pod_event: params.message", "expected string"],
    [
      '{"method":"pod_event","params":{"kind":"scope_sub_delegated","parent_pod":"p","sub_pod":"s","sub_socket":"/s","scope":[{"target":"/a","permission":"admin"}]}}',
      "pod_event: params.scope[0].permission",
      "read",
    ],
    [
      '{"method":"rewind_to","params":{"target":{"segment_id":"s","user_input_entry_index":-1},"expected_head_entries":3}}',
      "rewind_to: params.target.user_input_entry_index",
      ">=0",
    ],
    ['{"method":"rewind_to","params":{"target":{"segment_id":"s","user_input_entry_index":1},"expected_head_entries":2.5}}', "rewind_to: params.expected_head_entries", "int"],
    ['{"method":"list_completions","params":{"kind":"dir","prefix":""}}', "list_completions: params.kind", "file"],
    ['{"method":"inspect_pod","params":{"name":5}}', "inspect_pod: params.name", "expected string"],
    ['{"method":"resume","id":{"n":1}}', "resume: id", "expected string"],
    ['{"method":"resume","id":"' + "i".repeat(257) + '"}', "resume: id", "256"],
  ])("names the problem in %s", (line, where, expected) => {
    const result = decodeMethod(line);
    expect(result.ok).toBe(false);
    const message = result.ok ? "" : result.message;
    expect(message).toContain(`invalid method: ${where}: `);
    expect(message.toLowerCase()).toContain(expected);
  });

  it("returns the envelope id of an invalid line when it has one", () => {
    expect(decodeMethod('{"method":"frobnicate","id":"req-9"}')).toEqual({ ok: false, message: 'invalid method: unknown method "frobnicate"', id: "req-9" });
    expect(decodeMethod('{"method":"run","params":{"input":5},"id":41}')).toMatchObject({ ok: false, id: 41 });
    expect(decodeMethod('{"id":"no-name"}')).toEqual({ ok: false, message: 'invalid method: missing "method" name', id: "no-name" });
    expect(decodeMethod('{"method":"resume","id":{"n":1}}').id).toBeUndefined();
    expect(decodeMethod('{"method":"resume","id":"' + "i".repeat(257) + '"}').id).toBeUndefined();
  });

  it("returns the envelope id of a valid line", () => {
    expect(decodeMethod('{"method":"cancel","id":"c-1"}')).toEqual({ ok: true, value: { method: "cancel", id: "c-1" }, id: "c-1" });
    expect(decodeMethod('{"method":"cancel","id":0}')).toEqual({ ok: true, value: { method: "cancel", id: 0 }, id: 0 });
    expect(decodeMethod('{"method":"cancel"}')).toEqual({ ok: true, value: { method: "cancel" } });
  });

  it("decodes cancel with and without its optional params (podd extension cascade)", () => {
    expect(decodeMethod('{"method":"cancel","params":{"cascade":true}}')).toEqual({ ok: true, value: { method: "cancel", params: { cascade: true } } });
    expect(decodeMethod('{"method":"cancel","params":{}}')).toEqual({ ok: true, value: { method: "cancel", params: {} } });
    expect(encodeLine({ method: "cancel", params: { cascade: true } })).toBe('{"method":"cancel","params":{"cascade":true}}\n');
    const refused = decodeMethod('{"method":"cancel","params":{"cascade":"yes"}}');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? "" : refused.message).toContain("invalid method: cancel: params.cascade: ");
  });

  it("ignores unknown envelope fields and params on a unit method", () => {
    expect(decodeMethod('{"method":"resume","params":{},"seq":3,"reply_to":"x"}')).toEqual({ ok: true, value: { method: "resume" } });
  });

  it("ignores unknown fields inside params", () => {
    expect(decodeMethod('{"method":"notify","params":{"message":"m","priority":"high"}}')).toEqual({
      ok: true,
      value: { method: "notify", params: { message: "m" } },
    });
  });

  it("fills ScopeRule.recursive with its default (true) when a peer leaves it out", () => {
    const result = decodeMethod(
      '{"method":"pod_event","params":{"kind":"scope_sub_delegated","parent_pod":"p","sub_pod":"s","sub_socket":"/s.sock","scope":[{"target":"/a","permission":"read"}]}}',
    );
    expect(result.ok && result.value.method === "pod_event" && result.value.params.kind === "scope_sub_delegated" && result.value.params.scope).toEqual([
      { target: "/a", permission: "read", recursive: true },
    ]);
  });

  it("tolerates the trailing carriage return of a CRLF line", () => {
    expect(decodeMethod('{"method":"resume"}\r')).toEqual({ ok: true, value: { method: "resume" } });
  });
});

describe("decodeEvent", () => {
  it("names an unknown event", () => {
    expect(decodeEvent('{"event":"bogus","reply_to":"r-1"}')).toEqual({ ok: false, message: 'invalid event: unknown event "bogus"' });
  });

  it("refuses an enum value outside the contract, naming the field", () => {
    const result = decodeEvent('{"event":"status","data":{"status":"sleeping"}}');
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toContain("invalid event: status: data.status: ");
  });

  it("passes an unknown system item kind through with all its fields", () => {
    const line = '{"event":"system_item","data":{"item":{"kind":"todo_reminder","body":"2 open","count":2,"nested":{"a":[1]}}}}';
    expect(decodeEvent(line)).toEqual({ ok: true, value: JSON.parse(line) });
  });

  it("refuses a known system item kind with bad fields, naming the bad field", () => {
    const result = decodeEvent('{"event":"system_item","data":{"item":{"kind":"notification","body":"b"}}}');
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toContain("invalid event: system_item: data.item.message: ");
  });

  it("refuses an event that carries data when the data is missing", () => {
    const result = decodeEvent('{"event":"thinking_delta"}');
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.message).toContain("invalid event: thinking_delta: data: ");
  });
});
