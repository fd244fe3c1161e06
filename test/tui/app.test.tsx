/**
 * The TUI shell (`<App>`) driven through Ink with a fake connection: each key and `:` command
 * is checked on both sides — what the frame shows and which methods went to the pod.
 */
import { cleanup, render } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import type { Event, LogEntry, Method, PodStatus } from "../../protocol/index.js";
import { PodRequestError } from "../../src/client/pod-client.js";
import { App, type AppProps } from "../../src/tui/app.js";
import type { ConnectionCallbacks } from "../../src/tui/connection.js";
import { stripAnsi, visibleWidth } from "../../src/tui/markdown.js";
import type { ConnectionState } from "../../src/tui/transcript-model.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
/** As in composer.test.tsx: Ink hands a key on after a setImmediate; a request's answer costs a microtask plus a render. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 6; turn++) await flush();
}

const ENTER = "\r";
const ESC = "\u001b";
const BACKSPACE = "\u007f";
const UP = "\u001b[A";
const CTRL_C = "\u0003";
const CTRL_D = "\u0004";
const CTRL_P = "\u0010";
const CTRL_X = "\u0018";
const PAGE_UP = "\u001b[5~";
const PAGE_DOWN = "\u001b[6~";

const MAIN_SOCKET = "/run/podd/main/sock";
const KID_SOCKET = "/run/podd/kid-a/sock";
const SEG = "0193b9a4-6a00-7000-8000-000000000001";
const TS = 1_767_225_600_000;

type MethodName = Method["method"];
/** What the fake answers a request with: an event (the reply or the ack) or an error (a rejection). */
type Answer = Event | Error;

/** Records every method and switch, and lets the test push events and connection states. */
class FakeConnection {
  socket: string;
  readonly callbacks: ConnectionCallbacks;
  readonly sent: Method[] = [];
  readonly switches: string[] = [];
  started = 0;
  stopped = 0;
  reconnects = 0;
  /** Per method: the answer of `request` (default: an ack). */
  readonly answers = new Map<MethodName, (method: Method) => Answer>();

  constructor(socket: string, callbacks: ConnectionCallbacks) {
    this.socket = socket;
    this.callbacks = callbacks;
  }

  start(): void {
    this.started += 1;
    this.callbacks.onState({ kind: "connecting" });
  }

  send(method: Method): boolean {
    this.sent.push(method);
    return true;
  }

  request(method: Method): Promise<Event> {
    this.sent.push(method);
    const answer = this.answers.get(method.method)?.(method) ?? { event: "ack", data: { method: method.method } };
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }

  switchTo(socket: string): void {
    this.switches.push(socket);
    this.socket = socket;
    this.start();
  }

  stop(): void {
    this.stopped += 1;
  }

  reconnectNow(): void {
    this.reconnects += 1;
  }

  answer(method: MethodName, answer: Answer | ((method: Method) => Answer)): void {
    this.answers.set(method, typeof answer === "function" ? answer : () => answer);
  }

  /** The methods sent, by name (completions the composer asks for on its own are left out). */
  names(): string[] {
    return this.sent.filter((method) => method.method !== "list_completions").map((method) => method.method);
  }
}

function userInput(text: string, offset: number): LogEntry {
  return { kind: "user_input", ts: TS + offset, segments: [{ kind: "text", content: text }] };
}

function assistant(text: string, offset: number): LogEntry {
  return { kind: "assistant_item", ts: TS + offset, item: { kind: "message", role: "assistant", content: text } };
}

function snapshot(options: { pod?: string; status?: PodStatus; entries?: LogEntry[]; provider?: string } = {}): Event {
  const pod = options.pod ?? "main";
  return {
    event: "snapshot",
    data: {
      entries: [{ kind: "segment_start", ts: TS, segment_id: `seg-${pod}`, session_id: `ses-${pod}`, pod_name: pod }, ...(options.entries ?? [])],
      greeting: { pod_name: pod, cwd: "/p", provider: options.provider ?? "anthropic", model: "claude-test", scope_summary: "", tools: [], context_window: 1000, context_tokens: 0 },
      status: options.status ?? "idle",
    },
  };
}

const status = (value: PodStatus): Event => ({ event: "status", data: { status: value } });

