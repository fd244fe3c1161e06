/**
 * `podd start [name]`: start a pod. By default the pod is daemonised (its own session and
 * process group, output to `<home>/pods/<name>/stderr.log`) and this command returns once
 * the socket accepts connections, printing the name, pid, socket, the session (new, or
 * restored with its size, age and cwd), the model and the instructions loaded; when the pod
 * cannot start it exits 1 with the pod's own error and leaves no directory it did not find.
 * A bad name, flag or model, and a default name that belongs to a pod of another directory,
 * exit 2 before anything is created. `--foreground` keeps the pod attached to the terminal
 * until it stops.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { podPaths, resolvePaths } from "../config/paths.js";
import { readReadiness, type ReadyInfo } from "../client/readiness.js";
import { readPodMetadata, type PodMetadata } from "../client/pod-metadata-file.js";
import { missingDirs, removeDirs } from "../config/created-dirs.js";
import { checkPrivateDir, ensurePrivateDir, POD_DATA_DIR, POD_RUNTIME_DIR, RUNTIME_DIR } from "../config/private-dir.js";
import { formatBytes, readInstructionsArgument } from "../config/instructions.js";
import { parseMcpFlag } from "../config/mcp-config.js";
import { REAL_MODEL_HINT } from "../config/model-config.js";
import { newPodNameProblem } from "../../protocol/pod-name.js";
import { CliError } from "./cli-error.js";
import { formatAge } from "./format-age.js";

/** Longest wait for a daemonised pod to report readiness (its MCP servers may take up to 15 s of it: src/mcp/mcp-servers.ts). */
const START_TIMEOUT_MS = 30_000;

