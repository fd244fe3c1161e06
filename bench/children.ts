/**
 * Benchmark (f): child pods — time to spawn `CHILDREN` children until all are ready, and the
 * resident memory of an idle child (informative, no targets).
 *
 * Each of `WARMUP_ROUNDS` + `MEASURED_ROUNDS` rounds runs, in this order:
 * - baseline: `CHILDREN` bare Node processes (`node bench/baseline-server.js <socket>`, a Unix
 *   socket server that reports readiness on fd 3), started one after the other, each waited for
 *   as the supervisor waits for a child: its readiness line on the pipe, then a connection and
 *   one request answered (`ack`, standing in for the child accepting its task's `run`). Timed
 *   from just before the first `spawn()`. After 200 ms of quiet, VmRSS (and PSS) of each.
 * - podd: a parent pod (`node dist/src/daemon-main.js parent --model scripted:<file>`) whose
 *   first model response is `CHILDREN` `spawn_pod` tool calls (each child on the scripted model
 *   with a one-line answer, scope `[]`). Timed from just before `run` is written on the
 *   parent's socket until the client has read each spawn_pod `tool_result` (one arrives once
 *   that child's socket answered and it accepted its task; the turn loop runs the calls one
 *   after another). Then the children finish their one turn: every child's status.json says
 *   `idle` and the parent has committed `CHILDREN` `turn_ended` pod_event system items; after
 *   200 ms of quiet, VmRSS (and PSS) of every child from /proc.
 * - root pod: one pod on the children's scenario, one turn (`run` → `run_end` → `status
 *   idle`), 200 ms of quiet, VmRSS (and PSS): an idle root pod, for comparison.
 * Clean-up: children get `shutdown` (in parallel) and are waited for by pid, then the parent;
 * a child that has not exited within `EXIT_TIMEOUT_MS` is SIGKILLed and reported. Children
 * are detached (their own process group): their pids come from the parent's
 * `<home>/pods/parent/children.json` and are tracked, so a failure kills them too.
 */
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import { script } from "../src/model/scripted/script-builder.js";
import {
  BASELINE_SERVER,
  connect,
  elapsedMs,
  isAlive,
  median,
  nowNs,
  procStatusBytes,
  readLines,
  removeDir,
  sendShutdown,
  sleep,
  spawnUntilReady,
  startPod,
  summary,
  tempDir,
  trackPid,
  untrackPid,
  waitForPidExit,
  withTimeout,
  type ExitStatus,
  type ReadyProcess,
  type Summary,
} from "./support.js";

export const CHILDREN = 10;
export const MEASURED_ROUNDS = 3;
export const WARMUP_ROUNDS = 1;
/** Quiet time after the children went idle before memory is read (as in start-up). */
export const IDLE_SETTLE_MS = 200;
const SPAWN_TIMEOUT_MS = 60_000;
const IDLE_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;
const PARENT = "parent";

export interface SpawnTimes {
  /** Start → all `CHILDREN` ready and accepted their task, per round. */
  allReadyMs: Summary;
  /** Start → the first one, per round. */
  firstReadyMs: Summary;
  /** (all − first) / (CHILDREN − 1): each further child, per round. */
  perChildMs: Summary;
}

export interface Memory {
  /** VmRSS of every process measured, all rounds. */
  rssBytes: Summary;
  /** Pss from /proc/<pid>/smaps_rollup (shared pages split between the processes mapping them). */
  pssBytes: Summary;
}

export interface ChildrenResult {
  children: number;
  rounds: number;
  podd: SpawnTimes & {
    /** run → the first tool_call_done of the parent's response (before any spawn), per round. */
    firstCallMs: Summary;
    /** Per child, all rounds: the parent's record of the spawn (`spawned_at_ms`) → its tool_result at the client (wall clock, ms resolution). */
    launchMs: Summary;
    /** Per child, all rounds: `spawned_at_ms` → the child's `started_at_ms` (its start-up until it listens). */
    startMs: Summary;
    /** Per child, all rounds: the child's `started_at_ms` → its tool_result at the client. */
    acceptMs: Summary;
    /** Per child after the first, all rounds: the previous tool_result at the client → the parent's `spawned_at_ms` of the next child. */
    betweenMs: Summary;
    /** run → all children idle (status.json and the parent's turn_ended items), per round. */
    allIdleMs: Summary;
    children: Memory;
    /** The parent pod's VmRSS with its children idle. */
    parentRssBytes: Summary;
  };
  baseline: SpawnTimes & Memory;
  rootPod: Memory;
  /** Anything odd during clean-up (a child that did not exit after shutdown). */
  notes: string[];
}

