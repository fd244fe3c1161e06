/**
 * The composition root: the one file that wires real dependencies (model, tools, session
 * log, controller, socket server, runtime dir, logger, signals) into a running pod, and
 * tears them down in order when the controller exits.
 */
import fs from "node:fs";
import path from "node:path";
import { pino, type Logger } from "pino";
import { compareIds, newId } from "./config/ids.js";
import { mergeMcpServers, readProjectMcpServers } from "./config/mcp-config.js";
import { podPaths, segmentFile, sessionDir, type PoddPaths } from "./config/paths.js";
import { clientStallMsFromEnv, refuseLiveSocket, refuseNonSocket, SocketServer } from "./ipc/socket-server.js";
import { describeIoError, PoddError } from "./errors.js";
import { resolveModelConfig } from "./config/model-config.js";
import { resolveModel } from "./model/resolve-model.js";
import { PodController } from "./pod/controller.js";
import { INTERNAL_REQUESTER } from "./pod/controller-deps.js";
import { DEFAULT_COMPACT_THRESHOLD, DEFAULT_COMPACT_TIMEOUT_MS } from "./pod/compaction.js";
import { writeFork } from "./pod/fork.js";
import { ScopeRegistry } from "./spawn/scope-registry.js";
import { PodSupervisor } from "./spawn/supervisor.js";
import { RuntimeDir } from "./pod/runtime-dir.js";
import { installMemoryReport } from "./pod/memory-report.js";
import { reportTimingsFromEnv, UpwardReporter } from "./pod/upward-reports.js";
import { WriteFaults } from "./pod/write-faults.js";
import { lockSession, readPodMetadata, writePodMetadata, type PodMetadata } from "./session/pod-metadata.js";
import { SessionLog, type SkippedLine } from "./session/session-log.js";
import type { InboxItem } from "./pod/notification-inbox.js";
import writeFileAtomic from "write-file-atomic";
import { McpServerSet } from "./mcp/mcp-servers.js";
import type { PodStatusFile } from "./config/pod-status-file.js";
import { builtinTools } from "./tools/builtin-tools.js";
import { encodeLine, type AlertLevel, type ScopeRule } from "../protocol/index.js";
import { configFilePath, isCredentialVariable, loadConfigFile } from "./config/model-config.js";
import { describeRule, parsePermissionRuleText, PermissionRules, type PermissionRule } from "./tools/permissions.js";
import { Scope } from "./tools/scope.js";
import { readProjectInstructions } from "./config/instructions.js";
import { missingDirs, removeDirs } from "./config/created-dirs.js";
import { checkPrivateDir, ensurePrivateDir, POD_DATA_DIR, POD_RUNTIME_DIR, RUNTIME_DIR } from "./config/private-dir.js";
import type { ReadyInfo } from "./client/readiness.js";
import { newPodNameProblem } from "../protocol/pod-name.js";

/** Default bound on turns (model calls) per run before `run_end{limit_reached}`. */
export const DEFAULT_MAX_TURNS_PER_RUN = 50;

export interface DaemonOptions {
  name: string;
  /** Working directory; default: the restored pod's, else the process's. */
  cwd?: string;
  /** Start a new session even if the pod has one (`--new`); otherwise an existing one is restored. */
  fresh?: boolean;
  paths: PoddPaths;
  /** `--model`: a provider spec or a profile name (config/model-config.ts); default `scripted`. */
  modelSpec?: string;
  baseUrl?: string;
  /** Where API keys come from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  parentSocket?: string;
  maxTurnsPerRun?: number;
  /** Extra path rules: the cwd (read+write) is always allowed; deny rules cap it. */
  scope?: { allow?: ScopeRule[]; deny?: ScopeRule[] };
  /** Register the bash tool (`--bash` / `--no-bash`); default: the restored pod's setting, else true. */
  bash?: boolean;
  /** Per-tool rules from the command line, checked before those of config.json; replace the saved ones. */
  permissions?: PermissionRule[];
  /** `--clear-tool-rules`: drop the saved per-tool rules (`permissions`, if given, still apply). */
  clearToolRules?: boolean;
  /** `--clear-scope`: drop the saved scope rules (`scope`, if given, still applies). */
  clearScope?: boolean;
  /** The whole system prompt, instead of the one built from the defaults, AGENTS.md and `instructions` (tests, benchmarks). */
  systemPrompt?: string;
  /** Compact before a run once the context passes this share of the window (0: never; default DEFAULT_COMPACT_THRESHOLD). */
  compactAt?: number;
  /** Time limit of a compaction's summary call, ms. */
  compactTimeoutMs?: number;
  /** Only the given scope rules: the cwd is not implicitly read+write (a child pod's delegated scope). */
  scopeOnly?: boolean;
  /**
   * Added to the system prompt after the default text and AGENTS.md (`--instructions`, or a child
   * pod's instructions from spawn_pod); saved. `""` clears the saved instructions; undefined keeps them.
   */
  instructions?: string;
  /** Where `instructions` came from: a file's absolute path, or `"text"` (the default). */
  instructionsSource?: string;
  /** `--mcp NAME=CMD|URL` servers, added to (and overriding by name) those of config.json and `<cwd>/.podd/mcp.json` (src/config/mcp-config.ts). */
  mcp?: string[];
  /** `--no-mcp`: no MCP server, whatever the config files say. */
  noMcp?: boolean;
  /** Start as a fork of another pod's session (at its head or at rewind target `at`), compacted first if asked. */
  fork?: { from: string; at?: number; compact?: boolean };
  /** Called once the socket accepts connections, with what `podd start` reports (src/client/readiness.ts). */
  onReady?(info: { socket: string; pid: number } & ReadyInfo): void;
}

