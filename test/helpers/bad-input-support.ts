/**
 * Helpers for the socket tests (test/integration/bad-input.test.ts, hostile-lines.test.ts,
 * load.test.ts): an event recorder that waits without consuming (so a test can assert on
 * everything a connection saw), a raw socket client that can write arbitrary bytes, stop
 * reading, or keep its side half-open, a stream digest for many readers, a seeded PRNG, and
 * readers for the pod's session files and memory.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect } from "vitest";
import { decodeEvent, LineDecoder, LogEntry, type Event, type EventOf, type Segment } from "../../protocol/index.js";
import { PodClient } from "../../src/client/pod-client.js";
import type { MemoryReport } from "../../src/pod/memory-report.js";
import type { PodProcess } from "./pod-process.js";
import { seededRandom } from "./seeded-random.js";
import { waitForFile } from "./wait-for-file.js";

export { seededRandom };

const cleanups: (() => void)[] = [];

/** Destroy every socket these helpers opened; call from afterEach (before the harness's cleanup). */
export function cleanupBadInput(): void {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
}

interface Watcher {
  from: number;
  match(event: Event): boolean;
  resolve(event: Event | undefined): void;
}

/** Every event a connection received, in order; waits look at them without consuming them. */
export class EventLog {
  readonly events: Event[] = [];
  private watchers: Watcher[] = [];
  private closedReason: string | undefined;

  push(event: Event): void {
    const index = this.events.push(event) - 1;
    this.watchers = this.watchers.filter((watcher) => {
      if (index < watcher.from || !watcher.match(event)) return true;
      watcher.resolve(event);
      return false;
    });
  }

  /** The connection is gone: pending waits fail at once (instead of running into their timeout). */
  close(reason: string): void {
    this.closedReason = reason;
    for (const watcher of this.watchers.splice(0)) watcher.resolve(undefined);
  }

  /** The first event at index >= `from` that matches (already received or still to come). */
  async waitFor(match: (event: Event) => boolean, options: { from?: number; timeoutMs?: number; label?: string } = {}): Promise<Event> {
    const from = options.from ?? 0;
    const found = this.events.slice(from).find(match);
    if (found) return found;
    const label = options.label ?? "a matching event";
    if (this.closedReason !== undefined) throw new Error(`${label}: connection already closed (${this.closedReason})`);
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const event = await new Promise<Event | undefined>((resolve) => {
      const watcher: Watcher = { from, match, resolve };
      this.watchers.push(watcher);
      timer = setTimeout(() => {
        this.watchers = this.watchers.filter((other) => other !== watcher);
        resolve(undefined);
      }, timeoutMs);
    });
    clearTimeout(timer);
    if (!event) {
      const seen = this.events.slice(from).map((each) => each.event);
      const tail = seen.length > 20 ? [...seen.slice(0, 10), "…", ...seen.slice(-10)] : seen;
      const why = this.closedReason !== undefined ? `connection closed (${this.closedReason})` : `timed out after ${timeoutMs} ms`;
      throw new Error(`${label}: ${why}; saw ${seen.length} events: ${tail.join(", ")}`);
    }
    return event;
  }

  named<Name extends Event["event"]>(name: Name): Extract<Event, { event: Name }>[] {
    return this.events.filter((event): event is Extract<Event, { event: Name }> => event.event === name);
  }
}

/** A connection that can send a line and has its events recorded. */
export interface Peer {
  log: EventLog;
  writeLine(text: string): void;
}

/** A pod and its well-behaved client, connected (snapshot received) before any bad input. */
export interface ServingSetup {
  pod: PodProcess;
  other: Peer;
}

export function clientPeer(recorded: { client: PodClient; log: EventLog }): Peer {
  return { log: recorded.log, writeLine: (text) => recorded.client.writeRaw(text) };
}

export function rawPeer(connection: RawConnection): Peer {
  return { log: connection.log, writeLine: (text) => void connection.write(text) };
}

export function textInput(content: string): Segment[] {
  return [{ kind: "text", content }];
}

