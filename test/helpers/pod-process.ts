/**
 * Test harness: real pod processes on temp sockets in temp dirs (style.md #8). Starts the
 * compiled daemon (`dist/`, built by `npm test`'s pretest), waits on its readiness pipe (no
 * sleeps), and cleans up every process and dir it made.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeMethod, LineDecoder, type Event, type EventData, type LogEntry, type Method, type PodEvent } from "../../protocol/index.js";
import { PodClient } from "../../src/client/pod-client.js";
import type { ModelProfile } from "../../src/config/model-config.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import { checkParentLine, watchClient } from "./reference-wire-check.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DAEMON_ENTRY = path.join(REPO_ROOT, "dist", "src", "daemon-main.js");
export const CLI_ENTRY = path.join(REPO_ROOT, "bin", "podd");

const cleanups: (() => Promise<void> | void)[] = [];

/** Run (in reverse order) everything registered by the helpers; call from afterEach. */
export async function cleanupAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/**
 * A fresh PODD_HOME (with its runtime dir inside) under the OS temp dir, removed on cleanup.
 * `home` / `runtime`: use these dirs instead (e.g. mount points of test file systems); the
 * caller owns and removes them.
 */
export function tempHome(options: { home?: string; runtime?: string } = {}): { home: string; runtime: string; env: NodeJS.ProcessEnv } {
  const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "podd-t-"));
  const runtime = options.runtime ?? path.join(home, "run");
  if (options.home === undefined) cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env, PODD_HOME: home, PODD_RUNTIME_DIR: runtime };
  delete env.XDG_RUNTIME_DIR;
  delete env.PODD_READY_FD;
  return { home, runtime, env };
}

export interface StartPodOptions {
  name?: string;
  scenario?: ScenarioInput;
  /** A model spec instead of `scenario` (e.g. `scripted` for the demo). */
  model?: string;
  cwd?: string;
  parentSocket?: string;
  maxTurns?: number;
  baseUrl?: string;
  /** Extra environment for the pod process (e.g. an API key). */
  env?: NodeJS.ProcessEnv;
  /** More command-line flags for the pod (e.g. `--new`, `--deny-write DIR`). */
  extraArgs?: string[];
  home?: ReturnType<typeof tempHome>;
}

export interface PodProcess {
  name: string;
  socket: string;
  pid: number;
  home: string;
  runtime: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  /** Resolves with the exit code / signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  connect(): Promise<PodClient>;
  /** Send `shutdown` and wait for the process to exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let scenarioCounter = 0;

/** Write `scenario` to a new file in the home (removed with it); returns its path, for `--model scripted:<file>`. */
export function writeScenario(home: ReturnType<typeof tempHome>, scenario: ScenarioInput): string {
  const file = path.join(home.home, `scenario-${++scenarioCounter}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario));
  return file;
}

/** Start a pod process and wait until its socket accepts connections. */
export async function startPod(options: StartPodOptions = {}): Promise<PodProcess> {
  const home = options.home ?? tempHome();
  const name = options.name ?? "pod";
  const cwd = options.cwd ?? home.home;
  let model = options.model;
  if (!model) model = `scripted:${writeScenario(home, options.scenario ?? { responses: [] })}`;
  const args = [DAEMON_ENTRY, name, "--cwd", cwd, "--model", model];
  if (options.parentSocket) args.push("--parent", options.parentSocket);
  if (options.maxTurns) args.push("--max-turns", String(options.maxTurns));
  if (options.baseUrl) args.push("--base-url", options.baseUrl);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...home.env, ...options.env, PODD_READY_FD: "3", PODD_QUIET: "1" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const ready = await new Promise<{ ok: boolean; socket?: string; pid?: number; error?: string }>((resolve) => {
    let text = "";
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) resolve(JSON.parse(text.slice(0, text.indexOf("\n"))));
    });
    void exited.then(({ code, signal }) => resolve({ ok: false, error: `exited ${code ?? signal} before ready: ${stderr}` }));
  });
  if (!ready.ok || !ready.socket || !ready.pid) throw new Error(`pod ${name} did not start: ${ready.error}`);
  const socket = ready.socket;
  const pod: PodProcess = {
    name,
    socket,
    pid: ready.pid,
    home: home.home,
    runtime: home.runtime,
    env: home.env,
    child,
    exited,
    stderr: () => stderr,
    connect: () => connectClient(socket),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      const client = await connectClient(socket);
      client.send({ method: "shutdown" });
      return exited;
    },
  };
  return pod;
}

/** The active segment file of pod `name` under PODD_HOME `home` (named by its metadata.json). */
export function segmentFile(home: string, name: string): string {
  const metadata = JSON.parse(fs.readFileSync(path.join(home, "pods", name, "metadata.json"), "utf8")) as { session_id: string; segment_id: string };
  return path.join(home, "sessions", metadata.session_id, `${metadata.segment_id}.jsonl`);
}

/** Write `<home>/config.json` with these model profiles (see src/config/model-config.ts). */
export function writeProfiles(home: string, profiles: Record<string, ModelProfile>): void {
  fs.writeFileSync(path.join(home, "config.json"), JSON.stringify({ profiles }, null, 2));
}

/** A client on a socket, closed on cleanup. */
export async function connectClient(socket: string): Promise<PodClient> {
  const client = await PodClient.connect(socket);
  watchClient(client);
  cleanups.push(() => client.destroy());
  return client;
}

/**
 * A fake parent pod that behaves like the reference's: a Unix socket that records the
 * `pod_event` methods children send it as a reference parent decodes them (without podd's
 * `report_id`; the raw lines are in `lines`), never acks, and closes the connection once it
 * has read a report (as the reference's test parent does). `waitForReport` resolves on the next
 * matching report (no polling).
 */
export class FakeParent {
  readonly socket: string;
  readonly reports: PodEvent[] = [];
  readonly lines: string[] = [];
  private readonly server: net.Server;
  private waiters: { match(event: PodEvent): boolean; resolve(event: PodEvent): void }[] = [];

  private constructor(socket: string) {
    this.socket = socket;
    this.server = net.createServer((connection) => {
      const decoder = new LineDecoder();
      connection.on("data", (chunk: Buffer) => {
        for (const decoded of decoder.push(chunk)) {
          if (decoded.kind !== "line") continue;
          this.lines.push(decoded.text);
          checkParentLine(decoded.text);
          const result = decodeMethod(decoded.text);
          if (!result.ok || result.value.method !== "pod_event") continue;
          const { report_id: _reportId, ...event } = result.value.params;
          this.record(event);
          connection.end();
        }
      });
      connection.on("error", () => undefined);
    });
  }

  static async listen(dir: string): Promise<FakeParent> {
    const parent = new FakeParent(path.join(dir, "parent.sock"));
    await new Promise<void>((resolve) => parent.server.listen(parent.socket, resolve));
    cleanups.push(() => new Promise<void>((resolve) => parent.server.close(() => resolve())));
    return parent;
  }

  waitForReport(kind: PodEvent["kind"], timeoutMs = 10_000): Promise<PodEvent> {
    const found = this.reports.find((event) => event.kind === kind);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} report within ${timeoutMs} ms; got ${JSON.stringify(this.reports)}`)), timeoutMs);
      this.waiters.push({
        match: (event) => event.kind === kind,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }

  private record(event: PodEvent): void {
    this.reports.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }
}

