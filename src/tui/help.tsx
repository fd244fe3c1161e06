/** The help overlay (`?` on an empty composer, or `:help`): every key and command of the TUI. */
import { Box, Text } from "ink";

export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["Enter", "send the message (while the pod runs: queue it until the run ends)"],
  ["Enter on an empty composer", "resume a paused turn"],
  ["Alt-Enter / Ctrl-J", "new line in the message"],
  ["@path + Tab", "complete a file name"],
  ["↑ / ↓", "previous / next message from the input history"],
  ["Backspace on an empty composer", "drop the last queued message"],
  ["Ctrl-C", "pause the running turn; when idle, press twice to quit (the pod keeps running)"],
  ["Esc / Ctrl-X", "cancel the running turn"],
  ["Ctrl-D", "detach (the pod keeps running)"],
  ["PgUp / PgDn", "scroll the transcript"],
  ["Ctrl-O", "expand / collapse thinking and tool details"],
  ["Ctrl-P", "the pods pane: this pod's children; Enter attaches to one, Esc closes"],
  ["?", "this help (on an empty composer)"],
];

export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  [":compact", "summarise the session into a new segment (idle only)"],
  [":rewind", "pick a user input to rewind to; it comes back into the composer for editing"],
  [":notify <text>", "queue a notification for the model"],
  [":stop", "shut the pod down (asks first)"],
  [":back", "return to the parent after attaching to a child"],
  [":help", "this help"],
];

export function HelpOverlay(props: { width: number }) {
  const keyWidth = Math.max(...[...KEY_HELP, ...COMMAND_HELP].map(([key]) => key.length)) + 2;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(props.width, 110)}>
      <Text bold>Keys</Text>
      {KEY_HELP.map(([key, what]) => (
        <Text key={key}>
          <Text color="cyan">{key.padEnd(keyWidth)}</Text>
          {what}
        </Text>
      ))}
      <Text bold>Commands</Text>
      {COMMAND_HELP.map(([command, what]) => (
        <Text key={command}>
          <Text color="cyan">{command.padEnd(keyWidth)}</Text>
          {what}
        </Text>
      ))}
      <Text dimColor>Esc or ? closes this help. No key shuts a pod down without asking.</Text>
    </Box>
  );
}
