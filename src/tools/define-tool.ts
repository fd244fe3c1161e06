/**
 * The one shape every tool is declared in (style.md #7): a zod input schema (its JSON Schema,
 * generated once with `io: "input"`, is what the model sees), and `execute(input, ctx)`
 * returning `{summary, content?}`. A tool reports a failure the model should read by
 * throwing ToolFailure (or any Error): the registry turns it into `is_error: true`.
 */
import { z } from "zod";
import type { ToolSpec } from "../model/types.js";
import type { PermissionRules } from "./permissions.js";
import type { ChildPods } from "./pod-tools.js";
import type { Scope } from "./scope.js";

export interface ToolContext {
  /** The pod's working directory (absolute); relative paths resolve against it. */
  cwd: string;
  scope: Scope;
  /** Aborted on cancel, pause and shutdown. */
  signal: AbortSignal;
  /** Where a tool writes output too long to return (readable through the scope), e.g. `<runtime>/<pod>/tool-output`. */
  spillDir: string;
  /** Per-tool allow/deny rules, checked by the registry before a tool runs. */
  permissions?: PermissionRules;
  /** Raise a user-facing alert (e.g. a denied call). */
  alert?(message: string): void;
  /** Environment for processes a tool starts (bash): the pod's, without its API keys. */
  env?: NodeJS.ProcessEnv;
  /** The pod's children, for the pod tools (absent: the pod cannot spawn). */
  pods?: ChildPods;
}

export interface ToolOutput {
  /** One line for humans (shown collapsed in the UI). */
  summary: string;
  /** What the model reads; capped by each tool in bytes. */
  content?: string;
  /** A result that reports a failure of the work itself (e.g. a command's non-zero exit), not of the tool. */
  isError?: boolean;
}

export interface Tool<Input = unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly spec: ToolSpec;
  /** The argument permission rules match (a command, a path, a pattern), if the tool has one. */
  mainArgument?(input: Input): string | undefined;
  /** Whether that argument is a path: rules then match its resolved forms, never the text as written. */
  mainArgumentIsPath?(input: Input): boolean;
  /** A path the tool works in besides its main argument (grep's and list_files' path): rules match its resolved forms too. */
  pathArgument?(input: Input): string | undefined;
  execute(input: Input, ctx: ToolContext): Promise<ToolOutput>;
}

/** A failure the model can act on; its message becomes the tool result. */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolFailure";
  }
}

export function defineTool<Schema extends z.ZodType>(definition: {
  name: string;
  description: string;
  input: Schema;
  /** The argument permission rules match (a command, a path, a pattern). */
  mainArgument?(input: z.output<Schema>): string | undefined;
  /** Whether that argument is a path (see Tool.mainArgumentIsPath). */
  mainArgumentIsPath?(input: z.output<Schema>): boolean;
  /** A path besides the main argument (see Tool.pathArgument). */
  pathArgument?(input: z.output<Schema>): string | undefined;
  execute(input: z.output<Schema>, ctx: ToolContext): Promise<ToolOutput>;
}): Tool<z.output<Schema>> {
  const inputSchema = z.toJSONSchema(definition.input, { io: "input" }) as Record<string, unknown>;
  delete inputSchema.$schema;
  return {
    name: definition.name,
    description: definition.description,
    input: definition.input as unknown as z.ZodType<z.output<Schema>>,
    spec: { name: definition.name, description: definition.description, inputSchema },
    mainArgument: definition.mainArgument,
    mainArgumentIsPath: definition.mainArgumentIsPath,
    pathArgument: definition.pathArgument,
    execute: definition.execute,
  };
}
