import { render } from "ink-testing-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup } from "ink-testing-library";
import { Composer, disableBracketedPaste, enableBracketedPaste } from "../../src/tui/composer.js";
import type { ComposerProps } from "../../src/tui/composer.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
/**
 * Ink hands a keystroke on after a setImmediate, React renders and runs effects on later ones and
 * a `complete` answer costs a microtask plus a render: a few macrotask turns settle it all.
 */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 6; turn++) await flush();
}
// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\u001b\[[\d;]*m/g, "");

const ENTER = "\r";
const ALT_ENTER = "\u001b\r";
const CTRL_J = "\n";
const BACKSPACE = "\u007f";
const UP = "\u001b[A";
const DOWN = "\u001b[B";
const LEFT = "\u001b[D";
const ESC = "\u001b";
const TAB = "\t";

function setup(overrides: Partial<ComposerProps> = {}) {
  const props: ComposerProps = {
    active: true,
    podStatus: "idle",
    width: 60,
    onSubmit: vi.fn(),
    onEmptyEnter: vi.fn(),
    complete: vi.fn(async () => []),
    queued: [],
    onUnqueue: vi.fn(),
    onEmptyChange: vi.fn(),
    onCompletionsOpenChange: vi.fn(),
    ...overrides,
  };
  const instance = render(<Composer {...props} />);
  const send = async (...chunks: string[]) => {
    await settle();
    for (const chunk of chunks) {
      instance.stdin.write(chunk);
      await settle();
    }
  };
  return { props, instance, send, frame: () => stripAnsi(instance.lastFrame() ?? "") };
}

afterEach(() => cleanup());

