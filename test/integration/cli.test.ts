/**
 * The `podd` command line against real daemonised pods: `node bin/podd …` (the compiled CLI)
 * with PODD_HOME / PODD_RUNTIME_DIR in a temp dir per test. Tests are independent and run
 * concurrently; every wait is on an event (process exit, output, socket events) bounded by a
 * timeout.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, it } from "vitest";
import { decodeEvent, type Event } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import { expectExit, isAlive, killCliProcesses, runCli, spawnCli, trackDaemon, waitForPidExit, runCliIn } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, names, REPO_ROOT, tempHome, writeScenario } from "../helpers/pod-process.js";

afterAll(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

const podd = runCliIn;

interface StartedPod {
  name: string;
  pid: number;
  socket: string;
  runtimeDir: string;
}

/** `podd start <name> --json --model scripted:<file>`; tracks the daemon for cleanup. */
async function startViaCli(home: Home, name: string, scenario: ScenarioInput = { responses: [] }, extraArgs: string[] = []): Promise<StartedPod> {
  const args = ["start", name, "--json", "--cwd", home.home, "--model", `scripted:${writeScenario(home, scenario)}`, ...extraArgs];
  const result = await podd(home, args);
  expectExit(result, 0, args);
  const started = JSON.parse(result.stdout) as { name: string; pid: number; socket: string };
  trackDaemon(started.pid);
  return { ...started, runtimeDir: path.join(home.runtime, name) };
}

