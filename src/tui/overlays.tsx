/**
 * The app's overlays, shown between the transcript and the composer: the help box, the stop
 * confirmation, the rewind picker, the pods pane, and the "pod stopped" pane that replaces them
 * all while the pod is stopped on purpose. A plain function (no hooks) so the app knows when there
 * is none; the app owns the keys and the requests.
 */
import { Box, Text } from "ink";
import type { JSX } from "react";
import type { RewindTarget } from "../../protocol/index.js";
import { HelpOverlay } from "./help.js";
import { PickList, type PickItem } from "./pick-list.js";
import { StoppedPane, type RestartState } from "./stopped-pane.js";

export type Overlay =
  | { kind: "help"; offset: number }
  | { kind: "rewind"; targets: RewindTarget[]; headEntries: number }
  | { kind: "confirm-stop" }
  | { kind: "pods"; items: PickItem[] };

/** Rows inside the help box's border in a terminal `rows` high (the composer and status line stay). */
export function helpRows(rows: number): number {
  return Math.max(4, rows - 6);
}

/** The pods pane's first item, on a child: back to the parent. */
export const BACK_ITEM_KEY = "..back";

export interface OverlayProps {
  overlay: Overlay | undefined;
  /** The pod was stopped on purpose: the stopped pane, whatever else is open. */
  stopped?: { restart: RestartState; canGoBack: boolean };
  podName: string | undefined;
  columns: number;
  rows: number;
  onClose(): void;
  onRewind(target: RewindTarget, headEntries: number): void;
  /** A pods-pane item: a child's socket, or BACK_ITEM_KEY. */
  onPickPod(key: string): void;
}

export function renderOverlay(props: OverlayProps): JSX.Element | null {
  const { overlay, columns, rows } = props;
  const podName = props.podName ?? "?";
  if (props.stopped) return <StoppedPane podName={podName} restart={props.stopped.restart} canGoBack={props.stopped.canGoBack} width={Math.min(columns, 100)} />;
  if (!overlay) return null;
  switch (overlay.kind) {
    case "help":
      return <HelpOverlay width={columns} maxRows={helpRows(rows)} offset={overlay.offset} />;
    case "confirm-stop":
      return (
        <Box borderStyle="round" paddingX={1}>
          <Text>
            Stop pod <Text bold>{podName}</Text>? Its process exits; its session is kept. <Text bold>y</Text>/N
          </Text>
        </Box>
      );
    case "rewind":
      return (
        <PickList
          title="Rewind to before which input? (later turns are cut; the input comes back for editing)"
          width={columns}
          maxRows={Math.max(3, Math.min(10, rows - 10))}
          empty="no user inputs to rewind to"
          items={overlay.targets.map((target, index) => ({ key: String(index), label: `${index + 1}. ${target.preview}`, detail: `${target.timestamp_ms === null ? "" : new Date(target.timestamp_ms).toLocaleTimeString()}${target.warning === undefined ? "" : " · tool side effects stay"}` }))}
          onClose={props.onClose}
          onPick={(item) => {
            const target = overlay.targets[Number(item.key)];
            props.onClose();
            if (target) props.onRewind(target, overlay.headEntries);
          }}
        />
      );
    case "pods":
      return (
        <PickList
          title={`Pods under ${props.podName ?? "this pod"}`}
          width={columns}
          empty="this pod has no children"
          items={overlay.items}
          onClose={props.onClose}
          onPick={(item) => {
            props.onClose();
            props.onPickPod(item.key);
          }}
        />
      );
  }
}