async function setup(seed: { status?: PodStatus; entries?: LogEntry[]; provider?: string } = {}, props: Partial<AppProps> = {}) {
  let fake: FakeConnection | undefined;
  const instance = render(
    <App
      socket={MAIN_SOCKET}
      connect={(socket, callbacks) => {
        fake = new FakeConnection(socket, callbacks);
        return fake;
      }}
      // No test reads or writes the user's own input history (PODD_HOME): tests that need one pass it.
      inputHistory={() => undefined}
      {...props}
    />,
  );
  await settle();
  if (!fake) throw new Error("the app did not connect");
  const connection: FakeConnection = fake;
  const push = async (...events: Event[]) => {
    for (const event of events) connection.callbacks.onEvent(event);
    await settle();
  };
  const setState = async (state: ConnectionState) => {
    connection.callbacks.onState(state);
    await settle();
  };
  const press = async (...chunks: string[]) => {
    for (const chunk of chunks) {
      instance.stdin.write(chunk);
      await settle();
    }
  };
  /** Types `text` (one chunk: the composer inserts a short single-line chunk as text) and presses Enter. */
  const enter = (text: string) => press(text, ENTER);
  const frame = () => stripAnsi(instance.lastFrame() ?? "");
  const statusLine = () => frame().split("\n").filter((line) => line.trim() !== "").at(-1) ?? "";

  await setState({ kind: "connected" });
  await push(snapshot(seed));
  return { fake: connection, instance, push, setState, press, enter, frame, statusLine };
}

afterEach(() => cleanup());

describe("App: sending and the queue", () => {
  it("seeds from the snapshot and sends a typed message as a run", async () => {
    const app = await setup({ entries: [userInput("earlier question", 1), assistant("earlier answer", 2)] });
    expect(app.fake.started).toBe(1);
    expect(app.frame()).toContain("› earlier question");
    expect(app.frame()).toContain("earlier answer");
    expect(app.statusLine()).toContain("main · claude-test · idle");

    await app.enter("hello pod");
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "hello pod" }] } }]);
    expect(app.frame()).not.toContain("hello pod");
    expect(app.frame()).toContain("Enter send");
  });

  it("queues a message while the pod runs and sends it when the pod is idle again", async () => {
    const app = await setup({ status: "running" });
    await app.enter("later please");
    expect(app.fake.names()).toEqual([]);
    expect(app.frame()).toContain("queued: later please");
    expect(app.statusLine()).toContain("queued: sent when the pod is idle");

    await app.push(status("idle"));
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "later please" }] } }]);
    expect(app.frame()).not.toContain("queued: later please");
  });

  it("sends queued messages one per run", async () => {
    const app = await setup({ status: "running" });
    await app.enter("first");
    await app.enter("second");
    expect(app.frame()).toContain("queued: first");
    expect(app.frame()).toContain("queued: second");

    await app.push(status("idle"));
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "first" }] } }]);
    expect(app.frame()).not.toContain("queued: first");
    expect(app.frame()).toContain("queued: second");

    await app.push(status("running"));
    expect(app.fake.names()).toEqual(["run"]);
    await app.push(status("idle"));
    expect(app.fake.sent.at(-1)).toEqual({ method: "run", params: { input: [{ kind: "text", content: "second" }] } });
    expect(app.fake.names()).toEqual(["run", "run"]);
    expect(app.frame()).not.toContain("queued: second");
  });

  it("drops the last queued message with Backspace on an empty composer", async () => {
    const app = await setup({ status: "running" });
    await app.enter("keep me");
    await app.enter("drop me");
    expect(app.frame()).toContain("queued: drop me  · Backspace drops it");
    await app.press(BACKSPACE);
    expect(app.frame()).not.toContain("drop me");
    expect(app.frame()).toContain("queued: keep me");

    await app.push(status("idle"));
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "keep me" }] } }]);
  });

  it("shows a refused run as a note", async () => {
    const app = await setup();
    app.fake.answer("run", new PodRequestError("already_running", "Pod is already executing a turn"));
    await app.enter("hi");
    expect(app.fake.names()).toEqual(["run"]);
    expect(app.statusLine()).toContain("run: Pod is already executing a turn");
  });

  it("asks the pod for file completions after @ and lists their values", async () => {
    const app = await setup();
    app.fake.answer("list_completions", {
      event: "completions",
      data: { kind: "file", entries: [{ value: "src/", is_dir: true }, { value: "setup.md", is_dir: false }] },
    });
    await app.press("@", "s");
    expect(app.fake.sent.at(-1)).toEqual({ method: "list_completions", params: { kind: "file", prefix: "s" } });
    expect(app.frame()).toContain("@src/");
    expect(app.frame()).toContain("@setup.md");
  });
});

