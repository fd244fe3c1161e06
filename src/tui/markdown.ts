/**
 * Terminal text for the TUI: assistant markdown rendered with marked + marked-terminal, and
 * the small ANSI toolkit the transcript needs (SGR styles, visible width, wrapping that keeps
 * styles across wrapped lines). It knows nothing of items or state.
 *
 * marked-terminal colours through chalk, which follows the terminal (no colour when stdout is
 * not a TTY, e.g. in tests); the structure (no `#`, no backticks, indented code) is the same.
 */
import { Marked, type MarkedExtension } from "marked";
import { markedTerminal } from "marked-terminal";
import stringWidth from "string-width";

// ---- styles -------------------------------------------------------------------------------

const sgr = (open: number, close: number) => (text: string): string => (text === "" ? text : `\x1b[${open}m${text}\x1b[${close}m`);

/** SGR styles; each closes only what it opened, so they nest. */
export const style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  italic: sgr(3, 23),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  blue: sgr(34, 39),
  magenta: sgr(35, 39),
  cyan: sgr(36, 39),
  gray: sgr(90, 39),
};

// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** `text` without ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, "");
}

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;
/**
 * A run that needs grapheme segmentation: non-ASCII characters with the ASCII character either
 * side (a combining mark, variation selector or ZWJ joins the character before it, a prepended
 * concatenation mark the one after), runs one ASCII character apart merged.
 */
const NON_ASCII_RUN = /[\x20-\x7e]?[^\x20-\x7e]+(?:[\x20-\x7e][^\x20-\x7e]+)*[\x20-\x7e]?/g;
/** Text whose every character is a cluster of its own: printable ASCII, CJK ideographs, kana (no combining sound marks), Hangul syllables, fullwidth forms. */
const SIMPLE_CLUSTERS = /^[\x20-\x7e\u3000-\u3098\u309b-\u30ff\u4e00-\u9fff\uac00-\ud7a3\uff01-\uff60]*$/;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Columns per grapheme cluster seen (string-width is exact but not cheap; clusters repeat a lot). */
const clusterWidths = new Map<string, number>();
const MAX_CLUSTER_WIDTHS = 10_000;

/** Columns one grapheme cluster takes (emoji and East Asian wide characters take 2, as terminals draw them). */
function clusterWidth(cluster: string): number {
  let width = clusterWidths.get(cluster);
  if (width === undefined) {
    width = stringWidth(cluster);
    if (clusterWidths.size >= MAX_CLUSTER_WIDTHS) clusterWidths.clear();
    clusterWidths.set(cluster, width);
  }
  return width;
}

/**
 * Each grapheme cluster of plain `text` with the columns it takes, in order. Printable ASCII
 * (most text) is one column a character without segmenting; the rest goes through
 * Intl.Segmenter and string-width.
 */
function eachCluster(text: string, visit: (cluster: string, width: number) => void): void {
  let from = 0;
  if (!ASCII_PRINTABLE.test(text)) {
    for (const match of text.matchAll(NON_ASCII_RUN)) {
      for (let index = from; index < match.index; index += 1) visit(text.charAt(index), 1);
      const run = match[0];
      if (SIMPLE_CLUSTERS.test(run)) for (let index = 0; index < run.length; index += 1) visit(run.charAt(index), clusterWidth(run.charAt(index)));
      else for (const { segment } of graphemes.segment(run)) visit(segment, clusterWidth(segment));
      from = match.index + match[0].length;
    }
  }
  for (let index = from; index < text.length; index += 1) visit(text.charAt(index), 1);
}

/** Columns `text` takes on a terminal (ANSI sequences take none). */
export function visibleWidth(text: string): number {
  const plain = text.includes("\x1b") ? stripAnsi(text) : text;
  if (ASCII_PRINTABLE.test(plain)) return plain.length;
  let width = 0;
  eachCluster(plain, (_cluster, columns) => {
    width += columns;
  });
  return width;
}

type Token = { kind: "escape"; text: string } | { kind: "char"; text: string; width: number };

function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  const pushChar = (text: string, width: number): void => {
    tokens.push({ kind: "char", text, width });
  };
  const pushChars = (text: string): void => eachCluster(text, pushChar);
  for (const match of line.matchAll(ANSI_PATTERN)) {
    pushChars(line.slice(last, match.index));
    tokens.push({ kind: "escape", text: match[0] });
    last = match.index + match[0].length;
  }
  pushChars(line.slice(last));
  return tokens;
}