/** One JSON line (with its newline). */
export function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export function isReplyTo(id: string) {
  return (event: Event): boolean => event.reply_to === id;
}

/** Contents of the text segments of every user_message a log holds. */
export function userTexts(log: EventLog): string[] {
  return log.named("user_message").map((event) => event.data.segments.map((segment) => ("content" in segment ? segment.content : `<${segment.kind}>`)).join(""));
}

/** Contents of the text segments of every user_input entry of the session files. */
export function userInputTexts(session: ReturnType<typeof readSessionFiles>): string[] {
  return session.entries.flatMap((entry) =>
    entry.kind === "user_input" ? [entry.segments.map((segment) => ("content" in segment ? segment.content : `<${segment.kind}>`)).join("")] : [],
  );
}

let nextTurnId = 1;

/** Run one normal turn on `peer`; asserts its ack, run_end{finished}, and that the turn's only user_message is ours. */
export async function normalTurn(peer: Peer, text: string, options: { timeoutMs?: number } = {}): Promise<Event[]> {
  const { log } = peer;
  const from = log.events.length;
  const id = `turn-${nextTurnId++}`;
  peer.writeLine(line({ method: "run", params: { input: textInput(text) }, id }));
  const ack = await log.waitFor(isReplyTo(id), { from, label: `reply to the run "${text}"` });
  expect(ack).toMatchObject({ event: "ack", data: { method: "run" } });
  // The ack comes before the run's events and after every event sent before it: an earlier run's
  // run_end that this peer had not read yet when it sent the run is not taken for this one.
  const acked = log.events.indexOf(ack);
  const end = await log.waitFor((event) => event.event === "run_end", { from: acked, timeoutMs: options.timeoutMs ?? 10_000, label: `run_end of "${text}"` });
  expect(end).toEqual({ event: "run_end", data: { result: "finished" } });
  const turn = log.events.slice(acked, log.events.indexOf(end) + 1);
  const userMessages = turn.filter((event) => event.event === "user_message");
  expect(userMessages).toEqual([{ event: "user_message", data: { segments: textInput(text) } }]);
  return turn;
}

/**
 * The common ending of every bad-input case: the pod process is alive, the other client runs a
 * normal turn, never saw an error, and the session files are valid JSONL.
 */
export async function expectPodStillServes({ pod, other }: ServingSetup, text: string): Promise<{ turn: Event[]; session: ReturnType<typeof readSessionFiles> }> {
  const turn = await normalTurn(other, text);
  expect(pod.child.exitCode).toBeNull();
  expect(pod.child.signalCode).toBeNull();
  expect(other.log.named("error")).toEqual([]);
  const session = readSessionFiles(pod.home);
  expect(session.problems).toEqual([]);
  expect(session.files.length).toBeGreaterThan(0);
  expect(session.entries[0]?.kind).toBe("segment_start");
  return { turn, session };
}

/** A PodClient (no backlog) whose every event is recorded in `log`; destroyed on cleanup. */
export async function connectRecorded(socketPath: string): Promise<{ client: PodClient; log: EventLog }> {
  const client = await PodClient.connect(socketPath, { buffer: false });
  cleanups.push(() => client.destroy());
  const log = new EventLog();
  client.onEvent((event) => log.push(event));
  void client.closed.then(() => log.close("closed"));
  return { client, log };
}

/**
 * A raw client socket. `paused` never reads until `startReading()` (a client that stopped
 * reading); `allowHalfOpen` keeps our side writable after the pod ends its side; `onLine`
 * sees every line first and returns false to skip decoding and recording it (a fast reader).
 */
export class RawConnection {
  readonly socket: net.Socket;
  readonly log = new EventLog();
  /** Lines that did not decode as an event. */
  readonly undecodable: string[] = [];
  bytesReceived = 0;
  /** Resolves when the pod ended its side (we read its FIN); only while reading. */
  readonly peerEnded: Promise<void>;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  peerEndedAt: number | undefined;
  private readonly decoder = new LineDecoder({ maxLineBytes: 256 * 1024 * 1024 });
  private readonly onLine: ((text: string) => boolean) | undefined;
  private reading = false;