describe("App: interrupting keys", () => {
  it("Ctrl-C pauses a running turn", async () => {
    const app = await setup({ status: "running" });
    await app.press(CTRL_C);
    expect(app.fake.sent).toEqual([{ method: "pause" }]);
    expect(app.statusLine()).toContain("paused: Enter on an empty composer resumes");
    expect(app.fake.stopped).toBe(0);
  });

  it("Ctrl-C on an idle pod asks for a second press, which quits", async () => {
    const app = await setup();
    await app.press(CTRL_C);
    expect(app.statusLine()).toContain("press Ctrl-C again to quit (the pod keeps running)");
    expect(app.fake.stopped).toBe(0);
    await app.press(CTRL_C);
    expect(app.fake.names()).toEqual([]);
    // Exiting unmounts the app, whose cleanup stops the connection; the app no longer reads keys.
    expect(app.fake.stopped).toBe(1);
    await app.press(CTRL_P);
    expect(app.fake.names()).toEqual([]);
  });

  it("a pod that went away mid-turn is not running: Ctrl-C quits on a second press instead of pausing", async () => {
    const app = await setup({ status: "running" });
    await app.setState({ kind: "reconnecting", attempt: 1, retryAtMs: Date.now() + 1_000, reason: "the pod closed the connection" });
    await app.press(CTRL_C);
    expect(app.fake.names()).toEqual([]);
    expect(app.statusLine()).toContain("press Ctrl-C again");
    await app.press(CTRL_C);
    expect(app.fake.stopped).toBe(1);
  });

  it("during a compaction a message is queued and Esc cancels the compaction", async () => {
    const app = await setup();
    await app.push({ event: "compact_start" });
    expect(app.statusLine()).toContain("compacting");
    await app.enter("after the compaction");
    expect(app.fake.names()).toEqual([]);
    expect(app.frame()).toContain("queued: after the compaction");
    await app.press(ESC);
    expect(app.fake.names()).toEqual(["cancel"]);
    await app.push({ event: "compact_failed", data: { error: "cancelled" } });
    expect(app.fake.sent.at(-1)).toEqual({ method: "run", params: { input: [{ kind: "text", content: "after the compaction" }] } });
  });

  it("Ctrl-D detaches only from an empty composer", async () => {
    const app = await setup();
    await app.press("draft", CTRL_D);
    expect(app.fake.stopped).toBe(0);
    expect(app.frame()).toContain("draft");
  });

  it("Esc and Ctrl-X cancel a running turn", async () => {
    const app = await setup({ status: "running" });
    await app.press(ESC);
    expect(app.fake.sent).toEqual([{ method: "cancel" }]);
    expect(app.statusLine()).toContain("cancelled");
    await app.press(CTRL_X);
    expect(app.fake.sent).toEqual([{ method: "cancel" }, { method: "cancel" }]);
  });

  it("Esc and Ctrl-X cancel a paused turn too", async () => {
    const app = await setup({ status: "paused" });
    await app.press(ESC);
    expect(app.fake.sent).toEqual([{ method: "cancel" }]);
    expect(app.statusLine()).toContain("cancelled");
    await app.press(CTRL_X);
    expect(app.fake.sent).toEqual([{ method: "cancel" }, { method: "cancel" }]);
  });

  it("a pod that answers not_running to cancel gets a short note, not an error", async () => {
    const app = await setup({ status: "paused" });
    app.fake.answer("cancel", new PodRequestError("not_running", "Pod is not running"));
    await app.press(ESC);
    expect(app.fake.names()).toEqual(["cancel"]);
    expect(app.statusLine()).toContain("nothing to cancel: the pod has no run in progress");
    expect(app.frame()).not.toContain("error");
  });

  it("Esc and Ctrl-X on an idle pod send nothing", async () => {
    const app = await setup();
    await app.press(ESC, CTRL_X);
    expect(app.fake.names()).toEqual([]);
    expect(app.statusLine()).not.toContain("cancelled");
  });

  it("Enter on an empty composer resumes a paused turn (and does nothing when idle)", async () => {
    const app = await setup();
    await app.press(ENTER);
    expect(app.fake.names()).toEqual([]);

    await app.push(status("paused"));
    expect(app.frame()).toContain("Enter resume");
    await app.press(ENTER);
    expect(app.fake.sent).toEqual([{ method: "resume" }]);
    expect(app.statusLine()).toContain("resumed");
  });

  it("Ctrl-D detaches", async () => {
    const app = await setup({ status: "running" });
    await app.press(CTRL_D);
    expect(app.fake.stopped).toBe(1);
    expect(app.fake.names()).toEqual([]);
  });
});

describe("App: help overlay", () => {
  it("? on an empty composer opens the help, Esc closes it", async () => {
    const app = await setup({ status: "running" });
    await app.press("?");
    expect(app.frame()).toContain("Keys");
    expect(app.frame()).toContain("Commands");
    await app.press(ESC);
    expect(app.frame()).not.toContain("Keys");
    // The Esc that closed the help did not cancel the running turn.
    expect(app.fake.names()).toEqual([]);
  });

  it("? in a non-empty composer is text", async () => {
    const app = await setup();
    await app.press("a", "?");
    expect(app.frame()).toContain("› a?");
    expect(app.frame()).not.toContain("Keys");
    await app.press(ENTER);
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "a?" }] } }]);
  });

  it(":help opens the help too", async () => {
    const app = await setup();
    await app.enter(":help");
    expect(app.frame()).toContain("Keys");
    await app.press("?");
    expect(app.frame()).not.toContain("Keys");
    expect(app.fake.names()).toEqual([]);
  });
});

