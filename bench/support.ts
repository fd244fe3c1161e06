/**
 * Shared plumbing of the benchmarks: temp dirs and child processes that are always cleaned
 * up (also when a benchmark throws or the runner is interrupted), starting a real pod process
 * from `dist/` and waiting on its readiness pipe (fd 3, `PODD_READY_FD=3`), a minimal
 * JSON-lines reader for raw sockets, bounded waits, `/proc` memory readings and percentiles.
 * It owns no measurement: each benchmark module does its own timing.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isProcessAlive } from "../src/client/pod-directory.js";
import type { PodMetadata } from "../src/client/pod-metadata-file.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DAEMON_ENTRY = path.join(REPO_ROOT, "dist", "src", "daemon-main.js");
export const CLI_ENTRY = path.join(REPO_ROOT, "bin", "podd");
export const BASELINE_SERVER = path.join(REPO_ROOT, "bench", "baseline-server.js");

// ---- cleanup ------------------------------------------------------------------------------

const trackedPids = new Set<number>();
const trackedDirs = new Set<string>();

/** Remember a process to SIGKILL on cleanup (forgotten once it exits by itself). */
export function trackPid(pid: number): void {
  trackedPids.add(pid);
}

export function untrackPid(pid: number): void {
  trackedPids.delete(pid);
}

/**
 * Kill every tracked process and remove every temp dir. Synchronous, so it also works from
 * `process.on("exit")`. A pod that `podd start` daemonised is not our child and its pid is
 * known only once the CLI has printed it; so, after the tracked processes are gone (no CLI
 * left to spawn more), processes whose command line names one of our temp dirs (unique
 * `mkdtemp` paths: every pod we start gets `--cwd` or its scenario file there) are killed
 * by pid too.
 */
export function cleanupAll(): void {
  const killed = [...trackedPids];
  for (const pid of killed) kill(pid);
  trackedPids.clear();
  if (trackedDirs.size > 0) {
    const strays = processesNaming([...trackedDirs]);
    for (const pid of strays) kill(pid);
    killed.push(...strays);
  }
  // A killed pod may still be writing into its dir for a moment; wait (bounded) until it is gone.
  const deadline = Date.now() + 2_000;
  while (killed.some(isAlive) && Date.now() < deadline) sleepSync(10);
  for (const dir of trackedDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch (error) {
      process.stderr.write(`bench: could not remove ${dir}: ${(error as Error).message}\n`);
    }
  }
  trackedDirs.clear();
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Pids (other than ours) whose /proc/<pid>/cmdline contains one of `paths`. */
function processesNaming(paths: string[]): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (paths.some((dir) => commandLine.includes(`${dir}/`) || commandLine.includes(`${dir}\0`))) found.push(pid);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** A fresh dir under the OS temp dir (short, so socket paths stay far below 107 bytes), removed on cleanup. */
export function tempDir(prefix = "podd-bench-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  trackedDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  trackedDirs.delete(dir);
}

/** Environment for a pod whose home and runtime dir live in `home`. */
export function podEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PODD_HOME: home, PODD_RUNTIME_DIR: path.join(home, "run"), PODD_QUIET: "1" };
  delete env.XDG_RUNTIME_DIR;
  delete env.PODD_READY_FD;
  return env;
}

// ---- time ---------------------------------------------------------------------------------

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function elapsedMs(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}

/** Reject with `label` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- child processes ----------------------------------------------------------------------

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export interface ReadyProcess {
  child: ChildProcess;
  pid: number;
  /** `process.hrtime.bigint()` just before `spawn()`. */
  startNs: bigint;
  /** Spawn → readiness line on fd 3, ms. */
  readyMs: number;
  /** The readiness line, parsed. */
  ready: { ok: boolean; socket?: string; pid?: number; error?: string };
  exited: Promise<ExitStatus>;
  stderr(): string;
}

/**
 * Spawn `process.execPath args` with a pipe on fd 3 and `PODD_READY_FD=3`, and resolve once
 * the first line arrives on it (or the process exits, or `timeoutMs` passes: then it is
 * killed and this rejects). The spawn time is taken just before `spawn()`.
 */
