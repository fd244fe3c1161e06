/**
 * The child registry and supervisor of one pod: spawns child pods (src/spawn/child-launcher.ts),
 * sends them work, reads their output, stops them, watches their processes, applies the side
 * effects of their reports, and keeps the list on disk so a restarted parent re-adopts live
 * children and prunes dead ones.
 *
 * Records: `<runtime>/<pod>/spawned_pods.json` (runtime state, atomic) and
 * `<home>/pods/<pod>/children.json` (durable: what a restart reads), the same JSON:
 * `{pod, children: ChildRecord[], descendants: DescendantRecord[]}`.
 *
 * Reports (behaviour.md, Upward reports): side effects are applied when a report is received,
 * idempotent and tolerant of duplicates and out-of-order arrival (a `turn_ended` after
 * `shut_down` changes nothing); a `scope_sub_delegated` about a pod not yet known is relayed
 * upward with `parent_pod` rewritten to this pod. Beyond the reference: a child's process is
 * watched, and an exit without a `shut_down` report becomes `errored` + `shut_down` at once.
 *
 * Scope delegation: write scope given to a child is lent from this pod's scope (read stays)
 * and claimed in the machine-wide registry (src/spawn/scope-registry.ts); both are returned
 * when the child shuts down, is stopped, or is found dead.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Logger } from "pino";
import writeFileAtomic from "write-file-atomic";
import { newPodNameProblem, type LogEntry, type PodEvent, type ScopeRule } from "../../protocol/index.js";
import { PodClient, PodRequestError, RequestTimeoutError } from "../client/pod-client.js";
import { isProcessAlive, socketAnswers } from "../client/pod-directory.js";
import { readPodMetadata, type PodMetadata } from "../client/pod-metadata-file.js";
import { readSession } from "../client/session-files.js";
import { podPaths, type PoddPaths } from "../config/paths.js";
import { canonicalPath, type Scope } from "../tools/scope.js";
import { launchChild, type ChildLaunch, type LaunchedChild } from "./child-launcher.js";

export type ChildStatus = "running" | "idle" | "errored" | "stopped";

/** The `id` of the probe that tells a podd child from a reference one before a cascading cancel. */
const CASCADE_PROBE_ID = "podd-cascade-probe";

/**
 * Cancel the run of the pod at `socket` and, when it is podd, its descendants' runs too.
 * `cancel` takes no params in the reference (a unit variant: a reference pod refuses
 * `{"method":"cancel","params":{…}}`), so the pod gets `cascade` only once it has shown it is
 * podd: its reply to a `list_visible_pods` probe carries our `reply_to` (docs/protocol.md, "Is the
 * peer podd?"). A reference pod gets a plain `{"method":"cancel"}`. Resolves with what was sent;
 * rejects when the pod cannot be reached or does not answer the probe within 2 s.
 */
export async function forwardCancel(socket: string): Promise<"cascade" | "plain"> {
  const client = await PodClient.connect(socket, { timeoutMs: 2_000 });
  try {
    const reply = client.waitFor("visible_pods", { timeoutMs: 2_000 });
    client.send({ method: "list_visible_pods", id: CASCADE_PROBE_ID });
    const isPodd = (await reply).reply_to === CASCADE_PROBE_ID;
    client.send(isPodd ? { method: "cancel", params: { cascade: true } } : { method: "cancel" });
    return isPodd ? "cascade" : "plain";
  } finally {
    await client.close();
  }
}
/** Where `read_pod_output` left off in a child's session: entries up to `ts`, and `seen` of those at exactly `ts`. */
export interface OutputCursor {
  session_id: string;
  ts: number;
  seen: number;
}

export interface ChildRecord {
  name: string;
  pid: number;
  socket: string;
  /** The scope the child was given (absolute targets). */
  scope: ScopeRule[];
  /** Write targets lent from this pod's scope, returned when the child stops. */
  lent: string[];
  status: ChildStatus;
  task?: string;
  last_error?: string;
  spawned_at_ms: number;
  output_cursor?: OutputCursor;
}

