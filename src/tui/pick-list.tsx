/**
 * A keyboard pick list (↑/↓ or k/j to move, Enter to choose, Esc to close): the rewind picker,
 * the pods pane and the pod picker of `podd attach` without a name.
 */
import { Box, Text, useInput } from "ink";
import { useState } from "react";

export interface PickItem {
  key: string;
  label: string;
  detail?: string;
}

export function PickList(props: {
  title: string;
  items: readonly PickItem[];
  onPick(item: PickItem): void;
  onClose(): void;
  empty?: string;
  width: number;
  maxRows?: number;
}) {
  const [selected, setSelected] = useState(Math.max(0, props.items.length - 1));
  const count = props.items.length;
  useInput((input, key) => {
    if (key.escape) return props.onClose();
    if (count === 0) return;
    if (key.upArrow || input === "k") setSelected((index) => Math.max(0, index - 1));
    else if (key.downArrow || input === "j") setSelected((index) => Math.min(count - 1, index + 1));
    else if (key.return) {
      const item = props.items[Math.min(selected, count - 1)];
      if (item) props.onPick(item);
    }
  });
  const maxRows = props.maxRows ?? 10;
  const first = Math.max(0, Math.min(selected - Math.floor(maxRows / 2), count - maxRows));
  const shown = props.items.slice(first, first + maxRows);
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(props.width, 110)}>
      <Text bold>{props.title}</Text>
      {count === 0 ? <Text dimColor>{props.empty ?? "(nothing)"}</Text> : null}
      {shown.map((item, offset) => {
        const isSelected = first + offset === selected;
        return (
          <Text key={item.key} inverse={isSelected} wrap="truncate-end">
            {isSelected ? "› " : "  "}
            {item.label}
            {item.detail ? <Text dimColor>{`  ${item.detail}`}</Text> : null}
          </Text>
        );
      })}
      <Text dimColor>↑/↓ move · Enter choose · Esc close</Text>
    </Box>
  );
}
