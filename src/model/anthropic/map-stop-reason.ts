/**
 * Anthropic's `stop_reason` and `usage` → the neutral FinishReason and Usage. Pure functions.
 *
 * Stop reasons are those of the Messages API (https://platform.claude.com/docs/en/api/handling-stop-reasons):
 * `end_turn` and `stop_sequence` end normally, `tool_use` asks for tools, `max_tokens` hit the
 * output cap, `refusal` is the safety classifier stopping the answer; `pause_turn`,
 * `model_context_window_exceeded` and anything newer are `other`.
 *
 * Usage (https://platform.claude.com/docs/en/build-with-claude/streaming#event-types): input and
 * cache counts arrive in `message_start`; `message_delta` carries the cumulative counts, with
 * the final `output_tokens`. A non-null count in the delta therefore replaces the earlier one.
 */
import type { FinishReason, Usage } from "../types.js";

export function mapStopReason(stopReason: string | null | undefined): FinishReason {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "tool_use":
      return "tool-calls";
    case "max_tokens":
      return "length";
    case "refusal":
      return "content-filter";
    default:
      return "other";
  }
}

/** The token counts of an Anthropic `usage` object (message_start or message_delta); null and absent counts are left out. */
export interface AnthropicUsageCounts {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Normalise one Anthropic usage object; absent or null counts stay undefined. */
export function normaliseUsage(usage: AnthropicUsageCounts | null | undefined): Usage {
  const result: Usage = {};
  if (typeof usage?.input_tokens === "number") result.inputTokens = usage.input_tokens;
  if (typeof usage?.output_tokens === "number") result.outputTokens = usage.output_tokens;
  if (typeof usage?.cache_read_input_tokens === "number") result.cacheReadInputTokens = usage.cache_read_input_tokens;
  if (typeof usage?.cache_creation_input_tokens === "number") result.cacheCreationInputTokens = usage.cache_creation_input_tokens;
  return result;
}

/** Merge the cumulative counts of a later usage object (message_delta) over earlier ones (message_start). */
export function mergeUsage(earlier: Usage, later: Usage): Usage {
  return { ...earlier, ...later };
}