describe("App: commands", () => {
  it(":compact sends compact", async () => {
    const app = await setup();
    await app.enter(":compact");
    expect(app.fake.sent).toEqual([{ method: "compact" }]);
    expect(app.statusLine()).toContain("compacting…");
  });

  it("shows a refused command as a note", async () => {
    const app = await setup();
    app.fake.answer("compact", new PodRequestError("invalid_request", "compact needs an idle pod"));
    await app.enter(":compact");
    expect(app.fake.names()).toEqual(["compact"]);
    expect(app.statusLine()).toContain("compact: compact needs an idle pod");
  });

  it(":notify sends the rest of the line as the message", async () => {
    const app = await setup();
    await app.enter(":notify hello there");
    expect(app.fake.sent).toEqual([{ method: "notify", params: { message: "hello there" } }]);
    expect(app.statusLine()).toContain("notification queued");

    await app.enter(":notify");
    expect(app.fake.names()).toEqual(["notify"]);
    expect(app.statusLine()).toContain("usage: :notify <text>");
  });

  it(":stop asks first and only y shuts the pod down", async () => {
    const app = await setup();
    await app.enter(":stop");
    expect(app.frame()).toContain("Stop pod main?");
    await app.press("n");
    expect(app.frame()).not.toContain("Stop pod");
    expect(app.fake.names()).toEqual([]);

    await app.enter(":stop");
    expect(app.frame()).toContain("Stop pod main?");
    await app.press(ESC);
    expect(app.frame()).not.toContain("Stop pod");
    expect(app.fake.names()).toEqual([]);

    await app.enter(":stop");
    await app.press("x");
    expect(app.frame()).toContain("Stop pod main?");
    expect(app.frame()).not.toContain("› x");
    await app.press("y");
    expect(app.frame()).not.toContain("Stop pod");
    expect(app.fake.sent).toEqual([{ method: "shutdown" }]);
    expect(app.statusLine()).toContain("stopping the pod…");
  });

  it("text that is not command-shaped is a message: `:)`, `/ `, paths, a multi-line draft", async () => {
    const app = await setup();
    const messages = [":)", "/ ", "/usr/bin is a path?", "/usr/bin/x", "/Users/me", " /model as a message", ":compact\nplease"];
    for (const message of messages) {
      await app.press(...message.split("\n").flatMap((line, index) => (index === 0 ? [line] : ["\n", line])), ENTER);
      await app.push(status("running"), status("idle"));
    }
    expect(app.fake.sent).toEqual(messages.map((content) => ({ method: "run", params: { input: [{ kind: "text", content }] } })));
    await app.enter(":compact");
    expect(app.fake.names().at(-1)).toBe("compact");
  });

  it("the commands work with / as with :", async () => {
    const app = await setup();
    await app.enter("/compact");
    await app.enter("/notify hello there");
    expect(app.fake.sent).toEqual([{ method: "compact" }, { method: "notify", params: { message: "hello there" } }]);
    await app.enter("/notify");
    expect(app.statusLine()).toContain("usage: /notify <text>");
    await app.enter("/help");
    expect(app.frame()).toContain("Commands");
    await app.press(ESC);
    await app.enter("/stop");
    expect(app.frame()).toContain("Stop pod main?");
    await app.press("n");
    app.fake.answer("list_rewind_targets", { event: "rewind_targets", data: { head_entries: 1, targets: [] } });
    await app.enter("/rewind");
    expect(app.fake.names()).toEqual(["compact", "notify", "list_rewind_targets"]);
  });

  it("an unknown command (:model, /model, /foo) is refused with the known ones and not sent", async () => {
    const app = await setup();
    for (const line of [":model gpt-5", "/model", "/foo"]) {
      await app.enter(line);
      const prefix = line[0] ?? "";
      const name = line.slice(1).split(" ")[0] ?? "";
      expect(app.statusLine()).toContain(`unknown command ${prefix}${name}, not sent`);
      expect(app.frame()).toContain(`unknown command ${prefix}${name}, not sent to the model. Commands:`);
      expect(app.frame()).toContain(`${prefix}compact ${prefix}rewind ${prefix}notify`);
    }
    expect(app.fake.names()).toEqual([]);
  });

  it(":rewind picks a target, sends rewind_to and puts the rewound input back into the composer", async () => {
    const entries = [userInput("first input", 1), assistant("first answer", 2), userInput("second input", 3), assistant("second answer", 4)];
    const app = await setup({ entries });
    const targets = [
      { id: { segment_id: SEG, user_input_entry_index: 1 }, expected_head_entries: 5, truncate_entries: 0, turn_index: 0, timestamp_ms: TS + 1, preview: "first input", eligible: true },
      { id: { segment_id: SEG, user_input_entry_index: 3 }, expected_head_entries: 5, truncate_entries: 2, turn_index: 1, timestamp_ms: TS + 3, preview: "second input", eligible: true },
    ];
    app.fake.answer("list_rewind_targets", { event: "rewind_targets", data: { head_entries: 5, targets } });

    await app.enter(":rewind");
    expect(app.fake.sent).toEqual([{ method: "list_rewind_targets" }]);
    expect(app.frame()).toContain("Rewind to before which input?");
    expect(app.frame()).toContain("› 2. second input");
    expect(app.frame()).toMatch(/ {2}1\. first input/);

    await app.press(UP);
    expect(app.frame()).toContain("› 1. first input");
    await app.press(ENTER);
    expect(app.fake.sent.at(-1)).toEqual({ method: "rewind_to", params: { target: targets[0]?.id, expected_head_entries: 5 } });
    expect(app.frame()).not.toContain("Rewind to before which input?");

    await app.push({
      event: "rewind_applied",
      data: {
        entries: [{ kind: "segment_start", ts: TS, segment_id: "seg-main", session_id: "ses-main", pod_name: "main" }],
        input: [{ kind: "text", content: "first input " }, { kind: "file_ref", path: "a.ts" }],
        summary: { truncated_to_entries: 1, discarded_entries: 4, tool_side_effect_warning: true },
      },
    });
    expect(app.frame()).not.toContain("second answer");
    expect(app.frame()).not.toContain("first answer");
    expect(app.frame()).toContain("› first input @a.ts");
    expect(app.statusLine()).toContain("rewound 4 entries (kept 1); tool side effects were not undone");
    expect(app.fake.names()).toEqual(["list_rewind_targets", "rewind_to"]);

    // The input is editable and sent as typed.
    await app.press("!", ENTER);
    expect(app.fake.sent.at(-1)).toEqual({ method: "run", params: { input: [{ kind: "text", content: "first input @a.ts!" }] } });
  });

  it(":rewind closes with Esc without sending rewind_to, and shows a refused list as a note", async () => {
    const app = await setup({ entries: [userInput("only input", 1)] });
    app.fake.answer("list_rewind_targets", {
      event: "rewind_targets",
      data: { head_entries: 2, targets: [{ id: { segment_id: SEG, user_input_entry_index: 1 }, expected_head_entries: 2, truncate_entries: 0, turn_index: 0, timestamp_ms: TS + 1, preview: "only input", eligible: true }] },
    });
    await app.enter(":rewind");
    expect(app.frame()).toContain("1. only input");
    await app.press(ESC);
    expect(app.frame()).not.toContain("Rewind to before");
    expect(app.fake.names()).toEqual(["list_rewind_targets"]);

    app.fake.answer("list_rewind_targets", new PodRequestError("invalid_request", "not while running"));
    await app.enter(":rewind");
    expect(app.frame()).not.toContain("Rewind to before");
    expect(app.statusLine()).toContain("rewind: not while running");
  });
});