/** A pod further down the tree, known from a relayed `scope_sub_delegated`. */
export interface DescendantRecord {
  name: string;
  parent_pod: string;
  socket: string;
  scope: ScopeRule[];
}

export interface SpawnRequest {
  name: string;
  task: string;
  /** Paths relative to this pod's cwd (or absolute), each read or write. */
  scope: { path: string; permission: "read" | "write" }[];
  model?: string;
  instructions?: string;
}

/** The write-scope registry as the supervisor uses it (src/spawn/scope-registry.ts). */
export interface WriteScopeClaims {
  claim(claim: { pod: string; pid: number; targets: string[]; delegatedBy: { pod: string; pid: number } }): Promise<unknown>;
  /** The claim's owner once the child's pid is known. */
  setPid(pod: string, pid: number): Promise<unknown>;
  release(pod: string): Promise<unknown>;
  /** Live claims (read without the lock). */
  list?(): { pod: string; targets: string[] }[];
}

export interface SupervisorDeps {
  paths: PoddPaths;
  self: { name: string; socket: string; pid: number; cwd: string; model: string; baseUrl?: string; bash: boolean };
  /** This pod's live scope: write access is lent from it. */
  scope: Scope;
  registry?: WriteScopeClaims;
  /** Credentials for children (handed over on a pipe). */
  secrets: Record<string, string>;
  /** Children's environment (without credentials). */
  env: NodeJS.ProcessEnv;
  /** Deliver a report to this pod as if received on its socket (a synthesized crash report). */
  report(event: PodEvent): void;
  /** Send a report to this pod's parent (relayed grandchildren). */
  relayUp(event: PodEvent): void;
  /** Tell this pod's model something at its next request, without waking it. */
  note(message: string): void;
  logger: Logger;
  now(): number;
}

/** A failure the model can act on (its message is the tool result). */
export class ChildPodError extends Error {}

/** How often the exit of an adopted child (not this process's child) is checked after its socket closed, ms. */
const ADOPTED_EXIT_POLL_MS = 50;
/** How often areas withheld for live grandchildren are checked for release, ms. */
const WITHHELD_CHECK_MS = 2_000;
/** Longest wait for a stopped child's process to exit, ms. */
const STOP_TIMEOUT_MS = 15_000;

interface Watch {
  process?: ChildProcess;
  socket?: net.Socket;
  exited: Promise<string>;
}

export class PodSupervisor {
  private readonly children = new Map<string, ChildRecord>();
  private readonly descendants = new Map<string, DescendantRecord>();
  private readonly watches = new Map<string, Watch>();
  /** Write targets held by live grandchildren inside scope a stopped child gave back: still denied here. */
  private readonly withheld = new Set<string>();
  private withheldTimer: NodeJS.Timeout | undefined;
  private readonly deps: SupervisorDeps;
  private closed = false;

  constructor(deps: SupervisorDeps) {
    this.deps = deps;
  }

  private get runtimeFile(): string {
    return path.join(podPaths(this.deps.paths, this.deps.self.name).runtimeDir, "spawned_pods.json");
  }

  private get durableFile(): string {
    return path.join(podPaths(this.deps.paths, this.deps.self.name).dataDir, "children.json");
  }

  /** Children (newest last) and known descendants, for list_pods and `podd ls --tree`. */
  list(): { children: ChildRecord[]; descendants: DescendantRecord[] } {
    return { children: [...this.children.values()], descendants: [...this.descendants.values()] };
  }

