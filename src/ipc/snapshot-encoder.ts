/**
 * The snapshot line a new connection gets, encoded so that connections share its bulk: the
 * session's entries. A snapshot is `{"event":"snapshot","data":{"entries":[…],"greeting":…,
 * "status":…,"in_flight":…}}`; the entries are most of it (a 2,000-notification session is ~700
 * KB) and change only when an entry is committed or the log is cut, while the turn in flight
 * changes with every delta. So the line is sent as two Buffers, written back to back into one
 * line: the head up to the end of the entries, shared by every connection while the entries are
 * the same, and a small tail with the rest. Before, 100 clients attaching during a streaming turn
 * each got their own encoding of the whole session (~140 MB for that session), and the
 * allocator kept part of it after they left.
 *
 * Relies on committed entries never changing in place (src/session/session-log.ts only appends
 * and truncates), so the entries array, its length and its last entry identify its encoding.
 */
import type { LogEntry } from "../../protocol/index.js";
import type { SnapshotData } from "../pod/controller-deps.js";

export class SnapshotEncoder {
  private head: { entries: readonly LogEntry[]; count: number; last: LogEntry | undefined; bytes: Buffer } | undefined;

  /**
   * The snapshot line as `[head, tail]`: the concatenation is exactly `encodeLine({event:
   * "snapshot", data: snapshot})` (`entries` must be the first field of `snapshot`, as the
   * controller makes it). `head` is the same Buffer for the same entries: never modify it.
   */
  encode(snapshot: SnapshotData): [Buffer, Buffer] {
    const { entries, ...rest } = snapshot;
    return [this.headFor(entries), Buffer.from(tailText(rest), "utf8")];
  }

  private headFor(entries: readonly LogEntry[]): Buffer {
    const cached = this.head;
    if (cached && cached.entries === entries && cached.count === entries.length && cached.last === entries.at(-1)) return cached.bytes;
    const bytes = Buffer.from(`{"event":"snapshot","data":{"entries":${JSON.stringify(entries)}`, "utf8");
    this.head = { entries, count: entries.length, last: entries.at(-1), bytes };
    return bytes;
  }
}

/** `,"greeting":…,"status":…}}\n`: the fields after `entries`, closing `data` and the line. */
function tailText(rest: Omit<SnapshotData, "entries">): string {
  const fields = JSON.stringify(rest).slice(1, -1);
  return `${fields === "" ? "" : `,${fields}`}}}\n`;
}
