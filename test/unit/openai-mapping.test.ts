/** Finish reason, usage and error mapping; error-body normalisation; the SDK logger bridge. */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { errorBodyFetch, normaliseErrorBody } from "../../src/model/openai/error-body-fetch.js";
import { mapFinishReason, mapUsage } from "../../src/model/openai/finish-reason.js";
import { sdkLevel, sdkLogger } from "../../src/model/sdk-logger.js";
import { providerMessage, toProviderError } from "../../src/model/openai/to-provider-error.js";
import pino from "pino";
import { Writable } from "node:stream";

function apiError(status: number | undefined, body: unknown, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, body === undefined ? undefined : { error: body }, undefined, status === undefined ? undefined : new Headers(headers));
}

describe("mapFinishReason and mapUsage", () => {
  it.each([
    ["stop", "stop"],
    ["tool_calls", "tool-calls"],
    ["function_call", "tool-calls"],
    ["length", "length"],
    ["content_filter", "content-filter"],
    ["eos", "other"],
    [null, "other"],
  ] as const)("%s → %s", (raw, mapped) => {
    expect(mapFinishReason(raw)).toBe(mapped);
  });

  it("maps prompt/completion/cached tokens and tolerates missing fields", () => {
    expect(mapUsage({ prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 64 } })).toEqual({
      inputTokens: 36, // prompt_tokens 100 less 64 cached: Usage counts uncached input
      outputTokens: 20,
      cacheReadInputTokens: 64,
    });
    expect(mapUsage({ prompt_tokens: 5 })).toEqual({ inputTokens: 5 });
    expect(mapUsage({ prompt_tokens_details: null, completion_tokens: null })).toEqual({});
    expect(mapUsage(undefined)).toEqual({});
  });
});

describe("toProviderError", () => {
  it("uses the provider's own message; 400/401/403/404 are terminal", () => {
    for (const status of [400, 401, 403, 404]) {
      const error = toProviderError(apiError(status, { message: `problem ${status}`, type: "invalid_request_error" }));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ message: `problem ${status}`, status, retryable: false, code: "provider_error" });
    }
  });

  it("retries 408/409/429/5xx with the retry-after-ms / retry-after hint", () => {
    expect(toProviderError(apiError(429, { message: "slow down", type: "requests" }, { "retry-after-ms": "250" }))).toMatchObject({
      message: "slow down",
      status: 429,
      retryable: true,
      retryAfterMs: 250,
    });
    expect(toProviderError(apiError(503, { message: "overloaded" }, { "retry-after": "2" }))).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    expect(toProviderError(apiError(500, { message: "boom" }))).toMatchObject({ retryable: true, retryAfterMs: undefined });
    expect(toProviderError(apiError(408, { message: "t" })).retryable).toBe(true);
  });

  it("makes a 429 insufficient_quota terminal", () => {
    const error = toProviderError(apiError(429, { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" }));
    expect(error).toMatchObject({ status: 429, retryable: false, message: "You exceeded your current quota" });
  });

  it("reads string error bodies and falls back to the SDK message without a body", () => {
    expect(toProviderError(apiError(404, "model 'x' not found")).message).toBe("model 'x' not found");
    expect(toProviderError(apiError(502, undefined)).message).toBe("502 status code (no body)");
    expect(providerMessage({ message: { nested: true } })).toBe('{"nested":true}');
  });

  it("treats in-stream error events, connection failures, timeouts and resets as retryable", () => {
    // The SDK throws `data: {"error": …}` inside a stream as an APIError without a status.
    expect(toProviderError(new APIError(undefined, { message: "server_error mid-stream" }, undefined, new Headers()))).toMatchObject({ message: "server_error mid-stream", retryable: true, status: undefined });
    const refused = new APIConnectionError({ cause: Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }) }) });
    expect(toProviderError(refused)).toMatchObject({ retryable: true, message: "cannot reach the provider: fetch failed: connect ECONNREFUSED 127.0.0.1:9" });
    expect(toProviderError(new APIConnectionTimeoutError(), { requestTimeoutMs: 500 }).message).toBe("the provider did not answer within 500 ms (no response headers)");
    const reset = Object.assign(new TypeError("terminated"), { cause: new Error("other side closed") });
    expect(toProviderError(reset)).toMatchObject({ retryable: true, message: "the connection to the provider broke: terminated (other side closed)" });
    expect(toProviderError(new SyntaxError("Unexpected token")).message).toContain("malformed stream data");
    expect(toProviderError(new APIUserAbortError()).retryable).toBe(true);
  });

  it("classifies an in-stream error event without a status by its type or code", () => {
    const streamError = (body: object) => new APIError(undefined, body, undefined, new Headers());
    expect(toProviderError(streamError({ message: "bad schema", type: "invalid_request_error" })).retryable).toBe(false);
    expect(toProviderError(streamError({ message: "too long", code: "context_length_exceeded" })).retryable).toBe(false);
    expect(toProviderError(streamError({ message: "busy", type: "server_error" })).retryable).toBe(true);
  });

  it("scrubs the API key from any message, and keeps no cause that could carry it into a log", () => {
    const key = "sk-test-SECRET-5678";
    const http = toProviderError(apiError(401, { message: `bad key ${key}` }), { apiKey: key });
    expect(http.message).toBe("bad key [redacted]");
    expect(http.cause).toBeUndefined();
    expect(toProviderError(apiError(500, { message: "busy" })).cause).toBeUndefined();
    const scrubbed = toProviderError(new ProviderError(`x ${key}`, { retryable: true, cause: new Error(key) }), { apiKey: key });
    expect(scrubbed).toMatchObject({ message: "x [redacted]", retryable: true });
    expect(scrubbed.cause).toBeUndefined();
    const network = new APIConnectionError({ cause: new Error("ECONNRESET") });
    expect(toProviderError(network, { apiKey: key }).cause).toBe(network);
  });
});

