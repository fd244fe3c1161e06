/**
 * The TUI's view of a pod: connection, greeting, status, the transcript items and the turn in
 * flight, folded from wire events by one pure reducer (`reduceEvent`). It owns what the user
 * sees, not how it looks (transcript.tsx renders it) nor the socket (connection.ts).
 *
 * Rules (wire-protocol.md, Events and Order):
 * - `snapshot` reseeds everything: its `entries` become items, `in_flight` the live turn.
 *   Alerts replayed before it (on a new connection) are kept after its items.
 * - The live turn (streaming text, thinking, open tool calls) is kept apart from `items`, so a
 *   delta costs O(1) amortised; finished blocks are appended to `items` as they complete
 *   (`text_done`, `thinking_done`, `tool_call_done`), the way the pod commits them.
 * - A `tool_result` is merged into its tool call item (looked up from the end).
 * - `segment_rotated` reseeds the items with the new segment's marker (a compaction stays
 *   visible), followed by what the run in progress has added so far (its user message);
 *   `rewind_applied` reseeds them from its entries plus a rewind marker.
 * - A cancelled run (`error`/`run_errored` `internal` "Cancelled", the reference's shape) is a
 *   neutral notice, not an error.
 * - `run_end{rolled_back}` drops what the run added (the pod truncated its log the same way).
 *
 * Items are immutable: a changed item is a new object with the same `id`, so renderers may
 * cache per item object.
 */
import {
  COMPACTION_SUMMARY_KIND,
  describePodEvent,
  isCancellation,
  type AlertLevel,
  type Event,
  type EventName,
  type EventOf,
  type Greeting,
  type InFlightTurn,
  type LogEntry,
  type PodEvent,
  type PodStatus,
  type RunResult,
  type Segment,
  type SegmentStartEntry,
  type SystemItem,
} from "../../protocol/index.js";
import { systemItemText } from "../client/system-item-text.js";
import { rewindSummaryText } from "../client/rewind-text.js";
import { REAL_MODEL_HINT } from "../config/model-config.js";

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "connected" }
  | { kind: "reconnecting"; attempt: number; retryAtMs: number; reason: string }
  /** The pod stopped on purpose (it sent `shutdown` before closing): no reconnecting with backoff. */
  | { kind: "stopped" }
  | { kind: "closed"; reason: string };

/** The outcome of a tool call, as its `tool_result` reported it. */
export interface ToolResultView {
  summary: string;
  output?: string;
  isError: boolean;
}

/** One thing in the transcript. `id` is unique within a state and kept when the item changes. */
export type TranscriptItem =
  | { id: string; kind: "user"; segments: Segment[] }
  | { id: string; kind: "assistant"; text: string }
  /** An assistant-item message with role system/user (e.g. a reference pod's compaction summary). */
  | { id: string; kind: "message"; role: string; text: string }
  | { id: string; kind: "thinking"; text: string; isRedacted: boolean }
  /** `name` is undefined for a result whose call is not in view. */
  | { id: string; kind: "tool_call"; callId: string; name?: string; arguments: string; result?: ToolResultView }
  | { id: string; kind: "notification"; message: string; body: string }
  /** A child pod's lifecycle report (a `pod_event` system item). */
  | { id: string; kind: "pod_report"; event: PodEvent; text: string }
  /** Any other system item (interrupt, file_attachment, system_reminder, …): `text` is what to show, `body` what the model saw. */
  | { id: string; kind: "system"; systemKind: string; text: string; body: string }
  | { id: string; kind: "compaction"; compactedFrom?: string; summary?: string }
  | { id: string; kind: "forked"; from: NonNullable<SegmentStartEntry["forked_from"]> }
  /** A segment that starts neither from a compaction nor from a fork. */
  | { id: string; kind: "segment"; segmentId: string }
  | { id: string; kind: "rewind"; summary: string }
  | { id: string; kind: "run_end"; result: Exclude<RunResult, "finished"> }
  | { id: string; kind: "error"; code: string; message: string }
  | { id: string; kind: "alert"; level: AlertLevel; source: string; message: string }
  /** `attempt` is the attempt about to be made (the failed one + 1). */
  | { id: string; kind: "retry"; attempt: number; maxAttempts: number; waitMs: number; error: string; httpStatus?: number }
  | { id: string; kind: "notice"; text: string; tone: "info" | "warn" | "error" };

