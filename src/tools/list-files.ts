/**
 * list_files: files and directories under a path, optionally matching a glob (tinyglobby),
 * sorted, directories marked with a trailing `/`; `node_modules` and `.git` are skipped.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { defineTool, ToolFailure } from "./define-tool.js";
import { canonicalPath } from "./scope.js";

/** Most entries returned in one call. */
export const LIST_FILES_MAX_ENTRIES = 1000;
const SKIPPED_DIRS: ReadonlySet<string> = new Set(["node_modules", ".git"]);

export const listFilesTool = defineTool({
  name: "list_files",
  description:
    "List files under a directory (default: the working directory). With `pattern` (a glob such as `**/*.ts`) lists matching files recursively; otherwise lists the directory's direct entries. Directories end with `/`.",
  input: z.object({
    path: z.string().optional().describe("Directory, relative to the working directory or absolute. Default `.`."),
    pattern: z.string().optional().describe("Glob relative to `path`, e.g. `**/*.md`."),
  }),
  mainArgument: (input) => input.pattern ?? input.path ?? ".",
  mainArgumentIsPath: (input) => input.pattern === undefined,
  pathArgument: (input) => (input.pattern === undefined ? undefined : (input.path ?? ".")),
  async execute(input, ctx) {
    const requested = input.path ?? ".";
    if (input.pattern !== undefined && (path.isAbsolute(input.pattern) || input.pattern.split(/[\\/]/).includes(".."))) {
      throw new ToolFailure(`pattern ${input.pattern} must be relative to path and stay below it (no leading / and no ..)`);
    }
    const dir = ctx.scope.check(ctx.cwd, requested, "read");
    const stat = await fs.stat(dir).catch(() => {
      throw new ToolFailure(`directory not found: ${requested}`);
    });
    if (!stat.isDirectory()) throw new ToolFailure(`${requested} is not a directory`);
    const { glob } = await import("tinyglobby");
    const found = await glob(input.pattern ?? "*", {
      cwd: dir,
      onlyFiles: false,
      dot: true,
      expandDirectories: false,
      // Never walk through a symlink: it may lead outside the scope (or loop).
      followSymbolicLinks: false,
      signal: ctx.signal,
      ignore: ["**/node_modules/**", "**/.git/**"],
    });
    const entries = found
      .filter((entry) => !entry.split("/").some((part) => SKIPPED_DIRS.has(part)))
      // Judged by the canonical path: the walk starts at a pattern's fixed prefix even when that is a symlink.
      .filter((entry) => ctx.scope.permissionFor(canonicalPath(path.join(dir, entry))) !== undefined)
      .sort();
    const shown = entries.slice(0, LIST_FILES_MAX_ENTRIES);
    const more = entries.length - shown.length;
    const where = path.relative(ctx.cwd, dir) || ".";
    const content = shown.join("\n") + (more > 0 ? `\n[${more} more entries not shown; narrow the pattern]` : "");
    return { summary: `${entries.length} entries in ${where}${input.pattern ? ` matching ${input.pattern}` : ""}`, content };
  },
});
