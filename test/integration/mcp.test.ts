/**
 * MCP servers (issue 13, first part) against real pod processes and the real servers from npm
 * (`@modelcontextprotocol/server-everything`, `-filesystem`, run with this Node), configured in
 * config.json, `.podd/mcp.json` and `--mcp`: a tool round trip with the result in the next model
 * request, a server that does not start, a deny rule, a call past its time limit, a cancel during
 * a call, a server killed mid-call (restarted; the next call works), and no server process left
 * after the pod stops.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { cleanupAll, connectWithSnapshot, isIdleStatus, REPO_ROOT, runText, runToIdle, startPod, tempHome } from "../helpers/pod-process.js";
import { expectExit, runCli } from "../helpers/cli-run.js";
import { processState, waitForProcessState } from "../helpers/process-state.js";

afterEach(cleanupAll);

const EVERYTHING = path.join(REPO_ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const FILESYSTEM = path.join(REPO_ROOT, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");

type Home = ReturnType<typeof tempHome>;

function writeConfig(home: Home, mcpServers: Record<string, unknown>): void {
  fs.writeFileSync(path.join(home.home, "config.json"), JSON.stringify({ mcpServers }));
}

/** The pids of the processes whose parent is `pid` (from /proc). */
function childPids(pid: number): number[] {
  return fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return ppid === pid ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

/** The pod's server processes whose command line names `server` (e.g. `server-everything`). */
function serverPids(podPid: number, server: string): number[] {
  return childPids(podPid).filter((pid) => commandLine(pid).includes(server));
}

function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** A TCP port that was free a moment ago (bound to 0 and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function toolResults(events: readonly Event[]): Extract<Event, { event: "tool_result" }>["data"][] {
  return events.flatMap((event) => (event.event === "tool_result" ? [event.data] : []));
}

describe("MCP servers", () => {
  it("a tool of a stdio server from config.json: called, its result in the next model request; no server process after the pod stops", async () => {
    const home = tempHome();
    writeConfig(home, { everything: { command: process.execPath, args: [EVERYTHING] } });
    const scenario = script().toolCall("mcp__everything__echo", { message: "hello over MCP" }, { id: "m1" }).finish().text("model saw: {{last_tool_output}}").finish().build();
    const pod = await startPod({ home, name: "mcp-user", scenario });
    const { client } = await connectWithSnapshot(pod);
    const servers = serverPids(pod.pid, "server-everything");
    expect(servers).toHaveLength(1);

    const events = await runToIdle(client, "echo something");
    expect(toolResults(events)).toEqual([expect.objectContaining({ id: "m1", is_error: false, output: "Echo: hello over MCP" })]);
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "model saw: Echo: hello over MCP" } });
    client.destroy();
    await pod.stop();
    for (const pid of servers) expect(processState(pid), `server ${pid} after the pod stopped`).toBeUndefined();
  });

  it("a Streamable HTTP server (server-everything's streamableHttp mode): the same round trip, with a header from the pod's environment", async () => {
    const port = await freePort();
    const server = spawn(process.execPath, [EVERYTHING, "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
    const stopServer = () => new Promise<void>((resolve) => (server.exitCode !== null ? resolve() : (server.once("exit", () => resolve()), server.kill("SIGKILL"))));
    try {
      await new Promise<void>((resolve, reject) => {
        let text = "";
        server.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
          if (text.includes(`listening on port ${port}`)) resolve();
        });
        server.once("exit", (code) => reject(new Error(`the HTTP server exited (${code}): ${text}`)));
      });
      const home = tempHome();
      writeConfig(home, { web: { type: "http", url: `http://127.0.0.1:${port}/mcp`, headers: { "X-Podd-Test": "${PODD_TEST_MCP_HEADER}" } } });
      const scenario = script().toolCall("mcp__web__echo", { message: "over HTTP" }, { id: "h1" }).finish().text("{{last_tool_output}}").finish().build();
      const pod = await startPod({ home, name: "http-user", scenario, env: { PODD_TEST_MCP_HEADER: "header-value" } });
      const { client } = await connectWithSnapshot(pod);
      const events = await runToIdle(client, "echo over http");
      expect(toolResults(events)).toEqual([expect.objectContaining({ id: "h1", is_error: false, output: "Echo: over HTTP" })]);
      // The header's value is in neither the pod's log nor its metadata.
      expect(fs.readFileSync(path.join(home.home, "pods", "http-user", "pod.log"), "utf8")).not.toContain("header-value");
      await pod.stop();
    } finally {
      await stopServer();
    }
  });

  it("a SIGKILLed pod leaves no server process: its stdio servers see their stdin close and exit", async () => {
    const home = tempHome();
    writeConfig(home, { fs: { command: process.execPath, args: [FILESYSTEM, home.home] } });
    const pod = await startPod({ home, name: "killed" });
    const servers = serverPids(pod.pid, "server-filesystem");
    expect(servers).toHaveLength(1);
    process.kill(pod.pid, "SIGKILL");
    // Gone, or a zombie waiting for a reaper that is not the pod (it is dead): not running either way.
    for (const pid of servers) await waitForProcessState(pid, (state) => state === undefined || state === "Z", 10_000);
  });

  it("the greeting lists MCP tools; a server that cannot start is an alert and the pod serves anyway", async () => {
    const home = tempHome();
    writeConfig(home, { everything: { command: process.execPath, args: [EVERYTHING] }, broken: { command: path.join(home.home, "no-such-server") } });
    const pod = await startPod({ home, name: "half", scenario: script().text("still here").finish().build() });
    const client = await pod.connect();
    const handshake = await client.collectUntil("snapshot");
    const snapshot = handshake.at(-1);
    if (snapshot?.event !== "snapshot") throw new Error("no snapshot");
    expect(snapshot.data.greeting.tools).toEqual(expect.arrayContaining(["mcp__everything__echo", "mcp__everything__get-sum", "read_file"]));
    expect(snapshot.data.greeting.tools.some((tool) => tool.startsWith("mcp__broken__"))).toBe(false);
    const alerts = handshake.filter((event) => event.event === "alert");
    expect(alerts).toEqual([
      { event: "alert", data: { level: "warn", source: "worker", message: expect.stringMatching(/^mcp: server broken did not start \(.+\); the pod goes on without its tools$/), timestamp_ms: expect.any(Number) } },
    ]);
    const events = await runToIdle(client, "hi");
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "still here" } });

    // podd status: each server with its state; --json has them from status.json, with no command or env.
    const [text, json] = await Promise.all([runCli(["status", "half"], { env: home.env }), runCli(["status", "half", "--json"], { env: home.env })]);
    expectExit(text, 0, ["status"]);
    expect(text.stdout).toMatch(/^mcp {6}everything connected \(\d+ tools\), broken failed: .+$/m);
    expectExit(json, 0, ["status", "--json"]);
    const status = JSON.parse(json.stdout) as { mcp: unknown[] };
    expect(status.mcp).toEqual([
      { name: "everything", transport: "stdio", state: "connected", tools: expect.any(Number) },
      { name: "broken", transport: "stdio", state: "failed", tools: 0, error: expect.any(String) },
    ]);
    expect(json.stdout).not.toContain(EVERYTHING);
  });

  it("servers from .podd/mcp.json (the filesystem server) and --mcp together", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    fs.writeFileSync(path.join(work, "notes.txt"), "from the filesystem server\n");
    fs.mkdirSync(path.join(work, ".podd"));
    fs.writeFileSync(path.join(work, ".podd", "mcp.json"), JSON.stringify({ mcpServers: { fs: { command: process.execPath, args: [FILESYSTEM, work] } } }));
    const scenario = script()
      .toolCall("mcp__fs__read_text_file", { path: path.join(work, "notes.txt") }, { id: "r1" })
      .finish()
      .text("{{last_tool_output}}")
      .finish()
      .toolCall("mcp__echo__echo", { message: "flagged" }, { id: "e1" })
      .finish()
      .text("{{last_tool_output}}")
      .finish()
      .build();
    const pod = await startPod({ home, name: "fs-user", cwd: work, scenario, extraArgs: ["--mcp", `echo=${process.execPath} ${EVERYTHING}`] });
    const { client } = await connectWithSnapshot(pod);
    const first = await runToIdle(client, "read it");
    expect(toolResults(first)).toEqual([expect.objectContaining({ id: "r1", is_error: false, output: "from the filesystem server\n" })]);
    const second = await runToIdle(client, "echo it");
    expect(toolResults(second)).toEqual([expect.objectContaining({ id: "e1", output: "Echo: flagged" })]);
  });

  it("a deny rule with a wildcard on MCP tool names refuses the call before the server sees it", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const denied = await startPod({
      home,
      name: "denied",
      cwd: work,
      scenario: script().toolCall("mcp__fs__write_file", { path: path.join(work, "new.txt"), content: "x" }, { id: "w1" }).finish().text("ok").finish().build(),
      extraArgs: ["--mcp", `fs=${process.execPath} ${FILESYSTEM} ${work}`, "--deny-tool", "mcp__fs__write*"],
    });
    const deniedClient = (await connectWithSnapshot(denied)).client;
    const refused = await runToIdle(deniedClient, "write");
    expect(toolResults(refused)).toEqual([expect.objectContaining({ id: "w1", is_error: true, output: "permission denied: mcp__fs__write_file is denied by the rule deny mcp__fs__write*" })]);
    expect(fs.existsSync(path.join(work, "new.txt"))).toBe(false);
  });

  it("a call past its time limit is an error result; a cancel during a call ends the run as cancelled", async () => {
    const home = tempHome();
    writeConfig(home, { slow: { command: process.execPath, args: [EVERYTHING], tool_timeout_ms: 500 }, patient: { command: process.execPath, args: [EVERYTHING] } });
    const scenario = script()
      .toolCall("mcp__slow__trigger-long-running-operation", { duration: 30, steps: 30 }, { id: "t1" })
      .finish()
      .text("after the time limit")
      .finish()
      .toolCall("mcp__patient__trigger-long-running-operation", { duration: 30, steps: 30 }, { id: "t2" })
      .finish()
      .text("never")
      .finish()
      .build();
    const pod = await startPod({ home, name: "limits", scenario });
    const { client } = await connectWithSnapshot(pod);
    const limited = await runToIdle(client, "slow");
    expect(toolResults(limited)).toEqual([expect.objectContaining({ id: "t1", is_error: true, output: expect.stringMatching(/^mcp server slow: .*timed out/i) })]);
    client.send(runText("patient"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "cancel" });
    const cancelled = await client.collectUntil(isIdleStatus);
    expect(cancelled.find((event) => event.event === "error")).toMatchObject({ data: { code: "internal", message: "Cancelled" } });
  });

  it("a server killed during a call: the call is an error result, the server is started again, and the next call works", async () => {
    const home = tempHome();
    writeConfig(home, { everything: { command: process.execPath, args: [EVERYTHING] } });
    const scenario = script()
      .toolCall("mcp__everything__trigger-long-running-operation", { duration: 30, steps: 30 }, { id: "k1" })
      .finish()
      .text("after the crash")
      .finish()
      .toolCall("mcp__everything__echo", { message: "back" }, { id: "k2" })
      .finish()
      .text("{{last_tool_output}}")
      .finish()
      .build();
    const pod = await startPod({ home, name: "crashy", scenario });
    const { client } = await connectWithSnapshot(pod);
    const [server] = serverPids(pod.pid, "server-everything");
    if (server === undefined) throw new Error("no server process");
    client.send(runText("long"));
    await client.waitFor("tool_call_done");
    process.kill(server, "SIGKILL");
    const crashed = await client.collectUntil(isIdleStatus);
    expect(toolResults(crashed)).toEqual([expect.objectContaining({ id: "k1", is_error: true })]);
    await client.waitFor("alert", { where: (event) => event.data.message === "mcp: server everything is connected again", timeoutMs: 15_000 });
    const after = await runToIdle(client, "again");
    expect(toolResults(after)).toEqual([expect.objectContaining({ id: "k2", is_error: false, output: "Echo: back" })]);
  });
});
