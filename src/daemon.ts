/**
 * The composition root: the one file that wires real dependencies (model, tools, session
 * log, controller, socket server, runtime dir, logger, signals) into a running pod, and
 * tears them down in order when the controller exits.
 */
import fs from "node:fs";
import path from "node:path";
import { pino, type Logger } from "pino";
import { ulid } from "ulid";
import { podPaths, sessionDir, type PoddPaths } from "./config/paths.js";
import { SocketServer } from "./ipc/socket-server.js";
import { resolveModelConfig } from "./config/model-config.js";
import { resolveModel } from "./model/resolve-model.js";
import { INTERNAL_REQUESTER, PodController } from "./pod/controller.js";
import { RuntimeDir } from "./pod/runtime-dir.js";
import { UpwardReporter } from "./pod/upward-reports.js";
import { SessionLog } from "./session/session-log.js";
import { builtinTools } from "./tools/builtin-tools.js";
import type { ScopeRule } from "../protocol/index.js";
import { configFilePath, isCredentialVariable, loadConfigFile } from "./config/model-config.js";
import { parsePermissionRuleText, PermissionRules, type PermissionRule } from "./tools/permissions.js";
import { Scope } from "./tools/scope.js";

/** Default bound on turns (model calls) per run before `run_end{limit_reached}`. */
export const DEFAULT_MAX_TURNS_PER_RUN = 50;

export interface DaemonOptions {
  name: string;
  cwd: string;
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
  /** Register the bash tool (default true). */
  bash?: boolean;
  /** Per-tool rules from the command line, checked before those of config.json. */
  permissions?: PermissionRule[];
  systemPrompt?: string;
  /** Called once the socket accepts connections. */
  onReady?(info: { socket: string; pid: number }): void;
}

/** Paths to keys in log records that must never be written (API keys, auth headers). */
export const LOG_REDACT_PATHS = ["apiKey", "*.apiKey", "api_key", "*.api_key", "headers.authorization", "*.headers.authorization", "*.headers[\"x-api-key\"]"];

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
 * Start a pod and run it until it shuts down. Rejects (before anything is left behind)
 * when the pod cannot start: bad name, socket path too long, name taken, bad model spec.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const paths = podPaths(options.paths, options.name);
  const cwd = fs.realpathSync(path.resolve(options.cwd));
  if (!fs.statSync(cwd).isDirectory()) throw new Error(`--cwd ${cwd} is not a directory`);
  const env = options.env ?? process.env;
  // Everything that can be refused is checked before anything is created.
  const configRules = ((await loadConfigFile(options.paths.home)).permissions ?? []).map(parsePermissionRuleText);
  const modelConfig = await resolveModelConfig(options.modelSpec ?? "scripted", { baseUrl: options.baseUrl, home: options.paths.home, env });

  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const logger: Logger = pino(
    { level: env.PODD_LOG_LEVEL ?? "info", base: { pod: options.name, pid: process.pid }, redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" } },
    pino.destination({ dest: paths.logFile, sync: false, mkdir: true, mode: 0o600 }),
  );
  const model = await resolveModel(modelConfig, { cwd, env, logger });

  const runtime = new RuntimeDir(paths);
  runtime.prepare();
  const now = (): number => Date.now();
  const sessionId = ulid();
  const segmentId = ulid();
  const tools = builtinTools({ bash: options.bash ?? true });
  const spillDir = path.join(paths.runtimeDir, "tool-output");
  fs.mkdirSync(spillDir, { recursive: true, mode: 0o700 });
  const scope = new Scope({
    allow: [
      { target: cwd, permission: "write", recursive: true },
      ...(options.scope?.allow ?? []),
      // Tools spill long output here; the model may read it back.
      { target: spillDir, permission: "read", recursive: true },
    ],
    deny: [
      ...(options.scope?.deny ?? []),
      // podd's own config and state are never the model's to change (a profile's base_url or a
      // permission rule rewritten by a tool would take effect for the next pod).
      ...[configFilePath(options.paths.home), path.join(options.paths.home, "sessions"), path.join(options.paths.home, "pods"), options.paths.runtime].map(
        (target): ScopeRule => ({ target, permission: "write", recursive: true }),
      ),
    ],
  });
  const permissions = new PermissionRules([...(options.permissions ?? []), ...configRules]);
  const reporter = new UpwardReporter({ parentSocket: options.parentSocket, logger });
  const log = SessionLog.create({ sessionDir: sessionDir(options.paths, sessionId), sessionId, segmentId, podName: options.name, now: now() });

  const controller = new PodController(
    {
      podName: options.name,
      cwd,
      log,
      loop: {
        model,
        tools,
        toolContext: {
          cwd,
          scope,
          spillDir,
          permissions,
          alert: (message: string) => controller.alert("warn", "worker", message),
          env: withoutCredentials(env, modelConfig.apiKeyEnv),
        },
        systemPrompt: options.systemPrompt ?? defaultSystemPrompt(options.name, cwd),
        maxTurnsPerRun: options.maxTurnsPerRun ?? DEFAULT_MAX_TURNS_PER_RUN,
      },
      reporter,
      logger,
      now,
      onStatus: (status) => {
        runtime.updateStatus(status, now()).catch((error: Error) => logger.warn({ err: error }, "status.json write failed"));
      },
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
    },
  );

  let server: SocketServer;
  try {
    server = await SocketServer.listen({ socketPath: paths.socket, controller, logger });
  } catch (error) {
    log.close();
    fs.rmSync(log.file, { force: true });
    throw error;
  }
  const publishing = runtime.publish({
    pod_name: options.name,
    pid: process.pid,
    status: "idle",
    socket: paths.socket,
    cwd,
    provider: model.info.provider,
    model: model.info.model,
    session_id: sessionId,
    segment_id: segmentId,
    parent_socket: options.parentSocket,
    started_at_ms: now(),
    updated_at_ms: now(),
  });
  try {
    await publishing;
  } catch (error) {
    await server.close();
    log.close();
    await runtime.remove();
    throw error;
  }

  const shutdown = (signal: string): void => {
    logger.info({ signal }, "signal: shutting down");
    controller.submit({ method: "shutdown" }, INTERNAL_REQUESTER);
  };
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const signal of signals) process.on(signal, shutdown);

  logger.info({ socket: paths.socket, model: model.info.model, cwd, session: sessionId }, "pod ready");
  options.onReady?.({ socket: paths.socket, pid: process.pid });
  try {
    await controller.run();
  } finally {
    for (const signal of signals) process.off(signal, shutdown);
    await server.close();
    log.close();
    await runtime.remove();
    logger.info("pod stopped");
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}