describe("errorBodyFetch", () => {
  it("rewrites vLLM's top-level and FastAPI's detail bodies into OpenAI's shape; leaves others alone", () => {
    expect(JSON.parse(normaliseErrorBody('{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}'))).toEqual({
      error: { message: "max_tokens is too large", type: "BadRequestError", code: 400 },
    });
    expect(JSON.parse(normaliseErrorBody('{"detail":"Not Found"}'))).toEqual({ error: { message: "Not Found", type: null, code: null } });
    expect(normaliseErrorBody('{"error":{"message":"m"}}')).toBe('{"error":{"message":"m"}}');
    expect(normaliseErrorBody("plain text")).toBe("plain text");
  });

  it("passes successful responses through and rebuilds error responses with the same status and headers", async () => {
    const ok = new Response("data: x\n\n", { status: 200, headers: { "content-type": "text/event-stream" } });
    expect(await errorBodyFetch(async () => ok)("http://x")).toBe(ok);
    const failing = errorBodyFetch(async () => new Response('{"message":"nope"}', { status: 400, headers: { "content-type": "application/json", "x-request-id": "r1" } }));
    const response = await failing("http://x");
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toBe("r1");
    expect(await response.json()).toEqual({ error: { message: "nope", type: null, code: null } });
  });
});

describe("sdkLogger", () => {
  it("follows pino's level and passes console-style details as a merge object", () => {
    expect(["trace", "debug", "info", "warn", "error", "fatal", "silent"].map(sdkLevel)).toEqual(["debug", "debug", "info", "warn", "error", "error", "off"]);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { logger, logLevel } = sdkLogger(pino({ level: "warn" }, sink));
    expect(logLevel).toBe("warn");
    logger.warn("retrying", { url: "http://x" });
    logger.error("plain");
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toMatchObject([
      { level: 40, msg: "retrying", details: { url: "http://x" } },
      { level: 50, msg: "plain" },
    ]);
  });
});
