/**
 * Benchmark (b): round-trip latency from a method to its first event, one request at a
 * time on one connection over the real socket.
 *
 * - `notify` (`wake: false`, so no turn starts) → the `ack` with our `reply_to`;
 * - `list_completions` (kind `file`, empty prefix, a cwd of 20 files) → `completions`.
 *
 * podd: a real pod process. Baseline: bench/baseline-server.js answering a line with a line
 * (it reads no directory). A round trip is timed with `process.hrtime.bigint()` from just
 * before the method is written until the reply line is read and `JSON.parse`d. After a
 * warm-up, the measured requests run in blocks that alternate between baseline and podd, so
 * drift on the machine hits both alike.
 *
 * CPU placement: on a small VM a wake-up on another CPU costs ~100 µs, and where the
 * scheduler happens to put each process decides a run's p50 (we saw the same pod at 26 µs
 * and at 130 µs from run to run). So, where `taskset` works and there are 2+ CPUs, the
 * runner is pinned to the first CPU and both servers to the last one for this benchmark
 * (the runner's affinity is restored afterwards): every round trip crosses CPUs, for both.
 */
import fs from "node:fs";
import path from "node:path";
import type net from "node:net";
import { script } from "../src/model/scripted/script-builder.js";
import os from "node:os";
import {
  connect,
  cpuAffinity,
  nowNs,
  percentile,
  readLines,
  removeDir,
  setCpuAffinity,
  startBaseline,
  startPod,
  tempDir,
  withTimeout,
  type BaselineProcess,
  type PodProcess,
} from "./support.js";

export const WARMUP_ROUND_TRIPS = 500;
export const MEASURED_ROUND_TRIPS = 3_000;
const BLOCK_ROUND_TRIPS = 500;
const CWD_FILES = 20;
const REQUEST_TIMEOUT_MS = 5_000;

export interface LatencyStats {
  count: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
}

export interface RoundTripResult {
  /** How processes were placed on CPUs, for the report. */
  placement: string;
  method: string;
  reply: string;
  /** One example request line. */
  example: string;
  podd: LatencyStats;
  baseline: LatencyStats;
}

interface MethodCase {
  method: string;
  reply: string;
  line(id: string): string;
}

const CASES: MethodCase[] = [
  {
    method: "notify",
    reply: "ack",
    line: (id) => `${JSON.stringify({ method: "notify", params: { message: "x", wake: false }, id })}\n`,
  },
  {
    method: "list_completions",
    reply: "completions",
    line: (id) => `${JSON.stringify({ method: "list_completions", params: { kind: "file", prefix: "" }, id })}\n`,
  },
];

/** One connection; `roundTrip` writes a line and resolves with the time until the reply, µs. */
class ReplyClient {
  readonly attached: Promise<void>;
  private onAttached!: () => void;
  private waiting: { id: string; reply: string; startNs: bigint; resolve(us: number): void; reject(error: Error): void } | undefined;
  private readonly socket: net.Socket;
  private nextId = 1;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.attached = new Promise((resolve) => (this.onAttached = resolve));
    readLines(socket, (line) => this.line(line));
  }

  roundTrip(testCase: MethodCase): Promise<number> {
    const id = `${testCase.method[0]}${this.nextId++}`;
    const line = testCase.line(id);
    const reply = new Promise<number>((resolve, reject) => {
      this.waiting = { id, reply: testCase.reply, startNs: nowNs(), resolve, reject };
      this.socket.write(line);
    });
    return withTimeout(reply, REQUEST_TIMEOUT_MS, `reply to ${line.trim()}`);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private line(line: string): void {
    const event = JSON.parse(line) as { event?: string; reply_to?: unknown };
    const endNs = nowNs();
    if (event.event === "snapshot") return this.onAttached();
    const waiting = this.waiting;
    if (!waiting || event.reply_to !== waiting.id) return;
    this.waiting = undefined;
    if (event.event !== waiting.reply) waiting.reject(new Error(`expected ${waiting.reply}, got ${line.slice(0, 300)}`));
    else waiting.resolve(Number(endNs - waiting.startNs) / 1e3);
  }
}

