/**
 * The terminal UI in a real terminal (tmux): attach to a pod on the embedded scripted model,
 * type a message, see the streamed answer and a tool block, pause and resume a turn, crash
 * the pod and see the TUI reconnect and reseed after it is started again, then detach. A pod
 * stopped on purpose (`podd stop`) is "stopped": `r` restarts it with `podd start`. CI installs
 * tmux (.ci/run).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { CLI_ENTRY, cleanupAll, type PodProcess, startPod, tempHome } from "../helpers/pod-process.js";
import { hasTmux, TmuxSession } from "../helpers/tmux.js";

const sessions: TmuxSession[] = [];
/** Pods started by `podd start` (daemonised, so not the helpers' children): stopped after each test. */
const afterStop: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.kill();
  for (const stop of afterStop.splice(0)) await stop();
  await cleanupAll();
});

function attach(pod: PodProcess, home: ReturnType<typeof tempHome>, size: { width: number; height: number } = { width: 100, height: 30 }): TmuxSession {
  const session = TmuxSession.start([process.execPath, CLI_ENTRY, "attach", pod.name], {
    env: { PODD_HOME: home.home, PODD_RUNTIME_DIR: home.runtime, NO_COLOR: undefined },
    ...size,
  });
  sessions.push(session);
  return session;
}

describe.skipIf(!hasTmux())("podd attach in a real terminal", () => {
  it("sends a message, streams the answer with a tool block, pauses and resumes, reconnects after a restart, detaches", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "release");
    fs.writeFileSync(path.join(home.home, "notes.txt"), "hello from a file\n");
    const scenario = script()
      .text("Let me look at the directory.")
      .toolCall("list_files", {})
      .finish()
      .text("The directory holds notes.txt and more.")
      .finish()
      .text("Starting the long part", { gate })
      .finish()
      .text("Resumed and finished the long part.")
      .finish()
      .build();
    let pod = await startPod({ home, name: "tuipod", scenario });
    const tui = attach(pod, home);
    await tui.waitFor("tuipod");
    await tui.waitFor(/idle/);

    tui.type("What is here?");
    tui.keys("Enter");
    await tui.waitFor("What is here?");
    await tui.waitFor("list_files");
    await tui.waitFor("The directory holds notes.txt and more.");
    await tui.waitFor(/idle/);

    // A long turn: pause it with Ctrl-C, resume with Enter on the empty composer.
    tui.type("Do the long part");
    tui.keys("Enter");
    await tui.waitFor("Starting the long part");
    tui.keys("C-c");
    await tui.waitFor(/paused/);
    fs.writeFileSync(gate, "");
    tui.keys("Enter");
    await tui.waitFor("Resumed and finished the long part.");
    await tui.waitFor(/idle/);

    // Crash the pod (a kill sends no `shutdown`): the TUI shows the lost connection, reconnects
    // once the pod is started again and reseeds from the new snapshot.
    pod.child.kill("SIGKILL");
    await pod.exited;
    await tui.waitFor(/reconnecting|disconnected/);
    expect(tui.screen()).not.toContain("stopped");
    pod = await startPod({ home, name: "tuipod", scenario: script().text("after restart").finish().build() });
    const reconnected = await tui.waitFor((screen) => /idle/.test(screen) && !/reconnecting/.test(screen), 15_000);
    expect(reconnected).toContain("Resumed and finished the long part.");

    tui.keys("C-d");
    await tui.waitForExit();
    // Detaching leaves the pod running.
    const client = await pod.connect();
    await expect(client.waitFor("snapshot")).resolves.toMatchObject({ data: { status: "idle" } });
    client.destroy();
  }, 60_000);
});

