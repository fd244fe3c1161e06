/** `podd rm <pod>…`: delete stopped pods' files (src/client/pod-removal.ts does the file work). */
import { planPodRemoval, removePodFiles, type PodRemoval } from "../client/pod-removal.js";
import { CliError, notRunningMessage, poddPaths } from "./targets.js";

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function describeRemoval(removal: PodRemoval): string {
  const parts = [removal.dataDir ? "its data dir" : undefined, plural(removal.sessionIds.length, "session"), removal.staleRuntimeDir ? "a stale runtime dir" : undefined];
  const kept = removal.keptSessionIds.length > 0 ? `; kept ${plural(removal.keptSessionIds.length, "session")} (podd sessions --pod ${removal.name})` : "";
  return `removed pod ${removal.name} (${parts.filter((part) => part !== undefined).join(", ")})${kept}`;
}

/**
 * `podd rm <pod>… [--keep-sessions]`: for each pod, in order, remove its data dir, its sessions
 * (unless `keepSessions`) and a stale runtime dir, printing `removed pod NAME (…)`. A running
 * pod (`stop it first: podd stop NAME`), a stopped child of a running pod, or an unknown name is
 * refused on stderr and the other pods are still removed; then throws a CliError (exit 1). An
 * invalid name throws a CliError with exit 2 before anything is removed.
 */
export async function rmCommand(names: string[], options: { keepSessions?: boolean }): Promise<void> {
  const paths = poddPaths();
  const plans = [];
  for (const name of names) {
    try {
      plans.push({ name, plan: await planPodRemoval(paths, name, options) });
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  let refused = 0;
  for (const { name, plan } of plans) {
    if ("refusal" in plan) {
      refused += 1;
      process.stderr.write(`podd: ${plan.refusal.reason === "unknown" ? notRunningMessage(name) : plan.refusal.message}\n`);
      continue;
    }
    removePodFiles(paths, plan.removal);
    process.stdout.write(`${describeRemoval(plan.removal)}\n`);
  }
  if (refused > 0) throw new CliError(`${plural(refused, "pod")} not removed`);
}
