/**
 * The transcript pane: items and the live turn of a `TuiState` as terminal lines (ANSI), and
 * the Ink component that shows a window of them. Lines of a finished item are cached per item
 * object, width and expansion (items are immutable, so a changed item is a new object); the
 * window is built from the bottom up, so only items on screen are ever rendered and a
 * streaming delta renders just the live turn. It does not scroll or read keys (the app owns
 * those).
 *
 * Looks: `›` user (bold), assistant markdown, `✻` thinking (dim, one line unless expanded),
 * `→`/`←` tool calls (errors red), `◆` notifications and system items, `◇` child pod reports
 * (magenta), `▲` alerts (yellow/red), `✗` errors (red), `──` dividers for compaction, forks
 * and rewinds, run ends that did not simply finish.
 */
import { Box, Text } from "ink";
import type { JSX } from "react";
import { flattenSegments, type PodEvent } from "../../protocol/index.js";
import { renderMarkdown, style, truncateToWidth, visibleWidth, wrapAnsi } from "./markdown.js";
import type { LiveTurn, TranscriptItem, TuiState } from "./transcript-model.js";

/** Lines of tool arguments shown when expanded. */
export const MAX_EXPANDED_ARGUMENT_LINES = 20;
/** Lines of tool output shown when expanded. */
export const MAX_EXPANDED_OUTPUT_LINES = 40;
/** Lines of a system item's body or compaction summary shown when expanded. */
export const MAX_EXPANDED_BODY_LINES = 60;

const INDENT = "  ";

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, " ").trim();
}

function lineCount(text: string): number {
  return text === "" ? 0 : text.split(/\r?\n/).length;
}

/** `1 line`, `3 lines`. */
function linesLabel(text: string): string {
  const count = lineCount(text);
  return `${count} ${count === 1 ? "line" : "lines"}`;
}

/** Plain `text` wrapped to `width` after `firstPrefix` (continuation lines get `restPrefix`), each line styled. */
function block(text: string, width: number, firstPrefix: string, restPrefix: string, paint: (line: string) => string = (line) => line): string[] {
  const prefixWidth = Math.max(visibleWidth(firstPrefix), visibleWidth(restPrefix));
  const lines = wrapAnsi(text, Math.max(1, width - prefixWidth));
  return lines.map((line, index) => paint(`${index === 0 ? firstPrefix : restPrefix}${line}`));
}

