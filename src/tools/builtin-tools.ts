/** The builtin tool set registered in every pod. */
import { listFilesTool } from "./list-files.js";
import { readFileTool } from "./read-file.js";
import { ToolRegistry } from "./registry.js";

export function builtinTools(): ToolRegistry {
  return new ToolRegistry().register(readFileTool).register(listFilesTool);
}
