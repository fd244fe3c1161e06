/**
 * Instructions that reach the model as part of a pod's system prompt: `podd start
 * --instructions FILE|TEXT` (a saved setting) and the project's `AGENTS.md` in the pod's cwd
 * (read at every start; the convention Claude Code, codex and opencode share). Both are
 * bounded by MAX_INSTRUCTIONS_BYTES. Creates nothing.
 */
import fs from "node:fs";
import path from "node:path";
import { PoddError } from "../errors.js";

/** Largest `--instructions` text or AGENTS.md, in bytes (64 KiB). */
export const MAX_INSTRUCTIONS_BYTES = 64 * 1024;

/** The project instructions file read from a pod's cwd. */
export const PROJECT_INSTRUCTIONS_FILE = "AGENTS.md";

/** Human size: `812 bytes`, `3.4 KiB`. */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function checkSize(text: string, what: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_INSTRUCTIONS_BYTES) {
    throw new PoddError("invalid_request", `${what} is ${bytes} bytes; instructions are limited to ${MAX_INSTRUCTIONS_BYTES} bytes (64 KiB)`);
  }
}

/**
 * The value of `--instructions`: the contents of the file when `value` names an existing
 * regular file (relative to `baseDir`), else `value` itself. `source` is the file's absolute
 * path, or `"text"`. Throws PoddError(invalid_request) for an unreadable file or one over
 * MAX_INSTRUCTIONS_BYTES.
 */
export function readInstructionsArgument(value: string, baseDir: string): { text: string; source: string } {
  const file = path.resolve(baseDir, value);
  let isFile = false;
  try {
    isFile = value !== "" && fs.statSync(file).isFile();
  } catch {
    // Not a file: the value is the text.
  }
  if (!isFile) {
    checkSize(value, "the --instructions text");
    return { text: value, source: "text" };
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new PoddError("invalid_request", `cannot read --instructions file ${file}: ${(error as Error).message}`);
  }
  checkSize(text, `--instructions file ${file}`);
  return { text, source: file };
}

/**
 * `<cwd>/AGENTS.md` when it is a regular file: its text, path and size in bytes; undefined
 * when there is none. Throws PoddError(invalid_request) when it cannot be read or is over
 * MAX_INSTRUCTIONS_BYTES.
 */
export function readProjectInstructions(cwd: string): { text: string; path: string; bytes: number } | undefined {
  const file = path.join(cwd, PROJECT_INSTRUCTIONS_FILE);
  try {
    if (!fs.statSync(file).isFile()) return undefined;
  } catch {
    return undefined;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new PoddError("invalid_request", `cannot read ${file}: ${(error as Error).message}`);
  }
  checkSize(text, file);
  return { text, path: file, bytes: Buffer.byteLength(text) };
}
