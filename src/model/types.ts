/**
 * The provider-neutral streaming model interface (style.md #5, after vercel/ai). The agent
 * loop sees only these parts; every provider detail (message conversion, stop reasons,
 * error mapping, retries) stays in the adapter folders beside this file.
 */
import type { ProviderError } from "../errors.js";

export type AssistantPart =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string; signature?: string; redactedData?: string }
  | { type: "tool-call"; id: string; name: string; arguments: string };

export type ModelMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: AssistantPart[] }
  | { role: "tool"; toolCallId: string; toolName: string; content: string; isError: boolean };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the tool input (draft 2020-12, generated from zod with `io: "input"`). */
  inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  system: string;
  messages: ModelMessage[];
  tools: ToolSpec[];
  /** Cap on generated tokens for this request. */
  maxOutputTokens?: number;
  /**
   * `none`: the model must answer in text and call no tool, though `tools` are sent (history
   * with tool calls needs them on Anthropic). Adapters send the provider's own switch
   * (Anthropic `tool_choice: {type: "none"}`, OpenAI `tool_choice: "none"`); default `auto`.
   */
  toolChoice?: "auto" | "none";
}

/**
 * Token counts of one model call, normalised across providers to Anthropic's meaning (the
 * reference's): `inputTokens` are the input tokens neither read from nor written to the prompt
 * cache, so the whole prompt is `inputTokens + cacheReadInputTokens + cacheCreationInputTokens`.
 * (OpenAI's `prompt_tokens` includes its cached tokens; its adapter subtracts them.)
 */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
}

export type FinishReason = "stop" | "tool-calls" | "length" | "content-filter" | "other";

export type StreamPart =
  | { type: "text-start" }
  | { type: "text-delta"; text: string }
  | { type: "text-end" }
  | { type: "reasoning-start" }
  | { type: "reasoning-delta"; text: string }
  /** `redactedData`: an encrypted reasoning block (no text) to be sent back unchanged. */
  | { type: "reasoning-end"; signature?: string; redactedData?: string }
  | { type: "tool-input-start"; id: string; name: string }
  | { type: "tool-input-delta"; id: string; delta: string }
  | { type: "tool-input-end"; id: string }
  /** A complete tool call; `input` is the JSON text of the arguments. */
  | { type: "tool-call"; id: string; name: string; input: string }
  /** A retry was scheduled after a failed attempt (the source of `llm_retry` events). */
  | { type: "retry"; failedAttempt: number; maxAttempts: number; waitMs: number; elapsedMs: number; status?: number; error: string }
  | { type: "finish"; reason: FinishReason; usage: Usage; raw?: unknown }
  | { type: "error"; error: ProviderError };

export interface ModelInfo {
  /** Provider name as shown in the greeting, e.g. `scripted`, `anthropic`, `openai_chat`. */
  provider: string;
  model: string;
  /** Context window, tokens. */
  contextWindow: number;
  /** Default cap on output tokens per request. */
  maxOutputTokens: number;
}

export interface LanguageModel {
  readonly info: ModelInfo;
  /**
   * Stream one model call. On abort the iterator may end early without an error (as both
   * vendor SDKs do): callers check `signal.aborted` after the loop.
   */
  stream(request: ModelRequest, options: { signal: AbortSignal }): AsyncIterable<StreamPart>;
}
