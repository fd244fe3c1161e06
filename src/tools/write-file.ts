/**
 * write_file: create or overwrite a text file with the given content. The scope is checked
 * for write before anything touches the disk; only then are missing parent directories
 * created and the file written atomically (a temp file beside it, then a rename), so a reader
 * never sees half a file. What it creates gets the user's umask, not the pod's private one
 * (src/config/umask.ts). Owns the small helpers the editing tools share (display names, line
 * counts, the atomic write); does not own the scope rules (scope.ts).
 */
import fs from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { defineTool, ToolFailure, type ToolContext } from "./define-tool.js";
import { canonicalPath } from "./scope.js";
import { userUmask } from "../config/umask.js";

/** Most bytes of content one write_file call may write (UTF-8). */
export const WRITE_FILE_MAX_BYTES = 8 * 1024 * 1024;

export const writeFileTool = defineTool({
  name: "write_file",
  description:
    "Create a file, or overwrite an existing one, with `content` (UTF-8 text, at most 8 MiB). Missing parent directories are created. " +
    "To change part of an existing file prefer edit_file. The path must be writable in this pod's scope.",
  input: z.object({
    path: z.string().min(1).describe("File path, relative to the working directory or absolute."),
    content: z.string().describe("The whole new content of the file (UTF-8 text)."),
  }),
  mainArgument: (input) => input.path,
  mainArgumentIsPath: () => true,
  async execute(input, ctx) {
    // The scope check comes first: nothing (not even a parent directory) is created outside the scope.
    const file = ctx.scope.check(ctx.cwd, input.path, "write");
    const bytes = Buffer.byteLength(input.content);
    if (bytes > WRITE_FILE_MAX_BYTES) throw new ToolFailure(`content is ${bytes} bytes, over the ${WRITE_FILE_MAX_BYTES}-byte write_file limit`);
    const existing = await fs.lstat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw new ToolFailure(`cannot write ${input.path}: ${error.message}`);
    });
    if (existing?.isDirectory()) throw new ToolFailure(`${input.path} is a directory; give a file path`);
    // A canonical path ends in a symlink only when the link dangles; a FIFO or device is not a file to replace.
    if (existing && !existing.isFile()) throw new ToolFailure(`${input.path} is not a regular file`);
    ctx.signal.throwIfAborted();
    const mask = userUmask();
    await fs
      .mkdir(path.dirname(file), { recursive: true })
      .then((firstCreated) => (firstCreated === undefined || mask === undefined ? undefined : grantUserModes(firstCreated, path.dirname(file), mask)))
      .catch((error: NodeJS.ErrnoException) => {
        throw new ToolFailure(`cannot create the directory for ${input.path}: ${error.message}`);
      });
    // A new file gets the user's umask (the pod's own is private); an existing one keeps its mode.
    await writeAtomically(file, input.content, input.path, existing || mask === undefined ? undefined : 0o666 & ~mask);
    const name = displayPath(ctx, file, input.path);
    return { summary: `${existing ? "wrote" : "created"} ${name} (${describeLines(countLines(input.content))}, ${bytes} bytes)` };
  },
});

/**
 * The dirs write_file just made, `firstCreated` down to `deepest`, get the modes the user's umask
 * gives (`mkdir` under the pod's private umask made them 0700: src/config/umask.ts).
 */
async function grantUserModes(firstCreated: string, deepest: string, mask: number): Promise<void> {
  for (let dir = deepest; ; dir = path.dirname(dir)) {
    await fs.chmod(dir, 0o777 & ~mask);
    if (dir === firstCreated || path.dirname(dir) === dir) return;
  }
}

/**
 * Write `text` to the canonical path `file` through a temp file and a rename; errors become
 * ToolFailure naming `requested`. `mode`: the new file's mode (default: an existing file's, else
 * 0666 less the process umask).
 */
export async function writeAtomically(file: string, text: string, requested: string, mode?: number): Promise<void> {
  await writeFileAtomic(file, text, { encoding: "utf8", ...(mode === undefined ? {} : { mode }) }).catch((error: Error) => {
    throw new ToolFailure(`cannot write ${requested}: ${error.message}`);
  });
}

/** How a path is named in a summary: relative to the cwd when it lies below it, else as requested. */
export function displayPath(ctx: Pick<ToolContext, "cwd">, canonical: string, requested: string): string {
  const relative = path.relative(canonicalPath(ctx.cwd), canonical);
  const isBelow = relative !== "" && relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
  return isBelow ? relative : requested;
}

/** `1 line`, `12 lines`. */
export function describeLines(count: number): string {
  return `${count} line${count === 1 ? "" : "s"}`;
}

/** Lines in a text: a final newline ends the last line rather than starting an empty one. */
export function countLines(text: string): number {
  if (text === "") return 0;
  const newlines = text.split("\n").length - 1;
  return text.endsWith("\n") ? newlines : newlines + 1;
}
