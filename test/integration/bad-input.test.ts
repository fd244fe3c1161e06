/**
 * Bad input on the socket (wire-protocol.md, Framing): every case goes through real sockets to
 * a real pod process, and each one checks three things besides the case itself:
 *   - the bad input gets a clear `error{invalid_request}` on that connection only, or that
 *     client alone is dropped;
 *   - the pod keeps serving others: a client connected before the bad input runs a normal turn
 *     afterwards and gets `run_end{finished}` (and never sees the other client's errors);
 *   - the pod's session files stay valid JSONL (every line a LogEntry).
 * The slow-client cases also check the other side of dropping: a client that keeps reading is
 * never dropped.
 */
import { afterEach, describe, expect, it } from "vitest";
import { decodeMethod } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import {
  cleanupBadInput,
  clientPeer,
  connectRecorded,
  expectPodStillServes,
  isReplyTo,
  line,
  normalTurn,
  RawConnection,
  rawPeer,
  residentBytes,
  seededRandom,
  textInput,
  userInputTexts,
  userTexts,
  type EventLog,
  type ServingSetup,
} from "../helpers/bad-input-support.js";
import { cleanupAll, startPod, type PodProcess } from "../helpers/pod-process.js";

afterEach(async () => {
  cleanupBadInput();
  await cleanupAll();
});

const MiB = 1024 * 1024;

interface Recorded {
  client: PodClient;
  log: EventLog;
}

/** An `onLine` hook that checks text_delta lines against `chunks`, in order, without recording them. */
function countDeltas(chunks: readonly string[]): { onLine(text: string): boolean; count: number; inOrder: boolean } {
  const state = {
    count: 0,
    inOrder: true,
    onLine(text: string): boolean {
      if (!text.startsWith('{"event":"text_delta"')) return true;
      const event = JSON.parse(text) as { data: { text: string } };
      if (event.data.text !== chunks[state.count]) state.inOrder = false;
      state.count++;
      return false;
    },
  };
  return state;
}

async function setup(scenario?: ScenarioInput): Promise<ServingSetup> {
  const pod = await startPod({ scenario });
  const other = await connectRecorded(pod.socket);
  await other.log.waitFor((event) => event.event === "snapshot", { label: "other client's snapshot" });
  return { pod, other: clientPeer(other) };
}

async function connectWithSnapshot(pod: PodProcess): Promise<Recorded> {
  const recorded = await connectRecorded(pod.socket);
  await recorded.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
  return recorded;
}

