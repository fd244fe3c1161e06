/**
 * The Anthropic adapter in-process, through the real SDK to FakeProvider: the request it
 * builds, abort and stall behaviour, and what the SDK does at the edges (cut streams, in-stream
 * errors). Pod-level behaviour is in test/integration/provider-anthropic.test.ts.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAnthropicModel, INCOMPLETE_STREAM_MESSAGE } from "../../src/model/anthropic/anthropic-model.js";
import type { ProviderModelOptions } from "../../src/model/provider-options.js";
import type { LanguageModel, ModelRequest, StreamPart } from "../../src/model/types.js";
import { anthropicError, anthropicStream, messageStart, streamError, textDelta, textStart } from "../helpers/anthropic-sse.js";
import { FakeProvider } from "../helpers/fake-provider.js";

const KEY = "sk-ant-test-SECRET-1234";

let fake: FakeProvider;
beforeEach(async () => {
  fake = await FakeProvider.start();
});
afterEach(async () => {
  await fake.close();
});

function model(overrides: Partial<ProviderModelOptions> = {}, config: Partial<ProviderModelOptions["config"]> = {}): LanguageModel {
  return createAnthropicModel({
    config: { provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: fake.origin, ...config },
    apiKey: KEY,
    limits: { contextWindow: 200_000, maxOutputTokens: 4_096 },
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1_000 },
    idleTimeoutMs: 300,
    firstChunkTimeoutMs: 300,
    requestTimeoutMs: 5_000,
    logger: pino({ level: "silent" }),
    ...overrides,
  });
}

const REQUEST: ModelRequest = {
  system: "You are a pod.",
  messages: [{ role: "user", content: "hi" }],
  tools: [{ name: "list_files", description: "List files.", inputSchema: { type: "object", properties: {} } }],
  maxOutputTokens: 1_000,
};

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe("createAnthropicModel", () => {
  it("reports its info from the options", () => {
    expect(model().info).toEqual({ provider: "anthropic", model: "claude-sonnet-4-5", contextWindow: 200_000, maxOutputTokens: 4_096 });
  });

  it("sends the request the Messages API expects, with the key in a header only", async () => {
    fake.enqueue(anthropicStream({ blocks: [{ type: "text", chunks: ["ok"] }] }));
    await collect(model({}, { temperature: 0.2, thinkingBudgetTokens: 2_048 }).stream(REQUEST, { signal: new AbortController().signal }));
    const [request] = fake.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/v1/messages");
    expect(request?.headers.authorization ?? request?.headers["x-api-key"]).toContain(KEY);
    expect(request?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 1_000,
      system: [{ type: "text", text: "You are a pod.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
      tools: [{ name: "list_files", description: "List files.", input_schema: { type: "object", properties: {} } }],
      temperature: 0.2,
      thinking: { type: "enabled", budget_tokens: 2_048 },
      stream: true,
    });
    expect(JSON.stringify(request?.body)).not.toContain(KEY);
  });

  it("sends tool_choice none (beside the tools) when the request may not call tools, e.g. a compaction's summary", async () => {
    fake.enqueue(anthropicStream({ blocks: [{ type: "text", chunks: ["ok"] }] }), anthropicStream({ blocks: [{ type: "text", chunks: ["ok"] }] }));
    await collect(model().stream({ ...REQUEST, toolChoice: "none" }, { signal: new AbortController().signal }));
    await collect(model().stream({ ...REQUEST, tools: [], toolChoice: "none" }, { signal: new AbortController().signal }));
    expect(fake.requests[0]?.body).toMatchObject({ tools: [{ name: "list_files" }], tool_choice: { type: "none" } });
    // Without tools there is nothing to switch off (the API refuses tool_choice without tools).
    expect(fake.requests[1]?.body).not.toHaveProperty("tool_choice");
  });

  it("ends quietly, with no error part, when the caller aborts mid-stream", async () => {
    fake.enqueue({ sse: [messageStart(), textStart(0), textDelta(0, "partial"), { stall: true }] });
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of model().stream(REQUEST, { signal: controller.signal })) {
      parts.push(part);
      if (part.type === "text-delta") controller.abort("cancel");
    }
    expect(parts).toEqual([{ type: "text-start" }, { type: "text-delta", text: "partial" }]);
  });

  it("ends quietly when aborted before the first event arrives", async () => {
    fake.enqueue({ sse: [{ pauseMs: 2_000 }, messageStart()] });
    const controller = new AbortController();
    void fake.waitForRequests(1).then(() => controller.abort("cancel"));
    expect(await collect(model().stream(REQUEST, { signal: controller.signal }))).toEqual([]);
  });

  it("a stalled stream after output fails with a 'stalled' error (no retry)", async () => {
    fake.enqueue({ sse: [messageStart(), textStart(0), textDelta(0, "slow"), { stall: true }] });
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts.slice(0, 2)).toEqual([{ type: "text-start" }, { type: "text-delta", text: "slow" }]);
    expect(parts[2]).toMatchObject({ type: "error", error: { message: expect.stringContaining("stalled"), retryable: true } });
    expect(fake.requests).toHaveLength(1);
  });

  it("a stream that ends without message_stop before any output is retried", async () => {
    fake.enqueue({ sse: [messageStart()] }, anthropicStream({ blocks: [{ type: "text", chunks: ["second"] }] }));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts[0]).toMatchObject({ type: "retry", failedAttempt: 1, error: INCOMPLETE_STREAM_MESSAGE });
    expect(parts).toContainEqual({ type: "text-delta", text: "second" });
  });

  it("a socket cut after output becomes one error part, and the text before it was delivered", async () => {
    fake.enqueue({ sse: [messageStart(), textStart(0), textDelta(0, "half"), { pauseMs: 50 }, { disconnect: true }] });
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts.slice(0, 2)).toEqual([{ type: "text-start" }, { type: "text-delta", text: "half" }]);
    expect(parts).toHaveLength(3);
    expect(parts[2]).toMatchObject({ type: "error", error: { code: "provider_error", retryable: true } });
  });

  it("an in-stream overloaded_error before output is retried as 529", async () => {
    fake.enqueue({ sse: [messageStart(), streamError("overloaded_error", "Overloaded")] }, anthropicStream({ blocks: [{ type: "text", chunks: ["ok"] }] }));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts[0]).toMatchObject({ type: "retry", failedAttempt: 1, status: 529, error: "overloaded_error: Overloaded" });
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "stop" });
  });

  it("a terminal HTTP error is one error part after one request", async () => {
    fake.enqueue(anthropicError(400, "invalid_request_error", "messages: text content blocks must be non-empty"));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({
      type: "error",
      error: { message: "invalid_request_error: messages: text content blocks must be non-empty", status: 400, retryable: false },
    });
    expect(fake.requests).toHaveLength(1);
  });

  it("an unreachable server is retried and then given up on", async () => {
    const closed = await FakeProvider.start();
    const origin = closed.origin;
    await closed.close();
    const parts = await collect(model({}, { baseUrl: origin }).stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts.filter((part) => part.type === "retry")).toHaveLength(2);
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { message: expect.stringMatching(/^gave up after 3 attempts: cannot reach the Anthropic API/) } });
  });
});
