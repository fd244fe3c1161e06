/** Commands that look at pods without driving them: ls and status. */
import { PodClient } from "../client/pod-client.js";
import { listPods, type PodListing } from "../client/pod-directory.js";
import { CliError, formatAge, poddPaths, table } from "./targets.js";

function row(pod: PodListing): string[] {
  const status = pod.state === "alive" ? (pod.status?.status ?? "?") : "dead";
  return [pod.name, status, String(pod.status?.pid ?? "-"), pod.status ? formatAge(pod.status.started_at_ms) : "-", pod.status?.model ?? "-", pod.status?.socket ?? "-"];
}

/** `podd ls`: every pod with a runtime dir: name, status (or `dead` for one left by a killed pod), pid, age, model, socket. */
export function lsCommand(options: { json?: boolean }): void {
  const pods = listPods(poddPaths());
  if (options.json) {
    process.stdout.write(`${JSON.stringify(pods.map((pod) => ({ name: pod.name, state: pod.state, ...pod.status })))}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stdout.write("no pods\n");
    return;
  }
  process.stdout.write(table([["NAME", "STATUS", "PID", "AGE", "MODEL", "SOCKET"], ...pods.map(row)]));
}

/** `podd status [pod]`: one pod's live state from its greeting and status; without a pod, like `podd ls`. */
export async function statusCommand(name: string | undefined, options: { json?: boolean }): Promise<void> {
  if (!name) return lsCommand(options);
  const pod = listPods(poddPaths()).find((listing) => listing.name === name);
  if (!pod?.status) throw new CliError(`pod ${name} is not running`);
  if (pod.state === "dead") throw new CliError(`pod ${name} is not running (its runtime dir was left by pid ${pod.status.pid}, which has exited)`);
  const client = await PodClient.connect(pod.status.socket);
  const snapshot = await client.waitFor("snapshot");
  await client.close();
  const { greeting, status, entries } = snapshot.data;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...pod.status, status, greeting, entries: entries.length })}\n`);
    return;
  }
  const lines = [
    ["pod", greeting.pod_name],
    ["status", status],
    ["pid", String(pod.status.pid)],
    ["model", `${greeting.provider}:${greeting.model}`],
    ["cwd", greeting.cwd],
    ["scope", greeting.scope_summary],
    ["tools", greeting.tools.join(", ")],
    ["context", `${greeting.context_tokens} / ${greeting.context_window} tokens`],
    ["entries", String(entries.length)],
    ["session", pod.status.session_id],
    ["socket", pod.status.socket],
    ["up", formatAge(pod.status.started_at_ms)],
  ];
  if (pod.status.parent_socket) lines.push(["parent", pod.status.parent_socket]);
  process.stdout.write(lines.map(([key, value]) => `${(key ?? "").padEnd(8)} ${value}`).join("\n") + "\n");
}