/** A `kB` field of /proc/<pid>/smaps_rollup, in bytes. */
function smapsRollupBytes(pid: number, field: "Pss"): number {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/smaps_rollup`);
  return Number(match[1]) * 1024;
}

function memoryOf(pid: number): { rss: number; pss: number } {
  return { rss: procStatusBytes(pid, "VmRSS"), pss: smapsRollupBytes(pid, "Pss") };
}

/** A connection whose lines are parsed as JSON and handed to the current listener. */
class EventStream {
  private listener: ((event: { event: string; data?: unknown }) => void) | undefined;
  readonly snapshot: Promise<void>;

  constructor(readonly socket: net.Socket) {
    let onSnapshot!: () => void;
    this.snapshot = new Promise((resolve) => (onSnapshot = resolve));
    readLines(socket, (line) => {
      if (line.startsWith('{"event":"snapshot"')) {
        onSnapshot();
        return;
      }
      if (line.includes('"event":"text_delta"')) return;
      this.listener?.(JSON.parse(line) as { event: string; data?: unknown });
    });
  }

  on(listener: (event: { event: string; data?: unknown }) => void): void {
    this.listener = listener;
  }
}

// ---- baseline -------------------------------------------------------------------------------

async function baselineRound(): Promise<{ times: number[]; memory: { rss: number; pss: number }[] }> {
  const dir = tempDir("podd-bc-");
  const servers: ReadyProcess[] = [];
  try {
    const times: number[] = [];
    const startNs = nowNs();
    for (let index = 0; index < CHILDREN; index += 1) {
      const socketPath = path.join(dir, `s${index}.sock`);
      servers.push(await spawnUntilReady([BASELINE_SERVER, socketPath], { ...process.env }));
      const socket = await connect(socketPath);
      const acked = new Promise<void>((resolve) => readLines(socket, (line) => line.includes('"reply_to"') && resolve()));
      socket.write('{"id":"1","method":"task"}\n');
      await withTimeout(acked, STEP_TIMEOUT_MS, `ack from ${socketPath}`);
      socket.destroy();
      times.push(elapsedMs(startNs));
    }
    await sleep(IDLE_SETTLE_MS);
    return { times, memory: servers.map((server) => memoryOf(server.pid)) };
  } finally {
    await Promise.all(
      servers.map(async (server, index) => {
        await sendShutdown(path.join(dir, `s${index}.sock`));
        try {
          await withTimeout(server.exited, EXIT_TIMEOUT_MS, "baseline server exit");
        } catch {
          server.child.kill("SIGKILL");
        }
      }),
    );
    removeDir(dir);
  }
}

// ---- podd -----------------------------------------------------------------------------------

interface ChildOnDisk {
  name: string;
  pid: number;
  spawned_at_ms?: number;
}

function childrenOnDisk(home: string): ChildOnDisk[] {
  try {
    return (JSON.parse(fs.readFileSync(path.join(home, "pods", PARENT, "children.json"), "utf8")) as { children: ChildOnDisk[] }).children;
  } catch {
    return [];
  }
}

function childStatusFile(home: string, name: string): { status?: string; started_at_ms?: number } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(home, "run", name, "status.json"), "utf8")) as { status?: string; started_at_ms?: number };
  } catch {
    return undefined;
  }
}

function childStatus(home: string, name: string): string | undefined {
  return childStatusFile(home, name)?.status;
}

interface PoddRound {
  firstCallMs: number;
  times: number[];
  /** Per child: the parent's `spawned_at_ms` (its record, just before the launch) → its tool_result read by the client (wall clock, ms). */
  launchMs: number[];
  /** Per child: `spawned_at_ms` → the child's own `started_at_ms` in its status.json (set once it listens, before readiness). */
  startMs: number[];
  /** Per child: the child's `started_at_ms` → its tool_result read by the client (readiness, `run` accepted, result delivered). */
  acceptMs: number[];
  /** Per child after the first: the previous child's tool_result at the client → this child's `spawned_at_ms`. */
  betweenMs: number[];
  allIdleMs: number;
  children: { rss: number; pss: number }[];
  parentRss: number;
  notes: string[];
}

async function poddRound(childScenario: string, round: number): Promise<PoddRound> {
  const home = tempDir("podd-bc-");
  const work = path.join(home, "work");
  fs.mkdirSync(work);
  const parentScenario = path.join(home, "parent.json");
  const builder = script();
  for (let index = 0; index < CHILDREN; index += 1) {
    builder.toolCall("spawn_pod", { name: `c${index}`, task: "hi", scope: [], model: `scripted:${childScenario}` }, { id: `spawn-${index}` });
  }
  fs.writeFileSync(parentScenario, JSON.stringify(builder.finish().text("Spawned them.").finish().whenExhausted("repeat_last").build()));

  const notes: string[] = [];
  let childPids: ChildOnDisk[] = [];
  const parent = await startPod({ home, name: PARENT, scenarioFile: parentScenario, cwd: work });
  let parentStopped = false;
  let socket: net.Socket | undefined;
  try {
    socket = await connect(parent.socket);
    const stream = new EventStream(socket);
    await withTimeout(stream.snapshot, STEP_TIMEOUT_MS, "parent snapshot");

    const spawnIds = new Set(Array.from({ length: CHILDREN }, (_, index) => `spawn-${index}`));
    const times: number[] = [];
    const resultWallMs = new Map<number, number>();
    let firstCallMs: number | undefined;
    const turnEnded = new Set<string>();
    let onSpawned!: () => void;
    let onFailed!: (error: Error) => void;
    let onReports: (() => void) | undefined;
    const spawned = new Promise<void>((resolve, reject) => {
      onSpawned = resolve;
      onFailed = reject;
    });
    const startNs = nowNs();
    stream.on((event) => {
      const data = event.data as Record<string, unknown> | undefined;
      if (event.event === "tool_call_done" && firstCallMs === undefined) {
        firstCallMs = elapsedMs(startNs);
      } else if (event.event === "tool_result" && spawnIds.has(String(data?.id))) {
        if (data?.is_error) onFailed(new Error(`spawn_pod ${String(data.id)} failed: ${String(data.summary)} ${String(data.output ?? "")}`));
        times.push(elapsedMs(startNs));
        resultWallMs.set(Number(String(data?.id).slice("spawn-".length)), Date.now());
        if (times.length === CHILDREN) onSpawned();
      } else if (event.event === "system_item") {
        const item = data?.item as { kind?: string; event?: { kind?: string; pod_name?: string } } | undefined;
        if (item?.kind === "pod_event" && item.event?.kind === "turn_ended" && item.event.pod_name) {
          turnEnded.add(item.event.pod_name);
          if (turnEnded.size === CHILDREN) onReports?.();
        }
      } else if (event.event === "error" || event.event === "run_end") {
        const result = event.event === "run_end" ? (data?.result as string | undefined) : undefined;
        if (event.event === "error" || result !== "finished") {
          if (times.length < CHILDREN) onFailed(new Error(`parent: ${JSON.stringify(event).slice(0, 300)}`));
        }
      }
    });
    socket.write(`${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: `spawn ${CHILDREN} children` }] } })}\n`);
    try {
      await withTimeout(spawned, SPAWN_TIMEOUT_MS, `${CHILDREN} spawn_pod results`);
    } finally {
      childPids = childrenOnDisk(home);
      for (const child of childPids) if (child.pid > 0) trackPid(child.pid);
    }
    if (childPids.length !== CHILDREN || new Set(childPids.map((child) => child.pid)).size !== CHILDREN) {
      throw new Error(`children.json lists ${childPids.length} children (${childPids.map((child) => `${child.name}:${child.pid}`).join(", ")})`);
    }

    // Idle: every child's status.json, and the parent has the turn_ended report of each.
    const reports = turnEnded.size === CHILDREN ? Promise.resolve() : new Promise<void>((resolve) => (onReports = resolve));
    await withTimeout(reports, IDLE_TIMEOUT_MS, `${CHILDREN} turn_ended reports on the parent`);
    const idleDeadline = Date.now() + IDLE_TIMEOUT_MS;
    while (childPids.some((child) => childStatus(home, child.name) !== "idle")) {
      if (Date.now() > idleDeadline) throw new Error(`children not idle after ${IDLE_TIMEOUT_MS} ms: ${childPids.map((child) => `${child.name}=${childStatus(home, child.name)}`).join(", ")}`);
      await sleep(10);
    }
    const allIdleMs = elapsedMs(startNs);
    // Child `c<i>` was spawned by call `spawn-<i>`; the calls ran in order.
    const spawnedAt = (index: number): number => childPids.find((child) => child.name === `c${index}`)?.spawned_at_ms ?? Number.NaN;
    const resultAt = (index: number): number => resultWallMs.get(index) ?? Number.NaN;
    const startedAt = (index: number): number => childStatusFile(home, `c${index}`)?.started_at_ms ?? Number.NaN;
    const launchMs = Array.from({ length: CHILDREN }, (_, index) => resultAt(index) - spawnedAt(index));
    const startMs = Array.from({ length: CHILDREN }, (_, index) => startedAt(index) - spawnedAt(index));
    const acceptMs = Array.from({ length: CHILDREN }, (_, index) => resultAt(index) - startedAt(index));
    const betweenMs = Array.from({ length: CHILDREN - 1 }, (_, index) => spawnedAt(index + 1) - resultAt(index));
    await sleep(IDLE_SETTLE_MS);
    const children = childPids.map((child) => memoryOf(child.pid));
    const parentRss = procStatusBytes(parent.pid, "VmRSS");
    socket.destroy();
    socket = undefined;

    // Clean-up, measured only for oddities: children first (the parent is there to take their shut_down reports).
    await Promise.all(childPids.map((child) => sendShutdown(path.join(home, "run", child.name, "sock"))));
    for (const child of childPids) {
      try {
        await waitForPidExit(child.pid, EXIT_TIMEOUT_MS);
      } catch {
        notes.push(`round ${round}: child ${child.name} (pid ${child.pid}) had not exited ${EXIT_TIMEOUT_MS / 1000} s after shutdown; killed`);
        process.kill(child.pid, "SIGKILL");
      }
      untrackPid(child.pid);
    }
    const stopped: ExitStatus = await parent.stop();
    parentStopped = true;
    if (stopped.code !== 0) notes.push(`round ${round}: the parent exited with ${stopped.signal ?? stopped.code} after shutdown`);
    return { firstCallMs: firstCallMs ?? Number.NaN, times, launchMs, startMs, acceptMs, betweenMs, allIdleMs, children, parentRss, notes };
  } finally {
    socket?.destroy();
    if (!parentStopped) parent.child.kill("SIGKILL");
    for (const child of [...childPids, ...childrenOnDisk(home)]) {
      if (child.pid > 0 && isAlive(child.pid)) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
    }
    for (const child of childPids) {
      if (child.pid > 0) await waitForPidExit(child.pid, 2_000).catch(() => undefined);
      untrackPid(child.pid);
    }
    removeDir(home);
  }
}

async function rootPodRound(childScenario: string): Promise<{ rss: number; pss: number }> {
  const home = tempDir("podd-bc-");
  const pod = await startPod({ home, name: "root", scenarioFile: childScenario });
  let stopped = false;
  try {
    const socket = await connect(pod.socket);
    const stream = new EventStream(socket);
    await withTimeout(stream.snapshot, STEP_TIMEOUT_MS, "root pod snapshot");
    const idle = new Promise<void>((resolve) => {
      let ended = false;
      stream.on((event) => {
        if (event.event === "run_end") ended = true;
        else if (ended && event.event === "status" && (event.data as { status?: string } | undefined)?.status === "idle") resolve();
      });
    });
    socket.write(`${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "hi" }] } })}\n`);
    await withTimeout(idle, STEP_TIMEOUT_MS, "root pod idle");
    socket.destroy();
    await sleep(IDLE_SETTLE_MS);
    const memory = memoryOf(pod.pid);
    await pod.stop();
    stopped = true;
    return memory;
  } finally {
    if (!stopped) pod.child.kill("SIGKILL");
    removeDir(home);
  }
}

// ---- the benchmark --------------------------------------------------------------------------

function spawnTimes(rounds: number[][]): SpawnTimes {
  const all = rounds.map((times) => times[times.length - 1] as number);
  const first = rounds.map((times) => times[0] as number);
  return {
    allReadyMs: summary(all),
    firstReadyMs: summary(first),
    perChildMs: summary(rounds.map((times) => ((times[times.length - 1] as number) - (times[0] as number)) / (times.length - 1))),
  };
}

export async function runChildren(log: (line: string) => void): Promise<ChildrenResult> {
  const shared = tempDir("podd-bc-");
  try {
    const childScenario = path.join(shared, "child.json");
    fs.writeFileSync(childScenario, JSON.stringify(script().text("Hello, done.").finish().whenExhausted("repeat_last").build()));
    const baselineTimes: number[][] = [];
    const baselineMemory: { rss: number; pss: number }[] = [];
    const poddTimes: number[][] = [];
    const firstCall: number[] = [];
    const launch: number[] = [];
    const between: number[] = [];
    const start: number[] = [];
    const accept: number[] = [];
    const allIdle: number[] = [];
    const childMemory: { rss: number; pss: number }[] = [];
    const parentRss: number[] = [];
    const rootMemory: { rss: number; pss: number }[] = [];
    const notes: string[] = [];
    for (let round = 0; round < WARMUP_ROUNDS + MEASURED_ROUNDS; round += 1) {
      const baseline = await baselineRound();
      const podd = await poddRound(childScenario, round);
      const root = await rootPodRound(childScenario);
      notes.push(...podd.notes);
      const label = round < WARMUP_ROUNDS ? "warm-up" : `round ${round}`;
      const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
      log(
        `  children ${label}: podd first ${podd.times[0]?.toFixed(0)} ms, all ${CHILDREN} ${podd.times.at(-1)?.toFixed(0)} ms, ` +
          `idle child RSS median ${mb(median(podd.children.map((memory) => memory.rss)))} MB; baseline first ${baseline.times[0]?.toFixed(0)} ms, ` +
          `all ${baseline.times.at(-1)?.toFixed(0)} ms, RSS median ${mb(median(baseline.memory.map((memory) => memory.rss)))} MB; root pod RSS ${mb(root.rss)} MB`,
      );
      if (round < WARMUP_ROUNDS) continue;
      baselineTimes.push(baseline.times);
      baselineMemory.push(...baseline.memory);
      poddTimes.push(podd.times);
      firstCall.push(podd.firstCallMs);
      launch.push(...podd.launchMs);
      between.push(...podd.betweenMs);
      start.push(...podd.startMs);
      accept.push(...podd.acceptMs);
      allIdle.push(podd.allIdleMs);
      childMemory.push(...podd.children);
      parentRss.push(podd.parentRss);
      rootMemory.push(root);
    }
    const memory = (samples: { rss: number; pss: number }[]): Memory => ({
      rssBytes: summary(samples.map((sample) => sample.rss)),
      pssBytes: summary(samples.map((sample) => sample.pss)),
    });
    return {
      children: CHILDREN,
      rounds: MEASURED_ROUNDS,
      podd: {
        ...spawnTimes(poddTimes),
        firstCallMs: summary(firstCall),
        launchMs: summary(launch),
        betweenMs: summary(between),
        startMs: summary(start),
        acceptMs: summary(accept),
        allIdleMs: summary(allIdle),
        children: memory(childMemory),
        parentRssBytes: summary(parentRss),
      },
      baseline: { ...spawnTimes(baselineTimes), ...memory(baselineMemory) },
      rootPod: memory(rootMemory),
      notes,
    };
  } finally {
    removeDir(shared);
  }
}