/** Paths to keys in log records that must never be written (API keys, auth headers). */
export const LOG_REDACT_PATHS = ["apiKey", "*.apiKey", "api_key", "*.api_key", "headers.authorization", "*.headers.authorization", "*.headers[\"x-api-key\"]"];

/**
 * The session a pod runs on: its saved active segment when restoring (opened for appending,
 * torn tail cut), else a new session. Either way the session is locked to this process.
 */
function openSession(options: { paths: PoddPaths; podName: string; restored?: PodMetadata; fork?: { source: PodMetadata; at?: number }; now: number }): {
  log: SessionLog;
  sessionId: string;
  segmentId: string;
  skipped: SkippedLine[];
  created: boolean;
  /** Segment files newer than the active one that were removed (a compaction cut short by a crash). */
  orphans: string[];
  release(): void;
} {
  const { restored } = options;
  if (restored) {
    const dir = sessionDir(options.paths, restored.session_id);
    const file = segmentFile(dir, restored.segment_id);
    if (fs.existsSync(file)) {
      const release = lockSession(dir, options.podName);
      try {
        const { log, skipped } = SessionLog.open({ file, sessionId: restored.session_id, segmentId: restored.segment_id });
        const orphans = removeOrphanSegments(dir, restored.segment_id);
        return { log, sessionId: restored.session_id, segmentId: restored.segment_id, skipped, created: false, orphans, release };
      } catch (error) {
        release();
        throw error;
      }
    }
  }
  const sessionId = newId();
  const segmentId = newId();
  const dir = sessionDir(options.paths, sessionId);
  const release = lockSession(dir, options.podName);
  if (options.fork) {
    const { source, at } = options.fork;
    try {
      const log = writeFork({
        source: { podName: source.pod_name, sessionId: source.session_id, segmentId: source.segment_id, sessionDir: sessionDir(options.paths, source.session_id) },
        at,
        podName: options.podName,
        sessionDir: dir,
        sessionId,
        segmentId,
        now: options.now,
      });
      return { log, sessionId, segmentId, skipped: [], created: true, orphans: [], release };
    } catch (error) {
      release();
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  const log = SessionLog.create({ sessionDir: dir, sessionId, segmentId, podName: options.podName, now: options.now });
  return { log, sessionId, segmentId, skipped: [], created: true, orphans: [], release };
}

/**
 * Remove the segment files of a session that are newer than its active segment: the active
 * segment is always the newest (segment ids start with their creation time: src/config/ids.ts), so a newer one is a compaction's new
 * segment that a crash stopped before it became active. Returns their file names.
 */
function removeOrphanSegments(dir: string, activeSegmentId: string): string[] {
  const orphans = fs.readdirSync(dir).filter((name) => name.endsWith(".jsonl") && compareIds(name.slice(0, -".jsonl".length), activeSegmentId) > 0);
  for (const name of orphans) fs.rmSync(path.join(dir, name), { force: true });
  return orphans;
}

/** The durable inbox saved by a previous run of the pod, one JSON line per item (a torn last line is dropped). */
function readInbox(file: string): InboxItem[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").flatMap((line): InboxItem[] => {
    try {
      const item = JSON.parse(line) as InboxItem;
      return item && (item.kind === "notify" || item.kind === "pod_event") ? [item] : [];
    } catch {
      return [];
    }
  });
}

