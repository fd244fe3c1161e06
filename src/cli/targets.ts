/** Resolving a pod argument (a name, or a path to a socket) and common CLI plumbing. */
import { podPaths, resolvePaths, type PoddPaths } from "../config/paths.js";
import type { Event, Method } from "../../protocol/index.js";
import { PodClient, PodRequestError } from "../client/pod-client.js";
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

export async function connectTo(target: string, options: { buffer?: boolean } = {}): Promise<PodClient> {
  try {
    return await PodClient.connect(socketFor(target), options);
  } catch (error) {
    throw new CliError(target.includes("/") ? (error as Error).message : `pod ${target} is not running (${(error as Error).message})`);
  }
}

/** Send a method and wait for its ack or reply; on refusal close the connection and throw a CliError. */
export async function request(client: PodClient, method: Method): Promise<Event> {
  try {
    return await client.request(method);
  } catch (error) {
    client.destroy();
    if (error instanceof PodRequestError) throw new CliError(`${error.message} (${error.code})`);
    throw new CliError((error as Error).message);
  }
}


/** Rows as aligned columns (two spaces apart; the last column is not padded), ending in a newline. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? "").length))) ?? [];
  return rows.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")).join("\n") + "\n";
}
