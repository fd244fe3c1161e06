/**
 * A pod's runtime dir, `<runtime>/<name>/` (mode 0700): `pid`, `status.json` (written
 * atomically, latest state wins) and the socket `sock` (bound by ipc/). Removed when the
 * pod exits cleanly; a dir left by a killed pod is reused by the next start. Both it and
 * `<runtime>/` must be private dirs of this user (src/config/private-dir.ts): a symlink, a dir
 * of another uid or one open to group or others is refused, never followed or repaired.
 *
 * Write faults (docs/reliability.md, "Disk faults"): `pid` and the first status.json are
 * written at start, and a start that cannot write them fails. Later status.json writes that
 * fail (a full or read-only runtime dir) are reported once through `onWriteFailed` and
 * retried — every `retryBaseDelayMs` (100 ms) doubling up to `retryMaxDelayMs` (5 s) — until
 * the latest state is on disk, then `onWriteRecovered` is called; the pod itself goes on.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { PodStatusFile } from "../config/pod-status-file.js";
import type { PodPaths } from "../config/paths.js";
import { ensurePrivateDir, POD_RUNTIME_DIR, RUNTIME_DIR } from "../config/private-dir.js";
import { describeIoError } from "../errors.js";

/** First wait before a failed status.json write is tried again, ms; doubled up to RETRY_MAX_DELAY_MS. */
export const STATUS_RETRY_BASE_DELAY_MS = 100;
/** Longest wait between status.json retries, ms. */
export const STATUS_RETRY_MAX_DELAY_MS = 5_000;

export interface RuntimeDirOptions {
  /** A status.json write failed (called for every failed attempt; `error` is the I/O error). */
  onWriteFailed?(error: unknown): void;
  /** status.json holds the latest state again after failed writes. */
  onWriteRecovered?(): void;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

export class RuntimeDir {
  readonly paths: PodPaths;
  private current: PodStatusFile | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private readonly options: RuntimeDirOptions;
  /** Set while status.json is behind the latest state because writes fail. */
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private failing = false;
  private removed = false;

  constructor(paths: PodPaths, options: RuntimeDirOptions = {}) {
    this.paths = paths;
    this.options = options;
    this.retryDelayMs = options.retryBaseDelayMs ?? STATUS_RETRY_BASE_DELAY_MS;
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

  /**
   * Write `pid` and the first status.json — after the socket is bound (the name is ours).
   * Rejects with an Error naming the file and the cause when either cannot be written.
   */
  async publish(status: PodStatusFile): Promise<void> {
    try {
      writeFileAtomic.sync(this.paths.pidFile, `${status.pid}\n`, { mode: 0o600, fsync: false });
      this.current = status;
      await this.write();
    } catch (error) {
      throw new Error(`cannot write the pod's runtime dir ${this.paths.runtimeDir}: ${describeIoError(error)}`, { cause: error });
    }
  }

  /**
   * Record a new status or active segment; writes are coalesced so status.json always ends at
   * the latest state. Resolves once that state is written, or once an attempt failed (it is
   * then retried in the background); never rejects.
   */
  update(patch: Partial<Pick<PodStatusFile, "status" | "segment_id" | "mcp">>, now: number): Promise<void> {
    if (!this.current) return Promise.resolve();
    this.current = { ...this.current, ...patch, updated_at_ms: now };
    return this.flush();
  }

  /** Whether status.json is behind the pod's state (its last write failed). */
  get isStale(): boolean {
    return this.failing;
  }

  private flush(): Promise<void> {
    if (this.writing) {
      this.dirty = true;
      return this.writing;
    }
    this.writing = this.write()
      .then(
        () => this.wrote(),
        (error: unknown) => this.writeFailed(error),
      )
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }

  /** Write the latest state, again while it changed meanwhile. Rejects on an I/O error. */
  private async write(): Promise<void> {
    do {
      this.dirty = false;
      // Atomic (rename) but not fsynced: runtime state, rewritten on every status change and gone on reboot.
      await writeFileAtomic(this.paths.statusFile, `${JSON.stringify(this.current, null, 2)}\n`, { mode: 0o600, fsync: false });
    } while (this.dirty);
  }

  private wrote(): void {
    this.retryDelayMs = this.options.retryBaseDelayMs ?? STATUS_RETRY_BASE_DELAY_MS;
    if (!this.failing) return;
    this.failing = false;
    this.options.onWriteRecovered?.();
  }

  private writeFailed(error: unknown): void {
    this.failing = true;
    this.options.onWriteFailed?.(error);
    if (this.retryTimer || this.removed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.removed) void this.flush();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.retryMaxDelayMs ?? STATUS_RETRY_MAX_DELAY_MS);
  }

  /** Remove pid, status.json and the dir (the socket is unlinked by its server). Throws when the dir cannot be removed. */
  async remove(): Promise<void> {
    this.removed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.writing?.catch(() => undefined);
    fs.rmSync(this.paths.runtimeDir, { recursive: true, force: true });
  }
}