  /**
   * After a restart: re-adopt the children of children.json whose process is alive and whose
   * socket answers (watched again, their lent scope withdrawn again); prune the others (scope
   * returned, and the model told at its next request).
   */
  async adopt(options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh) {
      // A new session starts without children: the old ones (if any still run) are left alone.
      this.persist();
      return;
    }
    let saved: { children?: ChildRecord[]; descendants?: DescendantRecord[] } = {};
    try {
      saved = JSON.parse(fs.readFileSync(this.durableFile, "utf8")) as typeof saved;
    } catch {
      return;
    }
    for (const descendant of saved.descendants ?? []) this.descendants.set(descendant.name, descendant);
    for (const record of saved.children ?? []) {
      this.children.set(record.name, record);
      if (record.status === "stopped") continue;
      if (isProcessAlive(record.pid) && (await socketAnswers(record.socket))) {
        for (const target of record.lent) this.deps.scope.lendWrite(target);
        this.watch(record);
        this.deps.logger.info({ child: record.name, pid: record.pid }, "re-adopted child pod");
      } else {
        record.status = "stopped";
        // Its registry claim (owned by its dead pid) is reclaimed as stale; nothing was lent in this run.
        record.lent = [];
        this.deps.note(`pod \`${record.name}\` stopped while this pod was down; its scope was returned`);
        this.deps.logger.info({ child: record.name, pid: record.pid }, "pruned dead child pod");
      }
    }
    this.persist();
  }

  /**
   * spawn_pod: check the name and scope, lend and claim the write scope, start the child, send
   * it the task as a `run` and wait for the child to accept it. Throws ChildPodError with a
   * reason the model can act on; on failure nothing stays lent or claimed.
   */
  async spawn(request: SpawnRequest, signal?: AbortSignal): Promise<ChildRecord> {
    const { name } = request;
    const problem = newPodNameProblem(name);
    if (problem) throw new ChildPodError(`bad pod name ${JSON.stringify(name)}: ${problem}`);
    if (name === this.deps.self.name) throw new ChildPodError("a pod cannot spawn itself; choose another name");
    let paths;
    try {
      paths = podPaths(this.deps.paths, name);
    } catch (error) {
      throw new ChildPodError((error as Error).message);
    }
    const existing = this.children.get(name);
    if (existing && existing.status !== "stopped") throw new ChildPodError(`pod ${name} is already a running child (status ${existing.status}); use send_to_pod, or stop_pod first`);
    if (await socketAnswers(paths.socket)) {
      throw new ChildPodError(`a pod named ${name} is already running and is not your child; choose another name, e.g. ${this.freeName(name)}`);
    }
    // A stopped pod of that name: this pod's own former child is started again on a new session
    // (its old session stays on disk); any other pod's session is never touched.
    const { metadata } = readPodMetadata(paths.dataDir);
    if (metadata && !this.spawnedBefore(metadata, existing)) {
      const owner = metadata.parent_socket ? `a child of another pod (parent socket ${metadata.parent_socket})` : "a pod started by a user";
      throw new ChildPodError(`a pod named ${name} already exists (stopped, ${owner}, with its own session); choose another name, e.g. ${this.freeName(name)}`);
    }

    const scope = this.resolveScope(request.scope);
    const writeTargets = scope.filter((rule) => rule.permission === "write").map((rule) => rule.target);
    await this.takeScope(name, writeTargets);
    const record: ChildRecord = { name, pid: 0, socket: paths.socket, scope, lent: writeTargets, status: "running", task: request.task, spawned_at_ms: this.deps.now() };

    let launched: LaunchedChild;
    try {
      launched = await launchChild(this.launchOf(name, scope, { model: request.model, instructions: request.instructions }), { signal });
    } catch (error) {
      await this.returnScope(record);
      throw new ChildPodError((error as Error).message);
    }
    record.pid = launched.pid;
    if (this.deps.registry && writeTargets.length > 0) {
      try {
        await this.deps.registry.setPid(name, launched.pid);
      } catch (error) {
        launched.process.kill("SIGKILL");
        await this.returnScope(record);
        throw new ChildPodError(`pod ${name} started but its write scope could not be recorded (${(error as Error).message}); it was stopped`);
      }
    }
    this.children.set(name, record);
    this.watch(record, launched.process);
    this.persist();
    this.deps.relayUp({ kind: "scope_sub_delegated", parent_pod: this.deps.self.name, sub_pod: name, sub_socket: record.socket, scope });
    try {
      await this.sendRun(record, request.task);
    } catch (error) {
      throw new ChildPodError(`pod ${name} started (pid ${launched.pid}) but did not accept its task: ${(error as Error).message}`);
    }
    return record;
  }

  /** What discovery (list_visible_pods / inspect_pod) shows of a child or a descendant, or undefined. */
  describe(name: string): Record<string, unknown> | undefined {
    const record = this.children.get(name);
    if (record) {
      const { output_cursor: _cursor, lent: _lent, ...shown } = record;
      return { ...shown, alive: record.status !== "stopped", parent: this.deps.self.name };
    }
    const descendant = this.descendants.get(name);
    return descendant ? { name: descendant.name, socket: descendant.socket, scope: descendant.scope, parent: descendant.parent_pod } : undefined;
  }

  /** Names of children and known descendants, in spawn order. */
  names(): string[] {
    return [...this.children.keys(), ...this.descendants.keys()];
  }

  /**
   * attach_or_restore_pod: a live child is attached (its socket is returned); a stopped one is
   * started again on its saved session (restored, not new), with the scope it had. Throws
   * ChildPodError for a pod that is not this pod's child.
   */
  async attachOrRestore(name: string): Promise<Record<string, unknown>> {
    const record = this.children.get(name);
    if (!record) throw new ChildPodError(`no child pod named ${name}${this.childNames()}`);
    if (record.status !== "stopped") return { action: "attached", name, socket: record.socket, pid: record.pid, status: record.status };
    const writeTargets = record.scope.filter((rule) => rule.permission === "write").map((rule) => rule.target);
    await this.takeScope(name, writeTargets);
    record.lent = writeTargets;
    let launched: LaunchedChild;
    try {
      launched = await launchChild(this.launchOf(name, record.scope, { restore: true }));
    } catch (error) {
      await this.returnScope(record);
      throw new ChildPodError((error as Error).message);
    }
    record.pid = launched.pid;
    record.status = "idle";
    record.last_error = undefined;
    if (this.deps.registry && writeTargets.length > 0) await this.deps.registry.setPid(name, launched.pid);
    this.watch(record, launched.process);
    this.persist();
    return { action: "restored", name, socket: record.socket, pid: record.pid, status: record.status };
  }

  /** send_to_pod: a new user turn for an idle child. Throws ChildPodError when it is unknown, stopped or busy. */
  async send(name: string, message: string): Promise<ChildRecord> {
    const record = this.liveChild(name);
    try {
      await this.sendRun(record, message);
    } catch (error) {
      if (error instanceof PodRequestError && error.code === "already_running") {
        throw new ChildPodError(`pod ${name} is busy (running a turn); wait for its turn_ended report, then send again`);
      }
      if (error instanceof RequestTimeoutError) {
        // The line is in the child's socket: a stopped or overloaded child still takes it when it runs again.
        throw new ChildPodError(
          `pod ${name} did not answer within ${error.timeoutMs} ms (it may be stopped or overloaded); it may still take the message when it runs again, so check list_pods or read_pod_output before sending it again`,
        );
      }
      throw new ChildPodError(`pod ${name} did not take the message: ${(error as Error).message}`);
    }
    return record;
  }

  /**
   * read_pod_output: the child's assistant text committed since the last read, read from its
   * session files (so text from before a compaction of the child, or from before this pod's
   * restart, is not lost or repeated: the cursor is by entry time, kept in children.json).
   */
  readOutput(name: string): { text: string; count: number; record: ChildRecord } {
    const record = this.children.get(name);
    if (!record) throw new ChildPodError(`no child pod named ${name}${this.childNames()}`);
    const { metadata } = readPodMetadata(podPaths(this.deps.paths, name).dataDir);
    const session = metadata ? readSession(this.deps.paths, metadata.session_id) : undefined;
    if (!metadata || !session) return { text: "", count: 0, record };
    const cursor = record.output_cursor?.session_id === metadata.session_id ? record.output_cursor : { session_id: metadata.session_id, ts: 0, seen: 0 };
    const texts: string[] = [];
    let last = cursor;
    // Entries are in time order; several may share a millisecond, so the cursor counts them.
    let currentTs = -1;
    let countAtTs = 0;
    for (const entry of session.segments.flatMap((segment) => segment.entries)) {
      if (!isAssistantText(entry)) continue;
      if (entry.ts !== currentTs) {
        currentTs = entry.ts;
        countAtTs = 0;
      }
      countAtTs += 1;
      if (entry.ts < cursor.ts || (entry.ts === cursor.ts && countAtTs <= cursor.seen)) continue;
      texts.push(entry.item.content);
      last = { session_id: metadata.session_id, ts: entry.ts, seen: countAtTs };
    }
    record.output_cursor = last;
    this.persist();
    return { text: texts.join("\n\n"), count: texts.length, record };
  }

  /** stop_pod: shut the child down and wait for its process to exit; its scope comes back with its shut_down. */
  async stop(name: string): Promise<ChildRecord> {
    const record = this.liveChild(name);
    const watch = this.watches.get(name);
    try {
      const client = await PodClient.connect(record.socket, { timeoutMs: 2_000 });
      client.send({ method: "shutdown" });
      void client.close();
    } catch (error) {
      this.deps.logger.warn({ err: error, child: name }, "stop: could not reach the child");
    }
    const exited = watch?.exited ?? Promise.resolve("gone");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS).unref());
    if ((await Promise.race([exited, timeout])) === "timeout") throw new ChildPodError(`pod ${name} did not exit within ${STOP_TIMEOUT_MS} ms`);
    return record;
  }

  /** Forward a cancel to every running child (the `cascade` option of cancel): see forwardCancel. */
  cancelChildren(): void {
    for (const record of this.children.values()) {
      if (record.status !== "running") continue;
      void forwardCancel(record.socket)
        .catch((error: Error) => this.deps.logger.warn({ err: error, child: record.name }, "cascade cancel failed"));
    }
  }

  /**
   * Side effects of a received report (before it is queued for the model). Idempotent; a
   * report about a pod that is not a child changes nothing but a relay.
   */
  onReport(event: PodEvent): void {
    if (event.kind === "scope_sub_delegated") {
      if (event.sub_pod === this.deps.self.name || this.children.has(event.sub_pod)) return;
      const known = this.descendants.has(event.sub_pod);
      this.descendants.set(event.sub_pod, { name: event.sub_pod, parent_pod: event.parent_pod, socket: event.sub_socket, scope: event.scope });
      this.persist();
      if (!known) this.deps.relayUp({ ...event, parent_pod: this.deps.self.name });
      return;
    }
    const record = this.children.get(event.pod_name);
    if (!record || record.status === "stopped") return;
    if (event.kind === "turn_ended") record.status = "idle";
    else if (event.kind === "errored") {
      record.status = "errored";
      record.last_error = event.message;
    } else if (event.kind === "shut_down") {
      record.status = "stopped";
      void this.returnScope(record);
      this.unwatch(record.name);
    }
    this.persist();
  }

  /** Stop watching (this pod is shutting down; its children keep running and are re-adopted on restart). */
  close(): void {
    this.closed = true;
    if (this.withheldTimer) clearInterval(this.withheldTimer);
    for (const name of [...this.watches.keys()]) this.unwatch(name);
    this.persist();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Claim `targets` for child `name` in the registry and lend them from this pod's scope; throws ChildPodError on a conflict. */
  private async takeScope(name: string, targets: string[]): Promise<void> {
    if (this.deps.registry && targets.length > 0) {
      try {
        await this.deps.registry.claim({ pod: name, pid: this.deps.self.pid, targets, delegatedBy: { pod: this.deps.self.name, pid: this.deps.self.pid } });
      } catch (error) {
        throw new ChildPodError(`cannot give ${name} write scope: ${(error as Error).message}`);
      }
    }
    for (const target of targets) this.deps.scope.lendWrite(target);
  }

  /** How a child is launched: this pod's model (unless another is asked for, or the child is restored on its own), scope and keys. */
  private launchOf(name: string, scope: ScopeRule[], options: { model?: string; instructions?: string; restore?: boolean }): ChildLaunch {
    const model = options.restore ? undefined : (options.model ?? this.deps.self.model);
    return {
      name,
      parentSocket: this.deps.self.socket,
      cwd: childCwd(scope, this.deps.self.cwd),
      model,
      baseUrl: options.model || options.restore ? undefined : this.deps.self.baseUrl,
      restore: options.restore,
      scope: { allow: scope, deny: [...this.deps.scope.configuredDeny] },
      bash: this.deps.self.bash,
      instructions: options.instructions,
      secrets: this.deps.secrets,
      env: this.deps.env,
      dataDir: podPaths(this.deps.paths, name).dataDir,
    };
  }

  private liveChild(name: string): ChildRecord {
    const record = this.children.get(name);
    if (!record) throw new ChildPodError(`no child pod named ${name}${this.childNames()}`);
    if (record.status === "stopped") throw new ChildPodError(`pod ${name} has stopped; spawn_pod it again to give it new work`);
    return record;
  }

  /**
   * Whether the stopped pod with `metadata` is this pod's own former child: its metadata names
   * this pod's socket as its parent, or (metadata from before podd recorded the parent) it is in
   * this pod's children.json.
   */
  private spawnedBefore(metadata: PodMetadata, record: ChildRecord | undefined): boolean {
    if (metadata.parent_socket !== undefined) return path.resolve(metadata.parent_socket) === path.resolve(this.deps.self.socket);
    return record !== undefined;
  }

  /** `<name>-2`, `<name>-3`, …: the first that no pod has (no data dir, no runtime dir, not a child), for error messages. */
  private freeName(name: string): string {
    for (let n = 2; ; n += 1) {
      const candidate = `${name.slice(0, 60)}-${n}`;
      if (this.children.has(candidate) || candidate === this.deps.self.name) continue;
      try {
        const candidatePaths = podPaths(this.deps.paths, candidate);
        if (!fs.existsSync(candidatePaths.dataDir) && !fs.existsSync(candidatePaths.runtimeDir)) return candidate;
      } catch {
        return `${name}-${n}`;
      }
    }
  }

  private childNames(): string {
    const names = [...this.children.keys()];
    return names.length === 0 ? " (this pod has no children)" : ` (children: ${names.join(", ")})`;
  }

  private async sendRun(record: ChildRecord, text: string): Promise<void> {
    const client = await PodClient.connect(record.socket, { timeoutMs: 5_000 });
    try {
      await client.request({ method: "run", params: { input: [{ kind: "text", content: text }] } }, { timeoutMs: 5_000 });
      record.status = "running";
      this.persist();
    } finally {
      client.destroy();
    }
  }

  /** Resolve spawn scope paths against the cwd and check this pod holds what it gives. */
  private resolveScope(requested: SpawnRequest["scope"]): ScopeRule[] {
    return requested.map(({ path: requestedPath, permission }) => {
      const target = canonicalPath(path.resolve(this.deps.self.cwd, requestedPath));
      const held = this.deps.scope.permissionFor(target);
      if (held === undefined) throw new ChildPodError(`cannot give ${requestedPath}: it is outside this pod's scope (${this.deps.scope.summary()})`);
      if (permission === "write" && held !== "write") {
        throw new ChildPodError(`cannot give write access to ${requestedPath}: this pod can only read it (${this.deps.scope.summary()})`);
      }
      return { target, permission, recursive: true };
    });
  }

  private async returnScope(record: ChildRecord): Promise<void> {
    const returned = record.lent;
    record.lent = [];
    // Synchronously, so the pod's next tool call already has its write access back — except for
    // areas the child lent on to pods that still run (grandchildren): those stay withheld until they stop.
    for (const target of returned) {
      for (const held of this.liveClaimsInside(target, record.name)) {
        if (this.withheld.has(held)) continue;
        this.withheld.add(held);
        this.deps.scope.lendWrite(held);
      }
      this.deps.scope.takeBack(target);
    }
    this.watchWithheld();
    try {
      await this.deps.registry?.release(record.name);
    } catch (error) {
      this.deps.logger.warn({ err: error, child: record.name }, "scope release failed");
    }
  }

  /** Targets of live registry claims inside `target`, other than `exceptPod`'s (held by pods further down the tree). */
  private liveClaimsInside(target: string, exceptPod: string): string[] {
    const claims = (this.deps.registry?.list?.() ?? []).filter((claim) => claim.pod !== exceptPod);
    return claims.flatMap((claim) => claim.targets.filter((held) => held === target || held.startsWith(`${target}${path.sep}`)));
  }

  /** Give withheld areas back once their claims are gone (checked every WITHHELD_CHECK_MS while any are withheld). */
  private watchWithheld(): void {
    if (this.withheld.size === 0 || this.withheldTimer || this.closed) return;
    this.withheldTimer = setInterval(() => {
      const live = new Set((this.deps.registry?.list?.() ?? []).flatMap((claim) => claim.targets));
      for (const held of [...this.withheld]) {
        if (live.has(held)) continue;
        this.withheld.delete(held);
        this.deps.scope.takeBack(held);
      }
      if (this.withheld.size === 0 && this.withheldTimer) {
        clearInterval(this.withheldTimer);
        this.withheldTimer = undefined;
      }
    }, WITHHELD_CHECK_MS);
    this.withheldTimer.unref();
  }

  /** Watch a child's exit: our own child process by its exit event, an adopted one by its socket closing and then its pid. */
  private watch(record: ChildRecord, child?: ChildProcess): void {
    let watch: Watch;
    if (child) {
      const exited = new Promise<string>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(describeExit(child.exitCode, child.signalCode));
        else child.once("exit", (code, signal) => resolve(describeExit(code, signal)));
      });
      child.unref();
      watch = { process: child, exited };
    } else {
      const socket = net.createConnection(record.socket);
      socket.on("error", () => undefined);
      socket.resume();
      socket.unref();
      const stillWatched = (): boolean => !this.closed && this.watches.get(record.name) === watch;
      const exited = new Promise<string>((resolve) =>
        socket.once("close", () => void waitForPidExit(record.pid, stillWatched).then((gone) => gone && resolve("exited"))),
      );
      watch = { socket, exited };
    }
    this.watches.set(record.name, watch);
    void watch.exited.then((how) => {
      if (this.closed || this.watches.get(record.name) !== watch) return;
      this.watches.delete(record.name);
      if (record.status === "stopped") return;
      this.deps.logger.warn({ child: record.name, pid: record.pid, how }, "child pod exited without a shut_down report");
      this.deps.report({ kind: "errored", pod_name: record.name, message: `pod ${record.name} exited unexpectedly (${how})` });
      this.deps.report({ kind: "shut_down", pod_name: record.name });
    });
  }

  private unwatch(name: string): void {
    const watch = this.watches.get(name);
    this.watches.delete(name);
    watch?.socket?.destroy();
  }

  private persist(): void {
    const text = `${JSON.stringify({ pod: this.deps.self.name, children: [...this.children.values()], descendants: [...this.descendants.values()] }, null, 2)}\n`;
    try {
      writeFileAtomic.sync(this.durableFile, text, { mode: 0o600 });
      if (!this.closed) writeFileAtomic.sync(this.runtimeFile, text, { mode: 0o600, fsync: false });
    } catch (error) {
      this.deps.logger.warn({ err: error }, "child registry write failed");
    }
  }
}