  private constructor(socket: net.Socket, onLine: ((text: string) => boolean) | undefined) {
    this.socket = socket;
    this.onLine = onLine;
    socket.on("error", () => undefined);
    this.peerEnded = new Promise((resolve) =>
      socket.once("end", () => {
        this.peerEndedAt = Date.now();
        resolve();
      }),
    );
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.log.close("socket closed");
        resolve();
      }),
    );
  }

  static connect(
    socketPath: string,
    options: { paused?: boolean; allowHalfOpen?: boolean; onLine?: (text: string) => boolean } = {},
  ): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: socketPath, allowHalfOpen: options.allowHalfOpen ?? false });
      if (options.paused) socket.pause();
      const connection = new RawConnection(socket, options.onLine);
      cleanups.push(() => socket.destroy());
      socket.once("connect", () => {
        if (!options.paused) connection.startReading();
        resolve(connection);
      });
      socket.once("error", reject);
    });
  }

  /** Start (or resume) reading and decoding the pod's events. */
  startReading(): void {
    if (!this.reading) {
      this.reading = true;
      this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    }
    this.socket.resume();
  }

  /** End our side and resolve once the socket is fully closed (the pod read our end and closed its side). */
  end(): Promise<void> {
    this.socket.end();
    return this.closed;
  }

  /** Write bytes; resolves once they are handed to the kernel, with the write error if any. */
  write(data: string | Buffer): Promise<Error | undefined> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) {
        resolve(new Error("socket not writable"));
        return;
      }
      this.socket.write(data, (error) => resolve(error ?? undefined));
    });
  }

  private receive(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    for (const decoded of this.decoder.push(chunk)) {
      if (decoded.kind !== "line") continue;
      if (this.onLine && !this.onLine(decoded.text)) continue;
      const result = decodeEvent(decoded.text);
      if (result.ok) this.log.push(result.value);
      else this.undecodable.push(decoded.text.slice(0, 200));
    }
  }
}

/**
 * Every line of every session file under `<home>/sessions/*\/*.jsonl`, each checked to be
 * JSON and a LogEntry. `problems` lists what is wrong (empty when all is valid).
 */
