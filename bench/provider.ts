/**
 * Benchmark (d): the per-delta overhead of the provider path — local fake server + real SDK +
 * adapter — against the scripted model streaming the same deltas.
 *
 * Three real pod processes (compiled `dist/`), each with one attached client in this process:
 * (1) `scripted:` with one text step of `DELTA_COUNT` explicit 8-character chunks
 * (bench/workload.ts, the fan-out deltas); (2) `anthropic:` and (3) `openai:` through profiles
 * whose `base_url` is BenchProvider (bench/provider-server.ts), which answers every request
 * with the same deltas as one Messages / Chat Completions SSE stream, written in one go. A run
 * is timed from just before `run` is written until the client has read `run_end`; the client
 * also notes the first `text_delta`, and BenchProvider when the request arrived. Runs
 * alternate scripted / anthropic / openai, one warm-up round, then `MEASURED_RUNS`; medians.
 *
 * The same rounds also time, in this process and against the same server, informative
 * references that split the path up: a bare `node:http` client reading the SSE body (the
 * server's and the transport's cost), each SDK iterating its raw stream events (+ SSE parsing
 * and JSON.parse per event), each SDK fed the same stream one event per chunk without HTTP (its
 * parsing at a realistic read size: the server's big writes reach a client as 64 KiB reads),
 * each adapter's `LanguageModel.stream` built as a pod builds it (+ stream mapper, idle
 * watchdog, retry wrapper), and the scripted model's `stream` alone.
 *
 * Every client must see exactly `DELTA_COUNT` text deltas (the same bytes on all three pods),
 * `run_end` must be `finished`, and each provider run must cost exactly one HTTP request (no
 * retries), or the benchmark fails.
 */
import Anthropic from "@anthropic-ai/sdk";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import OpenAI from "openai";
import { pino } from "pino";
import type { ModelConfig } from "../src/config/model-config.js";
import { resolveModel } from "../src/model/resolve-model.js";
import { script } from "../src/model/scripted/script-builder.js";
import type { LanguageModel, ModelRequest } from "../src/model/types.js";
import { ANTHROPIC_PATH, anthropicBody, BenchProvider, OPENAI_PATH, openAIBody } from "./provider-server.js";
import {
  connect,
  DeltaClient,
  DAEMON_ENTRY,
  elapsedMs,
  median,
  nowNs,
  podEnv,
  removeDir,
  sendShutdown,
  spawnUntilReady,
  tempDir,
  withTimeout,
  type ExitStatus,
  type ReadyProcess,
} from "./support.js";
import { DELTA_CHARS, deltaTexts } from "./workload.js";

/** Text deltas in the one model response of a run. */
export const DELTA_COUNT = 50_000;
export const WARMUP_RUNS = 1;
export const MEASURED_RUNS = 3;
/** Not one the SDK warns about as deprecated (it would `console.warn` on every request). */
const ANTHROPIC_MODEL = "claude-sonnet-4-20250514";
const OPENAI_MODEL = "gpt-4.1";
/** Longest a single run may take before the benchmark fails. */
const RUN_TIMEOUT_MS = 30_000;
const FAKE_KEYS = { ANTHROPIC_API_KEY: "sk-ant-bench-not-a-key", OPENAI_API_KEY: "sk-bench-not-a-key" };


export type PodPathName = "scripted" | "anthropic" | "openai";

export interface Timing {
  /** Per measured run, ms, in run order. */
  runsMs: number[];
  medianMs: number;
  deltasPerSecond: number;
  usPerDelta: number;
}

export interface PodPathResult extends Timing {
  path: PodPathName;
  /** `run` written → first text_delta read, median over the measured runs, ms. */
  firstDeltaMs: number;
  /** First text_delta → run_end, per delta, median over the measured runs, µs (the streaming rate without the per-run set-up). */
  streamingUsPerDelta: number;
  /** `run` written → request body complete at the fake server, median, ms (providers only). */
  requestMs?: number;
  /** Largest request body of a measured run (the conversation grows by one answer per run), bytes. */
  requestBytesMax?: number;
  /** The pod's CPU time (user + system, /proc) over its measured runs / their wall time. */
  podCpuShare: number;
  /** This process's CPU time (fake server + client) over the same runs / their wall time. */
  runnerCpuShare: number;
}