function isAssistantText(entry: LogEntry): entry is Extract<LogEntry, { kind: "assistant_item" }> & { item: { kind: "message"; content: string } } {
  return entry.kind === "assistant_item" && entry.item.kind === "message";
}

/** A child's cwd: its first write target (a directory), else its first target's directory, else the parent's cwd. */
function childCwd(scope: readonly ScopeRule[], fallback: string): string {
  const ordered = [...scope.filter((rule) => rule.permission === "write"), ...scope.filter((rule) => rule.permission === "read")];
  for (const rule of ordered) {
    try {
      return fs.statSync(rule.target).isDirectory() ? rule.target : path.dirname(rule.target);
    } catch {
      continue;
    }
  }
  return fallback;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code ?? "?"}`;
}


/**
 * Resolves true once `pid` is gone (polled: a process that is not our child gives no exit
 * event), or false as soon as `stillWatched` says the watch was dropped (the pod is closing).
 * The poll timer never keeps the process alive.
 */
async function waitForPidExit(pid: number, stillWatched: () => boolean): Promise<boolean> {
  while (isProcessAlive(pid)) {
    if (!stillWatched()) return false;
    await new Promise((resolve) => setTimeout(resolve, ADOPTED_EXIT_POLL_MS).unref());
  }
  return true;
}
