/**
 * Load (issue 11, part 5), through real Unix sockets against one real pod process: 200 clients
 * attach while a turn streams and 50 clients send `notify` in a tight bounded loop during the
 * run. Every reader's live stream must be exactly the tail of what a client connected from the
 * start saw (same lines, same order), its snapshot must join that stream exactly (its in-flight
 * text is the open block's deltas before it), no notification may be lost or duplicated (each is
 * acked once and is one `system_item` in the session log, in each sender's order), and the
 * pod's RSS must come back to within 10% of its idle value once the clients have left.
 *
 * The same round runs twice on the same pod: the first is the warm-up (V8 compiles the hot
 * paths, its heap and the allocator grow to what this load needs), after which the idle RSS is
 * measured; the second is measured against it. "Idle" and "after" are both taken the same way:
 * every client has closed (the pod's memory report counts its connections), then the pod's
 * memory report (src/pod/memory-report.ts, SIGUSR2: a full collection first) and VmRSS from
 * /proc. Nothing waits on a timer: gates (files) hold the model call at exact points, and every
 * wait is on an event, a file or a socket.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import {
  cleanupBadInput,
  connectDigest,
  digestLines,
  peakResidentBytes,
  RawConnection,
  readSessionFiles,
  requestMemoryReport,
  residentBytes,
  within,
  type StreamDigest,
} from "../helpers/bad-input-support.js";
import { cleanupAll, startPod, tempHome, type PodProcess } from "../helpers/pod-process.js";

const READERS = 200;
const NOTIFIERS = 50;
const NOTES_PER_NOTIFIER = 40;
const ROUNDS = 2;
const MiB = 1024 * 1024;

const marker = (round: number): string => `[load-round-${round}]`;
const endMarker = (round: number): string => `END-OF-ROUND-${round}`;
const chunks = (label: string, count: number): string[] => Array.from({ length: count }, (_, index) => `${label}${String(index).padStart(4, "0")} `);
const blocks = (round: number) => ({ a: chunks(`a${round}-`, 200), b: chunks(`b${round}-`, 400), c: chunks(`c${round}-`, 200) });
const gates = (dir: string, round: number) => ({ first: path.join(dir, `round-${round}-gate-1`), second: path.join(dir, `round-${round}-gate-2`) });

/**
 * Each round's run: block a (held open at gate 1 after its last delta), block b (held at gate
 * 2), a tool call, then block c. Bound by `when` to the round's marker note, so the
 * notification turns that follow a run never take the next round's responses (they get the
 * scripted model's "no responses left" note and finish).
 */
function scenario(dir: string) {
  const builder = script();
  for (let round = 1; round <= ROUNDS; round += 1) {
    const { a, b, c } = blocks(round);
    const gate = gates(dir, round);
    builder
      .when(marker(round))
      .text(a.join(""), { chunks: a, gate: gate.first })
      .text(b.join(""), { chunks: b, gate: gate.second })
      .toolCall("list_files", { path: "." })
      .finish()
      .when(marker(round))
      .text(c.join(""), { chunks: c })
      .finish();
  }
  return builder.build();
}

/**
 * The client connected from the start. `raw` and `events` are the broadcast stream after its
 * snapshot, index for index: its own replies (`reply_to`: acks of its requests) are left out,
 * since no other client gets them.
 */
interface Observer {
  connection: RawConnection;
  readonly raw: string[];
  readonly events: Event[];
}

/** The message of a notification system item (event or log entry), or undefined for any other item. */
function notificationMessage(item: { kind: string; message?: unknown }): string | undefined {
  return item.kind === "notification" && typeof item.message === "string" ? item.message : undefined;
}

let pod: PodProcess;
let observer: Observer;
let nextId = 1;
const measured: { idle?: number; idleHeap?: number; during: number[]; peak?: number; after?: number; afterHeap?: number } = { during: [] };

async function request(method: Record<string, unknown>): Promise<Event> {
  const id = `obs-${nextId++}`;
  const from = observer.connection.log.events.length;
  await observer.connection.write(`${JSON.stringify({ ...method, id })}\n`);
  return observer.connection.log.waitFor((event) => event.reply_to === id, { from, label: `reply to ${id}` });
}

