/**
 * The TUI shell: one pod's transcript, the status line and the composer, the global keys,
 * the `:` commands, the overlays (help, rewind picker, stop confirmation, pods pane), the
 * queue of messages typed while the pod runs, and switching to a child pod and back.
 *
 * Keys (issue 7, part 5): Enter sends; Ctrl-C pauses a running turn and, when idle, quits
 * on a second press; Esc or Ctrl-X cancels a running turn; Enter on an empty composer resumes
 * a paused turn; Ctrl-D detaches; PgUp/PgDn scroll; Ctrl-O expands details; Ctrl-P the pods
 * pane; `?` help. No key shuts a pod down: `:stop` asks first.
 */
import { Box, Text, useApp, useInput, useStdout } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { Event, Method, RewindTarget } from "../../protocol/index.js";
import { flattenSegments } from "../../protocol/index.js";
import { Composer } from "./composer.js";
import { TuiConnection } from "./connection.js";
import { HelpOverlay } from "./help.js";
import { PickList, type PickItem } from "./pick-list.js";
import { StatusLine } from "./status-line.js";
import { Transcript, transcriptLines } from "./transcript.js";
import { initialTuiState, reduceEvent, withConnection, type ConnectionState, type TuiState } from "./transcript-model.js";

/** How long a first Ctrl-C on an idle pod stays armed for the second, ms. */
export const QUIT_ARM_MS = 2_000;

type Overlay =
  | { kind: "help" }
  | { kind: "rewind"; targets: RewindTarget[]; headEntries: number }
  | { kind: "confirm-stop" }
  | { kind: "pods"; items: PickItem[] };

type Action = { type: "event"; event: Event; nowMs: number } | { type: "connection"; state: ConnectionState } | { type: "reset" };

function reducer(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case "event":
      return reduceEvent(state, action.event, action.nowMs);
    case "connection":
      return withConnection(state, action.state);
    case "reset":
      return withConnection(initialTuiState(), state.connection);
  }
}

export interface AppProps {
  socket: string;
  /** For tests: a connection factory (default: a real TuiConnection). */
  connect?: (socket: string, callbacks: ConstructorParameters<typeof TuiConnection>[1]) => Pick<TuiConnection, "start" | "send" | "request" | "switchTo" | "stop" | "socket">;
}

