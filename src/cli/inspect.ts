/** Commands that look at pods without driving them: ls and status. */
import { PodClient } from "../client/pod-client.js";
import { listAllPods, listPods, listStoppedPods, type PodListing } from "../client/pod-directory.js";
import { buildPodTree, flattenPodTree, type PodTreeNode, type PodTreeRow } from "../client/pod-tree.js";
import { readPodMetadata, type PodMetadata } from "../client/pod-metadata-file.js";
import { podPaths } from "../config/paths.js";
import { formatBytes } from "../config/instructions.js";
import type { McpServerStatus } from "../config/pod-status-file.js";
import { modelText } from "./start.js";
import { CliError, formatAge, notRunningMessage, poddPaths, table } from "./targets.js";

function row(pod: PodListing, options: { all?: boolean }): string[] {
  if (pod.state === "stopped") {
    const cells = [pod.name, "stopped", "-", "-", pod.stopped?.metadata?.model ?? "-", "-"];
    if (options.all) cells.splice(4, 0, pod.stopped ? `${formatAge(pod.stopped.lastActivityMs)} ago` : "-");
    return cells;
  }
  const status = pod.state === "alive" ? (pod.status?.status ?? "?") : "dead";
  const cells = [pod.name, status, String(pod.status?.pid ?? "-"), pod.status ? formatAge(pod.status.started_at_ms) : "-", pod.status?.model ?? "-", pod.status?.socket ?? "-"];
  if (options.all) cells.splice(4, 0, pod.status ? `${formatAge(pod.status.updated_at_ms)} ago` : "-");
  return cells;
}

function header(options: { all?: boolean }): string[] {
  return options.all ? ["NAME", "STATUS", "PID", "AGE", "LAST ACTIVITY", "MODEL", "SOCKET"] : ["NAME", "STATUS", "PID", "AGE", "MODEL", "SOCKET"];
}

/** The `--json` object of a pod: `{name, state, ...status.json}`; a stopped pod: `{name, state, model, cwd, session_id, segment_id, parent_socket?, last_activity_ms}`. */
function podJson(pod: PodListing, options: { all?: boolean }): Record<string, unknown> {
  if (pod.state === "stopped") {
    const metadata = pod.stopped?.metadata;
    return {
      name: pod.name,
      state: pod.state,
      model: metadata?.model,
      cwd: metadata?.cwd,
      session_id: metadata?.session_id,
      segment_id: metadata?.segment_id,
      parent_socket: metadata?.parent_socket,
      last_activity_ms: pod.stopped?.lastActivityMs,
    };
  }
  const json: Record<string, unknown> = { name: pod.name, state: pod.state, ...pod.status };
  if (options.all && pod.status) json.last_activity_ms = pod.status.updated_at_ms;
  return json;
}

/**
 * `podd ls [--tree] [--all] [--json]`: every pod with a runtime dir: name, status (or `dead` for
 * one left by a killed pod), pid, age, model, socket. `--all` adds the stopped pods (a data dir
 * under `$PODD_HOME/pods`, no runtime dir) with status `stopped` and their model spec, and a
 * LAST ACTIVITY column (a live pod: its last status change; a stopped pod: its session's last
 * write). `--json`: an array of `{name, state, ...status.json}` (a child's `parent_socket`
 * included); with `--all` each also has `last_activity_ms` (ms since the epoch), and a stopped
 * pod is `{name, state: "stopped", model, cwd, session_id, segment_id, parent_socket?,
 * last_activity_ms}`.
 *
 * `--tree`: children indented under their parent (the running pod whose socket is their
 * `parent_socket`; see buildPodTree); a pod whose parent is not running is a root, its socket
 * followed by `(parent <socket> not running)`. With `--all`, a pod whose parent is not running
 * is placed under that parent's stopped (or dead) row instead. `--tree --json`: an array of the
 * roots, each `{<the --json object>, children: [<same shape>…], detached?: {reason:
 * "parent_not_running" | "parent_cycle", parent_socket}}`.
 */
export function lsCommand(options: { json?: boolean; tree?: boolean; all?: boolean }): void {
  const pods = options.all ? listAllPods(poddPaths()) : listPods(poddPaths());
  if (options.tree) return lsTree(pods, options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(pods.map((pod) => podJson(pod, options)))}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stdout.write(options.all ? "no pods\n" : noLivePods());
    return;
  }
  process.stdout.write(table([header(options), ...pods.map((pod) => row(pod, options))]));
}

