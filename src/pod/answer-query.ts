/**
 * The read-only methods: `list_completions`, `list_visible_pods`, `inspect_pod`,
 * `attach_or_restore_pod` and `list_rewind_targets`. Each is answered to its requester only
 * (`reply_to` its id), from a narrow view of the pod the controller hands in; none changes
 * the pod's state or broadcasts anything. Which states a query is allowed in (e.g.
 * `list_rewind_targets` not while running) is the controller's call, made before this.
 */
import type { Method, PodStatus } from "../../protocol/index.js";
import type { SessionLog } from "../session/session-log.js";
import type { Scope } from "../tools/scope.js";
import { replyError, type PodDiscovery, type Requester } from "./controller-deps.js";
import { listFileCompletions } from "./list-completions.js";
import { listRewindTargets } from "./rewind.js";

export type QueryMethod = Extract<
  Method,
  { method: "list_completions" | "list_visible_pods" | "inspect_pod" | "attach_or_restore_pod" | "list_rewind_targets" }
>;

/** What a query may read of the pod, taken when the method is handled. */
export interface QueryContext {
  podName: string;
  cwd: string;
  status: PodStatus;
  /** The model's name, as in the greeting. */
  model: string;
  /** The pod's path scope: a file completion lists only directories it may read. */
  scope: Scope;
  /** The current segment (rewind targets). */
  log: Pick<SessionLog, "entries" | "segmentId">;
  discovery?: PodDiscovery;
}

/**
 * Answer a query. Replies: `completions` (asynchronously; a non-`file` kind, or a directory
 * that cannot be read, gets no entries), `visible_pods` (this pod first, then its children),
 * `pod_inspection`, `pod_attach_restore` (asynchronously) and `rewind_targets`. Errors
 * (`invalid_request`): an unknown pod name, a pod without children asked to attach or restore,
 * or the discovery's own failure message.
 */
export function answerQuery(method: QueryMethod, requester: Requester, context: QueryContext): void {
  const replyTo = requester.id;
  switch (method.method) {
    case "list_rewind_targets": {
      // Paused: listed (to look at), but rewind_to is refused until the pod is idle again.
      const disabledReason = context.status === "paused" ? "the pod is paused; resume it or start a fresh turn first" : undefined;
      const data = listRewindTargets(context.log.entries, context.log.segmentId, disabledReason);
      return requester.reply({ event: "rewind_targets", data, reply_to: replyTo });
    }
    case "list_completions":
      if (method.params.kind !== "file") {
        return requester.reply({ event: "completions", data: { kind: method.params.kind, entries: [] }, reply_to: replyTo });
      }
      void listFileCompletions(context.cwd, context.scope, method.params.prefix)
        .catch(() => [])
        .then((entries) => requester.reply({ event: "completions", data: { kind: "file", entries }, reply_to: replyTo }));
      return;
    case "list_visible_pods": {
      const others = (context.discovery?.names() ?? []).flatMap((name) => context.discovery?.describe(name) ?? []);
      return requester.reply({ event: "visible_pods", data: { pods: [describeSelf(context), ...others] }, reply_to: replyTo });
    }
    case "inspect_pod": {
      const pod = method.params.name === context.podName ? describeSelf(context) : context.discovery?.describe(method.params.name);
      if (!pod) return replyError(requester, "invalid_request", `unknown pod: ${method.params.name} (neither this pod nor one of its children)`);
      return requester.reply({ event: "pod_inspection", data: { pod }, reply_to: replyTo });
    }
    case "attach_or_restore_pod": {
      const discovery = context.discovery;
      if (!discovery) return replyError(requester, "invalid_request", "this pod has no children to attach or restore");
      void discovery.attachOrRestore(method.params.name).then(
        (result) => requester.reply({ event: "pod_attach_restore", data: { result }, reply_to: replyTo }),
        (error: Error) => replyError(requester, "invalid_request", error.message),
      );
      return;
    }
  }
}

/** This pod as `visible_pods` / `pod_inspection` show it. */
function describeSelf(context: QueryContext): Record<string, unknown> {
  return { name: context.podName, status: context.status, cwd: context.cwd, model: context.model };
}
