/**
 * The pod's socket server: binds `<runtime>/<name>/sock` (0600), and for every connection
 * runs the handshake — replay alerts, then the snapshot, then live events — as one ordered
 * stream. It talks to the controller only through its handle (submit a method, subscribe to
 * events, take a snapshot).
 *
 * Inbound: every line is bounded (`maxLineBytes`, 8 MiB default) and validated; a bad line
 * (not UTF-8, not JSON, nested too deep, a repeated key, not a known method with valid params)
 * gets one `error{invalid_request}` on that connection only and the connection stays open;
 * a line over the cap gets the error and the connection is closed (wire-protocol.md). A client
 * whose unsent replies and events pass INPUT_PAUSE_BYTES is not read from until they drain.
 * Outbound: each event is encoded once and queued to every client (src/ipc/outbound-queue.ts:
 * batched per event-loop turn, written in bounded chunks). A client that stopped reading is
 * dropped with an alert once its unsent bytes pass `maxQueueBytes` and its socket has taken
 * nothing for `STALL_MS`, or at once past `HARD_CAP_FACTOR × maxQueueBytes`; a slow but
 * reading client, or one large event, is not a reason to drop. The pod and the other clients
 * carry on.
 * Peers: before the handshake the connecting process's uid is read (SO_PEERCRED:
 * src/ipc/peer-credentials.ts); a peer that is neither the pod's user nor root gets one
 * `error{invalid_request, "ipc: connection refused: …"}` line and the connection is closed —
 * it never sees an alert or the snapshot. The refusal is logged; the first one of each uid is
 * also an alert for the pod's own clients.
 */
import fs from "node:fs";
import net from "node:net";
import type { Logger } from "pino";
import { decodeMethod, encodeLine, LineDecoder, DEFAULT_MAX_LINE_BYTES, referenceForm, type Event, type RequestId } from "../../protocol/index.js";
import { socketAnswers } from "../client/pod-directory.js";
import { positiveIntegerFromEnv } from "../config/env-number.js";
import { PoddError } from "../errors.js";
import type { PodController } from "../pod/controller.js";
import type { Requester } from "../pod/controller-deps.js";
import { DEFAULT_MAX_QUEUE_BYTES, OutboundQueue, STALL_MS } from "./outbound-queue.js";
import { loadPeerCredentials, peerRefusal, type PeerCredentialReader, type PeerCredentials } from "./peer-credentials.js";
import { SnapshotEncoder } from "./snapshot-encoder.js";


/** On close, how long a client gets to take its last events and hang up before it is cut off, ms. */
export const END_TIMEOUT_MS = 1_000;
/**
 * Inbound backpressure: past this many bytes unsent to a client, the pod stops reading that
 * client's input until they are down to INPUT_RESUME_BYTES, so a client that sends requests
 * faster than it takes the replies (a flood of bad lines, each answered with an error) is
 * slowed to its own reading speed instead of piling replies up until it is dropped.
 */
export const INPUT_PAUSE_BYTES = 1024 * 1024;
/** Unsent bytes at or below which a paused client's input is read again. */
export const INPUT_RESUME_BYTES = 256 * 1024;

/** `PODD_CLIENT_STALL_MS` (a positive whole number of ms) sets `stallMs`; anything else is ignored and STALL_MS used. */
export function clientStallMsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  return positiveIntegerFromEnv(env, "PODD_CLIENT_STALL_MS");
}

export interface SocketServerOptions {
  socketPath: string;
  controller: PodController;
  logger: Logger;
  maxLineBytes?: number;
  maxQueueBytes?: number;
  /** How long a client over `maxQueueBytes` may go without taking a write before it is dropped, ms (default STALL_MS). */
  stallMs?: number;
  /** Reads a connection's peer credentials (default: src/ipc/peer-credentials.ts for this platform); `false`: do not check. */
  peerCredentials?: PeerCredentialReader | false;
}