function decodeLines(stdout: string): Event[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const decoded = decodeEvent(line);
      if (!decoded.ok) throw new Error(`not an event line: ${line} (${decoded.message})`);
      return decoded.value;
    });
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe.concurrent("podd start", () => {
  it("daemonises a pod and returns once its socket accepts connections", async ({ expect }) => {
    const home = tempHome();
    const scenarioFile = writeScenario(home, { responses: [] });
    const args = ["start", "alpha", "--cwd", home.home, "--model", `scripted:${scenarioFile}`];
    const result = await podd(home, args);
    expectExit(result, 0, args);
    const match = /^pod alpha started \(pid (\d+)\)\nsocket: (.+)\nsession: new session \S+ \(cwd .+\)\nmodel: scripted scenario .+\n$/.exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();
    const pid = Number(match?.[1]);
    trackDaemon(pid);
    const socket = match?.[2] as string;
    const runtimeDir = path.join(home.runtime, "alpha");
    expect(socket).toBe(path.join(runtimeDir, "sock"));
    expect(isAlive(pid)).toBe(true);

    const client = await connectClient(socket);
    const snapshot = await client.waitFor("snapshot");
    expect(snapshot.data.greeting.pod_name).toBe("alpha");
    expect(snapshot.data.status).toBe("idle");

    const status = JSON.parse(fs.readFileSync(path.join(runtimeDir, "status.json"), "utf8")) as { pid: number; socket: string };
    expect(status.pid).toBe(pid);
    expect(status.socket).toBe(socket);
    expect(mode(runtimeDir)).toBe(0o700);
    expect(mode(socket)).toBe(0o600);
  });

  it("--json prints {name, pid, socket, session, cwd, model}", async ({ expect }) => {
    const home = tempHome();
    const args = ["start", "beta", "--json", "--cwd", home.home, "--model", `scripted:${writeScenario(home, { responses: [] })}`];
    const result = await podd(home, args);
    expectExit(result, 0, args);
    const started = JSON.parse(result.stdout) as Record<string, unknown>;
    trackDaemon(started.pid as number);
    expect(Object.keys(started).sort()).toEqual(["cwd", "model", "name", "pid", "session", "socket"]);
    expect(started.name).toBe("beta");
    expect(started.socket).toBe(path.join(home.runtime, "beta", "sock"));
    expect(isAlive(started.pid as number)).toBe(true);
  });

  it("refuses a second pod with the name of a live one; the first keeps working", async ({ expect }) => {
    const home = tempHome();
    const first = await startViaCli(home, "twin", script().text("still here").finish().build());
    const args = ["start", "twin", "--cwd", home.home, "--model", `scripted:${writeScenario(home, { responses: [] })}`];
    const second = await podd(home, args);
    expectExit(second, 1, args);
    expect(second.stderr).toMatch(/already/);
    expect(second.stdout).toBe("");
    expect(isAlive(first.pid)).toBe(true);
    const send = await podd(home, ["send", "twin", "hello"]);
    expectExit(send, 0);
    expect(send.stdout).toBe("still here\n");
    const status = JSON.parse(fs.readFileSync(path.join(first.runtimeDir, "status.json"), "utf8")) as { pid: number };
    expect(status.pid).toBe(first.pid);
  });

  it("reuses the runtime dir and socket left by a killed pod, which ls shows as dead", async ({ expect }) => {
    const home = tempHome();
    const killed = await startViaCli(home, "phoenix");
    process.kill(killed.pid, "SIGKILL");
    // Until init reaps the zombie, kill(pid, 0) still finds it (see the report on pod-directory's liveness check).
    expect(await waitForPidExit(killed.pid, { reaped: true })).toBe(true);
    expect(fs.existsSync(killed.socket)).toBe(true);

    // The three read the same state: run together (each is a process start).
    const [ls, lsJson, status] = await Promise.all([podd(home, ["ls"]), podd(home, ["ls", "--json"]), podd(home, ["status", "phoenix"])]);
    expectExit(ls, 0);
    expect(ls.stdout).toMatch(/^phoenix\s+dead\s/m);
    expect(JSON.parse(lsJson.stdout)).toEqual([expect.objectContaining({ name: "phoenix", state: "dead" })]);
    expectExit(status, 1);
    expect(status.stderr).toMatch(/not running/);

    const reborn = await startViaCli(home, "phoenix");
    expect(reborn.pid).not.toBe(killed.pid);
    expect(reborn.socket).toBe(killed.socket);
    const client = await connectClient(reborn.socket);
    expect((await client.waitFor("snapshot")).data.status).toBe("idle");
    const lsAgain = await podd(home, ["ls"]);
    expect(lsAgain.stdout).toMatch(new RegExp(`^phoenix\\s+idle\\s+${reborn.pid}\\s`, "m"));
  });

  it("refuses invalid names with exit 2 before creating anything", async ({ expect }) => {
    const home = tempHome();
    fs.mkdirSync(home.runtime, { recursive: true });
    const badNames = ["a/b", "..", "bad name", "x".repeat(65)];
    const results = await Promise.all(badNames.map((name) => podd(home, ["start", name, "--cwd", home.home])));
    results.forEach((result, index) => {
      expectExit(result, 2, ["start", badNames[index] as string]);
      expect(result.stderr).toMatch(/^podd: invalid pod name/);
      expect(result.stderr).toContain(JSON.stringify(badNames[index]));
    });
    expect(fs.readdirSync(home.runtime)).toEqual([]);
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
  });

  it("refuses a name whose socket path would pass 107 bytes, with exit 2", async ({ expect }) => {
    const home = tempHome();
    const runtime = path.join(home.home, "r".repeat(Math.max(1, 101 - home.home.length - 1)));
    expect(Buffer.byteLength(path.join(runtime, "p", "sock"))).toBeGreaterThan(107);
    fs.mkdirSync(runtime, { recursive: true });
    const result = await runCli(["start", "p", "--cwd", home.home], { env: { ...home.env, PODD_RUNTIME_DIR: runtime }, cwd: home.home });
    expectExit(result, 2);
    expect(result.stderr).toMatch(/socket path too long/);
    expect(result.stderr).toContain(path.join(runtime, "p", "sock"));
    expect(fs.readdirSync(runtime)).toEqual([]);
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
  });

  it("checks the model and its credentials before daemonising: exit 2, a clear message, nothing created", async ({ expect }) => {
    const home = tempHome();
    fs.mkdirSync(home.runtime, { recursive: true });
    const env = { ...home.env };
    delete env.ANTHROPIC_API_KEY;
    delete env.OPENAI_API_KEY;
    delete env.OPENAI_BASE_URL;
    const cases: [string[], RegExp][] = [
      [["--model", "anthropic:claude-sonnet-4-5"], /anthropic needs an API key: set ANTHROPIC_API_KEY/],
      [["--model", "openai:gpt-4.1"], /openai needs an API key: set OPENAI_API_KEY/],
      [["--model", "openai-compatible:llama3.1"], /openai-compatible needs the server's URL: --base-url/],
      [["--model", "gemini:pro"], /unknown model provider "gemini"/],
      [["--model", "fast"], /unknown model "fast"/],
    ];
    const results = await Promise.all(cases.map(([args], index) => runCli(["start", `m${index}`, "--cwd", home.home, ...args], { env, cwd: home.home })));
    results.forEach((result, index) => {
      const [args, message] = cases[index] as [string[], RegExp];
      expectExit(result, 2, args);
      expect(result.stderr).toMatch(message);
    });
    expect(fs.readdirSync(home.runtime)).toEqual([]);
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
  });

  it("exits 1 with the pod's own error for a bad scenario file", async ({ expect }) => {
    const home = tempHome();
    const invalid = path.join(home.home, "invalid.json");
    fs.writeFileSync(invalid, JSON.stringify({ responses: 5 }));
    const missing = path.join(home.home, "missing.json");
    const [invalidResult, missingResult] = await Promise.all([
      podd(home, ["start", "bad1", "--cwd", home.home, "--model", `scripted:${invalid}`]),
      podd(home, ["start", "bad2", "--cwd", home.home, "--model", `scripted:${missing}`]),
    ]);
    expectExit(invalidResult, 1);
    expect(invalidResult.stderr).toContain("cannot start pod bad1");
    expect(invalidResult.stderr).toContain(`invalid scenario ${invalid}`);
    expect(invalidResult.stderr).toMatch(/responses: .*expected array/);
    expectExit(missingResult, 1);
    expect(missingResult.stderr).toContain(`cannot read scenario ${missing}`);
    expect(missingResult.stderr).toMatch(/ENOENT/);
    expect(fs.existsSync(path.join(home.runtime, "bad1"))).toBe(false);
    expect(fs.existsSync(path.join(home.runtime, "bad2"))).toBe(false);
  });

  it("refuses names that start with - or . with exit 2 before creating anything", async ({ expect }) => {
    const home = tempHome();
    const cases = [
      ["--", "-x"],
      ["--", "-"],
      [".hidden"],
    ];
    const results = await Promise.all(cases.map((name) => podd(home, ["start", "--cwd", home.home, ...name])));
    results.forEach((result, index) => {
      const name = cases[index]?.at(-1) as string;
      expectExit(result, 2, ["start", name]);
      expect(result.stderr).toContain(`podd: invalid pod name ${JSON.stringify(name)}: pod name cannot start with ${name[0]}`);
    });
    expect(fs.existsSync(home.runtime)).toBe(false);
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
  });

  it("a pod that fails to start (bad scenario, bad flag) leaves no directory it did not find, and keeps the dir of a pod that ran before", async ({ expect }) => {
    const home = tempHome();
    const missing = path.join(home.home, "missing.json");
    const failed = await podd(home, ["start", "x", "--cwd", home.home, "--model", `scripted:${missing}`]);
    expectExit(failed, 1);
    expect(failed.stderr).toContain(`cannot read scenario ${missing}`);
    // Not even the parents it made: this home had no pods/ and no run/.
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
    expect(fs.existsSync(home.runtime)).toBe(false);

    const kept = await startViaCli(home, "kept");
    expectExit(await podd(home, ["stop", "kept"]), 0);
    const dataDir = path.join(home.home, "pods", "kept");
    const before = fs.readdirSync(dataDir).sort();
    expect(before).toContain("metadata.json");
    const again = await podd(home, ["start", "kept", "--model", `scripted:${missing}`]);
    expectExit(again, 1);
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
    expect(fs.existsSync(kept.runtimeDir)).toBe(false);

    // Bad flags are refused before anything is made.
    const flags = [
      ["--deny-tool", "rm *"],
      ["--cwd", path.join(home.home, "no-such-dir")],
    ];
    for (const flag of flags) {
      const flagged = await podd(home, ["start", "y", "--cwd", home.home, ...flag]);
      expectExit(flagged, 2, flag);
    }
    expect(fs.readdirSync(path.join(home.home, "pods"))).toEqual(["kept"]);
    expect(fs.existsSync(path.join(home.runtime, "y"))).toBe(false);
  });
});

describe.concurrent("podd send and notify", () => {
  it("send streams the assistant text to stdout and exits 0", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "talker", script().text("Hello there, friend.").finish().text("You said: {{last_user_text}}").finish().build());
    const first = await podd(home, ["send", "talker", "hello"]);
    expectExit(first, 0);
    expect(first.stdout).toBe("Hello there, friend.\n");
    const second = await podd(home, ["send", "talker", "second", "message"]);
    expectExit(second, 0);
    expect(second.stdout).toBe("You said: second message\n");
  });

  it("send --json prints event lines that decode, through run_end", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "jsonsend", script().text("one two three").finish().build());
    const result = await podd(home, ["send", "jsonsend", "--json", "hi"]);
    expectExit(result, 0);
    const events = decodeLines(result.stdout);
    const runEnd = names(events).indexOf("run_end");
    expect(runEnd, result.stdout).toBeGreaterThan(0);
    expect(events[runEnd]).toMatchObject({ event: "run_end", data: { result: "finished" } });
    // Nothing but the status that follows run_end may come after it.
    expect(names(events.slice(runEnd + 1)).every((name) => name === "status")).toBe(true);
    expect(names(events)).toContain("user_message");
    const text = events.flatMap((event) => (event.event === "text_delta" ? [event.data.text] : [])).join("");
    expect(text).toBe("one two three");
  });

  it("send exits 1 with the provider error on stderr when the model fails", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "failing", script().fail("boom").build());
    const result = await podd(home, ["send", "failing", "hello"]);
    expectExit(result, 1);
    expect(result.stderr).toMatch(/boom/);
  });

  it("notify wakes an idle pod into a notification turn", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "notified", script().text("noted").finish().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const result = await podd(home, ["notify", "notified", "text"]);
    expectExit(result, 0);
    expect((await client.waitFor("invoke_start")).data.kind).toBe("notify");
    const item = await client.waitFor("system_item");
    expect(item.data.item.kind).toBe("notification");
    expect(item.data.item.body).toContain("[Notification]\ntext");
    expect((await client.waitFor("run_end")).data.result).toBe("finished");
  });

  it("notify --no-wake queues without starting a turn; the next run drains it", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "sleeper", script().text("ok").finish().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const result = await podd(home, ["notify", "sleeper", "--no-wake", "queued", "note"]);
    expectExit(result, 0);
    // The notify was acknowledged before the CLI exited, so a woken turn would start before this run.
    await client.request({ method: "run", params: { input: [{ kind: "text", content: "go" }] } });
    const events = await client.collectUntil("run_end");
    expect(names(events)[0]).toBe("user_message");
    const invokes = events.filter((event) => event.event === "invoke_start");
    expect(invokes).toEqual([{ event: "invoke_start", data: { kind: "user_send" } }]);
    const drained = events.filter((event) => event.event === "system_item");
    expect(drained).toHaveLength(1);
    expect(drained[0]?.event === "system_item" && drained[0].data.item.body).toContain("[Notification]\nqueued note");
  });
});

