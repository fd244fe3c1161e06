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

/** Most `notify` messages queued at once; a notify past it is refused (pod events are always taken). */
export const MAX_QUEUED_NOTIFICATIONS = 10_000;

export class NotificationInbox {
  private items: InboxItem[] = [];

  /** Whether another `notify` may be queued. */
  get acceptsNotify(): boolean {
    return this.items.length < MAX_QUEUED_NOTIFICATIONS;
  }

  push(item: InboxItem): void {
    this.items.push(item);
  }

  /** Take every queued item, oldest first. */
  drain(): InboxItem[] {
    const drained = this.items;
    this.items = [];
    return drained;
  }

  /** Put items back at the front, in their order (a rolled-back turn loses nothing). */
  requeue(items: readonly InboxItem[]): void {
    this.items = [...items, ...this.items];
  }

  /** Whether any queued item should start a turn by itself. */
  get hasWakingItem(): boolean {
    return this.items.some((item) => item.kind === "pod_event" || item.wake);
  }

  get size(): number {
    return this.items.length;
  }
}
