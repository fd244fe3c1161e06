/**
 * Finding pods: a pod's runtime dir holds `status.json` (written by the pod) and `sock`; its
 * data dir `<home>/pods/<name>/` outlives the process (metadata.json, logs). This module reads
 * them for the CLI (`podd ls [--all]`, `podd status`, the "not running" errors) without talking
 * to the pod, and checks liveness by pid.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { podNameProblem } from "../../protocol/pod-name.js";
import { podPaths, segmentFile, sessionDir, type PoddPaths } from "../config/paths.js";
import type { PodStatusFile } from "../config/pod-status-file.js";
import { readPodMetadata, type PodMetadata } from "./pod-metadata-file.js";

export type { PodStatusFile };

export interface PodListing {
  name: string;
  /**
   * `alive` when the pid in status.json is running; `dead` when the runtime dir was left by a
   * killed pod; `stopped` (only from listAllPods) for a pod with a data dir and no runtime dir.
   */
  state: "alive" | "dead" | "stopped";
  status?: PodStatusFile;
  /** Set for `stopped`. */
  stopped?: StoppedPod;
}

/** Whether `pid` is a running process. A zombie (exited, not yet reaped) counts as dead: on Linux its /proc state is `Z`. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}

export function readPodStatus(paths: PoddPaths, name: string): PodStatusFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(podPaths(paths, name).statusFile, "utf8")) as PodStatusFile;
  } catch {
    return undefined;
  }
}

/** Every pod with a runtime dir, sorted by name. */
export function listPods(paths: PoddPaths): PodListing[] {
  let names: string[];
  try {
    const isPodDir = (name: string): boolean =>
      fs.statSync(path.join(paths.runtime, name)).isDirectory() &&
      (fs.existsSync(path.join(paths.runtime, name, "status.json")) || fs.existsSync(path.join(paths.runtime, name, "sock")));
    names = fs.readdirSync(paths.runtime).filter(isPodDir);
  } catch {
    return [];
  }
  return names.sort().flatMap((name): PodListing[] => {
    let status: PodStatusFile | undefined;
    try {
      status = readPodStatus(paths, name);
    } catch {
      return [];
    }
    const alive = status !== undefined && isProcessAlive(status.pid);
    return [{ name, state: alive ? "alive" : "dead", status }];
  });
}

/** Whether something accepts connections on the socket (ECONNREFUSED / ENOENT: nothing, or a stale file). */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A pod with a data dir under `<home>/pods/` and no runtime dir: it ran before and was stopped. */
export interface StoppedPod {
  name: string;
  /** Its metadata.json, when it has a usable one (a pod that never got as far as a session has none). */
  metadata?: PodMetadata;
  /** The socket it listens on when started again (`<runtime>/<name>/sock`). */
  socket: string;
  /**
   * Its last activity, ms since the epoch: the newest modification time of its active session
   * segment, its metadata.json and its pod.log (the data dir's own when none of them exists).
   */
  lastActivityMs: number;
}

function mtimeMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Names of the pods with a data dir (`<home>/pods/<name>/`, a valid pod name), sorted. */
export function podDataDirNames(paths: PoddPaths): string[] {
  const root = path.join(paths.home, "pods");
  try {
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && podNameProblem(entry.name) === undefined)
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** What a stopped pod's data dir says of it (see StoppedPod); undefined for a bad name or a socket path over the limit. */
export function readStoppedPod(paths: PoddPaths, name: string): StoppedPod | undefined {
  let pod;
  try {
    pod = podPaths(paths, name);
  } catch {
    return undefined;
  }
  const { metadata } = readPodMetadata(pod.dataDir);
  const segment = metadata ? segmentFile(sessionDir(paths, metadata.session_id), metadata.segment_id) : undefined;
  const times = [segment, path.join(pod.dataDir, "metadata.json"), pod.logFile].flatMap((file) => {
    const time = file === undefined ? undefined : mtimeMs(file);
    return time === undefined ? [] : [time];
  });
  return { name, metadata, socket: pod.socket, lastActivityMs: Math.round(times.length > 0 ? Math.max(...times) : (mtimeMs(pod.dataDir) ?? 0)) };
}

/**
 * Every stopped pod, sorted by name: a data dir under `<home>/pods/` and no runtime dir (a pod
 * whose runtime dir is there is listed by listPods, as alive or dead).
 */
export function listStoppedPods(paths: PoddPaths): StoppedPod[] {
  const withRuntime = new Set(listPods(paths).map((pod) => pod.name));
  return podDataDirNames(paths).flatMap((name) => {
    if (withRuntime.has(name)) return [];
    const stopped = readStoppedPod(paths, name);
    return stopped ? [stopped] : [];
  });
}

/** listPods and listStoppedPods together (`podd ls --all`), sorted by name. */
export function listAllPods(paths: PoddPaths): PodListing[] {
  const stopped = listStoppedPods(paths).map((pod): PodListing => ({ name: pod.name, state: "stopped", stopped: pod }));
  return [...listPods(paths), ...stopped].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
