/**
 * The session log: every committed LogEntry is appended as one JSON line to
 * `<home>/sessions/<session>/<segment>.jsonl`, synchronously and in commit order, and kept in
 * memory as the segment's entries (what a snapshot sends). A run that produced nothing is
 * rolled back by truncating the file to a mark taken when the run began. A session has one
 * segment per compaction: the new segment's `segment_start` names the old one.
 *
 * Durability (docs/benchmarks.md, "Append"): each append is one `write(2)` of a whole line,
 * in the kernel's page cache when `append` returns, so it survives the pod being killed; it is
 * not fsynced per entry (a power loss may lose the last entries; a torn last line is cut on
 * open). A segment is fsynced before it becomes a pod's active segment and when it is closed.
 *
 * A write that fails (ENOSPC, EDQUOT, EROFS, EIO) throws SessionWriteError and commits nothing:
 * the entry is not in memory, and the bytes a short write left on disk are cut off again (the
 * file ends with the last committed line), so a full disk never leaves a partial line behind.
 * Should that cut fail too, the next append overwrites the bytes from the same offset and the
 * next successful write cuts the rest, and a restore skips what is left as a torn tail.
 * docs/reliability.md, "Disk faults".
 */
import fs from "node:fs";
import path from "node:path";
import { encodeLine, parseLogEntryLine, type LogEntry, type SegmentStartEntry } from "../../protocol/index.js";
import { withWireIds } from "../config/ids.js";
import { ensurePrivateDir, SESSION_DIR } from "../config/private-dir.js";
import { describeIoError, PoddError } from "../errors.js";

/**
 * A session log write failed: nothing was committed. `code` is the errno code (`ENOSPC`,
 * `EROFS`, …; undefined for a non-system error), `entryKind` the entry that was being written
 * (undefined for a truncate). Wire code `internal`; the message names the file and the cause.
 */
export class SessionWriteError extends PoddError {
  readonly file: string;
  readonly errno: string | undefined;
  readonly entryKind: LogEntry["kind"] | undefined;
  constructor(options: { file: string; cause: unknown; entryKind?: LogEntry["kind"]; action?: string }) {
    const errno = (options.cause as NodeJS.ErrnoException | undefined)?.code;
    super("internal", `cannot ${options.action ?? "write"} the session log ${options.file}: ${describeIoError(options.cause)}`, { cause: options.cause });
    this.name = "SessionWriteError";
    this.file = options.file;
    this.errno = errno;
    this.entryKind = options.entryKind;
  }
}

/** A line of a segment file that was not a LogEntry. */
export interface SkippedLine {
  /** 1-based line number. */
  line: number;
  bytes: number;
  /** The file's last line (a write cut by a crash); it was cut off the file. */
  torn: boolean;
}

/**
 * Split a segment file's bytes into entries. A line without its newline is incomplete by
 * definition (every append writes a whole line). `keepBytes`: the file length without a torn tail.
 */
function parseSegment(bytes: Buffer): { entries: LogEntry[]; skipped: SkippedLine[]; keepBytes: number } {
  const skipped: SkippedLine[] = [];
  const entries: LogEntry[] = [];
  let keepBytes = 0;
  for (let start = 0, lineNumber = 1; start < bytes.length; lineNumber += 1) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    const isLast = newline === -1 || newline + 1 >= bytes.length;
    const text = bytes.subarray(start, end).toString("utf8");
    const entry = newline === -1 ? undefined : parseLogEntryLine(text);
    if (entry) {
      entries.push(withWireIds(entry));
      keepBytes = end + 1;
    } else if (text.trim() === "") {
      if (newline !== -1) keepBytes = end + 1;
    } else if (isLast) {
      skipped.push({ line: lineNumber, bytes: end - start, torn: true });
    } else {
      skipped.push({ line: lineNumber, bytes: end - start, torn: false });
      keepBytes = end + 1;
    }
    if (newline === -1) break;
    start = newline + 1;
  }
  return { entries, skipped, keepBytes };
}

export interface LogMark {
  /** File size in bytes at the mark. */
  bytes: number;
  /** Number of entries at the mark. */
  count: number;
}

export class SessionLog {
  readonly file: string;
  readonly sessionId: string;
  readonly segmentId: string;
  private readonly fd: number;
  private size: number;
  /** A failed write may have left bytes past `size` that could not be cut yet. */
  private tailDirty = false;
  private readonly committed: LogEntry[] = [];

  private constructor(file: string, sessionId: string, segmentId: string, fd: number) {
    this.file = file;
    this.sessionId = sessionId;
    this.segmentId = segmentId;
    this.fd = fd;
    this.size = fs.fstatSync(fd).size;
  }

