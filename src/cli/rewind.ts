/**
 * `podd rewind <pod> [n]`: list a pod's rewind targets (its user inputs, numbered, oldest
 * first), or rewind to target n and print the rewound input so it can be edited and resent.
 */
import { flattenSegments, type EventOf, type RewindTarget } from "../../protocol/index.js";
import type { PodClient } from "../client/pod-client.js";
import { rewindSummaryText } from "../client/rewind-text.js";
import { CliError, connectTo, formatAge, request } from "./targets.js";

async function listTargets(client: PodClient): Promise<EventOf<"rewind_targets">["data"]> {
  const reply = await request(client, { method: "list_rewind_targets" });
  if (reply.event !== "rewind_targets") throw new CliError(`unexpected reply to list_rewind_targets: ${reply.event}`);
  return reply.data;
}

function formatTargets(targets: readonly RewindTarget[]): string {
  if (targets.length === 0) return "no rewind targets (the session has no user input yet)\n";
  const width = String(targets.length).length;
  const ages = targets.map((target) => (target.timestamp_ms === null ? "" : `${formatAge(target.timestamp_ms)} ago`));
  const ageWidth = Math.max(...ages.map((age) => age.length));
  return targets.map((target, index) => `${String(index + 1).padStart(width)}  ${(ages[index] ?? "").padEnd(ageWidth)}  ${target.preview}`).join("\n") + "\n" + warnings(targets);
}

/** The targets a rewind to would discard side-effect tool calls for (the pod's `warning`), one line each. */
function warnings(targets: readonly RewindTarget[]): string {
  const first = targets.findIndex((target) => target.warning !== undefined);
  const warning = targets[first]?.warning;
  return warning === undefined ? "" : `note: from target ${first + 1} on, ${warning}\n`;
}

export async function rewindCommand(target: string, n: number | undefined, options: { json?: boolean }): Promise<void> {
  const client = await connectTo(target);
  const listing = await listTargets(client);
  if (n === undefined) {
    process.stdout.write(options.json ? `${JSON.stringify(listing)}\n` : formatTargets(listing.targets));
    await client.close();
    return;
  }
  const chosen = listing.targets[n - 1];
  if (!chosen) {
    client.destroy();
    throw new CliError(`no rewind target ${n} (the pod has ${listing.targets.length}; run \`podd rewind ${target}\` to list them)`);
  }
  const applied = client.waitFor("rewind_applied", { timeoutMs: 10_000 });
  applied.catch(() => undefined);
  await request(client, { method: "rewind_to", params: { target: chosen.id, expected_head_entries: chosen.expected_head_entries } });
  const event = await applied;
  await client.close();
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ summary: event.data.summary, input: event.data.input, text: flattenSegments(event.data.input), entries: event.data.entries.length })}\n`);
    return;
  }
  process.stderr.write(`podd: ${rewindSummaryText(event.data.summary)}; the rewound input was:\n`);
  const text = flattenSegments(event.data.input);
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}
