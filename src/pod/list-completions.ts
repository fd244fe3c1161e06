/**
 * `list_completions` of kind `file`: entries of the directory named by the prefix's
 * directory part whose names start with its last part, for the composer's `@path`
 * completion. The directory must be readable in the pod's Scope (realpath-checked, as for
 * the file tools: a symlink out of the scope lists nothing). Hidden entries only when the
 * typed name starts with `.`. Directories are marked with `is_dir` and a trailing `/`.
 */
import type { Dirent } from "node:fs";
import fs from "node:fs/promises";
import type { CompletionEntry } from "../../protocol/index.js";
import type { Scope } from "../tools/scope.js";

/** Most completion entries returned for one prefix. */
export const MAX_COMPLETIONS = 50;

export async function listFileCompletions(cwd: string, scope: Scope, prefix: string): Promise<CompletionEntry[]> {
  const slash = prefix.lastIndexOf("/");
  const dirPart = slash === -1 ? "" : prefix.slice(0, slash + 1);
  const namePart = slash === -1 ? prefix : prefix.slice(slash + 1);
  let dir: string;
  try {
    dir = scope.check(cwd, dirPart || ".", "read");
  } catch {
    return [];
  }
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.name.startsWith(namePart) && (namePart.startsWith(".") || !entry.name.startsWith(".")))
    .map((entry) => ({ value: `${dirPart}${entry.name}${entry.isDirectory() ? "/" : ""}`, is_dir: entry.isDirectory() }))
    .sort((a, b) => a.value.localeCompare(b.value))
    .slice(0, MAX_COMPLETIONS);
}
