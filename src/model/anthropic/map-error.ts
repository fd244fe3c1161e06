/**
 * Anything the Anthropic SDK (or its stream) throws → ProviderError, with the provider's own
 * message, the HTTP status, whether a retry may help, and the provider's wait hint.
 *
 * Error types and their statuses come from https://platform.claude.com/docs/en/api/errors:
 * invalid_request_error 400, authentication_error 401, billing_error 402, permission_error 403,
 * not_found_error 404, request_too_large 413, rate_limit_error 429, api_error 500,
 * timeout_error 504, overloaded_error 529. The same error object can arrive mid-stream as an
 * SSE `event: error` (streaming guide, "Error events"); the SDK then throws an APIError with no
 * status, so the status is taken from the error type. Retryable: isRetryableStatus (408, 409,
 * 429, 5xx incl. 529); connection failures (refused, reset, timed out, cut mid-stream) are
 * retryable too. Unknown in-stream error types are terminal. Every message passes through
 * `redact`, so the API key can never reach a log line, an event or the session log.
 */
import { AnthropicError, APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { ProviderError } from "../../errors.js";
import { redact } from "../redact.js";
import { isRetryableStatus, retryAfterMs } from "../retry.js";

/** HTTP status of each Anthropic error type (errors doc). */
export const ERROR_TYPE_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Longest slice of a non-JSON error body kept in a message, characters. */
const MAX_BODY_SNIPPET_CHARS = 200;

/** Map any thrown value to a ProviderError (see the module comment). `apiKey` is scrubbed from the message. */
export function toProviderError(error: unknown, options: { apiKey?: string } = {}): ProviderError {
  const mapped = error instanceof ProviderError ? error : classify(error);
  const message = redact(mapped.message, options.apiKey);
  if (error instanceof ProviderError && message === error.message) return error;
  // The daemon logs a failed run's error with its cause chain. An error body can echo request
  // content (a proxy quoting the auth header), so the SDK's APIError is kept out of it, and so
  // is any error whose message had to be scrubbed.
  const isUnsafeCause = message !== mapped.message || (error instanceof APIError && !(error instanceof APIConnectionError));
  const cause = isUnsafeCause ? undefined : error;
  return new ProviderError(message, { status: mapped.status, retryable: mapped.retryable, retryAfterMs: mapped.retryAfterMs, cause });
}

interface Classified {
  message: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
}

function classify(error: unknown): Classified {
  if (error instanceof APIConnectionTimeoutError) {
    return { message: "the Anthropic API did not answer in time (request timeout before the response headers)", retryable: true };
  }
  if (error instanceof APIConnectionError) return { message: `cannot reach the Anthropic API: ${describeChain(error.cause) || error.message}`, retryable: true };
  if (error instanceof APIUserAbortError) return { message: "the request to the Anthropic API was aborted", retryable: true };
  if (error instanceof APIError) return error.status === undefined ? fromStreamError(error) : fromHttpError(error);
  if (error instanceof AnthropicError) return { message: `Anthropic SDK: ${error.message}`, retryable: false };
  if (error instanceof SyntaxError) return { message: `the Anthropic API sent a malformed stream event: ${error.message}`, retryable: true };
  return { message: `the connection to the Anthropic API broke: ${describeChain(error) || "unknown error"}`, retryable: true };
}

/** An HTTP error response: the body's `error.type` and `error.message`, the status, `retry-after(-ms)`. */
function fromHttpError(error: APIError): Classified {
  const status = error.status as number;
  return {
    message: providerMessage(error) ?? `HTTP ${status} from the Anthropic API${bodySnippet(error)}`,
    status,
    retryable: isRetryableStatus(status),
    retryAfterMs: retryAfterMs(error.headers),
  };
}

/** An SSE `event: error` inside a 200 stream: status from the error type; unknown types are terminal. */
function fromStreamError(error: APIError): Classified {
  const status = error.type ? ERROR_TYPE_STATUS[error.type] : undefined;
  return {
    message: providerMessage(error) ?? `the Anthropic stream reported an error: ${error.message}`,
    status,
    retryable: status !== undefined && isRetryableStatus(status),
  };
}

/** `<type>: <message>` from the JSON error body, or undefined when the body had none. */
function providerMessage(error: APIError): string | undefined {
  if (!error.apiMessage) return undefined;
  return error.type ? `${error.type}: ${error.apiMessage}` : error.apiMessage;
}

/** The SDK puts a non-JSON body after the status in `message` ("502 <html>…"). */
function bodySnippet(error: APIError): string {
  const text = error.message.replace(/^\d{3}\s*/, "").trim();
  if (text === "" || /status code \(no body\)/.test(text)) return "";
  return `: ${text.length > MAX_BODY_SNIPPET_CHARS ? `${text.slice(0, MAX_BODY_SNIPPET_CHARS)}…` : text}`;
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:1" — the messages along an error's `cause` chain. */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}
