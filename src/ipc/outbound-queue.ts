/**
 * One client's outbound queue: encoded event lines waiting for its socket, written in order,
 * one bounded write at a time, and the rule that drops a client which stopped reading.
 *
 * Lines are Buffers that the caller encodes once and may share between every client's queue
 * (a broadcast event, a snapshot): the queue never copies or changes them. They are written as
 * at most WRITE_CHUNK_BYTES per batch (several lines in one corked `writev`, a line longer than
 * that in slices), the next batch only when the last has completed. So what the kernel has taken
 * is known to within one chunk: a write completes once the reader has taken its bytes. (Handing
 * Node everything at once, as a plain `write` per batch does, lets it merge the backlog into one
 * `writev` of many MiB that completes only when the reader has read all of it; a slow but
 * reading client then looks stalled for seconds. That was the cause of a reading client being
 * dropped on a loaded machine.) Joining each client's backlog into one Buffer of its own, as
 * this queue did before, made N clients hold N copies of the same events: 250 clients behind
 * by 2,000 notifications took ~150 MB that the allocator then kept.
 *
 * The drop rule: once the unsent bytes pass the allowance (`maxQueueBytes` beyond what the
 * handshake queued), a client whose write in flight has not completed STALL_MS after it started
 * (`stallMs`, default STALL_MS) is dropped, and one past `HARD_CAP_FACTOR × maxQueueBytes` beyond the handshake at once. The
 * stall is judged in a timer, after the event loop has taken the socket's completions: a pod
 * busy for a second (encoding an 18 MB block on a loaded machine) must not count its own delay
 * against a client that read everything it was sent. Not here: the
 * socket's inbound side and the handshake (socket-server.ts).
 */
import type net from "node:net";

/** Default cap on a client's unsent live output before it may be dropped, bytes (UTF-8). */
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/**
 * A client over the cap whose socket has completed no write for this long is dropped, ms. (It was
 * 1 s: a reading client starved of CPU for a second on a busy machine, in the shuffled stress run,
 * was dropped. Past the cap memory stays bounded by the hard cap whatever this is.)
 */
export const STALL_MS = 5_000;
/** Past this multiple of the cap a client is dropped even if it is still reading. */
export const HARD_CAP_FACTOR = 4;
/** Most bytes handed to the socket in one write, so progress is seen at this grain. */
export const WRITE_CHUNK_BYTES = 256 * 1024;