/** The metadata of the pod a fork starts from; refuses a fork into a pod that has state of its own (unless `--new`). */
function readForkSource(options: DaemonOptions, own: PodMetadata | undefined): PodMetadata {
  const from = options.fork?.from ?? "";
  if (from === options.name) throw new PoddError("invalid_request", "a pod cannot be forked into itself; give the fork a new name");
  if (own) throw new PoddError("invalid_request", `pod ${options.name} already has a session; fork into a new name, or add --new to replace it`);
  const source = readPodMetadata(podPaths(options.paths, from).dataDir);
  if (!source.metadata) throw new PoddError("invalid_request", source.problem ?? `pod ${from} has no session to fork`);
  return source.metadata;
}

/** The environment a tool's processes get: the pod's without credentials (see isCredentialVariable). */
export function withoutCredentials(env: NodeJS.ProcessEnv, extra?: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isCredentialVariable(name, extra)));
}

export function defaultSystemPrompt(name: string, cwd: string): string {
  return (
    `You are ${name}, an agent running as a podd pod. Your working directory is ${cwd}.\n` +
    "Use the tools to look at files before you answer questions about them. Be concise."
  );
}

/**
 * A pod's system prompt: the default text, then the project's AGENTS.md (if any), then the
 * pod's own instructions (if any), separated by blank lines.
 */
export function buildSystemPrompt(options: { name: string; cwd: string; agentsMd?: { text: string; path: string }; instructions?: string }): string {
  const parts = [defaultSystemPrompt(options.name, options.cwd)];
  if (options.agentsMd) parts.push(`Project instructions from ${options.agentsMd.path}:\n\n${options.agentsMd.text.trimEnd()}`);
  if (options.instructions) parts.push(options.instructions);
  return parts.join("\n\n");
}

/**
 * The saved instructions of a pod's metadata: its `instructions`, or for metadata written
 * before that field existed, what its `system_prompt` added to the default text. `custom` is a
 * saved prompt that was not built from the default (kept as is).
 */
function savedInstructions(metadata: PodMetadata): { instructions?: string; source?: string; custom?: string } {
  if (metadata.instructions !== undefined || metadata.agents_md) return { instructions: metadata.instructions, source: metadata.instructions_source };
  const base = defaultSystemPrompt(metadata.pod_name, metadata.cwd);
  if (metadata.system_prompt === base) return {};
  if (metadata.system_prompt.startsWith(`${base}\n\n`)) return { instructions: metadata.system_prompt.slice(base.length + 2), source: "text" };
  return { custom: metadata.system_prompt };
}

/**
 * Start a pod and run it until it shuts down. Rejects (before anything is left behind)
 * when the pod cannot start: bad name, socket path too long, name taken, bad model spec.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const paths = podPaths(options.paths, options.name);
  // A pod that fails to start leaves no directory it did not find (a pod that ran before keeps its own).
  const createdData = missingDirs(paths.dataDir);
  const createdRuntime = missingDirs(paths.runtimeDir);
  const startup: Startup = { ready: false };
  try {
    await runPod(options, startup);
  } catch (error) {
    if (!startup.ready) {
      await startup.closeLog?.();
      removeDirs(createdRuntime);
      removeDirs(createdData);
    }
    throw error;
  }
}

/** How far a start got: `ready` once the socket accepts connections; `closeLog` once the log file was opened. */
interface Startup {
  ready: boolean;
  closeLog?: () => Promise<void>;
}

