/**
 * The session log, first cut: every committed LogEntry is appended as one JSON line to
 * `<home>/sessions/<session>/<segment>.jsonl`, synchronously and in commit order, and kept in
 * memory as the segment's entries (what a snapshot sends). A run that produced nothing is
 * rolled back by truncating the file to a mark taken when the run began.
 *
 * Durability: each append is one `write(2)` of a whole line (ordered, in the kernel's page
 * cache when `append` returns); there is no fsync per entry yet — the fsync policy, restore
 * and torn-line recovery belong to the durable-sessions issue.
 */
import fs from "node:fs";
import path from "node:path";
import { encodeLine, type LogEntry } from "../../protocol/index.js";

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
  private readonly committed: LogEntry[] = [];

  private constructor(file: string, sessionId: string, segmentId: string, fd: number) {
    this.file = file;
    this.sessionId = sessionId;
    this.segmentId = segmentId;
    this.fd = fd;
    this.size = fs.fstatSync(fd).size;
  }

  /** Create a new segment file in `sessionDir` (made if missing) and commit its `segment_start` entry. */
  static create(options: { sessionDir: string; sessionId: string; segmentId: string; podName: string; now: number }): SessionLog {
    const dir = options.sessionDir;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${options.segmentId}.jsonl`);
    const fd = fs.openSync(file, "wx", 0o600);
    const log = new SessionLog(file, options.sessionId, options.segmentId, fd);
    log.append({
      kind: "segment_start",
      ts: options.now,
      segment_id: options.segmentId,
      session_id: options.sessionId,
      pod_name: options.podName,
    });
    return log;
  }

  /** Committed entries of this segment, in order. */
  get entries(): readonly LogEntry[] {
    return this.committed;
  }

  /** Append one entry: one whole line, one write. Throws on an I/O error (nothing is half-committed in memory). */
  append(entry: LogEntry): void {
    const line = Buffer.from(encodeLine(entry), "utf8");
    let written = 0;
    while (written < line.length) written += fs.writeSync(this.fd, line, written, line.length - written, this.size + written);
    this.size += line.length;
    this.committed.push(entry);
  }

  mark(): LogMark {
    return { bytes: this.size, count: this.committed.length };
  }

  /** Drop everything committed after `mark` (empty-turn rollback). */
  truncate(mark: LogMark): LogEntry[] {
    fs.ftruncateSync(this.fd, mark.bytes);
    this.size = mark.bytes;
    return this.committed.splice(mark.count);
  }

  close(): void {
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
