/**
 * A process's scheduler state from /proc/<pid>/stat (Linux): `R` running, `S` sleeping, `T`
 * stopped (SIGSTOP), `Z` zombie, … Tests wait on it after sending SIGSTOP / SIGCONT, which
 * take effect asynchronously.
 */
import fs from "node:fs";

/** The state letter of `pid`, or undefined when the process is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // `pid (comm) state …`: comm may hold spaces and parentheses, so read after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** Resolves once `accept` takes the state of `pid` (read every 5 ms), rejects after `timeoutMs` naming the last state. */
export async function waitForProcessState(pid: number, accept: (state: string | undefined) => boolean, timeoutMs = 5_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = processState(pid);
    if (accept(state)) return state;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not reach the expected state within ${timeoutMs} ms (state ${state ?? "gone"})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