describe("App: the pods pane", () => {
  const pods = [
    { name: "main", status: "idle" },
    { name: "kid-a", socket: KID_SOCKET, status: "running", alive: true, parent: "main" },
    { name: "kid-b", socket: "/run/podd/kid-b/sock", status: "stopped", alive: false, parent: "main" },
  ];

  it("Ctrl-P lists the children, Enter attaches to one and :back returns", async () => {
    const app = await setup({ entries: [userInput("main's question", 1)] });
    app.fake.answer("list_visible_pods", { event: "visible_pods", data: { pods } });

    await app.press(CTRL_P);
    expect(app.fake.sent).toEqual([{ method: "list_visible_pods" }]);
    expect(app.frame()).toContain("Pods under main");
    expect(app.frame()).toMatch(/ {2}kid-a {2}running/);
    expect(app.frame()).toMatch(/› kid-b {2}stopped/);
    expect(app.frame()).not.toMatch(/[›\s]main {2}idle/);

    await app.press(UP, ENTER);
    expect(app.fake.switches).toEqual([KID_SOCKET]);
    expect(app.frame()).not.toContain("Pods under main");
    expect(app.frame()).not.toContain("main's question");
    expect(app.statusLine()).toContain("connecting…");
    expect(app.statusLine()).toContain("child of 1 · :back");

    await app.setState({ kind: "connected" });
    await app.push(snapshot({ pod: "kid-a", status: "running", entries: [userInput("kid's task", 1)] }));
    expect(app.frame()).toContain("› kid's task");
    expect(app.statusLine()).toContain("kid-a · claude-test · running");

    await app.enter(":back");
    expect(app.fake.switches).toEqual([KID_SOCKET, MAIN_SOCKET]);
    expect(app.frame()).not.toContain("kid's task");
    expect(app.statusLine()).not.toContain("child of");
    await app.setState({ kind: "connected" });
    await app.push(snapshot({ entries: [userInput("main's question", 1)] }));
    expect(app.frame()).toContain("› main's question");
    expect(app.fake.names()).toEqual(["list_visible_pods"]);
  });

  it("offers the way back in a child's pane, and :back on the root is a note", async () => {
    const app = await setup();
    await app.enter(":back");
    expect(app.statusLine()).toContain("not attached to a child");
    expect(app.fake.switches).toEqual([]);

    app.fake.answer("list_visible_pods", { event: "visible_pods", data: { pods } });
    await app.press(CTRL_P, UP, ENTER);
    expect(app.fake.switches).toEqual([KID_SOCKET]);
    await app.setState({ kind: "connected" });
    await app.push(snapshot({ pod: "kid-a" }));

    app.fake.answer("list_visible_pods", { event: "visible_pods", data: { pods: [{ name: "kid-a", status: "idle" }] } });
    await app.press(CTRL_P);
    expect(app.frame()).toContain("Pods under kid-a");
    expect(app.frame()).toContain(`› ↩ back to the parent  ${MAIN_SOCKET}`);
    await app.press(ENTER);
    expect(app.fake.switches).toEqual([KID_SOCKET, MAIN_SOCKET]);
    expect(app.statusLine()).not.toContain("child of");
  });

  it("Esc closes the pane without switching", async () => {
    const app = await setup();
    app.fake.answer("list_visible_pods", { event: "visible_pods", data: { pods } });
    await app.press(CTRL_P);
    expect(app.frame()).toContain("Pods under main");
    await app.press(ESC);
    expect(app.frame()).not.toContain("Pods under main");
    expect(app.fake.switches).toEqual([]);
    expect(app.fake.names()).toEqual(["list_visible_pods"]);
  });
});

