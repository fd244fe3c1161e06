/**
 * grep: search file contents for a regular expression under a path in the scope, with
 * ripgrep or, when it is missing or cannot start, the JS fallback (grep-search.ts holds the
 * rules both follow). The search root is checked for read; every match is filtered through
 * the scope (a deny rule inside the root hides its files). Output: one line per matching line,
 * `<path>:<line>:<text>`, paths relative to the working directory when inside it, ordered by
 * path then line, capped in matches, line length and bytes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { defineTool, ToolFailure, type ToolContext, type ToolOutput } from "./define-tool.js";
import { GREP_MAX_FILE_BYTES, type GrepQuery, type GrepResult } from "./grep-search.js";
import { canonicalPath } from "./scope.js";

/** Matches returned when the call gives no `max_results`. */
export const GREP_DEFAULT_MATCHES = 100;
/** Largest `max_results` a call may ask for. */
export const GREP_MAX_MATCHES = 1000;
/** Longest matched line shown, characters; the rest is replaced by a note. */
export const GREP_MAX_LINE_CHARS = 300;
/** Most bytes of result text returned to the model. */
export const GREP_MAX_OUTPUT_BYTES = 64 * 1024;

export const GrepInput = z.object({
  pattern: z.string().min(1).describe("Regular expression (ripgrep syntax), e.g. `function\\s+load\\w*` or `TODO`."),
  path: z.string().optional().describe("Directory or file to search, relative to the working directory or absolute. Default `.`."),
  glob: z
    .string()
    .optional()
    .describe("Only files matching this glob: `*.ts` matches names at any depth, `src/**/*.ts` paths from the search path, `!*.lock` excludes."),
  case_insensitive: z.boolean().optional().describe("Match regardless of case (default false)."),
  max_results: z.number().int().positive().max(GREP_MAX_MATCHES).optional().describe(`Most matching lines returned (default ${GREP_DEFAULT_MATCHES}, at most ${GREP_MAX_MATCHES}).`),
});
export type GrepInput = z.infer<typeof GrepInput>;

export const grepTool = defineTool({
  name: "grep",
  description:
    "Search file contents for a regular expression (ripgrep). Returns matching lines as `path:line:text`, ordered by path, at most 100 by default. " +
    "Searches hidden files too but skips .git, node_modules, binary files and files over 16 MiB; .gitignore is not applied. Use `glob` to narrow by file name.",
  input: GrepInput,
  mainArgument: (input) => input.pattern,
  pathArgument: (input) => input.path ?? ".",
  execute: (input, ctx) => runGrep(input, ctx),
});

/** `auto`: ripgrep when it is installed and starts, else the JS fallback. */
export type GrepEngineChoice = "auto" | "ripgrep" | "js";

/** The grep tool's work, with the engine choosable (tests run both engines through this). */
export async function runGrep(input: GrepInput, ctx: ToolContext, engine: GrepEngineChoice = "auto"): Promise<ToolOutput> {
  const requested = input.path ?? ".";
  if (input.glob !== undefined && input.glob.split(/[\\/]/).includes("..")) throw new ToolFailure(`glob ${input.glob} must stay below the search path (no ..)`);
  const root = ctx.scope.check(ctx.cwd, requested, "read");
  const stat = await fs.stat(root).catch(() => {
    throw new ToolFailure(`not found: ${requested}`);
  });
  if (!stat.isFile() && !stat.isDirectory()) throw new ToolFailure(`${requested} is not a regular file or a directory`);
  if (stat.isFile()) {
    if (stat.size > GREP_MAX_FILE_BYTES) throw new ToolFailure(`${requested} is ${stat.size} bytes, over the ${GREP_MAX_FILE_BYTES}-byte limit for grep`);
    if ((await fs.readFile(root, { signal: ctx.signal })).includes(0)) {
      return { summary: `${requested}: binary file, not searched`, content: `${requested} is a binary file; not searched.` };
    }
  }
  const maxMatches = input.max_results ?? GREP_DEFAULT_MATCHES;
  const query: GrepQuery = {
    root,
    rootIsFile: stat.isFile(),
    pattern: input.pattern,
    glob: input.glob,
    caseInsensitive: input.case_insensitive ?? false,
    maxMatches,
    // Judged by the canonical path: a walk can pass through a symlinked directory (e.g. a glob's fixed prefix).
    include: (file) => ctx.scope.permissionFor(canonicalPath(file)) !== undefined,
    env: ctx.env,
  };
  const result = await searchFiles(query, ctx.signal, engine);
  return formatResult(result, input, ctx, maxMatches);
}