  /**
   * Create a new segment file in `sessionDir` (made 0700 if missing; refused when it is not this
   * user's private dir: src/config/private-dir.ts) and commit its `segment_start` entry, with the
   * provenance of a compacted segment or a forked session when given.
   */
  static create(options: {
    sessionDir: string;
    sessionId: string;
    segmentId: string;
    podName: string;
    now: number;
    compactedFrom?: string;
    forkedFrom?: SegmentStartEntry["forked_from"];
  }): SessionLog {
    const dir = options.sessionDir;
    ensurePrivateDir(dir, SESSION_DIR);
    const file = path.join(dir, `${options.segmentId}.jsonl`);
    const fd = fs.openSync(file, "wx", 0o600);
    const log = new SessionLog(file, options.sessionId, options.segmentId, fd);
    log.append(
      withWireIds({
        kind: "segment_start",
        ts: options.now,
        segment_id: options.segmentId,
        session_id: options.sessionId,
        pod_name: options.podName,
        ...(options.compactedFrom === undefined ? {} : { compacted_from: options.compactedFrom }),
        ...(options.forkedFrom === undefined ? {} : { forked_from: options.forkedFrom }),
      }),
    );
    return log;
  }

  /**
   * Open an existing segment file for appending and read its entries. A torn last line (no
   * newline, or not a LogEntry: a write cut by a crash) is cut off the file so appends stay
   * clean; a bad line in the middle is skipped but kept in the file. Each is reported in
   * `skipped`, to be raised as an alert. Throws if the file cannot be read.
   */
  static open(options: { file: string; sessionId: string; segmentId: string }): { log: SessionLog; skipped: SkippedLine[] } {
    const bytes = fs.readFileSync(options.file);
    const { entries, skipped, keepBytes } = parseSegment(bytes);
    const fd = fs.openSync(options.file, "r+");
    // Cut a torn tail so the next append starts on a line of its own.
    if (keepBytes < bytes.length) fs.ftruncateSync(fd, keepBytes);
    const log = new SessionLog(options.file, options.sessionId, options.segmentId, fd);
    log.committed.push(...entries);
    return { log, skipped };
  }

  /**
   * Read a segment file without opening it for writing (another live pod may be appending to
   * it: a line still being written reads as a torn tail and is left out). Throws if unreadable.
   */
  static read(file: string): { entries: LogEntry[]; skipped: SkippedLine[] } {
    const { entries, skipped } = parseSegment(fs.readFileSync(file));
    return { entries, skipped };
  }

  /** Committed entries of this segment, in order. */
  get entries(): readonly LogEntry[] {
    return this.committed;
  }

  /**
   * Append one entry: one whole line, one write. Throws SessionWriteError on an I/O error: the
   * entry is not committed (not in `entries`), and what a short write put on disk is cut off.
   */
  append(entry: LogEntry): void {
    const line = Buffer.from(encodeLine(entry), "utf8");
    let written = 0;
    try {
      while (written < line.length) written += fs.writeSync(this.fd, line, written, line.length - written, this.size + written);
    } catch (error) {
      this.cutTail(written > 0 || this.tailDirty);
      throw new SessionWriteError({ file: this.file, cause: error, entryKind: entry.kind });
    }
    this.size += line.length;
    this.committed.push(entry);
    if (this.tailDirty) this.cutTail(true);
  }

  /** After a failed write: cut the file back to the committed lines (best effort; remembered when it fails too). */
  private cutTail(needed: boolean): void {
    if (!needed) return;
    try {
      fs.ftruncateSync(this.fd, this.size);
      this.tailDirty = false;
    } catch {
      this.tailDirty = true;
    }
  }

  mark(): LogMark {
    return { bytes: this.size, count: this.committed.length };
  }

  /** Drop everything committed after `mark` (empty-turn rollback, rewind). Throws SessionWriteError (nothing dropped) when the file cannot be cut. */
  truncate(mark: LogMark): LogEntry[] {
    try {
      fs.ftruncateSync(this.fd, mark.bytes);
    } catch (error) {
      throw new SessionWriteError({ file: this.file, cause: error, action: "cut" });
    }
    this.size = mark.bytes;
    this.tailDirty = false;
    return this.committed.splice(mark.count);
  }

  /** fsync the segment file (before it becomes a pod's active segment: compaction, fork). */
  sync(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (error) {
      throw new SessionWriteError({ file: this.file, cause: error, action: "sync" });
    }
  }

  /**
   * fsync and close the file. The fd is closed either way; a failed fsync (the disk is full,
   * read-only or gone: what is not on disk now cannot be saved) is returned, not thrown.
   */
  close(): SessionWriteError | undefined {
    let failure: SessionWriteError | undefined;
    try {
      if (this.tailDirty) this.cutTail(true);
      fs.fsyncSync(this.fd);
    } catch (error) {
      failure = new SessionWriteError({ file: this.file, cause: error, action: "sync" });
    }
    fs.closeSync(this.fd);
    return failure;
  }
}
