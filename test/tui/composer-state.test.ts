import { describe, expect, it } from "vitest";
import {
  EMPTY_EDITOR,
  EMPTY_HISTORY,
  acceptCompletion,
  backspace,
  chipLabel,
  completionWord,
  createPasteReader,
  deleteForward,
  clearDraft,
  deleteWordBefore,
  editorFromText,
  expandText,
  historyNext,
  historyPrevious,
  historyPush,
  insertPaste,
  insertText,
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
} from "../../src/tui/composer-state.js";
import type { EditorState, LayoutRow } from "../../src/tui/composer-state.js";

const at = (text: string, cursor: number): EditorState => ({ ...editorFromText(text), cursor });
const rowText = (row: LayoutRow) => row.prompt + row.segments.map((segment) => segment.text).join("");

describe("editing", () => {
  it("inserts at the cursor and drops control and private-use characters", () => {
    const state = insertText(at("ad", 1), "b\u0007c\uE000");
    expect(state.text).toBe("abcd");
    expect(state.cursor).toBe(3);
    expect(insertText(EMPTY_EDITOR, "x\r\ny").text).toBe("x\ny");
  });

  it("deletes backwards and forwards, over surrogate pairs as one character", () => {
    expect(backspace(at("a😀b", 3)).text).toBe("ab");
    expect(deleteForward(at("a😀b", 1)).text).toBe("ab");
    expect(backspace(at("abc", 0))).toEqual(at("abc", 0));
    expect(moveLeft(at("a😀", 3)).cursor).toBe(1);
    expect(moveRight(at("a😀", 1)).cursor).toBe(3);
  });

  it("moves to line starts and ends, and by words", () => {
    expect(moveLineStart(at("one\ntwo", 6)).cursor).toBe(4);
    expect(moveLineEnd(at("one\ntwo", 1)).cursor).toBe(3);
    expect(moveWordLeft(at("foo bar-baz", 11)).cursor).toBe(8);
    expect(moveWordRight(at("foo bar", 0)).cursor).toBe(3);
  });

  it("moves up and down by lines, keeping the column, and says when it is at the edge", () => {
    expect(moveUp(at("one\nsecond", 9))?.cursor).toBe(3);
    expect(moveUp(at("one\ntwo", 2))).toBeUndefined();
    expect(moveDown(at("first\nab", 4))?.cursor).toBe(8);
    expect(moveDown(at("one\ntwo", 5))).toBeUndefined();
  });

  it("deletes a word (Ctrl-W) and the whole draft, every line and chip (Ctrl-U)", () => {
    expect(deleteWordBefore(at("say hello  ", 11)).text).toBe("say ");
    const cleared = clearDraft(insertPaste(at("one\ntwo three", 8), "a\nb"));
    expect(cleared.text).toBe("");
    expect(cleared.cursor).toBe(0);
    expect(expandText(cleared)).toBe("");
  });
});

describe("paste chips", () => {
  it("keeps a multi-line or long paste as one chip, inline otherwise", () => {
    expect(insertPaste(EMPTY_EDITOR, "short").text).toBe("short");
    const chip = insertPaste(at("ab", 1), "x\r\ny\rz");
    expect(chip.text).toHaveLength(3);
    expect(expandText(chip)).toBe("ax\ny\nzb");
    const long = insertPaste(EMPTY_EDITOR, "q".repeat(80));
    expect(long.text).toHaveLength(1);
  });

  it("labels chips by lines or characters", () => {
    expect(chipLabel("a\nb\n")).toBe("[pasted 2 lines]");
    expect(chipLabel("x".repeat(1234))).toBe("[pasted 1,234 chars]");
  });

  it("deletes a chip as one unit", () => {
    const state = insertText(insertPaste(insertText(EMPTY_EDITOR, "a"), "1\n2"), "b");
    expect(expandText(backspace(moveLeft(state)))).toBe("ab");
  });
});

describe("@ completion", () => {
  it("finds the @word at the cursor", () => {
    expect(completionWord(at("read @src/ma now", 12))).toEqual({ start: 5, end: 12, prefix: "src/ma" })
    expect(completionWord(at("read @src/main.ts", 10))).toEqual({ start: 5, end: 17, prefix: "src/" });
    expect(completionWord(at("mail me@host", 12))).toBeUndefined();
    expect(completionWord(at("@", 1))).toEqual({ start: 0, end: 1, prefix: "" });
  });

  it("accepts a file with a trailing space and a directory without", () => {
    const state = at("see @sr", 7);
    const word = completionWord(state);
    if (!word) throw new Error("no word");
    const file = acceptCompletion(state, word, "src.ts");
    expect([file.text, file.cursor]).toEqual(["see @src.ts ", 12]);
    const directory = acceptCompletion(state, word, "src/");
    expect([directory.text, directory.cursor]).toEqual(["see @src/", 9]);
  });
});