export class SocketServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly options: Required<SocketServerOptions>;
  private nextConnectionId = 1;
  private unsubscribe: (() => void) | undefined;
  /** Peer uids refused so far: the first refusal of each raises an alert, every one is logged. */
  private readonly refusedUids = new Set<number>();
  private readonly ownUid = process.geteuid?.() ?? 0;
  /** Encodes each new connection's snapshot; connections share the encoding of the entries. */
  private readonly snapshots = new SnapshotEncoder();

  private constructor(options: SocketServerOptions & { peerCredentials: PeerCredentialReader | false }) {
    this.options = { maxLineBytes: DEFAULT_MAX_LINE_BYTES, maxQueueBytes: DEFAULT_MAX_QUEUE_BYTES, stallMs: STALL_MS, ...options };
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /**
   * Bind the socket. A socket file left by a dead pod (connect refused) is replaced; a live
   * one means the name is taken, and anything else at the path (a symlink) is not touched:
   * both throw PoddError(invalid_request). When peer credentials cannot be read on this
   * platform the pod still listens, with an alert (the file modes still keep others out).
   */
  static async listen(options: SocketServerOptions): Promise<SocketServer> {
    let peerCredentials = options.peerCredentials;
    if (peerCredentials === undefined) {
      const loaded = await loadPeerCredentials();
      peerCredentials = loaded.read ?? false;
      if (loaded.problem) {
        options.controller.alert("warn", "ipc", `ipc: the uid of connecting processes is not checked: ${loaded.problem}; only the socket's file modes keep other users out`);
      }
    }
    const server = new SocketServer({ ...options, peerCredentials });
    await bindSocket(server.server, options.socketPath);
    server.unsubscribe = options.controller.subscribe((event) => server.broadcast(event));
    return server;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stop accepting, flush and end every connection (each bounded by END_TIMEOUT_MS), unlink the socket. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.connections].map((connection) => connection.end()));
    await stopped;
    fs.rmSync(this.options.socketPath, { force: true });
  }

  private broadcast(event: Event): void {
    if (this.connections.size === 0) return;
    // Encoded once (twice when it has podd-extension fields); every client's queue holds the same bytes.
    const line = Buffer.from(encodeLine(event), "utf8");
    const plain = referenceForm(event);
    const plainLine = plain === event ? line : Buffer.from(encodeLine(plain), "utf8");
    for (const connection of this.connections) connection.send(connection.optedIn ? line : plainLine);
  }

  private accept(socket: net.Socket): void {
    const { controller } = this.options;
    // Before the handshake: a refused peer sees neither the alerts nor the session.
    const refusal = this.peerRefusal(socket);
    if (refusal !== undefined) {
      refuseConnection(socket, refusal);
      return;
    }
    const connection = new Connection(this.nextConnectionId++, socket, this.options, {
      onDropped: (queuedBytes) => {
        this.connections.delete(connection);
        // Not inside the broadcast that found the client stalled: every client must see the alert after that event.
        setImmediate(() => controller.alert("warn", "ipc", `ipc: client ${connection.id} dropped: it stopped reading (${queuedBytes} bytes unsent)`));
      },
      onClosed: () => this.connections.delete(connection),
    });
    // Not opted in yet (it has sent nothing): the reference's form.
    for (const alert of controller.alertLog()) connection.send(Buffer.from(encodeLine(referenceForm({ event: "alert", data: alert })), "utf8"));
    // One line in two Buffers: the entries (shared with other connections) and the rest.
    for (const part of this.snapshots.encode(controller.snapshot())) connection.send(part);
    connection.startLiveAllowance();
    this.connections.add(connection);
  }

  /** Why this connection's peer may not connect (logged, and the first refusal of each uid alerted), or undefined. */
  private peerRefusal(socket: net.Socket): string | undefined {
    const read = this.options.peerCredentials;
    if (read === false) return undefined;
    const { logger, controller } = this.options;
    let peer: PeerCredentials;
    try {
      peer = read(socket);
    } catch (error) {
      logger.warn({ err: error }, "ipc: refused a connection whose peer credentials cannot be read");
      return `connection refused: the pod cannot read the connecting process's credentials (${(error as Error).message})`;
    }
    const refusal = peerRefusal(peer, this.ownUid);
    if (refusal === undefined) return undefined;
    logger.warn({ peer }, "ipc: refused a connection from another user");
    if (!this.refusedUids.has(peer.uid)) {
      this.refusedUids.add(peer.uid);
      controller.alert("warn", "ipc", `ipc: refused a connection from uid ${peer.uid}${peer.pid ? ` (pid ${peer.pid})` : ""}: only this pod's user and root may connect`);
    }
    return refusal;
  }
}

