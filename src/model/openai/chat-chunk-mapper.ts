/**
 * ChatChunkMapper: turns the `chat.completion.chunk` objects of one streamed Chat Completions
 * response into neutral StreamParts. It owns the block state (which text or reasoning block
 * is open, which tool calls are being assembled); it does no I/O and knows nothing of the
 * SDK, retries or abort (openai-model.ts drives it).
 *
 * Format (OpenAI API reference, "The chat completion chunk object"; "Streaming" guide):
 * `choices[0].delta` carries `role?`, `content?`, `refusal?` and `tool_calls?[{index, id?,
 * type?, function: {name?, arguments?}}]`, where a tool call's `id` and `name` come in its
 * first delta and `arguments` arrive as JSON text fragments; `finish_reason` ends the choice;
 * with `stream_options.include_usage` a last chunk has `choices: []` and `usage`.
 *
 * Tolerated, because OpenAI-compatible servers do it:
 * - no `role` in the first delta (llama.cpp server; the SDK's `.stream()` helper rejects it);
 * - chunks with empty `choices`, or no `delta`;
 * - reasoning text in `delta.reasoning_content` (DeepSeek API, vLLM, llama.cpp server) or
 *   `delta.reasoning` (vLLM ≥ 0.9, Ollama, OpenRouter) → reasoning parts;
 * - tool calls without `id` (an id `call_<n>` is generated) or without `index` (the position
 *   in `tool_calls` is used: ollama/ollama#7881), and `index` reused for a different call
 *   (ollama/ollama#15457: a delta with a new `id` at an occupied index starts a new call);
 * - `arguments` sent as a JSON object instead of text (serialised);
 * - `finish_reason: "stop"` although tool calls were made (Ollama, older llama.cpp) → reported
 *   as tool-calls;
 * - no usage chunk (finish usage is `{}`), and no `[DONE]` after the finish_reason.
 *
 * Part order: a text or reasoning block is closed (text-end / reasoning-end) when the other
 * kind of block or the first tool call starts, or at the finish_reason; every tool call gets
 * tool-input-start when it first appears (with its name) and tool-input-delta per fragment,
 * then, at the finish_reason (or the end of the stream), tool-input-end and a `tool-call` part
 * with the complete argument text ("{}" when empty), in the order the calls appeared (index
 * order). `finish` comes last, from `end()`, so that usage sent after the finish_reason counts.
 */
import { ProviderError } from "../../errors.js";
import type { StreamPart, Usage } from "../types.js";
import { type ChatUsage, mapFinishReason, mapUsage } from "./finish-reason.js";

/** A streamed chunk as servers really send it: every field optional. */
export interface ChatChunk {
  choices?: ChatChoice[] | null;
  usage?: ChatUsage | null;
}

export interface ChatChoice {
  index?: number;
  delta?: ChatDelta | null;
  finish_reason?: string | null;
}

export interface ChatDelta {
  role?: string | null;
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: ChatToolCallDelta[] | null;
}

export interface ChatToolCallDelta {
  index?: number;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: unknown } | null;
}

interface ToolCallState {
  /** The id the server sent, if any (to tell a reused index from a continuation). */
  serverId?: string;
  id: string;
  name?: string;
  argumentsText: string;
  started: boolean;
  ended: boolean;
}

/** The message of the error thrown when a stream ends with no finish_reason. */
export const INCOMPLETE_STREAM_MESSAGE = "the stream ended before the response was complete";

export class ChatChunkMapper {
  private openBlock: "text" | "reasoning" | undefined;
  private toolCalls: ToolCallState[] = [];
  private readonly toolCallsByIndex = new Map<number, ToolCallState>();
  private toolCallCount = 0;
  private finishReason: string | undefined;
  private usage: Usage = {};
  private rawUsage: ChatUsage | undefined;
  private readonly newToolCallId: () => string;

  /** `newToolCallId` names a tool call the server sent without an id (e.g. `call_7`); it must be unique in the session. */
  constructor(options: { newToolCallId: () => string }) {
    this.newToolCallId = options.newToolCallId;
  }

  /** Whether a finish_reason has arrived: the response content is complete (only usage may still come). */
  get isComplete(): boolean {
    return this.finishReason !== undefined;
  }

