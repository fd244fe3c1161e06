/** Which drafts are commands (commands.ts): the rule, case by case. */
import { describe, expect, it } from "vitest";
import { COMMAND_NAMES, LISTED_COMMANDS, parseDraft, unknownCommandNote } from "../../src/tui/commands.js";

describe("parseDraft", () => {
  it("a known name after : or / is a command, with the rest of the line as its argument", () => {
    expect(parseDraft(":compact")).toEqual({ kind: "command", name: "compact", prefix: ":", argument: "" });
    expect(parseDraft("/notify  hello there ")).toEqual({ kind: "command", name: "notify", prefix: "/", argument: "hello there" });
    for (const name of COMMAND_NAMES) expect(parseDraft(`/${name}`)).toMatchObject({ kind: "command", name });
  });

  it("an unknown name-shaped word is an unknown command", () => {
    expect(parseDraft(":model gpt-5")).toEqual({ kind: "unknown", name: "model", prefix: ":" });
    expect(parseDraft("/foo")).toEqual({ kind: "unknown", name: "foo", prefix: "/" });
    expect(parseDraft("/set-model x")).toEqual({ kind: "unknown", name: "set-model", prefix: "/" });
    expect(parseDraft(":root { color: red }")).toEqual({ kind: "unknown", name: "root", prefix: ":" });
  });

  it("anything else is a message", () => {
    for (const text of [":)", ":", "/", "/ ", "/usr/bin/x", "/usr/bin is a path?", "/Users/me", "/1st", "/compact!", " /compact", "hi /compact", ":compact\nmore", "/notify\nlong text"]) {
      expect(parseDraft(text), text).toEqual({ kind: "message" });
    }
  });

  it("the unknown-command note names the command, the known ones with the same prefix, and the way out", () => {
    const note = unknownCommandNote({ name: "model", prefix: "/" });
    expect(note).toContain("unknown command /model");
    for (const name of LISTED_COMMANDS) expect(note).toContain(`/${name}`);
    expect(note).toContain("start it with a space");
  });
});