export const REFERENCE_NAMES = [
  "httpAnthropic",
  "httpOpenai",
  "sdkAnthropic",
  "sdkOpenai",
  "sdkPerEventAnthropic",
  "sdkPerEventOpenai",
  "adapterAnthropic",
  "adapterOpenai",
  "scriptedModel",
] as const;
export type ReferenceName = (typeof REFERENCE_NAMES)[number];

export interface ProviderResult {
  deltas: number;
  deltaChars: number;
  /** Bytes of one text_delta line a client reads. */
  lineBytes: number;
  /** SSE body bytes per response. */
  sseBytes: { anthropic: number; openai: number };
  pods: Record<PodPathName, PodPathResult>;
  references: Record<ReferenceName, Timing>;
}

// ---- pods ---------------------------------------------------------------------------------

interface Pod {
  process: ReadyProcess;
  socket: string;
  stop(): Promise<ExitStatus>;
}

/** Start a pod process on `model` (a spec or a profile of `<home>/config.json`). */
async function startPod(home: string, name: string, model: string): Promise<Pod> {
  const env: NodeJS.ProcessEnv = { ...podEnv(home), ...FAKE_KEYS, NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1" };
  for (const variable of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]) delete env[variable];
  const started = await spawnUntilReady([DAEMON_ENTRY, name, "--cwd", home, "--model", model, "--compact-at", "0"], env);
  const socket = started.ready.socket;
  if (!socket) throw new Error("the readiness line named no socket");
  const stop = async (): Promise<ExitStatus> => {
    if (started.child.exitCode !== null || started.child.signalCode !== null) return started.exited;
    await sendShutdown(socket);
    try {
      return await withTimeout(started.exited, 10_000, `${name}: exit after shutdown`);
    } catch (error) {
      started.child.kill("SIGKILL");
      throw error;
    }
  };
  return { process: started, socket, stop };
}

/** The unit of /proc/<pid>/stat's CPU times (USER_HZ; 100 on Linux unless getconf says otherwise). */
function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
const CLOCK_TICKS = clockTicksPerSecond();

/** User + system CPU time of a process so far, ms (/proc/<pid>/stat; NaN where there is no /proc). */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

function runnerCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

interface PodTarget {
  path: PodPathName;
  pod: Pod;
  client: DeltaClient;
  /** The fake server's path for this provider (none for scripted). */
  requestPath?: string;
  runsMs: number[];
  firstDeltaMs: number[];
  requestMs: number[];
  requestBytes: number[];
  podCpuMs: number;
  runnerCpuMs: number;
  deltaBytes: number;
}

const RUN_LINE = `${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "go" }] } })}\n`;

interface PodRun {
  ms: number;
  firstDeltaMs: number;
  requestMs?: number;
}

async function podRun(target: PodTarget, server: BenchProvider, measured: boolean): Promise<PodRun> {
  const requestsBefore = server.requests.length;
  const end = target.client.nextRunEnd();
  const podCpuBefore = cpuMs(target.pod.process.pid);
  const runnerCpuBefore = runnerCpuMs();
  const startNs = nowNs();
  target.client.write(RUN_LINE);
  const endLine = await withTimeout(end, RUN_TIMEOUT_MS, `${target.path} pod: run_end`);
  const endNs = nowNs();
  const ms = Number(endNs - startNs) / 1e6;
  const podCpu = cpuMs(target.pod.process.pid) - podCpuBefore;
  const runnerCpu = runnerCpuMs() - runnerCpuBefore;
  const { client } = target;
  if (client.trouble.length > 0) throw new Error(`${target.path} pod: ${client.trouble.join("; ")}`);
  if (!endLine.includes('"result":"finished"')) throw new Error(`${target.path} pod: ${endLine}`);
  if (client.deltas !== DELTA_COUNT) throw new Error(`${target.path} pod: the client saw ${client.deltas} text_delta lines, expected ${DELTA_COUNT}`);
  const served = server.requests.slice(requestsBefore);
  if (target.requestPath && (served.length !== 1 || served[0]?.path !== target.requestPath)) {
    throw new Error(`${target.path} pod: expected one request to ${target.requestPath}, the server saw ${JSON.stringify(served.map((each) => each.path))}`);
  }
  if (!target.requestPath && served.length > 0) throw new Error(`${target.path} pod: unexpected requests to the fake server`);
  target.deltaBytes = client.deltaBytes;
  const firstDeltaMs = client.firstDeltaNs === undefined ? Number.NaN : Number(client.firstDeltaNs - startNs) / 1e6;
  const request = served[0];
  const requestMs = request ? Number(request.receivedNs - startNs) / 1e6 : undefined;
  if (measured) {
    target.runsMs.push(ms);
    target.firstDeltaMs.push(firstDeltaMs);
    if (request && requestMs !== undefined) {
      target.requestMs.push(requestMs);
      target.requestBytes.push(request.bodyBytes);
    }
    target.podCpuMs += podCpu;
    target.runnerCpuMs += runnerCpu;
  }
  return { ms, firstDeltaMs, requestMs };
}

