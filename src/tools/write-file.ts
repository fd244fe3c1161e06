/**
 * write_file: create or overwrite a text file with the given content. The scope is checked
 * for write before anything touches the disk; only then are missing parent directories
 * created and the file written atomically (a temp file beside it, then a rename), so a reader
 * never sees half a file. Owns the small helpers the editing tools share (display names, line
 * counts, the atomic write); does not own the scope rules (scope.ts).
 */
import fs from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { defineTool, ToolFailure, type ToolContext } from "./define-tool.js";
import { canonicalPath } from "./scope.js";

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
    await fs.mkdir(path.dirname(file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new ToolFailure(`cannot create the directory for ${input.path}: ${error.message}`);
    });
    await writeAtomically(file, input.content, input.path);
    const name = displayPath(ctx, file, input.path);
    return { summary: `${existing ? "wrote" : "created"} ${name} (${describeLines(countLines(input.content))}, ${bytes} bytes)` };
  },
});

/** Write `text` to the canonical path `file` through a temp file and a rename; errors become ToolFailure naming `requested`. */
export async function writeAtomically(file: string, text: string, requested: string): Promise<void> {
  await writeFileAtomic(file, text, { encoding: "utf8" }).catch((error: Error) => {
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
