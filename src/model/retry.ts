/**
 * Retry with backoff, shared by every provider adapter. An adapter supplies one *attempt*
 * (a stream of neutral parts for one HTTP request, which throws or yields an `error` part
 * carrying a ProviderError); `withRetry` re-runs the attempt while the failure is retryable
 * and nothing has been yielded yet, yielding a `retry` part (→ `llm_retry`) before each wait.
 *
 * - Backoff: exponential from `baseDelayMs`, capped at `maxDelayMs`, with equal jitter (half
 *   fixed, half random), unless the provider said how long to wait (retry-after-ms /
 *   retry-after, honoured up to `maxRetryAfterMs`).
 * - The wait ends at once when the signal aborts (pause, cancel, shutdown).
 * - A failure after output was yielded is not retried (the turn already streamed part of an
 *   answer): it ends the call with that error.
 * - After `maxAttempts` the last error is yielded as "gave up after N attempts: …".
 * The vendor SDKs' own retries are turned off (maxRetries: 0) so this is the only policy.
 */
import { ProviderError } from "../errors.js";
import type { StreamPart } from "./types.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt, ms; doubles per attempt. */
  baseDelayMs: number;
  /** Cap on a computed backoff, ms. */
  maxDelayMs: number;
  /** Cap on a provider-requested wait, ms. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };

/** HTTP statuses worth retrying: request timeout, conflict, rate limit, server errors (Anthropic's 529 overloaded included). */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The provider's wait hint from response headers, ms: `retry-after-ms` (OpenAI, Anthropic),
 * else `retry-after` in seconds or as an HTTP date.
 */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers.get("retry-after");
  if (after === null) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Wait before attempt `failedAttempt + 1`, ms. */
export function backoffMs(failedAttempt: number, policy: RetryPolicy, hintMs?: number, random: () => number = Math.random): number {
  if (hintMs !== undefined) return Math.min(hintMs, policy.maxRetryAfterMs);
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Sleep `ms`, or less if `signal` aborts. Never rejects. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function asProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError(error instanceof Error ? error.message : String(error), { retryable: true, cause: error });
}

/** Run `attempt` under the retry policy; see the module comment. */
export async function* withRetry(
  attempt: (signal: AbortSignal) => AsyncIterable<StreamPart>,
  options: { policy: RetryPolicy; signal: AbortSignal; now?: () => number; random?: () => number },
): AsyncIterable<StreamPart> {
  const { policy, signal } = options;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    let yielded = false;
    let failure: ProviderError | undefined;
    try {
      for await (const part of attempt(signal)) {
        if (part.type === "error") {
          failure = part.error;
          break;
        }
        yielded = true;
        yield part;
      }
    } catch (error) {
      if (signal.aborted) return;
      failure = asProviderError(error);
    }
    if (signal.aborted) return;
    if (!failure) return;
    if (yielded || !failure.retryable) {
      yield { type: "error", error: failure };
      return;
    }
    if (attemptNumber >= policy.maxAttempts) {
      yield {
        type: "error",
        error: new ProviderError(`gave up after ${attemptNumber} attempts: ${failure.message}`, { status: failure.status, cause: failure }),
      };
      return;
    }
    const waitMs = backoffMs(attemptNumber, policy, failure.retryAfterMs, options.random);
    yield {
      type: "retry",
      failedAttempt: attemptNumber,
      maxAttempts: policy.maxAttempts,
      waitMs,
      elapsedMs: now() - started,
      status: failure.status,
      error: failure.message,
    };
    await abortableSleep(waitMs, signal);
    if (signal.aborted) return;
  }
}
