/**
 * Write faults: which of a pod's files cannot be written right now (the disk is full,
 * read-only or gone), so that each fault reaches clients once — one `alert{level:"error"}`
 * when writes to a file start failing, one `alert{level:"warn"}` when they work again —
 * however many writes fail in between (docs/reliability.md, "Disk faults"). It owns only that
 * memory; what a failed write means (a stopped run, a refused notify, a stale status.json) is
 * decided by the code that writes.
 *
 * Alerts use the existing wire shape only: level `error` / `warn`, source `worker`, and a
 * message that starts with the subsystem (`session: …`, `pod: …`).
 */
import type { AlertLevel } from "../../protocol/index.js";

/** The files a pod writes while it runs, each tracked on its own. */
export type WriteTarget = "session log" | "inbox" | "status.json" | "pod.log";

export class WriteFaults {
  private readonly failing = new Set<WriteTarget>();
  private readonly raise: (level: AlertLevel, message: string) => void;

  /** `raise` sends an alert to every client (the controller's `alert`). */
  constructor(raise: (level: AlertLevel, message: string) => void) {
    this.raise = raise;
  }

  /**
   * A write to `target` failed. The first failure since `target` last worked raises
   * `alert{error, message}` and returns true; later ones return false and raise nothing.
   */
  failed(target: WriteTarget, message: string): boolean {
    if (this.failing.has(target)) return false;
    this.failing.add(target);
    this.raise("error", message);
    return true;
  }

  /** A write to `target` worked: if it was failing, raise `alert{warn, message}` (built only then). */
  succeeded(target: WriteTarget, message: () => string): void {
    if (!this.failing.delete(target)) return;
    this.raise("warn", message());
  }

  /** Whether the last write to `target` failed. */
  isFailing(target: WriteTarget): boolean {
    return this.failing.has(target);
  }
}
