/**
 * The composer's editing model, pure: text + cursor + paste chips → editing operations, the
 * input history, the bracketed-paste reader and the wrapped layout. It owns no React, no Ink and
 * no I/O; src/tui/composer.tsx maps keys onto these functions and renders the layout.
 *
 * A paste chip is stored in `text` as ONE private-use character (U+E000 + n) whose content lives
 * in `chips`; so the cursor steps over it, Backspace deletes it as a unit, and `expandText`
 * swaps the full content back in. Private-use characters typed or pasted inline are dropped.
 * Offsets (`cursor`, ranges) are UTF-16 code-unit offsets, never inside a surrogate pair.
 */
import stringWidth from "string-width";

export interface EditorState {
  /** The text with each paste chip as one placeholder character; newlines are `\n`. */
  readonly text: string;
  /** UTF-16 offset into `text`, 0..text.length. */
  readonly cursor: number;
  /** Placeholder character → pasted content (newlines normalised to `\n`). */
  readonly chips: ReadonlyMap<string, string>;
  readonly nextChip: number;
}

export const EMPTY_EDITOR: EditorState = { text: "", cursor: 0, chips: new Map(), nextChip: 0 };

/** Pastes shorter than this many characters with no newline are inserted as plain text. */
export const INLINE_PASTE_MAX_CHARS = 80;

const CHIP_BASE = 0xe000;
const CHIP_LIMIT = 0xf8ff;
const PRIVATE_USE = /[\uE000-\uF8FF]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

function sanitize(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(PRIVATE_USE, "").replace(CONTROL, "");
}

export function isChip(state: EditorState, character: string | undefined): boolean {
  return character !== undefined && state.chips.has(character);
}

/** The text as typed, cursor at the end. */
export function editorFromText(text: string): EditorState {
  const clean = sanitize(text);
  return { text: clean, cursor: clean.length, chips: new Map(), nextChip: 0 };
}

export function isEditorEmpty(state: EditorState): boolean {
  return state.text.length === 0;
}

function replaceRange(state: EditorState, start: number, end: number, insert: string, cursor = start + insert.length): EditorState {
  return { ...state, text: state.text.slice(0, start) + insert + state.text.slice(end), cursor };
}

export function insertText(state: EditorState, text: string): EditorState {
  const clean = sanitize(text);
  return clean ? replaceRange(state, state.cursor, state.cursor, clean) : state;
}

/** `[pasted 42 lines]`, or `[pasted 1,234 chars]` for one long line. */
export function chipLabel(content: string): string {
  const lines = content.replace(/\n$/, "").split("\n").length;
  return lines > 1 ? `[pasted ${lines.toLocaleString("en-US")} lines]` : `[pasted ${content.length.toLocaleString("en-US")} chars]`;
}

/** A paste: short single-line text inline, anything else as one chip. */
export function insertPaste(state: EditorState, pasted: string): EditorState {
  const content = pasted.replace(/\r\n?/g, "\n").replace(PRIVATE_USE, "");
  if ((content.length < INLINE_PASTE_MAX_CHARS && !content.includes("\n")) || CHIP_BASE + state.nextChip > CHIP_LIMIT) {
    return insertText(state, content);
  }
  const placeholder = String.fromCharCode(CHIP_BASE + state.nextChip);
  const chips = new Map(state.chips).set(placeholder, content);
  return replaceRange({ ...state, chips, nextChip: state.nextChip + 1 }, state.cursor, state.cursor, placeholder);
}

/** The text to submit: every chip replaced by its full content. */
export function expandText(state: EditorState): string {
  let out = "";
  for (const character of state.text) out += state.chips.get(character) ?? character;
  return out;
}

function previousOffset(text: string, offset: number): number {
  if (offset <= 0) return 0;
  const low = text.charCodeAt(offset - 1);
  const high = text.charCodeAt(offset - 2);
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? offset - 2 : offset - 1;
}

function nextOffset(text: string, offset: number): number {
  if (offset >= text.length) return text.length;
  const code = text.codePointAt(offset) ?? 0;
  return offset + (code > 0xffff ? 2 : 1);
}

/** Clamp an offset out of the middle of a surrogate pair. */
function snap(text: string, offset: number): number {
  const clamped = Math.max(0, Math.min(offset, text.length));
  const code = text.charCodeAt(clamped);
  return code >= 0xdc00 && code <= 0xdfff && clamped > 0 ? clamped - 1 : clamped;
}