/** Run the podd CLI in `home`; resolves with its exit code and output. */
function podd(home: ReturnType<typeof tempHome>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_ENTRY, ...args], { env: home.env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!hasTmux())("podd attach: a pod stopped on purpose", () => {
  it("says the pod stopped after `podd stop` (no reconnect loop), and r restarts it with podd start and reconnects", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "stoppod", scenario: script().text("you said {{last_user_text}}").finish().build() });
    const tui = attach(pod, home, { width: 80, height: 24 });
    await tui.waitFor(/stoppod.*idle/);
    tui.type("hello");
    tui.keys("Enter");
    await tui.waitFor("you said hello");

    const stopped = await podd(home, "stop", "stoppod");
    expect(stopped.code).toBe(0);
    const screen = await tui.waitFor("pod stoppod stopped");
    expect(screen).toContain("r restart it · q quit");
    expect(screen).not.toMatch(/reconnecting/);

    // The restarted pod is daemonised by `podd start`: stop it at the end whatever happens.
    afterStop.push(() => podd(home, "stop", "stoppod"));
    tui.keys("r");
    const back = await tui.waitFor((text) => /stoppod.*idle/.test(text) && !text.includes("pod stoppod stopped"), 30_000);
    expect(back).toContain("you said hello");
    // (the restarted pod plays its scenario from the start)
    tui.type("again");
    tui.keys("Enter");
    await tui.waitFor("you said again");

    tui.keys("C-d");
    await tui.waitForExit();
  }, 60_000);
});

describe.skipIf(!hasTmux())("podd attach: a newcomer's 80×24 terminal", () => {
  it("says it is the demo model, marks new output below while scrolled up, fits the help in 80 columns, keeps the input history across a detach", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "release");
    const longAnswer = Array.from({ length: 40 }, (_, index) => `- item ${index + 1}`).join("\n");
    const scenario = script().text(longAnswer).finish().text("Working on it.").gate(gate).text("LATE LINE after the gate").finish().build();
    const pod = await startPod({ home, name: "newpod", scenario });
    let tui = attach(pod, home, { width: 80, height: 24 });
    await tui.waitFor(/newpod · embedded demo model · idle/);
    await tui.waitFor("this pod runs the embedded demo model");

    tui.type("first question");
    tui.keys("Enter");
    await tui.waitFor("item 40");
    await tui.waitFor(/idle/);
    tui.type("second question");
    tui.keys("Enter");
    await tui.waitFor("Working on it.");

    // Scrolled up, the window stays put and a marker says that output arrived below.
    tui.keys("PageUp");
    await tui.waitFor("more below · PgDn");
    fs.writeFileSync(gate, "");
    const marked = await tui.waitFor("new output below");
    expect(marked).not.toContain("LATE LINE");
    tui.keys("PageDown", "PageDown", "PageDown");
    const bottom = await tui.waitFor((screen) => screen.includes("LATE LINE after the gate") && !screen.includes("↓"));
    expect(bottom).toMatch(/idle/);

    // The help box is drawn whole inside 80 columns: both corners on its top and bottom border.
    tui.keys("?");
    const help = await tui.waitFor("Keys");
    expect(help).toMatch(/╭─+╮/);
    expect(help).toContain("more lines (↓ / PgDn)");
    tui.keys("PageDown", "PageDown");
    await tui.waitFor("Quitting or detaching leaves the pod running.");
    expect(tui.screen()).toMatch(/╰─+╯/);
    tui.keys("Escape");
    await tui.waitFor((screen) => !screen.includes("Quitting or detaching"));

    // The inputs are saved for the pod: after a detach, ↑ brings them back.
    tui.keys("C-d");
    await tui.waitForExit();
    const saved = JSON.parse(fs.readFileSync(path.join(home.home, "pods", "newpod", "input-history.json"), "utf8")) as { entries: string[] };
    expect(saved.entries).toEqual(["first question", "second question"]);
    tui = attach(pod, home, { width: 80, height: 24 });
    await tui.waitFor(/newpod · embedded demo model · idle/);
    tui.keys("Up", "Up");
    // (the first question is far above the window: only the composer can show it)
    await tui.waitFor("› first question");
    // (one key at a time: keys sent together reach the TUI as one chunk, where the app sees no Ctrl-D)
    tui.keys("C-u");
    await tui.waitFor((screen) => !screen.includes("› first question"));
    tui.keys("C-d");
    await tui.waitForExit();
  }, 60_000);
});
