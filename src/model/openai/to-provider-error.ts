/**
 * Any failure of one Chat Completions attempt → ProviderError (message, status, retryable,
 * retryAfterMs), the only error type withRetry and the turn loop see. Pure; abort is not
 * handled here (the adapter ends quietly on abort before it gets this far).
 *
 * Sources: OpenAI API reference, "Error codes" (401 invalid key, 403 region / permission, 404
 * unknown model, 429 rate limit — retry with backoff — or `insufficient_quota` — "you have
 * run out of credits", retrying does not help —, 500 / 503 server errors: retry) and the
 * `openai` SDK's error classes (APIError carries the JSON body's `error` object as `.error`
 * and its `code` / `type`; APIConnectionError / APIConnectionTimeoutError have no status;
 * a `data: {"error": …}` event inside a stream is thrown as an APIError without a status).
 *
 * - The message is the provider's own (`error.message` of the body, or a string `error`),
 *   so users see "Incorrect API key provided…", not the SDK's "401 status code".
 * - Retryable: per `isRetryableStatus` (408, 409, 429, 5xx), except a 429 whose code or type
 *   is `insufficient_quota`; 400 / 401 / 403 / 404 are terminal; connection failures, resets
 *   and in-stream errors are retryable.
 * - The API key, if it appears anywhere in a message, is replaced by `[redacted]`, and the
 *   SDK's error is not kept as the `cause` of an HTTP error or of any error whose message had
 *   to be redacted: pino logs a cause's message, and the SDK's message holds the raw body.
 * - An error event inside a stream (no status) is classified by its `type` / `code`.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { ProviderError } from "../../errors.js";
import { redact } from "../redact.js";
import { isRetryableStatus, retryAfterMs } from "../retry.js";

export interface ErrorContext {
  /** Scrubbed from every message. */
  apiKey?: string;
  /** The SDK's `timeout`, for the message of a time-to-headers timeout, ms. */
  requestTimeoutMs?: number;
}

export function toProviderError(error: unknown, context: ErrorContext = {}): ProviderError {
  if (error instanceof ProviderError) return scrub(error, context.apiKey);
  // Only network failures keep the SDK error as their cause (its message holds no response body).
  const keepsCause = error instanceof APIConnectionError || !(error instanceof APIError);
  const build = (message: string, options: { status?: number; retryable: boolean; retryAfterMs?: number }): ProviderError => {
    const safe = redact(message, context.apiKey);
    return new ProviderError(safe, { ...options, cause: keepsCause && safe === message ? error : undefined });
  };
  if (error instanceof APIConnectionTimeoutError) {
    const bound = context.requestTimeoutMs === undefined ? "" : ` within ${context.requestTimeoutMs} ms`;
    return build(`the provider did not answer${bound} (no response headers)`, { retryable: true });
  }
  if (error instanceof APIConnectionError) return build(`cannot reach the provider: ${describeCause(error.cause) ?? error.message}`, { retryable: true });
  if (error instanceof APIError) {
    const message = providerMessage(error.error) ?? error.message;
    const status = typeof error.status === "number" ? error.status : undefined;
    const retryable = !isQuotaExhausted(error) && (status === undefined ? !isTerminalErrorType(error) : isRetryableStatus(status));
    return build(message, { status, retryable, retryAfterMs: retryAfterMs(error.headers ?? undefined) });
  }
  if (error instanceof SyntaxError) return build(`the provider sent malformed stream data: ${error.message}`, { retryable: true });
  if (error instanceof Error) {
    const cause = describeCause(error.cause);
    return build(`the connection to the provider broke: ${error.message}${cause ? ` (${cause})` : ""}`, { retryable: true });
  }
  return build(String(error), { retryable: true });
}

/** Error types / codes that no retry will fix, for errors without a status (an error event inside a stream). */
const TERMINAL_ERROR_TYPES: ReadonlySet<string> = new Set([
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "invalid_api_key",
  "insufficient_quota",
  "context_length_exceeded",
  "model_not_found",
]);

function isTerminalErrorType(error: APIError): boolean {
  return [error.type, error.code].some((value) => typeof value === "string" && TERMINAL_ERROR_TYPES.has(value));
}

/** OpenAI's "You exceeded your current quota": a 429 that no wait will fix. */
export function isQuotaExhausted(error: APIError): boolean {
  return error.code === "insufficient_quota" || error.type === "insufficient_quota";
}

/** The message inside an error body's `error` field: `{message}` (OpenAI, llama.cpp, Ollama) or a plain string (some servers). */
export function providerMessage(body: unknown): string | undefined {
  if (typeof body === "string" && body.trim() !== "") return body;
  if (body && typeof body === "object" && "message" in body) {
    const message = (body as { message: unknown }).message;
    if (typeof message === "string" && message.trim() !== "") return message;
    if (message !== undefined && message !== null) return JSON.stringify(message);
  }
  return undefined;
}

/** `ECONNREFUSED 127.0.0.1:9`, `other side closed`, … from a fetch failure's cause chain. */
function describeCause(cause: unknown): string | undefined {
  const seen: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    const text = current.message || code;
    if (text && !seen.includes(text)) seen.push(text);
    current = current.cause;
  }
  return seen.length > 0 ? seen.join(": ") : undefined;
}

function scrub(error: ProviderError, apiKey: string | undefined): ProviderError {
  const message = redact(error.message, apiKey);
  if (message === error.message) return error;
  return new ProviderError(message, { status: error.status, retryable: error.retryable, retryAfterMs: error.retryAfterMs });
}
