/**
 * Builders for OpenAI Chat Completions streams, for FakeProvider (integration tests) and for
 * the chunk mapper's unit tests: a logical turn (reasoning chunks, text chunks, tool calls with
 * their argument chunks, usage, finish reason) becomes the `chat.completion.chunk` objects and
 * SSE steps a server sends, with flags for the quirks of local OpenAI-compatible servers.
 *
 * Shape follows the API reference ("The chat completion chunk object", "Streaming"): a first
 * delta `{role: "assistant", content: ""}`, content / tool-call deltas, a chunk with an empty
 * delta and `finish_reason`, a usage chunk with `choices: []`, then `data: [DONE]`.
 */
import type { FakeResponse, SseStep } from "./fake-provider.js";

export interface OpenAIToolCall {
  /** The server's id; omitted with `quirks.noIds`. Default `call_srv_<n>`. */
  id?: string;
  name: string;
  /** Argument object; split into 16-character deltas like the scripted model. */
  input?: unknown;
  /** Explicit argument deltas (instead of `input`). */
  argumentChunks?: string[];
}

export interface OpenAITurn {
  model?: string;
  /** Reasoning deltas, sent before the text (`wordChunks(text)` splits them as the scripted model does). */
  reasoning?: string[];
  text?: string[];
  toolCalls?: OpenAIToolCall[];
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
  /** Default `{prompt_tokens: 42, completion_tokens: 7}`. */
  usage?: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number };
  quirks?: {
    /** No `role` in the first delta and no empty first chunk (llama.cpp server). */
    noRole?: boolean;
    /** Tool calls without `id` / `type`. */
    noIds?: boolean;
    /** No usage chunk. */
    noUsage?: boolean;
    /** No `data: [DONE]`; the response just ends. */
    noDone?: boolean;
    /** Where reasoning goes: `reasoning_content` (default; vLLM, DeepSeek, llama.cpp) or `reasoning`. */
    reasoningField?: "reasoning_content" | "reasoning";
  };
  /** A pause before every content chunk (a trickling server), ms. */
  pauseMs?: number;
  /**
   * End the stream abnormally after the content: these steps replace the finish, usage and
   * [DONE] (e.g. `[{disconnect: true}]`, `[{stall: true}]`).
   */
  cut?: SseStep[];
}

/** JSON text split into `size`-character deltas, as the scripted model splits tool arguments. */
export function jsonChunks(input: unknown, size = 16): string[] {
  const json = JSON.stringify(input ?? {});
  const chunks: string[] = [];
  for (let index = 0; index < json.length; index += size) chunks.push(json.slice(index, index + size));
  return chunks;
}

/** Text split after each whitespace run, as the scripted model splits thinking: "a b  c" → ["a ", "b  ", "c"]. */
export function wordChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** The chunk objects of a turn, in order (without `[DONE]` and the `cut` steps). */
export function openAIChunks(turn: OpenAITurn): Record<string, unknown>[] {
  return contentChunks(turn).concat(closingChunks(turn));
}

/** A FakeProvider response streaming `turn`. */
export function openAIStream(turn: OpenAITurn): FakeResponse {
  const sse: SseStep[] = [];
  for (const chunk of contentChunks(turn)) {
    if (turn.pauseMs) sse.push({ pauseMs: turn.pauseMs });
    sse.push({ data: chunk });
  }
  if (turn.cut) return { sse: [...sse, ...turn.cut] };
  for (const chunk of closingChunks(turn)) sse.push({ data: chunk });
  if (!turn.quirks?.noDone) sse.push({ data: "[DONE]" });
  return { sse };
}

/** A FakeProvider JSON error response in OpenAI's shape. */
export function openAIError(
  status: number,
  message: string,
  options: { type?: string; code?: string | null; headers?: Record<string, string> } = {},
): FakeResponse {
  return { status, headers: options.headers, json: { error: { message, type: options.type ?? "invalid_request_error", param: null, code: options.code ?? null } } };
}

function envelope(turn: OpenAITurn, choices: unknown[], usage?: unknown): Record<string, unknown> {
  const chunk: Record<string, unknown> = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1_700_000_000, model: turn.model ?? "fake-model", choices };
  if (!turn.quirks?.noUsage) chunk.usage = usage ?? null;
  return chunk;
}

function deltaChunk(turn: OpenAITurn, delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
  return envelope(turn, [{ index: 0, delta, logprobs: null, finish_reason: finishReason }]);
}

function contentChunks(turn: OpenAITurn): Record<string, unknown>[] {
  const chunks: Record<string, unknown>[] = [];
  const quirks = turn.quirks ?? {};
  if (!quirks.noRole) chunks.push(deltaChunk(turn, { role: "assistant", content: "" }));
  for (const text of turn.reasoning ?? []) chunks.push(deltaChunk(turn, { [quirks.reasoningField ?? "reasoning_content"]: text }));
  for (const text of turn.text ?? []) chunks.push(deltaChunk(turn, { content: text }));
  (turn.toolCalls ?? []).forEach((call, index) => {
    const head: Record<string, unknown> = { index, function: { name: call.name, arguments: "" } };
    if (!quirks.noIds) Object.assign(head, { id: call.id ?? `call_srv_${index + 1}`, type: "function" });
    chunks.push(deltaChunk(turn, { tool_calls: [head] }));
    for (const fragment of call.argumentChunks ?? jsonChunks(call.input)) chunks.push(deltaChunk(turn, { tool_calls: [{ index, function: { arguments: fragment } }] }));
  });
  return chunks;
}

function closingChunks(turn: OpenAITurn): Record<string, unknown>[] {
  const finish = turn.finishReason ?? ((turn.toolCalls ?? []).length > 0 ? "tool_calls" : "stop");
  const chunks = [deltaChunk(turn, {}, finish)];
  if (!turn.quirks?.noUsage) {
    const usage = turn.usage ?? { prompt_tokens: 42, completion_tokens: 7 };
    chunks.push(
      envelope(turn, [], {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
        prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0 },
      }),
    );
  }
  return chunks;
}
