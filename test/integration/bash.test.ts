/**
 * The "Done when" for bash, on real pod processes with the scripted model: cancel,
 * pause and shutdown during a long command (`sleep 60` with a child process of its own) leave
 * no process behind, checked by pid (a zombie counts as gone), and the tool_result says it was
 * interrupted; `podd start --no-bash` leaves bash out of the greeting's tools. The test waits
 * for the command's pid files with fs.watch, never with sleeps.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { describeResult, isAlive, killCliProcesses, runCli, trackDaemon } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, runText, startPod, tempHome } from "../helpers/pod-process.js";
import { readPid, waitForFile } from "../helpers/wait-for-file.js";

// Daemonised pods first: one still writing its status.json would race the removal of its home.
afterEach(async () => {
  await killCliProcesses();
  await cleanupAll();
});


/**
 * A pod whose model calls bash with `sleep 60` that has a `sleep 60` child of its own; resolves
 * once both run, with their pids.
 */
async function podInLongBash() {
  const home = tempHome();
  const pids = path.join(home.home, "pids");
  fs.mkdirSync(pids);
  const record = (name: string, variable: string) => `echo ${variable} > ${pids}/${name}.tmp && mv ${pids}/${name}.tmp ${pids}/${name}`;
  const command = `${record("bash.pid", "$$")}; sleep 60 & ${record("child.pid", "$!")}; sleep 60`;
  const pod = await startPod({ home, scenario: script().toolCall("bash", { command }, { id: "call-1" }).finish().text("after").finish().build() });
  const client = await pod.connect();
  await client.waitFor("snapshot");
  client.send(runText("run the long command"));
  await waitForFile(path.join(pids, "child.pid"));
  const shell = readPid(path.join(pids, "bash.pid"));
  const child = readPid(path.join(pids, "child.pid"));
  expect(isAlive(shell)).toBe(true);
  expect(isAlive(child)).toBe(true);
  return { pod, client, shell, child };
}

describe("bash in a pod", () => {
  it("cancel during a long command: the tool_result says interrupted and no process is left", async () => {
    const { client, shell, child } = await podInLongBash();
    client.send({ method: "cancel" });
    const result = await client.waitFor("tool_result");
    expect(result.data.id).toBe("call-1");
    expect(result.data.is_error).toBe(true);
    expect(result.data.summary).toBe("interrupted (cancel)");
    expect(result.data.output).toMatch(/^interrupted \(cancel\)\n/);
    expect(isAlive(shell)).toBe(false);
    expect(isAlive(child)).toBe(false);
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
  });

  it("pause during a long command: the tool_result says interrupted and no process is left", async () => {
    const { client, shell, child } = await podInLongBash();
    client.send({ method: "pause" });
    const result = await client.waitFor("tool_result");
    expect(result.data.is_error).toBe(true);
    expect(result.data.summary).toBe("interrupted (pause)");
    expect(result.data.output).toMatch(/^interrupted \(pause\)\n/);
    expect(isAlive(shell)).toBe(false);
    expect(isAlive(child)).toBe(false);
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
  });

  it("shutdown during a long command: the pod exits and no process is left", async () => {
    const { pod, client, shell, child } = await podInLongBash();
    const results: unknown[] = [];
    client.onEvent((event) => {
      if (event.event === "tool_result") results.push(event.data);
    });
    client.send({ method: "shutdown" });
    const exit = await pod.exited;
    expect(exit.code).toBe(0);
    expect(results).toEqual([expect.objectContaining({ summary: "interrupted (shutdown)", is_error: true })]);
    expect(isAlive(shell)).toBe(false);
    expect(isAlive(child)).toBe(false);
  });
});

describe("podd start --no-bash", () => {
  it("the greeting's tools have no bash (and do have it without the flag)", async () => {
    const home = tempHome();
    const scenario = path.join(home.home, "scenario.json");
    fs.writeFileSync(scenario, JSON.stringify({ responses: [] }));
    const args = ["start", "nobash", "--json", "--no-bash", "--cwd", home.home, "--model", `scripted:${scenario}`];
    const started = await runCli(args, { env: home.env, cwd: home.home });
    if (started.code !== 0) throw new Error(describeResult(args, started));
    const { pid, socket } = JSON.parse(started.stdout) as { pid: number; socket: string };
    trackDaemon(pid);
    const client = await connectClient(socket);
    const { greeting } = (await client.waitFor("snapshot")).data;
    expect(greeting.tools).not.toContain("bash");
    expect(greeting.tools).toContain("grep");
    expect(greeting.tools).toContain("read_file");

    const withBash = await startPod();
    const other = await withBash.connect();
    expect((await other.waitFor("snapshot")).data.greeting.tools).toContain("bash");
  });
});