/** runDaemon's body: checks, creates and runs the pod, recording in `startup` how far it got. */
async function runPod(options: DaemonOptions, startup: Startup): Promise<void> {
  const paths = podPaths(options.paths, options.name);
  // podd's own dirs must be this user's and private (a symlink, another uid's dir or one open to
  // others is refused): before anything is read from them or created.
  checkPrivateDir(paths.dataDir, POD_DATA_DIR);
  checkPrivateDir(path.dirname(paths.runtimeDir), RUNTIME_DIR);
  checkPrivateDir(paths.runtimeDir, POD_RUNTIME_DIR);
  refuseNonSocket(paths.socket);
  // A pod with state is restored (its session, and the settings the command line does not override).
  const saved = options.fresh ? {} : readPodMetadata(paths.dataDir);
  const nameProblem = saved.metadata ? undefined : newPodNameProblem(options.name);
  if (nameProblem) throw new PoddError("invalid_request", `invalid pod name ${JSON.stringify(options.name)}: ${nameProblem}`);
  const forkSource = options.fork ? readForkSource(options, saved.metadata) : undefined;
  const restored = forkSource ? undefined : saved.metadata;
  // A fork takes its source's settings, as a restore takes the pod's own.
  const inherited = restored ?? forkSource;
  const cwd = fs.realpathSync(path.resolve(options.cwd ?? inherited?.cwd ?? process.cwd()));
  if (!fs.statSync(cwd).isDirectory()) throw new Error(`--cwd ${cwd} is not a directory`);
  const env = options.env ?? process.env;
  const modelSpec = options.modelSpec ?? inherited?.model ?? "scripted";
  const baseUrl = options.baseUrl ?? (options.modelSpec === undefined ? inherited?.base_url : undefined);
  // A flag of a kind replaces the saved setting of that kind; --clear-* drops it first.
  const scopeRules = options.scope ?? (options.clearScope ? undefined : inherited?.scope) ?? { allow: [], deny: [] };
  const bash = options.bash ?? inherited?.bash ?? true;
  const cliRules = options.permissions ?? (options.clearToolRules ? [] : (inherited?.permissions ?? []).map(parsePermissionRuleText));
  // The prompt is rebuilt at each start (under this pod's name and cwd, with the AGENTS.md of
  // today); only the instructions are saved.
  const previous = inherited ? savedInstructions(inherited) : {};
  const instructions = options.instructions !== undefined ? options.instructions || undefined : previous.instructions;
  const instructionsSource = instructions === undefined ? undefined : options.instructions !== undefined ? (options.instructionsSource ?? "text") : (previous.source ?? "text");
  const agentsMd = readProjectInstructions(cwd);
  const systemPrompt =
    options.systemPrompt ??
    (options.instructions === undefined ? previous.custom : undefined) ??
    buildSystemPrompt({ name: options.name, cwd, agentsMd, instructions });
  const scopeOnly = options.scopeOnly ?? inherited?.scope_only ?? false;
  const maxTurnsPerRun = options.maxTurnsPerRun ?? inherited?.max_turns_per_run ?? DEFAULT_MAX_TURNS_PER_RUN;
  const compactAt = options.compactAt ?? inherited?.compact_at ?? DEFAULT_COMPACT_THRESHOLD;
  const compactTimeoutMs = options.compactTimeoutMs ?? inherited?.compact_timeout_ms ?? DEFAULT_COMPACT_TIMEOUT_MS;
  // Everything that can be refused is checked before anything is created.
  const configFile = await loadConfigFile(options.paths.home);
  const configRules = (configFile.permissions ?? []).map(parsePermissionRuleText);
  const mcpConfigs = mergeMcpServers({ global: configFile.mcpServers, project: options.noMcp ? {} : readProjectMcpServers(cwd), flags: options.mcp, noMcp: options.noMcp });
  const modelConfig = await resolveModelConfig(modelSpec, { baseUrl, home: options.paths.home, env });

  ensurePrivateDir(paths.dataDir, POD_DATA_DIR);
  const destination = pino.destination({ dest: paths.logFile, sync: false, mkdir: true, mode: 0o600, maxLength: MAX_PENDING_LOG_BYTES });
  // The log file may still be opening (asynchronously, with mkdir) when a start fails: close it before its dir goes.
  startup.closeLog = () =>
    new Promise<void>((resolve) => {
      destination.once("close", () => resolve());
      destination.once("error", () => resolve());
      destination.end();
    });
  const logger: Logger = pino(
    { level: env.PODD_LOG_LEVEL ?? "info", base: { pod: options.name, pid: process.pid }, redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } },
    destination,
  );
  // Write faults reach clients as alerts once the controller exists (the log itself until then).
  const alerts: { raise?: (level: AlertLevel, message: string) => void } = {};
  const writeFaults = new WriteFaults((level, message) => (alerts.raise ? alerts.raise(level, message) : logger[level](message)));
  watchLogWrites(destination, paths.logFile, writeFaults);
  const model = await resolveModel(modelConfig, { cwd, env, logger });

  const runtime = new RuntimeDir(paths, {
    onWriteFailed: (error) =>
      writeFaults.failed(
        "status.json",
        `pod: cannot write ${paths.statusFile}: ${describeIoError(error)}; podd ls and podd status may show an old state until it can be written (retrying); the pod goes on`,
      ),
    onWriteRecovered: () => writeFaults.succeeded("status.json", () => `pod: ${paths.statusFile} is up to date again`),
  });
  runtime.prepare();
  const now = (): number => Date.now();
  const tools = builtinTools({ bash });
  // MCP servers start together, each within its limit; their tools join the registry before the model first sees it.
  const mcpAlerts: { raise?: (message: string) => void; changed?: () => void } = {};
  const mcp = new McpServerSet(mcpConfigs, { logger, cwd, env, alert: (message) => mcpAlerts.raise?.(message), onChange: () => mcpAlerts.changed?.() });
  await mcp.start();
  for (const tool of mcp.tools()) tools.register(tool);
  const spillDir = path.join(paths.runtimeDir, "tool-output");
  fs.mkdirSync(spillDir, { recursive: true, mode: 0o700 });
  const scope = new Scope({
    allow: [
      ...(scopeOnly ? [] : [{ target: cwd, permission: "write" as const, recursive: true }]),
      ...(scopeRules.allow ?? []),
      // Tools spill long output here; the model may read it back.
      { target: spillDir, permission: "read", recursive: true },
    ],
    deny: [
      ...(scopeRules.deny ?? []),
      // podd's own config and state are never the model's to change (a profile's base_url or a
      // permission rule rewritten by a tool would take effect for the next pod).
      ...[configFilePath(options.paths.home), path.join(options.paths.home, "sessions"), path.join(options.paths.home, "pods"), options.paths.runtime].map(
        (target): ScopeRule => ({ target, permission: "write", recursive: true }),
      ),
    ],
  });
  const permissions = new PermissionRules([...cliRules, ...configRules]);
  const reporter = new UpwardReporter({ parentSocket: options.parentSocket, logger, ...reportTimingsFromEnv(env) });
  /** The environment of tool processes and child pods: the pod's, without credentials. */
  const toolEnv = withoutCredentials(env, modelConfig.apiKeyEnv);
  /** Record a status or active-segment change in status.json; a failed write is alerted and retried (RuntimeDir), never fatal. */
  const updateRuntime = (patch: Partial<Pick<PodStatusFile, "status" | "segment_id" | "mcp">>): void => {
    void runtime.update(patch, now());
  };
  // The name is taken by a live pod: say so before touching its session.
  await refuseLiveSocket(paths.socket);
  const session = openSession({
    paths: options.paths,
    podName: options.name,
    restored,
    fork: forkSource ? { source: forkSource, at: options.fork?.at } : undefined,
    now: now(),
  });
  const { log, sessionId, segmentId } = session;
  const metadata: PodMetadata = {
    pod_name: options.name,
    session_id: sessionId,
    segment_id: segmentId,
    cwd,
    model: modelSpec,
    base_url: baseUrl,
    scope: { allow: scopeRules.allow ?? [], deny: scopeRules.deny ?? [] },
    bash,
    permissions: cliRules.map(describeRule),
    system_prompt: systemPrompt,
    instructions,
    instructions_source: instructionsSource,
    agents_md: agentsMd && { path: agentsMd.path, bytes: agentsMd.bytes },
    max_turns_per_run: maxTurnsPerRun,
    compact_at: compactAt,
    scope_only: scopeOnly || undefined,
    compact_timeout_ms: compactTimeoutMs,
    parent_socket: options.parentSocket === undefined ? undefined : path.resolve(options.parentSocket),
    created_at_ms: restored?.created_at_ms ?? now(),
    updated_at_ms: now(),
  };
  const inboxFile = path.join(paths.dataDir, "inbox.jsonl");
  if (!restored) fs.rmSync(inboxFile, { force: true });

  const supervisor = new PodSupervisor({
    paths: options.paths,
    self: { name: options.name, socket: paths.socket, pid: process.pid, cwd, model: modelSpec, baseUrl, bash },
    scope,
    registry: new ScopeRegistry(options.paths.runtime, { onWarning: (message) => logger.warn(`scope registry: ${message}`) }),
    secrets: Object.fromEntries(
      Object.entries(env).flatMap(([key, value]) => (value !== undefined && isCredentialVariable(key, modelConfig.apiKeyEnv) ? [[key, value]] : [])),
    ),
    env: toolEnv,
    report: (event) => controller.submit({ method: "pod_event", params: event }, INTERNAL_REQUESTER),
    relayUp: (event) => reporter.fireAndForget(event),
    note: (message) => controller.submit({ method: "notify", params: { message, wake: false } }, INTERNAL_REQUESTER),
    logger,
    now,
  });
  const controller = new PodController(
    {
      podName: options.name,
      cwd,
      log,
      writeFaults,
      loop: {
        model,
        tools,
        toolContext: {
          cwd,
          scope,
          spillDir,
          permissions,
          alert: (message: string) => controller.alert("warn", "tool", message),
          env: toolEnv,
          pods: supervisor,
        },
        systemPrompt,
        maxTurnsPerRun,
      },
      reporter,
      logger,
      now,
      onStatus: (status) => updateRuntime({ status }),
      greeting: {
        pod_name: options.name,
        cwd,
        provider: model.info.provider,
        model: model.info.model,
        scope_summary: scope.summary(),
        tools: tools.names(),
        context_window: model.info.contextWindow,
        max_output_tokens: model.info.maxOutputTokens,
        context_tokens: 0,
      },
      initialInbox: restored ? readInbox(inboxFile) : [],
      compaction: { threshold: compactAt, timeoutMs: compactTimeoutMs },
      compactOnStart: options.fork?.compact ?? false,
      onPodEvent: (event) => supervisor.onReport(event),
      cancelChildren: () => supervisor.cancelChildren(),
      discovery: supervisor,
      segments: {
        create: (compactedFrom) =>
          SessionLog.create({ sessionDir: sessionDir(options.paths, sessionId), sessionId, segmentId: newId(), podName: options.name, now: now(), compactedFrom }),
        activate: (next) => {
          metadata.segment_id = next.segmentId;
          metadata.updated_at_ms = now();
          writePodMetadata(paths.dataDir, metadata);
          updateRuntime({ segment_id: next.segmentId });
        },
        discard: (next) => {
          next.close();
          try {
            fs.rmSync(next.file, { force: true });
          } catch (error) {
            // A read-only disk: the next start removes it (a segment newer than the active one).
            logger.warn({ err: error, file: next.file }, "compaction: could not remove the unfinished segment");
          }
        },
      },
      inboxStore: {
        file: inboxFile,
        // One line per queued item (an O(1) append per notify); rewritten when the inbox drains.
        append: (item) => fs.appendFileSync(inboxFile, encodeLine(item), { mode: 0o600 }),
        replace: (items) => writeFileAtomic.sync(inboxFile, items.map(encodeLine).join(""), { mode: 0o600 }),
      },
    },
  );
  alerts.raise = (level, message) => controller.alert(level, "disk", message);
  mcpAlerts.raise = (message) => controller.alert("warn", "mcp", message);
  mcpAlerts.changed = () => updateRuntime({ mcp: mcp.status() });
  for (const failure of mcp.failures()) controller.alert("warn", "mcp", `mcp: server ${failure.name} did not start (${failure.error}); the pod goes on without its tools`);
  if (saved.problem) controller.alert("warn", "session", `session: ${saved.problem}; started a new session`);
  if (restored && session.created) controller.alert("warn", "session", `session: the segment file of session ${restored.session_id} is missing; started a new session`);
  for (const orphan of session.orphans) {
    controller.alert("warn", "session", `session: removed ${orphan}, a compacted segment that a crash left unfinished; the session goes on from ${segmentId}`);
  }
  for (const line of session.skipped) {
    controller.alert(
      "warn",
      "session",
      `session: ${line.torn ? "skipped a torn last line" : "skipped a line that is not a log entry"} (line ${line.line}, ${line.bytes} bytes) of ${log.file}; everything before it was kept`,
    );
  }

  // Children are known before the socket takes their reports.
  await supervisor.adopt({ fresh: options.fresh || Boolean(options.fork) });
  let server: SocketServer;
  try {
    const stallMs = clientStallMsFromEnv(env);
    server = await SocketServer.listen({ socketPath: paths.socket, controller, logger, ...(stallMs === undefined ? {} : { stallMs }) });
  } catch (error) {
    log.close();
    if (session.created) fs.rmSync(log.file, { force: true });
    session.release();
    throw error;
  }
  writePodMetadata(paths.dataDir, metadata);
  const publishing = runtime.publish({
    pod_name: options.name,
    pid: process.pid,
    status: controller.status,
    socket: paths.socket,
    cwd,
    provider: model.info.provider,
    model: model.info.model,
    session_id: sessionId,
    segment_id: segmentId,
    parent_socket: options.parentSocket,
    ...(mcp.size === 0 ? {} : { mcp: mcp.status() }),
    started_at_ms: now(),
    updated_at_ms: now(),
  });
  try {
    await publishing;
  } catch (error) {
    await server.close();
    log.close();
    session.release();
    await runtime.remove();
    throw error;
  }

  const shutdown = (signal: string): void => {
    logger.info({ signal }, "signal: shutting down");
    controller.submit({ method: "shutdown" }, INTERNAL_REQUESTER);
  };
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const signal of signals) process.on(signal, shutdown);
  // SIGUSR2: collect garbage, then write <runtime>/<name>/memory.json (internal; never on the wire).
  const removeMemoryReport = installMemoryReport({ file: paths.memoryFile, connections: () => server.connectionCount, now, logger });

  logger.info({ socket: paths.socket, model: model.info.model, cwd, session: sessionId }, "pod ready");
  startup.ready = true;
  const entries = controller.segmentLog.entries;
  options.onReady?.({
    socket: paths.socket,
    pid: process.pid,
    session: { id: sessionId, restored: Boolean(restored) && !session.created, entries: entries.length, last_active_ms: entries.at(-1)?.ts },
    cwd,
    model: { spec: modelSpec, provider: model.info.provider, model: model.info.model },
    agents_md: metadata.agents_md,
    instructions: instructions === undefined ? undefined : { bytes: Buffer.byteLength(instructions), source: instructionsSource ?? "text" },
  });
  try {
    await controller.run();
  } finally {
    for (const signal of signals) process.off(signal, shutdown);
    // Each step on its own: a full or read-only disk must not keep the others from running.
    const step = async (name: string, run: () => unknown): Promise<void> => {
      try {
        const failure = await run();
        if (failure instanceof Error) throw failure;
      } catch (error) {
        logger.warn({ err: error }, `exit: ${name} failed`);
      }
    };
    await step("removing the memory report", () => removeMemoryReport());
    await step("recording the children", () => supervisor.close());
    await step("closing the MCP servers", () => mcp.close());
    await step("closing the socket", () => server.close());
    await step("closing the session log", () => controller.segmentLog.close());
    await step("releasing the session", () => session.release());
    await step("removing the runtime dir", () => runtime.remove());
    logger.info("pod stopped");
    await endLog(destination, logger);
  }
}