async function connectObserver(): Promise<Observer> {
  const raw: string[] = [];
  let seenSnapshot = false;
  const connection = await RawConnection.connect(pod.socket, {
    onLine: (text) => {
      if (seenSnapshot) raw.push(text);
      else seenSnapshot = text.startsWith('{"event":"snapshot"');
      return true;
    },
  });
  await connection.log.waitFor((event) => event.event === "snapshot", { label: "observer's snapshot" });
  const all = connection.log.events;
  const afterSnapshot = (): Event[] => all.slice(all.findIndex((event) => event.event === "snapshot") + 1);
  return {
    connection,
    get raw() {
      const events = afterSnapshot();
      return raw.filter((_, index) => events[index]?.reply_to === undefined);
    },
    get events() {
      return afterSnapshot().filter((event) => event.reply_to === undefined);
    },
  };
}

/** The open text block's deltas before stream position `at` of the observer's events ("" when none is open), or undefined when no model call is open. */
function expectedInFlightText(events: readonly Event[], at: number): string | undefined {
  let text: string | undefined;
  for (const event of events.slice(0, at)) {
    if (event.event === "llm_call_start") text = "";
    else if (event.event === "llm_call_end") text = undefined;
    else if (event.event === "text_done" && text !== undefined) text = "";
    else if (event.event === "text_delta" && text !== undefined) text += event.data.text;
  }
  return text;
}

interface Notifier {
  connection: RawConnection;
  acks: number;
  errors: string[];
  allAcked: Promise<void>;
}

async function connectNotifier(round: number, index: number): Promise<Notifier> {
  let resolveAcked!: () => void;
  const notifier: Notifier = { connection: undefined as unknown as RawConnection, acks: 0, errors: [], allAcked: new Promise((resolve) => (resolveAcked = resolve)) };
  const ackPrefix = '{"event":"ack"';
  const ownId = `"reply_to":"n-${round}-${index}-`;
  notifier.connection = await RawConnection.connect(pod.socket, {
    onLine: (text) => {
      // Only what is addressed to this notifier is looked at; the broadcast stream is read and dropped.
      if (!text.includes(ownId)) return text.startsWith('{"event":"snapshot"');
      if (text.startsWith(ackPrefix)) {
        notifier.acks += 1;
        if (notifier.acks === NOTES_PER_NOTIFIER) resolveAcked();
      } else notifier.errors.push(text.slice(0, 300));
      return false;
    },
  });
  void notifier.connection.closed.then(() => resolveAcked());
  await notifier.connection.log.waitFor((event) => event.event === "snapshot", { label: `notifier ${index}'s snapshot` });
  return notifier;
}

/** A tight bounded loop: every notify written at once (no waiting for acks between them). */
function sendNotes(notifier: Notifier, round: number, index: number): void {
  for (let note = 0; note < NOTES_PER_NOTIFIER; note += 1) {
    const line = { method: "notify", params: { message: `load-${round}-${index}-${note}` }, id: `n-${round}-${index}-${note}` };
    void notifier.connection.write(`${JSON.stringify(line)}\n`);
  }
}

interface RoundResult {
  readers: { connection: RawConnection; digest: StreamDigest; group: 1 | 2 }[];
  notifiers: Notifier[];
  /** Observer's line count up to and including the end marker's user_message. */
  endAt: number;
}