/**
 * Run the query on the chosen engine (`locateRipgrep` finds the rg binary; tests pass a broken
 * one). Throws ToolFailure for a bad pattern, an abort or a timeout; with `ripgrep` forced, an
 * Error when ripgrep is not available (so a test of the ripgrep path cannot silently test the
 * fallback).
 */
export async function searchFiles(
  query: GrepQuery,
  signal: AbortSignal,
  engine: GrepEngineChoice = "auto",
  locateRipgrep?: () => Promise<string | undefined>,
): Promise<GrepResult> {
  // The engines load on first use: they are off the pod's start-up path.
  const [{ GrepFallbackEngine }, { findRipgrep, RipgrepEngine, RipgrepUnavailableError }] = await Promise.all([
    import("./grep-fallback.js"),
    import("./grep-ripgrep.js"),
  ]);
  if (engine === "js") return new GrepFallbackEngine().search(query, signal);
  const rgPath = await (locateRipgrep ?? findRipgrep)();
  if (!rgPath) {
    if (engine === "ripgrep") throw new Error("ripgrep is not installed (@vscode/ripgrep and its platform package)");
    return new GrepFallbackEngine().search(query, signal);
  }
  try {
    return await new RipgrepEngine(rgPath).search(query, signal);
  } catch (error) {
    if (!(error instanceof RipgrepUnavailableError) || engine === "ripgrep") throw error;
    return new GrepFallbackEngine().search(query, signal);
  }
}

function formatResult(result: GrepResult, input: GrepInput, ctx: ToolContext, maxMatches: number): ToolOutput {
  const where = input.path ?? ".";
  if (result.matches.length === 0) {
    const content = `no matches for ${JSON.stringify(input.pattern)} in ${where}${input.glob ? ` (files matching ${input.glob})` : ""}`;
    return { summary: "no matches", content };
  }
  const lines: string[] = [];
  let bytes = 0;
  let cutAtBytes = false;
  for (const match of result.matches) {
    const line = `${displayPath(match.file, ctx.cwd)}:${match.line}:${shortLine(match.text)}`;
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > GREP_MAX_OUTPUT_BYTES) {
      cutAtBytes = true;
      break;
    }
    lines.push(line);
  }
  const files = new Set(result.matches.map((match) => match.file)).size;
  if (cutAtBytes) lines.push(`[output cut at ${GREP_MAX_OUTPUT_BYTES} bytes after ${lines.length} of ${result.matches.length} matches; narrow the search]`);
  if (result.truncated) lines.push(`[stopped at ${maxMatches} matches; narrow the path or the glob, or raise max_results (at most ${GREP_MAX_MATCHES})]`);
  const count = `${result.matches.length}${result.truncated ? "+" : ""} ${result.matches.length === 1 && !result.truncated ? "match" : "matches"}`;
  return { summary: `${count} in ${files} ${files === 1 ? "file" : "files"}`, content: lines.join("\n") };
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  const outside = relative === "" || relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return outside ? file : relative;
}

function shortLine(text: string): string {
  if (text.length <= GREP_MAX_LINE_CHARS) return text;
  let cut = text.slice(0, GREP_MAX_LINE_CHARS);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut} [… ${text.length - cut.length} more characters]`;
}