/** The pod's log file stream (pino's sonic-boom destination). */
type LogDestination = ReturnType<typeof pino.destination>;

/** How long the exit waits for the pod's log to take its last lines, ms. */
const LOG_END_TIMEOUT_MS = 1_000;
/** Most log bytes held in memory while pod.log cannot be written; later lines are dropped. */
const MAX_PENDING_LOG_BYTES = 16 * 1024 * 1024;

/**
 * Keep the pod alive when its log cannot be written (a full or read-only PODD_HOME): without
 * an `error` listener pino's destination throws the write error as an uncaught exception.
 * Lines wait in memory (at most MAX_PENDING_LOG_BYTES) and go out with the next write that
 * works; clients are told once per fault.
 */
function watchLogWrites(destination: LogDestination, file: string, writeFaults: WriteFaults): void {
  destination.on("error", (error: unknown) => {
    writeFaults.failed("pod.log", `pod: cannot write its log ${file}: ${describeIoError(error)}; log lines wait in memory until it can be written`);
  });
  destination.on("write", () => writeFaults.succeeded("pod.log", () => `pod: its log ${file} can be written again`));
}

/**
 * End the pod's log at exit, bounded by LOG_END_TIMEOUT_MS: lines that cannot be written (the
 * disk is full or read-only) are dropped, and nothing is logged after it. (pino's own exit
 * hook retries a failed synchronous write forever: ended here, it has nothing left to write.)
 */
async function endLog(destination: LogDestination, logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const giveUp = (): void => {
      destination.destroy();
      done();
    };
    const timer = setTimeout(giveUp, LOG_END_TIMEOUT_MS);
    destination.once("close", done);
    destination.once("error", giveUp);
    destination.end();
  });
  logger.level = "silent";
}