/** `no pods`, and how many stopped pods `--all` would show. */
function noLivePods(): string {
  const stopped = listStoppedPods(poddPaths()).length;
  return stopped === 0 ? "no pods\n" : `no running pods (${stopped} stopped: podd ls --all)\n`;
}

interface PodTreeJson extends Record<string, unknown> {
  name: string;
  state: PodListing["state"];
  children: PodTreeJson[];
  detached?: { reason: string; parent_socket: string };
}

function treeJson(node: PodTreeNode, options: { all?: boolean }): PodTreeJson {
  const json: PodTreeJson = { ...podJson(node.listing, options), name: node.listing.name, state: node.listing.state, children: node.children.map((child) => treeJson(child, options)) };
  if (node.detached) json.detached = { reason: node.detached.reason, parent_socket: node.detached.parentSocket };
  return json;
}

/** The name cell of a tree row: guide lines like `tree(1)`, `├─ child`, `│  └─ grandchild`. */
function treeName({ node, depth, isLastChild, ancestorsLast }: PodTreeRow): string {
  if (depth === 0) return node.listing.name;
  const guides = ancestorsLast.map((isLast) => (isLast ? "   " : "│  ")).join("");
  return `${guides}${isLastChild ? "└─ " : "├─ "}${node.listing.name}`;
}

function detachedNote(node: PodTreeNode): string {
  if (!node.detached) return "";
  const { reason, parentSocket } = node.detached;
  return reason === "parent_cycle" ? `  (parent ${parentSocket}: a cycle of parents)` : `  (parent ${parentSocket} not running)`;
}

function lsTree(pods: PodListing[], options: { json?: boolean; all?: boolean }): void {
  const roots = buildPodTree(pods, { adoptByNotRunning: options.all });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(roots.map((root) => treeJson(root, options)))}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stdout.write(options.all ? "no pods\n" : noLivePods());
    return;
  }
  const socketColumn = options.all ? 6 : 5;
  const rows = flattenPodTree(roots).map((treeRow) => {
    const cells = row(treeRow.node.listing, options);
    cells[0] = treeName(treeRow);
    cells[socketColumn] = `${cells[socketColumn] ?? "-"}${detachedNote(treeRow.node)}`;
    return cells;
  });
  process.stdout.write(table([header(options), ...rows]));
}

/** A pod's saved settings as `podd status --json` shows them (from its metadata.json). */
export interface SavedSettings {
  /** The `--model` spec, and `--base-url` if any. */
  model: string;
  base_url?: string;
  cwd: string;
  bash: boolean;
  /** `allow|deny <tool>[:<glob>]`, first match wins. */
  tool_rules: string[];
  scope: PodMetadata["scope"];
  max_turns?: number;
  /** Share of the context window that triggers compaction (0: off). */
  compact_at?: number;
  /** ms. */
  compact_timeout_ms?: number;
  /** The saved `--instructions`: size in bytes and source (a file path or `"text"`); null when none. */
  instructions: { bytes: number; source: string } | null;
  /** The AGENTS.md loaded at the last start; null when there was none. */
  agents_md: { path: string; bytes: number } | null;
}

/** The pod's metadata.json (a name podd refuses has none). */
function readPodMetadataOf(name: string): ReturnType<typeof readPodMetadata> {
  try {
    return readPodMetadata(podPaths(poddPaths(), name).dataDir);
  } catch {
    return {};
  }
}

function savedSettings(metadata: PodMetadata): SavedSettings {
  return {
    model: metadata.model,
    base_url: metadata.base_url,
    cwd: metadata.cwd,
    bash: metadata.bash,
    tool_rules: metadata.permissions,
    scope: metadata.scope,
    max_turns: metadata.max_turns_per_run,
    compact_at: metadata.compact_at,
    compact_timeout_ms: metadata.compact_timeout_ms,
    instructions:
      metadata.instructions === undefined ? null : { bytes: Buffer.byteLength(metadata.instructions), source: metadata.instructions_source ?? "text" },
    agents_md: metadata.agents_md ?? null,
  };
}

