/**
 * The pod tools: how a model delegates work to child pods — spawn_pod, send_to_pod,
 * read_pod_output, stop_pod, list_pods (architecture.md, tools/). They act through the pod's
 * `ChildPods` (src/spawn/supervisor.ts implements it), passed in the tool context; a pod
 * without one (a test pod) answers that it cannot spawn. Failures the model can act on
 * (unknown name, child busy, a spawn that failed with the child's stderr tail, scope it does
 * not hold) come back as error results.
 */
import { z } from "zod";
import type { ScopeRule } from "../../protocol/index.js";
import { MAX_INSTRUCTIONS_BYTES } from "../config/instructions.js";
import { defineTool, ToolFailure, type Tool, type ToolContext } from "./define-tool.js";

/** What the pod tools see of a child (a subset of the supervisor's record). */
export interface ChildView {
  name: string;
  pid: number;
  socket: string;
  scope: ScopeRule[];
  status: string;
  task?: string;
  last_error?: string;
}

/** The pod's children, as the pod tools drive them. Methods throw an Error whose message the model reads. */
export interface ChildPods {
  spawn(
    request: { name: string; task: string; scope: { path: string; permission: "read" | "write" }[]; model?: string; instructions?: string },
    signal?: AbortSignal,
  ): Promise<ChildView>;
  send(name: string, message: string): Promise<ChildView>;
  readOutput(name: string): { text: string; count: number; record: ChildView };
  stop(name: string): Promise<ChildView>;
  list(): { children: ChildView[]; descendants: { name: string; parent_pod: string; scope: ScopeRule[] }[] };
}

function podsOf(ctx: ToolContext): ChildPods {
  if (!ctx.pods) throw new ToolFailure("this pod cannot manage child pods");
  return ctx.pods;
}

function describeScope(scope: readonly ScopeRule[]): string {
  return scope.length === 0 ? "no file access" : scope.map((rule) => `${rule.permission} ${rule.target}`).join(", ");
}

const name = z.string().describe("The child pod's name: 1-64 characters of [A-Za-z0-9._-].");

export const spawnPodTool = defineTool({
  name: "spawn_pod",
  description:
    "Start a child pod (a separate agent with its own process and context) and give it a task. It works on its own; " +
    "you are woken by a notification when it finishes a turn (turn_ended), fails (errored) or stops (shut_down). " +
    "Then read its answer with read_pod_output. Write access you give a child is yours again only when it stops. " +
    "The name of a child of yours that has stopped may be used again (it starts on a new session); a name another pod or a user holds is refused.",
  input: z.object({
    name,
    task: z.string().min(1).describe("The child's first user message: what to do and what to report."),
    scope: z
      .array(z.object({ path: z.string().describe("A path you can access, relative to your working directory or absolute."), permission: z.enum(["read", "write"]) }))
      .default([])
      .describe("The files the child may use. Write access is moved from you to the child; read access is shared."),
    model: z.string().optional().describe("A model spec for the child; default: yours."),
    instructions: z
      .string()
      .refine((text) => Buffer.byteLength(text) <= MAX_INSTRUCTIONS_BYTES, `instructions are limited to ${MAX_INSTRUCTIONS_BYTES} bytes (64 KiB, as podd start --instructions)`)
      .optional()
      .describe("Extra instructions added to the child's system prompt (at most 64 KiB)."),
  }),
  mainArgument: (input) => input.name,
  async execute(input, ctx) {
    const child = await podsOf(ctx).spawn(input, ctx.signal);
    return {
      summary: `spawned ${child.name} (pid ${child.pid})`,
      content: `Pod ${child.name} started (pid ${child.pid}) with ${describeScope(child.scope)}, and accepted its task. You will be notified when it finishes a turn.`,
    };
  },
});

export const sendToPodTool = defineTool({
  name: "send_to_pod",
  description: "Send a child pod a new message (a new turn). Fails if the child is busy with a turn: wait for its turn_ended notification.",
  input: z.object({ name, message: z.string().min(1) }),
  mainArgument: (input) => input.name,
  async execute(input, ctx) {
    const child = await podsOf(ctx).send(input.name, input.message);
    return { summary: `sent to ${child.name}`, content: `Pod ${child.name} accepted the message and is working on it.` };
  },
});

export const readPodOutputTool = defineTool({
  name: "read_pod_output",
  description: "Read a child pod's new answer text: everything it wrote since your last read_pod_output of it.",
  input: z.object({ name }),
  mainArgument: (input) => input.name,
  async execute(input, ctx) {
    const { text, count, record } = podsOf(ctx).readOutput(input.name);
    if (count === 0) return { summary: `${record.name}: nothing new`, content: `(no new output from ${record.name}; its status is ${record.status})` };
    return { summary: `${record.name}: ${count} new message${count === 1 ? "" : "s"}`, content: text };
  },
});

export const stopPodTool = defineTool({
  name: "stop_pod",
  description: "Shut a child pod down (it stops its turn, if any) and get its write scope back.",
  input: z.object({ name }),
  mainArgument: (input) => input.name,
  async execute(input, ctx) {
    const child = await podsOf(ctx).stop(input.name);
    return { summary: `stopped ${child.name}`, content: `Pod ${child.name} has shut down; its scope is yours again.` };
  },
});

export const listPodsTool = defineTool({
  name: "list_pods",
  description: "List your child pods (and pods they started): name, alive or stopped, status, scope.",
  input: z.object({}),
  async execute(_input, ctx) {
    const { children, descendants } = podsOf(ctx).list();
    if (children.length === 0) return { summary: "no child pods", content: "You have no child pods." };
    const lines = children.map((child) => {
      const alive = child.status === "stopped" ? "stopped" : "alive";
      const error = child.last_error ? ` — last error: ${child.last_error}` : "";
      return `${child.name}: ${alive}, ${child.status}, ${describeScope(child.scope)}${error}`;
    });
    for (const descendant of descendants) lines.push(`${descendant.name} (started by ${descendant.parent_pod}): ${describeScope(descendant.scope)}`);
    return { summary: `${children.length} child pod${children.length === 1 ? "" : "s"}`, content: lines.join("\n") };
  },
});

export const podTools: readonly Tool[] = [spawnPodTool, sendToPodTool, readPodOutputTool, stopPodTool, listPodsTool] as Tool[];