describe("App: scrolling", () => {
  it("PgUp scrolls the transcript back and PgDn returns", async () => {
    const entries = Array.from({ length: 40 }, (_, index) => userInput(`message ${String(index + 1).padStart(2, "0")}`, index + 1));
    const app = await setup({ entries });
    const shown = () => [...app.frame().matchAll(/› message (\d\d)/g)].map((match) => Number(match[1]));
    const bottom = app.frame();
    const before = shown();
    expect(before).toContain(40);
    expect(before).not.toContain(1);

    await app.press(PAGE_UP);
    const scrolled = shown();
    expect(scrolled).not.toContain(40);
    expect(Math.min(...scrolled)).toBeLessThan(Math.min(...before));

    await app.press(PAGE_DOWN);
    expect(shown()).toEqual(before);
    expect(app.frame()).toBe(bottom);
    expect(app.fake.names()).toEqual([]);
  });
});

describe("App: new output while scrolled up", () => {
  const textDone = (text: string): Event => ({ event: "text_done", data: { text } });

  it("keeps the window on what the user reads, marks new output below, and PgDn reaches it", async () => {
    const entries = Array.from({ length: 40 }, (_, index) => userInput(`message ${String(index + 1).padStart(2, "0")}`, index + 1));
    const app = await setup({ entries, status: "running" });
    const shown = () => [...app.frame().matchAll(/› message (\d\d)/g)].map((match) => Number(match[1]));
    expect(app.frame()).not.toContain("↓");

    await app.press(PAGE_UP);
    const reading = shown();
    expect(app.frame()).toMatch(/↓ \d+ lines more below · PgDn|↓ \d+ lines? more below/);
    expect(app.frame()).not.toContain("new output below");

    await app.push(textDone("a new answer line"), textDone("and another one"));
    // The window did not move: the same messages are on screen, the answer is below it.
    expect(shown()).toEqual(reading);
    expect(app.frame()).not.toContain("a new answer line");
    expect(app.frame()).toContain("↓ new output below (4 lines) · PgDn");

    for (let press = 0; press < 10 && app.frame().includes("↓"); press += 1) await app.press(PAGE_DOWN);
    expect(app.frame()).not.toContain("↓");
    expect(app.frame()).toContain("a new answer line");
    expect(app.frame()).toContain("and another one");
  });

  it("at the bottom the transcript follows the output, with no marker", async () => {
    const app = await setup({ entries: [userInput("question", 1)], status: "running" });
    await app.push(textDone("the answer"));
    expect(app.frame()).toContain("the answer");
    expect(app.frame()).not.toContain("↓");
  });

  it("sending a message while scrolled up returns to the bottom", async () => {
    const entries = Array.from({ length: 40 }, (_, index) => userInput(`message ${String(index + 1).padStart(2, "0")}`, index + 1));
    const app = await setup({ entries });
    await app.press(PAGE_UP);
    expect(app.frame()).toContain("more below");
    await app.enter("next question");
    expect(app.frame()).not.toContain("more below");
    expect(app.frame()).toContain("› message 40");
  });
});

