/**
 * Log entries: the committed history of a session segment. Each is one JSON line in
 * `<data>/sessions/<session>/<segment>.jsonl`, and the `entries` of a `snapshot` event — the
 * same shape on disk and on the wire, so keep it stable.
 *
 * Source: the reference's `LogEntry` (tagged by `kind`, every entry carries `ts`, ms since
 * the Unix epoch); items inside are tagged by `kind` too.
 */
import { z } from "zod";
import { PodEvent } from "./pod-event.js";
import { Segment } from "./segment.js";

export const TimestampMs = z.number().int().nonnegative().describe("Milliseconds since the Unix epoch.");

export const ErrorCode = z.enum([
  "already_running",
  "not_running",
  "not_paused",
  "provider_error",
  "tool_error",
  "invalid_request",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const PodStatus = z.enum(["idle", "running", "paused"]);
export type PodStatus = z.infer<typeof PodStatus>;

export const TurnResult = z.enum(["finished", "paused"]);
export type TurnResult = z.infer<typeof TurnResult>;

export const RunResult = z.enum(["finished", "paused", "limit_reached", "rolled_back"]);
export type RunResult = z.infer<typeof RunResult>;

/**
 * The message of the `error` event (and `run_errored` entry) that ends a cancelled run, with
 * code `internal`: the reference's shape for a cancel (its `WorkerError::Cancelled`), which
 * has no run result of its own. A shutdown that cuts a run short ends it the same way.
 */
export const CANCELLED_MESSAGE = "Cancelled";

/** Whether an `error` / `run_errored` `{code, message}` is a cancelled run rather than a failure. */
export function isCancellation(error: { code: string; message: string }): boolean {
  return error.code === "internal" && error.message === CANCELLED_MESSAGE;
}

export const InvokeKind = z.enum(["user_send", "notify", "pod_event", "system_reminder", "wakeup"]);
export type InvokeKind = z.infer<typeof InvokeKind>;

// ---- items ---------------------------------------------------------------------------

export const MessageItem = z.object({
  kind: z.literal("message"),
  role: z.enum(["assistant", "user", "system"]),
  content: z.string(),
});
export type MessageItem = z.infer<typeof MessageItem>;

export const ToolCallItem = z.object({
  kind: z.literal("tool_call"),
  id: z.string(),
  name: z.string(),
  arguments: z.string().describe("The tool input as a JSON string, exactly as the model produced it."),
});
export type ToolCallItem = z.infer<typeof ToolCallItem>;

export const ReasoningItem = z.object({
  kind: z.literal("reasoning"),
  text: z.string(),
  signature: z.string().optional().describe("Provider signature to send back with the reasoning (Anthropic)."),
  redacted_data: z
    .string()
    .optional()
    .describe("podd extension: an encrypted reasoning block (Anthropic `redacted_thinking`), sent back as is; `text` is empty."),
});
export type ReasoningItem = z.infer<typeof ReasoningItem>;

export const ToolResultItem = z.object({
  kind: z.literal("tool_result"),
  id: z.string().describe("The id of the tool call this answers."),
  summary: z.string().describe("One line for humans."),
  output: z.string().optional().describe("What the model reads (capped by the tool)."),
  is_error: z.boolean(),
});
export type ToolResultItem = z.infer<typeof ToolResultItem>;

export const AssistantItem = z.discriminatedUnion("kind", [MessageItem, ToolCallItem, ReasoningItem]);
export type AssistantItem = z.infer<typeof AssistantItem>;

// ---- system items ---------------------------------------------------------------------

export const NotificationSystemItem = z.object({
  kind: z.literal("notification"),
  message: z.string().describe("The notify message as sent."),
  body: z.string().describe("The exact text the model saw."),
});
export const PodEventSystemItem = z.object({
  kind: z.literal("pod_event"),
  event: PodEvent,
  body: z.string().describe("The exact text the model saw."),
});
export const InterruptSystemItem = z.object({
  kind: z.literal("interrupt"),
  body: z.string().describe("The exact text the model saw."),
});
export const FileAttachmentSystemItem = z.object({
  kind: z.literal("file_attachment"),
  path: z.string(),
  body: z.string().describe("The exact text the model saw."),
});

/**
 * The system item kind of the summary that opens a compacted segment (`{kind, body}`; the body is
 * what the model reads in place of the summarised history). A podd kind: it passes as a free
 * item, so it needs no schema of its own.
 */
export const COMPACTION_SUMMARY_KIND = "compaction_summary";

const KNOWN_SYSTEM_ITEM_KINDS: ReadonlySet<string> = new Set(["notification", "pod_event", "interrupt", "file_attachment"]);

/**
 * A system item: text the pod itself put into the model's context. Kinds beyond the four
 * named here pass through as free JSON (the reference treats `item` as opaque), so newer
 * pods can add kinds without breaking older readers.
 */
export const SystemItem = z.union([
  z.discriminatedUnion("kind", [NotificationSystemItem, PodEventSystemItem, InterruptSystemItem, FileAttachmentSystemItem]),
  z.looseObject({
    kind: z
      .string()
      .refine((kind) => !KNOWN_SYSTEM_ITEM_KINDS.has(kind), { message: "known system item kind with invalid fields", abort: true }),
    body: z.string().optional(),
  }),
]);
export type SystemItem = z.output<typeof SystemItem>;

// ---- entries ---------------------------------------------------------------------------

export const SegmentStartEntry = z.object({
  kind: z.literal("segment_start"),
  ts: TimestampMs,
  segment_id: z.string(),
  session_id: z.string(),
  pod_name: z.string(),
  compacted_from: z.string().optional().describe("Segment id this one summarises (compaction)."),
  forked_from: z
    .object({ pod_name: z.string(), session_id: z.string(), segment_id: z.string(), entry_index: z.number().int() })
    .optional()
    .describe("Provenance of a forked session."),
});
export type SegmentStartEntry = z.infer<typeof SegmentStartEntry>;

export const InvokeEntry = z.object({ kind: z.literal("invoke"), ts: TimestampMs, invoke_kind: InvokeKind });
export const UserInputEntry = z.object({ kind: z.literal("user_input"), ts: TimestampMs, segments: z.array(Segment) });
export const AssistantItemEntry = z.object({ kind: z.literal("assistant_item"), ts: TimestampMs, item: AssistantItem });
export const ToolResultEntry = z.object({ kind: z.literal("tool_result"), ts: TimestampMs, item: ToolResultItem });
export const SystemItemEntry = z.object({ kind: z.literal("system_item"), ts: TimestampMs, item: SystemItem });
export const TurnEndEntry = z.object({
  kind: z.literal("turn_end"),
  ts: TimestampMs,
  turn: z.number().int().nonnegative(),
  result: TurnResult,
});
export const RunCompletedEntry = z.object({ kind: z.literal("run_completed"), ts: TimestampMs, result: RunResult });
export const RunErroredEntry = z.object({ kind: z.literal("run_errored"), ts: TimestampMs, code: ErrorCode, message: z.string() });
export const LlmUsageEntry = z.object({
  kind: z.literal("llm_usage"),
  ts: TimestampMs,
  llm_call: z.number().int().nonnegative(),
  input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
  cache_read_input_tokens: z.number().int().nonnegative().optional(),
  cache_creation_input_tokens: z.number().int().nonnegative().optional(),
});
export const ExtensionEntry = z.object({
  kind: z.literal("extension"),
  ts: TimestampMs,
  name: z.string(),
  data: z.unknown(),
});

export const LogEntry = z.discriminatedUnion("kind", [
  SegmentStartEntry,
  InvokeEntry,
  UserInputEntry,
  AssistantItemEntry,
  ToolResultEntry,
  SystemItemEntry,
  TurnEndEntry,
  RunCompletedEntry,
  RunErroredEntry,
  LlmUsageEntry,
  ExtensionEntry,
]);
export type LogEntry = z.output<typeof LogEntry>;
export type LogEntryKind = LogEntry["kind"];

/** One line of a session file as a LogEntry, or undefined when it is not JSON or not a valid entry. */
export function parseLogEntryLine(text: string): LogEntry | undefined {
  try {
    const parsed = LogEntry.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
