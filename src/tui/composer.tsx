/**
 * The composer: the multi-line input box of `podd attach`, with paste chips, `@path`
 * completion, input history and the queued-message list. It maps Ink key events onto the pure
 * operations of composer-state.ts and renders the result; it decides nothing about sending
 * (the app queues while the pod runs) and owns no global key.
 *
 * Keys (help.tsx lists them for the user):
 * - Enter sends (`onSubmit`, chips expanded); Enter on an empty composer calls `onEmptyEnter`.
 * - New line: Ctrl-J (always works: the terminal sends `\n`, distinct from Enter's `\r`),
 *   Alt-Enter (`ESC \r`, Ink reports key.return + key.meta), Shift-Enter where the terminal
 *   reports it (kitty keyboard protocol `CSI 13;2u`, xterm modifyOtherKeys `CSI 27;2;13~`;
 *   most terminals send a plain `\r` for Shift-Enter, which then sends).
 * - ←/→ (Ctrl/Alt for a word, Alt-B/Alt-F), Home/End and Ctrl-A/Ctrl-E, ↑/↓ move within the text;
 *   ↑ on the first line / ↓ on the last line browse the input history (the draft is kept).
 * - Backspace, Delete, Ctrl-W (word before the cursor), Ctrl-U (the whole draft, all its lines).
 *   Backspace on an EMPTY composer drops the newest queued message (`onUnqueue(last index)`).
 * - `@path`: while the word at the cursor starts with `@`, up to 8 suggestions from `complete`
 *   show under the input; Tab accepts the selected one (↑/↓ select while the list is open),
 *   Esc closes the list. Esc is consumed ONLY while the list is open: the app must not treat
 *   that Esc as "cancel the turn"; it learns the list state from `onCompletionsOpenChange`.
 * - Left alone for the app: Ctrl-C, Ctrl-D, Ctrl-X, Ctrl-O, Ctrl-P and any other Ctrl/Alt key,
 *   Esc without an open list, PgUp/PgDn, Tab without a list, and `?` on an EMPTY composer
 *   (in a non-empty one `?` is text). Ink delivers every key to every active `useInput`
 *   handler, so "left alone" means the composer does not change on them.
 *
 * Bracketed paste: the app writes `enableBracketedPaste(stdout)` on start and
 * `disableBracketedPaste(stdout)` on exit. Ink 6 has no paste event; its input parser splits
 * stdin at each ESC, so `ESC[200~`, the raw content and `ESC[201~` arrive as separate events.
 * The composer reads them from Ink's stdin event emitter (before `useInput` sees them, so the
 * content is exact) and keeps a paste of 80+ characters or with a newline as one chip
 * `[pasted 42 lines]`. A multi-character input outside brackets (a terminal without
 * bracketed paste) is treated as a paste too, except that a carriage return in it is Enter: keys
 * typed faster than they are read arrive as one chunk.
 */
import { Box, Text, useInput, useStdin } from "ink";
import type { Key } from "ink";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { PodStatus } from "../../protocol/index.js";
import {
  EMPTY_EDITOR,
  EMPTY_HISTORY,
  PASTE_END,
  PASTE_START,
  acceptCompletion,
  backspace,
  completionWord,
  createPasteReader,
  deleteForward,
  clearDraft,
  deleteWordBefore,
  editorFromText,
  expandText,
  historyFromTexts,
  historyNext,
  historyPrevious,
  historyPush,
  insertPaste,
  insertText,
  isEditorEmpty,
  layoutEditor,
  moveDown,
  moveLeft,
  moveLineEnd,
  moveLineStart,
  moveRight,
  moveUp,
  moveWordLeft,
  moveWordRight,
  visibleRows,
} from "./composer-state.js";
import type { EditorState, InputHistory, LayoutSegment } from "./composer-state.js";

