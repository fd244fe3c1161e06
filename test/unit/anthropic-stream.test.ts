/** Anthropic stream events → neutral parts, stop reasons and usage (src/model/anthropic/stream-mapper.ts, map-stop-reason.ts). */
import { describe, expect, it } from "vitest";
import { mapStopReason, mergeUsage, normaliseUsage } from "../../src/model/anthropic/map-stop-reason.js";
import { StreamMapper } from "../../src/model/anthropic/stream-mapper.js";
import type { StreamPart } from "../../src/model/types.js";
import { anthropicSse, blockStop, messageStart, textDelta, textStart, type AnthropicTurn } from "../helpers/anthropic-sse.js";
import type { SseStep } from "../helpers/fake-provider.js";

/** Feed the data of SSE steps (as the SDK parses them) through one mapper. */
function mapSteps(steps: SseStep[], mapper = new StreamMapper()): StreamPart[] {
  return steps.flatMap((step) => ("data" in step ? mapper.push(step.data as { type: string }) : []));
}
const map = (turn: AnthropicTurn): StreamPart[] => mapSteps(anthropicSse(turn));

describe("StreamMapper", () => {
  it("maps a text turn, with usage from message_start (input) and message_delta (output)", () => {
    const parts = map({ blocks: [{ type: "text", chunks: ["Hello ", "world"] }], usage: { input_tokens: 30, output_tokens: 7 } });
    expect(parts).toEqual([
      { type: "text-start" },
      { type: "text-delta", text: "Hello " },
      { type: "text-delta", text: "world" },
      { type: "text-end" },
      {
        type: "finish",
        reason: "stop",
        usage: { inputTokens: 30, outputTokens: 7, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
        raw: {
          stop_reason: "end_turn",
          stop_sequence: null,
          usage: { input_tokens: 30, output_tokens: 7, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        },
      },
    ]);
  });

  it("maps thinking with the signature from signature_delta onto reasoning-end", () => {
    const parts = map({ blocks: [{ type: "thinking", chunks: ["Let me ", "think."], signature: "EqQBCgIYAh" }, { type: "text", chunks: ["42"] }] });
    expect(parts.slice(0, 6)).toEqual([
      { type: "reasoning-start" },
      { type: "reasoning-delta", text: "Let me " },
      { type: "reasoning-delta", text: "think." },
      { type: "reasoning-end", signature: "EqQBCgIYAh" },
      { type: "text-start" },
      { type: "text-delta", text: "42" },
    ]);
  });

  it("carries a redacted_thinking block's encrypted data on reasoning-end", () => {
    const mapper = new StreamMapper();
    const parts = [
      { type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "x", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } },
      { type: "content_block_start", index: 0, content_block: { type: "redacted_thinking", data: "ENCRYPTED==" } },
      { type: "content_block_stop", index: 0 },
    ].flatMap((event) => mapper.push(event as { type: string }));
    expect(parts).toEqual([{ type: "reasoning-start" }, { type: "reasoning-end", redactedData: "ENCRYPTED==" }]);
  });

  it("maps parallel tool_use blocks, each to input deltas and a complete tool-call", () => {
    const parts = map({
      blocks: [
        { type: "tool_use", id: "toolu_a", name: "list_files", input: {}, chunks: ["", "{}"] },
        { type: "tool_use", id: "toolu_b", name: "read_file", input: { path: "a.txt" }, chunks: ['{"path":', ' "a.txt"}'] },
      ],
    });
    expect(parts).toEqual([
      { type: "tool-input-start", id: "toolu_a", name: "list_files" },
      { type: "tool-input-delta", id: "toolu_a", delta: "{}" },
      { type: "tool-input-end", id: "toolu_a" },
      { type: "tool-call", id: "toolu_a", name: "list_files", input: "{}" },
      { type: "tool-input-start", id: "toolu_b", name: "read_file" },
      { type: "tool-input-delta", id: "toolu_b", delta: '{"path":' },
      { type: "tool-input-delta", id: "toolu_b", delta: ' "a.txt"}' },
      { type: "tool-input-end", id: "toolu_b" },
      { type: "tool-call", id: "toolu_b", name: "read_file", input: '{"path": "a.txt"}' },
      expect.objectContaining({ type: "finish", reason: "tool-calls" }),
    ]);
  });

  it("gives a tool call with no input deltas the input {}", () => {
    const parts = map({ blocks: [{ type: "tool_use", id: "toolu_x", name: "list_files", input: {}, chunks: [""] }] });
    expect(parts).toContainEqual({ type: "tool-call", id: "toolu_x", name: "list_files", input: "{}" });
    expect(parts.filter((part) => part.type === "tool-input-delta")).toEqual([]);
  });

  it("takes cache read / write counts and lets cumulative message_delta counts win", () => {
    const parts = map({ blocks: [{ type: "text", chunks: ["x"] }], usage: { input_tokens: 5, output_tokens: 3, cache_read_input_tokens: 900, cache_creation_input_tokens: 120 } });
    expect(parts.at(-1)).toMatchObject({
      type: "finish",
      usage: { inputTokens: 5, outputTokens: 3, cacheReadInputTokens: 900, cacheCreationInputTokens: 120 },
    });
  });

  it("is complete only after message_stop; blocks left open are closed there", () => {
    const mapper = new StreamMapper();
    const parts = mapSteps([messageStart(), textStart(0), textDelta(0, "partial")], mapper);
    expect(parts).toEqual([{ type: "text-start" }, { type: "text-delta", text: "partial" }]);
    expect(mapper.isComplete).toBe(false);
    expect(mapper.push({ type: "message_stop" })).toEqual([{ type: "text-end" }, expect.objectContaining({ type: "finish", reason: "other" })]);
    expect(mapper.isComplete).toBe(true);
  });

  it("ignores ping, unknown events, unknown block types and deltas for unknown blocks", () => {
    const mapper = new StreamMapper();
    expect(mapper.push({ type: "ping" })).toEqual([]);
    expect(mapper.push({ type: "future_event" })).toEqual([]);
    expect(mapSteps([{ event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "future_block", data: "x" } } }], mapper)).toEqual([]);
    expect(mapSteps([textDelta(7, "orphan"), blockStop(0), blockStop(7)], mapper)).toEqual([]);
  });
});

describe("mapStopReason", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["tool_use", "tool-calls"],
    ["max_tokens", "length"],
    ["refusal", "content-filter"],
    ["pause_turn", "other"],
    ["model_context_window_exceeded", "other"],
    [null, "other"],
  ] as const)("%s → %s", (reason, expected) => {
    expect(mapStopReason(reason)).toBe(expected);
  });
});

describe("normaliseUsage / mergeUsage", () => {
  it("renames the counts and leaves null ones out", () => {
    expect(normaliseUsage({ input_tokens: 1, output_tokens: 2, cache_read_input_tokens: null, cache_creation_input_tokens: 4 })).toEqual({
      inputTokens: 1,
      outputTokens: 2,
      cacheCreationInputTokens: 4,
    });
    expect(normaliseUsage(undefined)).toEqual({});
  });

  it("lets later counts replace earlier ones", () => {
    expect(mergeUsage({ inputTokens: 10, outputTokens: 1 }, { outputTokens: 50 })).toEqual({ inputTokens: 10, outputTokens: 50 });
  });
});