/** A `run` method with one text segment. */
export function runText(content: string) {
  return { method: "run" as const, params: { input: [{ kind: "text" as const, content }] } };
}

/** The status event that ends a run: idle. */
export function isIdleStatus(event: Event): boolean {
  return event.event === "status" && event.data.status === "idle";
}

/** The status event that ends a run: idle or paused. */
export function isSettledStatus(event: Event): boolean {
  return event.event === "status" && event.data.status !== "running";
}

/** Names of events, for order assertions. */
export function names(events: readonly { event: string }[]): string[] {
  return events.map((event) => event.event);
}

export type { Method };

/** The `pod_event` system items among `entries` that carry a `kind` report from pod `from`. */
export function podEventItems(entries: readonly LogEntry[], kind: PodEvent["kind"], from: string): LogEntry[] {
  return entries.filter((entry) => {
    if (entry.kind !== "system_item" || entry.item.kind !== "pod_event") return false;
    const event = (entry.item as { event?: PodEvent }).event;
    return event?.kind === kind && "pod_name" in event && event.pod_name === from;
  });
}

/** Connect to a pod and read its snapshot: the client (still reading) and the session's entries. */
export async function connectWithSnapshot(pod: Pick<PodProcess, "connect">): Promise<{ client: PodClient; entries: LogEntry[] }> {
  const client = await pod.connect();
  const snapshot = await client.waitFor("snapshot");
  return { client, entries: snapshot.data.entries };
}

/** The session entries a new client's snapshot holds. */
export async function snapshotEntries(pod: Pick<PodProcess, "connect">): Promise<LogEntry[]> {
  const { client, entries } = await connectWithSnapshot(pod);
  client.destroy();
  return entries;
}

/** Send a one-segment run and collect its events until the pod is idle again. */
export async function runToIdle(client: PodClient, text: string): Promise<Event[]> {
  client.send(runText(text));
  return client.collectUntil(isIdleStatus);
}

/** `list_rewind_targets` by request; its `rewind_targets` data. */
export async function listRewindTargets(client: PodClient): Promise<EventData<"rewind_targets">> {
  const reply = await client.request({ method: "list_rewind_targets" });
  if (reply.event !== "rewind_targets") throw new Error(`unexpected reply ${reply.event}`);
  return reply.data;
}

/** The text of every user input in the entries, in order (`?` for a segment that is not text). */
export function userTexts(entries: readonly LogEntry[]): string[] {
  return entries.flatMap((entry) => (entry.kind === "user_input" ? entry.segments.map((segment) => (segment.kind === "text" ? segment.content : "?")) : []));
}