describe("App: the embedded demo model", () => {
  it("says so in the status line and, under the history, how to use a real model", async () => {
    const app = await setup({ provider: "scripted", entries: [userInput("hi", 1)] });
    expect(app.statusLine()).toContain("main · embedded demo model · idle");
    const notice = app.frame().replace(/\s+/g, " ");
    expect(notice).toContain("this pod runs the embedded demo model: it plays a fixed script and does not read what you type.");
    expect(notice).toContain("podd stop main, then podd start main --model anthropic:<model>");
  });

  it("a pod on a real provider shows its model and no such notice", async () => {
    const app = await setup();
    expect(app.statusLine()).toContain("main · claude-test · idle");
    expect(app.frame()).not.toContain("demo model");
  });
});

describe("App: the saved input history", () => {
  it("brings back the pod's saved inputs with ↑ and saves each input sent, commands too", async () => {
    const appended: string[] = [];
    const asked: string[] = [];
    const store = (podName: string) => {
      asked.push(podName);
      return { read: () => ["saved first", "saved second"], append: async (text: string) => void appended.push(text) };
    };
    const app = await setup({}, { inputHistory: store });
    expect(asked).toEqual(["main"]);
    await app.press(UP);
    expect(app.frame()).toContain("› saved second");
    await app.press(UP);
    expect(app.frame()).toContain("› saved first");
    await app.press(ENTER);
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "saved first" }] } }]);
    await app.enter(":compact");
    expect(appended).toEqual(["saved first", ":compact"]);
  });
});

describe("App: the help at 80 columns", () => {
  it("fits the terminal's width and scrolls to its last line", async () => {
    const app = await setup();
    Object.defineProperty(app.instance.stdout, "columns", { get: () => 80, configurable: true });
    app.instance.stdout.emit("resize");
    await settle();
    await app.press("?");
    const widths = app.frame().split("\n").map((line) => visibleWidth(line));
    expect(Math.max(...widths)).toBeLessThanOrEqual(80);
    expect(app.frame()).toContain("Keys");
    expect(app.frame()).toMatch(/↓ \d+ more lines \(↓ \/ PgDn\)/);
    expect(app.frame()).not.toContain("Quitting or detaching");

    await app.press(PAGE_DOWN, PAGE_DOWN);
    expect(app.frame()).toContain("Quitting or detaching leaves the pod running.");
    expect(app.frame()).not.toContain("Keys");
    expect(Math.max(...app.frame().split("\n").map((line) => visibleWidth(line)))).toBeLessThanOrEqual(80);
    await app.press(ESC);
    expect(app.frame()).not.toContain("Quitting or detaching");
    expect(app.fake.names()).toEqual([]);
  });
});

describe("App: scrolling past the top", () => {
  it("stops at the first line: after many PgUp one PgDn moves down again", async () => {
    const entries = Array.from({ length: 40 }, (_, index) => userInput(`message ${String(index + 1).padStart(2, "0")}`, index + 1));
    const app = await setup({ entries });
    const shown = () => [...app.frame().matchAll(/› message (\d\d)/g)].map((match) => Number(match[1]));
    for (let press = 0; press < 20; press += 1) await app.press(PAGE_UP);
    const top = shown();
    expect(top).toContain(1);
    await app.press(PAGE_DOWN);
    expect(shown()).not.toEqual(top);
    expect(Math.max(...shown())).toBeGreaterThan(Math.max(...top));
  });
});

