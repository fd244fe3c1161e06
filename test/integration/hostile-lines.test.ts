/**
 * Hostile lines (issue 11, part 6), through real Unix sockets against one real pod process:
 * JSON nested 100,000 deep, a valid 7.9 MiB line and lines at the 8 MiB cap, 1,000,000 tiny
 * lines, invalid UTF-8, NUL bytes, CRLF endings, duplicate keys, `__proto__` / `constructor`
 * keys, and a method 10,000 times in one burst. Each case checks that every line gets a clear
 * `error{invalid_request}` (or is processed correctly where it is valid), and ends the way
 * every bad-input case does (expectPodStillServes): the pod process is alive, a client that
 * connected before any of this runs a normal turn and never saw an error, and every line of the
 * session files is a LogEntry. What a hostile line must not leave behind is checked in the
 * session log and through later replies (e.g. no prototype pollution: a `notify` without a
 * message is still refused).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMethod, MAX_JSON_DEPTH, type Event } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import {
  cleanupBadInput,
  clientPeer,
  connectRecorded,
  expectPodStillServes,
  isReplyTo,
  line,
  normalTurn,
  peakResidentBytes,
  RawConnection,
  readSessionFiles,
  residentBytes,
  textInput,
  userInputTexts,
  within,
  type ServingSetup,
} from "../helpers/bad-input-support.js";
import { cleanupAll, startPod, tempHome } from "../helpers/pod-process.js";

const MiB = 1024 * 1024;
const LINE_CAP_BYTES = 8 * MiB;
const FLOOD_MARKER = "[flood-run]";

let ctx: ServingSetup;
let floodGate: string;

beforeAll(async () => {
  const home = tempHome();
  floodGate = path.join(home.home, "flood-gate");
  // One response held open at a gate, for the run that 10,000 more runs arrive during; bound to
  // a marker note, so the normal turns never take it (they get the "no responses left" note).
  const scenario = script().when(FLOOD_MARKER).text("holding the run", { gate: floodGate }).finish().build();
  const pod = await startPod({ home, scenario });
  const other = await connectRecorded(pod.socket);
  await other.log.waitFor((event) => event.event === "snapshot", { label: "other client's snapshot" });
  ctx = { pod, other: clientPeer(other) };
});

afterAll(async () => {
  cleanupBadInput();
  await cleanupAll();
});

/** A raw connection that has its snapshot. */
async function connect(options: { onLine?: (text: string) => boolean; allowHalfOpen?: boolean } = {}): Promise<RawConnection> {
  const connection = await RawConnection.connect(ctx.pod.socket, options);
  await connection.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
  return connection;
}

/** Write `lines` (each ending in a newline already), then a marker request; resolves with what came back before the marker's ack, in order. */
async function send(connection: RawConnection, lines: (string | Buffer)[], marker: string): Promise<Event[]> {
  const from = connection.log.events.length;
  await connection.write(Buffer.concat([...lines.map((text) => (typeof text === "string" ? Buffer.from(text, "utf8") : text)), Buffer.from(line({ method: "list_visible_pods", id: marker }))]));
  const ack = await connection.log.waitFor(isReplyTo(marker), { from, label: `reply to ${marker}` });
  return connection.log.events.slice(from, connection.log.events.indexOf(ack));
}

/** The pod's replies among `events` (errors and acks; broadcast events left out). */
function replies(events: readonly Event[]): Event[] {
  return events.filter((event) => event.event === "error" || event.event === "ack" || event.event === "completions" || event.event === "pod_inspection");
}

function errorMessage(event: Event | undefined): string {
  return event?.event === "error" ? `${event.data.code}: ${event.data.message}` : `not an error: ${JSON.stringify(event)?.slice(0, 200)}`;
}

/** The messages of the notification system items of the session files. */
function loggedNotifications(): string[] {
  return readSessionFiles(ctx.pod.home).entries.flatMap((entry) =>
    entry.kind === "system_item" && entry.item.kind === "notification" && typeof entry.item.message === "string" ? [entry.item.message] : [],
  );
}