describe("bad input on the socket", () => {
  it("answers a non-JSON line with error{invalid_request} on that connection only, and keeps it open", async () => {
    const ctx = await setup();
    const bad = await connectWithSnapshot(ctx.pod);
    bad.client.writeRaw("this is not json {\n");
    const error = await bad.log.waitFor((event) => event.event === "error", { label: "error for the non-JSON line" });
    expect(error).toMatchObject({ event: "error", data: { code: "invalid_request" } });
    expect(error.reply_to).toBeUndefined();
    expect(error.event === "error" && error.data.message).toMatch(/^invalid method: not JSON/);
    // The same connection is still open and served: a valid method with an id gets its ack.
    const ack = await bad.client.request({ method: "notify", params: { message: "still here", wake: false } });
    expect(ack).toMatchObject({ event: "ack", data: { method: "notify" } });
    expect(bad.client.isOpen).toBe(true);
    expect(bad.log.named("error")).toHaveLength(1);

    const { turn } = await expectPodStillServes(ctx, "hello after a non-JSON line");
    // The queued notification from the bad client's connection reached the model in that turn.
    expect(JSON.stringify(turn.filter((event) => event.event === "system_item"))).toContain("still here");
  });

  it("answers an unknown method with an error carrying its id and naming the method", async () => {
    const ctx = await setup();
    const bad = await connectWithSnapshot(ctx.pod);
    bad.client.writeRaw(line({ method: "frobnicate", id: "x1" }));
    bad.client.writeRaw(line({ method: "frobnicate" }));
    const withId = await bad.log.waitFor(isReplyTo("x1"), { label: "reply to x1" });
    expect(withId).toMatchObject({ event: "error", reply_to: "x1", data: { code: "invalid_request" } });
    expect(withId.event === "error" && withId.data.message).toContain('unknown method "frobnicate"');
    const withoutId = await bad.log.waitFor((event) => event.event === "error" && event.reply_to === undefined, { label: "error without id" });
    expect(withoutId.event === "error" && withoutId.data.message).toContain("unknown method");
    const ack = await bad.client.request({ method: "notify", params: { message: "after frobnicate", wake: false } });
    expect(ack.event).toBe("ack");
    await expectPodStillServes(ctx, "hello after an unknown method");
  });

  it("answers wrong parameter types with an error naming the field, and starts nothing", async () => {
    const ctx = await setup();
    const bad = await connectWithSnapshot(ctx.pod);
    const cases: { id: string; method: unknown; field: string }[] = [
      { id: "r1", method: { method: "run", params: { input: "hello" } }, field: "params.input" },
      { id: "r2", method: { method: "run", params: { input: [{ kind: "text", content: 5 }] } }, field: "params.input[0].content" },
      { id: "r3", method: { method: "run" }, field: "params" },
      { id: "n1", method: { method: "notify", params: { message: 42 } }, field: "params.message" },
      {
        id: "w1",
        method: { method: "rewind_to", params: { target: { segment_id: "s", user_input_entry_index: -1 }, expected_head_entries: 1 } },
        field: "params.target.user_input_entry_index",
      },
      { id: "l1", method: { method: "list_completions", params: { kind: "file", prefix: 7 } }, field: "params.prefix" },
    ];
    bad.client.writeRaw(cases.map(({ id, method }) => line({ ...(method as object), id })).join(""));
    for (const { id, method, field } of cases) {
      const error = await bad.log.waitFor(isReplyTo(id), { label: `reply to ${id}` });
      expect(error, id).toMatchObject({ event: "error", reply_to: id, data: { code: "invalid_request" } });
      const message = error.event === "error" ? error.data.message : "";
      expect(message, id).toContain(`${(method as { method: string }).method}: ${field}:`);
    }
    expect(bad.log.named("error")).toHaveLength(cases.length);
    const ack = await bad.client.request({ method: "notify", params: { message: "after wrong types", wake: false } });
    expect(ack.event).toBe("ack");

    const { session } = await expectPodStillServes(ctx, "hello after wrong types");
    expect(userTexts(ctx.other.log)).toEqual(["hello after wrong types"]);
    expect(userInputTexts(session)).toEqual(["hello after wrong types"]);
  });

  it("refuses a 20 MiB line with 'line too long', closes that connection, acts on nothing after it, and holds no copy", async () => {
    const ctx = await setup();
    const rssBefore = residentBytes(ctx.pod.pid);
    // Half-open allowed on our side, so we can show what the pod does with bytes sent after its refusal.
    const bad = await RawConnection.connect(ctx.pod.socket, { allowHalfOpen: true });
    await bad.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });

    const big = Buffer.alloc(20 * MiB, 0x61);
    const writing = (async () => {
      for (let offset = 0; offset < big.length; offset += MiB) {
        const error = await bad.write(big.subarray(offset, offset + MiB));
        if (error) return error;
      }
      return undefined;
    })();
    const error = await bad.log.waitFor((event) => event.event === "error", { timeoutMs: 15_000, label: "line-too-long error" });
    expect(error).toMatchObject({ event: "error", data: { code: "invalid_request" } });
    expect(error.event === "error" && error.data.message).toMatch(/line too long/);
    // The pod closes the connection (we read its end of stream; we have not ended ours).
    await bad.peerEnded;
    expect(bad.socket.writableEnded).toBe(false);
    await writing;
    // All 20 MiB are sent (or refused) and no newline yet: the pod must not be holding them.
    const rssDuring = residentBytes(ctx.pod.pid);
    if (rssDuring !== undefined) expect(rssDuring, `pod RSS ${rssBefore} → ${rssDuring} bytes`).toBeLessThan(200 * MiB);

    // Now the newline, then a valid method. The pod said it closes this connection, so it must
    // not act on anything that follows: no ack, and the notification never reaches the model.
    await bad.write(`\n${line({ method: "notify", params: { message: "LATE-AFTER-TOO-LONG", wake: false }, id: "late" })}`);
    bad.socket.end();
    await bad.closed;
    expect(bad.log.events.filter(isReplyTo("late"))).toEqual([]);
    expect(bad.log.named("error")).toHaveLength(1);

    const { turn, session } = await expectPodStillServes(ctx, "hello after a 20 MiB line");
    const actedOn = "the pod acted on a method sent after it refused the over-long line and said it was closing the connection";
    expect(JSON.stringify(turn), actedOn).not.toContain("LATE-AFTER-TOO-LONG");
    expect(JSON.stringify(session.entries), actedOn).not.toContain("LATE-AFTER-TOO-LONG");
    expect(JSON.stringify(session.entries)).not.toContain("a".repeat(1024));
  });

  it("answers 10,000 lines of random bytes with exactly one error per non-blank line, and survives", async () => {
    const ctx = await setup();
    const bad = await connectWithSnapshot(ctx.pod);
    const random = seededRandom(0x5eed);
    const lines: Buffer[] = [];
    for (let index = 0; index < 10_000; index++) {
      if (index % 97 === 0) {
        // Some blank and whitespace-only lines, which the pod must skip silently.
        lines.push(Buffer.from(["", " ", "\t", "\r", "  \r"][index % 5] as string));
        continue;
      }
      const bytes = Buffer.alloc(Math.floor(random() * 160));
      for (let at = 0; at < bytes.length; at++) {
        let byte = Math.floor(random() * 256);
        while (byte === 0x0a) byte = Math.floor(random() * 256);
        bytes[at] = byte;
      }
      lines.push(bytes);
    }
    const payload = Buffer.concat(lines.flatMap((bytes) => [bytes, Buffer.from("\n")]));
    // Expected counts, computed the way the server decides: skip lines blank after trimming,
    // decode the rest with the same decodeMethod.
    let expectedErrors = 0;
    let expectedMethods = 0;
    for (const bytes of lines) {
      const text = bytes.toString("utf8");
      if (text.trim() === "") continue;
      if (decodeMethod(text).ok) expectedMethods++;
      else expectedErrors++;
    }
    expect(expectedMethods).toBe(0);
    expect(expectedErrors).toBeGreaterThan(9_800);

    // Large writes, cut at arbitrary points (not at line ends).
    for (let offset = 0; offset < payload.length; offset += 256 * 1024 + 17) bad.client.writeRaw(payload.subarray(offset, offset + 256 * 1024 + 17));
    // Replies on one connection keep their order: when the marker's ack arrives, every error is in.
    const ack = await bad.client.request({ method: "notify", params: { message: "after random bytes", wake: false } }, { timeoutMs: 15_000 });
    expect(ack.event).toBe("ack");
    const errors = bad.log.named("error");
    expect(errors.length).toBe(expectedErrors);
    expect(errors.every((event) => event.data.code === "invalid_request" && event.data.message.startsWith("invalid method:"))).toBe(true);
    expect(bad.client.isOpen).toBe(true);

    await expectPodStillServes(ctx, "hello after random bytes");
  });

  it("drops a client that never reads while 100,000 text deltas stream, and a reading client gets them all", async () => {
    // 100,000 deltas of 100 characters (~14 MB of events) and their text_done (~10 MB): past the
    // pod's 16 MiB cap on a client's unsent output. ("x " deltas would total only ~4.4 MB and
    // never reach the cap.)
    const chunks = Array.from({ length: 100_000 }, (_, index) => `${String(index).padStart(6, "0")}${"x".repeat(93)} `);
    const full = chunks.join("");
    // A 1 s stall window (the default is 5 s) keeps the test short; the reader never gets near the cap.
    const pod = await startPod({ scenario: script().text(full, { chunks }).finish().build(), env: { PODD_CLIENT_STALL_MS: "1000" } });
    // The slow client connects first; the pod accepts in order, so once the reader has its
    // snapshot the slow client is a live connection too.
    const slow = await RawConnection.connect(pod.socket, { paused: true });
    // The reader checks each delta as it arrives, without keeping it (so it keeps up with the pod).
    const deltas = countDeltas(chunks);
    const reader = await RawConnection.connect(pod.socket, { onLine: deltas.onLine });
    await reader.log.waitFor((event) => event.event === "snapshot", { label: "reader's snapshot" });
    const readerPeer = rawPeer(reader);

    const turn = await normalTurn(readerPeer, "stream a lot", { timeoutMs: 15_000 });
    expect(deltas.count).toBe(100_000);
    expect(deltas.inOrder).toBe(true);
    const done = turn.filter((event) => event.event === "text_done");
    expect(done).toHaveLength(1);
    expect(done[0]?.event === "text_done" && done[0].data.text === full).toBe(true);

    const alert = await reader.log.waitFor((event) => event.event === "alert" && event.data.source === "pod" && event.data.message.startsWith("ipc: "), { label: "ipc alert" });
    expect(alert.event === "alert" && alert.data.message).toMatch(/dropped/);

    // The slow client was dropped: once it reads, it gets what was already in the kernel
    // buffer, then end of stream, not the rest of the turn.
    slow.startReading();
    await slow.closed;
    expect(slow.peerEndedAt).toBeDefined();
    expect(slow.log.named("run_end")).toEqual([]);
    expect(slow.log.named("text_delta").length).toBeLessThan(100_000);
    expect(slow.log.events[0]?.event).toBe("snapshot");

    // The reader was not dropped, and the pod still serves it (the scenario is exhausted: the
    // scripted model replies with its note).
    expect(reader.socket.destroyed).toBe(false);
    await expectPodStillServes({ pod, other: readerPeer }, "hello after the flood");
  });

  it("keeps a reading client connected when one event (a 17 MiB text_done) is larger than the queue cap", async () => {
    // 18,000 deltas of 1,000 characters, which a reader keeps up with; the block's text_done
    // then carries all 18 MB at once.
    const chunks = Array.from({ length: 18_000 }, (_, index) => `${String(index).padStart(6, "0")}${"y".repeat(993)} `);
    const full = chunks.join("");
    expect(full.length).toBeGreaterThan(17 * MiB);
    const pod = await startPod({ scenario: script().text(full, { chunks }).finish().build() });
    const deltas = countDeltas(chunks);
    const reader = await RawConnection.connect(pod.socket, { onLine: deltas.onLine });
    await reader.log.waitFor((event) => event.event === "snapshot", { label: "reader's snapshot" });
    const readerPeer = rawPeer(reader);
    const turn = await normalTurn(readerPeer, "one big block", { timeoutMs: 15_000 }).catch((error: unknown) => {
      throw new Error(`the pod dropped a client that was reading (${deltas.count} of 18,000 deltas received): ${String(error)}`);
    });
    expect(deltas.count).toBe(18_000);
    expect(turn.some((event) => event.event === "text_done" && event.data.text.length === full.length)).toBe(true);
    expect(reader.log.named("alert")).toEqual([]);
    await expectPodStillServes({ pod, other: readerPeer }, "hello after the big block");
  });

  it("ignores half lines from clients that disconnect abruptly", async () => {
    const ctx = await setup();
    // 1. Half a JSON line, then the socket is destroyed.
    const half = await RawConnection.connect(ctx.pod.socket);
    await half.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
    expect(await half.write('{"method":"run","params":{"inp')).toBeUndefined();
    half.socket.destroy();
    await half.closed;
    // 2. A whole valid method with no newline: not a line, so never acted on.
    const unterminated = await RawConnection.connect(ctx.pod.socket);
    await unterminated.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
    expect(await unterminated.write(JSON.stringify({ method: "run", params: { input: textInput("NO-NEWLINE") } }))).toBeUndefined();
    unterminated.socket.destroy();
    await unterminated.closed;
    // 3. A full line then half of another in one write; the full one is acted on (its ack comes
    //    back, and by then the pod holds the half line too), then the socket is destroyed.
    const mixed = await RawConnection.connect(ctx.pod.socket);
    await mixed.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
    const fullLine = line({ method: "notify", params: { message: "FULL-LINE-NOTE", wake: false }, id: "full" });
    expect(await mixed.write(`${fullLine}{"method":"run","params":{"input":[{"kind":"text","content":"HALF-LINE"`)).toBeUndefined();
    expect(await mixed.log.waitFor(isReplyTo("full"), { label: "ack of the full line" })).toMatchObject({ event: "ack" });
    mixed.socket.destroy();
    await mixed.closed;
    // 4. A new connection starting with the rest of someone else's half line gets an error:
    //    nothing is carried over between connections.
    const rest = await RawConnection.connect(ctx.pod.socket);
    await rest.log.waitFor((event) => event.event === "snapshot", { label: "snapshot" });
    await rest.write(`ut":${JSON.stringify(textInput("SPLICED"))}}}\n`);
    const restError = await rest.log.waitFor((event) => event.event === "error", { label: "error for the spliced rest" });
    expect(restError).toMatchObject({ event: "error", data: { code: "invalid_request" } });
    for (const connection of [half, unterminated, mixed]) expect(connection.log.named("error")).toEqual([]);

    const { turn, session } = await expectPodStillServes(ctx, "hello after abrupt disconnects");
    // The full line was acted on: its notification reached the model in this turn.
    expect(JSON.stringify(turn.filter((event) => event.event === "system_item"))).toContain("FULL-LINE-NOTE");
    // No run ever started from a half line or an unterminated one.
    expect(userTexts(ctx.other.log)).toEqual(["hello after abrupt disconnects"]);
    expect(userInputTexts(session)).toEqual(["hello after abrupt disconnects"]);
    expect(JSON.stringify(session.entries)).not.toMatch(/HALF-LINE|NO-NEWLINE|SPLICED/);
  });

  it("skips blank lines, accepts CRLF line endings, and refuses JSON that is not an object", async () => {
    const ctx = await setup();
    const client = await connectWithSnapshot(ctx.pod);

    // Blank and whitespace-only lines: no reply at all.
    client.client.writeRaw("\n\n   \n\t\n\r\n \r\n");
    const afterBlanks = await client.client.request({ method: "notify", params: { message: "after blanks", wake: false } });
    expect(afterBlanks.event).toBe("ack");
    expect(client.log.named("error")).toEqual([]);

    // CRLF line endings: a notify and a whole run.
    client.client.writeRaw(`${JSON.stringify({ method: "notify", params: { message: "crlf note", wake: false }, id: "crlf-1" })}\r\n`);
    expect(await client.log.waitFor(isReplyTo("crlf-1"), { label: "ack of the CRLF notify" })).toMatchObject({ event: "ack", data: { method: "notify" } });
    const from = client.log.events.length;
    client.client.writeRaw(`${JSON.stringify({ method: "run", params: { input: textInput("crlf run") }, id: "crlf-2" })}\r\n`);
    expect(await client.log.waitFor(isReplyTo("crlf-2"), { label: "ack of the CRLF run" })).toMatchObject({ event: "ack", data: { method: "run" } });
    const crlfEnd = await client.log.waitFor((event) => event.event === "run_end", { from, label: "run_end of the CRLF run" });
    expect(crlfEnd).toEqual({ event: "run_end", data: { result: "finished" } });
    expect(client.log.named("error")).toEqual([]);

    // JSON that is not an object: one error each, and the connection stays open.
    const notObjects = ["[1,2]", '"str"', "42", "null", "true", '[{"method":"shutdown"}]'];
    client.client.writeRaw(notObjects.map((text) => `${text}\n`).join(""));
    const afterNotObjects = await client.client.request({ method: "notify", params: { message: "after non-objects", wake: false } });
    expect(afterNotObjects.event).toBe("ack");
    const errors = client.log.named("error");
    expect(errors).toHaveLength(notObjects.length);
    for (const error of errors) {
      expect(error.data.code).toBe("invalid_request");
      expect(error.data.message).toMatch(/expected a JSON object/);
    }

    const { session } = await expectPodStillServes(ctx, "hello after blanks and CRLF");
    expect(userTexts(ctx.other.log)).toEqual(["crlf run", "hello after blanks and CRLF"]);
    expect(userInputTexts(session)).toEqual(["crlf run", "hello after blanks and CRLF"]);
  });
});