export interface LiveToolCall {
  id: string;
  name: string;
  /** JSON text streamed so far. */
  arguments: string;
}

/** The turn in flight: what has streamed of the open model call and is not yet an item. */
export interface LiveTurn {
  turn?: number;
  thinking: string;
  isThinking: boolean;
  text: string;
  toolCalls: readonly LiveToolCall[];
}

export interface TuiState {
  connection: ConnectionState;
  greeting?: Greeting;
  status: PodStatus;
  /** Committed / finished things, oldest first. */
  items: TranscriptItem[];
  live?: LiveTurn;
  /** When the running turn started (client clock, ms): set on status running / invoke_start. */
  turnStartedAtMs?: number;
  /** Tokens summed over the session as seen; `inputTokens` counts cache reads too. */
  usage: { inputTokens: number; outputTokens: number };
  /** Tokens the context occupies (last model call), and the model's window. */
  contextTokens?: number;
  contextWindow?: number;
  /** The model call is waiting to retry (from llm_retry); `attempt` is the next attempt (1-based). */
  retry?: { attempt: number; maxAttempts: number; retryAtMs: number; error: string };
  /** True from `compact_start` until `compact_done` / `compact_failed` / a snapshot (the pod's status stays idle meanwhile). */
  compacting: boolean;
  /** The last `rewind_applied` (a new object per rewind): the app hands `input` back to the composer. */
  lastRewind?: { input: Segment[]; summary: string };
  // ---- bookkeeping (not for display) ----
  /** Counter for item ids of live events. */
  nextItemId: number;
  /** `items.length` when the current run started: what `run_end{rolled_back}` truncates to. */
  runStartIndex?: number;
  /** True from a (re)connect until the snapshot: alerts then are replayed ones, kept across the snapshot. */
  isAwaitingSnapshot: boolean;
  pendingAlerts: TranscriptItem[];
}

export function initialTuiState(): TuiState {
  return {
    connection: { kind: "connecting" },
    status: "idle",
    compacting: false,
    items: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    nextItemId: 0,
    isAwaitingSnapshot: true,
    pendingAlerts: [],
  };
}

/** A new connection state; connecting again (or waiting for a stopped pod) means the next snapshot reseeds (and replayed alerts come first). */
export function withConnection(state: TuiState, connection: ConnectionState): TuiState {
  const isNewConnection = connection.kind === "connecting" || connection.kind === "reconnecting" || connection.kind === "stopped";
  if (isNewConnection && !state.isAwaitingSnapshot) return { ...state, connection, isAwaitingSnapshot: true, pendingAlerts: [] };
  return { ...state, connection };
}

// ---- items from log entries ---------------------------------------------------------------

type ItemDraft = TranscriptItem extends infer Item ? (Item extends TranscriptItem ? Omit<Item, "id"> : never) : never;

