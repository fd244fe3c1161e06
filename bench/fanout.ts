/**
 * Benchmark (a): fan-out throughput of text deltas to 1 and to 16 attached clients.
 *
 * podd: a real pod process on the scripted model whose one response is a text step with
 * `DELTA_COUNT` explicit 8-character chunks (bench/workload.ts), repeated for every run.
 * Baseline: bench/baseline-server.js broadcasting the byte-identical lines, one write per
 * line per client; the same server writing 64 lines per write is a second, informative
 * reference. For each client count both servers run side by side with their own clients
 * attached over their sockets, and runs alternate baseline / batched / podd (warm-up
 * first). A run is timed from just before the trigger line is written (`run` on podd) until
 * every client has read `run_end`. The clients live in this process and parse minimally:
 * they split lines and count those containing `"event":"text_delta"` (and their bytes), the
 * same code for both servers; every client must see every delta, and podd's and the
 * baseline's text_delta bytes must match, or the benchmark fails.
 */
import fs from "node:fs";
import path from "node:path";
import { script } from "../src/model/scripted/script-builder.js";
import {
  connect,
  DeltaClient,
  elapsedMs,
  median,
  nowNs,
  procStatusBytes,
  removeDir,
  startBaseline,
  startPod,
  tempDir,
  withTimeout,
  type BaselineProcess,
  type PodProcess,
} from "./support.js";
import { deltaTexts } from "./workload.js";

/** Text deltas per run. Each line is 50 bytes, so ~10 MB per client per run. */
export const DELTA_COUNT = 200_000;
export const CLIENT_COUNTS = [1, 16] as const;
export const WARMUP_RUNS = 1;
export const MEASURED_RUNS = 3;
/** Lines per write of the batched reference (the scripted model yields every 64 parts, so a pod writes ~64 lines per turn). */
export const BATCHED_REFERENCE_LINES = 64;
/** Longest a single run may take before the benchmark fails. */
const RUN_TIMEOUT_MS = 60_000;


export interface FanoutSide {
  /** Per measured run: trigger → every client saw run_end, ms. */
  runsMs: number[];
  medianMs: number;
  deltasPerSecondPerClient: number;
  /** text_delta line bytes received by all clients together, MB (10^6 bytes) per second. */
  aggregateMegabytesPerSecond: number;
  /** Peak RSS (VmHWM) of the server process after all runs, bytes. */
  peakRssBytes: number;
}

export interface FanoutResult {
  clients: number;
  deltas: number;
  lineBytes: number;
  podd: FanoutSide;
  baseline: FanoutSide;
  /** The baseline server writing 64 lines per `socket.write` (informative, no target). */
  baselineBatched: FanoutSide;
}

interface Target {
  label: string;
  pid: number;
  trigger: string;
  clients: DeltaClient[];
  runsMs: number[];
  deltaBytes: number;
}

async function attach(label: string, socket: string, count: number): Promise<DeltaClient[]> {
  const clients: DeltaClient[] = [];
  for (let index = 0; index < count; index += 1) clients.push(new DeltaClient(await connect(socket)));
  await withTimeout(Promise.all(clients.map((client) => client.attached)), 10_000, `${label}: snapshot on every client`);
  return clients;
}

async function runOnce(target: Target, deltas: number): Promise<number> {
  const ends = target.clients.map((client) => client.nextRunEnd());
  const startNs = nowNs();
  target.clients[0]?.write(target.trigger);
  await withTimeout(Promise.all(ends), RUN_TIMEOUT_MS, `${target.label}: run_end on every client`);
  const ms = elapsedMs(startNs);
  for (const [index, client] of target.clients.entries()) {
    if (client.deltas !== deltas) throw new Error(`${target.label}: client ${index} saw ${client.deltas} text_delta lines, expected ${deltas}`);
  }
  target.deltaBytes = target.clients.reduce((sum, client) => sum + client.deltaBytes, 0);
  return ms;
}

function summarise(target: Target, deltas: number): FanoutSide {
  const medianMs = median(target.runsMs);
  return {
    runsMs: target.runsMs,
    medianMs,
    deltasPerSecondPerClient: deltas / (medianMs / 1000),
    aggregateMegabytesPerSecond: target.deltaBytes / 1e6 / (medianMs / 1000),
    peakRssBytes: procStatusBytes(target.pid, "VmHWM"),
  };
}

/** Measure one client count: a fresh pod and a fresh baseline server, runs alternating. */
async function measureClients(clientCount: number, scenarioFile: string, log: (line: string) => void): Promise<FanoutResult> {
  const home = tempDir();
  let pod: PodProcess | undefined;
  let baseline: BaselineProcess | undefined;
  const clients: DeltaClient[] = [];
  try {
    baseline = await startBaseline(home);
    pod = await startPod({ home, name: "fanout", scenarioFile });
    const baselineClients = await attach("baseline", baseline.socket, clientCount);
    clients.push(...baselineClients);
    const poddClients = await attach("podd", pod.socket, clientCount);
    clients.push(...poddClients);
    const target = (label: string, pid: number, attached: DeltaClient[], trigger: object): Target => ({
      label,
      pid,
      clients: attached,
      trigger: `${JSON.stringify(trigger)}\n`,
      runsMs: [],
      deltaBytes: 0,
    });
    const baselineTarget = target("baseline", baseline.pid, baselineClients, { method: "run", params: { count: DELTA_COUNT } });
    const batchedTarget = target("baseline-batched", baseline.pid, baselineClients, {
      method: "run",
      params: { count: DELTA_COUNT, batch: BATCHED_REFERENCE_LINES },
    });
    const poddTarget = target("podd", pod.pid, poddClients, { method: "run", params: { input: [{ kind: "text", content: "go" }] } });
    const targets = [baselineTarget, batchedTarget, poddTarget];
    for (let run = 0; run < WARMUP_RUNS + MEASURED_RUNS; run += 1) {
      for (const each of targets) {
        const ms = await runOnce(each, DELTA_COUNT);
        if (run >= WARMUP_RUNS) each.runsMs.push(ms);
        log(`  fan-out ${clientCount} client(s) ${each.label} run ${run + 1}${run < WARMUP_RUNS ? " (warm-up)" : ""}: ${ms.toFixed(0)} ms`);
      }
    }
    if (poddTarget.deltaBytes !== baselineTarget.deltaBytes) {
      throw new Error(`podd sent ${poddTarget.deltaBytes} text_delta bytes, the baseline ${baselineTarget.deltaBytes}: the workloads differ`);
    }
    return {
      clients: clientCount,
      deltas: DELTA_COUNT,
      lineBytes: baselineTarget.deltaBytes / DELTA_COUNT / clientCount,
      podd: summarise(poddTarget, DELTA_COUNT),
      baseline: summarise(baselineTarget, DELTA_COUNT),
      baselineBatched: summarise(batchedTarget, DELTA_COUNT),
    };
  } finally {
    for (const client of clients) client.destroy();
    await Promise.allSettled([pod?.stop(), baseline?.stop()]);
    removeDir(home);
  }
}

export async function runFanout(log: (line: string) => void): Promise<FanoutResult[]> {
  const dir = tempDir();
  try {
    const chunks = deltaTexts(DELTA_COUNT);
    const scenario = script().text(chunks.join(""), { chunks }).finish().whenExhausted("repeat_last").build();
    const scenarioFile = path.join(dir, "fanout-scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(scenario));
    const results: FanoutResult[] = [];
    for (const clientCount of CLIENT_COUNTS) results.push(await measureClients(clientCount, scenarioFile, log));
    return results;
  } finally {
    removeDir(dir);
  }
}
