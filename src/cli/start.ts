/**
 * `podd start [name]`: start a pod. By default the pod is daemonised (its own session and
 * process group, output to `<home>/pods/<name>/stderr.log`) and this command returns once
 * the socket accepts connections, printing the name, pid and socket; when the pod cannot
 * start it exits 1 with the pod's own error. `--foreground` keeps the pod attached to the
 * terminal until it stops.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { podPaths, resolvePaths } from "../config/paths.js";
import { readReadiness } from "../client/readiness.js";
import { CliError } from "./cli-error.js";

/** Longest wait for a daemonised pod to report readiness. */
const START_TIMEOUT_MS = 15_000;

export interface StartOptions {
  model?: string;
  /** `--new`: a fresh session even if the pod has one. */
  new?: boolean;
  baseUrl?: string;
  allowRead?: string[];
  allowWrite?: string[];
  denyRead?: string[];
  denyWrite?: string[];
  /** commander sets `bash: false` for --no-bash. */
  bash?: boolean;
  /** `--allow-tool` / `--deny-tool` rules in the order given. */
  toolRules?: { action: "allow" | "deny"; rule: string }[];
  cwd?: string;
  parent?: string;
  foreground?: boolean;
  maxTurns?: number;
  /** `--compact-at`: share of the context window that triggers compaction (0: off). */
  compactAt?: number;
  /** `--compact-timeout`: time limit of the summary call, ms. */
  compactTimeout?: number;
  /** `podd fork`: start from this pod's session, at its head or rewind target `at`, compacted first if asked. */
  fork?: { from: string; at?: number; compact?: boolean };
  json?: boolean;
}

/**
 * The pod process entry: `daemon-main` in the nearest folder above this module (the bundled
 * dist/src/daemon-main.js from the CLI's chunk, or src/daemon-main.ts under tsx).
 */
function daemonEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const extension = path.extname(here);
  const execArgv = extension === ".ts" ? ["--import", "tsx"] : [];
  for (let dir = path.dirname(here), depth = 0; depth < 4; depth += 1, dir = path.dirname(dir)) {
    const file = path.join(dir, `daemon-main${extension}`);
    if (fs.existsSync(file)) return { file, execArgv };
  }
  throw new CliError(`cannot find the pod entry (daemon-main${extension}) above ${here}; run \`npm run build\``);
}

/** Default pod name: the cwd's base name, reduced to the characters a name may hold. */
export function defaultPodName(cwd: string): string {
  const base = path.basename(cwd).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "");
  return base.slice(0, 64) || "pod";
}

export async function startCommand(nameArgument: string | undefined, options: StartOptions): Promise<void> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (options.fork) {
    try {
      podPaths(resolvePaths(), options.fork.from);
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  const name = nameArgument ?? defaultPodName(cwd);
  let paths;
  try {
    paths = podPaths(resolvePaths(), name);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) throw new CliError(`--cwd ${cwd} is not a directory`, 2);
  await checkModel(options);
  const entry = daemonEntry();
  // Settings not given here are the restored pod's own (or the defaults for a new pod).
  const args = [...entry.execArgv, entry.file, name];
  if (options.cwd) args.push("--cwd", cwd);
  if (options.new) args.push("--new");
  if (options.model) args.push("--model", options.model);
  if (options.baseUrl) args.push("--base-url", options.baseUrl);
  for (const [flag, targets] of [
    ["--allow-read", options.allowRead],
    ["--allow-write", options.allowWrite],
    ["--deny-read", options.denyRead],
    ["--deny-write", options.denyWrite],
  ] as const) {
    for (const target of targets ?? []) args.push(flag, path.resolve(cwd, target));
  }
  if (options.bash === false) args.push("--no-bash");
  for (const { action, rule } of options.toolRules ?? []) args.push(`--${action}-tool`, rule);
  if (options.parent) args.push("--parent", path.resolve(options.parent));
  if (options.maxTurns) args.push("--max-turns", String(options.maxTurns));
  if (options.compactAt !== undefined) args.push("--compact-at", String(options.compactAt));
  if (options.compactTimeout !== undefined) args.push("--compact-timeout", String(options.compactTimeout));
  if (options.fork) {
    args.push("--fork-from", options.fork.from);
    if (options.fork.at !== undefined) args.push("--fork-at", String(options.fork.at));
    if (options.fork.compact) args.push("--fork-compact");
  }

  // Keys go to the pod on a pipe (fd 4), never in its environment (see daemon-main.ts, readSecrets).
  const { isCredentialVariable } = await import("../config/model-config.js");
  const secrets = Object.fromEntries(Object.entries(process.env).filter(([key, value]) => value !== undefined && isCredentialVariable(key)));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !isCredentialVariable(key)));
  const handOver = (pipe: unknown): void => {
    (pipe as NodeJS.WritableStream).end(JSON.stringify(secrets));
  };

  if (options.foreground) {
    const child = spawn(process.execPath, args, { stdio: ["inherit", "inherit", "inherit", "ignore", "pipe"], env: { ...env, PODD_SECRETS_FD: "4" } });
    handOver(child.stdio[4]);
    const ignore = (): void => undefined;
    process.on("SIGINT", ignore);
    process.on("SIGTERM", () => child.kill("SIGTERM"));
    const code = await new Promise<number>((resolve) => child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
    process.off("SIGINT", ignore);
    process.exitCode = code;
    return;
  }

  fs.mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const stderrFd = fs.openSync(paths.stderrFile, "a", 0o600);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", stderrFd, stderrFd, "pipe", "pipe"],
    env: { ...env, PODD_READY_FD: "3", PODD_SECRETS_FD: "4", PODD_QUIET: "1" },
  });
  fs.closeSync(stderrFd);
  handOver(child.stdio[4]);
  const ready = await readReadiness(child, { stderrFile: paths.stderrFile, timeoutMs: START_TIMEOUT_MS });
  child.unref();
  if (!ready.ok) throw new CliError(`cannot start pod ${name}: ${ready.error}`);
  if (options.json) process.stdout.write(`${JSON.stringify({ name, pid: ready.pid, socket: ready.socket })}\n`);
  else {
    const how = options.fork ? ` as a fork of ${options.fork.from}${options.fork.at === undefined ? "" : ` at target ${options.fork.at}`}` : "";
    process.stdout.write(`pod ${name} started${how} (pid ${ready.pid})\nsocket: ${ready.socket}\n`);
  }
}

/** Before daemonising: the model spec resolves, its credentials exist, and every permission rule parses — or a clear error (exit 2). */
async function checkModel(options: StartOptions): Promise<void> {
  const { credentialProblem, loadConfigFile, resolveModelConfig } = await import("../config/model-config.js");
  const { parsePermissionRule, parsePermissionRuleText } = await import("../config/permission-rules.js");
  try {
    for (const { action, rule } of options.toolRules ?? []) parsePermissionRule(action, rule);
    for (const rule of (await loadConfigFile(resolvePaths().home)).permissions ?? []) parsePermissionRuleText(rule);
    const config = await resolveModelConfig(options.model ?? "scripted", { baseUrl: options.baseUrl, home: resolvePaths().home, env: process.env });
    const problem = credentialProblem(config, process.env);
    if (problem) throw new CliError(problem, 2);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, 2);
  }
}