/** What to show of a system item, as an item draft (compaction summaries are handled by the caller). */
function systemItemDraft(item: SystemItem): ItemDraft {
  const fields = item as { message?: unknown; body?: unknown; event?: unknown };
  const body = typeof fields.body === "string" ? fields.body : "";
  if (item.kind === "notification" && typeof fields.message === "string") return { kind: "notification", message: fields.message, body };
  if (item.kind === "pod_event" && fields.event) {
    const event = fields.event as PodEvent;
    return { kind: "pod_report", event, text: describePodEvent(event).replace(/`/g, "") };
  }
  return { kind: "system", systemKind: item.kind, text: systemItemText(item), body };
}

function segmentStartDraft(entry: SegmentStartEntry, isFirst: boolean): ItemDraft | undefined {
  if (entry.compacted_from !== undefined) return { kind: "compaction", compactedFrom: entry.compacted_from };
  if (entry.forked_from) return { kind: "forked", from: entry.forked_from };
  return isFirst ? undefined : { kind: "segment", segmentId: entry.segment_id };
}

/**
 * A mutable builder of items, used by the reducer on a copy of the items (one copy per event
 * that changes them) and to reseed from entries.
 */
class ItemList {
  readonly items: TranscriptItem[];
  nextItemId: number;

  constructor(items: TranscriptItem[], nextItemId: number) {
    this.items = items;
    this.nextItemId = nextItemId;
  }

  push(draft: ItemDraft, id?: string): void {
    this.items.push({ ...draft, id: id ?? `n${this.nextItemId++}` } as TranscriptItem);
  }

  /**
   * A compaction summary fills the last compaction marker when that has none yet (the run in
   * progress may have items after it); otherwise it is a marker of its own.
   */
  pushCompactionSummary(summary: string, id?: string): void {
    const index = this.items.findLastIndex((item) => item.kind === "compaction");
    const marker = this.items[index];
    if (marker?.kind === "compaction" && marker.summary === undefined) this.items[index] = { ...marker, summary };
    else this.push({ kind: "compaction", summary }, id);
  }

  pushSystemItem(item: SystemItem, id?: string): void {
    if (item.kind === COMPACTION_SUMMARY_KIND) this.pushCompactionSummary(compactionSummaryText(item), id);
    else this.push(systemItemDraft(item), id);
  }

  /** Merge a result into its call (searched from the end); a result without a call stands alone. */
  attachToolResult(callId: string, result: ToolResultView, id?: string): void {
    for (let index = this.items.length - 1; index >= 0; index -= 1) {
      const item = this.items[index];
      if (item?.kind === "tool_call" && item.callId === callId) {
        this.items[index] = { ...item, result };
        return;
      }
    }
    this.push({ kind: "tool_call", callId, arguments: "", result }, id);
  }
}

const COMPACTED_PREFIX = /^\[Compacted\]\n[^\n]*\n\n/;

/** The summary itself, without the pod's `[Compacted]` preamble. */
function compactionSummaryText(item: SystemItem): string {
  const body = typeof item.body === "string" ? item.body : "";
  return body.replace(COMPACTED_PREFIX, "");
}

/** An error as an item draft: a cancellation is a neutral notice. */
function errorDraft(code: string, message: string): ItemDraft {
  return isCancellation({ code, message }) ? { kind: "notice", tone: "info", text: "run cancelled" } : { kind: "error", code, message };
}

function toolResultView(item: { summary: string; output?: string; is_error: boolean }): ToolResultView {
  return item.output === undefined ? { summary: item.summary, isError: item.is_error } : { summary: item.summary, output: item.output, isError: item.is_error };
}

type EntryHandler<Kind extends LogEntry["kind"]> = (list: ItemList, entry: Extract<LogEntry, { kind: Kind }>, id: string, isFirst: boolean) => void;

const ENTRY_HANDLERS: { [Kind in LogEntry["kind"]]: EntryHandler<Kind> } = {
  segment_start: (list, entry, id, isFirst) => {
    const draft = segmentStartDraft(entry, isFirst);
    if (draft) list.push(draft, id);
  },
  invoke: () => {},
  user_input: (list, entry, id) => list.push({ kind: "user", segments: entry.segments }, id),
  assistant_item: (list, entry, id) => {
    const item = entry.item;
    if (item.kind === "message") {
      if (item.role === "assistant") list.push({ kind: "assistant", text: item.content }, id);
      else if (item.role === "system" && list.items.at(-1)?.kind === "compaction") list.pushCompactionSummary(item.content, id);
      else list.push({ kind: "message", role: item.role, text: item.content }, id);
    } else if (item.kind === "reasoning") {
      if (item.text !== "" || item.redacted_data !== undefined) list.push({ kind: "thinking", text: item.text, isRedacted: item.redacted_data !== undefined }, id);
    } else {
      list.push({ kind: "tool_call", callId: item.id, name: item.name, arguments: item.arguments }, id);
    }
  },
  tool_result: (list, entry, id) => list.attachToolResult(entry.item.id, toolResultView(entry.item), id),
  system_item: (list, entry, id) => list.pushSystemItem(entry.item, id),
  turn_end: () => {},
  run_completed: (list, entry, id) => {
    if (entry.result !== "finished") list.push({ kind: "run_end", result: entry.result }, id);
  },
  run_errored: (list, entry, id) => list.push(errorDraft(entry.code, entry.message), id),
  llm_usage: () => {},
  extension: () => {},
};

/** Items of a segment's entries; ids are `<prefix><entry index>` (stable for the same entries). */
function itemsOfEntries(entries: readonly LogEntry[], prefix: string, nextItemId: number): ItemList {
  const list = new ItemList([], nextItemId);
  entries.forEach((entry, index) => {
    const handle = ENTRY_HANDLERS[entry.kind] as EntryHandler<LogEntry["kind"]>;
    handle(list, entry as never, `${prefix}${index}`, index === 0);
  });
  return list;
}

function usageOfEntries(entries: readonly LogEntry[]): TuiState["usage"] {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const entry of entries) {
    if (entry.kind !== "llm_usage") continue;
    inputTokens += (entry.input_tokens ?? 0) + (entry.cache_read_input_tokens ?? 0);
    outputTokens += entry.output_tokens ?? 0;
  }
  return { inputTokens, outputTokens };
}

function liveOfInFlight(inFlight: InFlightTurn): LiveTurn {
  return {
    turn: inFlight.turn,
    thinking: inFlight.thinking,
    isThinking: inFlight.thinking !== "",
    text: inFlight.text,
    toolCalls: inFlight.tool_calls.map((call) => ({ id: call.id, name: call.name, arguments: call.arguments })),
  };
}

// ---- the reducer ------------------------------------------------------------------------------

/** Apply `change` to a copy of the items; returns the state with the new items and id counter. */
function editItems(state: TuiState, change: (list: ItemList) => void): TuiState {
  const list = new ItemList([...state.items], state.nextItemId);
  change(list);
  return { ...state, items: list.items, nextItemId: list.nextItemId };
}

function appendItem(state: TuiState, draft: ItemDraft): TuiState {
  return editItems(state, (list) => list.push(draft));
}

/** A notice of the TUI's own (not from the pod), e.g. a refused command; gone at the next reseed. */
export function withLocalNotice(state: TuiState, text: string, tone: "info" | "warn" | "error" = "info"): TuiState {
  return appendItem(state, { kind: "notice", tone, text });
}

const EMPTY_LIVE: LiveTurn = { thinking: "", isThinking: false, text: "", toolCalls: [] };

/**
 * End the live turn the way the pod ends an interrupted model call: the open text block is
 * committed, open thinking and unfinished tool calls are dropped.
 */
function flushLive(state: TuiState): TuiState {
  const live = state.live;
  if (!live) return state;
  const flushed: TuiState = { ...state, live: undefined };
  return live.text === "" ? flushed : appendItem(flushed, { kind: "assistant", text: live.text });
}

function updateLive(state: TuiState, change: (live: LiveTurn) => Partial<LiveTurn>): TuiState {
  const live = state.live ?? EMPTY_LIVE;
  return { ...state, live: { ...live, ...change(live) }, retry: undefined };
}

/** A new view from entries (snapshot, rewind, rotation); the id prefix keeps ids unique. */
function reseed(state: TuiState, entries: readonly LogEntry[]): TuiState {
  const list = itemsOfEntries(entries, `s${state.nextItemId}-`, state.nextItemId + 1);
  return { ...state, items: list.items, nextItemId: list.nextItemId, live: undefined, retry: undefined, runStartIndex: undefined };
}

function startRun(state: TuiState): TuiState {
  return state.runStartIndex === undefined ? { ...state, runStartIndex: state.items.length } : state;
}

function endRun(state: TuiState, result: RunResult): TuiState {
  let next: TuiState = { ...flushLive(state), retry: undefined };
  if (result === "rolled_back" && state.runStartIndex !== undefined) next = { ...next, items: next.items.slice(0, state.runStartIndex) };
  next = { ...next, runStartIndex: undefined };
  return result === "finished" ? next : appendItem(next, { kind: "run_end", result });
}

const COMPACTING_NOTICE = "compacting the conversation…";

/** Shown under the history on each snapshot of a pod on the scripted provider (issue 16: the demo says what it is). */
export function demoModelNotice(podName: string): string {
  return (
    "this pod runs the embedded demo model: it plays a fixed script and does not read what you type. " +
    `For a real model: podd stop ${podName}, then podd start ${podName} ${REAL_MODEL_HINT}`
  );
}

type EventHandler<Name extends EventName> = (state: TuiState, event: EventOf<Name>, nowMs: number) => TuiState;

const ignore = (state: TuiState): TuiState => state;

const EVENT_HANDLERS: { [Name in EventName]: EventHandler<Name> } = {
  snapshot: (state, { data }, nowMs) => {
    const reseeded = reseed(state, data.entries);
    const alerted = state.pendingAlerts.length === 0 ? reseeded : { ...reseeded, items: [...reseeded.items, ...state.pendingAlerts] };
    const withAlerts = data.greeting.provider === "scripted" ? appendItem(alerted, { kind: "notice", tone: "info", text: demoModelNotice(data.greeting.pod_name) }) : alerted;
    const lastInvoke = data.entries.findLast((entry) => entry.kind === "invoke");
    return {
      ...withAlerts,
      greeting: data.greeting,
      status: data.status,
      compacting: false,
      live: data.in_flight ? liveOfInFlight(data.in_flight) : undefined,
      turnStartedAtMs: data.status === "running" ? (lastInvoke?.ts ?? nowMs) : undefined,
      usage: usageOfEntries(data.entries),
      contextTokens: data.greeting.context_tokens,
      contextWindow: data.greeting.context_window,
      isAwaitingSnapshot: false,
      pendingAlerts: [],
    };
  },
  status: (state, { data }, nowMs) => {
    if (data.status === "running") {
      const started = state.status === "running" ? state : { ...state, turnStartedAtMs: nowMs };
      return startRun({ ...started, status: "running" });
    }
    return { ...flushLive(state), status: data.status, turnStartedAtMs: undefined, retry: undefined, runStartIndex: undefined };
  },
  user_message: (state, { data }) => appendItem(startRun(state), { kind: "user", segments: data.segments }),
  invoke_start: (state, _event, nowMs) => startRun({ ...state, turnStartedAtMs: nowMs }),
  system_item: (state, { data }) => {
    const next = editItems(state, (list) => list.pushSystemItem(data.item));
    // After a compaction the context is about the summary (the pod's own estimate: 4 characters a token).
    if (data.item.kind === COMPACTION_SUMMARY_KIND) return { ...next, contextTokens: Math.ceil((data.item.body ?? "").length / 4) };
    return next;
  },
  turn_start: (state, { data }) => ({ ...flushLive(state), live: { ...EMPTY_LIVE, turn: data.turn } }),
  turn_end: (state) => ({ ...flushLive(state), retry: undefined }),
  llm_call_start: ignore,
  llm_call_end: (state) => ({ ...state, retry: undefined }),
  llm_retry: (state, { data }, nowMs) => {
    const attempt = data.failed_attempt + 1;
    const next = appendItem(state, {
      kind: "retry",
      attempt,
      maxAttempts: data.max_attempts,
      waitMs: data.wait_ms,
      error: data.error,
      ...(data.status !== undefined && { httpStatus: data.status }),
    });
    return { ...next, retry: { attempt, maxAttempts: data.max_attempts, retryAtMs: nowMs + data.wait_ms, error: data.error } };
  },
  llm_continuation: (state, { data }) =>
    appendItem(state, { kind: "notice", tone: "info", text: `continuing the answer (${data.reason}), attempt ${data.attempt}/${data.max_attempts}` }),
  text_delta: (state, { data }) => updateLive(state, (live) => ({ text: live.text + data.text })),
  text_done: (state, { data }) => {
    const next = updateLive(state, () => ({ text: "" }));
    return data.text === "" ? next : appendItem(next, { kind: "assistant", text: data.text });
  },
  thinking_start: (state) => updateLive(state, () => ({ thinking: "", isThinking: true })),
  thinking_delta: (state, { data }) => updateLive(state, (live) => ({ thinking: live.thinking + data.text, isThinking: true })),
  thinking_done: (state, { data }) => {
    const next = updateLive(state, () => ({ thinking: "", isThinking: false }));
    return data.text === "" ? next : appendItem(next, { kind: "thinking", text: data.text, isRedacted: false });
  },
  tool_call_start: (state, { data }) =>
    updateLive(state, (live) =>
      live.toolCalls.some((call) => call.id === data.id) ? {} : { toolCalls: [...live.toolCalls, { id: data.id, name: data.name, arguments: "" }] },
    ),
  tool_call_args_delta: (state, { data }) =>
    updateLive(state, (live) => ({
      toolCalls: live.toolCalls.map((call) => (call.id === data.id ? { ...call, arguments: call.arguments + data.json } : call)),
    })),
  tool_call_done: (state, { data }) => {
    const next = updateLive(state, (live) => ({ toolCalls: live.toolCalls.filter((call) => call.id !== data.id) }));
    return appendItem(next, { kind: "tool_call", callId: data.id, name: data.name, arguments: data.arguments });
  },
  tool_result: (state, { data }) => editItems(state, (list) => list.attachToolResult(data.id, toolResultView(data))),
  usage: (state, { data }) => {
    const values = [data.input_tokens, data.output_tokens, data.cache_read_input_tokens];
    if (values.every((value) => value === undefined)) return { ...state, retry: undefined };
    const input = (data.input_tokens ?? 0) + (data.cache_read_input_tokens ?? 0);
    const output = data.output_tokens ?? 0;
    return {
      ...state,
      retry: undefined,
      usage: { inputTokens: state.usage.inputTokens + input, outputTokens: state.usage.outputTokens + output },
      contextTokens: input + output,
    };
  },
  run_end: (state, { data }) => endRun(state, data.result),
  error: (state, { data }) => appendItem({ ...flushLive(state), retry: undefined }, errorDraft(data.code, data.message)),
  alert: (state, { data }) => {
    const next = appendItem(state, { kind: "alert", level: data.level, source: data.source, message: data.message });
    if (!state.isAwaitingSnapshot) return next;
    const alert = next.items.at(-1) as TranscriptItem;
    return { ...next, pendingAlerts: [...state.pendingAlerts, alert] };
  },
  segment_rotated: (state, { data }) => {
    const draft = segmentStartDraft(data.entry, false);
    const reseeded = reseed(state, []);
    const withMarker = draft ? appendItem(reseeded, draft) : reseeded;
    if (state.runStartIndex === undefined) return withMarker;
    // A run in progress (e.g. its user message, sent before an automatic compaction) stays in
    // view; the "compacting…" notice does not (the compaction is done).
    const runItems = state.items.slice(state.runStartIndex).filter((item) => !(item.kind === "notice" && item.text === COMPACTING_NOTICE));
    return {
      ...withMarker,
      items: [...withMarker.items, ...runItems],
      runStartIndex: withMarker.items.length,
      live: state.live,
      retry: state.retry,
    };
  },
  compact_start: (state) => ({ ...appendItem(state, { kind: "notice", tone: "info", text: COMPACTING_NOTICE }), compacting: true }),
  compact_done: (state) => (state.compacting ? { ...state, compacting: false } : state),
  compact_failed: (state, { data }) => ({ ...appendItem(state, { kind: "notice", tone: "error", text: `compaction failed: ${data.error}` }), compacting: false }),
  rewind_targets: ignore,
  rewind_applied: (state, { data }) => ({
    ...appendItem(reseed(state, data.entries), { kind: "rewind", summary: rewindSummaryText(data.summary) }),
    lastRewind: { input: data.input, summary: rewindSummaryText(data.summary) },
  }),
  completions: ignore,
  visible_pods: ignore,
  pod_inspection: ignore,
  pod_attach_restore: ignore,
  ack: ignore,
  shutdown: (state) => appendItem(flushLive(state), { kind: "notice", tone: "warn", text: "the pod shut down" }),
};

/** Fold one wire event into the state (pure). `nowMs` is the client's clock, for timers. */
export function reduceEvent(state: TuiState, event: Event, nowMs: number): TuiState {
  const handle = EVENT_HANDLERS[event.event] as EventHandler<EventName> | undefined;
  return handle ? handle(state, event as never, nowMs) : state;
}
