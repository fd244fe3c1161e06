/**
 * The tool registry: looks tools up by name, validates the model's argument JSON, runs the
 * tool, and turns every failure (bad JSON, schema mismatch, unknown tool, a thrown error)
 * into an `is_error` result the model can read. A tool never crashes a turn.
 */
import type { ToolSpec } from "../model/types.js";
import { describeIssues } from "../../protocol/index.js";
import path from "node:path";
import type { Tool, ToolContext } from "./define-tool.js";
import { canonicalPath } from "./scope.js";

export interface ToolCallResult {
  summary: string;
  output?: string;
  isError: boolean;
}

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  register(tool: Tool<never> | Tool): this {
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    this.tools.set(tool.name, tool as Tool);
    return this;
  }

  /** Tool names, sorted (the greeting's `tools`). */
  names(): string[] {
    return [...this.tools.keys()].sort();
  }

  specs(): ToolSpec[] {
    return this.names().map((name) => (this.tools.get(name) as Tool).spec);
  }

  /** Run one tool call. `argumentsJson` is the model's raw argument text. Never throws. */
  async execute(name: string, argumentsJson: string, ctx: ToolContext): Promise<ToolCallResult> {
    const tool = this.tools.get(name);
    if (!tool) return failure(`unknown tool: ${name}`, `unknown tool "${name}"; available: ${this.names().join(", ")}`);
    let json: unknown;
    try {
      json = argumentsJson.trim() === "" ? {} : JSON.parse(argumentsJson);
    } catch (error) {
      return failure(`${name}: invalid arguments`, `invalid arguments for ${name}: not JSON (${(error as Error).message})`);
    }
    const parsed = tool.input.safeParse(json);
    if (!parsed.success) {
      return failure(`${name}: invalid arguments`, `invalid arguments for ${name}: ${describeIssues(parsed.error)}`);
    }
    const argument = tool.mainArgument?.(parsed.data);
    const forms = argument === undefined ? [] : tool.mainArgumentIsPath?.(parsed.data) ? pathForms(ctx.cwd, argument) : [argument];
    const extraPath = tool.pathArgument?.(parsed.data);
    if (extraPath !== undefined) forms.push(...pathForms(ctx.cwd, extraPath));
    const verdict = ctx.permissions?.decide(name, forms.length === 0 ? undefined : forms);
    if (verdict && !verdict.allowed) {
      const message = `permission denied: ${name}${argument === undefined ? "" : ` ${JSON.stringify(argument)}`} is denied by the rule ${verdict.rule}`;
      ctx.alert?.(`tool: ${message}`);
      return failure(message, message);
    }
    try {
      const output = await tool.execute(parsed.data, ctx);
      return { summary: output.summary, output: output.content, isError: output.isError ?? false };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return failure(`${name} failed: ${firstLine(message)}`, message);
    }
  }
}

/**
 * A path argument as permission rules see it: resolved against the cwd and canonicalised
 * (realpath, as the scope does), relative to the cwd when inside it, and absolute — so
 * `./secrets/a`, `x/../secrets/a` and `/abs/cwd/secrets/a` all meet `deny read_file:secrets/**`.
 */
export function pathForms(cwd: string, requested: string): string[] {
  const canonical = canonicalPath(path.resolve(cwd, requested));
  const relative = path.relative(canonicalPath(cwd), canonical);
  if (relative === "") return [".", canonical];
  const inside = !relative.startsWith("..") && !path.isAbsolute(relative);
  return inside ? [relative, canonical] : [canonical];
}

function failure(summary: string, output: string): ToolCallResult {
  return { summary, output, isError: true };
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
