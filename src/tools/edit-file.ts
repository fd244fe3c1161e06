/**
 * edit_file: exact-string replacements in an existing UTF-8 text file. Several edits apply in
 * order, each to the text the earlier ones left, and all or nothing: when any edit fails the
 * file is not written. Without `replace_all`, an `old_string` must occur exactly once
 * (overlapping occurrences count), so an edit never lands somewhere the model did not mean.
 * The scope is checked for write before the file is read; the result is written atomically.
 * Binary files, text that is not valid UTF-8 and anything but a regular file are refused.
 */
import fs from "node:fs/promises";
import { z } from "zod";
import { defineTool, ToolFailure } from "./define-tool.js";
import { BINARY_SNIFF_BYTES } from "./read-file.js";
import { countLines, describeLines, displayPath, writeAtomically } from "./write-file.js";

/** Largest file edit_file reads, and largest result it writes, in bytes. */
export const EDIT_FILE_MAX_BYTES = 8 * 1024 * 1024;

const Edit = z.object({
  old_string: z.string().describe("The exact text to replace, whitespace and indentation included. Must occur exactly once unless replace_all; not empty."),
  new_string: z.string().describe("The text to put in its place; must differ from old_string."),
  replace_all: z.boolean().optional().describe("Replace every occurrence of old_string instead of requiring exactly one. Default false."),
});
type Edit = z.infer<typeof Edit>;

export const editFileTool = defineTool({
  name: "edit_file",
  description:
    "Edit an existing text file by exact string replacement. Each edit replaces `old_string` with `new_string`; `old_string` must match the file exactly " +
    "(whitespace included) and exactly once, so include enough surrounding lines to make it unique, or set `replace_all`. " +
    "Several edits apply in order, each to the result of the ones before, and all or nothing: if any edit fails, the file is not changed. " +
    "Read the file first. To create a file or replace all of it use write_file.",
  input: z.object({
    path: z.string().min(1).describe("File path, relative to the working directory or absolute."),
    edits: z.array(Edit).min(1).describe("Replacements, applied in order."),
  }),
  mainArgument: (input) => input.path,
  mainArgumentIsPath: () => true,
  async execute(input, ctx) {
    const file = ctx.scope.check(ctx.cwd, input.path, "write");
    input.edits.forEach((edit, index) => {
      if (edit.old_string === "") throw new ToolFailure(`edit ${index + 1}: old_string is empty; to create or replace a whole file use write_file`);
      if (edit.old_string === edit.new_string) throw new ToolFailure(`edit ${index + 1}: old_string and new_string are the same; nothing to change`);
    });
    const stat = await fs.stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new ToolFailure(error.code === "ENOENT" ? `file not found: ${input.path} (use write_file to create it)` : `cannot read ${input.path}: ${error.message}`);
    });
    if (stat.isDirectory()) throw new ToolFailure(`${input.path} is a directory; edit_file edits a file`);
    if (!stat.isFile()) throw new ToolFailure(`${input.path} is not a regular file`);
    if (stat.size > EDIT_FILE_MAX_BYTES) throw new ToolFailure(`${input.path} is ${stat.size} bytes, over the ${EDIT_FILE_MAX_BYTES}-byte edit_file limit`);
    const bytes = await fs.readFile(file, { signal: ctx.signal });
    if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) throw new ToolFailure(`${input.path} is a binary file; edit_file edits text only`);
    let original: string;
    try {
      // ignoreBOM keeps a byte-order mark in the text, so it is written back unchanged.
      original = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new ToolFailure(`${input.path} is not valid UTF-8 text; edit_file edits UTF-8 text only`);
    }

    let text = original;
    let replacements = 0;
    let linesRemoved = 0;
    let linesAdded = 0;
    input.edits.forEach((edit, index) => {
      const applied = applyEdit(text, edit, { number: index + 1, total: input.edits.length, path: input.path });
      text = applied.text;
      replacements += applied.count;
      // Lines each replaced (or inserted) string spans; a trailing newline does not start another line.
      linesRemoved += applied.count * countLines(edit.old_string);
      linesAdded += applied.count * countLines(edit.new_string);
    });
    const size = Buffer.byteLength(text);
    if (size > EDIT_FILE_MAX_BYTES) throw new ToolFailure(`the edited ${input.path} would be ${size} bytes, over the ${EDIT_FILE_MAX_BYTES}-byte edit_file limit; the file was not changed`);

    ctx.signal.throwIfAborted();
    await writeAtomically(file, text, input.path);
    const edits = input.edits.length;
    const parts = [plural(edits, "edit"), ...(replacements > edits ? [plural(replacements, "replacement")] : []), `+${linesAdded} -${linesRemoved} lines`];
    return { summary: `edited ${displayPath(ctx, file, input.path)} (${parts.join(", ")}; now ${describeLines(countLines(text))})` };
  },
});

/** Apply one edit to `text`, or throw ToolFailure naming the edit (1-based) and saying nothing was written. */
function applyEdit(text: string, edit: Edit, where: { number: number; total: number; path: string }): { text: string; count: number } {
  const label = where.total > 1 ? `edit ${where.number} of ${where.total}` : "edit 1";
  const unchanged = "the file was not changed";
  if (edit.replace_all) {
    const pieces = text.split(edit.old_string);
    if (pieces.length === 1) throw new ToolFailure(`${label}: old_string not found in ${where.path}${notFoundHint(text, edit, where.total)}; ${unchanged}`);
    return { text: pieces.join(edit.new_string), count: pieces.length - 1 };
  }
  const first = text.indexOf(edit.old_string);
  if (first === -1) throw new ToolFailure(`${label}: old_string not found in ${where.path}${notFoundHint(text, edit, where.total)}; ${unchanged}`);
  const matches = countOverlapping(text, edit.old_string, first);
  if (matches > 1) throw new ToolFailure(`${label}: old_string matches ${matches} times in ${where.path}; add context or set replace_all; ${unchanged}`);
  // Slicing, not String.replace: `$&` and friends in new_string stay literal.
  return { text: text.slice(0, first) + edit.new_string + text.slice(first + edit.old_string.length), count: 1 };
}

/** Occurrences of `needle` in `text` from `start`, overlapping ones included ("aa" is in "aaa" twice). */
function countOverlapping(text: string, needle: string, start: number): number {
  let count = 0;
  for (let at = start; at !== -1; at = text.indexOf(needle, at + 1)) count += 1;
  return count;
}

function notFoundHint(text: string, edit: Edit, total: number): string {
  if (text.includes("\r\n") && edit.old_string.includes("\n") && text.includes(edit.old_string.replace(/\r?\n/g, "\r\n"))) {
    return " (the file has CRLF line endings; use \\r\\n in old_string)";
  }
  return total > 1 ? " (edits apply in order, each to the text the earlier ones left)" : "";
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
