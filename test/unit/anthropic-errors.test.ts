/** SDK errors → ProviderError (src/model/anthropic/map-error.ts), on real SDK error objects. */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, AnthropicError } from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { toProviderError } from "../../src/model/anthropic/map-error.js";
import { redact } from "../../src/model/redact.js";

const KEY = "sk-ant-test-SECRET-1234";

function httpError(status: number, type: string, message: string, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, { type: "error", error: { type, message } }, undefined, new Headers(headers));
}

/** What the SDK throws for an SSE `event: error` inside a 200 stream (core/streaming.js). */
function streamError(type: string, message: string): APIError {
  const body = { type: "error", error: { type, message } };
  return new APIError(undefined, body, undefined, new Headers(), type as ConstructorParameters<typeof APIError>[4]);
}

describe("toProviderError: HTTP errors", () => {
  it("uses the provider's message from the JSON body, not a dump, with the status", () => {
    const error = toProviderError(httpError(401, "authentication_error", "invalid x-api-key"));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.code).toBe("provider_error");
    expect(error.message).toBe("authentication_error: invalid x-api-key");
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
  });

  it.each([400, 401, 403, 404, 413])("%i is terminal", (status) => {
    expect(toProviderError(httpError(status, "invalid_request_error", "no")).retryable).toBe(false);
  });

  it.each([408, 409, 429, 500, 502, 503, 529])("%i is retryable", (status) => {
    expect(toProviderError(httpError(status, "api_error", "try again")).retryable).toBe(true);
  });

  it("takes the wait hint from retry-after-ms, else retry-after", () => {
    expect(toProviderError(httpError(429, "rate_limit_error", "slow down", { "retry-after-ms": "1500" })).retryAfterMs).toBe(1500);
    expect(toProviderError(httpError(529, "overloaded_error", "Overloaded", { "retry-after": "3" })).retryAfterMs).toBe(3000);
    expect(toProviderError(httpError(500, "api_error", "boom")).retryAfterMs).toBeUndefined();
  });

  it("describes a body that is not JSON by its status and a short snippet", () => {
    const error = toProviderError(APIError.generate(502, undefined, "<html>Bad Gateway</html>", new Headers()));
    expect(error.message).toBe("HTTP 502 from the Anthropic API: <html>Bad Gateway</html>");
    expect(error.retryable).toBe(true);
  });
});

describe("toProviderError: in-stream error events", () => {
  it("overloaded_error is retryable with status 529", () => {
    const error = toProviderError(streamError("overloaded_error", "Overloaded"));
    expect(error).toMatchObject({ message: "overloaded_error: Overloaded", status: 529, retryable: true });
  });

  it("api_error is retryable", () => {
    expect(toProviderError(streamError("api_error", "Internal server error"))).toMatchObject({ status: 500, retryable: true });
  });

  it.each(["invalid_request_error", "authentication_error", "permission_error", "some_future_error"])("%s is terminal", (type) => {
    expect(toProviderError(streamError(type, "no")).retryable).toBe(false);
  });
});

describe("toProviderError: connection failures and the rest", () => {
  it("a connection error is retryable and names the cause", () => {
    const cause = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:9") });
    const error = toProviderError(new APIConnectionError({ cause }));
    expect(error.retryable).toBe(true);
    expect(error.status).toBeUndefined();
    expect(error.message).toBe("cannot reach the Anthropic API: fetch failed: connect ECONNREFUSED 127.0.0.1:9");
  });

  it("a timeout before the headers is retryable", () => {
    expect(toProviderError(new APIConnectionTimeoutError()).retryable).toBe(true);
  });

  it("a stream cut mid-way (undici's 'terminated') is retryable", () => {
    const error = toProviderError(new TypeError("terminated", { cause: new Error("other side closed") }));
    expect(error).toMatchObject({ retryable: true, message: "the connection to the Anthropic API broke: terminated: other side closed" });
  });

  it("an abort not caused by the caller is retryable; an SDK usage error is not", () => {
    expect(toProviderError(new APIUserAbortError()).retryable).toBe(true);
    expect(toProviderError(new AnthropicError("Could not resolve authentication method")).retryable).toBe(false);
  });

  it("passes a ProviderError through", () => {
    const stalled = new ProviderError("the model stream stalled: no data for 800 ms", { retryable: true });
    expect(toProviderError(stalled, { apiKey: KEY })).toBe(stalled);
  });
});

describe("the API key never reaches a message", () => {
  it("is scrubbed from provider messages, connection errors and passed-through errors", () => {
    const fromBody = toProviderError(httpError(401, "authentication_error", `invalid x-api-key ${KEY}`), { apiKey: KEY });
    expect(fromBody.message).toBe("authentication_error: invalid x-api-key [redacted]");
    const fromCause = toProviderError(new APIConnectionError({ cause: new Error(`proxy refused Bearer ${KEY}`) }), { apiKey: KEY });
    expect(fromCause.message).not.toContain(KEY);
    const passed = toProviderError(new ProviderError(`oops ${KEY}`, { status: 500, retryable: true }), { apiKey: KEY });
    expect(passed).toMatchObject({ message: "oops [redacted]", status: 500, retryable: true });
  });

  it("keeps error bodies and scrubbed errors out of the cause chain (the daemon logs it), but keeps connection causes", () => {
    expect(toProviderError(httpError(401, "authentication_error", `bad ${KEY}`), { apiKey: KEY }).cause).toBeUndefined();
    expect(toProviderError(streamError("overloaded_error", "Overloaded")).cause).toBeUndefined();
    expect(toProviderError(new ProviderError(`oops ${KEY}`), { apiKey: KEY }).cause).toBeUndefined();
    const cut = new TypeError("terminated");
    expect(toProviderError(cut, { apiKey: KEY }).cause).toBe(cut);
  });

  it("redact leaves text alone without a real secret", () => {
    expect(redact("abc", undefined)).toBe("abc");
    expect(redact("a b a", "a")).toBe("a b a");
  });
});