export interface StartOptions {
  model?: string;
  /** `--mcp NAME=CMD|URL` (repeatable): MCP servers for this start, besides the config files' (src/config/mcp-config.ts). */
  mcp?: string[];
  /** `--no-mcp`: no MCP servers at all. */
  noMcp?: boolean;
  /** `--new`: a fresh session even if the pod has one. */
  new?: boolean;
  baseUrl?: string;
  allowRead?: string[];
  allowWrite?: string[];
  denyRead?: string[];
  denyWrite?: string[];
  /** `--bash` (true) / `--no-bash` (false); undefined: the saved setting (a new pod: true). */
  bash?: boolean;
  /** `--allow-tool` / `--deny-tool` rules in the order given. */
  toolRules?: { action: "allow" | "deny"; rule: string }[];
  /** `--clear-tool-rules`: drop the saved tool rules. */
  clearToolRules?: boolean;
  /** `--clear-scope`: drop the saved scope rules. */
  clearScope?: boolean;
  /** `--instructions FILE|TEXT`; `false` for `--no-instructions` (as `""`: clear the saved ones). */
  instructions?: string | false;
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

/** Longer than any reasonable wait for a pod that reported failure to exit. */
const EXIT_WAIT_MS = 5_000;

/** The embedded demo model's line in `podd start` output. */
export const DEMO_MODEL_NOTE = `embedded demo model (plays a fixed script) — use ${REAL_MODEL_HINT} for a real one`;

export async function startCommand(nameArgument: string | undefined, options: StartOptions): Promise<void> {
  const here = process.cwd();
  const givenCwd = options.cwd === undefined ? undefined : path.resolve(options.cwd);
  if (options.fork) {
    try {
      podPaths(resolvePaths(), options.fork.from);
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  const name = nameArgument ?? defaultPodName(givenCwd ?? here);
  let paths;
  try {
    paths = podPaths(resolvePaths(), name);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  // podd's own dirs must be this user's and private (src/config/private-dir.ts): the data dir
  // before its metadata is read, the runtime dirs before the pod is started (after the usage checks).
  refusePrivateDirProblem(name, () => checkPrivateDir(paths.dataDir, POD_DATA_DIR));
  for (const spec of options.mcp ?? []) {
    try {
      parseMcpFlag(spec);
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  const saved = options.new || options.fork ? undefined : readPodMetadata(paths.dataDir).metadata;
  // A pod that exists keeps its name even if podd would no longer create it; a new one must have a usable name.
  const nameProblem = saved ? undefined : newPodNameProblem(name);
  if (nameProblem) throw new CliError(`invalid pod name ${JSON.stringify(name)}: ${nameProblem}`, 2);
  const cwd = givenCwd ?? here;
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) throw new CliError(`--cwd ${cwd} is not a directory`, 2);
  const notes = saved ? cwdNotes(name, nameArgument !== undefined, givenCwd, saved) : [];
  const instructions = instructionsArgument(options.instructions, here);
  await checkModel(options);
  refusePrivateDirProblem(name, () => {
    checkPrivateDir(path.dirname(paths.runtimeDir), RUNTIME_DIR);
    checkPrivateDir(paths.runtimeDir, POD_RUNTIME_DIR);
  });
  const entry = daemonEntry();
  // Settings not given here are the restored pod's own (or the defaults for a new pod).
  const args = [...entry.execArgv, entry.file, name];
  if (options.cwd) args.push("--cwd", cwd);
  if (options.new) args.push("--new");
  if (options.model) args.push("--model", options.model);
  if (options.baseUrl) args.push("--base-url", options.baseUrl);
  if (options.clearScope) args.push("--clear-scope");
  for (const [flag, targets] of [
    ["--allow-read", options.allowRead],
    ["--allow-write", options.allowWrite],
    ["--deny-read", options.denyRead],
    ["--deny-write", options.denyWrite],
  ] as const) {
    for (const target of targets ?? []) args.push(flag, path.resolve(cwd, target));
  }
  if (options.bash !== undefined) args.push(options.bash ? "--bash" : "--no-bash");
  if (options.clearToolRules) args.push("--clear-tool-rules");
  for (const { action, rule } of options.toolRules ?? []) args.push(`--${action}-tool`, rule);
  if (instructions) {
    args.push("--instructions", instructions.text);
    if (instructions.source !== "text") args.push("--instructions-source", instructions.source);
  }
  if (options.parent) args.push("--parent", path.resolve(options.parent));
  if (options.maxTurns) args.push("--max-turns", String(options.maxTurns));
  for (const spec of options.mcp ?? []) args.push("--mcp", spec);
  if (options.noMcp) args.push("--no-mcp");
  if (options.compactAt !== undefined) args.push("--compact-at", String(options.compactAt));
  if (options.compactTimeout !== undefined) args.push("--compact-timeout", String(options.compactTimeout));
  if (options.fork) {
    args.push("--fork-from", options.fork.from);
    if (options.fork.at !== undefined) args.push("--fork-at", String(options.fork.at));
    if (options.fork.compact) args.push("--fork-compact");
  }
  for (const note of notes) process.stderr.write(`podd: ${note}\n`);

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

  // What this start creates goes again if the pod fails to start (a pod that ran before keeps its dir).
  const created = missingDirs(paths.dataDir);
  ensurePrivateDir(paths.dataDir, POD_DATA_DIR);
  const stderrFd = fs.openSync(paths.stderrFile, "a", 0o600);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", stderrFd, stderrFd, "pipe", "pipe"],
    env: { ...env, PODD_READY_FD: "3", PODD_SECRETS_FD: "4", PODD_QUIET: "1" },
  });
  fs.closeSync(stderrFd);
  handOver(child.stdio[4]);
  const ready = await readReadiness(child, { stderrFile: paths.stderrFile, timeoutMs: START_TIMEOUT_MS });
  if (!ready.ok) {
    await endChild(child);
    removeDirs(created);
    throw new CliError(`cannot start pod ${name}: ${ready.error}`);
  }
  child.unref();
  const { ok: _ok, socket, pid, ...info } = ready;
  if (options.json) process.stdout.write(`${JSON.stringify({ name, pid, socket, ...info })}\n`);
  else {
    const how = options.fork ? ` as a fork of ${options.fork.from}${options.fork.at === undefined ? "" : ` at target ${options.fork.at}`}` : "";
    process.stdout.write(`pod ${name} started${how} (pid ${pid})\nsocket: ${socket}\n${readyLines(info, Boolean(options.fork)).join("")}`);
  }
}

/** The lines after `socket:` in `podd start` output: session (`forked`: a fork's copy), model, instructions; each ends in a newline. */
export function readyLines(info: ReadyInfo, forked = false): string[] {
  const lines: string[] = [];
  const { session } = info;
  if (session) {
    const where = info.cwd === undefined ? "" : `cwd ${info.cwd}`;
    if (session.restored) {
      const age = session.last_active_ms === undefined ? "" : `, last active ${formatAge(session.last_active_ms)} ago`;
      lines.push(`session: restored session ${session.id} (${session.entries} ${session.entries === 1 ? "entry" : "entries"}${age}${where && `, ${where}`})`);
    } else {
      const copied = forked ? `${session.entries} ${session.entries === 1 ? "entry" : "entries"} copied` : "";
      const details = [copied, where].filter((part) => part !== "").join(", ");
      lines.push(`session: new session ${session.id}${details && ` (${details})`}`);
    }
  }
  if (info.model) lines.push(`model: ${modelText(info.model)}`);
  if (info.agents_md) lines.push(`instructions: ${info.agents_md.path} loaded (${formatBytes(info.agents_md.bytes)})`);
  if (info.instructions) {
    const from = info.instructions.source === "text" ? "text" : `from ${info.instructions.source}`;
    lines.push(`instructions: --instructions ${from} (${formatBytes(info.instructions.bytes)}, saved)`);
  }
  return lines.map((line) => `${line}\n`);
}

/** How `podd start` and `podd status` name a pod's model: the demo says what it is. */
export function modelText(model: { spec: string; provider: string; model: string }): string {
  if (model.spec === "scripted") return DEMO_MODEL_NOTE;
  if (model.provider === "scripted") return `scripted scenario ${model.spec.slice("scripted:".length)} (plays a fixed script)`;
  return model.spec.includes(":") ? model.spec : `${model.spec} (${model.provider}:${model.model})`;
}

/**
 * The cwd a restored pod starts in, checked against where this command runs: refuses (exit 2)
 * a default name that is the saved pod of another directory; returns notes for an explicit
 * name that reopens a pod of another directory, or moves one (`--cwd`).
 */
function cwdNotes(name: string, named: boolean, givenCwd: string | undefined, saved: PodMetadata): string[] {
  const wanted = realpath(givenCwd ?? process.cwd());
  if (wanted === saved.cwd) return [];
  if (!named) {
    throw new CliError(
      `pod ${name} is the pod of ${saved.cwd}, not of ${wanted}; ` +
        `start a pod for this directory under another name (podd start <other-name>), ` +
        `reopen that pod (podd start ${name}, or --cwd ${saved.cwd}), or replace it with a new pod here (--new)`,
      2,
    );
  }
  if (givenCwd === undefined) return [`pod ${name} works in ${saved.cwd} (its saved cwd), not in this directory`];
  return [`pod ${name} moves from ${saved.cwd} to ${wanted} (--cwd); its saved scope rules are kept`];
}

function realpath(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** `--instructions`: the text (read from the file it names, if any) to pass on; `""` to clear the saved text; exit 2 over the size limit. */
function instructionsArgument(value: string | false | undefined, baseDir: string): { text: string; source: string } | undefined {
  if (value === undefined) return undefined;
  if (value === false) return { text: "", source: "text" };
  try {
    return readInstructionsArgument(value, baseDir);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

/** Run a private-dir check (src/config/private-dir.ts); its refusal becomes `cannot start pod NAME: …` (exit 1). */
function refusePrivateDirProblem(name: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    throw new CliError(`cannot start pod ${name}: ${(error as Error).message}`);
  }
}

/** After a failed start: wait (bounded) for the pod process to exit, killing it if it does not. */
async function endChild(child: ReturnType<typeof spawn>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_WAIT_MS);
  if (child.exitCode === null && child.signalCode === null) await exited;
  clearTimeout(timer);
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