function timing(runsMs: number[]): Timing {
  const medianMs = median(runsMs);
  return { runsMs, medianMs, deltasPerSecond: DELTA_COUNT / (medianMs / 1000), usPerDelta: (medianMs * 1000) / DELTA_COUNT };
}

function podResult(target: PodTarget): PodPathResult {
  const wallMs = target.runsMs.reduce((sum, value) => sum + value, 0);
  return {
    path: target.path,
    ...timing(target.runsMs),
    firstDeltaMs: median(target.firstDeltaMs),
    streamingUsPerDelta: median(target.runsMs.map((ms, index) => ((ms - (target.firstDeltaMs[index] ?? Number.NaN)) * 1000) / DELTA_COUNT)),
    ...(target.requestPath ? { requestMs: median(target.requestMs), requestBytesMax: Math.max(...target.requestBytes) } : {}),
    podCpuShare: target.podCpuMs / wallMs,
    runnerCpuShare: target.runnerCpuMs / wallMs,
  };
}

// ---- in-process references ----------------------------------------------------------------

const REQUEST: ModelRequest = { system: "bench", messages: [{ role: "user", content: "go" }], tools: [] };

/** POST to the fake server with a bare node:http client and read (and drop) the whole body; returns its bytes. */
function httpRead(agent: http.Agent, origin: string, requestPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${origin}${requestPath}`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (response) => {
      let bytes = 0;
      response.on("data", (chunk: Buffer) => (bytes += chunk.length));
      response.on("end", () => (response.statusCode === 200 ? resolve(bytes) : reject(new Error(`HTTP ${response.statusCode} from ${requestPath}`))));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end('{"stream":true}');
  });
}

/** Text parts of one `LanguageModel.stream` call (which must finish without an error). */
async function modelTextDeltas(model: LanguageModel): Promise<number> {
  let deltas = 0;
  let finished = false;
  for await (const part of model.stream(REQUEST, { signal: new AbortController().signal })) {
    if (part.type === "text-delta") deltas += 1;
    else if (part.type === "finish") finished = true;
    else if (part.type === "error" || part.type === "retry") throw new Error(`${model.info.provider}: ${part.type === "error" ? part.error.message : part.error}`);
  }
  if (!finished) throw new Error(`${model.info.provider}: the stream ended without finish`);
  return deltas;
}

/**
 * A `fetch` for an SDK client that answers every request, without any HTTP, with `body` as a
 * 200 SSE response delivered one SSE event per chunk: what a client sees when events arrive
 * at a realistic pace (one network read per event), whereas a local server that writes
 * everything at once hands the SDK 64 KiB reads of hundreds of events each.
 */
function perEventFetch(body: Buffer): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const events: Uint8Array[] = [];
  for (let start = 0; start < body.length; ) {
    const end = body.indexOf("\n\n", start);
    const stop = end === -1 ? body.length : end + 2;
    events.push(body.subarray(start, stop));
    start = stop;
  }
  return async () => {
    let index = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = events[index++];
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream", "request-id": "req_bench" } });
  };
}

interface Reference {
  name: ReferenceName;
  /** One run; resolves with the number of text deltas (or body bytes, see `expect`) it saw. */
  run(): Promise<number>;
  expect: number;
  runsMs: number[];
}

async function anthropicSdkDeltas(client: Anthropic): Promise<number> {
  const stream = await client.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 64_000, messages: [{ role: "user", content: "go" }], stream: true });
  let deltas = 0;
  for await (const event of stream) if (event.type === "content_block_delta" && event.delta.type === "text_delta") deltas += 1;
  return deltas;
}

async function openaiSdkDeltas(client: OpenAI): Promise<number> {
  const stream = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "go" }], stream: true, stream_options: { include_usage: true } });
  let deltas = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas += 1;
  return deltas;
}

/** A LanguageModel built the way a pod builds it (resolveModel: defaults, key from env), with one attempt. */
function inProcessModel(config: ModelConfig, dir: string): Promise<LanguageModel> {
  return resolveModel({ ...config, retry: { maxAttempts: 1 } }, { cwd: dir, env: { ...FAKE_KEYS }, logger: pino({ enabled: false }) });
}

async function references(server: BenchProvider, dir: string, scenarioFile: string, agent: http.Agent, bodies: { anthropic: Buffer; openai: Buffer }): Promise<Reference[]> {
  const origin = server.origin;
  const anthropicKey = FAKE_KEYS.ANTHROPIC_API_KEY;
  const openaiKey = FAKE_KEYS.OPENAI_API_KEY;
  const anthropic = new Anthropic({ apiKey: anthropicKey, baseURL: origin, maxRetries: 0, logLevel: "off" });
  const openai = new OpenAI({ apiKey: openaiKey, baseURL: `${origin}/v1`, maxRetries: 0, logLevel: "off" });
  const anthropicPerEvent = new Anthropic({ apiKey: anthropicKey, baseURL: origin, maxRetries: 0, logLevel: "off", fetch: perEventFetch(bodies.anthropic) });
  const openaiPerEvent = new OpenAI({ apiKey: openaiKey, baseURL: `${origin}/v1`, maxRetries: 0, logLevel: "off", fetch: perEventFetch(bodies.openai) });
  const anthropicModel = await inProcessModel({ provider: "anthropic", model: ANTHROPIC_MODEL, baseUrl: origin }, dir);
  const openaiModel = await inProcessModel({ provider: "openai", model: OPENAI_MODEL, baseUrl: `${origin}/v1` }, dir);
  const scriptedModel = await inProcessModel({ provider: "scripted", model: scenarioFile }, dir);
  const reference = (name: ReferenceName, expect: number, run: () => Promise<number>): Reference => ({ name, run, expect, runsMs: [] });
  return [
    reference("httpAnthropic", bodies.anthropic.length, () => httpRead(agent, origin, ANTHROPIC_PATH)),
    reference("httpOpenai", bodies.openai.length, () => httpRead(agent, origin, OPENAI_PATH)),
    reference("sdkAnthropic", DELTA_COUNT, () => anthropicSdkDeltas(anthropic)),
    reference("sdkOpenai", DELTA_COUNT, () => openaiSdkDeltas(openai)),
    reference("sdkPerEventAnthropic", DELTA_COUNT, () => anthropicSdkDeltas(anthropicPerEvent)),
    reference("sdkPerEventOpenai", DELTA_COUNT, () => openaiSdkDeltas(openaiPerEvent)),
    reference("adapterAnthropic", DELTA_COUNT, () => modelTextDeltas(anthropicModel)),
    reference("adapterOpenai", DELTA_COUNT, () => modelTextDeltas(openaiModel)),
    reference("scriptedModel", DELTA_COUNT, () => modelTextDeltas(scriptedModel)),
  ];
}

async function referenceRun(reference: Reference, measured: boolean): Promise<number> {
  const startNs = nowNs();
  const seen = await withTimeout(reference.run(), RUN_TIMEOUT_MS, `reference ${reference.name}`);
  const ms = elapsedMs(startNs);
  if (seen !== reference.expect) throw new Error(`reference ${reference.name}: saw ${seen}, expected ${reference.expect}`);
  if (measured) reference.runsMs.push(ms);
  return ms;
}

// ---- the benchmark -------------------------------------------------------------------------

export async function runProvider(log: (line: string) => void): Promise<ProviderResult> {
  const dir = tempDir();
  const chunks = deltaTexts(DELTA_COUNT);
  const bodies = { anthropic: anthropicBody(chunks), openai: openAIBody(chunks) };
  const sseBytes = { anthropic: bodies.anthropic.length, openai: bodies.openai.length };
  let server: BenchProvider | undefined;
  const pods: Pod[] = [];
  const clients: DeltaClient[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    server = await BenchProvider.start(
      new Map([
        [ANTHROPIC_PATH, bodies.anthropic],
        [OPENAI_PATH, bodies.openai],
      ]),
    );
    const scenarioFile = path.join(dir, "provider-scenario.json");
    fs.writeFileSync(scenarioFile, JSON.stringify(script().text(chunks.join(""), { chunks }).finish().whenExhausted("repeat_last").build()));

    const targets: PodTarget[] = [];
    const specs: { path: PodPathName; model: string; requestPath?: string; profile?: Record<string, unknown> }[] = [
      { path: "scripted", model: `scripted:${scenarioFile}` },
      { path: "anthropic", model: "p", requestPath: ANTHROPIC_PATH, profile: { model: `anthropic:${ANTHROPIC_MODEL}`, base_url: server.origin } },
      { path: "openai", model: "p", requestPath: OPENAI_PATH, profile: { model: `openai:${OPENAI_MODEL}`, base_url: `${server.origin}/v1` } },
    ];
    for (const spec of specs) {
      const home = path.join(dir, spec.path);
      fs.mkdirSync(home);
      if (spec.profile) {
        // One attempt: a failed request fails the run instead of hiding in a retry.
        const profile = { ...spec.profile, retry: { max_attempts: 1 } };
        fs.writeFileSync(path.join(home, "config.json"), JSON.stringify({ profiles: { p: profile } }));
      }
      const pod = await startPod(home, `provider-${spec.path}`, spec.model);
      pods.push(pod);
      const client = new DeltaClient(await connect(pod.socket));
      clients.push(client);
      await withTimeout(client.attached, 10_000, `${spec.path} pod: snapshot`);
      targets.push({
        path: spec.path,
        pod,
        client,
        requestPath: spec.requestPath,
        runsMs: [],
        firstDeltaMs: [],
        requestMs: [],
        requestBytes: [],
        podCpuMs: 0,
        runnerCpuMs: 0,
        deltaBytes: 0,
      });
    }
    const refs = await references(server, dir, scenarioFile, agent, bodies);

    for (let run = 0; run < WARMUP_RUNS + MEASURED_RUNS; run += 1) {
      const measured = run >= WARMUP_RUNS;
      const suffix = measured ? "" : " (warm-up)";
      for (const target of targets) {
        const { ms, firstDeltaMs, requestMs } = await podRun(target, server, measured);
        const request = requestMs === undefined ? "" : `, request at the server after ${requestMs.toFixed(1)} ms`;
        log(`  provider ${target.path} pod run ${run + 1}${suffix}: ${ms.toFixed(0)} ms (first delta after ${firstDeltaMs.toFixed(1)} ms${request})`);
      }
      const referenceMs: string[] = [];
      for (const reference of refs) referenceMs.push(`${reference.name} ${(await referenceRun(reference, measured)).toFixed(0)}`);
      log(`  provider references run ${run + 1}${suffix} (ms): ${referenceMs.join(", ")}`);
    }
    const [scripted, anthropic, openai] = targets;
    if (!scripted || !anthropic || !openai) throw new Error("provider: a pod is missing");
    for (const target of [anthropic, openai]) {
      if (target.deltaBytes !== scripted.deltaBytes) {
        throw new Error(`${target.path} pod sent ${target.deltaBytes} text_delta bytes, the scripted pod ${scripted.deltaBytes}: the workloads differ`);
      }
    }
    return {
      deltas: DELTA_COUNT,
      deltaChars: DELTA_CHARS,
      lineBytes: scripted.deltaBytes / DELTA_COUNT,
      sseBytes,
      pods: { scripted: podResult(scripted), anthropic: podResult(anthropic), openai: podResult(openai) },
      references: Object.fromEntries(refs.map((reference) => [reference.name, timing(reference.runsMs)])) as Record<ReferenceName, Timing>,
    };
  } finally {
    for (const client of clients) client.destroy();
    await Promise.allSettled(pods.map((pod) => pod.stop()));
    agent.destroy();
    await server?.close();
    removeDir(dir);
  }
}
