/**
 * The pod controller: the actor that owns all of a pod's state (status, the staged run, the
 * notification inbox, the session log, the turn counters) and the one place that drives turns.
 *
 * Methods from every connection go into one mailbox, and so does the end of a run: a single
 * consumer takes them in order. A method handler only validates, updates state and *stages*
 * a run (`run`, `resume`, or a run for notifications); the loop's top is the one place that
 * flips status to running and starts the run, and a `run_done` message is the one place that
 * ends it (behaviour.md, The actor; the reference's `controller_loop` / `drive_turn`).
 *
 * Output: `subscribe` listeners get every broadcast event, in one order; a method's errors
 * and replies go to its `Requester` only. This module knows nothing of sockets. Not here: the
 * deps and port types (controller-deps.ts), the read-only queries (answer-query.ts), the
 * summary call and the writing of a compacted segment (compaction.ts).
 */
import {
  ALERT_SOURCE_OF,
  type Alert,
  type AlertLevel,
  type AlertSubsystem,
  type ErrorCode,
  type Event,
  type Greeting,
  type InFlightTurn,
  type InvokeKind,
  type LogEntry,
  type Method,
  type PodEvent,
  type PodStatus,
  type RunResult,
} from "../../protocol/index.js";
import { driveTurns, type TurnLoopIo } from "../agent/drive-turns.js";
import { wireId } from "../config/ids.js";
import { AbortedError, toWireError } from "../errors.js";
import type { ModelMessage } from "../model/types.js";
import { applyEntry, toModelMessages, unansweredToolCalls } from "../session/model-messages.js";
import { SessionWriteError, type SessionLog } from "../session/session-log.js";
import { answerQuery, type QueryContext } from "./answer-query.js";
import { DEFAULT_COMPACT_TIMEOUT_MS, writeCompactedSegment, writeSummary, type SummaryResult } from "./compaction.js";
import { INTERNAL_REQUESTER, replyAck, replyError, type ControllerDeps, type Requester, type SnapshotData } from "./controller-deps.js";
import { NotificationInbox, toSystemItem, type InboxItem } from "./notification-inbox.js";
import { ReportDedup } from "./report-dedup.js";
import { markAt, planRewind } from "./rewind.js";
import {
  CRASH_INTERRUPT_NOTE,
  CRASHED_RUN_MESSAGE,
  errorInterruptNote,
  INTERRUPTED_TOOL_RESULT,
  noteAfterError,
  readSessionState,
  USER_INTERRUPT_NOTE,
} from "./session-state.js";
import { DurableInbox } from "./durable-inbox.js";
import { WriteFaults } from "./write-faults.js";

/** How long a shutdown waits for an aborted run to stop (e.g. a tool that ignores abort) before exiting anyway, ms. */
export const SHUTDOWN_GRACE_MS = 10_000;

type PendingRun =
  | { kind: "run"; input: Extract<Method, { method: "run" }>["params"]["input"] }
  | { kind: "notification"; invokeKind: InvokeKind }
  | { kind: "resume" };

/** Whether the parent delegated this run (only those report turn_ended / errored upward). */
function isParentOriginated(run: PendingRun): boolean {
  return run.kind !== "notification";
}

interface ActiveRun {
  run: PendingRun;
  abort: AbortController;
  mark: ReturnType<SessionLog["mark"]>;
  drained: InboxItem[];
  produced: boolean;
  /** The interrupt note pending when the run began (restored on rollback). */
  noteBefore: string | undefined;
}

type RunOutcome = { ok: true; result: "finished" | "limit_reached" } | { ok: false; error: unknown };
type CompactionOutcome = { ok: true; result: SummaryResult } | { ok: false; error: unknown };
type MailItem =
  | { type: "method"; method: Method; requester: Requester }
  | { type: "reply"; event: Event; requester: Requester }
  | { type: "run_done"; outcome: RunOutcome }
  | { type: "compact_done"; outcome: CompactionOutcome };

/** A compaction in progress: methods that would change the conversation wait for it (`deferred`). */
interface ActiveCompaction {
  trigger: "manual" | "auto" | "fork";
  abort: AbortController;
  deferred: MailItem[];
  contextBefore: number | undefined;
}

/** Methods held while a compaction runs, handled in order after it (the reference blocks its loop the same way). */
const WAITS_FOR_COMPACTION: ReadonlySet<Method["method"]> = new Set(["run", "resume", "rewind_to"]);

