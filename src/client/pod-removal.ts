/**
 * Removing a stopped pod's files, for `podd rm`. This is the one place a client deletes pod
 * state (a documented exception, like src/client/session-files.ts reading session files): a
 * pod that is not running cannot be asked over its socket to delete itself, and nothing else
 * owns its files while it is stopped. What is removed:
 * - its data dir `<home>/pods/<name>/` (metadata.json, inbox.jsonl, pod.log, stderr.log,
 *   children.json);
 * - its sessions `<home>/sessions/<id>/` (every session whose segments name the pod), unless
 *   `keepSessions`; a session another live process holds is never removed;
 * - a runtime dir `<runtime>/<name>/` left by a killed pod (its pid has exited).
 * A running pod, a stopped child of a running pod (its parent may start it again or read its
 * output), and a name with no files at all are refused (planPodRemoval).
 */
import fs from "node:fs";
import { podPaths, sessionDir, type PoddPaths } from "../config/paths.js";
import { isProcessAlive, listPods, readStoppedPod, socketAnswers } from "./pod-directory.js";
import { listSessionIds, readSession } from "./session-files.js";

/** What removing one pod deletes (absolute paths). */
export interface PodRemoval {
  name: string;
  /** `<home>/pods/<name>/`, when it exists. */
  dataDir?: string;
  /** Ids of the sessions removed with it (empty with `keepSessions`). */
  sessionIds: string[];
  /** Ids of the pod's sessions left on disk (`keepSessions`). */
  keptSessionIds: string[];
  /** A runtime dir left by a killed pod, when there is one. */
  staleRuntimeDir?: string;
}

/**
 * Why a pod cannot be removed: `running` (its process is alive or its socket answers),
 * `child_of_running` (its metadata names a running pod's socket as its parent), `unknown` (no
 * data dir, no runtime dir). `message` is one line for the user.
 */
export interface PodRemovalRefusal {
  reason: "running" | "child_of_running" | "unknown";
  message: string;
}

/**
 * Check that `name` can be removed and list what would go. Never changes anything. Throws the
 * PoddError of podPaths for an invalid name.
 */
export async function planPodRemoval(paths: PoddPaths, name: string, options: { keepSessions?: boolean } = {}): Promise<{ removal: PodRemoval } | { refusal: PodRemovalRefusal }> {
  const pod = podPaths(paths, name);
  const listings = listPods(paths);
  const listing = listings.find((candidate) => candidate.name === name);
  if (listing?.state === "alive" || (await socketAnswers(pod.socket))) {
    return { refusal: { reason: "running", message: `pod ${name} is running; stop it first: podd stop ${name}` } };
  }
  const hasDataDir = fs.existsSync(pod.dataDir);
  const hasRuntimeDir = fs.existsSync(pod.runtimeDir);
  if (!hasDataDir && !hasRuntimeDir) return { refusal: { reason: "unknown", message: `unknown pod ${name}: nothing of it in ${paths.home} or ${paths.runtime}` } };
  const parentSocket = readStoppedPod(paths, name)?.metadata?.parent_socket;
  const parent = parentSocket === undefined ? undefined : listings.find((candidate) => candidate.state === "alive" && candidate.status?.socket === parentSocket);
  if (parent) {
    return {
      refusal: {
        reason: "child_of_running",
        message: `pod ${name} is a child of the running pod ${parent.name}, which may start it again or read its output; stop that pod first: podd stop ${parent.name}`,
      },
    };
  }
  const sessions = podSessionIds(paths, name);
  const removal: PodRemoval = {
    name,
    sessionIds: options.keepSessions ? [] : sessions,
    keptSessionIds: options.keepSessions ? sessions : [],
  };
  if (hasDataDir) removal.dataDir = pod.dataDir;
  if (hasRuntimeDir) removal.staleRuntimeDir = pod.runtimeDir;
  return { removal };
}

/** Ids of the sessions whose segments (or owner file) name pod `name` and that no live process holds. */
function podSessionIds(paths: PoddPaths, name: string): string[] {
  return listSessionIds(paths).filter((id) => {
    try {
      const session = readSession(paths, id);
      return session?.podName === name && !(session.owner && isProcessAlive(session.owner.pid));
    } catch {
      return false;
    }
  });
}

/** Delete what `removal` lists. Throws the fs error of a path that cannot be removed (what was removed before it stays removed). */
export function removePodFiles(paths: PoddPaths, removal: PodRemoval): void {
  for (const id of removal.sessionIds) fs.rmSync(sessionDir(paths, id), { recursive: true, force: true });
  if (removal.dataDir) fs.rmSync(removal.dataDir, { recursive: true, force: true });
  if (removal.staleRuntimeDir) fs.rmSync(removal.staleRuntimeDir, { recursive: true, force: true });
}
