/**
 * The memory report: an internal, same-user-only way to ask a pod what memory it holds. On
 * SIGUSR2 the pod runs a full garbage collection (twice, with a turn of the event loop between,
 * so sockets closed meanwhile are released too), then writes `<runtime>/<name>/memory.json`
 * atomically. Nothing of it is on the wire: a reference client never sees it, and no client
 * can make a pod collect garbage through its socket (a flood of such requests would be a way
 * to stall it). It exists so a test (test/integration/load.test.ts) or an operator can tell
 * memory a pod retains from garbage V8 has not collected yet: without it, RSS after a load
 * depends on when V8 chooses to collect.
 *
 * V8 offers `gc()` only under `--expose-gc`; the flag is set at run time, once, on the first
 * report (the documented `v8.setFlagsFromString` + `vm.runInNewContext("gc")` idiom), so a
 * pod that is never asked runs exactly as before. Not here: the pod's other runtime files
 * (src/pod/runtime-dir.ts).
 */
import v8 from "node:v8";
import vm from "node:vm";
import type { Logger } from "pino";
import writeFileAtomic from "write-file-atomic";

/** What `memory.json` holds; sizes in bytes, as `process.memoryUsage()` gives them after the collection. */
export interface MemoryReport {
  pid: number;
  /** When the report was taken, ms since the epoch. */
  taken_at_ms: number;
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  external_bytes: number;
  array_buffers_bytes: number;
  /** Client connections the socket server holds. */
  connections: number;
  /** Whether a full collection ran first (false only if V8 refused to expose `gc`). */
  collected: boolean;
}

/** The signal that asks for a report. */
export const MEMORY_REPORT_SIGNAL: NodeJS.Signals = "SIGUSR2";

let collect: (() => void) | undefined;

/** V8's `gc`, exposed on first use; undefined if it cannot be. */
function garbageCollector(): (() => void) | undefined {
  if (!collect) {
    try {
      v8.setFlagsFromString("--expose-gc");
      collect = vm.runInNewContext("gc") as () => void;
    } catch {
      return undefined;
    }
  }
  return collect;
}

/** Collect garbage (when possible), then measure. */
export async function takeMemoryReport(connections: () => number, now: () => number): Promise<MemoryReport> {
  const gc = garbageCollector();
  gc?.();
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  const usage = process.memoryUsage();
  return {
    pid: process.pid,
    taken_at_ms: now(),
    rss_bytes: usage.rss,
    heap_used_bytes: usage.heapUsed,
    heap_total_bytes: usage.heapTotal,
    external_bytes: usage.external,
    array_buffers_bytes: usage.arrayBuffers,
    connections: connections(),
    collected: gc !== undefined,
  };
}

/**
 * Write a report to `file` on every MEMORY_REPORT_SIGNAL. Reports do not overlap: signals that
 * arrive during one are answered by one more report after it. Returns the function that
 * removes the handler. A failed write is logged, never thrown.
 */
export function installMemoryReport(options: { file: string; connections(): number; now(): number; logger: Logger }): () => void {
  let busy = false;
  let again = false;
  const onSignal = (): void => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    takeMemoryReport(options.connections, options.now)
      .then((report) => writeFileAtomic(options.file, `${JSON.stringify(report)}\n`, { mode: 0o600, fsync: false }))
      .catch((error: unknown) => options.logger.warn({ err: error }, "memory report failed"))
      .finally(() => {
        busy = false;
        if (again) {
          again = false;
          onSignal();
        }
      });
  };
  process.on(MEMORY_REPORT_SIGNAL, onSignal);
  return () => process.off(MEMORY_REPORT_SIGNAL, onSignal);
}
