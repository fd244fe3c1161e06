/** Resolving a pod argument (a name, or a path to a socket) and common CLI plumbing. */
import { podPaths, resolvePaths, type PoddPaths } from "../config/paths.js";
import { PodClient } from "../client/pod-client.js";
import { CliError } from "./cli-error.js";

export { CliError };

export function poddPaths(): PoddPaths {
  return resolvePaths();
}

/** A pod argument with a `/` is a socket path; otherwise a pod name. */
export function socketFor(target: string): string {
  if (target.includes("/")) return target;
  return podPaths(poddPaths(), target).socket;
}

export async function connectTo(target: string, options: { buffer?: boolean } = {}): Promise<PodClient> {
  try {
    return await PodClient.connect(socketFor(target), options);
  } catch (error) {
    throw new CliError(target.includes("/") ? (error as Error).message : `pod ${target} is not running (${(error as Error).message})`);
  }
}
