/**
 * PodEvent: a child pod's lifecycle report, sent to the parent's socket as
 * `{"method":"pod_event","params":{"kind":…}}` (flat, tagged by `kind`).
 *
 * Source: the reference's `protocol::PodEvent`. Receivers must tolerate duplicates and
 * out-of-order arrival (a `turn_ended` after `shut_down`). podd extension: an optional
 * `report_id` on every kind, which a podd child sets and keeps across retries so a podd parent
 * can take each report once (behaviour.md, Upward reports).
 */
import { z } from "zod";
import { podNameProblem } from "./pod-name.js";

export const PodName = z
  .string()
  .superRefine((name, ctx) => {
    const problem = podNameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("Pod name: 1-64 characters of [A-Za-z0-9._-], not . or ..");
export type PodName = z.infer<typeof PodName>;

export const Permission = z.enum(["read", "write"]).describe("write implies read.");
export type Permission = z.infer<typeof Permission>;

export const ScopeRule = z.object({
  target: z.string().describe("Absolute path the rule applies to."),
  permission: Permission,
  recursive: z.boolean().default(true).describe("Whether the rule covers everything below `target`."),
});
export type ScopeRule = z.output<typeof ScopeRule>;

export const ReportId = z
  .string()
  .min(1)
  .max(256)
  .describe(
    "podd extension: the sender's id for this report, the same on every retry of it (at-least-once delivery). " +
      "A podd parent queues a report whose sender (`pod_name`, or `parent_pod` for scope_sub_delegated) and `report_id` it has already taken only once. " +
      "Reference children never send it; reference parents ignore it.",
  );
export type ReportId = z.infer<typeof ReportId>;

export const TurnEndedPodEvent = z.object({ kind: z.literal("turn_ended"), pod_name: z.string(), report_id: ReportId.optional() });
export const ErroredPodEvent = z.object({ kind: z.literal("errored"), pod_name: z.string(), message: z.string(), report_id: ReportId.optional() });
export const ShutDownPodEvent = z.object({ kind: z.literal("shut_down"), pod_name: z.string(), report_id: ReportId.optional() });
export const ScopeSubDelegatedPodEvent = z.object({
  kind: z.literal("scope_sub_delegated"),
  parent_pod: z.string(),
  sub_pod: z.string(),
  sub_socket: z.string().describe("Absolute path of the sub pod's socket."),
  scope: z.array(ScopeRule),
  report_id: ReportId.optional(),
});

export const PodEvent = z.discriminatedUnion("kind", [
  TurnEndedPodEvent,
  ErroredPodEvent,
  ShutDownPodEvent,
  ScopeSubDelegatedPodEvent,
]);
export type PodEvent = z.output<typeof PodEvent>;

/** The line the parent's model reads for a PodEvent (behaviour.md, Notifications). */
export function describePodEvent(event: PodEvent): string {
  switch (event.kind) {
    case "turn_ended":
      return `pod \`${event.pod_name}\` finished a turn`;
    case "errored":
      return `pod \`${event.pod_name}\` errored: ${event.message}`;
    case "shut_down":
      return `pod \`${event.pod_name}\` shut down`;
    case "scope_sub_delegated":
      return `pod \`${event.parent_pod}\` sub-delegated scope to \`${event.sub_pod}\``;
  }
}
