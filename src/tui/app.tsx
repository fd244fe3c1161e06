/**
 * The TUI shell: one pod's transcript, the status line and the composer, the global keys,
 * the `:` / `/` commands (commands.ts), the overlays (help, rewind picker, stop confirmation, pods pane), the
 * queue of messages typed while the pod runs, and switching to a child pod and back.
 *
 * Keys (issue 7, part 5): Enter sends; Ctrl-C pauses a running turn and, when idle, quits
 * on a second press; Esc or Ctrl-X cancels a running or paused turn; Enter on an empty composer resumes
 * a paused turn; Ctrl-D detaches; PgUp/PgDn scroll; Ctrl-O expands details; Ctrl-P the pods
 * pane; `?` help. No key shuts a pod down: `:stop` asks first.
 *
 * A pod stopped on purpose (issue 16, bug 9) is not reconnected to with backoff: the app shows
 * "pod <name> stopped" (stopped-pane.tsx), `r` restarts it with `podd start <name>` (the
 * `restartPod` prop) and reconnects, q / Ctrl-D / Ctrl-C quit.
 */
import { Box, measureElement, useApp, useInput, useStdout, type DOMElement } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { Event, Method } from "../../protocol/index.js";
import { flattenSegments } from "../../protocol/index.js";
import { PodRequestError } from "../client/pod-client.js";
import { parseDraft, unknownCommandNote, type CommandName } from "./commands.js";
import { Composer } from "./composer.js";
import { InputHistoryFile, inputHistoryPath } from "./input-history-file.js";
import { TuiConnection } from "./connection.js";
import { type PickItem } from "./pick-list.js";
import { helpLines, helpWidth, helpWindow } from "./help.js";
import { BACK_ITEM_KEY, helpRows, renderOverlay, type Overlay } from "./overlays.js";
import { StatusLine } from "./status-line.js";
import { type RestartState } from "./stopped-pane.js";
import { Transcript } from "./transcript.js";
import { scrollMarker, useTranscriptScroll } from "./transcript-scroll.js";
import { initialTuiState, reduceEvent, withConnection, withLocalNotice, type ConnectionState, type TuiState } from "./transcript-model.js";

/** How long a first Ctrl-C on an idle pod stays armed for the second, ms. */
export const QUIT_ARM_MS = 2_000;
/** How long a note stays in the status line, ms. */
export const NOTE_MS = 5_000;
const QUIT_NOTE = "press Ctrl-C again to quit (the pod keeps running)";


type Action =
  | { type: "event"; event: Event; nowMs: number }
  | { type: "connection"; state: ConnectionState }
  | { type: "notice"; text: string; tone: "info" | "warn" }
  | { type: "reset" };

function reducer(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case "event":
      return reduceEvent(state, action.event, action.nowMs);
    case "connection":
      return withConnection(state, action.state);
    case "notice":
      return withLocalNotice(state, action.text, action.tone);
    case "reset":
      return withConnection(initialTuiState(), state.connection);
  }
}

export interface AppProps {
  socket: string;
  /** For tests: a connection factory (default: a real TuiConnection). */
  connect?: (socket: string, callbacks: ConstructorParameters<typeof TuiConnection>[1]) => Pick<TuiConnection, "start" | "send" | "request" | "switchTo" | "stop" | "socket" | "reconnectNow">;
  /** Start a stopped pod again (`podd start <name>`); rejects with the reason. Without it, `r` says how to. */
  restartPod?: (podName: string) => Promise<void>;
  /** The saved input history of a pod (default: its file under PODD_HOME, input-history-file.ts); undefined for none. */
  inputHistory?: (podName: string, onError: (message: string) => void) => InputHistoryStore | undefined;
}

/** What the app needs of a saved input history. */
export type InputHistoryStore = Pick<InputHistoryFile, "read" | "append">;

function historyFileOf(podName: string, onError: (message: string) => void): InputHistoryStore | undefined {
  const file = inputHistoryPath(podName);
  return file === undefined ? undefined : new InputHistoryFile(file, onError);
}

