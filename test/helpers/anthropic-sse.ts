/**
 * Builders of Anthropic Messages API responses for FakeProvider: a logical turn (text chunks,
 * thinking with its signature, tool calls with argument chunks, usage, stop reason) → the SSE
 * event list the API streams (https://platform.claude.com/docs/en/build-with-claude/streaming),
 * plus error responses in the API's JSON error shape (https://platform.claude.com/docs/en/api/errors).
 *
 * Every event carries its `event:` line, as the API sends it (the SDK drops events without one).
 * Low-level builders are exported too, for streams that break off (disconnect, stall, error).
 */
import type { FakeResponse, SseStep } from "./fake-provider.js";

export type AnthropicBlock =
  | { type: "text"; chunks: string[] }
  /** `chunks` defaults to `text` split after each whitespace run (as the scripted model splits thinking). */
  | { type: "thinking"; text?: string; chunks?: string[]; signature: string }
  /** `chunks` defaults to the input's JSON split into 16-character deltas (as the scripted model does). */
  | { type: "tool_use"; id: string; name: string; input: unknown; chunks?: string[] };

export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface AnthropicTurn {
  blocks: AnthropicBlock[];
  usage?: AnthropicUsage;
  /** Defaults to `tool_use` when a block is a tool call, else `end_turn`. */
  stopReason?: string;
  model?: string;
}

/** Split JSON text into 16-character deltas, exactly as the scripted model does. */
export function splitJson16(json: string): string[] {
  const chunks: string[] = [];
  for (let index = 0; index < json.length; index += 16) chunks.push(json.slice(index, index + 16));
  return chunks.length > 0 ? chunks : [""];
}

/** Split text after each whitespace run, exactly as the scripted model splits thinking: "a b  c" → ["a ", "b  ", "c"]. */
export function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

const sse = (event: string, data: Record<string, unknown>): SseStep => ({ event, data: { type: event, ...data } });

export function messageStart(usage: AnthropicUsage = {}, model = "claude-sonnet-4-5"): SseStep {
  return sse("message_start", {
    message: {
      id: "msg_fake_01",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens ?? 25,
        output_tokens: 1,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
      },
    },
  });
}

export const ping = (): SseStep => sse("ping", {});

export function textStart(index: number): SseStep {
  return sse("content_block_start", { index, content_block: { type: "text", text: "" } });
}
export function textDelta(index: number, text: string): SseStep {
  return sse("content_block_delta", { index, delta: { type: "text_delta", text } });
}
export function blockStop(index: number): SseStep {
  return sse("content_block_stop", { index });
}

/** The events of one content block at `index`. */
export function blockEvents(block: AnthropicBlock, index: number): SseStep[] {
  switch (block.type) {
    case "text":
      return [textStart(index), ...block.chunks.map((chunk) => textDelta(index, chunk)), blockStop(index)];
    case "thinking":
      return [
        sse("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }),
        ...(block.chunks ?? splitWords(block.text ?? "")).map((chunk) => sse("content_block_delta", { index, delta: { type: "thinking_delta", thinking: chunk } })),
        sse("content_block_delta", { index, delta: { type: "signature_delta", signature: block.signature } }),
        blockStop(index),
      ];
    case "tool_use": {
      const chunks = block.chunks ?? splitJson16(JSON.stringify(block.input));
      return [
        sse("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } }),
        ...chunks.map((chunk) => sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: chunk } })),
        blockStop(index),
      ];
    }
  }
}

export function messageDelta(stopReason: string, usage: AnthropicUsage = {}): SseStep {
  return sse("message_delta", {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: {
      output_tokens: usage.output_tokens ?? 12,
      ...(usage.input_tokens !== undefined ? { input_tokens: usage.input_tokens } : {}),
      ...(usage.cache_read_input_tokens !== undefined ? { cache_read_input_tokens: usage.cache_read_input_tokens } : {}),
      ...(usage.cache_creation_input_tokens !== undefined ? { cache_creation_input_tokens: usage.cache_creation_input_tokens } : {}),
    },
  });
}

export const messageStop = (): SseStep => sse("message_stop", {});

/** An in-stream `event: error`, e.g. `streamError("overloaded_error", "Overloaded")`. */
export function streamError(type: string, message: string): SseStep {
  return { event: "error", data: { type: "error", error: { type, message } } };
}

/** The whole SSE event list of a turn. */
export function anthropicSse(turn: AnthropicTurn): SseStep[] {
  const stopReason = turn.stopReason ?? (turn.blocks.some((block) => block.type === "tool_use") ? "tool_use" : "end_turn");
  return [
    messageStart(turn.usage, turn.model),
    ping(),
    ...turn.blocks.flatMap((block, index) => blockEvents(block, index)),
    messageDelta(stopReason, turn.usage),
    messageStop(),
  ];
}

/** A 200 streaming response for FakeProvider. */
export function anthropicStream(turn: AnthropicTurn): FakeResponse {
  return { sse: anthropicSse(turn), headers: { "request-id": "req_fake" } };
}

/** An HTTP error response in the API's shape: `{"type":"error","error":{"type","message"}}`. */
export function anthropicError(status: number, type: string, message: string, headers: Record<string, string> = {}): FakeResponse {
  return { status, headers: { "request-id": "req_fake_error", ...headers }, json: { type: "error", error: { type, message }, request_id: "req_fake_error" } };
}
