/**
 * The controller's ports: the one dependency object it is built with (`ControllerDeps`, wired
 * in src/daemon.ts, faked in tests), the stores and discovery it reaches through it, who a
 * method came from (`Requester`), and what a snapshot hands to a new connection
 * (`SnapshotData`). Types and two small reply helpers only; the actor is src/pod/controller.ts.
 */
import type { Logger } from "pino";
import type { ErrorCode, Event, Greeting, InFlightTurn, LogEntry, Method, PodEvent, PodStatus, RequestId } from "../../protocol/index.js";
import type { TurnLoopConfig } from "../agent/drive-turns.js";
import type { SessionLog } from "../session/session-log.js";
import type { InboxItem } from "./notification-inbox.js";
import type { UpwardReporter } from "./upward-reports.js";
import type { WriteFaults } from "./write-faults.js";

/** Who sent a method: where its errors and replies go. */
export interface Requester {
  readonly id?: RequestId;
  reply(event: Event): void;
}

/** A requester for methods the pod gives itself (signals): replies are dropped. */
export const INTERNAL_REQUESTER: Requester = { reply: () => undefined };

/** Send `error{code, message}` to the method's sender only (`reply_to` its id, if it sent one). */
export function replyError(requester: Requester, code: ErrorCode, message: string): void {
  requester.reply({ event: "error", data: { code, message }, reply_to: requester.id });
}

/** Send `ack{method}` to a sender that gave an `id` (a podd extension; reference clients send none and get none). */
export function replyAck(requester: Requester, method: Method): void {
  if (requester.id !== undefined) requester.reply({ event: "ack", data: { method: method.method }, reply_to: requester.id });
}

export interface ControllerDeps {
  podName: string;
  cwd: string;
  log: SessionLog;
  loop: TurnLoopConfig;
  reporter: UpwardReporter;
  logger: Logger;
  now(): number;
  /** Called on every status change (status.json). */
  onStatus(status: PodStatus): void;
  /** Most alerts kept for replay to new connections. */
  maxAlerts?: number;
  /** Tells clients once per fault that a file cannot be written (shared with the daemon's status.json and pod.log); default: one of the controller's own. */
  writeFaults?: WriteFaults;
  /** The greeting sent in every snapshot; `context_tokens` is kept up to date from usage. */
  greeting: Greeting;
  /** Notifications queued before a restart (the durable inbox). */
  initialInbox?: InboxItem[];
  /** Keeps the queued notifications on disk (src/pod/durable-inbox.ts). */
  inboxStore?: InboxStore;
  /** New segments of the session (compaction); without it `compact` is refused. */
  segments?: SegmentStore;
  /** Automatic compaction: at `threshold` × the context window before a run (0: never); the summary's time limit. */
  compaction?: { threshold: number; timeoutMs: number };
  /** Compact before taking any work (a fork made with compaction). */
  compactOnStart?: boolean;
  /** The pod's children for discovery (list_visible_pods, inspect_pod, attach_or_restore_pod). */
  discovery?: PodDiscovery;
  /** Forward a cancel to the children (`cancel{cascade:true}`). */
  cancelChildren?(): void;
  /** Side effects of a child's report, applied when it is received (before it is queued): the child registry. */
  onPodEvent?(event: PodEvent): void;
}

/**
 * The durable inbox file (`file`, for messages): `append` one item as it is queued, `replace`
 * all after a drain or requeue. Both throw on an I/O error (a full or read-only disk).
 */
export interface InboxStore {
  file: string;
  append(item: InboxItem): void;
  replace(items: readonly InboxItem[]): void;
}

/** The pod's children as discovery sees them (the supervisor, src/spawn/supervisor.ts). */
export interface PodDiscovery {
  /** The children's names. */
  names(): string[];
  /** One child's description for `visible_pods` / `pod_inspection`; undefined if there is no such child. */
  describe(name: string): Record<string, unknown> | undefined;
  /** Attach to a running child or restore a stopped one; rejects with an Error whose message the requester gets. */
  attachOrRestore(name: string): Promise<Record<string, unknown>>;
}

/** Where a compaction's new segment is made and how it becomes the pod's active one. */
export interface SegmentStore {
  /** A new segment of the session, its `segment_start` naming `compactedFrom`. */
  create(compactedFrom: string): SessionLog;
  /** Make `log` the pod's active segment (metadata.json); it is complete and fsynced. */
  activate(log: SessionLog): void;
  /** Remove a segment that never became active. */
  discard(log: SessionLog): void;
}

/** What a new connection's snapshot is built from: the current segment's entries, the greeting, status, the open model call. */
export interface SnapshotData {
  entries: readonly LogEntry[];
  greeting: Greeting;
  status: PodStatus;
  in_flight?: InFlightTurn;
}