export function App(props: AppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [state, dispatch] = useReducer(reducer, undefined, initialTuiState);
  const [now, setNow] = useState(Date.now());
  const [expanded, setExpanded] = useState(false);
  const [overlay, setOverlay] = useState<Overlay | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const [queued, setQueued] = useState<string[]>([]);
  const [composerEmpty, setComposerEmpty] = useState(true);
  const [completionsOpen, setCompletionsOpen] = useState(false);
  const [draft, setDraft] = useState<{ text: string; seq: number } | undefined>();
  const [parents, setParents] = useState<string[]>([]);
  const [restart, setRestart] = useState<RestartState>({ kind: "none" });
  const quitArmedAt = useRef<number | undefined>(undefined);

  const connection = useMemo(() => {
    const callbacks = {
      onEvent: (event: Event) => dispatch({ type: "event", event, nowMs: Date.now() }),
      onState: (connectionState: ConnectionState) => dispatch({ type: "connection", state: connectionState }),
    };
    return props.connect ? props.connect(props.socket, callbacks) : new TuiConnection(props.socket, callbacks);
    // The connection lives as long as the app (created once).
  }, []);

  useEffect(() => {
    connection.start();
    return () => connection.stop();
  }, [connection]);

  useEffect(() => {
    const onResize = (): void => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on("resize", onResize);
    return () => void stdout.off("resize", onResize);
  }, [stdout]);

  // The clock of the status line (elapsed time, retry and reconnect countdowns).
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);

  const say = useCallback((text: string) => setNote(text), []);

  const act = useCallback(
    (method: Method, done?: string, onError?: () => void) => {
      // A run is held by a pod that is compacting: its ack may take as long as the compaction.
      const timeoutMs = method.method === "run" ? 300_000 : 10_000;
      connection.request(method, timeoutMs).then(
        () => done && say(done),
        (error: Error) => {
          say(`${method.method}: ${error.message}`);
          onError?.();
        },
      );
    },
    [connection, say],
  );

  // What the pod is doing, as far as keys and the queue are concerned: nothing, while not connected.
  const connected = state.connection.kind === "connected" && !state.isAwaitingSnapshot;
  const running = connected && state.status === "running";
  const compacting = connected && state.compacting;
  const busy = running || compacting;
  const paused = connected && state.status === "paused";
  const podStopped = state.connection.kind === "stopped";
  const podName = state.greeting?.pod_name;

  // The transcript gets the rows the composer, the overlay and the status line leave, measured
  // after each render; the whole frame stays below the terminal's height (a frame that fills it
  // makes Ink clear the screen and the scrollback on every redraw).
  const composerBox = useRef<DOMElement>(null);
  const overlayBox = useRef<DOMElement>(null);
  const [measured, setMeasured] = useState({ composer: 2, overlay: 0 });
  useEffect(() => {
    const composerRows = composerBox.current ? measureElement(composerBox.current).height : 2;
    const overlayRowsNow = overlayBox.current ? measureElement(overlayBox.current).height : 0;
    if (composerRows !== measured.composer || overlayRowsNow !== measured.overlay) setMeasured({ composer: composerRows, overlay: overlayRowsNow });
  });
  const transcriptHeight = Math.max(1, size.rows - 2 - measured.composer - (overlay || podStopped ? measured.overlay : 0));
  const pageSize = Math.max(1, Math.floor((size.rows - 6) / 2));
  // The input history is per pod: read when the pod's name is known, appended to on each send.
  const historyStore = useMemo(() => (podName === undefined ? undefined : (props.inputHistory ?? historyFileOf)(podName, say)), [podName]);
  const savedHistory = useMemo(() => (historyStore && podName !== undefined ? { key: podName, entries: historyStore.read() } : undefined), [historyStore]);
  const scroll = useTranscriptScroll(state, size.columns, expanded, transcriptHeight, pageSize);

  // A note goes away after a while, and when the pod's state changes.
  useEffect(() => {
    if (note === undefined) return;
    const timer = setTimeout(() => setNote((current) => (current === note ? undefined : current)), note === QUIT_NOTE ? QUIT_ARM_MS : NOTE_MS);
    return () => clearTimeout(timer);
  }, [note]);

  // Send what was queued while the pod ran, one message per run, once it is idle again.
  // One per idle spell: the next waits until the pod has left idle (or the connection changed).
  const queueSentWhileIdle = useRef(false);
  const idle = connected && state.status === "idle" && !compacting;
  useEffect(() => {
    if (!idle) queueSentWhileIdle.current = false;
    if (!idle || queued.length === 0 || queueSentWhileIdle.current) return;
    queueSentWhileIdle.current = true;
    const [next, ...rest] = queued;
    setQueued(rest);
    if (next === undefined) return;
    // A refused run goes back to the front of the queue, and the queue may go on.
    act({ method: "run", params: { input: [{ kind: "text", content: next }] } }, undefined, () => {
      setQueued((list) => [next, ...list]);
      queueSentWhileIdle.current = false;
    });
  }, [idle, queued, act]);

  const openRewind = useCallback(() => {
    connection.request({ method: "list_rewind_targets" }).then(
      (reply) => {
        if (reply.event !== "rewind_targets") return say(`rewind: unexpected reply ${reply.event}`);
        setOverlay({ kind: "rewind", targets: reply.data.targets, headEntries: reply.data.head_entries });
      },
      (error: Error) => say(`rewind: ${error.message}`),
    );
  }, [connection, say]);

  const openPods = useCallback(() => {
    connection.request({ method: "list_visible_pods" }).then(
      (reply) => {
        if (reply.event !== "visible_pods") return say(`pods: unexpected reply ${reply.event}`);
        const pods = (Array.isArray(reply.data.pods) ? reply.data.pods : []) as { name?: string; status?: string; socket?: string; alive?: boolean; parent?: string }[];
        const self = state.greeting?.pod_name;
        const items: PickItem[] = [];
        const back = parents[parents.length - 1];
        if (back) items.push({ key: BACK_ITEM_KEY, label: "↩ back to the parent", detail: back });
        for (const pod of pods) {
          if (!pod.name || pod.name === self || !pod.socket) continue;
          const alive = pod.alive === false ? "stopped" : (pod.status ?? "alive");
          items.push({ key: pod.socket, label: pod.name, detail: `${alive}${pod.parent && pod.parent !== self ? ` · under ${pod.parent}` : ""}` });
        }
        setOverlay({ kind: "pods", items });
      },
      (error: Error) => say(`pods: ${error.message}`),
    );
  }, [connection, parents, say, state.greeting?.pod_name]);

  const switchTo = useCallback(
    (socket: string, back: boolean) => {
      // Read now: the state updater runs later, after the connection has switched.
      const current = connection.socket;
      if (back) setParents((stack) => stack.slice(0, -1));
      else setParents((stack) => [...stack, current]);
      dispatch({ type: "reset" });
      setQueued([]);
      scroll.toBottom();
      connection.switchTo(socket);
    },
    [connection, scroll.toBottom],
  );

  const runCommand = useCallback(
    (command: CommandName, prefix: string, argument: string) => {
      switch (command) {
        case "compact":
          return act({ method: "compact" }, "compacting…");
        case "rewind":
          return openRewind();
        case "notify":
          if (!argument) return say(`usage: ${prefix}notify <text>`);
          return act({ method: "notify", params: { message: argument } }, "notification queued");
        case "stop":
          return setOverlay({ kind: "confirm-stop" });
        case "help":
          return setOverlay({ kind: "help", offset: 0 });
        case "back": {
          const parent = parents[parents.length - 1];
          if (!parent) return say("not attached to a child");
          return switchTo(parent, true);
        }
        case "pods":
          return openPods();
        case "quit":
        case "detach":
          return exit();
      }
    },
    [act, exit, openPods, openRewind, parents, say, switchTo],
  );

  const submit = useCallback(
    (text: string) => {
      scroll.toBottom();
      void historyStore?.append(text);
      // `:name` / `/name` is a command; an unknown one is refused, never sent (commands.ts: `:)`, `/usr/bin/x` are text).
      const parsed = parseDraft(text);
      if (parsed.kind === "command") return runCommand(parsed.name, parsed.prefix, parsed.argument);
      if (parsed.kind === "unknown") {
        // The list of commands is too long for the status line: it goes into the transcript.
        dispatch({ type: "notice", tone: "warn", text: unknownCommandNote(parsed) });
        return say(`unknown command ${parsed.prefix}${parsed.name}, not sent`);
      }
      if (busy || !connected) {
        setQueued((list) => [...list, text]);
        return say(connected ? "queued: sent when the pod is idle" : "queued: sent once reconnected");
      }
      act({ method: "run", params: { input: [{ kind: "text", content: text }] } });
    },
    [act, busy, connected, historyStore, runCommand, say, scroll.toBottom],
  );

  const cancel = useCallback(() => {
    connection.request({ method: "cancel" }).then(
      () => say(compacting ? "compaction cancelled" : "cancelled"),
      (error: Error) => say(error instanceof PodRequestError && error.code === "not_running" ? "nothing to cancel: the pod has no run in progress" : `cancel: ${error.message}`),
    );
  }, [compacting, connection, say]);

  const emptyEnter = useCallback(() => {
    if (connected && state.status === "paused") act({ method: "resume" }, "resumed");
  }, [act, connected, state.status]);

  const complete = useCallback(
    async (prefix: string): Promise<string[]> => {
      const reply = await connection.request({ method: "list_completions", params: { kind: "file", prefix } }, 3_000);
      return reply.event === "completions" ? reply.data.entries.map((entry) => entry.value) : [];
    },
    [connection],
  );


  // Leaving the stopped state (restarted, by us or by someone else) forgets the restart's outcome.
  useEffect(() => {
    if (!podStopped) setRestart({ kind: "none" });
    else setOverlay(undefined);
  }, [podStopped]);

  const restartStopped = useCallback(() => {
    if (!podName || restart.kind === "restarting") return;
    if (!props.restartPod) return say(`run \`podd start ${podName}\` to restart it`);
    setRestart({ kind: "restarting" });
    props.restartPod(podName).then(
      () => connection.reconnectNow(),
      (error: Error) => setRestart({ kind: "failed", message: error.message }),
    );
  }, [connection, podName, props.restartPod, restart.kind, say]);

  useInput((input, key) => {
    if (podStopped) {
      if (input === "r" || input === "R") return restartStopped();
      if (input === "q" || input === "Q" || (key.ctrl && (input === "d" || input === "c"))) return exit();
      const parent = parents[parents.length - 1];
      if ((input === "b" || input === "B") && parent) return switchTo(parent, true);
      return;
    }
    if (overlay?.kind === "confirm-stop") {
      if (input === "y" || input === "Y") {
        setOverlay(undefined);
        act({ method: "shutdown" }, "stopping the pod…");
      } else if (input === "n" || input === "N" || key.escape || key.return) setOverlay(undefined);
      return;
    }
    if (overlay?.kind === "help") {
      if (key.escape || input === "?" || key.return) return setOverlay(undefined);
      const step = key.upArrow ? -1 : key.downArrow ? 1 : key.pageUp ? -pageSize : key.pageDown ? pageSize : 0;
      if (step === 0) return;
      const { maxOffset } = helpWindow(helpLines(helpWidth(size.columns)), 0, helpRows(size.rows));
      return setOverlay({ kind: "help", offset: Math.min(maxOffset, Math.max(0, overlay.offset + step)) });
    }
    // Ctrl-D detaches on an empty composer (as in a shell); with a draft it does nothing.
    if (key.ctrl && input === "d") return composerEmpty ? exit() : undefined;
    if (key.ctrl && input === "c") {
      if (running) return act({ method: "pause" }, "paused: Enter on an empty composer resumes");
      // A compaction is not a turn: it cannot pause, so Ctrl-C stops it.
      if (compacting) return act({ method: "cancel" }, "compaction cancelled");
      const armed = quitArmedAt.current;
      if (armed !== undefined && Date.now() - armed < QUIT_ARM_MS) return exit();
      quitArmedAt.current = Date.now();
      return say(QUIT_NOTE);
    }
    if (overlay) return;
    // Esc closes an open completion list first (the composer's).
    // A paused turn is cancelled too (it ends the run); a pod that cannot yet answers not_running.
    if (((key.escape && !completionsOpen) || (key.ctrl && input === "x")) && (busy || paused)) return cancel();
    if (key.pageUp) return scroll.pageUp();
    if (key.pageDown) return scroll.pageDown();
    if (key.ctrl && input === "o") return setExpanded((value) => !value);
    if (key.ctrl && input === "p") return openPods();
    if (input === "?" && composerEmpty) return setOverlay({ kind: "help", offset: 0 });
  });

  const overlayView = renderOverlay({
    overlay,
    stopped: podStopped ? { restart, canGoBack: parents.length > 0 } : undefined,
    podName,
    columns: size.columns,
    rows: size.rows,
    onClose: () => setOverlay(undefined),
    onRewind: (target, headEntries) =>
      connection.request({ method: "rewind_to", params: { target: target.id, expected_head_entries: headEntries } }).then(
        () => undefined,
        (error: Error) => say(`rewind: ${error.message}`),
      ),
    onPickPod: (key) => {
      if (key !== BACK_ITEM_KEY) return switchTo(key, false);
      const parent = parents[parents.length - 1];
      if (parent) switchTo(parent, true);
    },
  });

  // A rewind hands its input back for editing.
  const lastRewind = useRef<unknown>(undefined);
  useEffect(() => {
    const rewound = state.lastRewind;
    if (!rewound || rewound === lastRewind.current) return;
    lastRewind.current = rewound;
    setDraft((previous) => ({ text: flattenSegments(rewound.input), seq: (previous?.seq ?? 0) + 1 }));
    say(rewound.summary);
  }, [say, state.lastRewind]);

  // The frame is exactly rows - 1 high: the transcript's box takes what the rest leaves and clips
  // its top, so a composer or overlay that grows can never push the frame to the terminal's
  // height (Ink then clears the screen and the scrollback on every redraw).
  return (
    <Box flexDirection="column" width={size.columns} height={Math.max(3, size.rows - 1)} overflow="hidden">
      <Box flexDirection="column" flexGrow={1} flexShrink={1} overflow="hidden" justifyContent="flex-end">
        <Transcript
          state={state}
          width={size.columns}
          height={transcriptHeight}
          scrollOffset={scroll.offset}
          expanded={expanded}
          marker={scrollMarker(scroll.offset, scroll.unseen, size.columns)}
        />
      </Box>
      {overlayView ? (
        <Box ref={overlayBox} flexShrink={0}>
          {overlayView}
        </Box>
      ) : null}
      <Box ref={composerBox} flexDirection="column" flexShrink={0}>
        <Composer
          active={overlay === undefined && !podStopped}
          podStatus={state.status}
          width={size.columns}
          onSubmit={submit}
          onEmptyEnter={emptyEnter}
          complete={complete}
          queued={queued}
          onUnqueue={(index) => setQueued((list) => list.filter((_, at) => at !== index))}
          onEmptyChange={setComposerEmpty}
          onCompletionsOpenChange={setCompletionsOpen}
          draft={draft}
          history={savedHistory}
        />
      </Box>
      <Box flexShrink={0}>
        <StatusLine state={state} nowMs={now} width={size.columns} note={parents.length > 0 ? `${note ? `${note} · ` : ""}child of ${parents.length} · :back` : note} />
      </Box>
    </Box>
  );
}
