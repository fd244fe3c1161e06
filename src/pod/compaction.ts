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

function truncate(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

function formatDuration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * The shortest summary taken, characters: 10 % of the text it replaces, at most 200. The
 * request asks for five kinds of facts (requests, decisions, files, commands, state and next
 * step); 200 characters is about 40 words, less than one of them needs, so a shorter answer to a
 * long conversation is not a summary (it is e.g. "Let me re-read the plan first."). A short
 * conversation can still be compacted: its floor shrinks with it.
 */
export const SUMMARY_FLOOR_MAX_CHARS = 200;
/** Share of the replaced conversation's text under which a summary is refused (see SUMMARY_FLOOR_MAX_CHARS). */
export const SUMMARY_FLOOR_SHARE = 0.1;

/** Characters of text in `messages` (what a summary replaces). */
function conversationChars(messages: readonly ModelMessage[]): number {
  let chars = 0;
  for (const message of messages) {
    if (message.role !== "assistant") chars += message.content.length;
    else for (const part of message.content) chars += part.type === "tool-call" ? part.arguments.length : part.text.length;
  }
  return chars;
}

/** The least a summary of `messages` must hold, characters. */
export function summaryFloorChars(messages: readonly ModelMessage[]): number {
  return Math.min(SUMMARY_FLOOR_MAX_CHARS, Math.ceil(conversationChars(messages) * SUMMARY_FLOOR_SHARE));
}

/** A compaction that did not produce a summary; `message` is what `compact_failed{error}` says. */
export class CompactionError extends Error {}

export interface SummaryResult {
  summary: string;
  usage: Usage;
}

/**
 * Ask the model for a summary of `messages`. The request carries the pod's system prompt and
 * tool specs (Anthropic refuses a history with tool calls when no tools are defined) with
 * `toolChoice: "none"`, so the model may not call them. An answer that is not a summary is a
 * CompactionError, and the caller keeps the old segment: one with a tool call (a model or
 * server that ignored the switch; its text is an announcement, not a summary), an empty one,
 * or one shorter than `summaryFloorChars(messages)`. Also CompactionError on the time limit;
 * AbortedError when `signal` aborts (its reason); ProviderError when the model fails.
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
  const toolCalls: string[] = [];
  try {
    const stream = request.model.stream(
      {
        system: request.system,
        messages: [...request.messages, { role: "user", content: COMPACTION_REQUEST }],
        tools: request.tools,
        toolChoice: "none",
        maxOutputTokens: request.model.info.maxOutputTokens,
      },
      { signal },
    );
    for await (const part of stream) {
      if (signal.aborted) break;
      if (part.type === "text-delta") summary += part.text;
      else if (part.type === "tool-call") toolCalls.push(part.name);
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
  if (toolCalls.length > 0) {
    const text = summary.trim() === "" ? "" : ` after "${truncate(summary.trim(), 80)}"`;
    throw new CompactionError(`the model called a tool (${toolCalls.join(", ")})${text} instead of writing a summary`);
  }
  if (summary.trim() === "") throw new CompactionError("the model returned an empty summary");
  const floor = summaryFloorChars(request.messages);
  if (summary.trim().length < floor) {
    throw new CompactionError(`the model's answer is too short to be a summary (${summary.trim().length} characters, at least ${floor} needed): "${truncate(summary.trim(), 80)}"`);
  }
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
