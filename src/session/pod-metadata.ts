/**
 * A pod's durable metadata, `<home>/pods/<name>/metadata.json` (written atomically): which
 * session and segment it is on and how it was configured, so `podd start <name>` restores
 * it. Not a wire shape; this module writes it and locks sessions, src/client/pod-metadata-file.ts
 * reads it. Counters (turn, model call) are not stored: they are derived from
 * the segment's entries.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { isProcessAlive } from "../client/pod-directory.js";
import { ensurePrivateDir, SESSION_DIR } from "../config/private-dir.js";
import { metadataFile, type PodMetadata } from "../client/pod-metadata-file.js";

// The read side lives with the clients (they find a pod's session through it); re-exported here for the daemon.
export { metadataFile, readPodMetadata, type PodMetadata } from "../client/pod-metadata-file.js";

export function writePodMetadata(dataDir: string, metadata: PodMetadata): void {
  writeFileAtomic.sync(metadataFile(dataDir), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Take `<sessionDir>/owner.json` for this process: refuses (throws an Error naming the owner)
 * when another live process holds the session; a stale owner (dead pid) is replaced. The dir is
 * made (0700) if missing; one that is not this user's private dir (a symlink, another uid's,
 * open to others) is refused with PoddError(invalid_request) (src/config/private-dir.ts).
 * Returns a function that releases it.
 */
export function lockSession(sessionDir: string, podName: string): () => void {
  const file = path.join(sessionDir, "owner.json");
  ensurePrivateDir(sessionDir, SESSION_DIR);
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
