/**
 * Test harness for the `podd` command line: runs `node bin/podd …` as a child process (no
 * shell), captures its output, and tracks the pods it daemonises so they can be killed on
 * cleanup. Every wait is on an event (process exit, output) bounded by a timeout; the only
 * poll is for the death of a process that is not our child (a daemonised pod), by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CLI_ENTRY } from "./pod-process.js";
import { isProcessAlive } from "../../src/client/pod-directory.js";

export interface CliResult {
  /** Exit code; null when killed (see `timedOut`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command did not exit within its bound and was killed. */
  timedOut: boolean;
}

export interface CliOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /** Upper bound on the command's run time before it is killed (default 15 s). */
  timeoutMs?: number;
  /** Run as this user and group (needs root: test/helpers/other-user.ts). */
  uid?: number;
  gid?: number;
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves once the process has exited and its output is closed. */
  result: Promise<CliResult>;
  stdout(): string;
  stderr(): string;
  /** Resolves when the stream's text so far matches `pattern`; rejects if the process ends first. */
  waitForOutput(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<void>;
}

const running = new Set<ChildProcess>();
const daemonPids = new Set<number>();

/** Start `podd <args…>` without waiting for it. */
export function spawnCli(args: readonly string[], options: CliOptions): CliProcess {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
    env: options.env,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  running.add(child);
  const output = { stdout: "", stderr: "" };
  const watchers: { stream: "stdout" | "stderr"; pattern: RegExp; resolve(): void }[] = [];
  const onData = (stream: "stdout" | "stderr") => (chunk: string) => {
    output[stream] += chunk;
    for (const watcher of [...watchers]) {
      if (watcher.stream === stream && watcher.pattern.test(output[stream])) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  };
  child.stdout?.setEncoding("utf8").on("data", onData("stdout"));
  child.stderr?.setEncoding("utf8").on("data", onData("stderr"));
  if (options.input !== undefined) {
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input);
  }
  let timedOut = false;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const result = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout: output.stdout, stderr: output.stderr, timedOut });
    });
  });
  return {
    child,
    result,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitForOutput: (pattern, stream = "stdout") => {
      if (pattern.test(output[stream])) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        watchers.push({ stream, pattern, resolve });
        void result.then((end) =>
          reject(new Error(`podd ${args.join(" ")} exited (${end.code ?? end.signal}) before ${stream} matched ${pattern}:\n${end[stream]}\n${end.stderr}`)),
        );
      });
    },
  };
}

/** Run `podd <args…>` to completion. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return spawnCli(args, options).result;
}

/** `podd <args…>` in a test home: its environment, run from its directory. */
export function runCliIn(home: { home: string; env: NodeJS.ProcessEnv }, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return runCli(args, { env: home.env, cwd: home.home, ...options });
}

/** A readable description of a result for assertion messages. */
export function describeResult(args: readonly string[], result: CliResult): string {
  const how = result.timedOut ? "timed out (killed)" : `exit ${result.code ?? result.signal}`;
  return `podd ${args.join(" ")}: ${how}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

/** Fail with the command's output when it did not exit with `code` (or timed out). */
export function expectExit(result: CliResult, code: number, args: readonly string[] = []): void {
  if (result.timedOut || result.code !== code) throw new Error(`expected exit ${code}; ${describeResult(args, result)}`);
}

/** Remember a daemonised pod's pid so that `killCliProcesses` can end it. */
export function trackDaemon(pid: number): void {
  daemonPids.add(pid);
}

/**
 * Track every pod that has a pid file under `runtime` (`<runtime>/<name>/pid`): pods a script
 * daemonised (e.g. scripts/demo.sh), which `killCliProcesses` then ends if the test did not.
 */
export function trackDaemonsUnder(runtime: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(runtime);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const pid = Number(fs.readFileSync(path.join(runtime, name, "pid"), "utf8").trim());
      if (Number.isInteger(pid) && pid > 0) trackDaemon(pid);
    } catch {
      // Not a pod's runtime dir, or its pod has removed it.
    }
  }
}

/** Whether `kill(pid, 0)` finds the process: true for a zombie not yet reaped, too. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether `pid` is a running process (a zombie counts as exited): the CLI's own check. */
export const isAlive = isProcessAlive;

/**
 * Wait until a process that is not our child (so no `exit` event) has gone: a bounded poll of
 * `kill(pid, 0)`. With `reaped`, also until its zombie was reaped (daemonised pods are
 * reparented to init, which may reap lazily), so that `kill(pid, 0)` fails. Resolves true when
 * that happened within `timeoutMs`.
 */
export async function waitForPidExit(pid: number, options: { timeoutMs?: number; reaped?: boolean } = {}): Promise<boolean> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (options.reaped ? pidExists(pid) : isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

/** Kill every CLI process still running and every tracked daemon; wait for the daemons to die. */
export async function killCliProcesses(): Promise<void> {
  for (const child of running) child.kill("SIGKILL");
  const pids = [...daemonPids];
  daemonPids.clear();
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await Promise.all(pids.map((pid) => waitForPidExit(pid, { timeoutMs: 5_000 })));
}
