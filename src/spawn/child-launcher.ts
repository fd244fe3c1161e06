/**
 * Launching a child pod process: `node daemon-main.js <name> --parent <parent socket> …` in
 * its own process group (detached), with the readiness pipe on fd 3 and the model keys on a
 * pipe on fd 4 (never on the command line or in its environment: daemon-main.ts,
 * readSecrets), its stdout and stderr appended to `<home>/pods/<name>/stderr.log`. Resolves
 * once the child's socket accepts connections; rejects with the child's own error, or its
 * stderr's tail, when it cannot start (the "spawn failed with the child's stderr tail").
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ScopeRule } from "../../protocol/index.js";
import { readReadiness } from "../client/readiness.js";
import { missingDirs, removeDirs } from "../config/created-dirs.js";
import { ensurePrivateDir, POD_DATA_DIR } from "../config/private-dir.js";

/** Longest wait for a child to report readiness, ms. */
export const CHILD_START_TIMEOUT_MS = 15_000;

export interface ChildLaunch {
  name: string;
  parentSocket: string;
  /** The child's working directory (absolute). */
  cwd: string;
  /** `--model` spec (the parent's unless the spawn asked for another); absent when restoring (the child's own). */
  model?: string;
  /** Restore the child's saved session instead of starting a new one (`attach_or_restore_pod`). */
  restore?: boolean;
  baseUrl?: string;
  /** The child's whole path scope: only these rules (its cwd is not implicitly writable). */
  scope: { allow: ScopeRule[]; deny: ScopeRule[] };
  bash: boolean;
  /** Appended to the child's default system prompt. */
  instructions?: string;
  maxTurns?: number;
  /** Credentials handed over on fd 4. */
  secrets: Record<string, string>;
  /** The child's environment (without credentials). */
  env: NodeJS.ProcessEnv;
  /** `<home>/pods/<name>/` of the child: where its stderr.log goes. */
  dataDir: string;
}

export interface LaunchedChild {
  pid: number;
  socket: string;
  /** The child process (this process is its parent until it exits). */
  process: ChildProcess;
}

/**
 * The pod entry a child runs: this process's own entry when it is a pod (the bundled
 * dist/src/daemon-main.js, whose chunks live elsewhere), else the one beside this module's
 * folder (compiled .js, or .ts under tsx).
 */
function daemonEntry(): { file: string; execArgv: string[] } {
  const own = process.argv[1];
  if (own && /daemon-main\.(js|ts)$/.test(own)) return { file: own, execArgv: process.execArgv.filter((arg) => !arg.startsWith("--cpu-prof")) };
  const here = fileURLToPath(import.meta.url);
  const extension = path.extname(here);
  const file = path.join(path.dirname(here), "..", `daemon-main${extension}`);
  return { file, execArgv: extension === ".ts" ? ["--import", "tsx"] : [] };
}

/** The daemon-main arguments of a launch (exported for tests). */
export function childArguments(launch: ChildLaunch): string[] {
  const args = [launch.name, "--parent", launch.parentSocket, "--cwd", launch.cwd, "--scope-only"];
  if (launch.model) args.push("--model", launch.model);
  if (!launch.restore) args.push("--new");
  if (launch.baseUrl) args.push("--base-url", launch.baseUrl);
  for (const rule of launch.scope.allow) args.push(rule.permission === "write" ? "--allow-write" : "--allow-read", rule.target);
  for (const rule of launch.scope.deny) args.push(rule.permission === "write" ? "--deny-write" : "--deny-read", rule.target);
  if (!launch.bash) args.push("--no-bash");
  if (launch.instructions) args.push("--instructions", launch.instructions);
  if (launch.maxTurns) args.push("--max-turns", String(launch.maxTurns));
  return args;
}

/** Start a child pod and wait for its readiness line. Rejects with a readable reason. */
export async function launchChild(launch: ChildLaunch, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<LaunchedChild> {
  const entry = daemonEntry();
  // A child that fails to start leaves no directory it did not find.
  const created = missingDirs(launch.dataDir);
  // Refused (before the child starts) when it is not this user's private dir: src/config/private-dir.ts.
  ensurePrivateDir(launch.dataDir, POD_DATA_DIR);
  const stderrFile = path.join(launch.dataDir, "stderr.log");
  const stderrFd = fs.openSync(stderrFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...entry.execArgv, entry.file, ...childArguments(launch)], {
      cwd: launch.cwd,
      detached: true,
      stdio: ["ignore", stderrFd, stderrFd, "pipe", "pipe"],
      env: { ...launch.env, PODD_READY_FD: "3", PODD_SECRETS_FD: "4", PODD_QUIET: "1" },
    });
  } finally {
    fs.closeSync(stderrFd);
  }
  (child.stdio[4] as NodeJS.WritableStream).end(JSON.stringify(launch.secrets));
  const ready = await readReadiness(child, { stderrFile, timeoutMs: options.timeoutMs ?? CHILD_START_TIMEOUT_MS, signal: options.signal });
  if (!ready.ok) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    removeDirs(created);
    throw new Error(`pod ${launch.name} did not start: ${ready.error}`);
  }
  return { pid: ready.pid, socket: ready.socket, process: child };
}
