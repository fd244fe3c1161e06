/**
 * Report dedup: which child reports (PodEvents with a `report_id`) this pod has already taken,
 * so a report its child sends again — a retry after a lost ack, or after the parent was down —
 * is queued for the model once (behaviour.md, Upward reports; "Beyond the reference:
 * at-least-once"). It owns only that memory: acking, queueing and waking stay with the
 * controller.
 *
 * The memory is bounded (the oldest keys are forgotten first) and lives in this process; a
 * restarted pod seeds it with the reports in its active segment and its restored inbox
 * (PodController), so a report taken just before a crash is recognised when the child sends it
 * again (reports only in an older, compacted segment are not). A report without `report_id` (a
 * reference child, a hand-written `pod_event`) is always taken.
 */
import type { PodEvent } from "../../protocol/index.js";

/** Most report keys remembered; past it the oldest is forgotten. */
export const DEFAULT_MAX_REMEMBERED_REPORTS = 1024;

/** The pod that sent a report: `pod_name`, or `parent_pod` for a scope_sub_delegated relay. */
export function reportSender(event: PodEvent): string {
  return event.kind === "scope_sub_delegated" ? event.parent_pod : event.pod_name;
}

export class ReportDedup {
  readonly maxEntries: number;
  /** Insertion-ordered, so the first key is the oldest. */
  private readonly keys = new Set<string>();

  constructor(options: { maxEntries?: number } = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_REMEMBERED_REPORTS);
  }

  /**
   * Whether `event` is the first copy of its report this pod takes; remembers it. Always true
   * for an event without `report_id`. The key is the sender and the `report_id` (two children
   * may choose the same id).
   */
  firstTime(event: PodEvent): boolean {
    if (event.report_id === undefined) return true;
    const key = JSON.stringify([reportSender(event), event.report_id]);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.maxEntries) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }

  /** Whether `event` was taken before (without remembering it). False for an event without `report_id`. */
  seen(event: PodEvent): boolean {
    return event.report_id !== undefined && this.keys.has(JSON.stringify([reportSender(event), event.report_id]));
  }

  /** Report keys remembered now (at most `maxEntries`). */
  get size(): number {
    return this.keys.size;
  }
}
