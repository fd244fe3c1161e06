/**
 * A session's entries as a transcript: the things a reader of `podd history` and
 * `podd export --format markdown` sees (user inputs, assistant text, reasoning, tool calls and
 * their results, system items, run ends, compaction and segment dividers), with bookkeeping
 * (`invoke`, `turn_end`, `llm_usage`, `extension`) left out. Rendering lives with the commands.
 */
import { COMPACTION_SUMMARY_KIND, flattenSegments, isCancellation, type LogEntry, type RunResult, type SegmentStartEntry } from "../../protocol/index.js";
import type { SegmentFile } from "../client/session-files.js";
import { systemItemText } from "../client/system-item-text.js";

export type TranscriptItem =
  | { kind: "forked"; ts: number; from: NonNullable<SegmentStartEntry["forked_from"]> }
  /** A segment that does not come from a compaction of the one before (shown with `--all` only). */
  | { kind: "segment"; ts: number; segmentId: string }
  /** A compaction: `summary` is the text the model saw in place of the older segment. */
  | { kind: "compaction"; ts: number; compactedFrom: string; summary?: string }
  | { kind: "user"; ts: number; text: string }
  | { kind: "assistant"; ts: number; text: string }
  | { kind: "reasoning"; ts: number; text: string; isRedacted: boolean }
  | { kind: "tool_call"; ts: number; id: string; name: string; arguments: string }
  | { kind: "tool_result"; ts: number; id: string; name?: string; summary: string; output?: string; isError: boolean }
  /** A system item other than a compaction summary: `systemKind` is its `kind`, `text` what to show. */
  | { kind: "system"; ts: number; systemKind: string; text: string }
  | { kind: "run_end"; ts: number; result: RunResult }
  /** A run cancelled by the user (`run_errored{internal, Cancelled}`, the reference's shape): not a failure. */
  | { kind: "run_cancelled"; ts: number }
  | { kind: "run_errored"; ts: number; code: string; message: string };

type Handler<K extends LogEntry["kind"]> = (entry: Extract<LogEntry, { kind: K }>, state: WalkState) => TranscriptItem[];

interface WalkState {
  toolNames: Map<string, string>;
  /** The compaction item of the current segment, filled in by its summary entry. */
  pendingCompaction?: Extract<TranscriptItem, { kind: "compaction" }>;
  isFirstSegment: boolean;
}

const HANDLERS: { [K in LogEntry["kind"]]: Handler<K> } = {
  segment_start: (entry, state) => {
    const items: TranscriptItem[] = [];
    if (entry.forked_from) items.push({ kind: "forked", ts: entry.ts, from: entry.forked_from });
    if (entry.compacted_from !== undefined) {
      state.pendingCompaction = { kind: "compaction", ts: entry.ts, compactedFrom: entry.compacted_from };
      items.push(state.pendingCompaction);
    } else if (!state.isFirstSegment && !entry.forked_from) items.push({ kind: "segment", ts: entry.ts, segmentId: entry.segment_id });
    return items;
  },
  user_input: (entry) => [{ kind: "user", ts: entry.ts, text: flattenSegments(entry.segments) }],
  assistant_item: (entry, state) => {
    const item = entry.item;
    if (item.kind === "message") return [{ kind: "assistant", ts: entry.ts, text: item.content }];
    if (item.kind === "reasoning") return [{ kind: "reasoning", ts: entry.ts, text: item.text, isRedacted: item.redacted_data !== undefined }];
    state.toolNames.set(item.id, item.name);
    return [{ kind: "tool_call", ts: entry.ts, id: item.id, name: item.name, arguments: item.arguments }];
  },
  tool_result: (entry, state) => {
    const { id, summary, output, is_error: isError } = entry.item;
    const name = state.toolNames.get(id);
    return [{ kind: "tool_result", ts: entry.ts, id, summary, isError, ...(name !== undefined && { name }), ...(output !== undefined && { output }) }];
  },
  system_item: (entry, state) => {
    const text = systemItemText(entry.item);
    if (entry.item.kind !== COMPACTION_SUMMARY_KIND) return [{ kind: "system", ts: entry.ts, systemKind: entry.item.kind, text }];
    if (state.pendingCompaction && state.pendingCompaction.summary === undefined) {
      state.pendingCompaction.summary = text;
      return [];
    }
    return [{ kind: "compaction", ts: entry.ts, compactedFrom: "", summary: text }];
  },
  run_completed: (entry) => [{ kind: "run_end", ts: entry.ts, result: entry.result }],
  run_errored: (entry) =>
    isCancellation(entry) ? [{ kind: "run_cancelled", ts: entry.ts }] : [{ kind: "run_errored", ts: entry.ts, code: entry.code, message: entry.message }],
  invoke: () => [],
  turn_end: () => [],
  llm_usage: () => [],
  extension: () => [],
};

/**
 * The transcript of these segments, in order. Tool results carry their call's tool name when
 * the call is in the same selection; a compaction's summary is the `compaction_summary` system
 * item of the segment that the compaction started.
 */
export function transcriptOf(segments: readonly SegmentFile[]): TranscriptItem[] {
  const state: WalkState = { toolNames: new Map(), isFirstSegment: true };
  const items: TranscriptItem[] = [];
  for (const segment of segments) {
    delete state.pendingCompaction;
    for (const entry of segment.entries) {
      const handle = HANDLERS[entry.kind] as (entry: LogEntry, state: WalkState) => TranscriptItem[];
      items.push(...handle(entry, state));
    }
    state.isFirstSegment = false;
  }
  return items;
}

/** `text` cut to at most `maxChars` characters, ending in `…` when cut. */
export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

const pad2 = (value: number): string => String(value).padStart(2, "0");

/** Local date of `ts` (ms since the epoch): `2025-01-31`. */
export function formatDate(ts: number): string {
  const date = new Date(ts);
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

/** Local time of day of `ts` (ms since the epoch): `14:02:03`. */
export function formatClock(ts: number): string {
  const date = new Date(ts);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/** How a run that did not simply finish ended, in words; undefined for `finished`. */
export function describeRunEnd(result: RunResult): string | undefined {
  const words: Record<RunResult, string | undefined> = {
    finished: undefined,
    paused: "paused",
    limit_reached: "run stopped: turn limit reached",
    rolled_back: "run rolled back",
  };
  return words[result];
}
