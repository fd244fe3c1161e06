/**
 * The notification inbox: one FIFO for `notify` messages and child PodEvents, drained before
 * every model request into system items (behaviour.md, Notifications). Items queued with
 * `wake: false` wait for the next model request without starting a turn themselves.
 */
import { describePodEvent, type PodEvent, type SystemItem } from "../../protocol/index.js";

export type InboxItem =
  | { kind: "notify"; message: string; wake: boolean }
  | { kind: "pod_event"; event: PodEvent };

/** The reference's wrapper around a notification, verbatim. */
export function notificationBody(message: string): string {
  return (
    `[Notification]\n${message}\n\n` +
    "This is a notification, not a blocking request. If you are in the middle of a task, " +
    "continue your current work and address this at a natural stopping point."
  );
}

/** The system item (with the exact text the model sees) for an inbox item. */
export function toSystemItem(item: InboxItem): SystemItem {
  if (item.kind === "notify") return { kind: "notification", message: item.message, body: notificationBody(item.message) };
  return { kind: "pod_event", event: item.event, body: notificationBody(describePodEvent(item.event)) };
}

/** Most items (notifications and pod events) queued at once; past it a new one is refused. */
export const MAX_QUEUED_NOTIFICATIONS = 10_000;
/** Most characters of notify messages queued at once; past it a new notify is refused. */
export const MAX_QUEUED_NOTIFICATION_CHARS = 16 * 1024 * 1024;

export class NotificationInbox {
  private queue: InboxItem[] = [];
  private chars = 0;

  /** Why `item` cannot be queued now, or undefined when it can. */
  refusal(item: InboxItem): string | undefined {
    if (this.queue.length >= MAX_QUEUED_NOTIFICATIONS) return `the notification inbox is full (${this.queue.length} queued); wait for the pod to take them`;
    if (item.kind === "notify" && this.chars + item.message.length > MAX_QUEUED_NOTIFICATION_CHARS) {
      return `the notification inbox is full (${this.chars} characters queued); wait for the pod to take them`;
    }
    return undefined;
  }

  push(item: InboxItem): void {
    this.queue.push(item);
    if (item.kind === "notify") this.chars += item.message.length;
  }

  /** Take every queued item, oldest first. */
  drain(): InboxItem[] {
    const drained = this.queue;
    this.queue = [];
    this.chars = 0;
    return drained;
  }

  /** Put items back at the front, in their order (a rolled-back turn loses nothing). */
  requeue(items: readonly InboxItem[]): void {
    this.queue = [...items, ...this.queue];
    for (const item of items) if (item.kind === "notify") this.chars += item.message.length;
  }

  /** The invoke kind of the oldest item that should start a turn by itself, if any. */
  get firstWakingKind(): "notify" | "pod_event" | undefined {
    const item = this.queue.find((queued) => queued.kind === "pod_event" || queued.wake);
    return item?.kind;
  }

  get size(): number {
    return this.queue.length;
  }

  /** The queued items, oldest first (for the durable inbox). */
  get items(): readonly InboxItem[] {
    return this.queue;
  }
}