export interface ComposerProps {
  /** false while an overlay/picker has focus: all input is ignored. */
  active: boolean;
  podStatus: PodStatus;
  /** Terminal columns available. */
  width: number;
  /** The full text (paste chips expanded); `:cmd …` lines are passed as typed. Never blank. */
  onSubmit(text: string): void;
  /** Enter with nothing typed (the app resumes a paused turn). */
  onEmptyEnter(): void;
  /** `@path` completion (list_completions kind file): values starting with `prefix`, dirs ending in `/`. */
  complete(prefix: string): Promise<string[]>;
  /** Messages waiting for the run to end, oldest first (shown dim above the input). */
  queued: readonly string[];
  /** Backspace on an empty composer: `index` is `queued.length - 1`. */
  onUnqueue(index: number): void;
  /** Called on mount and whenever the composer becomes empty / non-empty (for `?` and Enter-on-empty). */
  onEmptyChange?(empty: boolean): void;
  /** Called whenever the `@` completion list opens / closes (while open, Esc belongs to the composer). */
  onCompletionsOpenChange?(open: boolean): void;
  /** Replace the composer's text when `seq` changes (e.g. the input a rewind brought back). */
  draft?: { text: string; seq: number };
  /**
   * The saved input history (oldest first) and whose it is: it replaces the composer's history
   * when `key` changes (another pod), not on each change of `entries`.
   */
  history?: { key: string; entries: readonly string[] };
  /** Most text rows shown (a window around the cursor); default 10. */
  maxRows?: number;
}

/** Most `@` suggestions shown. */
export const MAX_SUGGESTIONS = 8;

export const BRACKETED_PASTE_ON = "\u001b[?2004h";
export const BRACKETED_PASTE_OFF = "\u001b[?2004l";

const PLAIN_KEY = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
} as Key;
const RETURN_KEY = { ...PLAIN_KEY, return: true } as Key;
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** How Ink reports one character typed alone: Enter, Tab, Backspace, Ctrl-J as "\n", Ctrl-<letter>, or text. */
function keyOf(piece: string): [string, Key] {
  if (piece.length !== 1 || !CONTROL_CHARACTER.test(piece)) return [piece, PLAIN_KEY];
  const code = piece.charCodeAt(0);
  if (piece === "\r") return ["", RETURN_KEY];
  if (piece === "\n") return ["\n", PLAIN_KEY];
  if (piece === "\t") return ["", { ...PLAIN_KEY, tab: true } as Key];
  if (code === 0x7f || code === 0x08) return ["", { ...PLAIN_KEY, delete: true } as Key];
  if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...PLAIN_KEY, ctrl: true } as Key];
  return ["", PLAIN_KEY];
}

/** Ask the terminal to wrap pastes in ESC[200~ … ESC[201~ (xterm bracketed-paste mode 2004). */
export function enableBracketedPaste(stdout: { write(chunk: string): unknown }): void {
  stdout.write(BRACKETED_PASTE_ON);
}

/** Undo `enableBracketedPaste`; call on exit (including on a crash path) or the shell keeps the mode. */
export function disableBracketedPaste(stdout: { write(chunk: string): unknown }): void {
  stdout.write(BRACKETED_PASTE_OFF);
}

interface Completion {
  /** The prefix the suggestions were asked for. */
  prefix: string;
  values: readonly string[];
  selected: number;
}

interface Model {
  editor: EditorState;
  history: InputHistory;
  completion: Completion | undefined;
  /** The prefix whose list was closed with Esc: not reopened until the word changes. */
  dismissedPrefix: string | undefined;
}

const INITIAL_MODEL: Model = { editor: EMPTY_EDITOR, history: EMPTY_HISTORY, completion: undefined, dismissedPrefix: undefined };

/** The suggestions still matching what is typed (an older answer stays useful while a new one is on its way). */
function openSuggestions(model: Model): readonly string[] {
  const word = completionWord(model.editor);
  if (!word || !model.completion || word.prefix === model.dismissedPrefix) return [];
  return model.completion.values.filter((value) => value.startsWith(word.prefix) && value !== word.prefix).slice(0, MAX_SUGGESTIONS);
}

