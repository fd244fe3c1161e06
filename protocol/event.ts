/**
 * Events: what a pod sends to its clients, one per line: `{"event":"<snake_case>","data":{…}}`;
 * unit events carry no `data`.
 *
 * Source: the reference's `protocol::Event` (serde adjacently tagged, snake_case). A
 * reference client stops reading at an unknown event name or enum value, so podd sends
 * names outside the reference's set (`ack`) only to a client that opted in by sending an
 * `id`; new information goes into optional fields (`snapshot.in_flight`).
 */
import { z } from "zod";
import {
  ErrorCode,
  InvokeKind,
  LogEntry,
  PodStatus,
  RunResult,
  SegmentStartEntry,
  SystemItem,
  TimestampMs,
  TurnResult,
} from "./log-entry.js";
import { CompletionKind, RequestId, RewindTargetId } from "./method.js";
import { Segment } from "./segment.js";

const Count = z.number().int().nonnegative();

export const Greeting = z.object({
  pod_name: z.string(),
  cwd: z.string().describe("The pod's working directory (absolute)."),
  provider: z.string().describe("Provider name, e.g. `scripted`, `anthropic`, `openai_chat`."),
  model: z.string(),
  scope_summary: z.string().describe("Human-readable summary of the pod's path scope."),
  tools: z.array(z.string()).describe("Names of the registered tools, sorted."),
  context_window: Count.describe("Model context window in tokens."),
  context_tokens: Count.describe("Tokens the current context occupies, as last reported by the model."),
  max_output_tokens: Count.optional().describe("podd extension: cap on output tokens per model request."),
});
export type Greeting = z.infer<typeof Greeting>;

export const AlertLevel = z.enum(["warn", "error"]);
export type AlertLevel = z.infer<typeof AlertLevel>;
/**
 * Where an alert comes from: the reference's closed `AlertSource` enum (a reference client stops
 * reading at a value outside it, and alerts are replayed to every new connection).
 */
export const AlertSource = z.enum(["pod", "worker", "compactor", "agents_md"]);
export type AlertSource = z.infer<typeof AlertSource>;
/**
 * podd's finer source of an alert. Each maps onto one reference `AlertSource` (ALERT_SOURCE_OF);
 * the subsystem also leads the message (`ipc: …`), so a client that does not know this field loses nothing.
 */
export const AlertSubsystem = z.enum(["pod", "ipc", "session", "disk", "tool", "mcp", "compaction"]);
export type AlertSubsystem = z.infer<typeof AlertSubsystem>;
export const ALERT_SOURCE_OF: Readonly<Record<AlertSubsystem, AlertSource>> = {
  pod: "pod",
  ipc: "pod",
  session: "pod",
  disk: "pod",
  tool: "worker",
  mcp: "worker",
  compaction: "compactor",
};

export const Alert = z.object({
  level: AlertLevel,
  source: AlertSource,
  message: z.string(),
  timestamp_ms: TimestampMs,
  subsystem: AlertSubsystem.optional().describe("podd extension, sent only to a client that sent an `id`: the podd subsystem that raised it."),
});
export type Alert = z.infer<typeof Alert>;

export const InFlightTurn = z
  .object({
    turn: Count,
    llm_call: Count.optional(),
    thinking: z.string().describe("Reasoning text streamed so far in the open model call."),
    text: z.string().describe("Assistant text streamed so far in the open model call."),
    tool_calls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string().describe("JSON text so far.") })),
  })
  .describe("podd extension: the partial turn in flight when the snapshot was taken.");
export type InFlightTurn = z.infer<typeof InFlightTurn>;

/** Source: the reference's `protocol::RewindTarget`; every field is sent to every client. */
export const RewindTarget = z.object({
  id: RewindTargetId,
  expected_head_entries: Count.describe("The segment's entry count when the targets were listed; send it back in `rewind_to`."),
  truncate_entries: Count.describe("Entries the segment keeps when rewound to this target (it is cut before the run that input started)."),
  turn_index: Count.describe("0-based index of this user input among the segment's user inputs."),
  timestamp_ms: TimestampMs.nullable().describe("When the input was committed (ms since the epoch)."),
  preview: z.string().describe("The user input's text, flattened and shortened."),
  eligible: z.boolean().describe("A rewind to this target would be accepted now."),
  disabled_reason: z.string().optional().describe("Why it is not eligible."),
  warning: z.string().optional().describe("What a rewind here cannot undo: tool calls with side effects (write_file, edit_file, bash) in the discarded entries."),
});
export type RewindTarget = z.infer<typeof RewindTarget>;

/** Source: the reference's `protocol::RewindSummary`. */
export const RewindSummary = z.object({
  truncated_to_entries: Count.describe("Entries the segment has after the rewind."),
  discarded_entries: Count.describe("Entries the rewind removed."),
  tool_side_effect_warning: z.boolean().describe("The removed entries include tool calls with side effects (write_file, edit_file, bash) that the rewind did not undo."),
});
export type RewindSummary = z.infer<typeof RewindSummary>;

