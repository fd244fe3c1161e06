/**
 * The bash tool's output sink: a Writable that keeps what the model is shown in bounded
 * memory and, once the output outgrows that, saves all of it to a spill file the model can
 * read back (read_file, grep). It owns the bytes and the spill file; it knows nothing about
 * processes (bash-process.ts) or the result text's status line (bash.ts).
 *
 * Up to `maxBytes` the whole output is kept. Beyond it only the first and last `maxBytes / 2`
 * bytes are kept in memory, and every byte (up to `maxSpillBytes`) goes to a new file
 * `<spillDir>/bash-<time>-<random>.log` (mode 0600). Writes to the file apply backpressure:
 * the pipe feeding this sink is paused while the disk catches up.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";

export interface SpillingOutputOptions {
  /** Most bytes returned to the model (head and tail halves once exceeded). */
  maxBytes: number;
  /** Most bytes written to the spill file; beyond it the file is cut off (the tail is still shown). */
  maxSpillBytes: number;
  /** Directory for spill files, created (0700) on first use. */
  spillDir: string;
  /** File name prefix, e.g. `bash`. */
  prefix: string;
}

export interface CollectedOutput {
  /** What the model sees: the whole output, or head + a marker naming the spill file + tail. */
  text: string;
  /** Bytes the command wrote in all. */
  totalBytes: number;
  /** The spill file, when the output was longer than `maxBytes` and the file could be written. */
  spillFile?: string;
}

export class SpillingOutput extends Writable {
  totalBytes = 0;
  private readonly options: SpillingOutputOptions;
  /** All output while it fits in `maxBytes`. */
  private held: Buffer[] = [];
  private head: Buffer | undefined;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private spill: fs.WriteStream | undefined;
  private spillFile: string | undefined;
  private spilledBytes = 0;
  private spillError: string | undefined;

  constructor(options: SpillingOutputOptions) {
    super();
    this.options = options;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.totalBytes += chunk.length;
    if (this.head === undefined) {
      this.held.push(chunk);
      if (this.totalBytes <= this.options.maxBytes) return callback();
      // First overflow: split what is held into head and tail, and start the spill file with all of it.
      const all = Buffer.concat(this.held);
      this.held = [];
      this.head = all.subarray(0, this.headLimit);
      this.pushTail(all);
      this.startSpill();
      return this.writeSpill(all, callback);
    }
    this.pushTail(chunk);
    this.writeSpill(chunk, callback);
  }

  /** Stop accepting output and close the spill file. Never rejects. */
  async collect(): Promise<CollectedOutput> {
    if (!this.writableEnded) await new Promise<void>((resolve) => this.end(resolve));
    if (this.spill) {
      const spill = this.spill;
      await new Promise<void>((resolve) => {
        spill.once("close", resolve);
        spill.end();
      });
    }
    if (this.head === undefined) return { text: Buffer.concat(this.held).toString("utf8"), totalBytes: this.totalBytes };
    const tail = Buffer.concat(this.tail);
    const head = toLineEnd(this.head);
    const tailShown = fromLineStart(tail.subarray(Math.max(0, tail.length - this.tailLimit)));
    const omitted = this.totalBytes - head.length - tailShown.length;
    const shownHead = headText(head);
    const marker = `${shownHead.endsWith("\n") ? "" : "\n"}[... ${omitted} bytes omitted (${this.totalBytes} bytes in all): ${this.whereIsTheRest()} ...]\n`;
    return { text: shownHead + marker + tailText(tailShown), totalBytes: this.totalBytes, spillFile: this.spillError ? undefined : this.spillFile };
  }

  private get headLimit(): number {
    return Math.floor(this.options.maxBytes / 2);
  }

  private get tailLimit(): number {
    return this.options.maxBytes - this.headLimit;
  }

  private whereIsTheRest(): string {
    if (this.spillError || !this.spillFile) return `the full output could not be saved (${this.spillError ?? "no spill file"})`;
    const cut = this.totalBytes > this.spilledBytes ? ` (only its first ${this.spilledBytes} bytes: the file is capped at ${this.options.maxSpillBytes} bytes)` : "";
    return `the full output is in ${this.spillFile}${cut}; read it with read_file (offset/limit) or search it with grep`;
  }

  private pushTail(chunk: Buffer): void {
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0] as Buffer).length >= this.tailLimit) {
      this.tailBytes -= (this.tail.shift() as Buffer).length;
    }
  }

  private startSpill(): void {
    try {
      fs.mkdirSync(this.options.spillDir, { recursive: true, mode: 0o700 });
      const name = `${this.options.prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}.log`;
      const file = path.join(this.options.spillDir, name);
      const fd = fs.openSync(file, "wx", 0o600);
      this.spillFile = file;
      this.spill = fs.createWriteStream("", { fd });
      this.spill.on("error", (error) => {
        this.spillError ??= error.message;
      });
    } catch (error) {
      this.spillError = (error as Error).message;
    }
  }

  private writeSpill(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const room = this.options.maxSpillBytes - this.spilledBytes;
    if (!this.spill || this.spillError || room <= 0) return callback();
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.spilledBytes += part.length;
    // The callback runs once the file took the bytes: that is the backpressure on the pipe.
    // A write error is recorded (the output is still shown), never passed on.
    this.spill.write(part, () => callback());
  }
}

/** The head up to its last line end, when that keeps at least half of it. */
function toLineEnd(head: Buffer): Buffer {
  const newline = head.lastIndexOf(0x0a);
  return newline >= head.length / 2 ? head.subarray(0, newline + 1) : head;
}

/** The tail from its first line start, when that keeps at least half of it. */
function fromLineStart(tail: Buffer): Buffer {
  const newline = tail.indexOf(0x0a);
  return newline !== -1 && newline < tail.length / 2 ? tail.subarray(newline + 1) : tail;
}

/** The head, without a UTF-8 sequence cut in half at its end. */
function headText(head: Buffer): string {
  return new TextDecoder("utf-8").decode(head, { stream: true });
}

/** The tail, without continuation bytes of a sequence cut in half at its start. */
function tailText(tail: Buffer): string {
  let start = 0;
  while (start < Math.min(3, tail.length) && ((tail[start] as number) & 0xc0) === 0x80) start += 1;
  return tail.subarray(start).toString("utf8");
}
