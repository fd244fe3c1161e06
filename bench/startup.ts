/**
 * Benchmark (c): pod start-up time and idle memory.
 *
 * Each iteration (one warm-up, then `MEASURED_STARTS`) runs, in this order:
 * - baseline: spawn `node -e <bare Unix-socket server>` with `PODD_READY_FD=3`; time to its
 *   readiness line on fd 3, then to its first accepted connection (our client has read the
 *   server's first line); VmRSS at that point; SIGTERM.
 * - podd, direct: spawn `node dist/src/daemon-main.js <name> --cwd <dir> --model
 *   scripted:<file>` with `PODD_READY_FD=3` and PODD_HOME / PODD_RUNTIME_DIR in a temp dir;
 *   time to the readiness line, then to the first accepted connection (the snapshot line
 *   read). Then one turn (`run` → `run_end` → `status idle`), `IDLE_SETTLE_MS` of quiet, and
 *   VmRSS from /proc/<pid>/status. Then `shutdown`, timed until the process has exited.
 * - podd, CLI: `bin/podd start <name> --json` (daemonising), timed until it exits 0 (it
 *   returns once the pod reported readiness); then `shutdown` and wait for that pid to exit.
 * Every time is taken with `process.hrtime.bigint()` from just before `spawn()`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import { script } from "../src/model/scripted/script-builder.js";
import {
  CLI_ENTRY,
  connect,
  elapsedMs,
  median,
  nowNs,
  percentile,
  podEnv,
  procStatusBytes,
  readLines,
  removeDir,
  sendShutdown,
  sleep,
  spawnUntilReady,
  startPod,
  tempDir,
  trackPid,
  untrackPid,
  waitForPidExit,
  withTimeout,
  type ExitStatus,
} from "./support.js";

export const MEASURED_STARTS = 10;
export const WARMUP_STARTS = 1;
/** Quiet time after the turn ends before VmRSS is read. */
export const IDLE_SETTLE_MS = 200;
const STEP_TIMEOUT_MS = 15_000;

/** The bare server of the baseline: listen, report readiness on fd 3, greet every connection with one line. */
const BASELINE_SERVER_CODE = [
  'const net = require("node:net"), fs = require("node:fs");',
  "const socketPath = process.argv[1];",
  'const server = net.createServer((socket) => { socket.on("error", () => {}); socket.write(\'{"event":"snapshot","data":{}}\\n\'); });',
  "server.listen(socketPath, () => {",
  "  const fd = Number(process.env.PODD_READY_FD);",
  '  fs.writeSync(fd, JSON.stringify({ ok: true, socket: socketPath, pid: process.pid }) + "\\n");',
  "  fs.closeSync(fd);",
  "});",
].join("\n");

export interface Distribution {
  samples: number[];
  median: number;
  p90: number;
}

export interface StartupResult {
  runs: number;
  podd: {
    readyMs: Distribution;
    firstConnectionMs: Distribution;
    cliStartMs: Distribution;
    shutdownMs: Distribution;
    idleRssBytes: Distribution;
  };
  baseline: {
    readyMs: Distribution;
    firstConnectionMs: Distribution;
    rssBytes: Distribution;
  };
}

function distribution(samples: number[]): Distribution {
  return { samples, median: median(samples), p90: percentile(samples, 90) };
}

/** Connect and resolve once the server's first line has been read (the connection was accepted). */
async function firstLine(socketPath: string): Promise<{ socket: net.Socket; next(match: (line: string) => boolean): Promise<void> }> {
  const socket = await connect(socketPath);
  const lines: string[] = [];
  let waiter: { match(line: string): boolean; resolve(): void } | undefined;
  readLines(socket, (line) => {
    if (waiter?.match(line)) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve();
    } else {
      lines.push(line);
    }
  });
  const next = (match: (line: string) => boolean): Promise<void> => {
    const index = lines.findIndex(match);
    if (index !== -1) {
      lines.splice(0, index + 1);
      return Promise.resolve();
    }
    lines.length = 0;
    return withTimeout(new Promise<void>((resolve) => (waiter = { match, resolve })), STEP_TIMEOUT_MS, `line on ${socketPath}`);
  };
  await next(() => true);
  return { socket, next };
}

async function measureBaseline(dir: string): Promise<{ readyMs: number; firstConnectionMs: number; rssBytes: number }> {
  const socketPath = path.join(dir, "bare.sock");
  const started = await spawnUntilReady(["-e", BASELINE_SERVER_CODE, socketPath], { ...process.env });
  try {
    const client = await firstLine(socketPath);
    const firstConnectionMs = elapsedMs(started.startNs);
    const rssBytes = procStatusBytes(started.pid, "VmRSS");
    client.socket.destroy();
    return { readyMs: started.readyMs, firstConnectionMs, rssBytes };
  } finally {
    started.child.kill("SIGTERM");
    await withTimeout(started.exited, STEP_TIMEOUT_MS, "bare server exit");
    fs.rmSync(socketPath, { force: true });
  }
}