export const CompletionEntry = z.object({ value: z.string(), is_dir: z.boolean() });
export type CompletionEntry = z.infer<typeof CompletionEntry>;

function event<const Name extends string, Data extends z.ZodType>(name: Name, data: Data) {
  return z.object({ event: z.literal(name), data, reply_to: RequestId.optional() });
}
function unitEvent<const Name extends string>(name: Name) {
  return z.object({ event: z.literal(name), reply_to: RequestId.optional() });
}

export const Event = z.discriminatedUnion("event", [
  event(
    "snapshot",
    z.object({
      entries: z.array(LogEntry).describe("The current segment's committed entries."),
      greeting: Greeting,
      status: PodStatus,
      in_flight: InFlightTurn.optional(),
    }),
  ),
  event("status", z.object({ status: PodStatus })),
  event("user_message", z.object({ segments: z.array(Segment) })),
  event("invoke_start", z.object({ kind: InvokeKind })),
  event("system_item", z.object({ item: SystemItem })),
  event("turn_start", z.object({ turn: Count.describe("Cumulative turn index of the pod.") })),
  event("turn_end", z.object({ turn: Count, result: TurnResult })),
  event("llm_call_start", z.object({ llm_call: Count.describe("Cumulative model-call index of the pod.") })),
  event("llm_call_end", z.object({ llm_call: Count })),
  event(
    "llm_retry",
    z.object({
      llm_call: Count,
      failed_attempt: Count.describe("1-based attempt that failed."),
      max_attempts: Count,
      wait_ms: Count.describe("Backoff before the next attempt, ms."),
      elapsed_ms: Count.describe("Time since the first attempt, ms."),
      status: Count.optional().describe("HTTP status of the failure, when there was one."),
      error: z.string(),
    }),
  ),
  event(
    "llm_continuation",
    z.object({ llm_call: Count, attempt: Count, max_attempts: Count, reason: z.string() }),
  ),
  event("text_delta", z.object({ text: z.string() })),
  event("text_done", z.object({ text: z.string().describe("The whole text block.") })),
  unitEvent("thinking_start"),
  event("thinking_delta", z.object({ text: z.string() })),
  event("thinking_done", z.object({ text: z.string() })),
  event("tool_call_start", z.object({ id: z.string(), name: z.string() })),
  event("tool_call_args_delta", z.object({ id: z.string(), json: z.string() })),
  event("tool_call_done", z.object({ id: z.string(), name: z.string(), arguments: z.string().describe("JSON text.") })),
  event(
    "tool_result",
    z.object({ id: z.string(), summary: z.string(), output: z.string().optional(), is_error: z.boolean() }),
  ),
  event(
    "usage",
    z.object({
      input_tokens: Count.optional(),
      output_tokens: Count.optional(),
      cache_read_input_tokens: Count.optional(),
    }),
  ),
  event("run_end", z.object({ result: RunResult })),
  event("error", z.object({ code: ErrorCode, message: z.string() })),
  event("alert", Alert),
  event("segment_rotated", z.object({ entry: SegmentStartEntry })),
  unitEvent("compact_start"),
  event(
    "compact_done",
    z.object({ new_segment_id: z.string().describe("The new segment's id: a UUID (the reference's `uuid::Uuid`); see src/config/ids.ts.") }),
  ),
  event("compact_failed", z.object({ error: z.string() })),
  event("rewind_targets", z.object({ head_entries: Count, targets: z.array(RewindTarget) })),
  event(
    "rewind_applied",
    z.object({ entries: z.array(LogEntry), input: z.array(Segment), summary: RewindSummary }),
  ),
  event("completions", z.object({ kind: CompletionKind, entries: z.array(CompletionEntry) })),
  event("visible_pods", z.object({ pods: z.unknown() })),
  event("pod_inspection", z.object({ pod: z.unknown() })),
  event("pod_attach_restore", z.object({ result: z.unknown() })),
  event(
    "ack",
    z.object({ method: z.string().describe("The method accepted.") }),
  ).describe("podd extension, sent only to a client that sent an `id`: the method was accepted."),
  unitEvent("shutdown"),
]);
export type Event = z.output<typeof Event>;
export type EventName = Event["event"];
export type EventOf<Name extends EventName> = Extract<Event, { event: Name }>;
export type EventData<Name extends EventName> = EventOf<Name> extends { data: infer Data } ? Data : undefined;
export const EVENT_NAMES: readonly EventName[] = Event.options.map((option) => option.shape.event.value);
/**
 * The event as a client that has not opted in (sent no `id`) gets it: without podd-extension
 * fields that only opted-in clients get (`alert.subsystem`). Returns `event` itself when there is
 * nothing to remove, so a caller can tell whether a second encoding is needed.
 */
export function referenceForm(event: Event): Event {
  if (event.event === "alert" && event.data.subsystem !== undefined) {
    const { subsystem: _subsystem, ...data } = event.data;
    return { ...event, data };
  }
  return event;
}

/** Events a reference client does not know; sent only to clients that opted in with an `id`. */
export const EXTENSION_EVENT_NAMES: ReadonlySet<EventName> = new Set(["ack"]);
