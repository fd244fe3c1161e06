/**
 * Per-tool permission rules end to end: real pod processes (the compiled daemon, and `podd
 * start` through bin/podd) over real sockets, on scripted scenarios where the model calls a
 * tool the rules deny and then echoes the tool's output. Every wait is on an event (the
 * readiness pipe, process exit, socket events), never a sleep.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import { describeResult, killCliProcesses, runCli, trackDaemon } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, DAEMON_ENTRY, tempHome } from "../helpers/pod-process.js";

type Home = ReturnType<typeof tempHome>;
type Exit = { code: number | null; signal: NodeJS.Signals | null };
type Readiness = { ok: boolean; socket?: string; pid?: number; error?: string };

const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  }
  children.clear();
  // Daemonised pods first: one still writing its status.json would race the removal of its home.
  await killCliProcesses();
  await cleanupAll();
});

const SECRET = "TOP-SECRET-CONTENT-7f3a";
const KEPT = "kept-content-but-readable-91c2";

/** A temp home whose dir (the pods' cwd) holds `data.secret`, `keep.secret` and `plain.txt`. */
function homeWithFiles(): Home {
  const home = tempHome();
  fs.writeFileSync(path.join(home.home, "data.secret"), `${SECRET}\n`);
  fs.writeFileSync(path.join(home.home, "keep.secret"), `${KEPT}\n`);
  fs.writeFileSync(path.join(home.home, "plain.txt"), "plain\n");
  return home;
}

function writeConfig(home: Home, config: unknown): void {
  fs.writeFileSync(path.join(home.home, "config.json"), JSON.stringify(config));
}

