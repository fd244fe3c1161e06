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
  type RewindSummary,
  type RewindTarget,
  type RewindTargetId,
  type Segment,
} from "../../protocol/index.js";
import { sameId, wireId } from "../config/ids.js";
import type { LogMark, SessionLog } from "../session/session-log.js";

/** Longest preview of a target's input, in characters (before the ellipsis). */
export const PREVIEW_CHARS = 80;

/** The input flattened to one line and cut to about PREVIEW_CHARS characters. */
export function previewOf(segments: readonly Segment[]): string {
  const text = flattenSegments(segments).replace(/\s+/g, " ").trim();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/** Tools whose effects outlive the session log: a rewind past their calls cannot undo them. */
export const SIDE_EFFECT_TOOLS: ReadonlySet<string> = new Set(["write_file", "edit_file", "bash"]);

/** The index of the first entry a rewind to the user input at `index` removes: the `invoke` that opened its run (else the input itself). */
function cutIndex(entries: readonly LogEntry[], index: number): number {
  for (let at = index - 1; at >= 0; at -= 1) if (entries[at]?.kind === "invoke") return at;
  return index;
}

/** The side-effect tool calls among `entries`, by tool name: e.g. `{write_file: 2, bash: 1}`. */
function sideEffectCalls(entries: readonly LogEntry[]): Map<string, number> {
  const calls = new Map<string, number>();
  for (const entry of entries) {
    if (entry.kind === "assistant_item" && entry.item.kind === "tool_call" && SIDE_EFFECT_TOOLS.has(entry.item.name)) {
      calls.set(entry.item.name, (calls.get(entry.item.name) ?? 0) + 1);
    }
  }
  return calls;
}

/** `rewinding here does not undo 3 tool calls: write_file ×2, bash`, or undefined when there are none. */
function sideEffectWarning(calls: Map<string, number>): string | undefined {
  const total = [...calls.values()].reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  const names = [...calls].map(([name, count]) => (count > 1 ? `${name} ×${count}` : name)).join(", ");
  return `rewinding here does not undo ${total} tool call${total === 1 ? "" : "s"} with side effects (${names}): files they wrote and commands they ran stay as they are`;
}

/**
 * Every user_input entry of the segment, oldest first, in the reference's `RewindTarget` shape.
 * `segmentId` is sent in its wire form (a UUID: src/config/ids.ts). Each target names the entry
 * count it was listed at and the entries a rewind keeps; `warning` names the side-effect tool
 * calls a rewind there discards but cannot undo. With `disabledReason` (the pod cannot rewind
 * now: paused) every target is listed as not eligible, with that reason.
 */
export function listRewindTargets(entries: readonly LogEntry[], segmentId: string, disabledReason?: string): EventData<"rewind_targets"> {
  const targets: RewindTarget[] = [];
  const segment_id = wireId(segmentId);
  for (const [index, entry] of entries.entries()) {
    if (entry.kind !== "user_input") continue;
    const keep = cutIndex(entries, index);
    const warning = sideEffectWarning(sideEffectCalls(entries.slice(keep)));
    targets.push({
      id: { segment_id, user_input_entry_index: index },
      expected_head_entries: entries.length,
      truncate_entries: keep,
      turn_index: targets.length,
      timestamp_ms: entry.ts,
      preview: previewOf(entry.segments),
      eligible: disabledReason === undefined,
      ...(disabledReason === undefined ? {} : { disabled_reason: disabledReason }),
      ...(warning === undefined ? {} : { warning }),
    });
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
      summary: RewindSummary;
      /** For people: e.g. `rewound 12 entries (2 runs); it does not undo 1 tool call with side effects (bash): …`. */
      description: string;
    };

/** Check a rewind_to request against the segment and work out the cut. The segment id may be given in either form (src/config/ids.ts). */
export function planRewind(
  entries: readonly LogEntry[],
  segmentId: string,
  request: { target: RewindTargetId; expected_head_entries: number },
): RewindPlan {
  const { target, expected_head_entries: expected } = request;
  if (expected !== entries.length) {
    return { ok: false, message: `the session changed since the targets were listed (${entries.length} entries, expected ${expected}); list again` };
  }
  if (!sameId(target.segment_id, segmentId)) {
    return { ok: false, message: `segment ${target.segment_id} is not the pod's current segment (${wireId(segmentId)}); list again` };
  }
  const index = target.user_input_entry_index;
  const entry = entries[index];
  if (entry?.kind !== "user_input") return { ok: false, message: `entry ${index} is not a user input; list again` };
  const keep = cutIndex(entries, index);
  const removed = entries.slice(keep);
  const runs = removed.filter((item) => item.kind === "invoke").length;
  const calls = sideEffectCalls(removed);
  const warning = sideEffectWarning(calls);
  const entriesText = `${removed.length} ${removed.length === 1 ? "entry" : "entries"}`;
  return {
    ok: true,
    keep,
    input: entry.segments,
    summary: { truncated_to_entries: keep, discarded_entries: removed.length, tool_side_effect_warning: calls.size > 0 },
    description: `rewound ${entriesText} (${runs} ${runs === 1 ? "run" : "runs"})${warning === undefined ? "" : `; ${warning.replace(/^rewinding here /, "it ")}`}`,
  };
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
