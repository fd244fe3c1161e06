/**
 * Rewind: the targets a client may rewind to (every user input of the current segment) and
 * the plan for applying one (where to cut the segment, what input to hand back for editing).
 *
 * Pure over the segment's entries, except `markAt`, which finds the byte offset of an entry
 * in the segment file so the cut can be made durable with `SessionLog.truncate`.
 */
import fs from "node:fs";
import {
  flattenSegments,
  parseLogEntryLine,
  type EventData,
  type LogEntry,
  type RewindTarget,
  type RewindTargetId,
  type Segment,
} from "../../protocol/index.js";
import type { LogMark, SessionLog } from "../session/session-log.js";

/** Longest preview of a target's input, in characters (before the ellipsis). */
export const PREVIEW_CHARS = 80;

/** The input flattened to one line and cut to about PREVIEW_CHARS characters. */
export function previewOf(segments: readonly Segment[]): string {
  const text = flattenSegments(segments).replace(/\s+/g, " ").trim();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/** Every user_input entry of the segment, oldest first, with the entry count they were listed at. */
export function listRewindTargets(entries: readonly LogEntry[], segmentId: string): EventData<"rewind_targets"> {
  const targets: RewindTarget[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry.kind !== "user_input") continue;
    targets.push({ target: { segment_id: segmentId, user_input_entry_index: index }, preview: previewOf(entry.segments), ts: entry.ts });
  }
  return { head_entries: entries.length, targets };
}

export type RewindPlan =
  | { ok: false; message: string }
  | {
      ok: true;
      /** Entries to keep: the segment is cut before this index (the rewound run's `invoke`). */
      keep: number;
      /** The rewound user input, for the client to edit and resend. */
      input: Segment[];
      /** E.g. `rewound 12 entries (2 runs)`. */
      summary: string;
    };

/** Check a rewind_to request against the segment and work out the cut. */
export function planRewind(
  entries: readonly LogEntry[],
  segmentId: string,
  request: { target: RewindTargetId; expected_head_entries: number },
): RewindPlan {
  const { target, expected_head_entries: expected } = request;
  if (expected !== entries.length) {
    return { ok: false, message: `the session changed since the targets were listed (${entries.length} entries, expected ${expected}); list again` };
  }
  if (target.segment_id !== segmentId) {
    return { ok: false, message: `segment ${target.segment_id} is not the pod's current segment (${segmentId}); list again` };
  }
  const index = target.user_input_entry_index;
  const entry = entries[index];
  if (entry?.kind !== "user_input") return { ok: false, message: `entry ${index} is not a user input; list again` };
  let keep = index;
  for (let at = index - 1; at >= 0; at -= 1) {
    if (entries[at]?.kind === "invoke") {
      keep = at;
      break;
    }
  }
  const removed = entries.slice(keep);
  const runs = removed.filter((item) => item.kind === "invoke").length;
  const entriesText = `${removed.length} ${removed.length === 1 ? "entry" : "entries"}`;
  return { ok: true, keep, input: entry.segments, summary: `rewound ${entriesText} (${runs} ${runs === 1 ? "run" : "runs"})` };
}

/**
 * The mark at entry `count` of the log's segment file: the byte offset just past its
 * `count`-th entry line (lines that are not entries — blank, or skipped as bad on open — are
 * not counted, as SessionLog.open does).
 */
export function markAt(log: SessionLog, count: number): LogMark {
  if (count === log.entries.length) return log.mark();
  const bytes = fs.readFileSync(log.file);
  let offset = 0;
  for (let seen = 0; seen < count; ) {
    const newline = bytes.indexOf(0x0a, offset);
    if (newline === -1) throw new Error(`session file ${log.file} has fewer than ${count} entries`);
    if (isEntryLine(bytes.subarray(offset, newline).toString("utf8"))) seen += 1;
    offset = newline + 1;
  }
  return { bytes: offset, count };
}

function isEntryLine(text: string): boolean {
  return text.trim() !== "" && parseLogEntryLine(text) !== undefined;
}