function stats(samples: readonly number[]): LatencyStats {
  return {
    count: samples.length,
    p50Us: percentile(samples, 50),
    p99Us: percentile(samples, 99),
    meanUs: samples.reduce((sum, value) => sum + value, 0) / samples.length,
    maxUs: Math.max(...samples),
  };
}

interface Placement {
  description: string;
  restore(): void;
}

/** Runner on the first CPU, both servers on the last (see the module comment); unpinned where that cannot be done. */
function pinProcesses(poddPid: number, baselinePid: number): Placement {
  const cpus = os.cpus().length;
  const original = cpuAffinity(process.pid);
  const unpinned = { description: "not pinned (taskset unavailable or a single CPU); the scheduler placed the processes", restore: () => undefined };
  if (cpus < 2 || original === undefined) return unpinned;
  const serverCpu = String(cpus - 1);
  if (!setCpuAffinity(poddPid, serverCpu) || !setCpuAffinity(baselinePid, serverCpu) || !setCpuAffinity(process.pid, "0")) {
    setCpuAffinity(process.pid, original);
    return unpinned;
  }
  return {
    description: `client (runner) pinned to CPU 0, podd and baseline servers to CPU ${serverCpu} (taskset), so every round trip crosses CPUs`,
    restore: () => void setCpuAffinity(process.pid, original),
  };
}

export async function runRoundTrip(log: (line: string) => void): Promise<RoundTripResult[]> {
  const home = tempDir();
  let pod: PodProcess | undefined;
  let baseline: BaselineProcess | undefined;
  const clients: ReplyClient[] = [];
  let placement: Placement | undefined;
  try {
    const cwd = path.join(home, "cwd");
    fs.mkdirSync(cwd);
    for (let index = 0; index < CWD_FILES; index += 1) fs.writeFileSync(path.join(cwd, `file-${String(index).padStart(2, "0")}.txt`), "x\n");
    const scenarioFile = path.join(home, "scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(script().text("ok").finish().build()));
    baseline = await startBaseline(home);
    pod = await startPod({ home, name: "round-trip", scenarioFile, cwd });
    placement = pinProcesses(pod.pid, baseline.pid);
    log(`  round trip placement: ${placement.description}`);
    const targets = [
      { label: "baseline", client: new ReplyClient(await connect(baseline.socket)) },
      { label: "podd", client: new ReplyClient(await connect(pod.socket)) },
    ];
    clients.push(...targets.map((target) => target.client));
    await withTimeout(Promise.all(clients.map((client) => client.attached)), 10_000, "snapshot on the round-trip clients");

    const results: RoundTripResult[] = [];
    for (const testCase of CASES) {
      const samples = new Map<string, number[]>(targets.map((target) => [target.label, []]));
      for (const target of targets) for (let index = 0; index < WARMUP_ROUND_TRIPS; index += 1) await target.client.roundTrip(testCase);
      for (let done = 0; done < MEASURED_ROUND_TRIPS; done += BLOCK_ROUND_TRIPS) {
        for (const target of targets) {
          const into = samples.get(target.label) as number[];
          for (let index = 0; index < BLOCK_ROUND_TRIPS; index += 1) into.push(await target.client.roundTrip(testCase));
        }
      }
      const result: RoundTripResult = {
        placement: placement.description,
        method: testCase.method,
        reply: testCase.reply,
        example: testCase.line("n1").trim(),
        podd: stats(samples.get("podd") as number[]),
        baseline: stats(samples.get("baseline") as number[]),
      };
      log(
        `  round trip ${testCase.method} → ${testCase.reply}: podd p50 ${result.podd.p50Us.toFixed(0)} µs p99 ${result.podd.p99Us.toFixed(0)} µs; ` +
          `baseline p50 ${result.baseline.p50Us.toFixed(0)} µs p99 ${result.baseline.p99Us.toFixed(0)} µs`,
      );
      results.push(result);
    }
    return results;
  } finally {
    placement?.restore();
    for (const client of clients) client.destroy();
    await Promise.allSettled([pod?.stop(), baseline?.stop()]);
    removeDir(home);
  }
}