export class PodController {
  private statusValue: PodStatus = "idle";
  private pending: PendingRun | undefined;
  private active: ActiveRun | undefined;
  private compacting: ActiveCompaction | undefined;
  /** Context size at which the last automatic compaction was tried (not tried again at that size). */
  private autoCompactTriedAt: number | undefined;
  private compactOnStart: boolean;
  private log: SessionLog;
  private readonly mailbox: MailItem[] = [];
  private wake: (() => void) | undefined;
  private readonly listeners = new Set<(event: Event) => void>();
  private readonly alerts: Alert[] = [];
  private readonly inbox = new NotificationInbox();
  /** Child reports already queued (by sender + report_id): a retried copy is acked, not queued again. */
  private readonly reportDedup = new ReportDedup();
  private messages: ModelMessage[];
  private toolNames = new Map<string, string>();
  /**
   * The note to give the model before the next user input, set when a run is paused,
   * cancelled or fails. Invariant: the log holds tool calls without results only while the
   * pod is paused; every other way out of a run closes them at once.
   */
  private interruptNote: string | undefined;
  /** Entry index where the paused run began: resume continues only that run's tool calls. */
  private pausedFrom: number | undefined;
  private turnCounter = 0;
  private llmCallCounter = 0;
  private inFlight: InFlightTurn | undefined;
  private exitRequested = false;
  /**
   * The end of the last run, when the session log could not take it (the disk is full or
   * read-only): its open tool calls' results and `run_errored{code, message}` are written
   * before anything else the next time the log is written (a run, a compaction).
   */
  private unsavedRunEnd: { code: ErrorCode; message: string } | undefined;
  private readonly writeFaults: WriteFaults;
  private readonly durableInbox: DurableInbox;
  private readonly greetingValue: Greeting;
  private readonly deps: ControllerDeps;

  constructor(deps: ControllerDeps) {
    this.deps = deps;
    this.writeFaults = deps.writeFaults ?? new WriteFaults((level, message) => this.alert(level, "disk", message));
    this.durableInbox = new DurableInbox(deps.inboxStore, this.writeFaults);
    this.greetingValue = { ...deps.greeting };
    this.log = deps.log;
    this.compactOnStart = deps.compactOnStart ?? false;
    this.messages = toModelMessages(deps.log.entries);
    for (const item of deps.initialInbox ?? []) this.inbox.push(item);
    this.rememberTakenReports();
    this.restoreFromLog();
    if (this.statusValue === "idle") this.stageFollowUp();
  }

  /**
   * Pick up where the session left off: the cumulative turn and model-call counters, the
   * context size, and the state of the last run — paused (resumable), or unfinished because
   * the pod was killed: its unanswered tool calls are closed and it is recorded as errored,
   * so the next request is valid and the model is told.
   */
  private restoreFromLog(): void {
    const state = readSessionState(this.log.entries);
    this.turnCounter = state.turnCounter;
    this.llmCallCounter = state.llmCallCounter;
    if (state.contextTokens !== undefined) this.greetingValue.context_tokens = state.contextTokens;
    const lastRun = state.lastRun;
    if (lastRun.kind === "crashed") {
      this.tryCloseRunInLog(state.lastInvoke, { code: "internal", message: CRASHED_RUN_MESSAGE });
      this.interruptNote = CRASH_INTERRUPT_NOTE;
    } else if (lastRun.kind === "paused") {
      this.statusValue = "paused";
      this.pausedFrom = state.lastInvoke;
      this.interruptNote = USER_INTERRUPT_NOTE;
    } else if (lastRun.kind === "errored") {
      this.interruptNote = noteAfterError(lastRun.entry);
    } else if (lastRun.kind === "none") {
      this.interruptNote = state.carriedNote;
    }
  }

  /**
   * The child reports this pod took before a restart — those in the active segment's log and
   * those still queued in the restored inbox — so that a child's retry of one of them (its ack
   * was lost when the pod went down) is acked, not queued a second time.
   */
  private rememberTakenReports(): void {
    for (const entry of this.log.entries) {
      if (entry.kind === "system_item" && entry.item.kind === "pod_event" && "event" in entry.item) this.reportDedup.firstTime(entry.item.event as PodEvent);
    }
    for (const item of this.inbox.items) if (item.kind === "pod_event") this.reportDedup.firstTime(item.event);
  }

  /** Keep the queued notifications on disk after a drain or requeue (a failed rewrite is alerted and tried again later). */
  private inboxChanged(): void {
    this.durableInbox.rewrite(this.inbox.items);
  }

  /** The active segment's log (a compaction replaces it). */
  get segmentLog(): SessionLog {
    return this.log;
  }

  get status(): PodStatus {
    return this.statusValue;
  }

  /** Queue a method. Handled in arrival order by the controller loop. */
  submit(method: Method, requester: Requester): void {
    // Side effects on receipt, once per report (a retried copy must not undo newer state).
    if (method.method === "pod_event" && !this.reportDedup.seen(method.params)) this.deps.onPodEvent?.(method.params);
    this.post({ type: "method", method, requester });
  }

  /**
   * Send `event` to `requester` in mailbox order: after the replies to the methods submitted
   * before it. The socket server answers a line it cannot decode this way, so a connection's
   * replies come in the order of its lines (an error for a bad line never overtakes the reply
   * to a method sent before it); answers that wait for I/O (`list_completions`,
   * `attach_or_restore_pod`) still come when they are ready, with their `reply_to`.
   */
  replyInOrder(event: Event, requester: Requester): void {
    this.post({ type: "reply", event, requester });
  }

