/**
 * Chat Completions finish reasons and token usage, mapped to the neutral FinishReason and
 * Usage. Pure functions; the stream state that decides *when* they apply is in
 * chat-chunk-mapper.ts.
 *
 * Source: OpenAI API reference, "The chat completion chunk object" (`choices[].finish_reason`:
 * stop | length | tool_calls | content_filter | function_call (deprecated)) and "usage"
 * (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`; sent in a
 * last chunk with empty `choices` when the request sets `stream_options.include_usage`).
 */
import type { FinishReason, Usage } from "../types.js";

/**
 * stop → stop · tool_calls / function_call → tool-calls · length → length · content_filter →
 * content-filter · anything else a server invents (`eos`, `abort`, …) → other.
 */
export function mapFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case "stop":
      return "stop";
    case "tool_calls":
    case "function_call":
      return "tool-calls";
    case "length":
      return "length";
    case "content_filter":
      return "content-filter";
    default:
      return "other";
  }
}

/** The `usage` object as servers send it: every field may be missing (local servers), or `null`. */
export interface ChatUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}

/**
 * prompt_tokens − cached_tokens → inputTokens (never below 0) · completion_tokens →
 * outputTokens · prompt_tokens_details.cached_tokens → cacheReadInputTokens. OpenAI counts
 * cached tokens inside `prompt_tokens` (Anthropic does not); they are subtracted so that
 * inputTokens has Anthropic's meaning (see Usage in types.ts). Missing, negative or
 * non-numeric fields stay undefined (fractions are rounded); `undefined`/`null` usage gives `{}`.
 */
export function mapUsage(usage: ChatUsage | null | undefined): Usage {
  if (!usage) return {};
  const result: Usage = {};
  const input = count(usage.prompt_tokens);
  const output = count(usage.completion_tokens);
  const cached = count(usage.prompt_tokens_details?.cached_tokens);
  if (input !== undefined) result.inputTokens = Math.max(0, input - (cached ?? 0));
  if (output !== undefined) result.outputTokens = output;
  if (cached !== undefined) result.cacheReadInputTokens = cached;
  return result;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}