describe.concurrent("podd pause, resume, cancel", () => {
  it("pauses a running turn, resumes it, cancels it", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "ctl", script().text("partial").hang().text("again").hang().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const send = spawnCli(["send", "ctl", "hello"], { env: home.env, cwd: home.home });
    await client.waitFor("text_done", { where: (event) => event.data.text === "partial" });

    const pause = await podd(home, ["pause", "ctl"]);
    expectExit(pause, 0, ["pause"]);
    expect(pause.stdout).toBe("paused\n");
    const again = await podd(home, ["pause", "ctl"]);
    expectExit(again, 0, ["pause", "ctl"]);
    expect(again.stdout).toBe("paused\n");
    const sent = await send.result;
    expectExit(sent, 3, ["send"]);
    expect(sent.stdout).toBe("partial\n");
    expect(sent.stderr).toMatch(/run paused/);

    // resume streams the resumed run like send, to its end (here: a cancel, exit 5).
    const resume = spawnCli(["resume", "ctl"], { env: home.env, cwd: home.home });
    await client.waitFor("text_done", { where: (event) => event.data.text === "again" });
    await resume.waitForOutput(/again/);
    const cancel = await podd(home, ["cancel", "ctl"]);
    expectExit(cancel, 0, ["cancel"]);
    expect(cancel.stdout).toBe("idle\n");
    expect((await client.waitFor("status", { where: (event) => event.data.status === "idle" })).data.status).toBe("idle");
    const resumed = await resume.result;
    expectExit(resumed, 5, ["resume"]);
    expect(resumed.stdout).toBe("again\n");
    expect(resumed.stderr).toMatch(/^podd: run cancelled$/m);
    expect(resumed.stderr).not.toMatch(/internal|error/i);
  });

  it("cancels a paused run: its open tool call is closed, the pod is idle, send sees the pause and resume is refused", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "parked", script().toolCall("list_files", {}, { id: "t1" }).hang().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const send = spawnCli(["send", "parked", "hello"], { env: home.env, cwd: home.home });
    await client.waitFor("tool_call_done");
    expectExit(await podd(home, ["pause", "parked"]), 0, ["pause"]);
    expectExit(await send.result, 3, ["send"]);
    const cancel = await podd(home, ["cancel", "parked"]);
    expectExit(cancel, 0, ["cancel", "parked"]);
    expect(cancel.stdout).toBe("idle\n");
    const closed = await client.waitFor("tool_result");
    expect(closed.data).toMatchObject({ id: "t1", is_error: true, summary: "[Interrupted by user]" });
    const resume = await podd(home, ["resume", "parked"]);
    expectExit(resume, 1, ["resume", "parked"]);
    expect(resume.stderr).toMatch(/not paused/);
  });

  it("refuses pause and cancel on an idle pod (not running) and resume (not paused) with exit 1", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "idler");
    // Bounded: a command that does not exit is killed (runCli's bound) and reported (see expectExit).
    const [pause, cancel, resume] = await Promise.all([
      podd(home, ["pause", "idler"]),
      podd(home, ["cancel", "idler"]),
      podd(home, ["resume", "idler"]),
    ]);
    expectExit(pause, 1, ["pause", "idler"]);
    expect(pause.stderr).toMatch(/not running/);
    expectExit(cancel, 1, ["cancel", "idler"]);
    expect(cancel.stderr).toMatch(/not running/);
    expectExit(resume, 1, ["resume", "idler"]);
    expect(resume.stderr).toMatch(/not paused/);
  });
});