  /** The parts one chunk produces, in order. */
  push(chunk: ChatChunk): StreamPart[] {
    const parts: StreamPart[] = [];
    if (chunk.usage) {
      this.rawUsage = chunk.usage;
      this.usage = mapUsage(chunk.usage);
    }
    const choices = chunk.choices ?? [];
    const choice = choices.find((candidate) => candidate.index === 0) ?? choices[0];
    if (!choice) return parts;
    const delta = choice.delta ?? {};
    const reasoning = firstText(delta.reasoning_content, delta.reasoning);
    if (reasoning) this.blockDelta("reasoning", reasoning, parts);
    const text = firstText(delta.content, delta.refusal);
    if (text) this.blockDelta("text", text, parts);
    (delta.tool_calls ?? []).forEach((call, position) => this.toolCallDelta(call, position, parts));
    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.closeAll(parts);
    }
    return parts;
  }

  /**
   * The closing parts at the end of the stream: any open block and tool call, then `finish`.
   * Throws a retryable ProviderError when no finish_reason arrived (a truncated stream).
   */
  end(): StreamPart[] {
    if (this.finishReason === undefined) throw new ProviderError(INCOMPLETE_STREAM_MESSAGE, { retryable: true });
    const parts: StreamPart[] = [];
    this.closeAll(parts);
    let reason = mapFinishReason(this.finishReason);
    if (reason === "stop" && this.toolCallCount > 0) reason = "tool-calls";
    parts.push({ type: "finish", reason, usage: this.usage, raw: { finish_reason: this.finishReason, usage: this.rawUsage } });
    return parts;
  }

  private blockDelta(kind: "text" | "reasoning", text: string, parts: StreamPart[]): void {
    if (this.openBlock !== kind) {
      this.closeBlock(parts);
      this.openBlock = kind;
      parts.push({ type: kind === "text" ? "text-start" : "reasoning-start" });
    }
    parts.push(kind === "text" ? { type: "text-delta", text } : { type: "reasoning-delta", text });
  }

  private closeBlock(parts: StreamPart[]): void {
    if (this.openBlock === "text") parts.push({ type: "text-end" });
    if (this.openBlock === "reasoning") parts.push({ type: "reasoning-end" });
    this.openBlock = undefined;
  }

  private toolCallDelta(call: ChatToolCallDelta, position: number, parts: StreamPart[]): void {
    this.closeBlock(parts);
    const index = typeof call.index === "number" ? call.index : position;
    const serverId = typeof call.id === "string" && call.id !== "" ? call.id : undefined;
    let state = this.toolCallsByIndex.get(index);
    const name = call.function?.name;
    const namesAnotherCall = typeof name === "string" && name !== "" && state?.name !== undefined && serverId === undefined;
    // A new call at an occupied index: a different server id (ollama/ollama#15457), or — from a
    // server that sends neither ids nor indexes — a delta that names a tool when the call there
    // already has its name (each such delta starts the next call).
    if (state && (state.ended || (serverId !== undefined && state.serverId !== undefined && serverId !== state.serverId) || namesAnotherCall)) state = undefined;
    if (!state) {
      // Calls stream one after another: a new call means those already named are complete,
      // so they end now (as with the other providers), not only at finish_reason.
      this.endStartedToolCalls(parts);
      state = { serverId, id: serverId ?? this.newToolCallId(), argumentsText: "", started: false, ended: false };
      this.toolCallsByIndex.set(index, state);
      this.toolCalls.push(state);
      this.toolCallCount += 1;
    }
    if (!state.name && typeof name === "string" && name !== "") state.name = name;
    const fragment = argumentsText(call.function?.arguments);
    if (!state.started && state.name) {
      state.started = true;
      parts.push({ type: "tool-input-start", id: state.id, name: state.name });
      if (state.argumentsText !== "") parts.push({ type: "tool-input-delta", id: state.id, delta: state.argumentsText });
    }
    if (fragment === "") return;
    state.argumentsText += fragment;
    if (state.started) parts.push({ type: "tool-input-delta", id: state.id, delta: fragment });
  }

  /** Close the open block and end every open tool call. */
  private closeAll(parts: StreamPart[]): void {
    this.closeBlock(parts);
    for (const state of this.toolCalls) this.endToolCall(state, parts);
    this.toolCalls = [];
  }

  /** End the calls that have started (have a name); one still waiting for its name stays open. */
  private endStartedToolCalls(parts: StreamPart[]): void {
    for (const state of this.toolCalls) if (state.started && !state.ended) this.endToolCall(state, parts);
    this.toolCalls = this.toolCalls.filter((state) => !state.ended);
  }

  private endToolCall(state: ToolCallState, parts: StreamPart[]): void {
    const name = state.name ?? "";
    if (!state.started) {
      state.started = true;
      parts.push({ type: "tool-input-start", id: state.id, name });
      if (state.argumentsText !== "") parts.push({ type: "tool-input-delta", id: state.id, delta: state.argumentsText });
    }
    state.ended = true;
    parts.push({ type: "tool-input-end", id: state.id });
    parts.push({ type: "tool-call", id: state.id, name, input: state.argumentsText.trim() === "" ? "{}" : state.argumentsText });
  }
}

function firstText(...candidates: (string | null | undefined)[]): string | undefined {
  return candidates.find((candidate): candidate is string => typeof candidate === "string" && candidate !== "");
}

function argumentsText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  return JSON.stringify(value);
}