/** An unknown escape sequence with its ESC stripped by Ink (only used without Ink's raw event emitter). */
const ESCAPE_SEQUENCE = /^(?:\[[\d;:]*[~A-Za-z^$]|O[A-Za-z])$/;
/** xterm modifyOtherKeys Shift/Alt/Ctrl-Enter, ESC stripped: `[27;<modifier>;13~`. */
const MODIFIED_ENTER = /^\[27;\d+;13~$/;

export function Composer(props: ComposerProps) {
  const modelRef = useRef<Model>(INITIAL_MODEL);
  const propsRef = useRef(props);
  propsRef.current = props;
  const [, setVersion] = useState(0);
  const update = useCallback((change: (model: Model) => Model) => {
    const next = change(modelRef.current);
    if (next === modelRef.current) return;
    modelRef.current = next;
    setVersion((version) => version + 1);
  }, []);
  const setEditor = useCallback((editor: EditorState) => update((model) => ({ ...model, editor })), [update]);

  // Paste reading on Ink's raw input events. Registered before useInput's listener (effects run
  // in order), so `skipRef` tells the useInput handler which events the paste reader took.
  const { internal_eventEmitter: inputEvents } = useStdin();
  const pasteReader = useRef(createPasteReader()).current;
  const skipRef = useRef(false);
  const lastRawRef = useRef<string | undefined>(undefined);
  const handlePaste = useCallback(
    (text: string) => update((model) => ({ ...model, editor: insertPaste(model.editor, text) })),
    [update],
  );
  useEffect(() => {
    if (!props.active || !inputEvents) return;
    const onRaw = (event: string) => {
      lastRawRef.current = event;
      const step = pasteReader.feed(event);
      skipRef.current = step.kind !== "pass";
      if (step.kind === "paste") handlePaste(step.text);
    };
    inputEvents.on("input", onRaw);
    return () => {
      inputEvents.removeListener("input", onRaw);
    };
  }, [props.active, inputEvents, pasteReader, handlePaste]);

  const handleInput = useCallback(
    (input: string, key: Key) => {
      if (inputEvents) {
        if (skipRef.current) {
          skipRef.current = false;
          return;
        }
      } else {
        const step = pasteReader.feed(input);
        if (step.kind === "paste") handlePaste(step.text);
        if (step.kind !== "pass") return;
      }
      if (key.eventType === "release") return;
      const raw = inputEvents ? lastRawRef.current : undefined;
      const current = propsRef.current;
      const model = modelRef.current;
      const { editor } = model;

      const suggestions = openSuggestions(model);
      if (suggestions.length > 0 && model.completion) {
        const completion = model.completion;
        if (key.escape) {
          update((m) => ({ ...m, dismissedPrefix: completionWord(m.editor)?.prefix }));
          return;
        }
        if (key.tab) {
          const word = completionWord(editor);
          const value = suggestions[Math.min(completion.selected, suggestions.length - 1)];
          if (word && value !== undefined) update((m) => ({ ...m, editor: acceptCompletion(m.editor, word, value), completion: { ...completion, selected: 0 } }));
          return;
        }
        if (key.upArrow || key.downArrow) {
          const step = key.upArrow ? -1 : 1;
          const selected = (Math.min(completion.selected, suggestions.length - 1) + step + suggestions.length) % suggestions.length;
          update((m) => ({ ...m, completion: { ...completion, selected } }));
          return;
        }
      }
      if (key.escape || key.tab || key.pageUp || key.pageDown) return;

      const isNewline =
        (key.return && (key.meta || key.shift || key.ctrl)) ||
        (input === "\n" && !key.ctrl && !key.meta) ||
        (key.ctrl && input === "j") ||
        MODIFIED_ENTER.test(input);
      if (isNewline) return setEditor(insertText(editor, "\n"));
      if (key.return) {
        if (isEditorEmpty(editor)) return current.onEmptyEnter();
        const text = expandText(editor);
        if (text.trim() === "") return;
        update((m) => ({ ...m, editor: EMPTY_EDITOR, history: historyPush(m.history, m.editor), completion: undefined, dismissedPrefix: undefined }));
        current.onSubmit(text);
        return;
      }

      const isForwardDelete = key.delete && raw !== undefined && raw.startsWith("\u001b[3");
      if (key.backspace || (key.delete && !isForwardDelete)) {
        if (isEditorEmpty(editor)) {
          if (current.queued.length > 0) current.onUnqueue(current.queued.length - 1);
          return;
        }
        return setEditor(key.meta ? deleteWordBefore(editor) : backspace(editor));
      }
      if (key.delete) return setEditor(deleteForward(editor));
      if (key.leftArrow) return setEditor(key.ctrl || key.meta ? moveWordLeft(editor) : moveLeft(editor));
      if (key.rightArrow) return setEditor(key.ctrl || key.meta ? moveWordRight(editor) : moveRight(editor));
      if (key.home) return setEditor(moveLineStart(editor));
      if (key.end) return setEditor(moveLineEnd(editor));
      if (key.upArrow || key.downArrow) {
        const moved = key.upArrow ? moveUp(editor) : moveDown(editor);
        if (moved) return setEditor(moved);
        const browsed = key.upArrow ? historyPrevious(model.history, editor) : historyNext(model.history);
        if (browsed) update((m) => ({ ...m, editor: browsed.editor, history: browsed.history }));
        return;
      }
      if (key.ctrl) {
        if (input === "a") setEditor(moveLineStart(editor));
        else if (input === "e") setEditor(moveLineEnd(editor));
        else if (input === "w") setEditor(deleteWordBefore(editor));
        else if (input === "u") setEditor(clearDraft(editor));
        return;
      }
      if (key.meta) {
        if (input === "b") setEditor(moveWordLeft(editor));
        else if (input === "f") setEditor(moveWordRight(editor));
        return;
      }
      // (kitty-protocol keys, which carry an eventType, may be printable despite their ESC)
      const isUnknownSequence = raw !== undefined ? raw.startsWith("\u001b") && key.eventType === undefined : ESCAPE_SEQUENCE.test(input);
      if (!input || isUnknownSequence) return;
      if (input === PASTE_START.slice(1) || input === PASTE_END.slice(1)) return;
      if (input === "?" && isEditorEmpty(editor)) return;
      if (input.length > 1 && CONTROL_CHARACTER.test(input)) {
        // Keys typed faster than they are read arrive as one chunk (a paste would be bracketed):
        // replay it as typed — runs of text, and each control key (Enter, Ctrl-J, Ctrl-U, …) as itself.
        // eslint-disable-next-line no-control-regex -- splits at control characters
        for (const piece of input.match(/[\u0000-\u001f\u007f]|[^\u0000-\u001f\u007f]+/g) ?? []) {
          const [pieceInput, pieceKey] = keyOf(piece);
          handleInputRef.current(pieceInput, pieceKey);
        }
        return;
      }
      setEditor(input.length > 1 ? insertPaste(editor, input) : insertText(editor, input));
    },
    [inputEvents, pasteReader, handlePaste, update, setEditor],
  );
  const handleInputRef = useRef(handleInput);
  handleInputRef.current = handleInput;
  useInput(handleInput, { isActive: props.active });

  // A draft handed in by the app (e.g. after a rewind) replaces the text.
  const draftSeq = props.draft?.seq;
  useLayoutEffect(() => {
    const draft = propsRef.current.draft;
    if (draft === undefined) return;
    update((model) => ({ ...model, editor: editorFromText(draft.text), history: { ...model.history, index: model.history.entries.length, draft: undefined } }));
  }, [draftSeq, update]);

  // The saved history of the pod attached to (read once per pod).
  const historyKey = props.history?.key;
  useLayoutEffect(() => {
    const saved = propsRef.current.history;
    if (saved === undefined) return;
    update((model) => ({ ...model, history: historyFromTexts(saved.entries) }));
  }, [historyKey, update]);

  // `@` completion: ask for the prefix at the cursor; answers for an older prefix are dropped.
  const model = modelRef.current;
  const word = completionWord(model.editor);
  const prefix = word?.prefix;
  const requestSerial = useRef(0);
  useEffect(() => {
    const serial = ++requestSerial.current;
    if (prefix === undefined) {
      update((m) => (m.completion || m.dismissedPrefix !== undefined ? { ...m, completion: undefined, dismissedPrefix: undefined } : m));
      return;
    }
    propsRef.current.complete(prefix).then(
      (values) => {
        if (serial !== requestSerial.current) return;
        update((m) => ({ ...m, completion: { prefix, values, selected: 0 } }));
      },
      () => undefined,
    );
  }, [prefix, update]);

  const suggestions = openSuggestions(model);
  const isEmpty = isEditorEmpty(model.editor);
  useReport(isEmpty, props.onEmptyChange);
  useReport(suggestions.length > 0, props.onCompletionsOpenChange);

  const width = Math.max(10, props.width);
  const layout = visibleRows(layoutEditor(model.editor, width), props.maxRows ?? 10);
  const selected = Math.min(model.completion?.selected ?? 0, suggestions.length - 1);
  return (
    <Box flexDirection="column" width={width}>
      {props.queued.map((message, index) => (
        <Text key={index} dimColor wrap="truncate-end">
          {`queued: ${firstLine(message)}`}
          {index === props.queued.length - 1 && isEmpty ? "  · Backspace drops it" : ""}
        </Text>
      ))}
      {layout.hiddenAbove > 0 ? <Text dimColor>{`  ↑ ${layout.hiddenAbove} more`}</Text> : null}
      {layout.rows.map((row, index) => (
        <Text key={index}>
          <Text color={props.active ? "cyan" : "gray"}>{row.prompt}</Text>
          {row.segments.map((segment, segmentIndex) => (
            <SegmentText key={segmentIndex} segment={segment} active={props.active} />
          ))}
          {isEmpty ? <Text dimColor>{hint(props.podStatus)}</Text> : null}
        </Text>
      ))}
      {layout.hiddenBelow > 0 ? <Text dimColor>{`  ↓ ${layout.hiddenBelow} more`}</Text> : null}
      {suggestions.map((value, index) => (
        <Text key={value} inverse={index === selected} wrap="truncate-end">
          {`  @${value}`}
        </Text>
      ))}
      {suggestions.length > 0 ? <Text dimColor>{"  Tab accept · ↑/↓ select · Esc close"}</Text> : null}
    </Box>
  );
}

function SegmentText(props: { segment: LayoutSegment; active: boolean }) {
  const { text, style } = props.segment;
  const isCursor = props.active && (style === "cursor" || style === "chipCursor");
  const isChip = style === "chip" || style === "chipCursor";
  return (
    <Text inverse={isCursor} color={isChip ? "magenta" : undefined}>
      {text}
    </Text>
  );
}

function hint(podStatus: PodStatus): string {
  return `${podStatus === "paused" ? "Enter resume" : "Enter send"} · Alt-Enter newline · @ file · ? help`;
}

function firstLine(message: string): string {
  const [first = ""] = message.split("\n");
  return first.length < message.length ? `${first} …` : first;
}

/** Calls `report` on mount and on each change of `value`. */
function useReport(value: boolean, report: ((value: boolean) => void) | undefined) {
  const reportRef = useRef(report);
  reportRef.current = report;
  useEffect(() => {
    reportRef.current?.(value);
  }, [value]);
}
