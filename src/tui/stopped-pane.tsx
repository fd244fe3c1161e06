/**
 * The box the TUI shows while its pod is stopped on purpose (it sent `shutdown` before closing:
 * `:stop`, `podd stop`): what happened and what the keys do. The app owns the keys
 * (r restarts with `podd start <name>`, q / Ctrl-D / Ctrl-C quit, b returns to the parent);
 * a pod started again by someone else is attached to on its own (connection.ts).
 */
import { Box, Text } from "ink";
import type { JSX } from "react";

export type RestartState = { kind: "none" } | { kind: "restarting" } | { kind: "failed"; message: string };

export function StoppedPane(props: { podName: string; restart: RestartState; canGoBack: boolean; width: number }): JSX.Element {
  const { podName, restart } = props;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1} width={props.width}>
      <Text wrap="wrap">
        <Text bold>pod {podName} stopped</Text>
        <Text dimColor> (its session is kept)</Text>
      </Text>
      {restart.kind === "restarting" ? (
        <Text color="yellow" wrap="wrap">{`restarting: podd start ${podName} …`}</Text>
      ) : (
        <Text wrap="wrap">
          <Text bold>r</Text> restart it · <Text bold>q</Text> quit{props.canGoBack ? <Text> · <Text bold>b</Text> back to the parent</Text> : null}
        </Text>
      )}
      {restart.kind === "failed" ? <Text color="red" wrap="wrap">{`restart failed: ${restart.message}`}</Text> : null}
    </Box>
  );
}
