/**
 * Running one shell command in a process group of its own, and making sure no process of that
 * group outlives it. This module owns processes and signals; the output bytes go to a Writable
 * it is given (bash-output.ts), the result text is bash.ts's.
 *
 * The command runs as `<shell> -c <command>` in a new session (spawn `detached`), so its pid
 * is also its process-group id; stdin is /dev/null; stdout and stderr are one pipe, so their
 * output keeps its order. The run ends at the first of: the shell exits, the timeout, the
 * abort signal. In every case the group is then terminated: SIGTERM (and SIGCONT, so a stopped
 * job sees it) to the whole group, and SIGKILL after `BASH_KILL_GRACE_MS` if any member is
 * still alive — this also stops background jobs (`&`) a command that exited normally left.
 * Should the pod process exit while a command runs, its group gets SIGKILL from an `exit` hook.
 *
 * The limit: a process that leaves the group (`setsid`, `setpgid`, a daemon that double-forks
 * into its own session) cannot be found through the group and is not stopped. When such a
 * process still holds the output pipe open after the group is gone, the run stops reading
 * after `BASH_PIPE_DRAIN_MS` and says so (`pipeHeld`).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { formatUmask } from "../config/umask.js";

export { BASH_KILL_GRACE_MS } from "./bash-limits.js";
import { BASH_KILL_GRACE_MS } from "./bash-limits.js";
/** After SIGKILL, how long to wait for the group to be gone before giving up, ms. */
const BASH_KILL_WAIT_MS = 2_000;
/** After the group is gone, how long to wait for the output pipe to close, ms. */
export const BASH_PIPE_DRAIN_MS = 1_000;
/** Interval of the liveness checks while a group is being terminated, ms. */
const GROUP_POLL_MS = 20;

/**
 * `sh -c` trampoline: send this shell's stderr into stdout (one pipe, so order is kept), then
 * replace it with `<shell> -c <command>` under `$0` = the shell's base name (`bash: line 1: …`).
 * The `exec` keeps one process: the spawned pid is the command's shell.
 */
const TRAMPOLINE = 'exec 2>&1; exec "$0" -c "$1" "$2"';
/** The same, first setting the umask to `$3` (the user's, where the pod runs under its private one: src/config/umask.ts). */
const TRAMPOLINE_WITH_UMASK = `umask "$3"; ${TRAMPOLINE}`;

export type RunEnding =
  | { kind: "exit"; code: number | null; signal: NodeJS.Signals | null }
  | { kind: "timeout" }
  | { kind: "aborted"; reason: unknown };

export interface GroupRunResult {
  ending: RunEnding;
  /** Processes of the group were still running when the run ended (the shell itself, or jobs it left). */
  stoppedProcesses: boolean;
  /** The group ignored SIGTERM for `BASH_KILL_GRACE_MS` and got SIGKILL. */
  killed: boolean;
  /** Members of the group were still alive `BASH_KILL_WAIT_MS` after SIGKILL (e.g. stuck in the kernel). */
  survivors: boolean;
  /** The output pipe was still held open after the group was gone (by a process that left the group). */
  pipeHeld: boolean;
}

export interface GroupRunOptions {
  shell: string;
  command: string;
  cwd: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Receives the combined output; not ended by the run. */
  output: Writable;
  env?: NodeJS.ProcessEnv;
  /** The command's umask (the user's); default: this process's. */
  umask?: number;
}

/** Process groups started here and not yet confirmed gone: SIGKILLed if the pod process exits. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
  });
}

let cachedShell: string | undefined;

/** `bash` from PATH (or /bin, /usr/bin), else `/bin/sh`. */
export function findShell(): string {
  if (cachedShell) return cachedShell;
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/bin", "/usr/bin", "/usr/local/bin"].filter((dir) => path.isAbsolute(dir));
  for (const dir of dirs) {
    const candidate = path.join(dir, "bash");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      cachedShell = candidate;
      return candidate;
    } catch {
      // Not here.
    }
  }
  cachedShell = "/bin/sh";
  return cachedShell;
}

/**
 * Run the command to its end (see the module comment). Rejects only when the shell cannot be
 * started at all; a non-zero exit, a timeout or an abort is a normal `ending`.
 */
export async function runInProcessGroup(options: GroupRunOptions): Promise<GroupRunResult> {
  const trampoline = options.umask === undefined ? [TRAMPOLINE] : [TRAMPOLINE_WITH_UMASK];
  const umask = options.umask === undefined ? [] : [formatUmask(options.umask)];
  const child = spawn(options.shell, ["-c", ...trampoline, options.shell, options.command, path.basename(options.shell), ...umask], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise<RunEnding>((resolve) => child.once("exit", (code, signal) => resolve({ kind: "exit", code, signal })));
  const stdout = child.stdout;
  const pipeClosed = new Promise<boolean>((resolve) => stdout.once("close", () => resolve(true)));
  stdout.pipe(options.output, { end: false });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (error) {
    stdout.unpipe(options.output);
    stdout.destroy();
    throw new Error(`cannot start ${options.shell} in ${options.cwd}: ${(error as Error).message}`);
  }
  const pgid = child.pid as number;
  liveGroups.add(pgid);
  installExitHook();

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timedOut = new Promise<RunEnding>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), options.timeoutMs);
  });
  const aborted = new Promise<RunEnding>((resolve) => {
    onAbort = () => resolve({ kind: "aborted", reason: options.signal.reason });
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
  });
  let ending: RunEnding;
  try {
    ending = await Promise.race([exited, timedOut, aborted]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal.removeEventListener("abort", onAbort);
  }

  const termination = await terminateGroup(pgid);
  if (!termination.survivors) liveGroups.delete(pgid);
  // The shell is a member of the group, so it is dead by now; let node reap it (bounded all the same).
  await within(exited, BASH_KILL_WAIT_MS);
  const drained = (await within(pipeClosed, BASH_PIPE_DRAIN_MS)) === true;
  if (!drained) {
    stdout.unpipe(options.output);
    stdout.destroy();
  }
  return { ending, ...termination, pipeHeld: !drained };
}

/** The promise's value, or undefined after `timeoutMs`; the timer never outlives the wait (it would hold the pod's exit). */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM the group, SIGKILL it after the grace period, and wait (bounded) until it is gone. */
async function terminateGroup(pgid: number): Promise<Omit<GroupRunResult, "ending" | "pipeHeld">> {
  if (!isGroupAlive(pgid)) return { stoppedProcesses: false, killed: false, survivors: false };
  signalGroup(pgid, "SIGTERM");
  signalGroup(pgid, "SIGCONT");
  if (await waitForGroupExit(pgid, BASH_KILL_GRACE_MS)) return { stoppedProcesses: true, killed: false, survivors: false };
  signalGroup(pgid, "SIGKILL");
  const gone = await waitForGroupExit(pgid, BASH_KILL_WAIT_MS);
  return { stoppedProcesses: true, killed: true, survivors: !gone };
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await delay(GROUP_POLL_MS);
  }
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/**
 * Whether any process of the group is alive. `kill(-pgid, 0)` also succeeds for zombies (an
 * orphan whose new parent, e.g. a container's init, does not reap), so on Linux the members'
 * states are read from /proc and zombies do not count.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (process.platform !== "linux") return true;
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}
