/**
 * Helpers for test/integration/bad-input.test.ts: an event recorder that waits without
 * consuming (so a test can assert on everything a connection saw), a raw socket client that
 * can write arbitrary bytes, stop reading, or keep its side half-open, a seeded PRNG, and
 * readers for the pod's session files and memory.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { decodeEvent, LineDecoder, LogEntry, type Event } from "../../protocol/index.js";
import { PodClient } from "../../src/client/pod-client.js";
import { seededRandom } from "./seeded-random.js";

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
