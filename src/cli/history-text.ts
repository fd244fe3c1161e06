/**
 * `podd history` output: a transcript as plain lines, one item per line (text items may span
 * several), each led by its local time; the date is printed before the first item and when it
 * changes. Colour (dim times and reasoning, red errors) only when asked for, i.e. on a TTY.
 */
import { describeRunEnd, formatClock, formatDate, truncate, type TranscriptItem } from "./transcript.js";

/** Tool arguments are shown on one line, cut to this many characters. */
export const MAX_TOOL_ARGUMENT_CHARS = 200;
/** Reasoning is abbreviated to its first line, cut to this many characters. */
export const MAX_REASONING_CHARS = 120;

const CLOCK_WIDTH = "00:00:00 ".length;

interface Style {
  dim(text: string): string;
  error(text: string): string;
}

const PLAIN: Style = { dim: (text) => text, error: (text) => text };
const ANSI: Style = { dim: (text) => `\x1b[2m${text}\x1b[22m`, error: (text) => `\x1b[31m${text}\x1b[39m` };

/** Indent every line after the first so it lines up under the text after the clock. */
function continued(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line, index) => (index === 0 || line === "" ? line : `${" ".repeat(CLOCK_WIDTH)}${line}`))
    .join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, " ");
}

type Line = { text: string; dim?: boolean; error?: boolean; isDivider?: boolean };

function lineOf(item: TranscriptItem): Line | undefined {
  switch (item.kind) {
    case "forked":
      return { text: `forked from ${item.from.pod_name}@${item.from.entry_index} (session ${item.from.session_id}, segment ${item.from.segment_id})` };
    case "segment":
      return { text: `── segment ${item.segmentId} ──`, isDivider: true };
    case "compaction":
      return { text: `── compacted: summary ──\n${item.summary ?? "(no summary entry)"}`, isDivider: true };
    case "user":
      return { text: `user: ${item.text}` };
    case "assistant":
      return { text: `assistant: ${item.text}` };
    case "reasoning":
      return { text: `thinking: ${item.isRedacted ? "[redacted]" : truncate(oneLine(item.text), MAX_REASONING_CHARS)}`, dim: true };
    case "tool_call":
      return { text: `  → ${item.name}(${truncate(oneLine(item.arguments), MAX_TOOL_ARGUMENT_CHARS)})` };
    case "tool_result":
      return { text: `  ← ${item.isError ? "error: " : ""}${oneLine(item.summary)}`, error: item.isError };
    case "system":
      return { text: `${item.systemKind.replace(/_/g, " ")}: ${item.text}` };
    case "run_end": {
      const words = describeRunEnd(item.result);
      return words === undefined ? undefined : { text: words };
    }
    case "run_cancelled":
      return { text: "run cancelled" };
    case "run_errored":
      return { text: `run failed: ${item.message} (${item.code})`, error: true };
  }
}

/**
 * The transcript as text, ending in a newline (empty string for no items). A blank line follows
 * every run end and surrounds dividers, so runs read as paragraphs.
 */
export function renderHistory(items: readonly TranscriptItem[], options: { isColor?: boolean } = {}): string {
  const style = options.isColor ? ANSI : PLAIN;
  const out: string[] = [];
  let day: string | undefined;
  const blank = (): void => {
    if (out.length > 0 && out.at(-1) !== "") out.push("");
  };
  for (const item of items) {
    const date = formatDate(item.ts);
    if (date !== day) {
      blank();
      out.push(style.dim(`[${date}]`));
      day = date;
    }
    const line = lineOf(item);
    if (line) {
      if (line.isDivider) blank();
      const body = continued(line.text);
      const shown = line.error ? style.error(body) : line.dim ? style.dim(body) : body;
      out.push(`${style.dim(formatClock(item.ts))} ${shown}`);
      if (line.isDivider) out.push("");
    }
    if (item.kind === "run_end" || item.kind === "run_cancelled" || item.kind === "run_errored") blank();
  }
  while (out.at(-1) === "") out.pop();
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
