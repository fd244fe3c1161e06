/** The builtin tool set registered in every pod. */
import type { Tool } from "./define-tool.js";
import { editingTools } from "./editing-tools.js";
import { listFilesTool } from "./list-files.js";
import { readFileTool } from "./read-file.js";
import { ToolRegistry } from "./registry.js";
import { podTools } from "./pod-tools.js";
import { searchTools, shellTools } from "./shell-tools.js";

export interface BuiltinToolOptions {
  /** Register the bash tool (`podd start --no-bash` turns it off). */
  bash: boolean;
  /** Register the pod tools (spawn_pod, …); default true. */
  pods?: boolean;
}

export function builtinTools(options: BuiltinToolOptions = { bash: true }): ToolRegistry {
  const tools: Tool[] = [
    readFileTool,
    listFilesTool,
    ...editingTools,
    ...searchTools,
    ...(options.bash ? shellTools : []),
    ...(options.pods === false ? [] : podTools),
  ] as Tool[];
  const registry = new ToolRegistry();
  for (const tool of tools) registry.register(tool);
  return registry;
}