/**
 * Send a refused connection one `error{invalid_request}` line and half-close it; what it sends
 * is read and discarded until it hangs up, at most END_TIMEOUT_MS (destroying a socket with
 * unread input resets it, and the client could lose the error).
 */
function refuseConnection(socket: net.Socket, message: string): void {
  socket.on("error", () => undefined);
  socket.resume();
  socket.end(encodeLine({ event: "error", data: { code: "invalid_request", message: `ipc: ${message}` } }));
  setTimeout(() => socket.destroy(), END_TIMEOUT_MS).unref();
}

class Connection {
  readonly id: number;
  private readonly socket: net.Socket;
  private readonly decoder: LineDecoder;
  private readonly options: Required<SocketServerOptions>;
  private readonly outbound: OutboundQueue;
  private closed = false;
  /** Set once the connection was refused (over-long line): nothing more it sends is acted on. */
  private inputClosed = false;
  /** The client sent an `id` (docs/protocol.md, "Compatibility"): broadcasts carry podd's extension fields. */
  optedIn = false;
  /** Reading paused until the outbound queue drains (INPUT_PAUSE_BYTES). */
  private inputPaused = false;

  constructor(
    id: number,
    socket: net.Socket,
    options: Required<SocketServerOptions>,
    hooks: { onDropped(queuedBytes: number): void; onClosed(): void },
  ) {
    this.id = id;
    this.socket = socket;
    this.options = options;
    this.decoder = new LineDecoder({ maxLineBytes: options.maxLineBytes, checkUtf8: true });
    this.outbound = new OutboundQueue(socket, {
      maxQueueBytes: options.maxQueueBytes,
      stallMs: options.stallMs,
      onDropped: (queuedBytes) => {
        this.closed = true;
        hooks.onDropped(queuedBytes);
      },
    });
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => options.logger.debug({ err: error, connection: id }, "client socket error"));
    socket.on("close", () => {
      this.closed = true;
      this.outbound.stop();
      hooks.onClosed();
    });
  }

  /** After the handshake: the queue may grow by `maxQueueBytes` beyond what the handshake wrote. */
  startLiveAllowance(): void {
    this.outbound.startLiveAllowance();
  }

  /** Queue one encoded line, possibly shared with other connections (src/ipc/outbound-queue.ts: batched, bounded, a stalled reader dropped). */
  send(line: Buffer): void {
    if (!this.closed) this.outbound.push(line);
  }

  /**
   * Flush what is queued, then half-close; resolves when the socket is closed. A client that
   * does not read or hang up within END_TIMEOUT_MS is cut off, so it cannot hold a pod's exit.
   */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), END_TIMEOUT_MS);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.outbound.flushThen(() => this.socket.end());
    });
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.inputClosed) return;
    // Replies to the previous chunk's methods are queued by now (the controller answers in microtasks).
    this.throttleInput();
    this.decodeLines(chunk);
    this.throttleInput();
  }

  /**
   * Stop reading while more than INPUT_PAUSE_BYTES wait for this client, until at most
   * INPUT_RESUME_BYTES do. The kernel's socket buffer then fills and the client's own writes
   * wait: what the pod holds for one client stays bounded by one read chunk's replies.
   */
  private throttleInput(): void {
    if (this.inputPaused || this.closed || this.outbound.queuedBytes <= INPUT_PAUSE_BYTES) return;
    this.inputPaused = true;
    this.socket.pause();
    this.outbound.whenDrainedTo(INPUT_RESUME_BYTES, () => {
      this.inputPaused = false;
      if (!this.closed) this.socket.resume();
    });
  }

  private decodeLines(chunk: Buffer): void {
    for (const decoded of this.decoder.push(chunk)) {
      if (decoded.kind === "too_long") {
        this.inputClosed = true;
        const message = `invalid method: line too long (over ${decoded.limitBytes} bytes); closing the connection`;
        // In order after the replies to the lines before it; then half-close, and go on reading (and
        // discarding) until the client hangs up: destroying a socket with unread input resets it, and
        // the client could lose the error.
        const closeAfterError: Requester = {
          id: undefined,
          reply: (event) => {
            this.send(Buffer.from(encodeLine(event), "utf8"));
            this.outbound.flushThen(() => this.socket.end());
          },
        };
        this.options.controller.replyInOrder({ event: "error", data: { code: "invalid_request", message } }, closeAfterError);
        setTimeout(() => this.socket.destroy(), END_TIMEOUT_MS).unref();
        return;
      }
      const result = decodeMethod(decoded.text);
      // A client that sends an `id` is a podd client: from now on it also gets podd's extensions.
      if (result.id !== undefined) this.optedIn = true;
      if (decoded.invalidUtf8Offset !== undefined) {
        // Never acted on: U+FFFD in place of the client's bytes would change what it sent. The id, if any, is still answered.
        this.replyError(result.id, `invalid method: not UTF-8 (invalid byte sequence at byte ${decoded.invalidUtf8Offset} of the line)`);
        continue;
      }
      if (!result.ok) {
        this.replyError(result.id, result.message);
        continue;
      }
      this.options.controller.submit(result.value, this.requester(result.value.id));
    }
  }

  private requester(id: RequestId | undefined): Requester {
    return { id, reply: (event) => this.send(Buffer.from(encodeLine(event), "utf8")) };
  }

  /**
   * `error{invalid_request}` for a line that is not a method, after the replies to the methods
   * before it. Without an id the line is the same for the same message, so a flood of one kind of
   * bad line is answered with one shared Buffer (refusedLine) instead of one encoding per line.
   */
  private replyError(id: RequestId | undefined, message: string): void {
    const event = { event: "error", data: { code: "invalid_request", message }, reply_to: id } as const;
    const requester: Requester = id === undefined ? { id, reply: () => this.send(refusedLine(message)) } : this.requester(id);
    this.options.controller.replyInOrder(event, requester);
  }
}

