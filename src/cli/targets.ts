/** Resolving a pod argument (a name, or a path to a socket) and common CLI plumbing. */
import fs from "node:fs";
import path from "node:path";
import { podPaths, resolvePaths, type PoddPaths } from "../config/paths.js";
import type { Event, Method } from "../../protocol/index.js";
import { PodClient, PodRequestError, RequestTimeoutError } from "../client/pod-client.js";
import { listPods, podDataDirNames } from "../client/pod-directory.js";
import { CliError } from "./cli-error.js";
export { formatAge } from "./format-age.js";

export { CliError };

export function poddPaths(): PoddPaths {
  return resolvePaths();
}

/** A pod argument with a `/` is a socket path; otherwise a pod name. */
export function socketFor(target: string): string {
  if (target.includes("/")) return target;
  return podPaths(poddPaths(), target).socket;
}

/**
 * Connect to a pod by name or socket path. Throws a CliError (exit 1) when nothing answers: for
 * a name, the message of notRunningMessage (stopped → `podd start NAME`; unknown → near names);
 * for a socket this user may not open (EACCES), that.
 */
export async function connectTo(target: string, options: { buffer?: boolean } = {}): Promise<PodClient> {
  let socket: string;
  try {
    socket = socketFor(target);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  try {
    return await PodClient.connect(socket, options);
  } catch (error) {
    // Not ours to open (another user's pod): say that, not "unknown pod" from the dirs we cannot read either.
    const denied = (error as NodeJS.ErrnoException).code === "EACCES";
    throw new CliError(target.includes("/") || denied ? (error as Error).message : notRunningMessage(target, (error as Error).message));
  }
}

/**
 * Why the pod called `name` cannot be reached, as one line for an error:
 * - a live process that does not answer: `pod NAME (pid N) is not answering on SOCKET (<why>)`;
 * - a runtime dir left by a killed pod: `pod NAME is not running (its process, pid N, has exited); start it again: podd start NAME`;
 * - a stopped pod (a data dir under `$PODD_HOME/pods`): `pod NAME is not running (stopped); start it again: podd start NAME`;
 * - a runtime dir or `$PODD_HOME/pods` this user may not read (another user's): `cannot look up pod NAME: DIR is not yours to read …`;
 * - otherwise `unknown pod NAME` with up to three near names (`did you mean …?`) and where to look.
 * `why` (the connect error) is shown for the live case only.
 */
export function notRunningMessage(name: string, why?: string): string {
  const paths = poddPaths();
  const listing = listPods(paths).find((pod) => pod.name === name);
  if (listing?.state === "alive" && listing.status) {
    return `pod ${name} (pid ${listing.status.pid}) is not answering on ${listing.status.socket}${why ? ` (${why})` : ""}`;
  }
  if (listing?.state === "dead") {
    return `pod ${name} is not running (its process, pid ${listing.status?.pid ?? "?"}, has exited); start it again: podd start ${name}`;
  }
  if (podDataDirNames(paths).includes(name)) return `pod ${name} is not running (stopped); start it again: podd start ${name}`;
  const unreadable = [paths.runtime, path.join(paths.home, "pods")].find((dir) => isDenied(dir));
  if (unreadable) return `cannot look up pod ${name}: ${unreadable} is not yours to read (permission denied); it belongs to another user`;
  return unknownPodMessage(name);
}

/** Whether this user may not list `dir` (EACCES; a missing dir is not denied). */
function isDenied(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EACCES";
  }
}

/** `unknown pod NAME; did you mean A, B? (…where to look…)`: for a name with neither a runtime dir nor a data dir. */
export function unknownPodMessage(name: string): string {
  const paths = poddPaths();
  const known = [...new Set([...listPods(paths).map((pod) => pod.name), ...podDataDirNames(paths)])];
  const near = nearNames(name, known);
  const hint = near.length > 0 ? `; did you mean ${near.join(", ")}?` : "";
  return `unknown pod ${name}${hint} (\`podd ls --all\` lists the pods; \`podd start ${name}\` starts a new one)`;
}

/** Up to three of `names` close to `name`: sharing a case-insensitive prefix of 3+ characters, or at most 2 edits away, nearest first. */
export function nearNames(name: string, names: readonly string[]): string[] {
  const lower = name.toLowerCase();
  const scored = names.flatMap((candidate) => {
    if (candidate === name) return [];
    const other = candidate.toLowerCase();
    const distance = editDistance(lower, other);
    const prefix = lower.length >= 3 && (other.startsWith(lower) || lower.startsWith(other));
    return distance <= 2 || prefix ? [{ candidate, distance }] : [];
  });
  return scored
    .sort((a, b) => a.distance - b.distance || (a.candidate < b.candidate ? -1 : 1))
    .slice(0, 3)
    .map((entry) => entry.candidate);
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Send a method and wait for its ack or reply; on refusal close the connection and throw a CliError. */
export async function request(client: PodClient, method: Method): Promise<Event> {
  try {
    return await client.request(method);
  } catch (error) {
    client.destroy();
    if (error instanceof PodRequestError) throw new CliError(`${error.message} (${error.code})`);
    throw new CliError(describeRequestFailure(error));
  }
}

/** A request failure that is not the pod's refusal, for the user: a timeout says the pod may still act on it. */
export function describeRequestFailure(error: unknown): string {
  if (error instanceof RequestTimeoutError) {
    return `the pod did not answer ${error.method} within ${error.timeoutMs / 1000} s (it may be stopped or overloaded); it may still act on it when it runs again`;
  }
  return (error as Error).message;
}


/** Rows as aligned columns (two spaces apart; the last column is not padded), ending in a newline. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? "").length))) ?? [];
  return rows.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")).join("\n") + "\n";
}