async function measurePodDirect(
  home: string,
  name: string,
  scenarioFile: string,
): Promise<{ readyMs: number; firstConnectionMs: number; idleRssBytes: number; shutdownMs: number }> {
  const pod = await startPod({ home, name, scenarioFile });
  let stopped: ExitStatus | undefined;
  try {
    const client = await firstLine(pod.socket);
    const firstConnectionMs = elapsedMs(pod.startNs);
    client.socket.write(`${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "Hello" }] } })}\n`);
    await client.next((line) => line.includes('"event":"run_end"'));
    await client.next((line) => line.includes('"event":"status"') && line.includes('"idle"'));
    client.socket.destroy();
    await sleep(IDLE_SETTLE_MS);
    const idleRssBytes = procStatusBytes(pod.pid, "VmRSS");
    const stopNs = nowNs();
    stopped = await pod.stop();
    const shutdownMs = elapsedMs(stopNs);
    if (stopped.code !== 0) throw new Error(`pod ${name} exited with ${stopped.signal ?? stopped.code} after shutdown: ${pod.stderr()}`);
    return { readyMs: pod.readyMs, firstConnectionMs, idleRssBytes, shutdownMs };
  } finally {
    if (!stopped) pod.child.kill("SIGKILL");
  }
}

async function measurePodCli(home: string, name: string, scenarioFile: string): Promise<number> {
  const startNs = nowNs();
  const child = spawn(process.execPath, [CLI_ENTRY, "start", name, "--model", `scripted:${scenarioFile}`, "--cwd", home, "--json"], {
    env: podEnv(home),
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid !== undefined) trackPid(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exit = new Promise<ExitStatus>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let status: ExitStatus;
  try {
    status = await withTimeout(exit, STEP_TIMEOUT_MS, "podd start");
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    if (child.pid !== undefined) untrackPid(child.pid);
  }
  const cliMs = elapsedMs(startNs);
  // The pod's pid and socket are known once stdout has ended.
  if (!child.stdout.readableEnded) await withTimeout(new Promise((resolve) => child.stdout.once("end", resolve)), STEP_TIMEOUT_MS, "podd start output");
  if (status.code !== 0) throw new Error(`podd start exited with ${status.signal ?? status.code}: ${stderr.trim()}`);
  const started = JSON.parse(stdout.trim()) as { pid: number; socket: string };
  trackPid(started.pid);
  await sendShutdown(started.socket);
  await waitForPidExit(started.pid, STEP_TIMEOUT_MS);
  untrackPid(started.pid);
  return cliMs;
}

export async function runStartup(log: (line: string) => void): Promise<StartupResult> {
  const home = tempDir();
  try {
    const scenarioFile = path.join(home, "scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(script().text("Hello, I am idle now.").finish().build()));
    const samples = {
      baselineReady: [] as number[],
      baselineFirst: [] as number[],
      baselineRss: [] as number[],
      poddReady: [] as number[],
      poddFirst: [] as number[],
      poddRss: [] as number[],
      poddShutdown: [] as number[],
      poddCli: [] as number[],
    };
    for (let run = 0; run < WARMUP_STARTS + MEASURED_STARTS; run += 1) {
      const baseline = await measureBaseline(home);
      const direct = await measurePodDirect(home, `direct-${run}`, scenarioFile);
      const cliMs = await measurePodCli(home, `cli-${run}`, scenarioFile);
      const label = run < WARMUP_STARTS ? "warm-up" : `run ${run}`;
      log(
        `  start ${label}: podd ready ${direct.readyMs.toFixed(0)} ms, CLI ${cliMs.toFixed(0)} ms, idle RSS ${(direct.idleRssBytes / 1e6).toFixed(1)} MB; ` +
          `baseline ready ${baseline.readyMs.toFixed(0)} ms, RSS ${(baseline.rssBytes / 1e6).toFixed(1)} MB`,
      );
      if (run < WARMUP_STARTS) continue;
      samples.baselineReady.push(baseline.readyMs);
      samples.baselineFirst.push(baseline.firstConnectionMs);
      samples.baselineRss.push(baseline.rssBytes);
      samples.poddReady.push(direct.readyMs);
      samples.poddFirst.push(direct.firstConnectionMs);
      samples.poddRss.push(direct.idleRssBytes);
      samples.poddShutdown.push(direct.shutdownMs);
      samples.poddCli.push(cliMs);
    }
    return {
      runs: MEASURED_STARTS,
      podd: {
        readyMs: distribution(samples.poddReady),
        firstConnectionMs: distribution(samples.poddFirst),
        cliStartMs: distribution(samples.poddCli),
        shutdownMs: distribution(samples.poddShutdown),
        idleRssBytes: distribution(samples.poddRss),
      },
      baseline: {
        readyMs: distribution(samples.baselineReady),
        firstConnectionMs: distribution(samples.baselineFirst),
        rssBytes: distribution(samples.baselineRss),
      },
    };
  } finally {
    removeDir(home);
  }
}
