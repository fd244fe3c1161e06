/**
 * The help overlay (`?` on an empty composer, or `:help`): every key and command of the TUI.
 *
 * Laid out for the terminal it is in (issue 16: it fits 80 columns): a key column as wide as the
 * longest key (at most KEY_COLUMN_MAX), each description wrapped under itself, the note and the
 * footer wrapped to the box. A terminal too short for all rows shows the first ones and says so.
 */
import { Box, Text } from "ink";
import { style, wrapAnsi } from "./markdown.js";

export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["Enter", "send; while the pod runs, queue until the run ends"],
  ["Enter, empty composer", "resume a paused turn"],
  ["Alt-Enter / Ctrl-J", "new line"],
  ["@path + Tab", "complete a file name"],
  ["↑ / ↓", "previous / next input (the history is kept per pod)"],
  ["Ctrl-U", "clear the whole draft"],
  ["Backspace, empty", "drop the last queued message"],
  ["Ctrl-C", "pause the running turn; when idle, twice to quit"],
  ["Esc / Ctrl-X", "cancel the running or paused turn"],
  ["Ctrl-D", "detach (on an empty composer)"],
  ["PgUp / PgDn", "scroll; a marker shows new output below"],
  ["Ctrl-O", "expand / collapse thinking and tool details"],
  ["Ctrl-P", "pods pane: Enter attaches to a child, Esc closes"],
  ["?", "this help (on an empty composer)"],
  ["r / q, pod stopped", "restart a pod stopped on purpose / quit"],
];

export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ["/compact", "summarise the session into a new segment"],
  ["/rewind", "pick an input to rewind to; it comes back to edit"],
  ["/notify <text>", "queue a notification for the model"],
  ["/stop", "shut the pod down (asks first)"],
  ["/back, /pods", "back to the parent / the pods pane"],
  ["/help", "this help"],
];

export const COMMAND_NOTE =
  "`:compact` works as `/compact`. An unknown command is refused, not sent; `:)`, `/usr/bin/x` and a line starting with a space are messages.";

const FOOTER = "Quitting or detaching leaves the pod running. ↑/↓ scroll, Esc or ? closes.";

/** Widest key column, in cells (a wider key wraps in its column). */
export const KEY_COLUMN_MAX = 24;
/** Border (2) and padding (2) of the box. */
const FRAME_CELLS = 4;

/** The help box's lines for a box `width` cells wide (border included), ANSI styled; exported for tests. */
export function helpLines(width: number): string[] {
  const inner = Math.max(10, width - FRAME_CELLS);
  const longest = Math.max(...[...KEY_HELP, ...COMMAND_HELP].map(([key]) => key.length));
  const keyColumn = Math.min(KEY_COLUMN_MAX, longest + 2, Math.floor(inner / 3));
  const textColumn = Math.max(1, inner - keyColumn);
  const table = (rows: readonly (readonly [string, string])[]): string[] =>
    rows.flatMap(([key, what]) => {
      const keys = wrapAnsi(key, keyColumn - 1);
      const texts = wrapAnsi(what, textColumn);
      return Array.from({ length: Math.max(keys.length, texts.length) }, (_, index) => `${style.cyan((keys[index] ?? "").padEnd(keyColumn))}${texts[index] ?? ""}`);
    });
  return [
    style.bold("Keys"),
    ...table(KEY_HELP),
    style.bold("Commands"),
    ...table(COMMAND_HELP),
    ...wrapAnsi(COMMAND_NOTE, inner),
    ...wrapAnsi(FOOTER, inner).map(style.dim),
  ];
}

/** Of `lines`, the window of `maxRows` rows from `offset` (clamped); a cut window ends in a "more" row. */
export function helpWindow(lines: readonly string[], offset: number, maxRows: number): { shown: string[]; maxOffset: number } {
  const rows = Math.max(2, maxRows);
  if (lines.length <= rows) return { shown: [...lines], maxOffset: 0 };
  const body = rows - 1;
  const maxOffset = lines.length - body;
  const from = Math.min(Math.max(0, offset), maxOffset);
  const below = lines.length - from - body;
  const more = below > 0 ? `↓ ${below} more ${below === 1 ? "line" : "lines"} (↓ / PgDn)` : "↑ more above (↑ / PgUp)";
  return { shown: [...lines.slice(from, from + body), style.dim(more)], maxOffset };
}

/** The help box's width in a terminal `columns` wide. */
export function helpWidth(columns: number): number {
  return Math.min(columns, 100);
}

/** The help box: at most `maxRows` rows inside the border, from row `offset` (↑/↓ scroll it: the app's keys). */
export function HelpOverlay(props: { width: number; maxRows?: number; offset?: number }) {
  const width = helpWidth(props.width);
  const lines = helpLines(width);
  const { shown } = helpWindow(lines, props.offset ?? 0, props.maxRows ?? lines.length);
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={width}>
      {shown.map((line, index) => (
        <Text key={index} wrap="truncate-end">
          {line === "" ? " " : line}
        </Text>
      ))}
    </Box>
  );
}