/** The SGR attribute slot a parameter sets, and the parameters that clear slots. */
const SGR_SLOT: Record<number, string> = { 1: "bold", 2: "dim", 3: "italic", 4: "underline", 7: "inverse", 9: "strike" };
const SGR_CLEARS: Record<number, readonly string[]> = { 22: ["bold", "dim"], 23: ["italic"], 24: ["underline"], 27: ["inverse"], 29: ["strike"], 39: ["fg"], 49: ["bg"] };

/** Open styles: attribute slot → the SGR sequence that set it. */
type OpenStyles = ReadonlyMap<string, string>;

/** The open styles after an escape sequence (non-SGR sequences change nothing). */
function applyEscape(open: OpenStyles, escape: string): OpenStyles {
  // eslint-disable-next-line no-control-regex
  const match = /^\x1b\[([0-9;]*)m$/.exec(escape);
  if (!match) return open;
  const params = (match[1] ?? "").split(";").map((param) => (param === "" ? 0 : Number(param)));
  const next = new Map(open);
  for (let index = 0; index < params.length; index += 1) {
    const param = params[index] as number;
    if (param === 0) next.clear();
    else if (SGR_CLEARS[param]) for (const slot of SGR_CLEARS[param]) next.delete(slot);
    else if (SGR_SLOT[param]) next.set(SGR_SLOT[param], `\x1b[${param}m`);
    else if ((param >= 30 && param <= 37) || (param >= 90 && param <= 97)) next.set("fg", `\x1b[${param}m`);
    else if ((param >= 40 && param <= 47) || (param >= 100 && param <= 107)) next.set("bg", `\x1b[${param}m`);
    else if (param === 38 || param === 48) {
      // 38;5;n or 38;2;r;g;b
      const length = params[index + 1] === 5 ? 3 : params[index + 1] === 2 ? 5 : 1;
      next.set(param === 38 ? "fg" : "bg", `\x1b[${params.slice(index, index + length).join(";")}m`);
      index += length - 1;
    }
  }
  return next;
}

const reopen = (open: OpenStyles): string => [...open.values()].join("");

/**
 * One logical line (no `\n`) cut into lines of at most `width` columns, breaking after spaces
 * when it can and inside a word when it must. Styles open at a line end are closed there and
 * reopened on the next line (`open`: the styles open where the line starts). Lines after the
 * first start with `hang` spaces (a hanging indent, unstyled).
 */
function wrapStyledLine(line: string, width: number, openAtStart: OpenStyles, hang = 0): { lines: string[]; open: OpenStyles } {
  const firstColumns = Math.max(1, width);
  if (openAtStart.size === 0 && !line.includes("\x1b") && visibleWidth(line) <= firstColumns) return { lines: [line], open: openAtStart };
  const indent = " ".repeat(hang);
  const tokens = tokenize(line);
  const lines: string[] = [];
  let index = 0;
  let open = openAtStart;
  do {
    const columns = lines.length === 0 ? firstColumns : Math.max(1, width - hang);
    // Find the end of this line: as many tokens as fit, then back off to the last space.
    let used = 0;
    let end = index;
    let lastSpaceEnd = -1;
    while (end < tokens.length) {
      const token = tokens[end] as Token;
      if (token.kind === "char") {
        if (used + token.width > columns) break;
        used += token.width;
        if (token.text === " ") lastSpaceEnd = end + 1;
      }
      end += 1;
    }
    if (end < tokens.length && lastSpaceEnd > index) end = lastSpaceEnd;
    if (end === index && index < tokens.length) end = index + 1; // a character wider than the line: take it anyway
    const prefix = reopen(open);
    let text = "";
    for (let cursor = index; cursor < end; cursor += 1) {
      const token = tokens[cursor] as Token;
      text += token.text;
      if (token.kind === "escape") open = applyEscape(open, token.text);
    }
    index = end;
    const isBreak = index < tokens.length;
    // Spaces at a break are dropped from the start of the next line.
    while (index < tokens.length && tokens[index]?.kind === "char" && tokens[index]?.text === " ") index += 1;
    const body = isBreak ? text.replace(/ +((?:\x1b\[[0-9;]*m)*)$/, "$1") : text; // eslint-disable-line no-control-regex
    lines.push(`${lines.length === 0 ? "" : indent}${prefix}${body}${open.size > 0 ? "\x1b[0m" : ""}`);
  } while (index < tokens.length);
  return { lines, open };
}

/** The indent, list bullet or number of a rendered markdown line: what its continuation lines hang under. */
const HANGING_PREFIX = /^ *(?:(?:[*+-]|\d+[.)]) +)?/;
/** Columns a hanging indent leaves at least (otherwise continuation lines start at the margin). */
const MIN_HANGING_COLUMNS = 20;

function hangingIndent(line: string, width: number): number {
  const plain = line.includes("\x1b") ? stripAnsi(line) : line;
  const hang = HANGING_PREFIX.exec(plain)?.[0].length ?? 0;
  return hang > 0 && width - hang >= MIN_HANGING_COLUMNS ? hang : 0;
}

/**
 * `text` (may hold `\n`) as lines of at most `width` columns; styles carry over line ends. With
 * `hanging`, a wrapped line's continuation lines are indented under its text (after its
 * leading spaces and list bullet).
 */
export function wrapAnsi(text: string, width: number, options: { hanging?: boolean } = {}): string[] {
  const lines: string[] = [];
  let open: OpenStyles = new Map();
  for (const line of text.split(/\r?\n/)) {
    const expanded = line.replace(/\t/g, "  ");
    const hang = options.hanging === true ? hangingIndent(expanded, width) : 0;
    const wrapped = wrapStyledLine(expanded, width, open, hang);
    lines.push(...wrapped.lines);
    open = wrapped.open;
  }
  return lines;
}

/** `text` cut to `width` columns (plain text), ending in `…` when cut. */
export function truncateToWidth(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  let used = 0;
  let out = "";
  let isFull = false;
  eachCluster(text, (cluster, columns) => {
    if (isFull || used + columns > width - 1) {
      isFull = true;
      return;
    }
    out += cluster;
    used += columns;
  });
  return `${out}…`;
}

// ---- markdown -------------------------------------------------------------------------------

/**
 * Reflow width handed to marked-terminal: large enough that it never breaks a line itself (its
 * reflow counts a wide character as one column, and wrapping its output again left orphan
 * lines), while it still joins a paragraph's soft line breaks. wrapAnsi does all the wrapping,
 * with hanging indents for list items, quotes and code.
 */
const NO_REFLOW_WIDTH = 100_000;

/** Renderers per width (the width only sizes horizontal rules). */
const renderers = new Map<number, Marked>();

function rendererFor(width: number): Marked {
  let renderer = renderers.get(width);
  if (!renderer) {
    const rule = "-".repeat(Math.max(1, width - 1));
    const extension = markedTerminal({
      width: NO_REFLOW_WIDTH,
      reflowText: true,
      hr: () => rule,
      showSectionPrefix: false,
      tab: 2,
      emoji: false,
    }) as unknown as MarkedExtension;
    renderer = new Marked(extension);
    renderers.set(width, renderer);
  }
  return renderer;
}

/** Rendered texts kept (most recently used last); an entry is a few lines of text. */
export const MAX_MARKDOWN_CACHE_ENTRIES = 2_000;
const cache = new Map<string, readonly string[]>();

function renderUncached(text: string, width: number): string[] {
  try {
    const rendered = rendererFor(width).parse(text, { async: false });
    const lines = wrapAnsi(rendered.replace(/\s+$/, ""), width, { hanging: true });
    while (lines.length > 0 && stripAnsi(lines[0] ?? "").trim() === "") lines.shift();
    return lines;
  } catch {
    return wrapAnsi(text.replace(/\s+$/, ""), width);
  }
}

/** The one render of streaming text kept: the live turn's text changes with every delta. */
let liveRender: { key: string; lines: readonly string[] } | undefined;

/**
 * Markdown `text` as terminal lines of at most `width` columns (ANSI styled; plain wrapped
 * text when rendering fails). Memoised per (text, width); `live` text (still streaming, so each
 * version is shown once) is not kept in the memo, only as the one last live render.
 */
export function renderMarkdown(text: string, width: number, options: { live?: boolean } = {}): readonly string[] {
  const columns = Math.max(10, width);
  const key = `${columns}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  if (options.live === true) {
    if (liveRender?.key !== key) liveRender = { key, lines: renderUncached(text, columns) };
    return liveRender.lines;
  }
  const lines = renderUncached(text, columns);
  cache.set(key, lines);
  if (cache.size > MAX_MARKDOWN_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  return lines;
}
