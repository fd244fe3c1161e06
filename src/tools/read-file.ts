/**
 * read_file: a text file with line numbers, optionally a line range; capped in bytes;
 * binary files are refused with a clear message.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { defineTool, ToolFailure } from "./define-tool.js";

/** Most bytes of file text returned to the model in one call. */
export const READ_FILE_MAX_OUTPUT_BYTES = 64 * 1024;
/** Bytes sniffed for a NUL to call a file binary (edit_file uses the same rule). */
export const BINARY_SNIFF_BYTES = 8 * 1024;
/** Largest file read at all. */
const READ_FILE_MAX_FILE_BYTES = 32 * 1024 * 1024;

export const readFileTool = defineTool({
  name: "read_file",
  description:
    "Read a text file. Returns its lines prefixed with line numbers. Use offset/limit (1-based line numbers) for large files; output is capped at 64 KiB.",
  input: z.object({
    path: z.string().min(1).describe("File path, relative to the working directory or absolute."),
    offset: z.number().int().positive().optional().describe("First line to return (1-based)."),
    limit: z.number().int().positive().optional().describe("Maximum number of lines to return."),
  }),
  mainArgument: (input) => input.path,
  mainArgumentIsPath: () => true,
  async execute(input, ctx) {
    const file = ctx.scope.check(ctx.cwd, input.path, "read");
    const stat = await fs.stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new ToolFailure(error.code === "ENOENT" ? `file not found: ${input.path}` : `cannot read ${input.path}: ${error.message}`);
    });
    if (stat.isDirectory()) throw new ToolFailure(`${input.path} is a directory; use list_files`);
    // A FIFO or device would block (or never end) and ignore abort: only regular files are read.
    if (!stat.isFile()) throw new ToolFailure(`${input.path} is not a regular file`);
    if (stat.size > READ_FILE_MAX_FILE_BYTES) throw new ToolFailure(`${input.path} is ${stat.size} bytes, over the ${READ_FILE_MAX_FILE_BYTES}-byte limit`);
    const bytes = await fs.readFile(file, { signal: ctx.signal });
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
      return { summary: `${input.path}: binary file (${stat.size} bytes)`, content: `${input.path} is a binary file (${stat.size} bytes); not shown.` };
    }
    const name = path.relative(ctx.cwd, file) || input.path;
    if (bytes.length === 0) return { summary: `read ${name} (empty file)`, content: "(empty file)\n" };
    const lines = bytes.toString("utf8").split("\n");
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    const first = input.offset ?? 1;
    if (first > lines.length) throw new ToolFailure(`offset ${first} is past the end of ${input.path} (${lines.length} lines)`);
    const last = Math.min(lines.length, input.limit ? first - 1 + input.limit : lines.length);
    const width = String(last).length;
    let out = "";
    let shownLast = first - 1;
    for (let number = first; number <= last; number += 1) {
      let line = `${String(number).padStart(width)}\t${lines[number - 1]}\n`;
      if (number === first && Buffer.byteLength(line) > READ_FILE_MAX_OUTPUT_BYTES) {
        // One line longer than the whole cap: show its start rather than nothing (else offset= would loop).
        const text = lines[number - 1] ?? "";
        const prefix = `${String(number).padStart(width)}\t`;
        const note = `\n[line ${number} is ${Buffer.byteLength(text)} bytes; showed its first part]\n`;
        const room = READ_FILE_MAX_OUTPUT_BYTES - Buffer.byteLength(prefix) - Buffer.byteLength(note);
        const kept = Buffer.from(text).subarray(0, room).toString("utf8").replace(/\uFFFD$/, "");
        line = `${prefix}${kept}${note}`;
      }
      if (Buffer.byteLength(out) + Buffer.byteLength(line) > READ_FILE_MAX_OUTPUT_BYTES) break;
      out += line;
      shownLast = number;
    }
    if (shownLast < last) out += `[truncated at ${READ_FILE_MAX_OUTPUT_BYTES} bytes: showed lines ${first}-${shownLast} of ${lines.length}; use offset=${shownLast + 1}]\n`;
    const range = first === 1 && shownLast === lines.length ? `${lines.length} lines` : `lines ${first}-${shownLast} of ${lines.length}`;
    return { summary: `read ${name} (${range})`, content: out };
  },
});
