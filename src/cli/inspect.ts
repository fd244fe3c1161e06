/** Commands that look at pods without driving them: ls and status. */
import { PodClient } from "../client/pod-client.js";
import { listPods, type PodListing } from "../client/pod-directory.js";
import { buildPodTree, flattenPodTree, type PodTreeNode, type PodTreeRow } from "../client/pod-tree.js";
import { readPodMetadata, type PodMetadata } from "../client/pod-metadata-file.js";
import { podPaths } from "../config/paths.js";
import { formatBytes } from "../config/instructions.js";
import { modelText } from "./start.js";
import { CliError, formatAge, poddPaths, table } from "./targets.js";

function row(pod: PodListing): string[] {
  const status = pod.state === "alive" ? (pod.status?.status ?? "?") : "dead";
  return [pod.name, status, String(pod.status?.pid ?? "-"), pod.status ? formatAge(pod.status.started_at_ms) : "-", pod.status?.model ?? "-", pod.status?.socket ?? "-"];
}

const HEADER = ["NAME", "STATUS", "PID", "AGE", "MODEL", "SOCKET"];

/**
 * `podd ls [--tree] [--json]`: every pod with a runtime dir: name, status (or `dead` for one
 * left by a killed pod), pid, age, model, socket. `--json`: an array of
 * `{name, state, ...status.json}` (a child's `parent_socket` included).
 *
 * `--tree`: children indented under their parent (the running pod whose socket is their
 * `parent_socket`; see buildPodTree); a pod whose parent is not running is a root, its socket
 * followed by `(parent <socket> not running)`. `--tree --json`: an array of the roots, each
 * `{name, state, ...status.json, children: [<same shape>…], detached?: {reason:
 * "parent_not_running" | "parent_cycle", parent_socket}}`.
 */
export function lsCommand(options: { json?: boolean; tree?: boolean }): void {
  const pods = listPods(poddPaths());
  if (options.tree) return lsTree(pods, options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(pods.map((pod) => ({ name: pod.name, state: pod.state, ...pod.status })))}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stdout.write("no pods\n");
    return;
  }
  process.stdout.write(table([HEADER, ...pods.map(row)]));
}

interface PodTreeJson extends Record<string, unknown> {
  name: string;
  state: PodListing["state"];
  children: PodTreeJson[];
  detached?: { reason: string; parent_socket: string };
}

function treeJson(node: PodTreeNode): PodTreeJson {
  const json: PodTreeJson = { name: node.listing.name, state: node.listing.state, ...node.listing.status, children: node.children.map(treeJson) };
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

function lsTree(pods: PodListing[], options: { json?: boolean }): void {
  const roots = buildPodTree(pods);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(roots.map(treeJson))}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stdout.write("no pods\n");
    return;
  }
  const rows = flattenPodTree(roots).map((treeRow) => {
    const cells = row(treeRow.node.listing);
    cells[0] = treeName(treeRow);
    cells[5] = `${cells[5] ?? "-"}${detachedNote(treeRow.node)}`;
    return cells;
  });
  process.stdout.write(table([HEADER, ...rows]));
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

/**
 * `podd status [pod]`: one running pod's live state from its greeting and status, and its saved
 * settings (from its metadata.json: what `podd start <pod>` restores); without a pod, like
 * `podd ls`. `--json`: `{...status.json, status, greeting, entries, settings: SavedSettings | null}`.
 */
export async function statusCommand(name: string | undefined, options: { json?: boolean }): Promise<void> {
  if (!name) return lsCommand(options);
  const pod = listPods(poddPaths()).find((listing) => listing.name === name);
  if (!pod?.status) throw new CliError(`pod ${name} is not running`);
  if (pod.state === "dead") throw new CliError(`pod ${name} is not running (its runtime dir was left by pid ${pod.status.pid}, which has exited)`);
  const client = await PodClient.connect(pod.status.socket);
  const snapshot = await client.waitFor("snapshot");
  await client.close();
  const { greeting, status, entries } = snapshot.data;
  const { metadata } = readPodMetadata(podPaths(poddPaths(), name).dataDir);
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
  const text = (rows: string[][], width: number, indent = ""): string => rows.map(([key, value]) => `${indent}${(key ?? "").padEnd(width)} ${value}`).join("\n") + "\n";
  process.stdout.write(text(lines, 8));
  if (settings) {
    process.stdout.write(`saved settings (podd start ${name} restores them):\n`);
    process.stdout.write(text(settingsLines(settings, greeting.provider, greeting.model), 12, "  "));
  }
}