export function App(props: AppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [state, dispatch] = useReducer(reducer, undefined, initialTuiState);
  const [now, setNow] = useState(Date.now());
  const [scrollOffset, setScrollOffset] = useState(0);
  const [expanded, setExpanded] = useState(false);
  const [overlay, setOverlay] = useState<Overlay | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const [queued, setQueued] = useState<string[]>([]);
  const [composerEmpty, setComposerEmpty] = useState(true);
  const [completionsOpen, setCompletionsOpen] = useState(false);
  const [draft, setDraft] = useState<{ text: string; seq: number } | undefined>();
  const [parents, setParents] = useState<string[]>([]);
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
    (method: Method, done?: string) => {
      connection.request(method).then(
        () => done && say(done),
        (error: Error) => say(`${method.method}: ${error.message}`),
      );
    },
    [connection, say],
  );

  // Send what was queued while the pod ran, one message per run, once it is idle again.
  // One per idle spell: the next waits until the pod has left idle (or the connection changed).
  const queueSentWhileIdle = useRef(false);
  useEffect(() => {
    if (state.status !== "idle" || state.connection.kind !== "connected") queueSentWhileIdle.current = false;
    if (state.status !== "idle" || state.connection.kind !== "connected" || queued.length === 0 || queueSentWhileIdle.current) return;
    queueSentWhileIdle.current = true;
    setNote(undefined);
    const [next, ...rest] = queued;
    setQueued(rest);
    if (next !== undefined) act({ method: "run", params: { input: [{ kind: "text", content: next }] } });
  }, [state.status, state.connection.kind, queued, act]);

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
        if (back) items.push({ key: "..back", label: "↩ back to the parent", detail: back });
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
      setScrollOffset(0);
      connection.switchTo(socket);
    },
    [connection],
  );

  const runCommand = useCallback(
    (line: string) => {
      const [command = ""] = line.slice(1).trim().split(/\s+/);
      const argument = line.slice(1).trim().slice(command.length).trim();
      switch (command) {
        case "compact":
          return act({ method: "compact" }, "compacting…");
        case "rewind":
          return openRewind();
        case "notify":
          if (!argument) return say("usage: :notify <text>");
          return act({ method: "notify", params: { message: argument } }, "notification queued");
        case "stop":
          return setOverlay({ kind: "confirm-stop" });
        case "help":
          return setOverlay({ kind: "help" });
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
        default:
          return say(`unknown command :${command} (see :help)`);
      }
    },
    [act, exit, openPods, openRewind, parents, say, switchTo],
  );

  const submit = useCallback(
    (text: string) => {
      setScrollOffset(0);
      if (text.startsWith(":")) return runCommand(text);
      if (state.status === "running") {
        setQueued((list) => [...list, text]);
        return say("queued: sent when the run ends");
      }
      act({ method: "run", params: { input: [{ kind: "text", content: text }] } });
    },
    [act, runCommand, say, state.status],
  );

  const emptyEnter = useCallback(() => {
    if (state.status === "paused") act({ method: "resume" }, "resumed");
  }, [act, state.status]);

  const complete = useCallback(
    async (prefix: string): Promise<string[]> => {
      const reply = await connection.request({ method: "list_completions", params: { kind: "file", prefix } }, 3_000);
      return reply.event === "completions" ? reply.data.entries.map((entry) => (typeof entry === "string" ? entry : String((entry as { value?: string }).value ?? entry))) : [];
    },
    [connection],
  );

  const overlayRows = overlay ? (overlay.kind === "help" ? 24 : 14) : 0;
  const transcriptHeight = Math.max(3, size.rows - 4 - queued.length - overlayRows);
  const pageSize = Math.max(1, Math.floor((size.rows - 6) / 2));
  useInput((input, key) => {
    if (overlay?.kind === "confirm-stop") {
      if (input === "y" || input === "Y") {
        setOverlay(undefined);
        act({ method: "shutdown" }, "stopping the pod…");
      } else if (input === "n" || input === "N" || key.escape || key.return) setOverlay(undefined);
      return;
    }
    if (overlay?.kind === "help") {
      if (key.escape || input === "?" || key.return) setOverlay(undefined);
      return;
    }
    if (key.ctrl && input === "d") return exit();
    if (key.ctrl && input === "c") {
      if (state.status === "running") return act({ method: "pause" }, "paused: Enter on an empty composer resumes");
      const armed = quitArmedAt.current;
      if (armed !== undefined && Date.now() - armed < QUIT_ARM_MS) return exit();
      quitArmedAt.current = Date.now();
      return say("press Ctrl-C again to quit (the pod keeps running)");
    }
    if (overlay) return;
    // Esc closes an open completion list first (the composer's).
    if (((key.escape && !completionsOpen) || (key.ctrl && input === "x")) && state.status === "running") return act({ method: "cancel" }, "cancelled");
    if (key.pageUp) {
      // No further than the top: the transcript's lines are cached, so counting them is cheap.
      const top = Math.max(0, transcriptLines(state, size.columns, expanded).length - transcriptHeight);
      return setScrollOffset((offset) => Math.min(top, offset + pageSize));
    }
    if (key.pageDown) return setScrollOffset((offset) => Math.max(0, offset - pageSize));
    if (key.ctrl && input === "o") return setExpanded((value) => !value);
    if (key.ctrl && input === "p") return openPods();
    if (input === "?" && composerEmpty) return setOverlay({ kind: "help" });
  });

  const overlayView = (() => {
    if (!overlay) return null;
    switch (overlay.kind) {
      case "help":
        return <HelpOverlay width={size.columns} />;
      case "confirm-stop":
        return (
          <Box borderStyle="round" paddingX={1}>
            <Text>
              Stop pod <Text bold>{state.greeting?.pod_name ?? "?"}</Text>? Its process exits; its session is kept. <Text bold>y</Text>/N
            </Text>
          </Box>
        );
      case "rewind":
        return (
          <PickList
            title="Rewind to before which input? (later turns are cut; the input comes back for editing)"
            width={size.columns}
            empty="no user inputs to rewind to"
            items={overlay.targets.map((target, index) => ({ key: String(index), label: `${index + 1}. ${target.preview}`, detail: new Date(target.ts).toLocaleTimeString() }))}
            onClose={() => setOverlay(undefined)}
            onPick={(item) => {
              const target = overlay.targets[Number(item.key)];
              setOverlay(undefined);
              if (!target) return;
              connection.request({ method: "rewind_to", params: { target: target.target, expected_head_entries: overlay.headEntries } }).then(
                () => undefined,
                (error: Error) => say(`rewind: ${error.message}`),
              );
            }}
          />
        );
      case "pods":
        return (
          <PickList
            title={`Pods under ${state.greeting?.pod_name ?? "this pod"}`}
            width={size.columns}
            empty="this pod has no children"
            items={overlay.items}
            onClose={() => setOverlay(undefined)}
            onPick={(item) => {
              setOverlay(undefined);
              if (item.key === "..back") {
                const parent = parents[parents.length - 1];
                if (parent) switchTo(parent, true);
              } else switchTo(item.key, false);
            }}
          />
        );
    }
  })();

  // A rewind hands its input back for editing.
  const lastRewind = useRef<unknown>(undefined);
  useEffect(() => {
    const rewound = state.lastRewind;
    if (!rewound || rewound === lastRewind.current) return;
    lastRewind.current = rewound;
    setDraft((previous) => ({ text: flattenSegments(rewound.input), seq: (previous?.seq ?? 0) + 1 }));
    say(rewound.summary);
  }, [say, state.lastRewind]);

  return (
    <Box flexDirection="column" width={size.columns}>
      <Transcript state={state} width={size.columns} height={transcriptHeight} scrollOffset={scrollOffset} expanded={expanded} />
      {overlayView}
      <Composer
        active={overlay === undefined}
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
      />
      <StatusLine state={state} nowMs={now} width={size.columns} note={parents.length > 0 ? `${note ? `${note} · ` : ""}child of ${parents.length} · :back` : note} />
    </Box>
  );
}