  subscribe(listener: (event: Event) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current segment's entries, greeting, status and the open model call, if any. */
  snapshot(): SnapshotData {
    return { entries: this.log.entries, greeting: this.greetingValue, status: this.statusValue, in_flight: this.inFlight };
  }

  /** Alerts to replay to a new connection, oldest first. */
  alertLog(): readonly Alert[] {
    return this.alerts;
  }

  /**
   * Broadcast an alert (kept for replay to new connections). `message` starts with the subsystem,
   * e.g. `ipc: …`; the wire `source` is the reference's AlertSource for it (ALERT_SOURCE_OF).
   */
  alert(level: AlertLevel, subsystem: AlertSubsystem, message: string): void {
    const alert: Alert = { level, source: ALERT_SOURCE_OF[subsystem], message, timestamp_ms: this.deps.now(), subsystem };
    this.alerts.push(alert);
    if (this.alerts.length > (this.deps.maxAlerts ?? 100)) this.alerts.shift();
    this.deps.logger[level === "error" ? "error" : "warn"]({ source: alert.source, subsystem }, message);
    this.broadcast({ event: "alert", data: alert });
  }

  /**
   * Run the actor until shutdown. Resolves after the `shutdown` event was sent and the
   * `shut_down` report to the parent (if any) was delivered or timed out.
   */
  async run(): Promise<void> {
    for (;;) {
      if (!this.active && !this.compacting && !this.exitRequested) {
        const trigger = this.compactionDue();
        if (trigger) this.startCompaction(trigger);
        else if (this.pending) {
          const run = this.pending;
          this.pending = undefined;
          this.startRun(run);
        }
      }
      if (this.exitRequested && !this.active && !this.compacting) break;
      const item = await this.take();
      if (item.type === "run_done") this.finishRun(item.outcome);
      else if (item.type === "compact_done") this.finishCompaction(item.outcome);
      else if (item.type === "reply") item.requester.reply(item.event);
      else this.handleSafely(item.method, item.requester);
    }
    this.broadcast({ event: "shutdown" });
    await this.deps.reporter.settle();
    try {
      await this.deps.reporter.send({ kind: "shut_down", pod_name: this.deps.podName });
    } catch (error) {
      this.deps.logger.warn({ err: error }, "shut_down report failed");
    }
  }

  // ---- mailbox ---------------------------------------------------------------------------

  private post(item: MailItem): void {
    this.mailbox.push(item);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async take(): Promise<MailItem> {
    while (this.mailbox.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.mailbox.shift() as MailItem;
  }

  // ---- method × state (behaviour.md) -------------------------------------------------------

  /**
   * `handle`, but a method whose handling throws (a file it must write cannot be written, or a
   * bug) is answered with `error{internal}` and logged: one method never stops the pod.
   */
  private handleSafely(method: Method, requester: Requester): void {
    try {
      this.handle(method, requester);
    } catch (error) {
      this.deps.logger.error({ err: error, method: method.method }, "method failed");
      replyError(requester, "internal", `${method.method} failed: ${toWireError(error).message}`);
    }
  }

  private handle(method: Method, requester: Requester): void {
    if (this.exitRequested) return replyError(requester, "invalid_request", "Pod is shutting down");
    if (this.compacting && this.handleWhileCompacting(this.compacting, method, requester)) return;
    const status = this.statusValue;
    switch (method.method) {
      case "run":
        if (status === "running") return replyError(requester, "already_running", "Pod is already executing a turn");
        // user_message goes out when the run starts (after a compaction that runs ahead of it).
        this.pending = { kind: "run", input: method.params.input };
        return replyAck(requester, method);
      case "notify":
      case "pod_event": {
        const item: InboxItem =
          method.method === "notify"
            ? { kind: "notify", message: method.params.message, wake: method.params.wake ?? true }
            : { kind: "pod_event", event: method.params };
        const refusal = this.inbox.refusal(item);
        if (refusal) return replyError(requester, "invalid_request", refusal);
        if (item.kind === "pod_event" && this.reportDedup.seen(item.event)) return replyAck(requester, method);
        // The pod's own submissions (a child found dead, a note) are queued anyway, in memory only: nobody would send them again.
        if (!this.durableInbox.add(item, this.inbox.items) && requester !== INTERNAL_REQUESTER) {
          // Refused, not taken: a child retries its report, a client may send again.
          return replyError(
            requester,
            "internal",
            `cannot queue the ${method.method}: the notification inbox cannot be written (${this.durableInbox.failure}); try again once the disk can be written`,
          );
        }
        if (item.kind === "pod_event") this.reportDedup.firstTime(item.event);
        this.inbox.push(item);
        const wakes = item.kind === "pod_event" || item.wake;
        if (status === "idle" && wakes) this.pending ??= { kind: "notification", invokeKind: item.kind };
        return replyAck(requester, method);
      }
      case "resume":
        if (status === "running") return replyError(requester, "already_running", "Pod is already executing a turn");
        if (status !== "paused") return replyError(requester, "not_paused", "Pod is not paused");
        this.pending = { kind: "resume" };
        return replyAck(requester, method);
      case "cancel":
      case "pause":
        // cancel{cascade}: the children's turns too (they are cancelled even when this pod is idle).
        if (method.method === "cancel" && method.params?.cascade) this.deps.cancelChildren?.();
        if (status === "running" && this.active) {
          if (!this.active.abort.signal.aborted) this.active.abort.abort(method.method);
          return replyAck(requester, method);
        }
        if (method.method === "pause" && status === "paused") return replyAck(requester, method);
        if (method.method === "cancel" && status === "paused") {
          this.cancelPausedRun();
          return replyAck(requester, method);
        }
        return replyError(requester, "not_running", "Pod is not running");
      case "shutdown":
        this.exitRequested = true;
        this.pending = undefined;
        if (this.active) {
          const active = this.active;
          if (!active.abort.signal.aborted) active.abort.abort("shutdown");
          // A tool that ignores abort must not keep the pod alive: give up on the run after a grace period.
          setTimeout(() => {
            if (this.active !== active) return;
            this.deps.logger.warn("run did not stop within the shutdown grace period; exiting anyway");
            this.post({ type: "run_done", outcome: { ok: false, error: new AbortedError("shutdown") } });
          }, SHUTDOWN_GRACE_MS).unref();
        }
        return replyAck(requester, method);
      case "compact":
      case "list_rewind_targets":
      case "rewind_to":
        if (status === "running") {
          return replyError(requester, "already_running", "Pod is already executing a turn; rewind/compact can only run while idle");
        }
        if (status === "paused" && method.method !== "list_rewind_targets") {
          return replyError(requester, "invalid_request", `Cannot ${method.method} while the Pod is paused; resume or start a fresh turn first`);
        }
        if (method.method === "list_rewind_targets") return answerQuery(method, requester, this.queryContext());
        if (method.method === "rewind_to") return this.rewindTo(method.params, requester, method);
        return this.compact(requester, method);
      case "list_completions":
      case "list_visible_pods":
      case "inspect_pod":
      case "attach_or_restore_pod":
        return answerQuery(method, requester, this.queryContext());
    }
  }

  /** What the read-only methods may see of the pod (src/pod/answer-query.ts). */
  private queryContext(): QueryContext {
    const { podName, cwd, discovery, loop } = this.deps;
    return { podName, cwd, discovery, scope: loop.toolContext.scope, status: this.statusValue, model: this.greetingValue.model, log: this.log };
  }

  /**
   * rewind_to (idle only): cut the segment (durably) before the target's run, rebuild the
   * model's view, and pick up the state the remaining log ends in; the inbox is kept.
   */
  private rewindTo(params: Extract<Method, { method: "rewind_to" }>["params"], requester: Requester, method: Method): void {
    const plan = planRewind(this.log.entries, this.log.segmentId, params);
    if (!plan.ok) return replyError(requester, "invalid_request", plan.message);
    // Throws SessionWriteError (nothing changed) when the file cannot be cut: the requester gets error{internal}.
    this.log.truncate(markAt(this.log, plan.keep));
    this.rebuildMessages();
    this.pausedFrom = undefined;
    this.interruptNote = undefined;
    const owed = this.unsavedRunEnd;
    this.unsavedRunEnd = undefined;
    const state = readSessionState(this.log.entries);
    const lastEnd = this.log.entries.findLast((entry) => entry.kind === "run_completed" || entry.kind === "run_errored");
    if (state.lastRun.kind === "crashed" && owed) {
      // The kept log ends in the run whose end could not be written: write it now (or owe it still).
      this.tryCloseRunInLog(state.lastInvoke, owed);
      this.interruptNote = errorInterruptNote(owed.message);
    } else if (lastEnd?.kind === "run_completed" && lastEnd.result === "paused") {
      // The kept log ends in a paused run: end it as cancelled (what a restore then reads as idle).
      this.endPausedRun(0);
    } else if (lastEnd?.kind === "run_errored") {
      this.interruptNote = noteAfterError(lastEnd);
    }
    this.deps.logger.info({ summary: plan.summary }, plan.description);
    this.broadcast({ event: "rewind_applied", data: { entries: [...this.log.entries], input: plan.input, summary: plan.summary } });
    this.setStatus("idle");
    replyAck(requester, method);
  }

  // ---- compaction --------------------------------------------------------------------------

  /** Methods during a compaction: true when handled here (held, refused, or the compaction cancelled). */
  private handleWhileCompacting(compaction: ActiveCompaction, method: Method, requester: Requester): boolean {
    if (WAITS_FOR_COMPACTION.has(method.method)) {
      compaction.deferred.push({ type: "method", method, requester });
      return true;
    }
    switch (method.method) {
      case "compact":
        replyError(requester, "already_running", "Pod is already compacting its session");
        return true;
      case "cancel":
        if (method.params?.cascade) this.deps.cancelChildren?.();
        if (!compaction.abort.signal.aborted) compaction.abort.abort("cancel");
        // An automatic compaction runs ahead of a staged run: the cancel is meant for that run too.
        if (compaction.trigger === "auto" && this.pending && this.pending.kind !== "resume") {
          const dropped = this.pending;
          this.pending = undefined;
          if (dropped.kind === "run") this.broadcast({ event: "user_message", data: { segments: dropped.input } });
          this.broadcast({ event: "run_end", data: { result: "rolled_back" } });
          this.setStatus("idle");
        }
        replyAck(requester, method);
        return true;
      case "pause":
        replyError(requester, "not_running", "Pod is compacting its session, not running a turn; cancel stops the compaction");
        return true;
      case "shutdown":
        if (!compaction.abort.signal.aborted) compaction.abort.abort("shutdown");
        return false;
      default:
        return false;
    }
  }

  /** The compact method (idle only): summarise the segment into a new one; progress goes to every client. */
  private compact(requester: Requester, method: Method): void {
    if (!this.deps.segments) return replyError(requester, "invalid_request", "this pod cannot compact its session (no session store)");
    if (!this.hasConversation()) return replyError(requester, "invalid_request", "Nothing to compact: the session has no conversation yet");
    try {
      this.writeUnsavedRunEnd();
    } catch (error) {
      return replyError(requester, "internal", `cannot compact: ${toWireError(error).message}`);
    }
    this.startCompaction("manual");
    replyAck(requester, method);
  }

  private hasConversation(): boolean {
    return this.log.entries.some((entry) => entry.kind === "user_input" || entry.kind === "assistant_item" || entry.kind === "system_item");
  }

  /** Whether to compact before the staged run: a fork asked for it, or the context passed the threshold. */
  private compactionDue(): ActiveCompaction["trigger"] | undefined {
    // A log that owes a run's end is not compacted (the summary request would hold open tool calls); the next run writes it first.
    if (!this.deps.segments || this.statusValue !== "idle" || this.unsavedRunEnd) return undefined;
    if (this.compactOnStart) {
      this.compactOnStart = false;
      return this.hasConversation() ? "fork" : undefined;
    }
    const threshold = this.deps.compaction?.threshold ?? 0;
    const tokens = this.greetingValue.context_tokens;
    if (!this.pending || this.pending.kind === "resume" || threshold <= 0 || tokens === undefined) return undefined;
    if (tokens < threshold * this.greetingValue.context_window || tokens === this.autoCompactTriedAt) return undefined;
    return this.hasConversation() ? "auto" : undefined;
  }

  private startCompaction(trigger: ActiveCompaction["trigger"]): void {
    const compaction: ActiveCompaction = { trigger, abort: new AbortController(), deferred: [], contextBefore: this.greetingValue.context_tokens };
    this.compacting = compaction;
    if (trigger === "auto") this.autoCompactTriedAt = compaction.contextBefore;
    this.broadcast({ event: "compact_start" });
    const { model, systemPrompt, tools } = this.deps.loop;
    writeSummary(
      { model, system: systemPrompt, tools: tools.specs(), messages: this.messages },
      { signal: compaction.abort.signal, timeoutMs: this.deps.compaction?.timeoutMs ?? DEFAULT_COMPACT_TIMEOUT_MS },
    ).then(
      (result) => this.post({ type: "compact_done", outcome: { ok: true, result } }),
      (error: unknown) => this.post({ type: "compact_done", outcome: { ok: false, error } }),
    );
  }

  private finishCompaction(outcome: CompactionOutcome): void {
    const compaction = this.compacting;
    if (!compaction) return;
    this.compacting = undefined;
    let failure = outcome.ok ? undefined : outcome.error;
    if (outcome.ok) {
      try {
        this.rotateSegment(outcome.result);
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== undefined) {
      const message =
        failure instanceof AbortedError ? (failure.reason === "shutdown" ? "the pod is shutting down" : "cancelled") : toWireError(failure).message;
      this.deps.logger.warn({ err: failure, trigger: compaction.trigger }, "compaction failed");
      this.broadcast({ event: "compact_failed", data: { error: message } });
      if (compaction.trigger !== "manual" && !(failure instanceof AbortedError)) {
        this.alert("warn", "compaction", `compaction: ${message}; the session was kept as it was`);
      }
    }
    // Held methods go first, in their order; then the loop's top starts a staged run. A pod on its way out answers them.
    if (this.exitRequested) {
      for (const item of compaction.deferred) if (item.type === "method") replyError(item.requester, "invalid_request", "Pod is shutting down");
    } else this.mailbox.unshift(...compaction.deferred);
  }

  /**
   * Switch to the compacted segment that writeCompactedSegment (src/pod/compaction.ts) wrote,
   * fsynced and made active; if it throws, nothing here has changed and the old segment is
   * the pod's. Then the old log is closed, the model's view rebuilt from the new one, and
   * clients get `segment_rotated`, the summary's `system_item` and `compact_done`, in that order.
   */
  private rotateSegment(result: SummaryResult): void {
    const segments = this.deps.segments;
    if (!segments) throw new Error("no session store");
    const previous = this.log;
    const carried = { turn: this.turnCounter, llmCall: this.llmCallCounter, interruptNote: this.interruptNote, now: () => this.deps.now() };
    const { log: next, item, contextTokens } = writeCompactedSegment(segments, previous.segmentId, result, carried);
    this.log = next;
    const closeFailure = previous.close();
    if (closeFailure) this.deps.logger.warn({ err: closeFailure }, "compaction: closing the old segment failed");
    this.rebuildMessages();
    this.pausedFrom = undefined;
    this.greetingValue.context_tokens = contextTokens;
    const start = next.entries[0];
    if (start?.kind === "segment_start") this.broadcast({ event: "segment_rotated", data: { entry: start } });
    this.broadcast({ event: "system_item", data: { item } });
    this.broadcast({ event: "compact_done", data: { new_segment_id: wireId(next.segmentId) } });
  }

  // ---- runs --------------------------------------------------------------------------------

  private startRun(run: PendingRun): void {
    // What a write fault left owed goes first (before the mark: a rollback of this run keeps it).
    let owedFailure: unknown;
    try {
      this.writeUnsavedRunEnd();
    } catch (error) {
      owedFailure = error;
    }
    this.durableInbox.catchUp(this.inbox.items);
    const active: ActiveRun = {
      run,
      abort: new AbortController(),
      mark: this.log.mark(),
      drained: [],
      produced: false,
      noteBefore: this.interruptNote,
    };
    this.active = active;
    if (run.kind === "run") this.broadcast({ event: "user_message", data: { segments: run.input } });
    this.setStatus("running");
    (owedFailure === undefined ? this.executeRun(active) : Promise.reject(owedFailure)).then(
      (result) => this.post({ type: "run_done", outcome: { ok: true, result } }),
      (error: unknown) => this.post({ type: "run_done", outcome: { ok: false, error } }),
    );
  }

  private async executeRun(active: ActiveRun): Promise<"finished" | "limit_reached"> {
    const io = this.turnLoopIo(active);
    const { run } = active;
    if (run.kind === "resume") return driveTurns(this.deps.loop, io, unansweredToolCalls(this.log.entries.slice(this.pausedFrom ?? 0)));
    const invokeKind = run.kind === "run" ? "user_send" : run.invokeKind;
    this.commit({ kind: "invoke", ts: this.deps.now(), invoke_kind: invokeKind });
    this.broadcast({ event: "invoke_start", data: { kind: invokeKind } });
    if (run.kind === "run") {
      this.prepareAfterInterrupt();
      if (run.input.some((segment) => segment.kind === "unknown")) {
        this.alert("warn", "pod", "pod: the input had a segment of unknown kind; the model sees it as [unknown input segment]");
      }
      this.commit({ kind: "user_input", ts: this.deps.now(), segments: run.input });
    }
    return driveTurns(this.deps.loop, io);
  }

  /** Before user input that follows an interrupted run: close a paused run's tool calls, then tell the model. */
  private prepareAfterInterrupt(): void {
    this.closeUnansweredToolCalls(this.pausedFrom ?? 0);
    this.pausedFrom = undefined;
    if (!this.interruptNote) return;
    const item = { kind: "interrupt" as const, body: this.interruptNote };
    this.commit({ kind: "system_item", ts: this.deps.now(), item });
    this.broadcast({ event: "system_item", data: { item } });
    this.interruptNote = undefined;
  }

  /**
   * cancel while paused: the paused run is over, as if it had been cancelled while running. Its
   * open tool calls get `[Interrupted by user]` results, `run_errored{internal, Cancelled}` is
   * committed, clients see those `tool_result`s, `error{internal, "Cancelled"}` and
   * `status{idle}` (the reference's events for a cancelled run), and a parent that gave this
   * pod the run is told `errored` (it never got `turn_ended` for it). Queued notifications wait
   * for the next trigger, as after any cancel.
   */
  private cancelPausedRun(): void {
    const from = this.pausedFrom ?? 0;
    const invoke = this.log.entries[from];
    this.endPausedRun(from);
    const wire = toWireError(new AbortedError("cancel"));
    this.broadcast({ event: "error", data: wire });
    this.setStatus("idle");
    if (invoke?.kind === "invoke" && invoke.invoke_kind === "user_send") {
      this.deps.reporter.fireAndForget({ kind: "errored", pod_name: this.deps.podName, message: wire.message });
    }
  }

  /** End a paused run (from entry `from`) as cancelled in the log: close its tool calls, commit `run_errored` (or owe them). */
  private endPausedRun(from: number): void {
    this.tryCloseRunInLog(from, toWireError(new AbortedError("cancel")));
    this.pausedFrom = undefined;
    this.interruptNote = USER_INTERRUPT_NOTE;
  }

  /**
   * Close the run that began at entry `from`: an `[Interrupted by user]` result for each of
   * its open tool calls, then `run_errored{code, message}`. Throws SessionWriteError when the
   * log cannot take them (what was written stays written).
   */
  private closeRunInLog(from: number, end: { code: ErrorCode; message: string }): void {
    this.closeUnansweredToolCalls(Math.max(0, from));
    this.commit({ kind: "run_errored", ts: this.deps.now(), code: end.code, message: end.message });
  }

  /** closeRunInLog, or, when the log cannot be written, owe the run's end (`unsavedRunEnd`). */
  private tryCloseRunInLog(from: number, end: { code: ErrorCode; message: string }): void {
    try {
      this.closeRunInLog(from, end);
    } catch (error) {
      if (!(error instanceof SessionWriteError)) throw error;
      this.unsavedRunEnd ??= end;
    }
  }

  /**
   * Write the end of the last run if the log owes it (see `unsavedRunEnd`): it is written
   * before anything else, so the log never holds a run without its end behind a newer one.
   * Throws SessionWriteError when the log still cannot be written (it stays owed).
   */
  private writeUnsavedRunEnd(): void {
    const owed = this.unsavedRunEnd;
    if (!owed) return;
    const { lastRun, lastInvoke } = readSessionState(this.log.entries);
    // Paused in the log: a resume of it failed before it could write anything.
    if (lastRun.kind === "crashed" || lastRun.kind === "paused") this.closeRunInLog(lastInvoke, owed);
    this.unsavedRunEnd = undefined;
  }

  /** Answer every tool call from entry `from` on that has no result with `[Interrupted by user]`. */
  private closeUnansweredToolCalls(from: number): void {
    for (const call of unansweredToolCalls(this.log.entries.slice(from))) {
      const item = { kind: "tool_result" as const, id: call.id, summary: INTERRUPTED_TOOL_RESULT, output: INTERRUPTED_TOOL_RESULT, is_error: true };
      this.commit({ kind: "tool_result", ts: this.deps.now(), item });
      this.broadcast({ event: "tool_result", data: { id: item.id, summary: item.summary, output: item.output, is_error: true } });
    }
  }

  /** Stage a notification turn if a queued item should start one (e.g. it arrived during the run's last model call). */
  private stageFollowUp(): void {
    const waking = this.inbox.firstWakingKind;
    if (waking) this.pending ??= { kind: "notification", invokeKind: waking };
  }

  private turnLoopIo(active: ActiveRun): TurnLoopIo {
    return {
      signal: active.abort.signal,
      now: this.deps.now,
      commit: (entry) => {
        if (entry.kind === "assistant_item" || entry.kind === "tool_result") active.produced = true;
        this.commit(entry);
      },
      emit: (event) => this.broadcast(event),
      // A copy: the stream's own items are committed into `this.messages` while the model reads the request.
      messages: () => this.messages.map((message) => (message.role === "assistant" ? { ...message, content: [...message.content] } : message)),
      beforeModelRequest: () => {
        const drained = this.inbox.drain();
        let committed = 0;
        try {
          for (const item of drained) {
            const systemItem = toSystemItem(item);
            this.commit({ kind: "system_item", ts: this.deps.now(), item: systemItem });
            active.drained.push(item);
            committed += 1;
            this.broadcast({ event: "system_item", data: { item: systemItem } });
          }
        } finally {
          // Items the log did not take stay queued, in their order.
          if (committed < drained.length) this.inbox.requeue(drained.slice(committed));
          // Only now (committed to the log) may they leave the durable inbox.
          if (committed > 0) this.inboxChanged();
        }
      },
      nextTurn: () => this.turnCounter++,
      nextLlmCall: () => this.llmCallCounter++,
      setInFlight: (state) => {
        this.inFlight = state;
      },
      onUsage: (usage) => {
        // A server that reports no usage (some local ones) leaves the last known size.
        if (Object.values(usage).every((value) => value === undefined)) return;
        this.greetingValue.context_tokens =
          (usage.inputTokens ?? 0) + (usage.cacheReadInputTokens ?? 0) + (usage.cacheCreationInputTokens ?? 0) + (usage.outputTokens ?? 0);
      },
    };
  }

  /** The end of a run, written to the log and told to clients; a run whose entries could not all be written ends as failed (endUnsavedRun). */
  private finishRun(outcome: RunOutcome): void {
    const active = this.active;
    if (!active) return;
    this.active = undefined;
    this.inFlight = undefined;
    const runError = outcome.ok ? undefined : outcome.error;
    try {
      if (runError instanceof SessionWriteError) throw runError;
      this.endActiveRun(active, outcome);
    } catch (failure) {
      if (!(failure instanceof SessionWriteError)) throw failure;
      this.endUnsavedRun(active, failure, runError);
    }
  }

  /** finishRun when the log takes the run's end. Throws SessionWriteError when it does not (before the event that would tell clients). */
  private endActiveRun(active: ActiveRun, outcome: RunOutcome): void {
    const { run } = active;
    const parentOriginated = isParentOriginated(run);
    if (outcome.ok) {
      if (run.kind === "resume") this.interruptNote = undefined;
      this.pausedFrom = undefined;
      this.endRun(outcome.result, "idle");
      if (parentOriginated && outcome.result === "finished") {
        this.deps.reporter.fireAndForget({ kind: "turn_ended", pod_name: this.deps.podName });
      }
      this.stageFollowUp();
      return;
    }
    const error = outcome.error;
    const reason = error instanceof AbortedError ? error.reason : undefined;
    if ((reason === "pause" || reason === "cancel") && !active.produced && !(reason === "pause" && run.kind === "resume")) {
      this.rollBack(active);
      return;
    }
    if (reason === "pause") {
      if (run.kind !== "resume") this.pausedFrom = active.mark.count;
      this.interruptNote = USER_INTERRUPT_NOTE;
      this.endRun("paused", "paused");
      return;
    }
    // Cancelled (with output), shut down, or failed: the run is over; close what it left open.
    this.closeUnansweredToolCalls(run.kind === "resume" ? (this.pausedFrom ?? active.mark.count) : active.mark.count);
    this.pausedFrom = undefined;
    const wire = toWireError(error);
    this.interruptNote = reason ? USER_INTERRUPT_NOTE : errorInterruptNote(wire.message);
    if (!reason) this.deps.logger.error({ err: error }, "run failed");
    this.commit({ kind: "run_errored", ts: this.deps.now(), code: wire.code, message: wire.message });
    this.broadcast({ event: "error", data: wire });
    this.setStatus("idle");
    if (parentOriginated && reason !== "shutdown") {
      this.deps.reporter.fireAndForget({ kind: "errored", pod_name: this.deps.podName, message: wire.message });
    }
    // After a failure (not after a user's cancel), queued notifications start their turn.
    if (!reason) this.stageFollowUp();
  }

  /**
   * A run that the session log could not take — an entry of the run, its end, or its rollback
   * failed to write (`failure`) — ends as failed whatever it was doing: clients get
   * `error{internal, "<failure>; the run ended there and is recorded as failed"}` then
   * `status{idle}`, a parent that gave this pod the run gets `errored`, and the log owes the
   * run's end (written before the next entry: `writeUnsavedRunEnd`). Nothing pretends the run
   * was saved: what it produced after the failed entry is not in the log. No follow-up turn
   * starts (it would fail the same way); queued notifications wait for the next trigger.
   */
  private endUnsavedRun(active: ActiveRun, failure: SessionWriteError, runError: unknown): void {
    const reason = runError instanceof AbortedError ? runError.reason : undefined;
    const message = `${failure.message}; the run ended there and is recorded as failed`;
    this.sessionWriteFailed(failure);
    this.unsavedRunEnd ??= { code: "internal", message };
    this.pausedFrom = undefined;
    this.interruptNote = errorInterruptNote(message);
    this.deps.logger.error({ err: failure, run_error: runError }, "run ended: the session log cannot be written");
    this.broadcast({ event: "error", data: { code: "internal", message } });
    this.setStatus("idle");
    if (isParentOriginated(active.run) && reason !== "shutdown") {
      this.deps.reporter.fireAndForget({ kind: "errored", pod_name: this.deps.podName, message });
    }
  }

  /** Alert (once per fault) that the session log cannot be written, and what that costs. */
  private sessionWriteFailed(failure: SessionWriteError): void {
    const lost =
      failure.entryKind === undefined
        ? ""
        : `; the ${failure.entryKind} entry being written and what the run produces after it are not saved (the segment keeps its ${this.log.entries.length} entries before it)`;
    this.writeFaults.failed("session log", `session: ${failure.message}${lost}; runs fail until the log can be written again`);
  }

  private endRun(result: RunResult, status: PodStatus): void {
    this.commit({ kind: "run_completed", ts: this.deps.now(), result });
    this.broadcast({ event: "run_end", data: { result } });
    this.setStatus(status);
  }

  /**
   * Empty-turn rollback: drop everything the run committed, give drained notifications back
   * (they wait for the next trigger: the user asked to stop). The pod goes idle, so a paused
   * run that this one followed is over: its open tool calls are closed.
   */
  private rollBack(active: ActiveRun): void {
    // Throws SessionWriteError (nothing changed) when the file cannot be cut: the run then ends as failed.
    this.log.truncate(active.mark);
    this.rebuildMessages();
    this.inbox.requeue(active.drained);
    if (active.drained.length > 0) this.inboxChanged();
    this.interruptNote = active.noteBefore;
    try {
      this.closeUnansweredToolCalls(this.pausedFrom ?? 0);
    } catch (error) {
      // Left open in the log: the next user input closes every open call of the segment (prepareAfterInterrupt).
      if (!(error instanceof SessionWriteError)) throw error;
    }
    this.pausedFrom = undefined;
    this.broadcast({ event: "run_end", data: { result: "rolled_back" } });
    this.setStatus("idle");
  }

  // ---- plumbing ----------------------------------------------------------------------------

  /** Append to the session log, then to the model's view. Throws SessionWriteError (alerted once per fault) when the log cannot take it. */
  private commit(entry: LogEntry): void {
    try {
      this.log.append(entry);
    } catch (error) {
      if (error instanceof SessionWriteError) this.sessionWriteFailed(error);
      throw error;
    }
    this.writeFaults.succeeded("session log", () => `session: the session log ${this.log.file} can be written again`);
    applyEntry(this.messages, entry, this.toolNames);
  }

  private rebuildMessages(): void {
    this.toolNames = new Map();
    this.messages = [];
    for (const entry of this.log.entries) applyEntry(this.messages, entry, this.toolNames);
  }

  private setStatus(status: PodStatus): void {
    this.statusValue = status;
    this.deps.onStatus(status);
    this.broadcast({ event: "status", data: { status } });
  }

  private broadcast(event: Event): void {
    for (const listener of this.listeners) listener(event);
  }
}
