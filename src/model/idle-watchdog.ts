/**
 * The idle watchdog: the SDKs' `timeout` bounds only the time to response headers, so a
 * stream that trickles and then stops sending would hang a turn forever (ecosystem-notes.md).
 * `withIdleWatchdog` passes items through and, when none arrives for `idleMs`, calls `onStall`
 * (the adapter aborts its HTTP request there) and throws a retryable ProviderError.
 *
 * One timer per stream, not per item: each item only records the time; the timer, when it
 * fires, re-arms itself for what is left of the window (measured: a timer per item cost
 * ~0.6 µs per delta, see docs/benchmarks.md).
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
  let lastItemAt = Date.now();
  let limitMs = options.firstItemMs ?? options.idleMs;
  let timer: NodeJS.Timeout | undefined;
  let signalStall: (() => void) | undefined;
  const stalled = new Promise<"stalled">((resolve) => {
    signalStall = () => resolve("stalled");
  });
  const arm = (delayMs: number): void => {
    timer = setTimeout(() => {
      const silentMs = Date.now() - lastItemAt;
      if (silentMs >= limitMs) signalStall?.();
      else arm(limitMs - silentMs);
    }, delayMs);
  };
  arm(limitMs);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stalled]);
      if (next === "stalled") {
        options.onStall();
        throw new ProviderError(`the model stream stalled: no data for ${limitMs} ms`, { retryable: true });
      }
      if (next.done) return;
      lastItemAt = Date.now();
      if (limitMs !== options.idleMs) {
        // The first item arrived: from now on the (usually shorter) idle window applies.
        limitMs = options.idleMs;
        clearTimeout(timer);
        arm(limitMs);
      }
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    void iterator.return?.()?.catch(() => undefined);
  }
}