describe("input history", () => {
  it("browses back and forth and restores the draft", () => {
    let history = historyPush(historyPush(EMPTY_HISTORY, editorFromText("one")), editorFromText("two\nlines"));
    const draft = editorFromText("draft");
    const first = historyPrevious(history, draft);
    expect(first?.editor.text).toBe("two\nlines");
    expect(first?.editor.cursor).toBe(3);
    history = first!.history;
    const second = historyPrevious(history, first!.editor);
    expect(second?.editor.text).toBe("one");
    expect(historyPrevious(second!.history, second!.editor)).toBeUndefined();
    const back = historyNext(historyNext(second!.history)!.history);
    expect(back?.editor).toBe(draft);
    expect(historyNext(back!.history)).toBeUndefined();
  });

  it("keeps chips in entries and skips a repeat of the last entry", () => {
    const withChip = insertPaste(EMPTY_EDITOR, "a\nb");
    const history = historyPush(historyPush(EMPTY_HISTORY, withChip), withChip);
    expect(history.entries).toHaveLength(1);
    expect(expandText(historyPrevious(history, EMPTY_EDITOR)!.editor)).toBe("a\nb");
  });
});

describe("paste reader", () => {
  it("collects the raw events between the markers", () => {
    const reader = createPasteReader();
    expect(reader.feed("x")).toEqual({ kind: "pass" });
    expect(reader.feed("\u001b[200~")).toEqual({ kind: "consumed" });
    expect(reader.isPasting).toBe(true);
    reader.feed("a\r");
    reader.feed("\u001b[31m");
    expect(reader.feed("\u001b[201~")).toEqual({ kind: "paste", text: "a\r\u001b[31m" });
    expect(reader.feed("[200~")).toEqual({ kind: "consumed" });
    expect(reader.feed("[201~")).toEqual({ kind: "paste", text: "" });
  });
});

describe("layout", () => {
  it("prompts the first line, continues further lines and wraps long ones", () => {
    const rows = layoutEditor(at("abcdefgh\nij", 11), 6);
    expect(rows.map(rowText)).toEqual(["› abcd", "  efgh", "… ij "]);
    expect(rows[2]?.hasCursor).toBe(true);
  });

  it("shows chips by their label and marks the cursor", () => {
    const state = moveLeft(insertPaste(EMPTY_EDITOR, "1\n2\n3"));
    const [row] = layoutEditor(state, 40);
    expect(row?.segments).toEqual([{ text: "[pasted 3 lines]", style: "chipCursor" }]);
    expect(rowText(row!)).toBe("› [pasted 3 lines]");
  });

  it("counts wide characters as two columns", () => {
    expect(layoutEditor(at("日本語", 0), 6).map(rowText)).toEqual(["› 日本", "  語"]);
  });

  it("counts emoji as the terminal draws them: two columns a cluster", () => {
    expect(layoutEditor(at("🚀🚀🚀", 0), 6).map(rowText)).toEqual(["› 🚀🚀", "  🚀"]);
    expect(layoutEditor(at("✅✅✅", 0), 6).map(rowText)).toEqual(["› ✅✅", "  ✅"]);
    // A ZWJ family and a skin-toned thumb are one two-column cluster each.
    expect(layoutEditor(at("👨‍👩‍👧ab", 0), 6).map(rowText)).toEqual(["› 👨‍👩‍👧ab"]);
    expect(layoutEditor(at("👍🏽👍🏽x", 0), 7).map(rowText)).toEqual(["› 👍🏽👍🏽x"]);
    // The cursor after a cluster, and inside one (reachable by code-point moves), still shows.
    expect(layoutEditor(at("🚀", 2), 6)[0]?.segments).toEqual([{ text: "🚀", style: "text" }, { text: " ", style: "cursor" }]);
    const inside = layoutEditor(at("👍🏽", 2), 6)[0];
    expect(inside?.hasCursor).toBe(true);
    expect(inside?.segments.map((segment) => segment.text).join("")).toBe("👍🏽");
  });

  it("windows the rows around the cursor", () => {
    const rows = layoutEditor(at("1\n2\n3\n4\n5", 0), 20);
    expect(visibleRows(rows, 3)).toMatchObject({ hiddenAbove: 0, hiddenBelow: 2 });
    const atEnd = layoutEditor(at("1\n2\n3\n4\n5", 9), 20);
    expect(visibleRows(atEnd, 3)).toMatchObject({ hiddenAbove: 2, hiddenBelow: 0 });
  });
});
