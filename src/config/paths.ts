/**
 * Where podd keeps things. Owns the environment-variable rules; creates nothing.
 *
 * - home: `PODD_HOME`, default `~/.podd`. Session logs live under `<home>/sessions/`, pod
 *   metadata and logs under `<home>/pods/<name>/`.
 * - runtime: `PODD_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/podd`, else `<home>/run`. A pod's
 *   runtime dir is `<runtime>/<name>/` with `pid`, `status.json` and `sock`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { podNameProblem } from "../../protocol/pod-name.js";
import { PoddError } from "../errors.js";
import { idNames } from "./ids.js";

/**
 * Longest socket path Node can bind: `sockaddr_un.sun_path` is 108 bytes including the NUL.
 * Node 20 silently truncates longer paths (ecosystem-notes.md), so podd refuses them.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface PoddPaths {
  home: string;
  runtime: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): PoddPaths {
  const home = path.resolve(env.PODD_HOME || path.join(os.homedir(), ".podd"));
  let runtime: string;
  if (env.PODD_RUNTIME_DIR) runtime = path.resolve(env.PODD_RUNTIME_DIR);
  else if (env.XDG_RUNTIME_DIR) runtime = path.join(path.resolve(env.XDG_RUNTIME_DIR), "podd");
  else runtime = path.join(home, "run");
  return { home, runtime };
}

export interface PodPaths {
  runtimeDir: string;
  socket: string;
  pidFile: string;
  statusFile: string;
  /** `memory.json`: the pod's memory report, written on SIGUSR2 (src/pod/memory-report.ts). */
  memoryFile: string;
  dataDir: string;
  logFile: string;
  stderrFile: string;
}

/** Paths of one pod. Throws PoddError(invalid_request) for a bad name or a socket path over the OS limit. */
export function podPaths(paths: PoddPaths, name: string): PodPaths {
  assertPodName(name);
  const runtimeDir = path.join(paths.runtime, name);
  const socket = path.join(runtimeDir, "sock");
  const socketBytes = Buffer.byteLength(socket);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    throw new PoddError(
      "invalid_request",
      `socket path too long: ${socket} is ${socketBytes} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}; ` +
        "use a shorter pod name or set PODD_RUNTIME_DIR to a shorter directory",
    );
  }
  const dataDir = path.join(paths.home, "pods", name);
  return {
    runtimeDir,
    socket,
    pidFile: path.join(runtimeDir, "pid"),
    statusFile: path.join(runtimeDir, "status.json"),
    memoryFile: path.join(runtimeDir, "memory.json"),
    dataDir,
    logFile: path.join(dataDir, "pod.log"),
    stderrFile: path.join(dataDir, "stderr.log"),
  };
}

/**
 * `<home>/sessions/<session>/`: the existing directory of either form of the id (a session of a
 * pre-UUID podd is named by its ULID: src/config/ids.ts), else the name `sessionId` as given.
 */
export function sessionDir(paths: PoddPaths, sessionId: string): string {
  return existingName(path.join(paths.home, "sessions"), sessionId, "");
}

/** `<session dir>/<segment>.jsonl`: the existing file of either form of the id, else the name `segmentId` as given. */
export function segmentFile(dir: string, segmentId: string): string {
  return existingName(dir, segmentId, ".jsonl");
}

/** The first of the id's names (src/config/ids.ts idNames) that exists in `dir`, else the id as given. */
function existingName(dir: string, id: string, suffix: string): string {
  const candidates = idNames(id).map((name) => path.join(dir, `${name}${suffix}`));
  return candidates.find((candidate) => fs.existsSync(candidate)) ?? (candidates[0] as string);
}

export function assertPodName(name: string): void {
  const problem = podNameProblem(name);
  if (problem) throw new PoddError("invalid_request", `invalid pod name ${JSON.stringify(name)}: ${problem}`);
}
