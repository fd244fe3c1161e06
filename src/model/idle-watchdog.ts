/**
 * The idle watchdog: the SDKs' `timeout` bounds only the time to response headers, so a
 * stream that trickles and then stops sending would hang a turn forever (ecosystem-notes.md).
 * `withIdleWatchdog` passes items through and, when none arrives for `idleMs`, calls `onStall`
 * (the adapter aborts its HTTP request there) and throws a retryable ProviderError.
 */
import { ProviderError } from "../errors.js";

/** Default longest silence inside a model stream before it counts as stalled, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;

/**
 * `firstItemMs` (default `idleMs`) bounds the wait for the first item separately: a local
 * server may send its headers at once and its first chunk only after processing a long prompt.
 */
export async function* withIdleWatchdog<T>(source: AsyncIterable<T>, options: { idleMs: number; firstItemMs?: number; onStall(): void }): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (let first = true; ; first = false) {
      const limitMs = first ? (options.firstItemMs ?? options.idleMs) : options.idleMs;
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<"stalled">((resolve) => {
        timer = setTimeout(() => resolve("stalled"), limitMs);
      });
      const next = await Promise.race([iterator.next(), stalled]).finally(() => clearTimeout(timer));
      if (next === "stalled") {
        options.onStall();
        throw new ProviderError(`the model stream stalled: no data for ${limitMs} ms`, { retryable: true });
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void iterator.return?.()?.catch(() => undefined);
  }
}