/** One round: the run streams while readers attach and notifiers notify; ends with a marker run every reader stops at. */
async function runRound(round: number): Promise<RoundResult> {
  const { a } = blocks(round);
  const gate = gates(pod.home, round);
  const from = observer.connection.log.events.length;
  expect(await request({ method: "notify", params: { message: marker(round), wake: false } })).toMatchObject({ event: "ack" });
  expect(await request({ method: "run", params: { input: [{ kind: "text", content: `round ${round}` }] } })).toMatchObject({ event: "ack" });
  const lastA = a.at(-1);
  await observer.connection.log.waitFor((event) => event.event === "text_delta" && event.data.text === lastA, { from, label: "the last delta of block a" });

  // Group 1 attaches while the call is held at gate 1 (the turn is streaming: block a is open).
  const group1 = await Promise.all(Array.from({ length: READERS / 2 }, () => connectDigest(pod.socket, endMarker(round))));
  await within(Promise.all(group1.map(({ digest }) => digest.snapshotReceived)), 10_000, "group 1's snapshots");
  const notifiers = await Promise.all(Array.from({ length: NOTIFIERS }, (_, index) => connectNotifier(round, index)));
  notifiers.forEach((notifier, index) => sendNotes(notifier, round, index));
  // Block b streams while group 2 attaches and the notes arrive.
  fs.writeFileSync(gate.first, "");
  const group2 = await Promise.all(Array.from({ length: READERS / 2 }, () => connectDigest(pod.socket, endMarker(round))));
  await within(Promise.all(group2.map(({ digest }) => digest.snapshotReceived)), 10_000, "group 2's snapshots");
  measured.during.push(residentBytes(pod.pid) ?? 0);
  fs.writeFileSync(gate.second, "");

  await within(Promise.all(notifiers.map((notifier) => notifier.allAcked)), 10_000, "every notifier's acks");
  for (const notifier of notifiers) {
    expect(notifier.errors).toEqual([]);
    expect(notifier.acks).toBe(NOTES_PER_NOTIFIER);
  }
  // Every note drained (each becomes one system_item), and the pod idle after the turn that took the last one.
  const total = NOTIFIERS * NOTES_PER_NOTIFIER;
  let drained = 0;
  await observer.connection.log.waitFor(
    (event) => {
      if (event.event === "system_item" && notificationMessage(event.data.item)?.startsWith(`load-${round}-`)) drained += 1;
      return drained === total && event.event === "status" && event.data.status === "idle";
    },
    { from, label: `all ${total} notes drained and the pod idle` },
  );
  measured.during.push(residentBytes(pod.pid) ?? 0);
  const endFrom = observer.connection.log.events.length;
  expect(await request({ method: "run", params: { input: [{ kind: "text", content: endMarker(round) }] } })).toMatchObject({ event: "ack" });
  await observer.connection.log.waitFor((event) => event.event === "run_end", { from: endFrom, label: "run_end of the end-marker run" });
  const readers = [...group1.map((reader) => ({ ...reader, group: 1 as const })), ...group2.map((reader) => ({ ...reader, group: 2 as const }))];
  await within(Promise.all(readers.map(({ digest }) => digest.ended)), 10_000, "every reader reaching the end marker");
  const endAt = observer.raw.findIndex((text) => text.startsWith('{"event":"user_message"') && text.includes(endMarker(round))) + 1;
  expect(endAt).toBeGreaterThan(0);
  return { readers, notifiers, endAt };
}

function checkStreams(round: number, { readers, endAt }: RoundResult): void {
  const events = observer.events;
  const raw = observer.raw;
  expect(observer.connection.undecodable).toEqual([]);
  const tailDigests = new Map<number, string>();
  const tailDigest = (count: number): string => {
    let digest = tailDigests.get(count);
    if (digest === undefined) {
      digest = digestLines(raw.slice(endAt - count, endAt));
      tailDigests.set(count, digest);
    }
    return digest;
  };
  const problems: string[] = [];
  const group1Counts = new Set<number>();
  readers.forEach(({ digest, group }, index) => {
    const count = digest.lines;
    if (group === 1) group1Counts.add(count);
    if (count <= 0 || count > endAt) return problems.push(`reader ${index}: ${count} lines (the observer has ${endAt})`);
    if (digest.digest() !== tailDigest(count)) problems.push(`reader ${index} (group ${group}): its ${count} lines are not the observer's last ${count}`);
    // The snapshot joins the stream: its in-flight text is exactly the open block's deltas before that point.
    const at = endAt - count;
    const expected = expectedInFlightText(events, at);
    const inFlight = digest.snapshot?.data.in_flight;
    if (expected === undefined ? inFlight !== undefined : inFlight?.text !== expected) {
      problems.push(`reader ${index} (group ${group}): in_flight ${JSON.stringify(inFlight?.text?.slice(0, 40))} at line ${at}, expected ${JSON.stringify(expected?.slice(0, 40))}`);
    }
  });
  expect(problems).toEqual([]);
  // Group 1 attached while the call was held: all of them saw the very same stream, from block a's end.
  expect([...group1Counts]).toHaveLength(1);
  const { a } = blocks(round);
  expect(readers[0]?.digest.snapshot?.data.in_flight?.text).toBe(a.join(""));
}