describe.concurrent("podd send while a turn runs", () => {
  it("refuses a second send with exit 1 (already running); the first run goes on", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "busy", script().text("working").hang().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const first = spawnCli(["send", "busy", "first"], { env: home.env, cwd: home.home });
    await client.waitFor("text_done");
    const second = await podd(home, ["send", "busy", "second"]);
    expectExit(second, 1, ["send", "busy", "second"]);
    expect(second.stderr).toMatch(/already/);
    expect(second.stdout).toBe("");
    const cancel = await podd(home, ["cancel", "busy"]);
    expectExit(cancel, 0, ["cancel"]);
    const sent = await first.result;
    expectExit(sent, 5, ["send", "busy", "first"]);
    expect(sent.stdout).toBe("working\n");
    expect(sent.stderr).toMatch(/^podd: run cancelled$/m);
    expect(sent.stderr).not.toMatch(/internal|run ended: error/);
  });

  it("--queue waits for the busy pod's run to end, then sends and streams its own run", async ({ expect }) => {
    const home = tempHome();
    const gate = path.join(home.home, "gate");
    const pod = await startViaCli(home, "queued", script().text("working", { gate }).finish().text("then: {{last_user_text}}").finish().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const first = spawnCli(["send", "queued", "first"], { env: home.env, cwd: home.home });
    await client.waitFor("text_delta");
    const second = spawnCli(["send", "queued", "--queue", "second"], { env: home.env, cwd: home.home });
    await second.waitForOutput(/queued until its run ends/, "stderr");
    fs.writeFileSync(gate, "");
    const [one, two] = await Promise.all([first.result, second.result]);
    expectExit(one, 0, ["send", "first"]);
    expect(one.stdout).toBe("working\n");
    expectExit(two, 0, ["send", "--queue", "second"]);
    expect(two.stdout).toBe("then: second\n");
  });

  it("Ctrl-C asks the pod to cancel the run and streams to its end (exit 5)", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "interrupted", script().text("working").hang().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const send = spawnCli(["send", "interrupted", "go"], { env: home.env, cwd: home.home });
    await send.waitForOutput(/working/);
    send.child.kill("SIGINT");
    const result = await send.result;
    expectExit(result, 5, ["send"]);
    expect(result.stderr).toMatch(/cancelling the run/);
    expect(result.stderr).toMatch(/^podd: run cancelled$/m);
    expect((await client.waitFor("error")).data).toEqual({ code: "internal", message: "Cancelled" });
  });
});