/** The settings block of `podd status`: one `key value` pair a line. */
function settingsLines(settings: SavedSettings, provider: string, model: string): string[][] {
  const scope = [
    ...settings.scope.allow.map((rule) => `allow-${rule.permission} ${rule.target}`),
    ...settings.scope.deny.map((rule) => `deny-${rule.permission} ${rule.target}`),
  ];
  const compaction =
    settings.compact_at === undefined ? "default" : settings.compact_at === 0 ? "off" : `at ${settings.compact_at} of the context window`;
  const instructions = settings.instructions
    ? `${formatBytes(settings.instructions.bytes)} ${settings.instructions.source === "text" ? "of text" : `from ${settings.instructions.source}`}`
    : "none";
  return [
    ["model", `${modelText({ spec: settings.model, provider, model })}${settings.base_url ? ` --base-url ${settings.base_url}` : ""}`],
    ["cwd", settings.cwd],
    ["bash", settings.bash ? "on" : "off (--no-bash)"],
    ["tool rules", settings.tool_rules.length > 0 ? settings.tool_rules.join("; ") : "none"],
    ["scope rules", scope.length > 0 ? scope.join("; ") : "none (the cwd, read+write)"],
    ["max turns", String(settings.max_turns ?? "default")],
    ["compaction", `${compaction}${settings.compact_timeout_ms === undefined ? "" : `, summary timeout ${settings.compact_timeout_ms} ms`}`],
    ["instructions", instructions],
    ["AGENTS.md", settings.agents_md ? `${settings.agents_md.path} (${formatBytes(settings.agents_md.bytes)}, read at start)` : "none"],
  ];
}

/** `fs connected (14 tools), gh failed: it did not start within 15000 ms`, or `none`. */
function mcpText(servers: readonly McpServerStatus[]): string {
  if (servers.length === 0) return "none";
  return servers
    .map((server) => `${server.name} ${server.state}${server.state === "connected" ? ` (${server.tools} tool${server.tools === 1 ? "" : "s"})` : ""}${server.error && server.state !== "connected" ? `: ${server.error}` : ""}`)
    .join(", ");
}

const statusText = (rows: string[][], width: number, indent = ""): string => rows.map(([key, value]) => `${indent}${(key ?? "").padEnd(width)} ${value}`).join("\n") + "\n";

/**
 * `podd status [pod]`: one running pod's live state from its greeting and status, and its saved
 * settings (from its metadata.json: what `podd start <pod>` restores); without a pod, like
 * `podd ls`. `--json`: `{...status.json, status, greeting, entries, settings: SavedSettings | null}`.
 * A pod that is not running but has saved settings (stopped, or its process exited) prints
 * `status stopped` and them (`--json`: `{name, status: "stopped", settings}`), then exits 1 with
 * the not-running message, so scripts still see that it is not running.
 */
export async function statusCommand(name: string | undefined, options: { json?: boolean }): Promise<void> {
  if (!name) return lsCommand(options);
  const pod = listPods(poddPaths()).find((listing) => listing.name === name);
  if (!pod?.status || pod.state !== "alive") {
    const { metadata } = readPodMetadataOf(name);
    if (metadata) {
      const settings = savedSettings(metadata);
      if (options.json) process.stdout.write(`${JSON.stringify({ name, status: "stopped", settings })}\n`);
      else {
        process.stdout.write(statusText([["pod", name], ["status", "stopped"]], 8));
        process.stdout.write(`saved settings (podd start ${name} restores them):\n`);
        process.stdout.write(statusText(settingsLines(settings, "", ""), 12, "  "));
      }
    }
    throw new CliError(notRunningMessage(name));
  }
  const client = await PodClient.connect(pod.status.socket);
  const snapshot = await client.waitFor("snapshot");
  await client.close();
  const { greeting, status, entries } = snapshot.data;
  const { metadata } = readPodMetadataOf(name);
  const settings = metadata ? savedSettings(metadata) : null;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...pod.status, status, greeting, entries: entries.length, settings })}\n`);
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
  if (pod.status.mcp) lines.push(["mcp", mcpText(pod.status.mcp)]);
  process.stdout.write(statusText(lines, 8));
  if (settings) {
    process.stdout.write(`saved settings (podd start ${name} restores them):\n`);
    process.stdout.write(statusText(settingsLines(settings, greeting.provider, greeting.model), 12, "  "));
  }
}
