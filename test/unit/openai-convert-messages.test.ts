/** Neutral requests → Chat Completions messages, tools and request body. */
import { describe, expect, it } from "vitest";
import { toChatMessages, toChatTools } from "../../src/model/openai/convert-messages.js";
import { chatRequestBody } from "../../src/model/openai/openai-model.js";
import type { ModelRequest } from "../../src/model/types.js";

const request: ModelRequest = {
  system: "You are a pod.",
  messages: [
    { role: "user", content: "Read a.txt" },
    {
      role: "assistant",
      content: [
        { type: "reasoning", text: "I should read it.", signature: "sig" },
        { type: "text", text: "Reading " },
        { type: "text", text: "it." },
        { type: "tool-call", id: "call_1", name: "read_file", arguments: '{"path":"a.txt"}' },
        { type: "tool-call", id: "call_2", name: "list_files", arguments: "" },
      ],
    },
    { role: "tool", toolCallId: "call_1", toolName: "read_file", content: "1\thello", isError: false },
    { role: "tool", toolCallId: "call_2", toolName: "list_files", content: "error: denied", isError: true },
    { role: "system", content: "[notification] build finished" },
    { role: "assistant", content: [{ type: "tool-call", id: "call_3", name: "list_files", arguments: "{}" }] },
    { role: "tool", toolCallId: "call_3", toolName: "list_files", content: "a.txt", isError: false },
    { role: "assistant", content: [{ type: "reasoning", text: "only thinking" }] },
  ],
  tools: [{ name: "read_file", description: "Read a file.", inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } }],
  maxOutputTokens: 1000,
};

describe("toChatMessages", () => {
  it("puts the system prompt first, keeps mid-history system messages in place, and drops reasoning", () => {
    expect(toChatMessages(request)).toEqual([
      { role: "system", content: "You are a pod." },
      { role: "user", content: "Read a.txt" },
      {
        role: "assistant",
        content: "Reading it.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "read_file", arguments: '{"path":"a.txt"}' } },
          { id: "call_2", type: "function", function: { name: "list_files", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "1\thello" },
      { role: "tool", tool_call_id: "call_2", content: "error: denied" },
      { role: "system", content: "[notification] build finished" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_3", type: "function", function: { name: "list_files", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_3", content: "a.txt" },
      { role: "assistant", content: "" },
    ]);
  });

  it("sends no system message for an empty system prompt", () => {
    expect(toChatMessages({ system: "", messages: [{ role: "user", content: "hi" }] })).toEqual([{ role: "user", content: "hi" }]);
  });
});

describe("toChatTools and chatRequestBody", () => {
  it("declares function tools with the spec's JSON Schema as parameters", () => {
    expect(toChatTools(request.tools)).toEqual([
      { type: "function", function: { name: "read_file", description: "Read a file.", parameters: request.tools[0]?.inputSchema } },
    ]);
  });

  it("uses max_completion_tokens for openai and max_tokens for compatible servers, asks for usage, omits empty tools", () => {
    const limits = { contextWindow: 128_000, maxOutputTokens: 4096 };
    const openai = chatRequestBody(request, { config: { provider: "openai", model: "gpt-4.1", temperature: 0.2 }, limits });
    expect(openai).toMatchObject({ model: "gpt-4.1", stream: true, stream_options: { include_usage: true }, max_completion_tokens: 1000, temperature: 0.2 });
    expect(openai).not.toHaveProperty("max_tokens");
    expect(openai.tools).toHaveLength(1);
    const local = chatRequestBody({ ...request, tools: [] }, { config: { provider: "openai-compatible", model: "llama3.1" }, limits });
    expect(local).toMatchObject({ model: "llama3.1", max_tokens: 1000 });
    expect(local).not.toHaveProperty("max_completion_tokens");
    expect(local).not.toHaveProperty("tools");
    expect(local).not.toHaveProperty("temperature");
  });

  it("sends tool_choice none when the request may not call tools, only beside tools", () => {
    const limits = { contextWindow: 128_000, maxOutputTokens: 4096 };
    const config = { provider: "openai-compatible" as const, model: "llama3.1" };
    expect(chatRequestBody({ ...request, toolChoice: "none" }, { config, limits })).toMatchObject({ tool_choice: "none" });
    expect(chatRequestBody(request, { config, limits })).not.toHaveProperty("tool_choice");
    expect(chatRequestBody({ ...request, tools: [], toolChoice: "none" }, { config, limits })).not.toHaveProperty("tool_choice");
  });

  it("sends a compatible server no guessed cap: only the profile's max_tokens or an explicit request cap", () => {
    const limits = { contextWindow: 128_000, maxOutputTokens: 8192 };
    const compatible = { provider: "openai-compatible" as const, model: "llama3.1" };
    expect(chatRequestBody({ ...request, maxOutputTokens: 8192 }, { config: compatible, limits })).not.toHaveProperty("max_tokens");
    expect(chatRequestBody({ ...request, maxOutputTokens: undefined }, { config: compatible, limits })).not.toHaveProperty("max_tokens");
    const configured = { ...compatible, maxOutputTokens: 2048 };
    expect(chatRequestBody({ ...request, maxOutputTokens: 2048 }, { config: configured, limits: { ...limits, maxOutputTokens: 2048 } })).toMatchObject({ max_tokens: 2048 });
  });
});
