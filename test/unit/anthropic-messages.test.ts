/** ModelMessage[] → Anthropic request pieces (src/model/anthropic/to-anthropic-messages.ts). */
import { describe, expect, it } from "vitest";
import {
  CONTINUE_TEXT,
  CONVERSATION_START_TEXT,
  toAnthropicMessages,
  toAnthropicSystem,
  toAnthropicTools,
  toolInput,
} from "../../src/model/anthropic/to-anthropic-messages.js";
import type { ModelMessage } from "../../src/model/types.js";

const CACHE = { cache_control: { type: "ephemeral" } };

describe("toAnthropicMessages", () => {
  it("keeps a simple exchange and puts a cache breakpoint on the last block", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "hi" },
      { role: "assistant", content: [{ type: "text", text: "hello" }] },
      { role: "user", content: "list files" },
    ];
    expect(toAnthropicMessages(messages)).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "text", text: "hello" }] },
      { role: "user", content: [{ type: "text", text: "list files", ...CACHE }] },
    ]);
  });

  it("sends a redacted reasoning block back as redacted_thinking, unchanged and without a cache breakpoint", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "q" },
      { role: "assistant", content: [{ type: "reasoning", text: "", redactedData: "ENCRYPTED==" }, { type: "tool-call", id: "t", name: "list_files", arguments: "{}" }] },
      { role: "tool", toolCallId: "t", toolName: "list_files", content: "a.txt", isError: false },
    ];
    const assistant = toAnthropicMessages(messages)[1];
    expect(assistant?.content).toEqual([
      { type: "redacted_thinking", data: "ENCRYPTED==" },
      { type: "tool_use", id: "t", name: "list_files", input: {} },
    ]);
  });

  it("turns tool calls into tool_use (parsed input) and merges consecutive tool results into ONE user message", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Looking." },
          { type: "tool-call", id: "toolu_1", name: "list_files", arguments: '{"path":"."}' },
          { type: "tool-call", id: "toolu_2", name: "read_file", arguments: '{"path":"a.txt"}' },
        ],
      },
      { role: "tool", toolCallId: "toolu_1", toolName: "list_files", content: "a.txt", isError: false },
      { role: "tool", toolCallId: "toolu_2", toolName: "read_file", content: "no such file", isError: true },
    ];
    expect(toAnthropicMessages(messages)).toEqual([
      { role: "user", content: [{ type: "text", text: "go" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Looking." },
          { type: "tool_use", id: "toolu_1", name: "list_files", input: { path: "." } },
          { type: "tool_use", id: "toolu_2", name: "read_file", input: { path: "a.txt" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "a.txt" },
          { type: "tool_result", tool_use_id: "toolu_2", content: "no such file", is_error: true, ...CACHE },
        ],
      },
    ]);
  });

  it("puts history system messages into the user turn, after the tool results", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "go" },
      { role: "assistant", content: [{ type: "tool-call", id: "t1", name: "list_files", arguments: "{}" }] },
      { role: "tool", toolCallId: "t1", toolName: "list_files", content: "", isError: false },
      { role: "system", content: "[notification] build finished" },
    ];
    const converted = toAnthropicMessages(messages);
    expect(converted).toHaveLength(3);
    expect(converted[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "t1" },
        { type: "text", text: "[notification] build finished", ...CACHE },
      ],
    });
  });

  it("orders tool results before text even when a system note came first", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "go" },
      { role: "assistant", content: [{ type: "tool-call", id: "t1", name: "list_files", arguments: "{}" }] },
      { role: "system", content: "note" },
      { role: "tool", toolCallId: "t1", toolName: "list_files", content: "x", isError: false },
    ];
    expect(toAnthropicMessages(messages)[2]?.content).toEqual([
      { type: "tool_result", tool_use_id: "t1", content: "x" },
      { type: "text", text: "note", ...CACHE },
    ]);
  });

  it("merges consecutive user, system and assistant messages", () => {
    const messages: ModelMessage[] = [
      { role: "system", content: "[interrupt] the user interrupted" },
      { role: "user", content: "again" },
      { role: "assistant", content: [{ type: "text", text: "a" }] },
      { role: "assistant", content: [{ type: "text", text: "b" }] },
      { role: "user", content: "c" },
    ];
    expect(toAnthropicMessages(messages)).toEqual([
      { role: "user", content: [{ type: "text", text: "[interrupt] the user interrupted" }, { type: "text", text: "again" }] },
      { role: "assistant", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
      { role: "user", content: [{ type: "text", text: "c", ...CACHE }] },
    ]);
  });

  it("passes thinking back with its signature and drops reasoning without one", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "think" },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "hmm", signature: "sig-1" },
          { type: "reasoning", text: "unsigned" },
          { type: "text", text: "answer" },
        ],
      },
      { role: "user", content: "more" },
    ];
    expect(toAnthropicMessages(messages)[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig-1" },
        { type: "text", text: "answer" },
      ],
    });
  });

  it("makes the conversation start with a user message and end with one", () => {
    const converted = toAnthropicMessages([{ role: "assistant", content: [{ type: "text", text: "partial answer" }] }]);
    expect(converted).toEqual([
      { role: "user", content: [{ type: "text", text: CONVERSATION_START_TEXT }] },
      { role: "assistant", content: [{ type: "text", text: "partial answer" }] },
      { role: "user", content: [{ type: "text", text: CONTINUE_TEXT, ...CACHE }] },
    ]);
    expect(toAnthropicMessages([])).toEqual([{ role: "user", content: [{ type: "text", text: CONVERSATION_START_TEXT, ...CACHE }] }]);
  });

  it("skips empty and whitespace-only text (the API rejects empty text blocks) and merges what is left", () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "a" },
      { role: "assistant", content: [{ type: "text", text: "  " }] },
      { role: "user", content: "" },
      { role: "user", content: "b" },
    ];
    expect(toAnthropicMessages(messages)).toEqual([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b", ...CACHE }] }]);
  });

  it("does not put the cache breakpoint on a thinking block", () => {
    const converted = toAnthropicMessages([
      { role: "user", content: "x" },
      { role: "assistant", content: [{ type: "text", text: "t" }, { type: "reasoning", text: "r", signature: "s" }] },
    ]);
    // The appended continue turn carries it; the assistant's thinking stays untouched.
    expect(converted[1]?.content).toEqual([{ type: "text", text: "t" }, { type: "thinking", thinking: "r", signature: "s" }]);
    expect(converted[2]?.content).toEqual([{ type: "text", text: CONTINUE_TEXT, ...CACHE }]);
  });

  it("does not mutate its input", () => {
    const messages: ModelMessage[] = [{ role: "user", content: "x" }];
    const copy = structuredClone(messages);
    toAnthropicMessages(messages);
    expect(messages).toEqual(copy);
  });
});

describe("toolInput", () => {
  it("parses a JSON object and falls back to {} for anything else", () => {
    expect(toolInput('{"path":"."}')).toEqual({ path: "." });
    expect(toolInput("")).toEqual({});
    expect(toolInput('{"path":')).toEqual({});
    expect(toolInput("[1,2]")).toEqual({});
    expect(toolInput('"text"')).toEqual({});
  });
});

describe("toAnthropicSystem and toAnthropicTools", () => {
  it("makes the system prompt one cached text block, or nothing when empty", () => {
    expect(toAnthropicSystem("You are a pod.")).toEqual([{ type: "text", text: "You are a pod.", ...CACHE }]);
    expect(toAnthropicSystem(" ")).toBeUndefined();
  });

  it("maps tool specs to name / description / input_schema, or nothing when there are none", () => {
    const inputSchema = { type: "object", properties: { path: { type: "string" } } };
    expect(toAnthropicTools([{ name: "list_files", description: "List files.", inputSchema }])).toEqual([
      { name: "list_files", description: "List files.", input_schema: inputSchema },
    ]);
    expect(toAnthropicTools([])).toBeUndefined();
  });
});
