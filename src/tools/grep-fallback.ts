/**
 * The grep tool's pure JS engine, for when ripgrep is not installed or cannot start: walk the
 * tree with tinyglobby, test each line with a RegExp. Follows the rules in grep-search.ts so
 * that its matches equal ripgrep's; the pattern is a JavaScript regular expression (Unicode
 * mode when the pattern allows it, as ripgrep's is Unicode-aware).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { ToolFailure } from "./define-tool.js";
import {
  comparePaths,
  finishResult,
  globPatterns,
  GREP_MAX_FILE_BYTES,
  GREP_SKIPPED_DIRS,
  GREP_TIMEOUT_MS,
  lineText,
  stopError,
  type GrepMatch,
  type GrepQuery,
  type GrepResult,
  type SearchEngine,
} from "./grep-search.js";

export class GrepFallbackEngine implements SearchEngine {
  async search(query: GrepQuery, signal: AbortSignal): Promise<GrepResult> {
    const regex = compilePattern(query.pattern, query.caseInsensitive);
    const deadline = Date.now() + GREP_TIMEOUT_MS;
    const files = query.rootIsFile ? [query.root] : await listFiles(query, signal);
    // tinyglobby ends an aborted walk early without an error.
    if (signal.aborted) throw stopError(signal);
    const matches: GrepMatch[] = [];
    for (const file of files) {
      if (signal.aborted || Date.now() > deadline) throw stopError(signal);
      if (!query.include(file)) continue;
      const bytes = await readSearchable(file, signal);
      if (!bytes) continue;
      const lines = bytes.toString("utf8").split("\n");
      if (lines.at(-1) === "") lines.pop();
      for (const [index, line] of lines.entries()) {
        if (!regex.test(line)) continue;
        matches.push({ file, line: index + 1, text: lineText(line) });
        if (matches.length > query.maxMatches) return finishResult(matches, query, true);
      }
    }
    return finishResult(matches, query, false);
  }
}

function compilePattern(pattern: string, caseInsensitive: boolean): RegExp {
  const flags = caseInsensitive ? "i" : "";
  try {
    return new RegExp(pattern, `${flags}u`);
  } catch {
    try {
      return new RegExp(pattern, flags);
    } catch (error) {
      throw new ToolFailure(`invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
    }
  }
}

/** Regular files under the root matching the glob, outside skipped dirs, in ripgrep's walk order. */
async function listFiles(query: GrepQuery, signal: AbortSignal): Promise<string[]> {
  const { glob } = await import("tinyglobby");
  const { include, exclude } = globPatterns(query.glob);
  const skipped = GREP_SKIPPED_DIRS.flatMap((dir) => [`**/${dir}`, `**/${dir}/**`]);
  const found = await glob(include, {
    cwd: query.root,
    onlyFiles: true,
    dot: true,
    expandDirectories: false,
    // Never walk through a symlink: it may lead outside the scope (or loop); ripgrep does not follow them either.
    followSymbolicLinks: false,
    signal,
    ignore: [...skipped, ...exclude],
  }).catch((error: Error) => {
    if (signal.aborted) throw stopError(signal);
    throw error;
  });
  return found
    .filter((entry) => !entry.split("/").some((part) => GREP_SKIPPED_DIRS.includes(part)))
    .sort(comparePaths)
    .map((entry) => path.join(query.root, entry));
}

/** The file's bytes, or undefined when it is not searched: not a regular file (a symlink too), too large, binary, unreadable. */
async function readSearchable(file: string, signal: AbortSignal): Promise<Buffer | undefined> {
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat?.isFile() || stat.size > GREP_MAX_FILE_BYTES) return undefined;
  try {
    const bytes = await fs.readFile(file, { signal });
    return bytes.includes(0) ? undefined : bytes;
  } catch {
    if (signal.aborted) throw stopError(signal);
    return undefined;
  }
}