export function readSessionFiles(home: string): { files: string[]; entries: LogEntry[]; problems: string[] } {
  const sessionsDir = path.join(home, "sessions");
  const files: string[] = [];
  const entries: LogEntry[] = [];
  const problems: string[] = [];
  const sessions = fs.existsSync(sessionsDir) ? fs.readdirSync(sessionsDir, { withFileTypes: true }) : [];
  for (const session of sessions) {
    if (!session.isDirectory()) continue;
    for (const name of fs.readdirSync(path.join(sessionsDir, session.name))) {
      if (!name.endsWith(".jsonl")) continue;
      const file = path.join(sessionsDir, session.name, name);
      files.push(file);
      const text = fs.readFileSync(file, "utf8");
      if (text !== "" && !text.endsWith("\n")) problems.push(`${file}: last line is not terminated`);
      const lines = text.split("\n");
      if (lines.at(-1) === "") lines.pop();
      lines.forEach((line, index) => {
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch (error) {
          problems.push(`${file}:${index + 1}: not JSON (${(error as Error).message}): ${line.slice(0, 120)}`);
          return;
        }
        const parsed = LogEntry.safeParse(json);
        if (parsed.success) entries.push(parsed.data);
        else problems.push(`${file}:${index + 1}: not a LogEntry (${parsed.error.message.slice(0, 300)}): ${line.slice(0, 120)}`);
      });
    }
  }
  return { files, entries, problems };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined where unavailable. */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident set size of a process so far in bytes (Linux /proc VmHWM), or undefined where unavailable. */
export function peakResidentBytes(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ask a pod for its memory report (src/pod/memory-report.ts: SIGUSR2 → a full garbage
 * collection → `<runtime>/<name>/memory.json`) and wait for the file, without polling.
 */
export async function requestMemoryReport(pod: { pid: number; runtime: string; name: string }, timeoutMs = 10_000): Promise<MemoryReport> {
  const file = path.join(pod.runtime, pod.name, "memory.json");
  fs.rmSync(file, { force: true });
  const written = waitForFile(file, timeoutMs);
  process.kill(pod.pid, "SIGUSR2");
  await written;
  return JSON.parse(fs.readFileSync(file, "utf8")) as MemoryReport;
}

/** `promise`, or an Error naming `label` if it has not settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SHA-256 (hex) of lines as a StreamDigest hashes them: each line's text and a newline. */
export function digestLines(lines: readonly string[]): string {
  const hash = createHash("sha256");
  for (const text of lines) hash.update(text).update("\n");
  return hash.digest("hex");
}

/**
 * One reader of many, kept small: its snapshot (decoded), then a SHA-256 and a count of every
 * line after the snapshot up to and including the first that contains `endMarker`; nothing
 * else is decoded or kept. Give `onLine` to RawConnection.connect (see connectDigest).
 */
export class StreamDigest {
  snapshot: EventOf<"snapshot"> | undefined;
  /** Lines after the snapshot (alerts replayed before it are not counted). */
  lines = 0;
  /** Resolves with the snapshot; rejects if the connection closes first. */
  readonly snapshotReceived: Promise<EventOf<"snapshot">>;
  /** Resolves once the end marker's line arrived; rejects if the connection closes first. */
  readonly ended: Promise<void>;
  private readonly endMarker: string;
  private readonly hash = createHash("sha256");
  private isEnded = false;
  private resolveSnapshot!: (snapshot: EventOf<"snapshot">) => void;
  private resolveEnded!: () => void;
  private rejectAll!: (error: Error) => void;

  constructor(endMarker: string) {
    this.endMarker = endMarker;
    let rejectSnapshot!: (error: Error) => void;
    let rejectEnded!: (error: Error) => void;
    this.snapshotReceived = new Promise((resolve, reject) => {
      this.resolveSnapshot = resolve;
      rejectSnapshot = reject;
    });
    this.ended = new Promise((resolve, reject) => {
      this.resolveEnded = resolve;
      rejectEnded = reject;
    });
    // Not every test awaits both: an unobserved rejection must not fail the run.
    this.snapshotReceived.catch(() => undefined);
    this.ended.catch(() => undefined);
    this.rejectAll = (error) => {
      rejectSnapshot(error);
      rejectEnded(error);
    };
  }

  readonly onLine = (text: string): boolean => {
    if (!this.snapshot) {
      if (text.startsWith('{"event":"snapshot"')) {
        const decoded = decodeEvent(text);
        if (!decoded.ok || decoded.value.event !== "snapshot") throw new Error(`undecodable snapshot: ${text.slice(0, 200)}`);
        this.snapshot = decoded.value;
        this.resolveSnapshot(decoded.value);
      }
      return false;
    }
    if (this.isEnded) return false;
    this.hash.update(text).update("\n");
    this.lines += 1;
    if (text.includes(this.endMarker)) {
      this.isEnded = true;
      this.resolveEnded();
    }
    return false;
  };

  /** The connection is gone: waits that have not resolved fail. */
  close(reason: string): void {
    this.rejectAll(new Error(`connection closed before ${this.snapshot ? `the end marker ${this.endMarker}` : "its snapshot"}: ${reason}`));
  }

  /** The digest of the counted lines (call once, after `ended`). */
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** A RawConnection whose lines go into a StreamDigest (closed on cleanup, like every RawConnection). */
export async function connectDigest(socketPath: string, endMarker: string): Promise<{ connection: RawConnection; digest: StreamDigest }> {
  const digest = new StreamDigest(endMarker);
  const connection = await RawConnection.connect(socketPath, { onLine: digest.onLine });
  void connection.closed.then(() => digest.close("socket closed"));
  return { connection, digest };
}