export async function spawnUntilReady(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<ReadyProcess> {
  const startNs = nowNs();
  const child = spawn(process.execPath, args, { env: { ...env, PODD_READY_FD: "3" }, stdio: ["ignore", "ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`cannot spawn ${args.join(" ")}`);
  const pid = child.pid;
  trackPid(pid);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  const exited = new Promise<ExitStatus>((resolve) =>
    child.on("exit", (code, signal) => {
      untrackPid(pid);
      resolve({ code, signal });
    }),
  );
  const readiness = new Promise<{ line: string; readyMs: number }>((resolve, reject) => {
    let text = "";
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      text += chunk;
      const newline = text.indexOf("\n");
      if (newline !== -1) resolve({ line: text.slice(0, newline), readyMs: elapsedMs(startNs) });
    });
    void exited.then(({ code, signal }) => reject(new Error(`exited (${signal ?? `code ${code}`}) before ready: ${stderr.trim()}`)));
  });
  try {
    const { line, readyMs } = await withTimeout(readiness, timeoutMs, `readiness of ${args.join(" ")}`);
    const ready = JSON.parse(line) as ReadyProcess["ready"];
    if (!ready.ok) throw new Error(`not ready: ${ready.error ?? line}`);
    return { child, pid, startNs, readyMs, ready, exited, stderr: () => stderr };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

export interface PodProcess extends ReadyProcess {
  socket: string;
  /** Send `shutdown` on a fresh connection and wait (bounded) for the process to exit. */
  stop(): Promise<ExitStatus>;
}

/** Start a real pod process (compiled daemon) on the scripted model; resolves once it is ready. */
export async function startPod(options: { home: string; name: string; scenarioFile: string; cwd?: string }): Promise<PodProcess> {
  // No automatic compaction: the throughput runs grow the history past the scripted model's
  // window, and a compaction inside a measured run would measure it instead.
  const args = [DAEMON_ENTRY, options.name, "--cwd", options.cwd ?? options.home, "--model", `scripted:${options.scenarioFile}`, "--compact-at", "0"];
  const started = await spawnUntilReady(args, podEnv(options.home));
  const socket = started.ready.socket;
  if (!socket) throw new Error("the readiness line named no socket");
  return { ...started, socket, stop: () => stopPodProcess(socket, started) };
}

async function stopPodProcess(socket: string, started: ReadyProcess): Promise<ExitStatus> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return started.exited;
  await sendShutdown(socket);
  try {
    return await withTimeout(started.exited, 10_000, "pod exit after shutdown");
  } catch (error) {
    started.child.kill("SIGKILL");
    throw error;
  }
}

/**
 * Connect, write `{"method":"shutdown"}` and half-close. What the server sends back (a pod's
 * snapshot can be megabytes) is read and discarded: a pod flushes every connection before it
 * exits, so a connection nobody reads would hold the exit up. Errors (the pod already gone)
 * are ignored.
 */
export async function sendShutdown(socketPath: string): Promise<void> {
  try {
    const socket = await connect(socketPath);
    socket.resume();
    socket.end('{"method":"shutdown"}\n');
  } catch {
    // Nothing listens any more.
  }
}

/** Wait (polling, bounded) until a process that is not our child has exited. */
export async function waitForPidExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Whether `pid` is a running process; a zombie (exited, not yet reaped) counts as gone. The CLI's own check. */
export const isAlive = isProcessAlive;

// ---- sockets ------------------------------------------------------------------------------

export function connect(socketPath: string, timeoutMs = 5_000): Promise<net.Socket> {
  return withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", () => undefined);
        resolve(socket);
      });
      socket.once("error", reject);
    }),
    timeoutMs,
    `connect to ${socketPath}`,
  );
}

/**
 * Call `onLine` for every complete `\n`-terminated line read from `socket` (decoded as UTF-8;
 * a multi-byte character split across chunks is kept whole by the stream's decoder).
 */
export function readLines(socket: net.Socket, onLine: (line: string) => void): void {
  let carry = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    let text = carry === "" ? chunk : carry + chunk;
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) break;
      onLine(text.slice(start, newline));
      start = newline + 1;
    }
    text = text.slice(start);
    carry = text;
  });
}

// ---- CPU affinity -------------------------------------------------------------------------

/** The CPU list a process may run on (`taskset -c -p`), e.g. "0,1", or undefined without taskset. */
export function cpuAffinity(pid: number): string | undefined {
  try {
    const output = execFileSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return /list:\s*(\S+)/.exec(output)?.[1];
  } catch {
    return undefined;
  }
}

