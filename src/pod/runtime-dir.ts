/**
 * A pod's runtime dir, `<runtime>/<name>/` (mode 0700): `pid`, `status.json` (written
 * atomically, latest state wins) and the socket `sock` (bound by ipc/). Removed when the
 * pod exits cleanly; a dir left by a killed pod is reused by the next start. Both it and
 * `<runtime>/` must be private dirs of this user (src/config/private-dir.ts): a symlink, a dir
 * of another uid or one open to group or others is refused, never followed or repaired.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { PodStatus } from "../../protocol/index.js";
import type { PodStatusFile } from "../config/pod-status-file.js";
import type { PodPaths } from "../config/paths.js";
import { ensurePrivateDir, POD_RUNTIME_DIR, RUNTIME_DIR } from "../config/private-dir.js";

export class RuntimeDir {
  readonly paths: PodPaths;
  private current: PodStatusFile | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(paths: PodPaths) {
    this.paths = paths;
  }

  /**
   * Create `<runtime>/` and the pod's dir (0700, parents too) or check the ones found —
   * before the socket is bound. Throws PoddError(invalid_request) for a dir that is not
   * this user's private dir (see the module comment).
   */
  prepare(): void {
    ensurePrivateDir(path.dirname(this.paths.runtimeDir), RUNTIME_DIR);
    ensurePrivateDir(this.paths.runtimeDir, POD_RUNTIME_DIR);
  }

  /** Write `pid` and the first status.json — after the socket is bound (the name is ours). */
  async publish(status: PodStatusFile): Promise<void> {
    writeFileAtomic.sync(this.paths.pidFile, `${status.pid}\n`, { mode: 0o600, fsync: false });
    this.current = status;
    await this.flush();
  }

  /** Record a new status or active segment; writes are coalesced so status.json always ends at the latest state. */
  update(patch: { status?: PodStatus; segment_id?: string }, now: number): Promise<void> {
    if (!this.current) return Promise.resolve();
    this.current = { ...this.current, ...patch, updated_at_ms: now };
    return this.flush();
  }

  private flush(): Promise<void> {
    if (this.writing) {
      this.dirty = true;
      return this.writing;
    }
    const write = async (): Promise<void> => {
      do {
        this.dirty = false;
        // Atomic (rename) but not fsynced: runtime state, rewritten on every status change and gone on reboot.
        await writeFileAtomic(this.paths.statusFile, `${JSON.stringify(this.current, null, 2)}\n`, { mode: 0o600, fsync: false });
      } while (this.dirty);
    };
    this.writing = write().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  /** Remove pid, status.json and the dir (the socket is unlinked by its server). */
  async remove(): Promise<void> {
    await this.writing?.catch(() => undefined);
    fs.rmSync(this.paths.runtimeDir, { recursive: true, force: true });
  }
}
