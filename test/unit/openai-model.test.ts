/**
 * The OpenAI adapter in process, through the real SDK against FakeProvider: attempt-level
 * behaviour that is awkward to see from a pod (abort, retry of an empty stream, a break after
 * the finish_reason, error bodies of compatible servers).
 */
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createOpenAIModel } from "../../src/model/openai/openai-model.js";
import type { ProviderModelOptions } from "../../src/model/provider-options.js";
import type { LanguageModel, ModelRequest, StreamPart } from "../../src/model/types.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { openAIError, openAIStream } from "../helpers/openai-sse.js";

const REQUEST: ModelRequest = { system: "sys", messages: [{ role: "user", content: "hi" }], tools: [] };

let fake: FakeProvider;
beforeEach(async () => {
  fake = await FakeProvider.start();
});
afterEach(async () => {
  await fake.close();
});

function model(overrides: Partial<ProviderModelOptions> = {}): LanguageModel {
  return createOpenAIModel({
    config: { provider: "openai-compatible", model: "llama3.1", baseUrl: `${fake.origin}/v1` },
    limits: { contextWindow: 8192, maxOutputTokens: 512 },
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1000 },
    idleTimeoutMs: 300,
    firstChunkTimeoutMs: 300,
    requestTimeoutMs: 5000,
    logger: pino({ level: "silent" }),
    ...overrides,
  });
}

async function collect(parts: AsyncIterable<StreamPart>, onPart?: (part: StreamPart) => void): Promise<StreamPart[]> {
  const seen: StreamPart[] = [];
  for await (const part of parts) {
    seen.push(part);
    onPart?.(part);
  }
  return seen;
}

const types = (parts: readonly StreamPart[]): string[] => parts.map((part) => part.type);

describe("createOpenAIModel", () => {
  it("reports provider openai_chat with the model id and limits, and sends a placeholder key when there is none", async () => {
    const llm = model();
    expect(llm.info).toEqual({ provider: "openai_chat", model: "llama3.1", contextWindow: 8192, maxOutputTokens: 512 });
    fake.enqueue(openAIStream({ text: ["hi"] }));
    await collect(llm.stream(REQUEST, { signal: new AbortController().signal }));
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer not-needed");
    expect(fake.requests[0]?.path).toBe("/v1/chat/completions");
  });

  it("ends quietly when aborted mid-stream: no error part, nothing thrown", async () => {
    fake.enqueue(openAIStream({ text: ["partial "], cut: [{ stall: true }] }));
    const controller = new AbortController();
    const parts = await collect(model({ idleTimeoutMs: 10_000 }).stream(REQUEST, { signal: controller.signal }), (part) => {
      if (part.type === "text-delta") controller.abort("cancel");
    });
    expect(types(parts)).toEqual(["text-start", "text-delta"]);
  });

  it("retries a stream that ended before anything was sent, and finishes on the next attempt", async () => {
    fake.enqueue({ sse: [{ data: "[DONE]" }] }, openAIStream({ text: ["ok"] }));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(types(parts)).toEqual(["retry", "text-start", "text-delta", "text-end", "finish"]);
    expect(parts[0]).toMatchObject({ type: "retry", error: "the stream ended before the response was complete" });
  });

  it("fails without retry when the stream ends early after some output", async () => {
    fake.enqueue(openAIStream({ text: ["half"], cut: [] }));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(types(parts)).toEqual(["text-start", "text-delta", "error"]);
    expect(fake.requests).toHaveLength(1);
  });

  it("still finishes when the connection breaks after the finish_reason (usage missing)", async () => {
    const stream = openAIStream({ text: ["done"], quirks: { noUsage: true, noDone: true } });
    if (!("sse" in stream)) throw new Error("expected a stream");
    // The pause lets the written chunks leave before the socket is destroyed (destroy drops unsent writes).
    fake.enqueue({ sse: [...stream.sse, { pauseMs: 30 }, { disconnect: true }] });
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "stop", usage: {} });
  });

  it("retries a stall before the first chunk, then succeeds", async () => {
    fake.enqueue({ sse: [{ stall: true }] }, openAIStream({ text: ["late"] }));
    const parts = await collect(model({ idleTimeoutMs: 100, firstChunkTimeoutMs: 100 }).stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts[0]).toMatchObject({ type: "retry", error: "the model stream stalled: no data for 100 ms" });
    expect(parts.at(-1)).toMatchObject({ type: "finish" });
  });

  it("shows the message of a vLLM-style top-level error body", async () => {
    fake.enqueue({ status: 400, json: { object: "error", message: "This model's maximum context length is 8192 tokens", type: "BadRequestError", code: 400 } });
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts).toEqual([{ type: "error", error: expect.objectContaining({ message: "This model's maximum context length is 8192 tokens", status: 400, retryable: false }) }]);
  });

  it("treats an in-stream error event as a provider error with the provider's message", async () => {
    fake.enqueue({ sse: [{ data: { error: { message: "The server had an error while processing your request", type: "server_error" } } }] }, openAIError(401, "Unauthorized"));
    const parts = await collect(model().stream(REQUEST, { signal: new AbortController().signal }));
    expect(parts[0]).toMatchObject({ type: "retry", error: "The server had an error while processing your request" });
    expect(parts[1]).toMatchObject({ type: "error", error: { message: "Unauthorized", status: 401 } });
  });
});
