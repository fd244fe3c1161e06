/**
 * Methods: what a client (the CLI, the terminal UI, a script, a child pod) sends to a pod,
 * one per line: `{"method":"<snake_case>","params":{…}}`; unit methods carry no `params`.
 *
 * Source: the reference's `protocol::Method` (serde adjacently tagged, snake_case). podd
 * extensions are optional fields an old peer never sends: the envelope `id` (echoed as
 * `reply_to`), `notify.params.wake`, and `cancel.params.cascade`.
 */
import { z } from "zod";
import { PodEvent } from "./pod-event.js";
import { Segment } from "./segment.js";

export const RequestId = z
  .union([z.string().max(256), z.number()])
  .describe("podd extension: client-chosen id, echoed as `reply_to` on every reply or error the method causes.");
export type RequestId = z.infer<typeof RequestId>;

export const RewindTargetId = z.object({
  segment_id: z
    .string()
    .describe("The segment's id: a UUID (the reference's `uuid::Uuid`). A podd pod also takes the ULID a pre-UUID podd used for the same segment."),
  user_input_entry_index: z.number().int().nonnegative().describe("Index of the user_input entry in the segment's entries."),
});
export type RewindTargetId = z.infer<typeof RewindTargetId>;

export const CompletionKind = z.enum(["file", "knowledge", "workflow"]);
export type CompletionKind = z.infer<typeof CompletionKind>;

function method<const Name extends string, Params extends z.ZodType>(name: Name, params: Params) {
  return z.object({ method: z.literal(name), params, id: RequestId.optional() });
}
function unitMethod<const Name extends string>(name: Name) {
  return z.object({ method: z.literal(name), id: RequestId.optional() });
}
/**
 * A unit method that may carry podd-extension `params`: `{"method":"<name>"}` (what a
 * reference client sends) stays valid; params, when present, are validated like any method's.
 */
function unitMethodWithOptionalParams<const Name extends string, Params extends z.ZodType>(name: Name, params: Params) {
  return z.object({ method: z.literal(name), params: params.optional(), id: RequestId.optional() });
}

export const RunMethod = method("run", z.object({ input: z.array(Segment).describe("The user turn.") }));
export const NotifyMethod = method(
  "notify",
  z.object({
    message: z.string().describe("Free text for the model; not a blocking request."),
    wake: z
      .boolean()
      .optional()
      .describe("podd extension (default true): false queues the message for the next model request without starting a turn."),
  }),
);
export const PodEventMethod = method("pod_event", PodEvent);
export const ResumeMethod = unitMethod("resume");
export const CancelMethod = unitMethodWithOptionalParams(
  "cancel",
  z
    .object({
      cascade: z
        .boolean()
        .optional()
        .describe(
          "podd extension (default false): also cancel the runs of this pod's descendants (the pod forwards the cancel to its children, which forward it to theirs).",
        ),
    })
    .describe("podd extension; a reference client sends no params."),
);
export const PauseMethod = unitMethod("pause");
export const CompactMethod = unitMethod("compact");
export const ListRewindTargetsMethod = unitMethod("list_rewind_targets");
export const RewindToMethod = method(
  "rewind_to",
  z.object({
    target: RewindTargetId,
    expected_head_entries: z.number().int().nonnegative().describe("Entry count the client saw; a mismatch refuses the rewind."),
  }),
);
export const ShutdownMethod = unitMethod("shutdown");
export const ListCompletionsMethod = method(
  "list_completions",
  z.object({ kind: CompletionKind, prefix: z.string().max(4096) }),
);
export const ListVisiblePodsMethod = unitMethod("list_visible_pods");
export const InspectPodMethod = method("inspect_pod", z.object({ name: z.string() }));
export const AttachOrRestorePodMethod = method("attach_or_restore_pod", z.object({ name: z.string() }));

export const Method = z.discriminatedUnion("method", [
  RunMethod,
  NotifyMethod,
  PodEventMethod,
  ResumeMethod,
  CancelMethod,
  PauseMethod,
  CompactMethod,
  ListRewindTargetsMethod,
  RewindToMethod,
  ShutdownMethod,
  ListCompletionsMethod,
  ListVisiblePodsMethod,
  InspectPodMethod,
  AttachOrRestorePodMethod,
]);
export type Method = z.output<typeof Method>;
export type MethodName = Method["method"];
export const METHOD_NAMES: readonly MethodName[] = Method.options.map((option) => option.shape.method.value);