export class OutboundQueue {
  private readonly socket: net.Socket;
  private readonly maxQueueBytes: number;
  private readonly stallMs: number;
  private readonly onDropped: (queuedBytes: number) => void;
  /** Lines not yet handed to the socket, oldest first from `pendingHead` (shared: never modified). */
  private pending: Buffer[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  /** Bytes of the write in flight (0: none). */
  private inFlightBytes = 0;
  private flushScheduled = false;
  private stopped = false;
  private allowanceBytes = Number.POSITIVE_INFINITY;
  /** When the write in flight was handed to the socket, ms since the epoch. */
  private inFlightSinceMs = 0;
  /** Writes started so far: which write a stall check is about. */
  private writeCount = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private whenFlushed: (() => void) | undefined;
  /** Called once the unsent bytes are down to `bytes` (see `whenDrainedTo`). */
  private drainWaiter: { bytes: number; callback(): void } | undefined;

  constructor(socket: net.Socket, options: { maxQueueBytes: number; stallMs?: number; onDropped(queuedBytes: number): void }) {
    this.socket = socket;
    this.maxQueueBytes = options.maxQueueBytes;
    this.stallMs = options.stallMs ?? STALL_MS;
    this.onDropped = options.onDropped;
  }

  /** Bytes queued and not yet taken by the kernel (the write in flight counts whole). */
  get queuedBytes(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  /** After the handshake: the queue may grow by `maxQueueBytes` beyond what is queued now. */
  startLiveAllowance(): void {
    this.allowanceBytes = this.queuedBytes + this.maxQueueBytes;
  }

  /**
   * Queue one encoded line (UTF-8, ending in `\n`; encoded once by the caller and possibly
   * queued to every client: it is never modified); written after the current event-loop turn.
   * Drops a stalled client over its allowance.
   */
  push(line: Buffer): void {
    if (this.stopped) return;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.queuedBytes > this.allowanceBytes && this.dropIfStalled()) return;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write what is queued now, then call `done` once all of it was taken by the socket (or the queue stopped). */
  flushThen(done: () => void): void {
    if (this.stopped) return done();
    this.whenFlushed = done;
    this.flush();
  }

  /**
   * Call `callback` once, as soon as the unsent bytes (`queuedBytes`) are at most `bytes`: at
   * once if they already are, else when a write that brings them there completes. Never called
   * once the queue has stopped (the socket is gone). A later call replaces an earlier waiter.
   */
  whenDrainedTo(bytes: number, callback: () => void): void {
    if (this.stopped) return;
    if (this.queuedBytes <= bytes) return callback();
    this.drainWaiter = { bytes, callback };
  }

  /** Stop writing and forget what is queued (the socket is closing or was dropped). */
  stop(): void {
    this.stopped = true;
    this.drainWaiter = undefined;
    this.pending = [];
    this.pendingHead = 0;
    this.pendingBytes = 0;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    const done = this.whenFlushed;
    this.whenFlushed = undefined;
    done?.();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped || this.inFlightBytes > 0) return;
    if (this.pendingBytes === 0) {
      const done = this.whenFlushed;
      this.whenFlushed = undefined;
      done?.();
      return;
    }
    const batch = this.takeBatch();
    this.inFlightBytes = batch.bytes;
    this.inFlightSinceMs = Date.now();
    this.writeCount += 1;
    if (this.queuedBytes > this.allowanceBytes) this.scheduleStallCheck();
    const onWritten = (error?: Error | null): void => {
      this.inFlightBytes = 0;
      if (error) return this.stop();
      const waiter = this.drainWaiter;
      if (waiter && this.queuedBytes <= waiter.bytes) {
        this.drainWaiter = undefined;
        waiter.callback();
      }
      this.flush();
    };
    const last = batch.lines.length - 1;
    if (last === 0) {
      this.socket.write(batch.lines[0] as Buffer, onWritten);
      return;
    }
    // One writev of the batch's lines, without copying them; the last write's callback comes after the others'.
    this.socket.cork();
    for (let index = 0; index < last; index += 1) this.socket.write(batch.lines[index] as Buffer);
    this.socket.write(batch.lines[last] as Buffer, onWritten);
    this.socket.uncork();
  }

  /** Take up to WRITE_CHUNK_BYTES from the front of the queue: whole lines, and a slice of a line that does not fit. */
  private takeBatch(): { lines: Buffer[]; bytes: number } {
    const lines: Buffer[] = [];
    let bytes = 0;
    while (bytes < WRITE_CHUNK_BYTES && this.pendingHead < this.pending.length) {
      const line = this.pending[this.pendingHead] as Buffer;
      const room = WRITE_CHUNK_BYTES - bytes;
      if (line.length <= room) {
        lines.push(line);
        bytes += line.length;
        this.pendingHead += 1;
      } else {
        lines.push(line.subarray(0, room));
        this.pending[this.pendingHead] = line.subarray(room);
        bytes += room;
      }
    }
    this.pendingBytes -= bytes;
    // Forget the lines taken once they are most of the array (amortised O(1) per line).
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    return { lines, bytes };
  }

  /**
   * Over the allowance: drop the client at once past the hard cap (returns true); otherwise make
   * sure the write in flight is checked STALL_MS after it started (`checkStall`).
   */
  private dropIfStalled(): boolean {
    const queued = this.queuedBytes;
    if (queued > this.allowanceBytes + (HARD_CAP_FACTOR - 1) * this.maxQueueBytes) {
      this.drop(queued);
      return true;
    }
    this.scheduleStallCheck();
    return false;
  }

  private scheduleStallCheck(): void {
    if (this.stallTimer || this.inFlightBytes === 0) return;
    const write = this.writeCount;
    this.stallTimer = setTimeout(
      () => {
        // After the poll phase, so a completion that a busy pod (not the client) kept waiting is seen first.
        setImmediate(() => {
          this.stallTimer = undefined;
          if (this.stopped || this.queuedBytes <= this.allowanceBytes) return;
          if (this.inFlightBytes > 0 && this.writeCount === write) this.drop(this.queuedBytes);
          else this.scheduleStallCheck();
        });
      },
      Math.max(0, this.inFlightSinceMs + this.stallMs - Date.now()),
    ).unref();
  }

  private drop(queuedBytes: number): void {
    this.stop();
    this.socket.destroy();
    this.onDropped(queuedBytes);
  }
}
