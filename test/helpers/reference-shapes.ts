/**
 * A test-side transcription of the reference's serde types (its `protocol` crate, the pod-era
 * revision `../shared/seeds/001_94cdd8bec6a0e3ba.txt` is built on), written from the Rust, not
 * from podd's protocol/ — so a podd change that a reference client could not decode fails here.
 *
 * What serde does, and how it is transcribed:
 * - unknown fields are ignored (no `deny_unknown_fields` in the crate): z.object strips them;
 * - an unknown event name, method name or enum value is an error (closed z.enum / z.literal);
 * - `Option<T>` accepts a missing field or `null`; other fields are required unless `#[serde(default)]`;
 * - `uuid::Uuid` wants a UUID (hyphenated here: what podd sends), `u32`/`u16`/`usize`/`u64`
 *   non-negative integers in range, `i64` an integer;
 * - a unit variant of an adjacently tagged enum (`Method::Cancel`, `Event::Shutdown`) takes no content.
 *
 * Keep it small: `serde_json::Value` fields (snapshot entries, `system_item.item`, discovery
 * payloads) are free JSON to the reference and are not looked into.
 */
import { z } from "zod";

const usize = z.number().int().nonnegative();
const u64 = usize;
const u32 = z.number().int().min(0).max(0xffff_ffff);
const u16 = z.number().int().min(0).max(0xffff);
const i64 = z.number().int();
/** `uuid::Uuid` (serde's human-readable form). */
const Uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "UUID parsing failed");
/** `Option<T>`: missing or null. */
const option = <T extends z.ZodType>(type: T) => type.nullable().optional();
const value = z.unknown();

/** `protocol::Segment` (internally tagged by `kind`; `#[serde(other)] Unknown` takes any other kind). */
const KNOWN_SEGMENTS = {
  text: z.object({ content: z.string() }),
  paste: z.object({ id: u32, chars: u32, lines: u32, content: z.string() }),
  file_ref: z.object({ path: z.string() }),
  knowledge_ref: z.object({ slug: z.string() }),
  workflow_invoke: z.object({ slug: z.string() }),
} as const;
export const RefSegment = z.object({ kind: z.string() }).passthrough().superRefine((segment, context) => {
  const known = KNOWN_SEGMENTS[segment.kind as keyof typeof KNOWN_SEGMENTS] as z.ZodType | undefined;
  const result = known?.safeParse(segment);
  if (result && !result.success) for (const issue of result.error.issues) context.addIssue({ code: "custom", message: issue.message, path: issue.path });
});

export const RefPodStatus = z.enum(["idle", "running", "paused"]);
export const RefTurnResult = z.enum(["finished", "paused"]);
export const RefInvokeKind = z.enum(["user_send", "notify", "pod_event", "system_reminder", "wakeup"]);
export const RefRunResult = z.enum(["finished", "paused", "limit_reached", "rolled_back"]);
export const RefErrorCode = z.enum(["already_running", "not_running", "not_paused", "provider_error", "tool_error", "invalid_request", "internal"]);
export const RefAlertLevel = z.enum(["warn", "error"]);
/** `protocol::AlertSource`. */
export const RefAlertSource = z.enum(["pod", "worker", "compactor", "agents_md"]);
export const RefCompletionKind = z.enum(["file", "knowledge", "workflow"]);

/** `protocol::ScopeRule` (`recursive` has a serde default). */
const RefScopeRule = z.object({ target: z.string(), permission: z.enum(["read", "write"]), recursive: z.boolean().optional() });

/** `protocol::PodEvent` (internally tagged by `kind`). */
export const RefPodEvent = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("turn_ended"), pod_name: z.string() }),
  z.object({ kind: z.literal("errored"), pod_name: z.string(), message: z.string() }),
  z.object({ kind: z.literal("shut_down"), pod_name: z.string() }),
  z.object({ kind: z.literal("scope_sub_delegated"), parent_pod: z.string(), sub_pod: z.string(), sub_socket: z.string(), scope: z.array(RefScopeRule) }),
]);

/** `protocol::RewindTargetId`. */
const RefRewindTargetId = z.object({ segment_id: Uuid, user_input_entry_index: usize });

/** `protocol::Greeting` (`context_window`, `context_tokens` have serde defaults). */
const RefGreeting = z.object({
  pod_name: z.string(),
  cwd: z.string(),
  provider: z.string(),
  model: z.string(),
  scope_summary: z.string(),
  tools: z.array(z.string()),
  context_window: u64.optional(),
  context_tokens: u64.optional(),
});

/** `protocol::RewindTarget`. */
const RefRewindTarget = z.object({
  id: RefRewindTargetId,
  expected_head_entries: usize,
  truncate_entries: usize,
  turn_index: usize,
  timestamp_ms: option(u64),
  preview: z.string(),
  eligible: z.boolean(),
  disabled_reason: option(z.string()),
  warning: option(z.string()),
});

/** `protocol::RewindSummary`. */
const RefRewindSummary = z.object({ truncated_to_entries: usize, discarded_entries: usize, tool_side_effect_warning: z.boolean() });