describe("Composer", () => {
  it("shows the prompt and the hint when empty, and reports emptiness", async () => {
    const { frame, send, props } = setup();
    await send();
    expect(frame()).toContain("› ");
    expect(frame()).toContain("Enter send · Alt-Enter newline · @ file · ? help");
    expect(props.onEmptyChange).toHaveBeenLastCalledWith(true);
    await send("h");
    expect(props.onEmptyChange).toHaveBeenLastCalledWith(false);
    expect(frame()).not.toContain("Enter send");
  });

  it("types, moves and edits at the cursor", async () => {
    const { frame, send } = setup();
    await send("h", "e", "l", "o", LEFT, "l");
    expect(frame()).toContain("› hello");
    await send(BACKSPACE, BACKSPACE, "y");
    expect(frame()).toContain("› heyo");
    await send("\u0001", "X", "\u0005", "!");
    expect(frame()).toContain("› Xheyo!");
    await send(" ", "w", "o", "r", "d", "\u0017");
    expect(frame()).toContain("› Xheyo!");
    expect(frame()).not.toContain("word");
    await send("\u0015");
    expect(frame()).not.toContain("Xheyo");
    await send("Ok [A", "\u001b[1;2P");
    expect(frame()).toContain("› Ok [A");
    expect(frame()).not.toContain("1;2P");
  });

  it("inserts newlines with Alt-Enter and Ctrl-J, and submits the exact text with Enter", async () => {
    const { frame, send, props } = setup();
    await send("a", ALT_ENTER, "b", CTRL_J, "c");
    expect(frame()).toMatch(/› a\s*\n… b\s*\n… c/);
    await send(ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("a\nb\nc");
    expect(frame()).toContain("Enter send");
  });

  it("treats kitty Shift-Enter and xterm modifyOtherKeys Shift-Enter as a newline", async () => {
    const { send, props } = setup();
    await send("a", "\u001b[13;2u", "b", "\u001b[27;2;13~", "c", ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("a\nb\nc");
  });

  it("takes keys typed faster than they are read (text and Enter in one chunk) as typed: submits the text", async () => {
    const { send, props, frame } = setup();
    await send("Do the long part\r");
    expect(props.onSubmit).toHaveBeenCalledWith("Do the long part");
    await send("one\rtwo\r");
    expect(props.onSubmit).toHaveBeenNthCalledWith(2, "one");
    expect(props.onSubmit).toHaveBeenNthCalledWith(3, "two");
    expect(frame()).toContain("Enter send");
    // Control keys in such a chunk act as themselves: Ctrl-U clears the draft, Ctrl-J is a newline.
    await send("abc\u0015one more\r");
    expect(props.onSubmit).toHaveBeenNthCalledWith(4, "one more");
    await send("line 1\nline 2\r");
    expect(props.onSubmit).toHaveBeenNthCalledWith(5, "line 1\nline 2");
  });

  it("Ctrl-U clears the whole draft, a multi-line one too, from any line", async () => {
    const { frame, send, props } = setup();
    await send("first line", CTRL_J, "second line", CTRL_J, "third", UP);
    expect(frame()).toContain("… second line");
    await send("\u0015");
    expect(frame()).not.toContain("first line");
    expect(frame()).not.toContain("second line");
    expect(frame()).not.toContain("third");
    expect(frame()).toContain("Enter send");
    expect(props.onEmptyChange).toHaveBeenLastCalledWith(true);
    await send("new", ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("new");
  });

  it("starts from the saved history it is given, and takes another pod's when the key changes", async () => {
    const { frame, send, instance, props } = setup({ history: { key: "main", entries: ["oldest saved", "newest saved"] } });
    await send(UP);
    expect(frame()).toContain("› newest saved");
    await send(UP);
    expect(frame()).toContain("› oldest saved");
    await send(DOWN, DOWN);
    expect(frame()).toContain("Enter send");

    // A new array for the same pod does not reset what was typed since.
    await send("typed here", ENTER);
    instance.rerender(<Composer {...props} history={{ key: "main", entries: ["something else"] }} />);
    await send(UP);
    expect(frame()).toContain("› typed here");
    await send(DOWN);

    instance.rerender(<Composer {...props} history={{ key: "kid", entries: ["kid's saved"] }} />);
    await send(UP);
    expect(frame()).toContain("› kid's saved");
    await send(UP);
    expect(frame()).toContain("› kid's saved");
  });

  it("calls onEmptyEnter for Enter on an empty composer", async () => {
    const { send, props } = setup();
    await send(ENTER);
    expect(props.onEmptyEnter).toHaveBeenCalledTimes(1);
    expect(props.onSubmit).not.toHaveBeenCalled();
  });

  it("keeps a bracketed paste as one chip, deletes it as a unit and expands it on submit", async () => {
    const pasted = Array.from({ length: 42 }, (_, index) => `line ${index}`).join("\r");
    const { frame, send, props } = setup();
    await send("x", " ", "\u001b[200~", pasted, "\u001b[201~", " ", "y");
    expect(frame()).toContain("› x [pasted 42 lines] y");
    expect(frame()).not.toContain("line 3");
    await send(ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith(`x ${pasted.replaceAll("\r", "\n")} y`);

    await send("\u001b[200~", "a".repeat(1234), "\u001b[201~");
    expect(frame()).toContain("[pasted 1,234 chars]");
    await send(BACKSPACE);
    expect(frame()).not.toContain("pasted");
    expect(frame()).toContain("Enter send");
  });

  it("keeps a paste exact when it arrives in pieces, with tabs and escape characters", async () => {
    const { send, props } = setup();
    await send("\u001b[200~", "one\ttwo\r", "three", "\u001b[201~", ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("one\ttwo\nthree");
  });

  it("inserts a short single-line paste as plain text", async () => {
    const { frame, send } = setup();
    await send("\u001b[200~", "short text", "\u001b[201~");
    expect(frame()).toContain("› short text");
    expect(frame()).not.toContain("pasted");
  });

  it("shows @ completions from complete and inserts the selected one with Tab", async () => {
    const complete = vi.fn(async (prefix: string) => ["src/", "scripts/", "setup.md"].filter((value) => value.startsWith(prefix)));
    const { frame, send, props } = setup({ complete });
    await send("r", "e", "a", "d", " ", "@", "s");
    expect(complete).toHaveBeenLastCalledWith("s");
    expect(frame()).toContain("@src/");
    expect(frame()).toContain("@setup.md");
    expect(props.onCompletionsOpenChange).toHaveBeenLastCalledWith(true);
    await send(DOWN, DOWN, TAB);
    expect(frame()).toContain("› read @setup.md");
    expect(frame()).not.toContain("@src/");
    expect(props.onCompletionsOpenChange).toHaveBeenLastCalledWith(false);
    await send(ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("read @setup.md ");
  });

  it("closes the completion list with Esc and leaves Esc alone otherwise", async () => {
    const complete = vi.fn(async () => ["src/"]);
    const { frame, send, props } = setup({ complete });
    await send("@");
    expect(frame()).toContain("@src/");
    await send(ESC);
    expect(frame()).not.toContain("@src/");
    expect(frame()).toContain("› @");
    expect(props.onCompletionsOpenChange).toHaveBeenLastCalledWith(false);
    await send(ESC);
    expect(frame()).toContain("› @");
  });

  it("ignores a stale completion answer", async () => {
    const answers: Record<string, (values: string[]) => void> = {};
    const complete = vi.fn((prefix: string) => new Promise<string[]>((resolve) => (answers[prefix] = resolve)));
    const { frame, send } = setup({ complete });
    await send("@", "a");
    answers["a"]?.(["abc.ts"]);
    answers[""]?.(["zzz.ts"]);
    await send();
    expect(frame()).toContain("@abc.ts");
    expect(frame()).not.toContain("zzz");
  });

  it("browses the history with Up/Down and keeps the draft", async () => {
    const { frame, send } = setup();
    await send("o", "n", "e", ENTER, "t", "w", "o", ENTER, "d", "r", "a", "f", "t");
    await send(UP);
    expect(frame()).toContain("› two");
    await send(UP);
    expect(frame()).toContain("› one");
    await send(UP);
    expect(frame()).toContain("› one");
    await send(DOWN, DOWN);
    expect(frame()).toContain("› draft");
  });

  it("moves between lines with Up/Down before going through the history", async () => {
    const { frame, send, props } = setup();
    await send("o", "l", "d", ENTER, "a", CTRL_J, "b", UP, "X");
    expect(frame()).toMatch(/› aX\s*\n… b/);
    await send(UP);
    expect(frame()).toContain("› old");
    await send(DOWN, ENTER);
    expect(props.onSubmit).toHaveBeenLastCalledWith("aX\nb");
  });

  it("shows queued messages and drops the last with Backspace on an empty composer", async () => {
    const { frame, send, props } = setup({ queued: ["first message\nmore", "second"] });
    await send();
    expect(frame()).toContain("queued: first message …");
    expect(frame()).toContain("queued: second");
    await send(BACKSPACE);
    expect(props.onUnqueue).toHaveBeenCalledWith(1);
    await send("a", BACKSPACE);
    expect(props.onUnqueue).toHaveBeenCalledTimes(1);
  });

  it("ignores input while inactive", async () => {
    const { frame, send, props } = setup({ active: false });
    await send("a", "b", ENTER);
    expect(frame()).toContain("Enter send");
    expect(props.onEmptyEnter).not.toHaveBeenCalled();
  });

  it("leaves global keys alone", async () => {
    const { frame, send, props } = setup();
    await send("?");
    expect(frame()).toContain("Enter send");
    expect(props.onEmptyChange).not.toHaveBeenCalledWith(false);
    await send("h", "i", "\u0003", "\u0004", "\u0018", "\u000f", "\u001b[5~", "\u001b[6~", ESC, "?");
    expect(frame()).toContain("› hi?");
    await send(ENTER);
    expect(props.onSubmit).toHaveBeenCalledWith("hi?");
  });

  it("takes a draft from the app", async () => {
    const props = { draft: { text: "rewound input", seq: 1 } };
    const { frame, send } = setup(props);
    await send();
    expect(frame()).toContain("› rewound input");
    await send("!");
    expect(frame()).toContain("› rewound input!");
  });

  it("wraps long text to the width", async () => {
    const { frame, send } = setup({ width: 20 });
    await send("\u001b[200~", "abcdefghijklmnopqrstuvwxyz", "\u001b[201~");
    const lines = frame().split("\n");
    expect(lines[0]).toBe("› abcdefghijklmnopqr");
    expect(lines[1]?.trimEnd()).toBe("  stuvwxyz");
  });
});

describe("bracketed paste mode", () => {
  it("writes the xterm 2004 mode switches", () => {
    const written: string[] = [];
    const stdout = { write: (chunk: string) => written.push(chunk) };
    enableBracketedPaste(stdout);
    disableBracketedPaste(stdout);
    expect(written).toEqual(["\u001b[?2004h", "\u001b[?2004l"]);
  });
});
