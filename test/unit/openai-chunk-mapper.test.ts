/**
 * ChatChunkMapper: chunk sequences as OpenAI and OpenAI-compatible servers send them → neutral
 * stream parts (block order, parallel tool calls by index, local-server quirks, finish).
 */
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { ChatChunkMapper, INCOMPLETE_STREAM_MESSAGE, type ChatChunk } from "../../src/model/openai/chat-chunk-mapper.js";
import type { StreamPart } from "../../src/model/types.js";
import { openAIChunks, type OpenAITurn } from "../helpers/openai-sse.js";

function mapper(): ChatChunkMapper {
  let n = 0;
  return new ChatChunkMapper({ newToolCallId: () => `call_${++n}` });
}

/** Every part of a whole response, `end()` included. */
function mapAll(chunks: readonly ChatChunk[]): StreamPart[] {
  const state = mapper();
  return [...chunks.flatMap((chunk) => state.push(chunk)), ...state.end()];
}

function mapTurn(turn: OpenAITurn): StreamPart[] {
  return mapAll(openAIChunks(turn) as ChatChunk[]);
}

const delta = (value: Record<string, unknown>, finish_reason: string | null = null): ChatChunk => ({ choices: [{ index: 0, delta: value, finish_reason }] });

describe("ChatChunkMapper", () => {
  it("maps a text response: one block, then finish with usage", () => {
    expect(mapTurn({ text: ["Hel", "lo"], usage: { prompt_tokens: 11, completion_tokens: 2, cached_tokens: 4 } })).toEqual([
      { type: "text-start" },
      { type: "text-delta", text: "Hel" },
      { type: "text-delta", text: "lo" },
      { type: "text-end" },
      {
        type: "finish",
        reason: "stop",
        // 11 prompt tokens less the 4 cached: Usage counts uncached input (Anthropic's meaning).
        usage: { inputTokens: 7, outputTokens: 2, cacheReadInputTokens: 4 },
        raw: { finish_reason: "stop", usage: expect.objectContaining({ prompt_tokens: 11 }) },
      },
    ]);
  });

  it("maps reasoning_content and reasoning deltas to a reasoning block closed before the text", () => {
    for (const field of ["reasoning_content", "reasoning"] as const) {
      const parts = mapTurn({ reasoning: ["Think", "ing."], text: ["Answer."], quirks: { reasoningField: field } });
      expect(parts.map((part) => part.type)).toEqual([
        "reasoning-start", "reasoning-delta", "reasoning-delta", "reasoning-end", "text-start", "text-delta", "text-end", "finish",
      ]);
      expect(parts[1]).toEqual({ type: "reasoning-delta", text: "Think" });
    }
  });

  it("closes the text block when the first tool call starts and emits tool-call parts at the finish_reason", () => {
    const state = mapper();
    const chunks = openAIChunks({ text: ["Let me look."], toolCalls: [{ id: "call_a", name: "read_file", argumentChunks: ['{"path":', '"a.txt"}'] }] }) as ChatChunk[];
    const parts = chunks.map((chunk) => state.push(chunk));
    const flat = parts.flat();
    expect(flat).toEqual([
      { type: "text-start" },
      { type: "text-delta", text: "Let me look." },
      { type: "text-end" },
      { type: "tool-input-start", id: "call_a", name: "read_file" },
      { type: "tool-input-delta", id: "call_a", delta: '{"path":' },
      { type: "tool-input-delta", id: "call_a", delta: '"a.txt"}' },
      { type: "tool-input-end", id: "call_a" },
      { type: "tool-call", id: "call_a", name: "read_file", input: '{"path":"a.txt"}' },
    ]);
    // The tool-call parts come with the finish_reason chunk, before the usage chunk.
    const finishChunkIndex = chunks.findIndex((chunk) => chunk.choices?.[0]?.finish_reason);
    expect(parts[finishChunkIndex]?.map((part) => part.type)).toEqual(["tool-input-end", "tool-call"]);
    expect(state.isComplete).toBe(true);
    expect(state.end()).toEqual([expect.objectContaining({ type: "finish", reason: "tool-calls" })]);
  });

  it("assembles two parallel tool calls by index, in index order, each ending when the next starts, with '{}' for empty arguments", () => {
    const parts = mapAll([
      delta({ role: "assistant", content: null }),
      delta({ tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "list_files", arguments: "" } }] }),
      delta({ tool_calls: [{ index: 1, id: "call_y", type: "function", function: { name: "read_file", arguments: '{"pa' } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: 'th":"b"}' } }] }),
      delta({}, "tool_calls"),
    ]);
    expect(parts.filter((part) => part.type === "tool-call")).toEqual([
      { type: "tool-call", id: "call_x", name: "list_files", input: "{}" },
      { type: "tool-call", id: "call_y", name: "read_file", input: '{"path":"b"}' },
    ]);
    // Each call ends when the next one starts, as with the other providers (not only at finish_reason).
    expect(parts.map((part) => part.type)).toEqual([
      "tool-input-start", "tool-input-end", "tool-call",
      "tool-input-start", "tool-input-delta", "tool-input-delta", "tool-input-end", "tool-call", "finish",
    ]);
    expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls", usage: {}, raw: { finish_reason: "tool_calls", usage: undefined } });
  });

  it("handles a local server's stream: no role, no tool-call ids, no usage, no [DONE]", () => {
    const parts = mapTurn({
      text: ["Sure."],
      toolCalls: [{ name: "list_files", input: {} }, { name: "read_file", input: { path: "notes.txt" } }],
      quirks: { noRole: true, noIds: true, noUsage: true, noDone: true },
    });
    const calls = parts.filter((part) => part.type === "tool-call");
    expect(calls).toEqual([
      { type: "tool-call", id: "call_1", name: "list_files", input: "{}" },
      { type: "tool-call", id: "call_2", name: "read_file", input: '{"path":"notes.txt"}' },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "tool-calls", usage: {} });
  });

  it("tolerates chunks with empty choices, no delta, and usage inside a content chunk", () => {
    const parts = mapAll([
      { choices: [] },
      { choices: [{ index: 0, finish_reason: null }] },
      delta({ content: "ok" }),
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1 } },
    ]);
    expect(parts).toEqual([
      { type: "text-start" },
      { type: "text-delta", text: "ok" },
      { type: "text-end" },
      { type: "finish", reason: "stop", usage: { inputTokens: 3, outputTokens: 1 }, raw: expect.anything() },
    ]);
  });

  it("splits calls that reuse index 0 with different ids (ollama/ollama#15457) and uses the position when index is missing (#7881)", () => {
    const reused = mapAll([
      delta({ tool_calls: [{ index: 0, id: "a", function: { name: "list_files", arguments: "{}" } }] }),
      delta({ tool_calls: [{ index: 0, id: "b", function: { name: "read_file", arguments: '{"path":"x"}' } }] }),
      delta({}, "tool_calls"),
    ]);
    expect(reused.filter((part) => part.type === "tool-call").map((part) => part.type === "tool-call" && [part.id, part.input])).toEqual([
      ["a", "{}"],
      ["b", '{"path":"x"}'],
    ]);
    const noIndex = mapAll([
      delta({ tool_calls: [{ id: "p", function: { name: "list_files", arguments: {} } }, { id: "q", function: { name: "read_file", arguments: { path: "y" } } }] }),
      delta({}, "stop"),
    ]);
    expect(noIndex.filter((part) => part.type === "tool-call")).toEqual([
      { type: "tool-call", id: "p", name: "list_files", input: "{}" },
      { type: "tool-call", id: "q", name: "read_file", input: '{"path":"y"}' },
    ]);
    // finish_reason "stop" with tool calls (Ollama) is reported as tool-calls.
    expect(noIndex.at(-1)).toMatchObject({ type: "finish", reason: "tool-calls" });
  });

  it("keeps calls apart when a server sends neither ids nor indexes, one complete call per chunk", () => {
    const parts = mapAll([
      delta({ tool_calls: [{ function: { name: "read_file", arguments: '{"path":"a"}' } }] }),
      delta({ tool_calls: [{ function: { name: "read_file", arguments: '{"path":"b"}' } }] }),
      delta({}, "tool_calls"),
    ]);
    expect(parts.filter((part) => part.type === "tool-call").map((part) => part.type === "tool-call" && [part.name, part.input])).toEqual([
      ["read_file", '{"path":"a"}'],
      ["read_file", '{"path":"b"}'],
    ]);
  });

  it("holds a tool call back until its name arrives, then replays the buffered arguments", () => {
    const parts = mapAll([
      delta({ tool_calls: [{ index: 0, id: "c", function: { arguments: '{"a":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { name: "read_file", arguments: "1}" } }] }),
      delta({}, "tool_calls"),
    ]);
    expect(parts.slice(0, 3)).toEqual([
      { type: "tool-input-start", id: "c", name: "read_file" },
      { type: "tool-input-delta", id: "c", delta: '{"a":' },
      { type: "tool-input-delta", id: "c", delta: "1}" },
    ]);
  });

  it("maps finish reasons length and content_filter, and treats a refusal as text", () => {
    expect(mapTurn({ text: ["cut"], finishReason: "length" }).at(-1)).toMatchObject({ reason: "length" });
    const refused = mapAll([delta({ refusal: "I can't help with that." }), delta({}, "content_filter")]);
    expect(refused).toMatchObject([{ type: "text-start" }, { type: "text-delta", text: "I can't help with that." }, { type: "text-end" }, { reason: "content-filter" }]);
  });

  it("throws a retryable ProviderError when the stream ends without a finish_reason", () => {
    const state = mapper();
    expect(state.push(delta({ content: "partial" }))).toHaveLength(2);
    expect(state.isComplete).toBe(false);
    let thrown: unknown;
    try {
      state.end();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProviderError);
    expect(thrown).toMatchObject({ message: INCOMPLETE_STREAM_MESSAGE, retryable: true });
  });
});