describe.concurrent("podd send: input, retries, limits", () => {
  it("reads the message from stdin with `-`", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "piped", script().text("got: {{last_user_text}}").finish().build());
    const result = await podd(home, ["send", "piped", "-"], { input: "line one\nline two\n" });
    expectExit(result, 0, ["send", "-"]);
    expect(result.stdout).toBe("got: line one\nline two\n");
    const empty = await podd(home, ["send", "piped", "-"], { input: "  \n" });
    expectExit(empty, 2, ["send", "-", "(blank)"]);
    expect(empty.stderr).toMatch(/empty/);
  });

  it("shows each model retry on stderr, then the answer", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "retrier", script().retry({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }).fail("overloaded", { status: 529, retryable: true }).text("fine now").finish().build());
    const result = await podd(home, ["send", "retrier", "hi"]);
    expectExit(result, 0, ["send"]);
    expect(result.stdout).toBe("fine now\n");
    expect(result.stderr).toMatch(/^\[retry\] model call failed \(.*overloaded.*\); attempt 2 of 3 in \d+\.\d s$/m);
  });

  it("a run stopped by --max-turns exits 6 and says why", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(
      home,
      "looper",
      script().toolCall("list_files", {}).finish().toolCall("list_files", {}).finish().toolCall("list_files", {}).finish().build(),
      ["--max-turns", "2"],
    );
    expect(pod.socket).toBeTruthy();
    const result = await podd(home, ["send", "looper", "loop"]);
    expectExit(result, 6, ["send"]);
    expect(result.stderr).toMatch(/podd: run stopped: it reached the limit of model calls per run/);
  });
});

