/**
 * Finding pods: a pod's runtime dir holds `status.json` (written by the pod) and `sock`.
 * This module reads them for the CLI (`podd ls`, `podd status`) without talking to the pod,
 * and checks liveness by pid.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { podPaths, type PoddPaths } from "../config/paths.js";
import type { PodStatusFile } from "../config/pod-status-file.js";

export type { PodStatusFile };

export interface PodListing {
  name: string;
  /** `alive` when the pid in status.json is running; `dead` when the runtime dir was left by a killed pod. */
  state: "alive" | "dead";
  status?: PodStatusFile;
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
