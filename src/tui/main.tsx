/**
 * The TUI's entry (`podd attach [name|--socket PATH]`, loaded lazily by src/cli/attach.ts so
 * other commands stay fast): renders the app on the terminal with bracketed paste on, and
 * resolves when the user detaches. Without a pod it first offers the running pods to pick from.
 */
import fs from "node:fs";
import { render } from "ink";
import { useState } from "react";
import { App } from "./app.js";
import { disableBracketedPaste, enableBracketedPaste } from "./composer.js";
import { PickList } from "./pick-list.js";
import { restartPodWithCli } from "./restart-pod.js";

export interface PodChoice {
  name: string;
  socket: string;
  detail?: string;
}

function Picker(props: { pods: readonly PodChoice[]; onDone(socket: string | undefined): void }) {
  const [done, setDone] = useState(false);
  if (done) return null;
  return (
    <PickList
      title="Attach to which pod?"
      width={process.stdout.columns || 80}
      items={props.pods.map((pod) => ({ key: pod.socket, label: pod.name, detail: pod.detail }))}
      onPick={(item) => {
        setDone(true);
        props.onDone(item.key);
      }}
      onClose={() => {
        setDone(true);
        props.onDone(undefined);
      }}
    />
  );
}

/** Let the user pick one of `pods`; undefined when they close the list. */
export async function pickPod(pods: readonly PodChoice[]): Promise<string | undefined> {
  let chosen: string | undefined;
  const instance = render(
    <Picker
      pods={pods}
      onDone={(socket) => {
        chosen = socket;
        // Clear the list before the app draws below it.
        instance.clear();
        instance.unmount();
      }}
    />,
    { exitOnCtrlC: true },
  );
  await instance.waitUntilExit();
  return chosen;
}

/**
 * Run the TUI attached to `socket` until the user detaches. The terminal's bracketed-paste mode
 * is turned off again however the process ends: detach, SIGTERM / SIGHUP / SIGINT from outside
 * (exit 128 + n), or an exception.
 */
export async function runTui(socket: string): Promise<void> {
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    disableBracketedPaste({ write: (chunk: string) => fs.writeSync(1, chunk) });
  };
  const signals = { SIGTERM: 15, SIGHUP: 1, SIGINT: 2 } as const;
  const onSignal = (signal: keyof typeof signals): void => {
    instance.unmount();
    restore();
    process.exit(128 + signals[signal]);
  };
  process.once("exit", restore);
  for (const signal of Object.keys(signals) as (keyof typeof signals)[]) process.on(signal, onSignal);
  enableBracketedPaste(process.stdout);
  // `r` on a stopped pod runs `podd start <name>` with this very CLI (the entry `podd attach` runs from).
  const cliEntry = process.argv[1];
  const restartPod = cliEntry ? (name: string) => restartPodWithCli(cliEntry, name) : undefined;
  const instance = render(<App socket={socket} restartPod={restartPod} />, { exitOnCtrlC: false });
  try {
    await instance.waitUntilExit();
  } finally {
    for (const signal of Object.keys(signals) as (keyof typeof signals)[]) process.off(signal, onSignal);
    restore();
  }
}