const unit = z.null().optional();

/** `protocol::Method` data, by wire name (adjacently tagged: `method` + `params`). `undefined` marks a unit variant. */
const METHOD_PARAMS: Record<string, z.ZodType | undefined> = {
  run: z.object({ input: z.array(RefSegment) }),
  notify: z.object({ message: z.string() }),
  pod_event: RefPodEvent,
  resume: undefined,
  cancel: undefined,
  pause: undefined,
  compact: undefined,
  list_rewind_targets: undefined,
  rewind_to: z.object({ target: RefRewindTargetId, expected_head_entries: usize }),
  shutdown: undefined,
  list_completions: z.object({ kind: RefCompletionKind, prefix: z.string() }),
  list_visible_pods: undefined,
  inspect_pod: z.object({ name: z.string() }),
  attach_or_restore_pod: z.object({ name: z.string() }),
};

/** `protocol::Event` data, by wire name (adjacently tagged: `event` + `data`). `undefined` marks a unit variant. */
const EVENT_DATA: Record<string, z.ZodType | undefined> = {
  user_message: z.object({ segments: z.array(RefSegment) }),
  system_item: z.object({ item: value }),
  invoke_start: z.object({ kind: RefInvokeKind }),
  turn_start: z.object({ turn: usize }),
  turn_end: z.object({ turn: usize, result: RefTurnResult }),
  llm_call_start: z.object({ llm_call: usize }),
  llm_call_end: z.object({ llm_call: usize }),
  llm_retry: z.object({ llm_call: usize, failed_attempt: u32, max_attempts: u32, wait_ms: u64, elapsed_ms: u64, status: option(u16), error: z.string() }),
  llm_continuation: z.object({ llm_call: usize, attempt: u32, max_attempts: u32, reason: z.string() }),
  text_delta: z.object({ text: z.string() }),
  text_done: z.object({ text: z.string() }),
  thinking_start: undefined,
  thinking_delta: z.object({ text: z.string() }),
  thinking_done: z.object({ text: z.string() }),
  tool_call_start: z.object({ id: z.string(), name: z.string() }),
  tool_call_args_delta: z.object({ id: z.string(), json: z.string() }),
  tool_call_done: z.object({ id: z.string(), name: z.string(), arguments: z.string() }),
  tool_result: z.object({ id: z.string(), summary: z.string(), output: option(z.string()), is_error: z.boolean().optional() }),
  usage: z.object({ input_tokens: option(u64), output_tokens: option(u64), cache_read_input_tokens: option(u64) }),
  run_end: z.object({ result: RefRunResult }),
  error: z.object({ code: RefErrorCode, message: z.string() }),
  snapshot: z.object({ entries: z.array(value), greeting: RefGreeting, status: RefPodStatus.optional() }),
  segment_rotated: z.object({ entry: value }),
  status: z.object({ status: RefPodStatus }),
  completions: z.object({ kind: RefCompletionKind, entries: z.array(z.object({ value: z.string(), is_dir: z.boolean().optional() })) }),
  rewind_targets: z.object({ head_entries: usize, targets: z.array(RefRewindTarget) }),
  rewind_applied: z.object({ entries: z.array(value), input: z.array(RefSegment), summary: RefRewindSummary }),
  visible_pods: z.object({ pods: value }),
  pod_inspection: z.object({ pod: value }),
  pod_attach_restore: z.object({ result: value }),
  alert: z.object({ level: RefAlertLevel, source: RefAlertSource, message: z.string(), timestamp_ms: i64 }),
  compact_start: undefined,
  compact_done: z.object({ new_segment_id: Uuid }),
  compact_failed: z.object({ error: z.string() }),
  shutdown: undefined,
};

export const REFERENCE_EVENT_NAMES: readonly string[] = Object.keys(EVENT_DATA);
export const REFERENCE_METHOD_NAMES: readonly string[] = Object.keys(METHOD_PARAMS);

function checkTagged(line: string, tag: "event" | "method", content: "data" | "params", table: Record<string, z.ZodType | undefined>): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "not a JSON object";
  const record = parsed as Record<string, unknown>;
  const name = record[tag];
  if (typeof name !== "string") return `no "${tag}" tag`;
  if (!Object.hasOwn(table, name)) return `unknown variant \`${name}\``;
  const schema = table[name];
  const result = (schema ?? unit).safeParse(record[content]);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const where = [content, ...(issue?.path ?? [])].join(".");
  return `${name}: ${schema ? "" : "unit variant takes no content; "}${where}: ${issue?.message ?? "invalid"}`;
}

/** Why a reference client (`serde_json::from_str::<protocol::Event>`) cannot decode this line, or undefined when it can. */
export function referenceEventProblem(line: string): string | undefined {
  return checkTagged(line, "event", "data", EVENT_DATA);
}

/** Why a reference pod (`serde_json::from_str::<protocol::Method>`) cannot decode this line, or undefined when it can. */
export function referenceMethodProblem(line: string): string | undefined {
  return checkTagged(line, "method", "params", METHOD_PARAMS);
}
