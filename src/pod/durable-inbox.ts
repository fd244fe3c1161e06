/**
 * The durable inbox as the controller writes it: `<home>/pods/<name>/inbox.jsonl` through the
 * deps' InboxStore — one line appended per queued notification before it is acknowledged, the
 * whole file rewritten once drained items are in the session log. It owns what a failed write
 * means for the file (docs/reliability.md, "Disk faults"); the queue itself is
 * NotificationInbox, and refusing or acking a sender is the controller's.
 *
 * A failed append is reported to the caller (the notification is then refused: a child
 * retries its report) and alerted once; a failed rewrite is alerted once and remembered: the
 * file still lists items the model already has until a later write rewrites it whole.
 */
import { describeIoError } from "../errors.js";
import type { InboxStore } from "./controller-deps.js";
import type { InboxItem } from "./notification-inbox.js";
import type { WriteFaults } from "./write-faults.js";

export class DurableInbox {
  private readonly store: InboxStore | undefined;
  private readonly faults: WriteFaults;
  /** The last rewrite failed: the file lists items that were drained since. */
  private stale = false;
  private lastFailure = "";

  constructor(store: InboxStore | undefined, faults: WriteFaults) {
    this.store = store;
    this.faults = faults;
  }

  /** Why the last write failed, e.g. `no space left on device (ENOSPC)`. */
  get failure(): string {
    return this.lastFailure;
  }

  /**
   * Save `item`, queued after `queued` (the items queued already). False, alerted once, when
   * the file cannot be written. A stale file is rewritten whole instead of appended to.
   */
  add(item: InboxItem, queued: readonly InboxItem[]): boolean {
    const store = this.store;
    if (!store) return true;
    try {
      if (this.stale) store.replace([...queued, item]);
      else store.append(item);
    } catch (error) {
      this.failed(error, "notify and child reports are refused until it can be written (a child retries its report)");
      return false;
    }
    this.wrote();
    return true;
  }

  /** Rewrite the file with the items queued now (after a drain or requeue); a failure is alerted and remembered. */
  rewrite(items: readonly InboxItem[]): void {
    const store = this.store;
    if (!store) return;
    try {
      store.replace(items);
    } catch (error) {
      this.stale = true;
      this.failed(error, "it still lists notifications the model already has (a restart now would give them again)");
      return;
    }
    this.wrote();
  }

  /** Rewrite the file if the last rewrite failed. */
  catchUp(items: readonly InboxItem[]): void {
    if (this.stale) this.rewrite(items);
  }

  private failed(error: unknown, consequence: string): void {
    this.lastFailure = describeIoError(error);
    this.faults.failed("inbox", `pod: cannot write the notification inbox ${this.store?.file ?? ""}: ${this.lastFailure}; ${consequence}`);
  }

  private wrote(): void {
    this.stale = false;
    this.faults.succeeded("inbox", () => `pod: the notification inbox ${this.store?.file ?? ""} can be written again`);
  }
}