export function backspace(state: EditorState): EditorState {
  return state.cursor === 0 ? state : replaceRange(state, previousOffset(state.text, state.cursor), state.cursor, "");
}

export function deleteForward(state: EditorState): EditorState {
  return state.cursor >= state.text.length ? state : replaceRange(state, state.cursor, nextOffset(state.text, state.cursor), "", state.cursor);
}

export function moveLeft(state: EditorState): EditorState {
  return { ...state, cursor: previousOffset(state.text, state.cursor) };
}

export function moveRight(state: EditorState): EditorState {
  return { ...state, cursor: nextOffset(state.text, state.cursor) };
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function lineEndOf(text: string, offset: number): number {
  const end = text.indexOf("\n", offset);
  return end === -1 ? text.length : end;
}

export function moveLineStart(state: EditorState): EditorState {
  return { ...state, cursor: lineStartOf(state.text, state.cursor) };
}

export function moveLineEnd(state: EditorState): EditorState {
  return { ...state, cursor: lineEndOf(state.text, state.cursor) };
}

/** One logical line up, same column (clamped); undefined on the first line (→ history). */
export function moveUp(state: EditorState): EditorState | undefined {
  const start = lineStartOf(state.text, state.cursor);
  if (start === 0) return undefined;
  const previousStart = lineStartOf(state.text, start - 1);
  const cursor = snap(state.text, Math.min(previousStart + (state.cursor - start), start - 1));
  return { ...state, cursor };
}

/** One logical line down, same column (clamped); undefined on the last line (→ history). */
export function moveDown(state: EditorState): EditorState | undefined {
  const end = lineEndOf(state.text, state.cursor);
  if (end === state.text.length) return undefined;
  const start = lineStartOf(state.text, state.cursor);
  const cursor = snap(state.text, Math.min(end + 1 + (state.cursor - start), lineEndOf(state.text, end + 1)));
  return { ...state, cursor };
}

const WORD_CHARACTER = /[\p{L}\p{N}_]/u;

/** Alt-B / Ctrl-Left: to the start of the previous word (letters, digits, `_`; a chip is a word). */
export function moveWordLeft(state: EditorState): EditorState {
  const isWord = (character: string) => WORD_CHARACTER.test(character) || isChip(state, character);
  let offset = state.cursor;
  while (offset > 0 && !isWord(state.text.slice(previousOffset(state.text, offset), offset))) offset = previousOffset(state.text, offset);
  while (offset > 0 && isWord(state.text.slice(previousOffset(state.text, offset), offset))) offset = previousOffset(state.text, offset);
  return { ...state, cursor: offset };
}

/** Alt-F / Ctrl-Right: to the end of the next word. */
export function moveWordRight(state: EditorState): EditorState {
  const isWord = (character: string) => WORD_CHARACTER.test(character) || isChip(state, character);
  let offset = state.cursor;
  const at = (index: number) => state.text.slice(index, nextOffset(state.text, index));
  while (offset < state.text.length && !isWord(at(offset))) offset = nextOffset(state.text, offset);
  while (offset < state.text.length && isWord(at(offset))) offset = nextOffset(state.text, offset);
  return { ...state, cursor: offset };
}

/** Ctrl-W (readline unix-word-rubout): whitespace before the cursor, then the non-whitespace run. */
export function deleteWordBefore(state: EditorState): EditorState {
  let start = state.cursor;
  while (start > 0 && /\s/.test(state.text[start - 1] ?? "")) start--;
  while (start > 0 && !/\s/.test(state.text[start - 1] ?? "")) start--;
  return replaceRange(state, start, state.cursor, "");
}

/** Ctrl-U: the whole draft, every line and chip (a chat composer's "clear", not readline's line-discard). */
export function clearDraft(state: EditorState): EditorState {
  return state.text === "" ? state : EMPTY_EDITOR;
}

export interface CompletionWord {
  /** Offset of the `@`. */
  start: number;
  /** End of the word (the non-whitespace run may continue after the cursor). */
  end: number;
  /** What follows the `@` up to the cursor: the `list_completions` prefix. */
  prefix: string;
}

/** The `@word` the cursor is in (or just after), when the word starts with `@`. */
export function completionWord(state: EditorState): CompletionWord | undefined {
  const { text, cursor } = state;
  let start = cursor;
  while (start > 0 && !/\s/.test(text[start - 1] ?? "") && !isChip(state, text[start - 1])) start--;
  if (text[start] !== "@" || start === cursor) return undefined;
  let end = cursor;
  while (end < text.length && !/\s/.test(text[end] ?? "") && !isChip(state, text[end])) end++;
  return { start, end, prefix: text.slice(start + 1, cursor) };
}

/** Replace the `@word` by `@value`; a file (not ending in `/`) gets a trailing space. */
export function acceptCompletion(state: EditorState, word: CompletionWord, value: string): EditorState {
  const isDirectory = value.endsWith("/");
  const following = state.text[word.end];
  const space = isDirectory || following === " " ? "" : " ";
  const insert = `@${sanitize(value)}${space}`;
  const cursor = word.start + insert.length + (!isDirectory && following === " " ? 1 : 0);
  return replaceRange(state, word.start, word.end, insert, cursor);
}

// ---------------------------------------------------------------- input history

export interface InputHistory {
  /** Submitted states (chips kept as chips), oldest first. */
  readonly entries: readonly EditorState[];
  /** entries.length while not browsing. */
  readonly index: number;
  /** What was being typed when browsing started; restored when browsing back down past the newest. */
  readonly draft: EditorState | undefined;
}

export const EMPTY_HISTORY: InputHistory = { entries: [], index: 0, draft: undefined };

/** Most entries kept (the app saves them per pod: input-history-file.ts). */
export const MAX_HISTORY_ENTRIES = 500;

/** A history of `texts` (oldest first; e.g. the saved ones), not browsing. */
export function historyFromTexts(texts: readonly string[]): InputHistory {
  let history = EMPTY_HISTORY;
  for (const text of texts.slice(-MAX_HISTORY_ENTRIES)) if (text.trim() !== "") history = historyPush(history, editorFromText(text));
  return history;
}

export function historyPush(history: InputHistory, entry: EditorState): InputHistory {
  const last = history.entries[history.entries.length - 1];
  const same = last !== undefined && expandText(last) === expandText(entry);
  const entries = same ? history.entries : [...history.entries, { ...entry, cursor: entry.text.length }].slice(-MAX_HISTORY_ENTRIES);
  return { entries, index: entries.length, draft: undefined };
}

/** Up past the first line: the previous entry, cursor at the end of its first line; undefined at the oldest. */
export function historyPrevious(history: InputHistory, current: EditorState): { history: InputHistory; editor: EditorState } | undefined {
  const entry = history.entries[history.index - 1];
  if (!entry) return undefined;
  const draft = history.index >= history.entries.length ? current : history.draft;
  return { history: { ...history, index: history.index - 1, draft }, editor: { ...entry, cursor: lineEndOf(entry.text, 0) } };
}

/** Down past the last line: the next entry (cursor at its end), or the kept draft; undefined when not browsing. */
export function historyNext(history: InputHistory): { history: InputHistory; editor: EditorState } | undefined {
  if (history.index >= history.entries.length) return undefined;
  const index = history.index + 1;
  const entry = history.entries[index];
  if (entry) return { history: { ...history, index }, editor: { ...entry, cursor: entry.text.length } };
  return { history: { ...history, index, draft: undefined }, editor: history.draft ?? EMPTY_EDITOR };
}

// ---------------------------------------------------------------- bracketed paste

export const PASTE_START = "\u001b[200~";
export const PASTE_END = "\u001b[201~";

export type PasteStep = { kind: "pass" } | { kind: "consumed" } | { kind: "paste"; text: string };

/**
 * Feeds on Ink's input events (Ink's parser splits stdin at every ESC, so the markers arrive as
 * events of their own and the content between them as one or more raw events). Also accepts the
 * markers with the ESC stripped (`[200~`), which is how they reach `useInput`.
 */
export function createPasteReader(): { feed(event: string): PasteStep; readonly isPasting: boolean } {
  let buffer: string | undefined;
  return {
    get isPasting() {
      return buffer !== undefined;
    },
    feed(event) {
      if (buffer === undefined) {
        if (event !== PASTE_START && event !== PASTE_START.slice(1)) return { kind: "pass" };
        buffer = "";
        return { kind: "consumed" };
      }
      if (event === PASTE_END || event === PASTE_END.slice(1)) {
        const text = buffer;
        buffer = undefined;
        return { kind: "paste", text };
      }
      if (event !== PASTE_START && event !== PASTE_START.slice(1)) buffer += event;
      return { kind: "consumed" };
    },
  };
}

// ---------------------------------------------------------------- layout

export type SegmentStyle = "text" | "chip" | "cursor" | "chipCursor";
export interface LayoutSegment {
  text: string;
  style: SegmentStyle;
}
export interface LayoutRow {
  /** `› ` on the first line, `… ` on each further line, two spaces on a wrapped row. */
  prompt: string;
  segments: LayoutSegment[];
  hasCursor: boolean;
}

export const PROMPT = "› ";
export const CONTINUATION_PROMPT = "… ";
export const WRAP_PROMPT = "  ";

/** Terminal columns of a grapheme cluster (string-width: emoji and East Asian wide characters take 2). */
function textWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

interface Cell {
  text: string;
  width: number;
  style: SegmentStyle;
}

/**
 * The text as rows of at most `width` columns (prompt included), hard-wrapped by character;
 * a chip never splits (its label is cut to the row). The cursor is its own cell: the character
 * under it, or a space at the end of a line.
 */
export function layoutEditor(state: EditorState, width: number): LayoutRow[] {
  const columns = Math.max(4, width - PROMPT.length);
  const rows: LayoutRow[] = [];
  let offset = 0;
  state.text.split("\n").forEach((line, lineIndex) => {
    const cells: Cell[] = [];
    const pushCharacter = (character: string): void => {
      const isCursor = offset === state.cursor;
      const chip = state.chips.get(character);
      if (chip !== undefined) {
        const label = chipLabel(chip).slice(0, columns);
        cells.push({ text: label, width: label.length, style: isCursor ? "chipCursor" : "chip" });
      } else {
        const shown = character === "\t" ? " " : character;
        cells.push({ text: shown, width: textWidth(shown), style: isCursor ? "cursor" : "text" });
      }
      offset += character.length;
    };
    // A grapheme cluster (an emoji sequence, a letter and its marks) is one cell, as the terminal
    // draws it; split into code points only when the cursor is inside it or it holds a chip.
    for (const { segment } of graphemes.segment(line)) {
      const isSplit = segment.length > 1 && ((state.cursor > offset && state.cursor < offset + segment.length) || [...segment].some((character) => state.chips.has(character)));
      if (isSplit) for (const character of segment) pushCharacter(character);
      else pushCharacter(segment);
    }
    if (offset === state.cursor) cells.push({ text: " ", width: 1, style: "cursor" });
    offset += 1;
    let row: Cell[] = [];
    let used = 0;
    let isFirstRowOfLine = true;
    const flush = () => {
      const prompt = isFirstRowOfLine ? (lineIndex === 0 ? PROMPT : CONTINUATION_PROMPT) : WRAP_PROMPT;
      rows.push({ prompt, segments: mergeCells(row), hasCursor: row.some((cell) => cell.style === "cursor" || cell.style === "chipCursor") });
      isFirstRowOfLine = false;
      row = [];
      used = 0;
    };
    for (const cell of cells) {
      if (used + cell.width > columns && row.length > 0) flush();
      row.push(cell);
      used += cell.width;
    }
    flush();
  });
  return rows;
}

function mergeCells(cells: readonly Cell[]): LayoutSegment[] {
  const segments: LayoutSegment[] = [];
  for (const cell of cells) {
    const last = segments[segments.length - 1];
    if (last && last.style === cell.style && cell.style === "text") last.text += cell.text;
    else segments.push({ text: cell.text, style: cell.style });
  }
  return segments;
}

/** The rows to show when there are more than `maxRows`: a window that contains the cursor. */
export function visibleRows(rows: readonly LayoutRow[], maxRows: number): { rows: readonly LayoutRow[]; hiddenAbove: number; hiddenBelow: number } {
  if (rows.length <= maxRows) return { rows, hiddenAbove: 0, hiddenBelow: 0 };
  const cursorRow = Math.max(0, rows.findIndex((row) => row.hasCursor));
  const start = Math.min(Math.max(0, cursorRow - maxRows + 1), rows.length - maxRows);
  return { rows: rows.slice(start, start + maxRows), hiddenAbove: start, hiddenBelow: rows.length - start - maxRows };
}