function checkNotesInSessionLog(round: number): void {
  const session = readSessionFiles(pod.home);
  expect(session.problems).toEqual([]);
  const ofRound = (message: string | undefined): string[] => (message?.startsWith(`load-${round}-`) ? [message] : []);
  const messages = session.entries.flatMap((entry) => (entry.kind === "system_item" ? ofRound(notificationMessage(entry.item)) : []));
  expect(messages).toHaveLength(NOTIFIERS * NOTES_PER_NOTIFIER);
  expect(new Set(messages).size).toBe(messages.length);
  for (let index = 0; index < NOTIFIERS; index += 1) {
    const own = messages.filter((message) => message.startsWith(`load-${round}-${index}-`));
    expect(own).toEqual(Array.from({ length: NOTES_PER_NOTIFIER }, (_, note) => `load-${round}-${index}-${note}`));
  }
  // The observer saw the same notifications in the same order as the log holds them.
  const seen = observer.events.flatMap((event) => (event.event === "system_item" ? ofRound(notificationMessage(event.data.item)) : []));
  expect(seen).toEqual(messages);
}

/** Close every client of the round, each fully (the pod has read its end and closed its side). */
async function leave({ readers, notifiers }: RoundResult): Promise<void> {
  await Promise.all([...readers, ...notifiers].map(({ connection }) => connection.end()));
}

/** Memory once only the observer is connected: the pod's report (after a full collection) and VmRSS. */
async function settledMemory(): Promise<{ rss: number; heapUsed: number }> {
  const report = await requestMemoryReport(pod);
  expect(report.collected).toBe(true);
  expect(report.connections).toBe(1);
  const rss = residentBytes(pod.pid);
  expect(rss).toBeDefined();
  return { rss: rss ?? 0, heapUsed: report.heap_used_bytes };
}

// The rounds build on each other (round 1 warms up and measures idle, round 2 runs on its session,
// the last test compares the RSS): kept in order under `vitest --sequence.shuffle` too.
describe("load", { shuffle: false }, () => {
  beforeAll(async () => {
    const home = tempHome();
    pod = await startPod({ home, scenario: scenario(home.home) });
    observer = await connectObserver();
  });

  afterAll(async () => {
    cleanupBadInput();
    await cleanupAll();
  });

  /** A round, its checks, then every client of it leaves and the pod's memory is measured. */
  async function roundAndLeave(round: number): Promise<{ rss: number; heapUsed: number }> {
    const result = await runRound(round);
    checkStreams(round, result);
    checkNotesInSessionLog(round);
    await leave(result);
    return settledMemory();
  }

  it("round 1 (the warm-up): 200 readers attached while a turn streams get the same ordered stream while 50 clients notify; no note is lost or duplicated", async () => {
    const idle = await roundAndLeave(1);
    measured.idle = idle.rss;
    measured.idleHeap = idle.heapUsed;
  });

  it("round 2, on the session round 1 left: the same, again", async () => {
    const after = await roundAndLeave(2);
    measured.after = after.rss;
    measured.afterHeap = after.heapUsed;
    measured.peak = peakResidentBytes(pod.pid);
  });

  it("the pod's RSS once round 2's clients left is within 10% of its idle RSS after round 1", () => {
    const { idle, after } = measured;
    expect(idle, "idle RSS (round 1 measures it)").toBeDefined();
    expect(after, "RSS after round 2 (round 2 measures it)").toBeDefined();
    const mb = (bytes: number | undefined): string => (bytes === undefined ? "?" : `${(bytes / MiB).toFixed(1)} MiB`);
    const summary = `idle ${mb(idle)} (heap ${mb(measured.idleHeap)}), during ${measured.during.map(mb).join(" / ")}, peak ${mb(measured.peak)}, after ${mb(after)} (heap ${mb(measured.afterHeap)})`;
    console.log(`load: pod RSS ${summary}`);
    expect(after ?? Infinity, summary).toBeLessThanOrEqual((idle ?? 0) * 1.1);
  });
});
