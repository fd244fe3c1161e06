/**
 * The terminal UI in a real terminal (tmux): attach to a pod on the embedded scripted model,
 * type a message, see the streamed answer and a tool block, pause and resume a turn, restart
 * the pod and see the TUI reconnect and reseed, then detach. CI installs tmux (.ci/run).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { CLI_ENTRY, cleanupAll, type PodProcess, startPod, tempHome } from "../helpers/pod-process.js";
import { hasTmux, TmuxSession } from "../helpers/tmux.js";

const sessions: TmuxSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.kill();
  await cleanupAll();
});

function attach(pod: PodProcess, home: ReturnType<typeof tempHome>): TmuxSession {
  const session = TmuxSession.start([process.execPath, CLI_ENTRY, "attach", pod.name], {
    env: { PODD_HOME: home.home, PODD_RUNTIME_DIR: home.runtime, NO_COLOR: undefined },
    width: 100,
    height: 30,
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

    // Restart the pod: the TUI shows the lost connection, reconnects and reseeds from the new snapshot.
    await pod.stop();
    await tui.waitFor(/reconnecting|disconnected/);
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