/** Pin every thread of a process to a CPU list (`taskset -a -p -c`). Returns false when that is not possible here. */
export function setCpuAffinity(pid: number, cpus: string): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// ---- /proc --------------------------------------------------------------------------------

/** A `kB` field of `/proc/<pid>/status` (VmRSS, VmHWM), in bytes. */
export function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

// ---- statistics ---------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of the values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Samples with their median and maximum, as the reports print them. */
export interface Summary {
  samples: number[];
  median: number;
  max: number;
}

export function summary(samples: number[]): Summary {
  return { samples, median: median(samples), max: Math.max(...samples) };
}

// ---- the baseline server ------------------------------------------------------------------

export interface BaselineProcess extends ReadyProcess {
  socket: string;
  stop(): Promise<ExitStatus>;
}

/** Start bench/baseline-server.js on `<dir>/baseline.sock`; resolves once it listens. */
export async function startBaseline(dir: string): Promise<BaselineProcess> {
  const socket = path.join(dir, "baseline.sock");
  const started = await spawnUntilReady([BASELINE_SERVER, socket], { ...process.env });
  const stop = async (): Promise<ExitStatus> => {
    if (started.child.exitCode !== null || started.child.signalCode !== null) return started.exited;
    await sendShutdown(socket);
    try {
      return await withTimeout(started.exited, 5_000, "baseline server exit after shutdown");
    } catch (error) {
      started.child.kill("SIGKILL");
      throw error;
    }
  };
  return { ...started, socket, stop };
}

const TEXT_DELTA_MARKER = '"event":"text_delta"';
const RUN_END_MARKER = '"event":"run_end"';
const SNAPSHOT_MARKER = '"event":"snapshot"';
const TROUBLE_MARKERS = ['"event":"error"', '"event":"llm_retry"'];

/**
 * One attached client of a pod or a baseline server: counts text_delta lines (and their bytes),
 * notes the first one, keeps error / llm_retry lines, resolves on run_end. Lines are matched by
 * marker, not parsed, so the client side costs the same for every server measured.
 */
export class DeltaClient {
  deltas = 0;
  deltaBytes = 0;
  firstDeltaNs: bigint | undefined;
  trouble: string[] = [];
  readonly attached: Promise<void>;
  private onAttached!: () => void;
  private onEnd: ((line: string) => void) | undefined;
  private readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.attached = new Promise((resolve) => (this.onAttached = resolve));
    readLines(socket, (line) => this.line(line));
  }

  /** Reset the counters; resolves with the next run_end line. */
  nextRunEnd(): Promise<string> {
    this.deltas = 0;
    this.deltaBytes = 0;
    this.firstDeltaNs = undefined;
    this.trouble = [];
    return new Promise((resolve) => (this.onEnd = resolve));
  }

  write(line: string): void {
    this.socket.write(line);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private line(line: string): void {
    if (line.includes(TEXT_DELTA_MARKER)) {
      if (this.deltas === 0) this.firstDeltaNs = nowNs();
      this.deltas += 1;
      this.deltaBytes += line.length + 1;
    } else if (line.includes(RUN_END_MARKER)) {
      const onEnd = this.onEnd;
      this.onEnd = undefined;
      onEnd?.(line);
    } else if (line.includes(SNAPSHOT_MARKER)) {
      this.onAttached();
    } else if (TROUBLE_MARKERS.some((marker) => line.includes(marker))) {
      this.trouble.push(line.slice(0, 300));
    }
  }
}

/**
 * Write `<home>/pods/<name>/metadata.json` for a pod whose session a benchmark wrote by hand, so
 * that starting the pod restores it (the shape of src/client/pod-metadata-file.ts).
 */
export function writeRestorableMetadata(options: { home: string; name: string; sessionId: string; segmentId: string; cwd: string; now: number }): void {
  const dataDir = path.join(options.home, "pods", options.name);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const metadata: PodMetadata = {
    pod_name: options.name,
    session_id: options.sessionId,
    segment_id: options.segmentId,
    cwd: options.cwd,
    model: "scripted",
    scope: { allow: [], deny: [] },
    bash: true,
    permissions: [],
    system_prompt: `You are ${options.name}, a benchmark pod. Be concise.`,
    created_at_ms: options.now,
    updated_at_ms: options.now,
  };
  fs.writeFileSync(path.join(dataDir, "metadata.json"), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
}
