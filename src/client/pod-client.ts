/**
 * The socket client used by the CLI, the terminal UI, scripts' helpers, tests and pod tools.
 * Connects to a pod's socket, decodes its event lines (bounded, like the server), and offers
 * three ways to consume them: `onEvent` listeners, `waitFor` (the events are kept in order
 * and consumed by the waits), and `request`, which sends a method with an `id` and resolves
 * with its `ack` or reply, or rejects with its `error` (correlated by `reply_to`).
 */
import net from "node:net";
import { decodeEvent, encodeLine, LineDecoder, type ErrorCode, type Event, type EventName, type EventOf, type Method } from "../../protocol/index.js";

/** Inbound cap for a client: snapshots of big sessions are large, so 256 MiB. */
export const CLIENT_MAX_LINE_BYTES = 256 * 1024 * 1024;

/** A method was refused by the pod (`error` event with our `reply_to`). */
export class PodRequestError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "PodRequestError";
    this.code = code;
  }
}

/**
 * A method got no reply within its time limit. The pod may still act on it later (it was
 * written to the socket: a stopped or overloaded pod reads it when it runs again), so a caller
 * must not assume it was refused.
 */
export class RequestTimeoutError extends Error {
  readonly method: Method["method"];
  readonly timeoutMs: number;
  constructor(method: Method["method"], timeoutMs: number) {
    super(`no reply to ${method} within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

type Waiter = { match(event: Event): boolean; resolve(event: Event): void; reject(error: Error): void; timer?: NodeJS.Timeout };

export class PodClient {
  readonly socketPath: string;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  private readonly decoder = new LineDecoder({ maxLineBytes: CLIENT_MAX_LINE_BYTES });
  private readonly backlog: Event[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly listeners = new Set<(event: Event, line: string) => void>();
  private readonly pendingRequests = new Map<string, { resolve(event: Event): void; reject(error: Error): void }>();
  private nextId = 1;
  private isClosed = false;
  private lastError: string | undefined;
  /** Lines that did not decode as a known event (a newer pod), kept for diagnostics. */
  readonly invalidLines: string[] = [];

  private readonly buffer: boolean;

  private constructor(socketPath: string, socket: net.Socket, buffer: boolean) {
    this.socketPath = socketPath;
    this.socket = socket;
    this.buffer = buffer;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.isClosed = true;
        const error = new Error(`connection to ${socketPath} closed${this.closeReason()}`);
        for (const waiter of this.waiters.splice(0)) {
          if (waiter.timer) clearTimeout(waiter.timer);
          waiter.reject(error);
        }
        for (const pending of this.pendingRequests.values()) pending.reject(error);
        this.pendingRequests.clear();
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  /**
   * Connect; rejects with a readable error (its `code` the connect errno: ENOENT, ECONNREFUSED,
   * EACCES …) when nothing listens on the socket or it is not ours to open. `buffer: false`
   * keeps no backlog (for clients that only use `onEvent` / `request`).
   */
  static connect(socketPath: string, options: { timeoutMs?: number; buffer?: boolean } = {}): Promise<PodClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out connecting to ${socketPath}`));
      }, options.timeoutMs ?? 5_000);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new PodClient(socketPath, socket, options.buffer ?? true));
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const reason =
          error.code === "ENOENT" || error.code === "ECONNREFUSED"
            ? "no pod is listening there"
            : error.code === "EACCES"
              ? "permission denied (a pod's socket is open to its own user only)"
              : error.message;
        reject(Object.assign(new Error(`cannot connect to ${socketPath}: ${reason}`), { code: error.code }));
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Send a method as is (no id added). */
  send(method: Method): void {
    this.socket.write(encodeLine(method));
  }

  /** Send raw bytes (for scripts bridging stdin, and tests of bad input). */
  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /**
   * Send a method with a fresh `id`; resolves with the first event carrying that
   * `reply_to` (an `ack` or a reply such as `completions`), rejects with PodRequestError on
   * an `error`, and with RequestTimeoutError after `timeoutMs` (10 s) without a reply. The reply is not passed on to waits (listeners still see it).
   */
  request(method: Method, options: { timeoutMs?: number } = {}): Promise<Event> {
    if (this.isClosed) return Promise.reject(new Error(`connection to ${this.socketPath} is closed`));
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRequests.delete(id);
        reject(new RequestTimeoutError(method.method, options.timeoutMs ?? 10_000));
      }, options.timeoutMs ?? 10_000);
      this.pendingRequests.set(id, {
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(encodeLine({ ...method, id }));
    });
  }

  /** Listen to every event (with its raw line). Returns an unsubscribe function. */
  onEvent(listener: (event: Event, line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Wait for the next event with this name (and matching `where`), consuming the events
   * before it. Rejects after `timeoutMs` naming what arrived instead.
   */
  waitFor<Name extends EventName>(
    name: Name,
    options: { where?: (event: EventOf<Name>) => boolean; timeoutMs?: number } = {},
  ): Promise<EventOf<Name>> {
    const match = (event: Event): boolean => event.event === name && (!options.where || options.where(event as EventOf<Name>));
    return this.waitForEvent(match, name, options.timeoutMs) as Promise<EventOf<Name>>;
  }

  /** Take the events received and not yet consumed by a wait, oldest first. */
  drain(): Event[] {
    return this.backlog.splice(0);
  }

  /** Collect events until (and including) the first one named `until`, or the first one `until` accepts. */
  async collectUntil(until: EventName | ((event: Event) => boolean), options: { timeoutMs?: number } = {}): Promise<Event[]> {
    const seen: Event[] = [];
    const matches = typeof until === "string" ? (event: Event) => event.event === until : until;
    const label = typeof until === "string" ? until : "a matching event";
    await this.waitForEvent(
      (event) => {
        seen.push(event);
        return matches(event);
      },
      label,
      options.timeoutMs,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; saw ${seen.map((event) => event.event).join(",") || "nothing"}`);
    });
    return seen;
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitForEvent(match: (event: Event) => boolean, label: string, timeoutMs = 10_000): Promise<Event> {
    while (this.backlog.length > 0) {
      const event = this.backlog.shift() as Event;
      if (match(event)) return Promise.resolve(event);
    }
    if (this.isClosed) return Promise.reject(new Error(`connection closed while waiting for ${label}${this.closeReason()}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private receive(chunk: Buffer): void {
    for (const decoded of this.decoder.push(chunk)) {
      if (decoded.kind === "too_long") continue;
      const result = decodeEvent(decoded.text);
      if (!result.ok) {
        if (this.invalidLines.length < 100) this.invalidLines.push(decoded.text.slice(0, 2000));
        continue;
      }
      this.dispatch(result.value, decoded.text);
    }
  }

  /** `: <message>` when the last event before the close was an `error` that answered no request (why the pod closed: a refused peer, a line too long), or "". */
  private closeReason(): string {
    return this.lastError === undefined ? "" : `: ${this.lastError}`;
  }

  private dispatch(event: Event, line: string): void {
    for (const listener of this.listeners) listener(event, line);
    const answersRequest = event.reply_to !== undefined && this.pendingRequests.has(String(event.reply_to));
    this.lastError = event.event === "error" && !answersRequest ? event.data.message : undefined;
    const replyTo = event.reply_to;
    if (replyTo !== undefined) {
      const pending = this.pendingRequests.get(String(replyTo));
      if (pending) {
        this.pendingRequests.delete(String(replyTo));
        if (event.event === "error") pending.reject(new PodRequestError(event.data.code, event.data.message));
        else pending.resolve(event);
        return;
      }
    }
    const waiter = this.waiters[0];
    if (waiter) {
      if (waiter.match(event)) {
        this.waiters.shift();
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
      return;
    }
    if (this.buffer) this.backlog.push(event);
  }
}