/** Encoded `error{invalid_request, message}` lines without a reply_to, by message (at most REFUSED_LINE_CACHE of them). */
const refusedLines = new Map<string, Buffer>();
const REFUSED_LINE_CACHE = 64;
const REFUSED_MESSAGE_MAX_CHARS = 512;

/** The encoded refusal of a line without an id. The messages of a flood repeat ("not JSON (…)", "unknown method \"x\""): each is encoded once. */
function refusedLine(message: string): Buffer {
  let line = refusedLines.get(message);
  if (line === undefined) {
    line = Buffer.from(encodeLine({ event: "error", data: { code: "invalid_request", message } }), "utf8");
    // A message can quote what the client sent (an unknown method name): only short ones are kept.
    if (message.length > REFUSED_MESSAGE_MAX_CHARS) return line;
    if (refusedLines.size >= REFUSED_LINE_CACHE) refusedLines.delete(refusedLines.keys().next().value as string);
    refusedLines.set(message, line);
  }
  return line;
}

async function bindSocket(server: net.Server, socketPath: string): Promise<void> {
  try {
    await listen(server, socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    await refuseLiveSocket(socketPath);
    fs.rmSync(socketPath, { force: true });
    await listen(server, socketPath);
  }
  fs.chmodSync(socketPath, 0o600);
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once("error", onError);
    server.listen(socketPath, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/**
 * Throws PoddError(invalid_request) when a live pod accepts connections on `socketPath`, or
 * when something other than a socket is there (a symlink is never followed: connecting through
 * it would reach someone else's socket, replacing it would remove someone else's link); a
 * missing or stale socket file (ENOENT / ECONNREFUSED) passes.
 */
export async function refuseLiveSocket(socketPath: string): Promise<void> {
  refuseNonSocket(socketPath);
  if (await socketAnswers(socketPath)) {
    throw new PoddError("invalid_request", `a live pod already owns ${socketPath}; stop it first or choose another name`);
  }
}

/** Throws PoddError(invalid_request) when `socketPath` exists and is not a socket (lstat: a symlink is one such). */
export function refuseNonSocket(socketPath: string): void {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (stats.isSocket()) return;
  const what = stats.isSymbolicLink() ? `a symlink (to ${fs.readlinkSync(socketPath)})` : "not a socket";
  throw new PoddError(
    "invalid_request",
    `socket path ${socketPath} is ${what}; podd neither follows nor replaces it: remove it if it is yours, or set PODD_RUNTIME_DIR to a dir of your own`,
  );
}