let scenarioCounter = 0;
function writeScenario(home: Home, scenario: ScenarioInput): string {
  const file = path.join(home.home, `perm-scenario-${++scenarioCounter}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario));
  return file;
}

/** The model reads each path in turn and, after each, echoes what the tool returned. */
function readEach(...paths: string[]): ScenarioInput {
  const builder = script();
  paths.forEach((file, index) => builder.toolCall("read_file", { path: file }, { id: `t${index + 1}` }).finish().text(`after ${file}: {{last_tool_output}}`));
  return builder.finish().build();
}

/**
 * `node dist/src/daemon-main.js pod --cwd <home> --model scripted:<file> <extra…>` with the
 * readiness pipe on fd 3 (as test/helpers/pod-process.ts does, which has no way to pass the
 * tool-rule flags). Resolves once the pod reported ready or failed.
 */
async function spawnPod(home: Home, scenario: ScenarioInput, extra: string[]): Promise<{ ready: Readiness; exited: Promise<Exit>; stderr(): string }> {
  const args = [DAEMON_ENTRY, "pod", "--cwd", home.home, "--model", `scripted:${writeScenario(home, scenario)}`, ...extra];
  const child = spawn(process.execPath, args, { env: { ...home.env, PODD_READY_FD: "3", PODD_QUIET: "1" }, stdio: ["ignore", "ignore", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const ready = await new Promise<Readiness>((resolve) => {
    let text = "";
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      text += chunk;
      if (text.includes("\n")) resolve(JSON.parse(text.slice(0, text.indexOf("\n"))) as Readiness);
    });
    void exited.then(({ code, signal }) => resolve({ ok: false, error: `exited ${code ?? signal} before reporting` }));
  });
  return { ready, exited, stderr: () => stderr };
}

/** Start a pod with these extra daemon flags and connect a client that has seen the snapshot. */
async function podWith(home: Home, scenario: ScenarioInput, extra: string[]): Promise<PodClient> {
  const pod = await spawnPod(home, scenario, extra);
  if (!pod.ready.ok || !pod.ready.socket) throw new Error(`pod did not start: ${pod.ready.error}\n${pod.stderr()}`);
  const client = await connectClient(pod.ready.socket);
  await client.waitFor("snapshot");
  return client;
}

/** Send one user message and collect every event until the pod is idle again. */
function runToIdle(client: PodClient, content = "go"): Promise<Event[]> {
  client.send({ method: "run", params: { input: [{ kind: "text", content }] } });
  return client.collectUntil((event) => event.event === "status" && event.data.status === "idle");
}

function toolResults(events: Event[]) {
  return events.flatMap((event) => (event.event === "tool_result" ? [event.data] : []));
}
function alerts(events: Event[]) {
  return events.flatMap((event) => (event.event === "alert" ? [event.data] : []));
}
function texts(events: Event[]): string[] {
  return events.flatMap((event) => (event.event === "text_done" ? [event.data.text] : []));
}

const denial = (tool: string, argument: string, rule: string): string => `permission denied: ${tool} ${JSON.stringify(argument)} is denied by the rule ${rule}`;

describe("rules on the daemon's command line", () => {
  it("--deny-tool: the model's read_file gets an is_error `permission denied` result, an alert goes out, the model reads the denial, the file is never read", async () => {
    const home = homeWithFiles();
    const client = await podWith(home, readEach("data.secret"), ["--deny-tool", "read_file:*.secret"]);
    const events = await runToIdle(client);
    const message = denial("read_file", "data.secret", "deny read_file:*.secret");
    expect(toolResults(events)).toEqual([{ id: "t1", summary: message, output: message, is_error: true }]);
    const raised = alerts(events);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ level: "warn", source: "worker", message: `tool: ${message}` });
    expect(raised[0]?.message.startsWith("tool: permission denied")).toBe(true);
    expect(texts(events)).toEqual([`after data.secret: ${message}`]);
    expect(texts(events)[0]).toContain("permission denied");
    expect(JSON.stringify(events)).not.toContain(SECRET);
    // The alert comes before the model's next call, i.e. with the denied tool's result.
    const names = events.map((event) => event.event);
    expect(names.indexOf("alert")).toBeLessThan(names.indexOf("text_done"));
  });

  it("a path no rule matches is read as usual (the same pod, the same rules)", async () => {
    const home = homeWithFiles();
    const client = await podWith(home, readEach("plain.txt", "data.secret"), ["--deny-tool", "read_file:*.secret"]);
    const events = await runToIdle(client);
    const results = toolResults(events);
    expect(results.map((result) => result.is_error)).toEqual([false, true]);
    expect(results[0]?.output).toBe("1\tplain\n");
    expect(texts(events)).toEqual(["after plain.txt: 1\tplain\n", `after data.secret: ${denial("read_file", "data.secret", "deny read_file:*.secret")}`]);
    expect(alerts(events)).toHaveLength(1);
  });

  it("flags keep their order, --allow-tool and --deny-tool interleaved: the first match wins", async () => {
    const allowFirst = await podWith(homeWithFiles(), readEach("keep.secret", "data.secret"), [
      "--allow-tool", "read_file:keep.secret",
      "--deny-tool", "read_file:*.secret",
    ]);
    const allowed = toolResults(await runToIdle(allowFirst));
    expect(allowed.map((result) => result.is_error)).toEqual([false, true]);
    expect(allowed[0]?.output).toBe(`1\t${KEPT}\n`);
    expect(allowed[1]?.output).toBe(denial("read_file", "data.secret", "deny read_file:*.secret"));

    const denyFirst = await podWith(homeWithFiles(), readEach("keep.secret"), [
      "--deny-tool", "read_file:*.secret",
      "--allow-tool", "read_file:keep.secret",
    ]);
    const events = await runToIdle(denyFirst);
    expect(toolResults(events).map((result) => result.output)).toEqual([denial("read_file", "keep.secret", "deny read_file:*.secret")]);
    expect(JSON.stringify(events)).not.toContain(KEPT);
  });

  it("a bad --deny-tool rule: the pod does not start, exits 1, and the error quotes the rule", async () => {
    const pod = await spawnPod(homeWithFiles(), readEach("data.secret"), ["--deny-tool", "read file:x"]);
    expect(pod.ready.ok).toBe(false);
    expect(pod.ready.error).toContain('permission rule "read file:x"');
    expect((await pod.exited).code).toBe(1);
    expect(pod.stderr()).toContain('permission rule "read file:x"');
  });
});

describe("rules in <PODD_HOME>/config.json", () => {
  it("apply to the pod", async () => {
    const home = homeWithFiles();
    writeConfig(home, { profiles: {}, permissions: ["deny read_file:*.secret"] });
    const client = await podWith(home, readEach("data.secret", "plain.txt"), []);
    const events = await runToIdle(client);
    const message = denial("read_file", "data.secret", "deny read_file:*.secret");
    expect(toolResults(events).map((result) => [result.is_error, result.output])).toEqual([
      [true, message],
      [false, "1\tplain\n"],
    ]);
    expect(alerts(events)).toEqual([expect.objectContaining({ level: "warn", source: "worker", message: `tool: ${message}` })]);
    expect(texts(events)[0]).toBe(`after data.secret: ${message}`);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it("come after the command line's: --allow-tool for one file wins over the config's deny; the config's deny still covers the rest", async () => {
    const home = homeWithFiles();
    writeConfig(home, { profiles: {}, permissions: ["deny read_file:*.secret"] });
    const client = await podWith(home, readEach("keep.secret", "data.secret"), ["--allow-tool", "read_file:keep.secret"]);
    const events = await runToIdle(client);
    const results = toolResults(events);
    expect(results.map((result) => result.is_error)).toEqual([false, true]);
    expect(results[0]?.output).toBe(`1\t${KEPT}\n`);
    expect(results[1]?.output).toBe(denial("read_file", "data.secret", "deny read_file:*.secret"));
    expect(alerts(events)).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it("keep their own order: an allow listed before a deny in the file wins", async () => {
    const home = homeWithFiles();
    writeConfig(home, { profiles: {}, permissions: ["allow read_file:keep.secret", "deny read_file:*.secret"] });
    const client = await podWith(home, readEach("keep.secret", "data.secret"), []);
    const results = toolResults(await runToIdle(client));
    expect(results.map((result) => result.is_error)).toEqual([false, true]);
  });

  it("an invalid rule: the pod does not start, exits non-zero, and the error names config.json and the rule", async () => {
    const home = homeWithFiles();
    writeConfig(home, { profiles: {}, permissions: ["deny read_file:*.secret", "bash:rm *"] });
    const pod = await spawnPod(home, readEach("data.secret"), []);
    expect(pod.ready.ok).toBe(false);
    const configFile = path.join(home.home, "config.json");
    expect(pod.ready.error).toContain(configFile);
    // Named by its place in the file (permissions[1]) or quoted; either way with the expected form.
    expect(pod.ready.error).toMatch(/permissions\[1\]|"bash:rm \*"/);
    expect(pod.ready.error).toContain('"allow <tool>[:<glob>]" or "deny <tool>[:<glob>]"');
    const exit = await pod.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(pod.stderr()).toContain(configFile);
  });
});

describe("podd start", () => {
  it("--deny-tool list_files is passed through to the pod: the model's list_files is denied", async () => {
    const home = homeWithFiles();
    fs.writeFileSync(path.join(home.home, "listing-marker-5d1e.txt"), "");
    const scenario = script().toolCall("list_files", {}, { id: "l1" }).finish().text("listing: {{last_tool_output}}").finish().build();
    const args = ["start", "perm", "--json", "--cwd", home.home, "--model", `scripted:${writeScenario(home, scenario)}`, "--deny-tool", "list_files"];
    const result = await runCli(args, { env: home.env, cwd: home.home });
    if (result.timedOut || result.code !== 0) throw new Error(describeResult(args, result));
    const started = JSON.parse(result.stdout) as { pid: number; socket: string };
    trackDaemon(started.pid);
    const client = await connectClient(started.socket);
    await client.waitFor("snapshot");
    const events = await runToIdle(client);
    const message = denial("list_files", ".", "deny list_files");
    expect(toolResults(events)).toEqual([{ id: "l1", summary: message, output: message, is_error: true }]);
    expect(alerts(events)).toEqual([expect.objectContaining({ level: "warn", source: "worker", message: `tool: ${message}` })]);
    expect(texts(events)).toEqual([`listing: ${message}`]);
    expect(JSON.stringify(events)).not.toContain("listing-marker-5d1e");
  });

  it("a bad --deny-tool rule: the start fails (non-zero) with the rule in the error, and no pod is left", async () => {
    const home = homeWithFiles();
    const args = ["start", "bad", "--cwd", home.home, "--model", `scripted:${writeScenario(home, { responses: [] })}`, "--deny-tool", "bash:"];
    const result = await runCli(args, { env: home.env, cwd: home.home });
    expect(result.timedOut, describeResult(args, result)).toBe(false);
    expect(result.code, describeResult(args, result)).not.toBe(0);
    expect(result.stderr).toContain('permission rule "bash:"');
    expect(result.stdout).toBe("");
    expect(fs.existsSync(path.join(home.runtime, "bad", "sock"))).toBe(false);
  });
});