describe.concurrent("podd status, ls, stop, attach, logs, help, signals", () => {
  it("status shows the pod's state, model, cwd and tools; ls lists pods", async ({ expect }) => {
    const home = tempHome();
    const [one, two] = await Promise.all([
      startViaCli(home, "one", script().model("model-one").build()),
      startViaCli(home, "two", script().model("model-two").build()),
    ]);
    const status = await podd(home, ["status", "one"]);
    expectExit(status, 0);
    expect(status.stdout).toMatch(/^pod\s+one$/m);
    expect(status.stdout).toMatch(/^status\s+idle$/m);
    expect(status.stdout).toMatch(/^model\s+scripted:model-one$/m);
    expect(status.stdout).toMatch(new RegExp(`^cwd\\s+${fs.realpathSync(home.home)}$`, "m"));
    expect(status.stdout).toMatch(/^tools\s+.*read_file/m);
    expect(status.stdout).toMatch(new RegExp(`^pid\\s+${one.pid}$`, "m"));

    const ls = await podd(home, ["ls"]);
    expectExit(ls, 0);
    const rows = ls.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^NAME\s+STATUS\s+PID/);
    expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
      ["one", "idle", String(one.pid)],
      ["two", "idle", String(two.pid)],
    ]);
    const lsJson = await podd(home, ["ls", "--json"]);
    expectExit(lsJson, 0);
    const listed = JSON.parse(lsJson.stdout) as { name: string; state: string; pid: number; model: string }[];
    expect(listed.map(({ name, state, pid, model }) => ({ name, state, pid, model }))).toEqual([
      { name: "one", state: "alive", pid: one.pid, model: "model-one" },
      { name: "two", state: "alive", pid: two.pid, model: "model-two" },
    ]);
  });

  it("stop waits for the process to exit and removes the runtime dir; logs still prints the pod's log", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "stopper");
    expect(fs.existsSync(pod.runtimeDir)).toBe(true);
    const stop = await podd(home, ["stop", "stopper"]);
    expectExit(stop, 0);
    expect(stop.stdout).toBe("pod stopper stopped\n");
    expect(isAlive(pod.pid)).toBe(false);
    expect(fs.existsSync(pod.runtimeDir)).toBe(false);

    const again = await podd(home, ["stop", "stopper"]);
    expectExit(again, 1);
    expect(again.stderr).toMatch(/pod stopper is not running/);

    const logs = await podd(home, ["logs", "stopper", "--json"]);
    expectExit(logs, 0);
    const records = logs.stdout.trim().split("\n").map((line) => JSON.parse(line) as { msg: string; pod: string });
    expect(records.map((record) => record.msg)).toContain("pod ready");
    expect(records.map((record) => record.msg)).toContain("pod stopped");
    expect(records.every((record) => record.pod === "stopper")).toBe(true);
  });

  it("attach --json --until run_end bridges a run method from stdin and prints the snapshot, then the events", async ({ expect }) => {
    const home = tempHome();
    await startViaCli(home, "bridge", script().text("bridged reply").finish().build());
    const input = `${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "hi" }] } })}\n`;
    const result = await podd(home, ["attach", "bridge", "--json", "--until", "run_end"], { input });
    expectExit(result, 0);
    const events = decodeLines(result.stdout);
    expect(events[0]?.event).toBe("snapshot");
    const order = names(events);
    expect(order.indexOf("user_message")).toBeGreaterThan(0);
    expect(order.indexOf("run_end")).toBeGreaterThan(order.indexOf("text_done"));
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "bridged reply" } });
  });

  it("attach --json --until run_end also ends a run that fails or is cancelled: after its error and status lines", async ({ expect }) => {
    const home = tempHome();
    const input = `${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "hi" }] } })}\n`;
    await startViaCli(home, "failer", script().fail("boom").build());
    const failed = await podd(home, ["attach", "failer", "--json", "--until", "run_end"], { input, timeoutMs: 10_000 });
    expectExit(failed, 1, ["attach --until run_end", "failed run"]);
    expect(decodeLines(failed.stdout).slice(-2)).toEqual([
      { event: "error", data: { code: "provider_error", message: "boom" } },
      { event: "status", data: { status: "idle" } },
    ]);

    const pod = await startViaCli(home, "hanger", script().text("partial").hang().build());
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const bridge = spawnCli(["attach", "hanger", "--json", "--until", "run_end"], { env: home.env, cwd: home.home, input, timeoutMs: 10_000 });
    await client.waitFor("text_done");
    await client.request({ method: "cancel" });
    const cancelled = await bridge.result;
    expectExit(cancelled, 5, ["attach --until run_end", "cancelled run"]);
    expect(decodeLines(cancelled.stdout).slice(-2)).toEqual([
      { event: "error", data: { code: "internal", message: "Cancelled" } },
      { event: "status", data: { status: "idle" } },
    ]);
  });

  it("--help and start --help exit 0 and describe the commands and options", async ({ expect }) => {
    const home = tempHome();
    const [help, startHelp] = await Promise.all([podd(home, ["--help"]), podd(home, ["start", "--help"])]);
    expectExit(help, 0);
    for (const command of ["start", "send", "notify", "pause", "resume", "cancel", "stop", "status", "ls", "attach", "logs"]) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    }
    expect(help.stdout).toContain("PODD_HOME");
    expect(help.stdout).toContain("PODD_RUNTIME_DIR");
    expect(help.stdout).toMatch(/^ {2}OPENAI_COMPATIBLE_API_KEY +key for --model openai-compatible:<model>/m);
    expect(help.stdout).toMatch(/^ {2}OPENAI_API_KEY +key for --model openai:<model> \(never sent to an openai-compatible server\)$/m);
    // Every variable the help names is one the code reads.
    const source = ["src/config/paths.ts", "src/config/model-config.ts", "src/daemon.ts"].map((file) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8")).join("\n");
    const variables = [...(help.stdout.split("Environment:")[1] ?? "").matchAll(/^ {2}([A-Z_]+) /gm)].map((match) => match[1] as string);
    expect(variables.length).toBeGreaterThan(5);
    for (const variable of variables) expect(source, variable).toMatch(new RegExp(`\\b${variable}\\b`));
    expectExit(startHelp, 0);
    for (const option of ["--model", "--cwd", "--parent", "--max-turns", "--foreground", "--json"]) expect(startHelp.stdout).toContain(option);
  });

  it("a daemonised pod exits cleanly on SIGTERM and removes its runtime dir", async ({ expect }) => {
    const home = tempHome();
    const pod = await startViaCli(home, "termed");
    process.kill(pod.pid, "SIGTERM");
    expect(await waitForPidExit(pod.pid)).toBe(true);
    expect(fs.existsSync(pod.runtimeDir)).toBe(false);
    const log = fs.readFileSync(path.join(home.home, "pods", "termed", "pod.log"), "utf8");
    expect(log).toMatch(/"signal":"SIGTERM".*"msg":"signal: shutting down"/);
    expect(log).toContain('"msg":"pod stopped"');
  });

  it("a --foreground pod exits 0 on SIGTERM and removes its runtime dir", async ({ expect }) => {
    const home = tempHome();
    const args = ["start", "fore", "--foreground", "--cwd", home.home, "--model", `scripted:${writeScenario(home, { responses: [] })}`];
    const fore = spawnCli(args, { env: home.env, cwd: home.home });
    await fore.waitForOutput(/pod fore listening on /, "stderr");
    const status = JSON.parse(fs.readFileSync(path.join(home.runtime, "fore", "status.json"), "utf8")) as { pid: number };
    trackDaemon(status.pid);
    expect(fs.existsSync(path.join(home.runtime, "fore", "sock"))).toBe(true);
    fore.child.kill("SIGTERM");
    const result = await fore.result;
    expectExit(result, 0, args);
    expect(fs.existsSync(path.join(home.runtime, "fore"))).toBe(false);
  });
});
