/**
 * Reading a pod's durable metadata, `<home>/pods/<name>/metadata.json`: which session and
 * segment the pod is on and how it was configured. The read side lives here so that clients
 * (`podd history`, `podd export`, `podd sessions`) can find a pod's session without importing
 * the server side; writing it (atomically) and locking sessions stay in src/session/.
 * Not a wire shape.
 */
import fs from "node:fs";
import path from "node:path";
import type { ScopeRule } from "../../protocol/index.js";

export interface PodMetadata {
  pod_name: string;
  session_id: string;
  /** The active segment. */
  segment_id: string;
  cwd: string;
  /** The `--model` spec the pod runs on. */
  model: string;
  base_url?: string;
  scope: { allow: ScopeRule[]; deny: ScopeRule[] };
  bash: boolean;
  /** Permission rules from the command line, as `allow|deny <tool>[:<glob>]`. */
  permissions: string[];
  /** The system prompt of the last start (rebuilt at each start from the defaults, AGENTS.md and `instructions`). */
  system_prompt: string;
  /** `--instructions` (or spawn_pod's `instructions`): text added to the system prompt; absent when none. */
  instructions?: string;
  /** Where `instructions` came from: the absolute path of the file it was read from, or `"text"`. */
  instructions_source?: string;
  /** The `AGENTS.md` of the cwd loaded at the last start (path, size in bytes); absent when there was none. */
  agents_md?: { path: string; bytes: number };
  max_turns_per_run?: number;
  /** Only the scope rules given (the cwd not implicitly writable): a child pod's delegated scope. */
  scope_only?: boolean;
  /** Automatic compaction threshold, a share of the context window (0: off). */
  compact_at?: number;
  /** Time limit of a compaction's summary call, ms. */
  compact_timeout_ms?: number;
  /**
   * The parent pod's socket (absolute) when the pod was last started with `--parent` (a child
   * pod); absent for a pod a user started. A parent may reuse the name of a stopped child that
   * names its socket here (src/spawn/supervisor.ts, spawn).
   */
  parent_socket?: string;
  created_at_ms: number;
  updated_at_ms: number;
}

/** `<dataDir>/metadata.json`, where `dataDir` is a pod's `<home>/pods/<name>/`. */
export function metadataFile(dataDir: string): string {
  return path.join(dataDir, "metadata.json");
}

/**
 * The metadata of a pod: `{metadata}` when it has some; `{}` when it has none (never started,
 * or the file cannot be read); `{problem}` naming the file when it is there but not usable
 * (not JSON, or no `session_id` / `segment_id` strings). Never throws.
 */
export function readPodMetadata(dataDir: string): { metadata?: PodMetadata; problem?: string } {
  const file = metadataFile(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return {};
  }
  try {
    const metadata = JSON.parse(text) as PodMetadata;
    if (typeof metadata.session_id !== "string" || typeof metadata.segment_id !== "string") return { problem: `${file} has no session` };
    return { metadata };
  } catch (error) {
    return { problem: `${file} is not JSON: ${(error as Error).message}` };
  }
}
