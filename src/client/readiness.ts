/**
 * A starting pod's readiness line: the pod process writes one JSON line on the pipe it was given
 * as `PODD_READY_FD` — `{"ok":true,"socket":…,"pid":…}` once its socket accepts connections, or
 * `{"ok":false,"error":…}` with its own start-up error; a ready line also carries ReadyInfo (src/daemon-main.ts). Read by `podd start`
 * and by a parent spawning a child pod.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";

/** What a pod that became ready says about itself (internal to podd; extended freely, all optional for older pods). */
export interface ReadyInfo {
  /** The session: `restored` when the pod continues one it had, else a new one (`entries` 0). */
  session?: {
    id: string;
    restored: boolean;
    /** Log entries in the active segment. */
    entries: number;
    /** When the session last changed (its last entry's `ts`), ms since the epoch. */
    last_active_ms?: number;
  };
  cwd?: string;
  /** The `--model` spec, and the provider and model it resolved to. */
  model?: { spec: string; provider: string; model: string };
  /** `<cwd>/AGENTS.md`, when one was loaded. */
  agents_md?: { path: string; bytes: number };
  /** The saved `--instructions`: size in bytes and source (a file path or `"text"`). */
  instructions?: { bytes: number; source: string };
}

export type Readiness = ({ ok: true; socket: string; pid: number } & ReadyInfo) | { ok: false; error: string };

/**
 * Wait for the readiness line on the child's `fd` (default 3). Resolves `ok: false` with a
 * readable reason — and the tail of `stderrFile` — when the child exits first, the time runs
 * out (`timeoutMs`), the line is not JSON, or `signal` aborts. Never rejects.
 */
export function readReadiness(
  child: ChildProcess,
  options: { stderrFile: string; timeoutMs: number; signal?: AbortSignal; fd?: number },
): Promise<Readiness> {
  const pipe = child.stdio[options.fd ?? 3] as NodeJS.ReadableStream & { destroy(): void };
  const { signal, stderrFile, timeoutMs } = options;
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const settle = (result: Readiness): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      pipe.destroy();
      resolve(result);
    };
    const onAbort = (): void => settle({ ok: false, error: "the start was cancelled" });
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => settle({ ok: false, error: `the pod did not become ready within ${timeoutMs} ms: ${stderrTail(stderrFile)}` }), timeoutMs);
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      text += chunk;
      const newline = text.indexOf("\n");
      if (newline === -1) return;
      try {
        settle(JSON.parse(text.slice(0, newline)) as Readiness);
      } catch {
        settle({ ok: false, error: `unreadable readiness line: ${text.slice(0, newline)}` });
      }
    });
    child.on("error", (error) => settle({ ok: false, error: error.message }));
    child.on("exit", (code, exitSignal) => settle({ ok: false, error: `the pod exited (${exitSignal ?? `code ${code}`}) before it was ready: ${stderrTail(stderrFile)}` }));
    if (signal?.aborted) onAbort();
  });
}

/** The last `lines` lines of a pod's stderr.log, or `(no output)`. */
export function stderrTail(file: string, lines = 5): string {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return text === "" ? "(no output)" : text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}
