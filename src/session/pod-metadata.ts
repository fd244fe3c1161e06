/**
 * A pod's durable metadata, `<home>/pods/<name>/metadata.json` (written atomically): which
 * session and segment it is on and how it was configured, so `podd start <name>` restores
 * it. Not a wire shape. Counters (turn, model call) are not stored: they are derived from
 * the segment's entries.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { ScopeRule } from "../../protocol/index.js";
import { isProcessAlive } from "../client/pod-directory.js";

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
  system_prompt: string;
  max_turns_per_run?: number;
  created_at_ms: number;
  updated_at_ms: number;
}

export function metadataFile(dataDir: string): string {
  return path.join(dataDir, "metadata.json");
}

/** The metadata of a pod, or undefined when it has none (never started, or unreadable: reported by `problem`). */
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

export function writePodMetadata(dataDir: string, metadata: PodMetadata): void {
  writeFileAtomic.sync(metadataFile(dataDir), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Take `<sessionDir>/owner.json` for this process: refuses (throws an Error naming the owner)
 * when another live process holds the session; a stale owner (dead pid) is replaced.
 * Returns a function that releases it.
 */
export function lockSession(sessionDir: string, podName: string): () => void {
  const file = path.join(sessionDir, "owner.json");
  fs.mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, pod_name: podName }), { flag: "wx", mode: 0o600 });
      return () => {
        try {
          const owner = JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number };
          if (owner.pid === process.pid) fs.rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let owner: { pid?: number; pod_name?: string } = {};
      try {
        owner = JSON.parse(fs.readFileSync(file, "utf8")) as typeof owner;
      } catch {
        // unreadable: treat as stale
      }
      if (owner.pid !== undefined && owner.pid !== process.pid && isProcessAlive(owner.pid)) {
        throw new Error(`session ${path.basename(sessionDir)} is open in pod ${owner.pod_name ?? "?"} (pid ${owner.pid}); a session is opened by one live pod at a time`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot lock session ${sessionDir}`);
}
