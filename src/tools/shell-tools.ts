/** Search (grep) and the shell (bash; not confined by the path scope, so `--no-bash` can leave it out). */
import { bashTool } from "./bash.js";
import type { Tool } from "./define-tool.js";
import { grepTool } from "./grep.js";

export const searchTools: readonly Tool[] = [grepTool];
export const shellTools: readonly Tool[] = [bashTool];
