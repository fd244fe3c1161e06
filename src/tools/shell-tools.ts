/** Search (grep) and the shell (bash; not confined by the path scope, so `--no-bash` can leave it out). */
import type { Tool } from "./define-tool.js";

export const searchTools: readonly Tool<never>[] = [];
export const shellTools: readonly Tool<never>[] = [];
