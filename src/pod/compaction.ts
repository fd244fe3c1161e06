/**
 * Compaction: the model writes a summary of the conversation, and the summary becomes the
 * first item of a new segment (`segment_start{compacted_from}`), so the pod keeps working
 * with a small context. This module asks for the summary (one model call, bounded in time)
 * and writes the new segment file; the controller owns the compaction's state, the switch to
 * the new segment and what clients see (`compact_start`, `segment_rotated`, `compact_done` /
 * `compact_failed`: wire-protocol.md, Events).
 *
 * Fail-soft (the Python seed's colony fork; behaviour.md): any failure — the provider, the
 * time limit, an empty summary, a cancel — leaves the old segment untouched and the pod idle.
 */
import { COMPACTION_SUMMARY_KIND, type SystemItem } from "../../protocol/index.js";
import { AbortedError } from "../errors.js";
import type { LanguageModel, ModelMessage, ToolSpec, Usage } from "../model/types.js";
import type { SessionLog } from "../session/session-log.js";
import type { SegmentStore } from "./controller-deps.js";
import { COUNTERS_EXTENSION, type CarriedCounters } from "./session-state.js";

/** Default share of the model's context window at which a pod compacts before its next run. */
export const DEFAULT_COMPACT_THRESHOLD = 0.8;
/** Default time limit of the summary call, ms. */
export const DEFAULT_COMPACT_TIMEOUT_MS = 120_000;

/** The request appended after the history for the summary call. */
export const COMPACTION_REQUEST =
  "[Compaction request]\n" +
  "The conversation above is about to be replaced by a summary, to free context. Write that summary now; " +
  "it is all you will keep of the conversation, so include: the user's requests and goals; decisions made and why; " +
  "files read or changed and their current state; commands run and what they showed; what is done, what remains, " +
  "and the next step. Keep exact names, paths, numbers and error messages. " +
  "Do not call tools. Reply with the summary only.";

/** The system item that opens a compacted segment: what the model sees in place of the history. */
export function summaryItem(summary: string): SystemItem {
  return {
    kind: COMPACTION_SUMMARY_KIND,
    body: `[Compacted]\nThe earlier conversation was replaced by this summary to save context:\n\n${summary}`,
  };
}

function formatDuration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** A compaction that did not produce a summary; `message` is what `compact_failed{error}` says. */
export class CompactionError extends Error {}

export interface SummaryResult {
  summary: string;
  usage: Usage;
}

/**
 * Ask the model for a summary of `messages`. The request carries the pod's system prompt and
 * tool specs (Anthropic refuses a history with tool calls when no tools are defined); tool
 * calls in the answer are ignored. Throws AbortedError when `signal` aborts (its reason),
 * CompactionError on the time limit or an empty summary, ProviderError when the model fails.
 */
export async function writeSummary(
  request: { model: LanguageModel; system: string; tools: ToolSpec[]; messages: readonly ModelMessage[] },
  options: { signal: AbortSignal; timeoutMs: number },
): Promise<SummaryResult> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort("timeout"), options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout.signal]);
  let summary = "";
  let usage: Usage = {};
  try {
    const stream = request.model.stream(
      {
        system: request.system,
        messages: [...request.messages, { role: "user", content: COMPACTION_REQUEST }],
        tools: request.tools,
        maxOutputTokens: request.model.info.maxOutputTokens,
      },
      { signal },
    );
    for await (const part of stream) {
      if (signal.aborted) break;
      if (part.type === "text-delta") summary += part.text;
      else if (part.type === "finish") usage = part.usage;
      else if (part.type === "error") throw part.error;
    }
  } catch (error) {
    // After an abort, a provider error is only the abort's echo.
    if (!signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  if (options.signal.aborted) throw new AbortedError(String(options.signal.reason) as "cancel" | "shutdown");
  if (timeout.signal.aborted) throw new CompactionError(`the summary took longer than the ${formatDuration(options.timeoutMs)} limit`);
  if (summary.trim() === "") throw new CompactionError("the model returned an empty summary");
  return { summary: summary.trim(), usage };
}

/** A compacted segment, written, fsynced and active; the controller switches to it. */
export interface CompactedSegment {
  log: SessionLog;
  /** The summary item (the segment's first item), to broadcast as `system_item`. */
  item: SystemItem;
  /** What the next request starts from: the summary's output tokens, or about 4 characters a token. */
  contextTokens: number;
}

/**
 * Write the segment that replaces `previousSegmentId`: `segment_start{compacted_from}` (by
 * `segments.create`), an `extension` entry `podd.counters` carrying the turn and model-call
 * counters, the context size and the pending interrupt note, then the summary as a
 * `system_item`; fsynced, then made active (`segments.activate`). Until `activate` returns
 * the old segment is the pod's (a crash restores it). If anything after `create` throws, the
 * new file is discarded and the error rethrown; the old segment is never touched.
 */
export function writeCompactedSegment(
  segments: SegmentStore,
  previousSegmentId: string,
  result: SummaryResult,
  carried: { turn: number; llmCall: number; interruptNote: string | undefined; now(): number },
): CompactedSegment {
  const next = segments.create(previousSegmentId);
  const item = summaryItem(result.summary);
  const { outputTokens } = result.usage;
  const contextTokens = outputTokens ?? Math.ceil((item.body ?? "").length / 4);
  try {
    const data: CarriedCounters = { turn: carried.turn, llm_call: carried.llmCall, context_tokens: contextTokens };
    if (carried.interruptNote !== undefined) data.interrupt_note = carried.interruptNote;
    next.append({ kind: "extension", ts: carried.now(), name: COUNTERS_EXTENSION, data });
    next.append({ kind: "system_item", ts: carried.now(), item });
    next.sync();
    segments.activate(next);
  } catch (error) {
    segments.discard(next);
    throw error;
  }
  return { log: next, item, contextTokens };
}
