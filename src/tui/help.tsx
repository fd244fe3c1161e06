/** The help overlay (`?` on an empty composer, or `:help`): every key and command of the TUI. */
import { Box, Text } from "ink";

export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["Enter", "send the message (while the pod runs: queue it until the run ends)"],
  ["Enter on an empty composer", "resume a paused turn"],
  ["Alt-Enter / Ctrl-J", "new line in the message"],
  ["@path + Tab", "complete a file name"],
  ["↑ / ↓", "previous / next message from the input history"],
  ["Ctrl-U", "clear the whole draft (all its lines)"],
  ["Backspace on an empty composer", "drop the last queued message"],
  ["Ctrl-C", "pause the running turn; when idle, press twice to quit (the pod keeps running)"],
  ["Esc / Ctrl-X", "cancel the running or paused turn"],
  ["Ctrl-D", "detach, on an empty composer (the pod keeps running)"],
  ["PgUp / PgDn", "scroll the transcript"],
  ["Ctrl-O", "expand / collapse thinking and tool details"],
  ["Ctrl-P", "the pods pane: this pod's children; Enter attaches to one, Esc closes"],
  ["?", "this help (on an empty composer)"],
  ["r / q (pod stopped)", "restart a pod stopped on purpose (podd start) / quit"],
];

export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ["/compact", "summarise the session into a new segment (idle only)"],
  ["/rewind", "pick a user input to rewind to; it comes back for editing"],
  ["/notify <text>", "queue a notification for the model"],
  ["/stop", "shut the pod down (asks first)"],
  ["/back, /pods", "back to the parent / the pods pane (as Ctrl-P)"],
  ["/help", "this help"],
  ["", "`:compact` works as `/compact`. A one-line draft that starts with / or : and a lower-case word is a command; an unknown one is refused, not sent. `:)`, `/usr/bin/x` or a line starting with a space are messages."],
];

/** The help box: one row per key or command (cut to the width), at most `maxRows` rows inside the border. */
export function HelpOverlay(props: { width: number; maxRows?: number }) {
  const keyWidth = Math.max(...[...KEY_HELP, ...COMMAND_HELP].map(([key]) => key.length)) + 2;
  const rows: { key: string; bold?: boolean; dim?: boolean; name?: string; text: string }[] = [
    { key: "h-keys", bold: true, text: "Keys" },
    ...KEY_HELP.map(([key, what]) => ({ key, name: key.padEnd(keyWidth), text: what })),
    { key: "h-commands", bold: true, text: "Commands" },
    ...COMMAND_HELP.map(([command, what]) => ({ key: command, name: command.padEnd(keyWidth), text: what })),
    { key: "footer", dim: true, text: "Esc or ? closes this help. No key shuts a pod down without asking." },
  ];
  const limit = props.maxRows ?? rows.length;
  const shown = rows.length > limit ? [...rows.slice(0, limit - 1), { key: "more", dim: true, text: "… (make the terminal taller to see the rest)" }] : rows;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(props.width, 110)}>
      {shown.map((row) => (
        <Text key={row.key} bold={row.bold} dimColor={row.dim} wrap="truncate-end">
          {row.name ? <Text color="cyan">{row.name}</Text> : null}
          {row.text}
        </Text>
      ))}
    </Box>
  );
}