const nested = (depth: number, inner = "1"): string => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
const nestedObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const tooDeep = `invalid_request: invalid method: JSON nested deeper than ${MAX_JSON_DEPTH} levels`;

describe("hostile lines", () => {
  it("refuses JSON nested 100,000 deep wherever it is, and takes nesting within the limit and brackets inside strings", async () => {
    const connection = await connect();
    const withinLimit = nested(MAX_JSON_DEPTH - 3);
    const brackets = "[{".repeat(50_000);
    const events = await send(
      connection,
      [
        `${nested(100_000)}\n`,
        `${nestedObject(100_000)}\n`,
        `{"method":"notify","params":{"message":"DEEP-EXTRA","extra":${nested(100_000)}},"id":"deep-1"}\n`,
        `{"method":"run","params":{"input":[{"kind":"text","content":${nested(100_000, '"DEEP-RUN"')}}]},"id":"deep-2"}\n`,
        `{"method":"notify","params":{"message":"WITHIN-LIMIT","wake":false,"extra":${withinLimit}},"id":"deep-3"}\n`,
        line({ method: "notify", params: { message: brackets, wake: false }, id: "deep-4" }),
      ],
      "deep-marker",
    );
    const answers = replies(events);
    expect(answers.map(errorMessage).slice(0, 4)).toEqual([tooDeep, tooDeep, tooDeep, tooDeep]);
    // Refused before parsing, so no id is read from these lines.
    expect(answers.slice(0, 4).map((event) => event.reply_to)).toEqual([undefined, undefined, undefined, undefined]);
    expect(answers.slice(4)).toEqual([
      { event: "ack", data: { method: "notify" }, reply_to: "deep-3" },
      { event: "ack", data: { method: "notify" }, reply_to: "deep-4" },
    ]);
    expect(connection.socket.destroyed).toBe(false);

    const { turn } = await expectPodStillServes(ctx, "hello after deep nesting");
    // The two valid notes reached the model in that turn, the brackets intact; nothing of the refused lines did.
    const logged = loggedNotifications();
    expect(logged).toContain("WITHIN-LIMIT");
    expect(logged).toContain(brackets);
    expect(JSON.stringify(turn)).not.toMatch(/DEEP-EXTRA|DEEP-RUN/);
    expect(userInputTexts(readSessionFiles(ctx.pod.home))).not.toContain("DEEP-RUN");
  });

  it("answers 1,000,000 tiny lines (CRLF, blank, not JSON, not objects, no method, valid) with one reply per non-blank line, in order, while another client runs a turn", async () => {
    // Each kind: its line, and the reply it must get (undefined: skipped without a reply).
    const kinds: { text: string; reply: string | undefined }[] = [
      { text: "{}", reply: "error: no method name" },
      { text: "1\r", reply: "error: not an object" },
      { text: "", reply: undefined },
      { text: "\r", reply: undefined },
      { text: " ", reply: undefined },
      { text: '{"method":"list_visible_pods"}\r', reply: "visible_pods" },
      { text: "x", reply: "error: not JSON" },
      { text: '{"method":"x"}', reply: "error: unknown method" },
    ];
    // A fixed, irregular mix of the kinds (13 lines in 18 get a reply), 1,000,000 lines in all.
    const pattern = [0, 1, 2, 0, 3, 5, 0, 1, 4, 0, 6, 1, 7, 2, 0, 1, 5, 3];
    const total = 1_000_000;
    const expected: string[] = [];
    const parts: string[] = [];
    for (let index = 0; index < total; index += 1) {
      const kind = kinds[pattern[index % pattern.length] as number] as (typeof kinds)[number];
      parts.push(kind.text);
      if (kind.reply) expected.push(kind.reply);
    }
    const payload = Buffer.from(`${parts.join("\n")}\n`, "utf8");
    // The reader classifies each reply as it comes, without keeping or parsing the lines: an error
    // for one of these lines is always the same line (visible_pods shows the status, which varies).
    const notJson = decodeMethod("x");
    expect(notJson.ok ? "" : notJson.message).toMatch(/^invalid method: not JSON \(/);
    const errorMessages: Record<string, string> = {
      "error: no method name": 'invalid method: missing "method" name',
      "error: not an object": "invalid method: expected a JSON object",
      "error: not JSON": notJson.ok ? "" : notJson.message,
      "error: unknown method": 'invalid method: unknown method "x"',
    };
    const errorLines = new Map(Object.entries(errorMessages).map(([reply, message]) => [JSON.stringify({ event: "error", data: { code: "invalid_request", message } }), reply]));
    const seen: string[] = [];
    const classify = (text: string): boolean => {
      const error = errorLines.get(text);
      if (error) seen.push(error);
      else if (text.startsWith('{"event":"visible_pods"') && !text.includes('"reply_to"')) seen.push("visible_pods");
      else if (text.startsWith('{"event":"error"')) seen.push(`unexpected: ${text.slice(0, 200)}`);
      else return true;
      return false;
    };
    const flood = await connect({ onLine: classify });
    const rssBefore = residentBytes(ctx.pod.pid) ?? 0;
    const peakBefore = peakResidentBytes(ctx.pod.pid) ?? 0;
    // Few large writes, cut at arbitrary points; another client runs a turn meanwhile.
    const writing = (async () => {
      for (let offset = 0; offset < payload.length; offset += MiB + 7) expect(await flood.write(payload.subarray(offset, offset + MiB + 7))).toBeUndefined();
    })();
    const concurrentTurn = normalTurn(ctx.other, "a turn during a million lines");
    await writing;
    await concurrentTurn;
    // The marker request's reply comes after every reply to the million lines (one connection's replies keep its lines' order).
    const from = flood.log.events.length;
    await flood.write(line({ method: "list_visible_pods", id: "tiny-marker" }));
    await flood.log.waitFor(isReplyTo("tiny-marker"), { from, label: "reply to the marker after a million lines" });
    expect(seen.length).toBe(expected.length);
    const firstDifference = seen.findIndex((reply, index) => reply !== expected[index]);
    expect(firstDifference, `reply ${firstDifference}: ${seen[firstDifference]} instead of ${expected[firstDifference]}`).toBe(-1);
    expect(flood.socket.destroyed).toBe(false);
    expect(flood.log.named("alert")).toEqual([]);
    expect(ctx.other.log.named("alert").filter((alert) => alert.data.message.startsWith("ipc:"))).toEqual([]);
    // Bounded: the pod reads the flood only as fast as the client takes the ~65 MB of replies, so it
    // never holds them (held as strings and Buffers they would be ~200 MB; measured: +72 MiB of
    // peak RSS, mostly garbage V8 had not collected yet).
    const peakAfter = peakResidentBytes(ctx.pod.pid) ?? 0;
    console.log(`hostile: 1,000,000 lines, ${expected.length} replies; pod RSS ${(rssBefore / MiB).toFixed(1)} MiB before, peak ${(peakBefore / MiB).toFixed(1)} → ${(peakAfter / MiB).toFixed(1)} MiB`);
    expect(Math.max(0, peakAfter - Math.max(peakBefore, rssBefore)), `peak RSS ${peakBefore} → ${peakAfter} bytes`).toBeLessThan(160 * MiB);
    await expectPodStillServes(ctx, "hello after a million lines");
  });

  it("refuses lines that are not UTF-8 (answering their id) and takes multi-byte UTF-8 exactly", async () => {
    const connection = await connect();
    const notify = (id: string, bytes: number[]): Buffer =>
      Buffer.concat([Buffer.from(`{"method":"notify","params":{"message":"BAD-UTF8-`), Buffer.from(bytes), Buffer.from(`","wake":false},"id":"${id}"}\n`)]);
    const offset = Buffer.byteLength('{"method":"notify","params":{"message":"BAD-UTF8-');
    const events = await send(
      connection,
      [
        notify("u1", [0xff]), // never UTF-8
        notify("u2", [0xe2, 0x82]), // a 3-byte sequence cut short
        notify("u3", [0xc0, 0xaf]), // an overlong "/"
        notify("u4", [0xed, 0xa0, 0x80]), // a UTF-16 surrogate
        notify("u5", [0x61, 0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF, after one valid byte
        Buffer.from([0x80, 0x0d, 0x0a]), // a lone continuation byte, CRLF
        line({ method: "notify", params: { message: "GOOD-UTF8 é中😀 \u2028", wake: false }, id: "u-ok" }),
      ],
      "utf8-marker",
    );
    const notUtf8 = (at: number): string => `invalid_request: invalid method: not UTF-8 (invalid byte sequence at byte ${at} of the line)`;
    const answers = replies(events);
    expect(answers.map((event) => [event.reply_to, event.event === "error" ? errorMessage(event) : event.event])).toEqual([
      ["u1", notUtf8(offset)],
      ["u2", notUtf8(offset)],
      ["u3", notUtf8(offset)],
      ["u4", notUtf8(offset)],
      ["u5", notUtf8(offset + 1)],
      [undefined, notUtf8(0)],
      ["u-ok", "ack"],
    ]);
    await expectPodStillServes(ctx, "hello after invalid UTF-8");
    const logged = loggedNotifications();
    expect(logged).toContain("GOOD-UTF8 é中😀 \u2028");
    expect(logged.filter((message) => message.includes("BAD-UTF8") || message.includes("\ufffd"))).toEqual([]);
  });

  it("refuses raw NUL bytes, takes escaped ones exactly, and survives NUL in paths and names; CR inside and at the end of lines is whitespace", async () => {
    const connection = await connect();
    const raw = (text: string): Buffer => Buffer.from(text.replaceAll("<NUL>", "\u0000"), "utf8");
    const events = await send(
      connection,
      [
        raw('{"method":"notify","params":{"message":"RAW<NUL>NUL","wake":false},"id":"z1"}\n'), // a control character in a string
        raw('{"method":"notify",<NUL>"params":{"message":"x"}}\n'), // between tokens
        raw("<NUL><NUL><NUL>\n"),
        line({ method: "notify", params: { message: "ESCAPED\u0000NUL", wake: false }, id: "z2" }),
        line({ method: "list_completions", params: { kind: "file", prefix: "a\u0000b/" }, id: "z3" }),
        line({ method: "inspect_pod", params: { name: "pod\u0000" }, id: "z4" }),
        `{"method":"notify",\r"params":{"message":"CR INSIDE","wake":false},\r"id":"z5"}\r\r\n`,
      ],
      "nul-marker",
    );
    const answers = replies(events);
    expect(answers.map(errorMessage).slice(0, 3)).toEqual([
      expect.stringMatching(/^invalid_request: invalid method: not JSON \(Bad control character in string literal/),
      expect.stringMatching(/^invalid_request: invalid method: not JSON/),
      expect.stringMatching(/^invalid_request: invalid method: not JSON/),
    ]);
    // (list_completions needs I/O: its answer may come after later replies.)
    const byId = (id: string) => answers.find((event) => event.reply_to === id);
    expect(byId("z2")).toEqual({ event: "ack", data: { method: "notify" }, reply_to: "z2" });
    expect(byId("z4")).toEqual({ event: "error", data: { code: "invalid_request", message: "unknown pod: pod\u0000 (neither this pod nor one of its children)" }, reply_to: "z4" });
    expect(byId("z5")).toEqual({ event: "ack", data: { method: "notify" }, reply_to: "z5" });
    const completions = await connection.log.waitFor(isReplyTo("z3"), { label: "completions for a prefix with a NUL" });
    expect(completions).toEqual({ event: "completions", data: { kind: "file", entries: [] }, reply_to: "z3" });
    // A run whose text holds a NUL.
    await normalTurn(ctx.other, "run with a \u0000 inside");
    await expectPodStillServes(ctx, "hello after NUL bytes");
    const logged = loggedNotifications();
    expect(logged).toEqual(expect.arrayContaining(["ESCAPED\u0000NUL", "CR INSIDE"]));
    expect(logged.some((message) => message.startsWith("RAW"))).toBe(false);
    expect(userInputTexts(readSessionFiles(ctx.pod.home))).toContain("run with a \u0000 inside");
    // On disk the NUL is escaped: no raw NUL byte in any session file.
    for (const file of readSessionFiles(ctx.pod.home).files) expect(fs.readFileSync(file).includes(0)).toBe(false);
  });

  it("refuses an object that repeats a key (at any depth, however spelled) and acts on neither copy", async () => {
    const connection = await connect();
    const events = await send(
      connection,
      [
        '{"method":"notify","params":{"message":"DUP-1","wake":false},"method":"shutdown","id":"k1"}\n',
        '{"method":"shutdown","method":"notify","params":{"message":"DUP-2","wake":false},"id":"k2"}\n',
        '{"method":"notify","params":{"message":"DUP-3","message":"DUP-4","wake":false},"id":"k3"}\n',
        '{"method":"notify","params":{"message":"DUP-5","wake":false},"m\\u0065thod":"shutdown","id":"k4"}\n',
        '{"method":"run","params":{"input":[{"kind":"text","content":"DUP-6","content":"DUP-7"}]},"id":"k5"}\n',
        '{"method":"notify","params":{"message":"DUP-8","wake":false},"id":"k6","id":"k7"}\n',
        // Keys that only look alike, and the same key in different objects, are fine.
        '{"method":"notify","params":{"message":"NOT-DUP","Message":"x","wake":false,"extra":{"message":1}},"id":"k8"}\n',
      ],
      "dup-marker",
    );
    const duplicate = (key: string): string => `invalid_request: invalid method: duplicate key ${JSON.stringify(key)} in one object`;
    const answers = replies(events);
    expect(answers.map((event) => [event.reply_to, event.event === "error" ? errorMessage(event) : event.event])).toEqual([
      ["k1", duplicate("method")],
      ["k2", duplicate("method")],
      ["k3", duplicate("message")],
      ["k4", duplicate("method")],
      ["k5", duplicate("content")],
      [undefined, duplicate("id")],
      ["k8", "ack"],
    ]);
    // Not shut down: the pod still serves (expectPodStillServes checks the process too).
    await expectPodStillServes(ctx, "hello after duplicate keys");
    const logged = loggedNotifications();
    expect(logged).toContain("NOT-DUP");
    expect(logged.filter((message) => message.startsWith("DUP-"))).toEqual([]);
    expect(userInputTexts(readSessionFiles(ctx.pod.home)).filter((text) => text.startsWith("DUP-"))).toEqual([]);
  });

  it("treats __proto__ and constructor as plain keys and names: nothing is polluted, as later requests show", async () => {
    const connection = await connect();
    const polluting = '{"message":"FROM-PROTO","input":[{"kind":"text","content":"FROM-PROTO"}],"kind":"text","content":"FROM-PROTO","wake":false}';
    const from = connection.log.events.length;
    const events = await send(
      connection,
      [
        `{"method":"notify","params":{"__proto__":${polluting}},"id":"p1"}\n`,
        `{"__proto__":{"method":"notify","params":${polluting}},"id":"p2"}\n`,
        `{"method":"notify","params":{"message":"PROTO-OK","wake":false,"constructor":{"prototype":${polluting}},"__proto__":${polluting}},"id":"p3"}\n`,
        `{"method":"run","params":{"input":[{"kind":"text","content":"proto run","__proto__":{"kind":"file_ref","path":"/etc/passwd"},"constructor":{"prototype":${polluting}}}],"__proto__":${polluting}},"id":"p4"}\n`,
        line({ method: "inspect_pod", params: { name: "__proto__" }, id: "p5" }),
        line({ method: "inspect_pod", params: { name: "constructor" }, id: "p6" }),
        line({ method: "attach_or_restore_pod", params: { name: "hasOwnProperty" }, id: "p7" }),
        line({ method: "pod_event", params: { kind: "turn_ended", pod_name: "__proto__", report_id: "constructor" }, id: "p8" }),
        line({ method: "pod_event", params: { kind: "turn_ended", pod_name: "__proto__", report_id: "constructor" }, id: "p9" }),
      ],
      "proto-marker",
    );
    const byId = new Map(replies(events).map((event) => [event.reply_to, event]));
    expect(errorMessage(byId.get("p1"))).toBe("invalid_request: invalid method: notify: params.message: Invalid input: expected string, received undefined");
    expect(errorMessage(byId.get("p2"))).toBe('invalid_request: invalid method: missing "method" name');
    expect(byId.get("p3")).toEqual({ event: "ack", data: { method: "notify" }, reply_to: "p3" });
    expect(byId.get("p4")).toEqual({ event: "ack", data: { method: "run" }, reply_to: "p4" });
    expect(errorMessage(byId.get("p5"))).toBe("invalid_request: unknown pod: __proto__ (neither this pod nor one of its children)");
    expect(errorMessage(byId.get("p6"))).toBe("invalid_request: unknown pod: constructor (neither this pod nor one of its children)");
    expect(errorMessage(byId.get("p7"))).toMatch(/^invalid_request: no child pod named hasOwnProperty/);
    expect(byId.get("p8")).toEqual({ event: "ack", data: { method: "pod_event" }, reply_to: "p8" });
    expect(byId.get("p9")).toEqual({ event: "ack", data: { method: "pod_event" }, reply_to: "p9" });
    // The run took exactly its one text segment, nothing from __proto__; then the report's turn ran.
    const userMessage = await connection.log.waitFor((event) => event.event === "user_message", { from, label: "user_message of the proto run" });
    expect(userMessage).toEqual({ event: "user_message", data: { segments: textInput("proto run") } });
    const runs = await connection.log.waitFor(
      (() => {
        let ends = 0;
        return (event: Event) => event.event === "run_end" && ++ends === 2;
      })(),
      { from, label: "run_end of the proto run and of the report's turn" },
    );
    expect(runs).toEqual({ event: "run_end", data: { result: "finished" } });
    await connection.log.waitFor((event) => event.event === "status" && event.data.status === "idle", { from: connection.log.events.indexOf(runs), label: "idle after them" });

    // Were Object.prototype polluted with message/input/kind/content, these would be taken.
    const probes = await send(
      connection,
      [line({ method: "notify", params: {}, id: "probe-1" }), line({ method: "run", params: {}, id: "probe-2" }), line({ method: "run", params: { input: [{}] }, id: "probe-3" })],
      "probe-marker",
    );
    expect(replies(probes).map(errorMessage)).toEqual([
      "invalid_request: invalid method: notify: params.message: Invalid input: expected string, received undefined",
      "invalid_request: invalid method: run: params.input: Invalid input: expected array, received undefined",
      expect.stringMatching(/^invalid_request: invalid method: run: params\.input\[0\]/),
    ]);
    const { session } = await expectPodStillServes(ctx, "hello after __proto__");
    const text = JSON.stringify(session.entries);
    // "__proto__" is there only as data (the report's pod name), never as a key.
    expect(text).not.toMatch(/FROM-PROTO|"__proto__":|"constructor":|"prototype":|passwd/);
    expect(loggedNotifications()).toContain("PROTO-OK");
    expect(userInputTexts(session)).toContain("proto run");
    // The report was queued once (its repeat was the same report_id), and reached the model in its own words.
    const reports = session.entries.filter((entry) => entry.kind === "system_item" && entry.item.kind === "pod_event");
    expect(reports).toHaveLength(1);
  });

  it("answers a method sent 10,000 times at once, each exactly once: list_completions (by id), and run while a run holds (in order, already_running)", async () => {
    fs.mkdirSync(path.join(ctx.pod.home, "flood-dir"), { recursive: true });
    const count = 10_000;
    const completions: string[] = [];
    let allAnswered!: () => void;
    const answeredAll = new Promise<void>((resolve) => (allAnswered = resolve));
    const connection = await connect({
      onLine: (text) => {
        if (!text.startsWith('{"event":"completions"')) return true;
        const event = JSON.parse(text) as { data: { entries: { value: string }[] }; reply_to: string };
        completions.push(`${event.reply_to}:${event.data.entries.map((entry) => entry.value).join(",")}`);
        if (completions.length === count) allAnswered();
        return false;
      },
    });
    const burst = (make: (index: number) => unknown): string => Array.from({ length: count }, (_, index) => line(make(index))).join("");
    const startedAt = Date.now();
    await connection.write(burst((index) => ({ method: "list_completions", params: { kind: "file", prefix: "flood-" }, id: `c${index}` })));
    // Each answered once (they need I/O, so they may come in any order; each carries its id).
    await within(answeredAll, 10_000, `${count} completions`);
    const answered = [...completions].sort();
    expect(answered).toEqual(Array.from({ length: count }, (_, index) => `c${index}:flood-dir/`).sort());
    const completionsMs = Date.now() - startedAt;

    // A run held at a gate, then 10,000 more runs: each refused with already_running, in order.
    expect(await connection.write(line({ method: "notify", params: { message: FLOOD_MARKER, wake: false }, id: "flood-note" }))).toBeUndefined();
    const runFrom = connection.log.events.length;
    await connection.write(line({ method: "run", params: { input: textInput("FLOOD-HOLD") }, id: "flood-hold" }));
    await connection.log.waitFor((event) => event.event === "text_delta", { from: runFrom, label: "the held run streaming" });
    const burstFrom = connection.log.events.length;
    const runsAt = Date.now();
    await connection.write(burst((index) => ({ method: "run", params: { input: textInput(`FLOOD-${index}`) }, id: `r${index}` })));
    const last = await connection.log.waitFor(isReplyTo(`r${count - 1}`), { from: burstFrom, label: "reply to the last of 10,000 runs" });
    const runsMs = Date.now() - runsAt;
    const refusals = connection.log.events.slice(burstFrom, connection.log.events.indexOf(last) + 1).filter((event) => event.reply_to?.toString().startsWith("r"));
    expect(refusals.map((event) => event.reply_to)).toEqual(Array.from({ length: count }, (_, index) => `r${index}`));
    expect(refusals.every((event) => event.event === "error" && event.data.code === "already_running")).toBe(true);
    fs.writeFileSync(floodGate, "");
    const end = await connection.log.waitFor((event) => event.event === "run_end", { from: runFrom, label: "run_end of the held run" });
    expect(end).toEqual({ event: "run_end", data: { result: "finished" } });
    console.log(`hostile: 10,000 list_completions answered in ${completionsMs} ms, 10,000 runs refused in ${runsMs} ms`);

    const { session } = await expectPodStillServes(ctx, "hello after 10,000 of a method");
    const inputs = userInputTexts(session);
    expect(inputs.filter((text) => text.startsWith("FLOOD"))).toEqual(["FLOOD-HOLD"]);
  });
  it("processes a valid 7.9 MiB line (CRLF-terminated, multi-byte text) exactly, takes a line of exactly 8 MiB, and refuses 8 MiB + 1 byte", async () => {
    const rssBefore = residentBytes(ctx.pod.pid) ?? 0;
    const connection = await connect();
    const envelope = (content: string, id: string): string => JSON.stringify({ method: "run", params: { input: textInput(content) }, id });
    // 7.9 MiB of line, in bytes: "é" is two bytes, so characters and bytes differ.
    const targetBytes = Math.floor(7.9 * MiB);
    const unit = "é-big-line ";
    const overhead = Buffer.byteLength(envelope("", "big")) + 1; // + the CR
    let content = unit.repeat(Math.floor((targetBytes - overhead) / Buffer.byteLength(unit)));
    content += "x".repeat(targetBytes - overhead - Buffer.byteLength(content));
    const bigLine = `${envelope(content, "big")}\r`;
    expect(Buffer.byteLength(bigLine)).toBe(targetBytes);
    const from = connection.log.events.length;
    const otherFrom = ctx.other.log.events.length;
    await connection.write(`${bigLine}\n`);
    expect(await connection.log.waitFor(isReplyTo("big"), { from, label: "ack of the 7.9 MiB run" })).toEqual({ event: "ack", data: { method: "run" }, reply_to: "big" });
    const end = await connection.log.waitFor((event) => event.event === "run_end", { from, label: "run_end of the 7.9 MiB run" });
    expect(end).toEqual({ event: "run_end", data: { result: "finished" } });
    await ctx.other.log.waitFor((event) => event.event === "run_end", { from: otherFrom, label: "the other client's run_end of the 7.9 MiB run" });
    // Every client got the user_message with the text exactly as sent, and so did the session log.
    // (Compared as booleans and lengths: a failure must not print 8 MB.)
    const bigMessages = (log: typeof connection.log): { exact: boolean; chars: number }[] =>
      log.named("user_message").flatMap((event) => {
        const text = event.data.segments.map((segment) => ("content" in segment ? segment.content : "")).join("");
        return text.length > MiB ? [{ exact: event.data.segments.length === 1 && text === content, chars: text.length }] : [];
      });
    expect(bigMessages(connection.log)).toEqual([{ exact: true, chars: content.length }]);
    expect(bigMessages(ctx.other.log)).toEqual([{ exact: true, chars: content.length }]);
    const bigInputs = userInputTexts(readSessionFiles(ctx.pod.home)).filter((text) => text.length > MiB);
    expect(bigInputs.map((text) => text === content)).toEqual([true]);
    // A new client's snapshot carries it too (its line is over 8 MiB: the cap is on what the pod reads, not what it sends).
    const late = await connect();
    const snapshot = late.log.named("snapshot")[0];
    const inSnapshot = snapshot?.data.entries.filter((entry) => entry.kind === "user_input" && entry.segments[0]?.kind === "text" && entry.segments[0].content.length > MiB);
    expect(inSnapshot?.map((entry) => entry.kind === "user_input" && entry.segments[0]?.kind === "text" && entry.segments[0].content === content)).toEqual([true]);

    // The cap is on the line's bytes without its newline: exactly 8 MiB is read and decoded (here
    // its params are wrong, so it is refused by the schema, not the framing); one byte more is not.
    const atCap = (extraBytes: number, id: string): string => {
      const head = `{"method":"notify","params":{"message":42,"pad":"`;
      const tail = `"},"id":"${id}"}`;
      return `${head}${"p".repeat(LINE_CAP_BYTES + extraBytes - head.length - tail.length)}${tail}`;
    };
    expect(Buffer.byteLength(atCap(0, "cap"))).toBe(LINE_CAP_BYTES);
    const capFrom = connection.log.events.length;
    await connection.write(`${atCap(0, "cap")}\n`);
    const capReply = await connection.log.waitFor(isReplyTo("cap"), { from: capFrom, label: "reply to the 8 MiB line" });
    expect(errorMessage(capReply)).toBe("invalid_request: invalid method: notify: params.message: Invalid input: expected string, received number");
    const over = await connect({ allowHalfOpen: true });
    await over.write(`${atCap(1, "over")}\n`);
    const overReply = await over.log.waitFor((event) => event.event === "error", { label: "error for 8 MiB + 1" });
    expect(errorMessage(overReply)).toBe(`invalid_request: invalid method: line too long (over ${LINE_CAP_BYTES} bytes); closing the connection`);
    await over.peerEnded;
    over.socket.end();
    await over.closed;
    expect(connection.socket.destroyed).toBe(false);

    // Nothing of the lines is held once they are dealt with (RSS before vs after, with room for the session's 8 MiB entry and GC timing).
    const rssAfter = residentBytes(ctx.pod.pid) ?? 0;
    expect(rssAfter - rssBefore, `pod RSS ${rssBefore} → ${rssAfter} bytes`).toBeLessThan(200 * MiB);
    await expectPodStillServes(ctx, "hello after the 7.9 MiB line");
  });
});
