/**
 * The search behind the grep tool, with two engines that give the same matches in the same
 * order: ripgrep (grep-ripgrep.ts, `@vscode/ripgrep`'s binary, imported dynamically) and a
 * pure JS fallback (grep-fallback.ts) used when ripgrep is not installed or cannot start.
 * This module owns the query and result shapes and the rules both engines follow; the engine
 * choice, the tool's input, scope check and output text are grep.ts's.
 *
 * Rules of both engines: regular files only, symbolic links are not followed (nor searched);
 * hidden files are searched, `.gitignore` is not read, `.git` and `node_modules` are skipped;
 * files over GREP_MAX_FILE_BYTES and binary files (a NUL byte; ripgrep may still show matches
 * before a NUL far into a file) are skipped. A glob without `/` matches file names at any
 * depth (`*.ts`); with `/` it matches paths relative to the search root (`src/**\/*.ts`); a
 * leading `!` excludes. A file given as the root is searched whatever the glob. Matches are
 * ordered by path, compared component by component, then by line number; a match is a line.
 */
import { ToolFailure } from "./define-tool.js";
/** Largest file searched, bytes (ripgrep's `--max-filesize`). */
export const GREP_MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Longest a search may run before it is stopped, ms. */
export const GREP_TIMEOUT_MS = 60_000;
/** Directories never searched. */
export const GREP_SKIPPED_DIRS: readonly string[] = [".git", "node_modules"];

export interface GrepQuery {
  /** Environment for rg (the pod's without credentials). */
  env?: NodeJS.ProcessEnv;
  /** Canonical absolute path of the directory or file to search. */
  root: string;
  /** `root` is a file (searched even when `glob` does not match it). */
  rootIsFile: boolean;
  /** A regular expression (ripgrep's syntax; the fallback uses JavaScript's, nearly the same for common patterns). */
  pattern: string;
  glob?: string;
  caseInsensitive: boolean;
  /** Stop after this many matches (more found sets `truncated`). */
  maxMatches: number;
  /** Whether a file (absolute path) may appear in the results: the scope filter. */
  include(file: string): boolean;
}

export interface GrepMatch {
  /** Absolute path. */
  file: string;
  /** 1-based. */
  line: number;
  /** The line without its line ending. */
  text: string;
}

export interface GrepResult {
  matches: GrepMatch[];
  /** More than `maxMatches` lines matched. */
  truncated: boolean;
}

export interface SearchEngine {
  search(query: GrepQuery, signal: AbortSignal): Promise<GrepResult>;
}

/** Path order of both engines: component by component (so `a/b.txt` sorts before `a.txt`, as ripgrep walks). */
export function comparePaths(left: string, right: string): number {
  if (left === right) return 0;
  const a = left.split("/");
  const b = right.split("/");
  for (let index = 0; index < Math.min(a.length, b.length); index += 1) {
    const x = a[index] as string;
    const y = b[index] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function compareMatches(left: GrepMatch, right: GrepMatch): number {
  return comparePaths(left.file, right.file) || left.line - right.line;
}

/** Matches in order, cut at `maxMatches`. */
export function finishResult(matches: GrepMatch[], query: GrepQuery, sawMore: boolean): GrepResult {
  matches.sort(compareMatches);
  return { matches: matches.slice(0, query.maxMatches), truncated: sawMore || matches.length > query.maxMatches };
}

/**
 * The glob as tinyglobby patterns relative to the root, with ripgrep's meaning: `*.ts` matches
 * names at any depth, `src/*.ts` and `/src/*.ts` paths from the root, `!x` excludes.
 */
export function globPatterns(glob: string | undefined): { include: string; exclude: string[] } {
  const anchored = (pattern: string): string => (pattern.startsWith("/") ? pattern.slice(1) : pattern.includes("/") ? pattern : `**/${pattern}`);
  if (glob === undefined || glob === "") return { include: "**/*", exclude: [] };
  if (glob.startsWith("!")) {
    const excluded = anchored(glob.slice(1));
    return { include: "**/*", exclude: [excluded, `${excluded}/**`] };
  }
  return { include: anchored(glob), exclude: [] };
}

/** The error both engines give on abort or when GREP_TIMEOUT_MS ran out. */
export function stopError(signal: AbortSignal): ToolFailure {
  return new ToolFailure(signal.aborted ? "grep was interrupted" : `grep stopped after ${GREP_TIMEOUT_MS / 1000} s; narrow the path or the glob`);
}

/** A matched line as shown: without its line ending. */
export function lineText(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
