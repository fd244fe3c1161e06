/**
 * Which composer drafts are commands (issue 16): `:` or `/`, then a name-shaped word
 * (`[a-z][a-z-]*`) that ends the draft or is followed by whitespace, at the start of a
 * single-line draft. Such a draft is a command: a known one runs, an unknown one is refused
 * with a note and never sent to the model. Anything else is a message: `:)`, `/ `, a path such
 * as `/usr/bin/x` or `/Users/me` (the word is followed by `/`, or is not lower case), a
 * multi-line draft, or a draft that starts with a space.
 */

/** The commands, with `:` and `/` alike; `quit` and `detach` are also Ctrl-D. */
export const COMMAND_NAMES = ["compact", "rewind", "notify", "stop", "help", "back", "pods", "quit", "detach"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** The ones the help and the "unknown command" note list (quit/detach are spelled out by Ctrl-D). */
export const LISTED_COMMANDS: readonly CommandName[] = ["compact", "rewind", "notify", "stop", "back", "pods", "help"];

const COMMAND_SHAPE = /^([:/])([a-z][a-z-]*)(?:[ \t]+(.*))?$/;

export type ParsedDraft =
  | { kind: "command"; name: CommandName; prefix: ":" | "/"; argument: string }
  | { kind: "unknown"; name: string; prefix: ":" | "/" }
  | { kind: "message" };

function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** What a submitted draft is: a known command, an unknown command-shaped line, or a message. */
export function parseDraft(text: string): ParsedDraft {
  if (text.includes("\n")) return { kind: "message" };
  const match = COMMAND_SHAPE.exec(text.trimEnd());
  if (!match) return { kind: "message" };
  const prefix = match[1] as ":" | "/";
  const name = match[2] ?? "";
  if (!isCommandName(name)) return { kind: "unknown", name, prefix };
  return { kind: "command", name, prefix, argument: (match[3] ?? "").trim() };
}

/** The note for an unknown command: what it was, the known ones, and how to send it as a message. */
export function unknownCommandNote(parsed: { name: string; prefix: ":" | "/" }): string {
  const known = LISTED_COMMANDS.map((name) => `${parsed.prefix}${name}`).join(" ");
  return `unknown command ${parsed.prefix}${parsed.name}, not sent to the model. Commands: ${known}. To send the line as a message, start it with a space.`;
}