describe("App: connection states", () => {
  it("shows reconnecting and reseeds from the new snapshot", async () => {
    const app = await setup({ entries: [userInput("before the restart", 1)] });
    expect(app.frame()).toContain("› before the restart");

    await app.setState({ kind: "reconnecting", attempt: 2, retryAtMs: Date.now() + 4_000, reason: "the pod closed the connection" });
    // (the status line's clock ticks once a second, so the countdown may read a second more)
    expect(app.statusLine()).toMatch(/reconnecting in [45]s \(attempt 2\)/);
    expect(app.frame()).toContain("› before the restart");

    await app.setState({ kind: "connected" });
    await app.push(snapshot({ entries: [userInput("after the restart", 1)] }));
    expect(app.statusLine()).not.toContain("reconnecting");
    expect(app.frame()).toContain("› after the restart");
    expect(app.frame()).not.toContain("before the restart");
    expect(app.fake.names()).toEqual([]);
  });

  it("keeps the queue while reconnecting and sends it once connected to an idle pod", async () => {
    const app = await setup({ status: "running" });
    await app.enter("survive the restart");
    await app.setState({ kind: "reconnecting", attempt: 1, retryAtMs: Date.now() + 250, reason: "gone" });
    await app.push(status("idle"));
    expect(app.fake.names()).toEqual([]);
    await app.setState({ kind: "connected" });
    await app.push(snapshot());
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "survive the restart" }] } }]);
  });
});

describe("App: a pod stopped on purpose", () => {
  /** A restart the test finishes: `restarts` records the names, `finish` settles the latest. */
  function fakeRestart() {
    const restarts: string[] = [];
    let settle: { resolve(): void; reject(error: Error): void } | undefined;
    const restartPod = (name: string) =>
      new Promise<void>((resolve, reject) => {
        restarts.push(name);
        settle = { resolve, reject };
      });
    return { restarts, restartPod, finish: (error?: Error) => (error ? settle?.reject(error) : settle?.resolve()) };
  }

  it("says the pod stopped, does not reconnect, and r restarts it and reconnects", async () => {
    const restart = fakeRestart();
    const app = await setup({ entries: [userInput("before the stop", 1)] }, { restartPod: restart.restartPod });
    await app.push({ event: "shutdown" });
    await app.setState({ kind: "stopped" });
    expect(app.frame()).toContain("pod main stopped");
    expect(app.frame()).toContain("r restart it · q quit");
    expect(app.statusLine()).toContain("main · claude-test · stopped");
    expect(app.statusLine()).not.toContain("reconnecting");
    expect(app.frame()).toContain("› before the stop");

    // Typed keys are not text for the composer meanwhile.
    await app.press("x");
    expect(app.frame()).not.toContain("› x");

    await app.press("r");
    expect(restart.restarts).toEqual(["main"]);
    expect(app.frame()).toContain("restarting: podd start main");
    await app.press("r");
    expect(restart.restarts).toEqual(["main"]);
    expect(app.fake.reconnects).toBe(0);
    restart.finish();
    await app.push();
    expect(app.fake.reconnects).toBe(1);

    await app.setState({ kind: "connected" });
    await app.push(snapshot({ entries: [userInput("before the stop", 1)] }));
    expect(app.frame()).not.toContain("pod main stopped");
    expect(app.statusLine()).toContain("main · claude-test · idle");
    await app.enter("hello again");
    expect(app.fake.sent).toEqual([{ method: "run", params: { input: [{ kind: "text", content: "hello again" }] } }]);
    expect(app.fake.stopped).toBe(0);
  });

  it("shows a failed restart and lets r try again", async () => {
    const restart = fakeRestart();
    const app = await setup({}, { restartPod: restart.restartPod });
    await app.setState({ kind: "stopped" });
    await app.press("r");
    restart.finish(new Error("pod main is already running"));
    await app.push();
    expect(app.frame()).toContain("restart failed: pod main is already running");
    expect(app.frame()).toContain("r restart it");
    expect(app.fake.reconnects).toBe(0);
    await app.press("r");
    expect(restart.restarts).toEqual(["main", "main"]);
  });

  it("q quits (and Ctrl-D, Ctrl-C do at once), the pod stays stopped", async () => {
    for (const key of ["q", CTRL_D, CTRL_C]) {
      const app = await setup();
      await app.setState({ kind: "stopped" });
      await app.press(key);
      expect(app.fake.stopped).toBe(1);
      expect(app.fake.names()).toEqual([]);
      cleanup();
    }
  });

  it("closes an open overlay, and a pod started again by someone else is simply attached to", async () => {
    const app = await setup();
    await app.enter(":help");
    expect(app.frame()).toContain("Commands");
    await app.setState({ kind: "stopped" });
    expect(app.frame()).not.toContain("Commands");
    expect(app.frame()).toContain("pod main stopped");
    await app.setState({ kind: "connected" });
    await app.push(snapshot());
    expect(app.frame()).not.toContain("stopped");
  });

  it("a crash is not a stop: it shows reconnecting and no restart offer", async () => {
    const app = await setup();
    await app.setState({ kind: "reconnecting", attempt: 1, retryAtMs: Date.now() + 250, reason: "the pod closed the connection" });
    expect(app.frame()).not.toContain("stopped");
    expect(app.frame()).not.toContain("r restart");
  });
});