/** At most `maxLines` lines of `text`, with a note of what was left out. */
function capped(text: string, maxLines: number): string {
  const lines = text.split(/\r?\n/);
  if (lines.length <= maxLines) return text;
  return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines`].join("\n");
}

/** Tool arguments for the one-line view: JSON values without quotes around keys. */
function argumentsPreview(argumentsJson: string): string {
  try {
    const value: unknown = JSON.parse(argumentsJson);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return Object.entries(value as Record<string, unknown>)
        .map(([key, field]) => `${key}: ${typeof field === "string" ? JSON.stringify(oneLine(field)) : JSON.stringify(field)}`)
        .join(", ");
    }
  } catch {
    // streaming or invalid JSON: show it as is
  }
  return oneLine(argumentsJson);
}

function prettyArguments(argumentsJson: string): string {
  try {
    return JSON.stringify(JSON.parse(argumentsJson), null, 2);
  } catch {
    return argumentsJson;
  }
}

function divider(label: string, width: number, paint: (text: string) => string): string {
  const text = `── ${label} `;
  const rest = Math.max(2, width - visibleWidth(text));
  return paint(truncateToWidth(`${text}${"─".repeat(rest)}`, width));
}

function userLines(item: Extract<TranscriptItem, { kind: "user" }>, width: number, expanded: boolean): string[] {
  // A paste stays a chip unless expanded; everything else reads as the model reads it.
  const text = item.segments
    .map((segment) => (segment.kind === "paste" && !expanded ? `[pasted ${segment.lines} lines, ${segment.chars} chars]` : flattenSegments([segment])))
    .join("");
  return block(text, width, "› ", INDENT, style.bold);
}

function toolCallLines(item: Extract<TranscriptItem, { kind: "tool_call" }>, width: number, expanded: boolean): string[] {
  const lines: string[] = [];
  if (item.name !== undefined) {
    const head = `→ ${item.name}`;
    const preview = argumentsPreview(item.arguments);
    lines.push(`${style.bold(head)}${truncateToWidth(`(${preview})`, Math.max(2, width - visibleWidth(head)))}`);
    if (expanded && item.arguments.trim() !== "" && item.arguments.trim() !== "{}") {
      lines.push(...block(capped(prettyArguments(item.arguments), MAX_EXPANDED_ARGUMENT_LINES), width, INDENT + INDENT, INDENT + INDENT, style.dim));
    }
  }
  const result = item.result;
  if (result) {
    const mark = result.isError ? "← ✗ " : "← ";
    const summary = truncateToWidth(oneLine(result.summary), Math.max(1, width - INDENT.length - mark.length));
    lines.push(result.isError ? style.red(`${INDENT}${mark}${summary}`) : `${INDENT}${style.dim(mark)}${summary}`);
    if (expanded && result.output !== undefined && result.output !== "") {
      lines.push(...block(capped(result.output.replace(/\s+$/, ""), MAX_EXPANDED_OUTPUT_LINES), width, INDENT + INDENT, INDENT + INDENT, style.dim));
    }
  }
  return lines;
}

function podReportPaint(event: PodEvent): (text: string) => string {
  return event.kind === "errored" ? (text) => style.red(style.magenta(text)) : style.magenta;
}

function collapsedSummary(summary: string | undefined, width: number): string[] {
  if (summary === undefined) return [];
  const first = oneLine(summary.split(/\r?\n/).find((line) => line.trim() !== "") ?? "");
  return [style.dim(truncateToWidth(`${INDENT}summary: ${first}${lineCount(summary) > 1 ? ` (${linesLabel(summary)})` : ""}`, width))];
}

type ItemRenderer<Kind extends TranscriptItem["kind"]> = (item: Extract<TranscriptItem, { kind: Kind }>, width: number, expanded: boolean) => string[];

const RUN_END_WORDS = {
  paused: "⏸ paused — Enter resumes",
  limit_reached: "■ run stopped: turn limit reached",
  rolled_back: "↶ run rolled back (nothing was produced)",
} as const;

const ITEM_RENDERERS: { [Kind in TranscriptItem["kind"]]: ItemRenderer<Kind> } = {
  user: userLines,
  assistant: (item, width) => [...renderMarkdown(item.text, width)],
  message: (item, width) => block(item.text, width, `◆ ${item.role}: `, INDENT, style.dim),
  thinking: (item, width, expanded) => {
    if (item.isRedacted) return [style.dim(style.italic("✻ thinking (redacted)"))];
    if (!expanded) return [style.dim(style.italic(truncateToWidth(`✻ thinking (${linesLabel(item.text)})`, width)))];
    return [style.dim(style.italic("✻ thinking")), ...block(item.text, width, INDENT, INDENT, (line) => style.dim(style.italic(line)))];
  },
  tool_call: toolCallLines,
  notification: (item, width, expanded) => block(expanded ? item.body : item.message, width, "◆ notification: ", INDENT, style.cyan),
  pod_report: (item, width) => block(item.text, width, "◇ ", INDENT, podReportPaint(item.event)),
  system: (item, width, expanded) => {
    const label = item.systemKind.replace(/_/g, " ");
    const head = block(oneLine(item.text), width, `◆ ${label}: `, INDENT, style.gray).slice(0, expanded ? undefined : 1);
    if (!expanded || item.body === item.text) return head;
    return [...head, ...block(capped(item.body, MAX_EXPANDED_BODY_LINES), width, INDENT + INDENT, INDENT + INDENT, style.dim)];
  },
  compaction: (item, width, expanded) => {
    const head = divider("compacted", width, style.cyan);
    if (item.summary === undefined) return [head];
    if (!expanded) return [head, ...collapsedSummary(item.summary, width)];
    return [head, ...block(capped(item.summary, MAX_EXPANDED_BODY_LINES), width, INDENT, INDENT, style.dim)];
  },
  forked: (item, width) => [divider(`forked from ${item.from.pod_name}@${item.from.entry_index}`, width, style.cyan)],
  segment: (item, width) => [divider(`new segment ${item.segmentId}`, width, style.gray)],
  rewind: (item, width) => [divider("rewound", width, style.yellow), ...block(item.summary, width, INDENT, INDENT, style.dim)],
  run_end: (item, width) => block(RUN_END_WORDS[item.result], width, "", INDENT, item.result === "rolled_back" ? style.dim : style.yellow),
  error: (item, width) => block(`${item.message} (${item.code})`, width, "✗ error: ", INDENT, style.red),
  alert: (item, width) => block(item.message, width, `▲ ${item.level} (${item.source}): `, INDENT, item.level === "error" ? style.red : style.yellow),
  retry: (item, width) => {
    const status = item.httpStatus === undefined ? "" : ` (${item.httpStatus})`;
    const wait = `${Math.ceil(item.waitMs / 1000)}s`;
    return block(`${oneLine(item.error)}${status}; retry ${item.attempt}/${item.maxAttempts} in ${wait}`, width, "⟳ ", INDENT, style.yellow);
  },
  notice: (item, width) => block(item.text, width, "· ", INDENT, item.tone === "error" ? style.red : item.tone === "warn" ? style.yellow : style.dim),
};

// ---- caches ---------------------------------------------------------------------------------

/** Lines per item object, keyed by `${width}:${expanded}`. */
const itemCache = new WeakMap<TranscriptItem, Map<string, readonly string[]>>();

function itemLines(item: TranscriptItem, width: number, expanded: boolean): readonly string[] {
  const key = `${width}:${expanded ? 1 : 0}`;
  let perItem = itemCache.get(item);
  const cached = perItem?.get(key);
  if (cached) return cached;
  const render = ITEM_RENDERERS[item.kind] as ItemRenderer<TranscriptItem["kind"]>;
  const lines = render(item, width, expanded);
  if (!perItem) {
    perItem = new Map();
    itemCache.set(item, perItem);
  }
  perItem.set(key, lines);
  return lines;
}

/** Items that sit tight under the one before (no blank line between). */
function isTight(previous: TranscriptItem, item: TranscriptItem): boolean {
  return (previous.kind === "tool_call" && item.kind === "tool_call") || (previous.kind === "retry" && item.kind === "retry");
}

interface CommittedLines {
  items: readonly TranscriptItem[];
  width: number;
  expanded: boolean;
  lines: readonly string[];
}
let lastCommitted: CommittedLines | undefined;

/** Lines of all committed items, with a blank line between items; cached for the last items array. */
function committedLines(items: readonly TranscriptItem[], width: number, expanded: boolean): readonly string[] {
  if (lastCommitted && lastCommitted.items === items && lastCommitted.width === width && lastCommitted.expanded === expanded) return lastCommitted.lines;
  const lines: string[] = [];
  let previous: TranscriptItem | undefined;
  for (const item of items) {
    const rendered = itemLines(item, width, expanded);
    if (rendered.length === 0) continue;
    if (previous && !isTight(previous, item)) lines.push("");
    for (const line of rendered) lines.push(line);
    previous = item;
  }
  lastCommitted = { items, width, expanded, lines };
  return lines;
}

/** Lines of the turn in flight (not cached; its streaming text is rendered as live markdown, kept only until it changes). */
function liveLines(live: LiveTurn | undefined, width: number, expanded: boolean): string[] {
  if (!live) return [];
  const lines: string[] = [];
  if (live.isThinking || live.thinking !== "") {
    const head = style.dim(style.italic(`✻ thinking…${live.thinking === "" ? "" : ` (${linesLabel(live.thinking)})`}`));
    lines.push(head);
    if (expanded) lines.push(...block(live.thinking, width, INDENT, INDENT, (line) => style.dim(style.italic(line))));
  }
  if (live.text !== "") lines.push(...renderMarkdown(live.text, width, { live: true }));
  for (const call of live.toolCalls) {
    lines.push(style.dim(truncateToWidth(`→ ${call.name}(${argumentsPreview(call.arguments)}…`, width)));
  }
  return lines;
}

/** The transcript as terminal lines (ANSI), newest last; per-item results cached. */
export function transcriptLines(state: TuiState, width: number, expanded: boolean): string[] {
  const committed = committedLines(state.items, width, expanded);
  const live = liveLines(state.live, width, expanded);
  return committed.length > 0 && live.length > 0 ? [...committed, "", ...live] : [...committed, ...live];
}

/**
 * The `height` lines ending `scrollOffset` lines above the bottom (clamped to the top), found
 * from the bottom up: only the items on screen (and below it) are rendered, so a long session
 * shows its first screen without rendering its whole history.
 */
export function visibleLines(state: TuiState, width: number, expanded: boolean, height: number, scrollOffset: number): string[] {
  const rows = Math.max(0, height);
  const wanted = rows + Math.max(0, scrollOffset);
  // Chunks of lines, newest first; each chunk in top-to-bottom order.
  const chunks: (readonly string[])[] = [];
  let count = 0;
  const live = liveLines(state.live, width, expanded);
  if (live.length > 0) {
    chunks.push(live);
    count += live.length;
  }
  let below: TranscriptItem | undefined;
  const items = state.items;
  for (let index = items.length - 1; index >= 0 && count < wanted; index -= 1) {
    const item = items[index] as TranscriptItem;
    const rendered = itemLines(item, width, expanded);
    if (rendered.length === 0) continue;
    if (count > 0 && !(below && isTight(item, below))) {
      chunks.push([""]);
      count += 1;
    }
    chunks.push(rendered);
    count += rendered.length;
    below = item;
  }
  const lines: string[] = [];
  for (let index = chunks.length - 1; index >= 0; index -= 1) for (const line of chunks[index] as readonly string[]) lines.push(line);
  // `lines` ends at the bottom; when the history ran out, the window sticks to the top.
  const end = Math.max(Math.min(rows, lines.length), lines.length - Math.max(0, scrollOffset));
  return lines.slice(Math.max(0, end - rows), end);
}

/**
 * Shows the `height` lines ending `scrollOffset` lines above the bottom (offset clamped to the top);
 * a `marker` (the "new output below" row of transcript-scroll.ts) takes the last row.
 */
export function Transcript(props: { state: TuiState; width: number; height: number; scrollOffset: number; expanded: boolean; marker?: string }): JSX.Element {
  const { state, width, height, scrollOffset, expanded, marker } = props;
  const rows = marker === undefined ? height : Math.max(0, height - 1);
  const shown = visibleLines(state, width, expanded, rows, scrollOffset);
  if (marker !== undefined && height > 0) shown.push(marker);
  return (
    <Box flexDirection="column" width={width} height={Math.max(0, height)} overflow="hidden">
      {shown.map((line, index) => (
        <Text key={index} wrap="truncate-end">
          {line === "" ? " " : line}
        </Text>
      ))}
    </Box>
  );
}
