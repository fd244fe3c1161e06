/**
 * Child pods with real processes: a parent on the scripted model spawns children through the
 * pod tools; the children do file work and report back; crashes, restarts, scope delegation,
 * grandchildren, and reading a child's output.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { isProcessAlive } from "../../src/client/pod-directory.js";
import { listSessions } from "../../src/client/session-files.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { waitForPidExit } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, connectWithSnapshot, isIdleStatus, runText, startPod, tempHome, writeScenario } from "../helpers/pod-process.js";

type Home = ReturnType<typeof tempHome>;
const spawnedPids: number[] = [];

afterEach(async () => {
  for (const pid of spawnedPids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await cleanupAll();
});

interface ChildRecordOnDisk {
  name: string;
  pid: number;
  status: string;
  lent: string[];
}

function childrenOf(home: Home, parent: string): ChildRecordOnDisk[] {
  try {
    return (JSON.parse(fs.readFileSync(path.join(home.home, "pods", parent, "children.json"), "utf8")) as { children: ChildRecordOnDisk[] }).children;
  } catch {
    return [];
  }
}

function trackChildren(home: Home, parent: string): void {
  for (const child of childrenOf(home, parent)) if (child.pid > 0) spawnedPids.push(child.pid);
}

/** The pod_event system items among live events, as `kind:pod_name`. */
function reportsAmong(events: readonly Event[]): string[] {
  return events.flatMap((event) => {
    if (event.event !== "system_item") return [];
    const item = event.data.item as { kind: string; event?: { kind: string; pod_name?: string; sub_pod?: string } };
    return item.kind === "pod_event" && item.event ? [`${item.event.kind}:${item.event.pod_name ?? item.event.sub_pod}`] : [];
  });
}

/** Wait (on live events) until the pod has committed pod_event items matching `done`; `earlier`: events already taken off the client. */
async function waitForReports(client: PodClient, earlier: readonly Event[], done: (reports: string[]) => boolean): Promise<string[]> {
  const seen = reportsAmong(earlier);
  if (done(seen)) return seen;
  await client.waitFor("system_item", {
    where: (event: Extract<Event, { event: "system_item" }>) => {
      seen.push(...reportsAmong([event]));
      return done(seen);
    },
    timeoutMs: 20_000,
  });
  return seen;
}

const workerScenario = (file: string) => script().toolCall("read_file", { path: file }).finish().text("worker read {{last_tool_output:20}}").finish().build();

describe("child pods", () => {
  it("a parent spawns 3 children; each finishes and the parent is woken with all three reports", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    for (const name of ["a", "b", "c"]) {
      fs.mkdirSync(path.join(work, name));
      fs.writeFileSync(path.join(work, name, "input.txt"), `data for ${name}\n`);
    }
    const spawn = (name: string) => ({
      name: `kid-${name}`,
      task: `read input.txt in ${name}`,
      scope: [{ path: name, permission: "write" }],
      model: `scripted:${writeScenario(home, workerScenario("input.txt"))}`,
    });
    const parentScenario = script()
      .toolCall("spawn_pod", spawn("a"))
      .toolCall("spawn_pod", spawn("b"))
      .toolCall("spawn_pod", spawn("c"))
      .finish()
      .text("spawned three")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const parent = await startPod({ home, name: "boss", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("split the work"));
    const run = await client.collectUntil((event) => event.event === "run_end");
    trackChildren(home, "boss");
    const results = run.filter((event) => event.event === "tool_result");
    expect(results).toHaveLength(3);
    for (const result of results) expect(result).toMatchObject({ data: { is_error: false } });

    const reports = await waitForReports(client, run, (seen) => ["a", "b", "c"].every((name) => seen.includes(`turn_ended:kid-${name}`)));
    expect(reports.filter((report) => report.startsWith("turn_ended:")).sort()).toEqual(["turn_ended:kid-a", "turn_ended:kid-b", "turn_ended:kid-c"]);
    // Each child ran as its own process with its own socket and did its file work.
    const children = childrenOf(home, "boss");
    expect(children.map((child) => child.name).sort()).toEqual(["kid-a", "kid-b", "kid-c"]);
    expect(new Set(children.map((child) => child.pid)).size).toBe(3);
    for (const child of children) expect(isProcessAlive(child.pid)).toBe(true);
    client.destroy();
  });

  it("kill -9 of a child: the parent gets errored and shut_down for it at once, and its write scope back", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    fs.mkdirSync(path.join(work, "area"));
    const gate = path.join(home.home, "never");
    const childScenario = writeScenario(home, script().text("busy", { gate }).finish().build());
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "victim", task: "wait", scope: [{ path: "area", permission: "write" }], model: `scripted:${childScenario}` })
      .finish()
      .text("spawned")
      .finish()
      .toolCall("write_file", { path: "area/after.txt", content: "mine again" })
      .finish()
      .text("noted")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const parent = await startPod({ home, name: "watcher", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("start it"));
    await client.collectUntil(isIdleStatus);
    trackChildren(home, "watcher");
    const [victim] = childrenOf(home, "watcher");
    if (!victim) throw new Error("no child recorded");
    expect(victim.lent).toEqual([fs.realpathSync(path.join(work, "area"))]);

    process.kill(victim.pid, "SIGKILL");
    const reports = await waitForReports(client, [], (seen) => seen.includes("shut_down:victim"));
    expect(reports).toEqual(["errored:victim", "shut_down:victim"]);
    const entries = (await connectWithSnapshot(parent)).entries;
    const errored = entries.find((entry) => entry.kind === "system_item" && JSON.stringify(entry.item).includes("exited unexpectedly"));
    expect(JSON.stringify(errored)).toContain("killed by SIGKILL");
    // The write scope came back: the parent's notification turn wrote into the area.
    await client.collectUntil(isIdleStatus);
    expect(fs.readFileSync(path.join(work, "area", "after.txt"), "utf8")).toBe("mine again");
    expect(childrenOf(home, "watcher")[0]).toMatchObject({ status: "stopped", lent: [] });
    client.destroy();
  });

  it("refuses to spawn over a stopped pod of the same name that is not its child", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const mine = await startPod({ home, name: "mine", cwd: work, scenario: script().text("my own session").finish().build() });
    await (async () => {
      const { client } = await connectWithSnapshot(mine);
      client.send(runText("hello"));
      await client.collectUntil(isIdleStatus);
      client.destroy();
    })();
    await mine.stop();
    const parentScenario = script().toolCall("spawn_pod", { name: "mine", task: "x" }).finish().text("ok").finish().build();
    const parent = await startPod({ home, name: "grabber", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("try"));
    const events = await client.collectUntil(isIdleStatus);
    expect(events.find((event) => event.event === "tool_result")).toMatchObject({
      data: { is_error: true, output: expect.stringContaining("a pod named mine already exists (stopped, a pod started by a user, with its own session); choose another name, e.g. mine-2") },
    });
    const metadata = JSON.parse(fs.readFileSync(path.join(home.home, "pods", "mine", "metadata.json"), "utf8")) as { model: string };
    expect(metadata.model).toContain("scripted:");
    client.destroy();
  });

  it("a child that fails to start leaves no pods/<name> or runtime dir; a name starting with - is refused", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const missing = path.join(home.home, "missing.json");
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "broken", task: "x", model: `scripted:${missing}` })
      .toolCall("spawn_pod", { name: "-dash", task: "x" })
      .finish()
      .text("ok")
      .finish()
      .build();
    const parent = await startPod({ home, name: "hopeful", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("try"));
    const results = (await client.collectUntil(isIdleStatus)).filter((event) => event.event === "tool_result");
    expect(results).toMatchObject([
      { data: { is_error: true, output: expect.stringContaining(`cannot read scenario ${missing}`) } },
      { data: { is_error: true, output: expect.stringContaining("pod name cannot start with -") } },
    ]);
    expect(fs.readdirSync(path.join(home.home, "pods"))).toEqual(["hopeful"]);
    expect(fs.readdirSync(home.runtime)).not.toContain("broken");
    expect(childrenOf(home, "hopeful")).toEqual([]);
    client.destroy();
  });

  it("a parent spawns its own stopped child again by name, also from a new session: a new session, the old one kept; another pod's stopped child is refused", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const kidScenario = writeScenario(home, script().text("kid answer").finish().whenExhausted("repeat_last").build());
    const spawnKid = { name: "kid", task: "answer", model: `scripted:${kidScenario}` };
    const spawnAndStop = script().toolCall("spawn_pod", spawnKid).finish().toolCall("stop_pod", { name: "kid" }).finish().text("done").finish().build();
    const first = await startPod({ home, name: "reuser", cwd: work, scenario: spawnAndStop });
    const firstClient = (await connectWithSnapshot(first)).client;
    firstClient.send(runText("go"));
    const firstResults = (await firstClient.collectUntil((event) => event.event === "run_end")).flatMap((event) => (event.event === "tool_result" ? [event.data] : []));
    expect(firstResults.map((result) => [result.is_error, result.summary])).toEqual([
      [false, expect.stringMatching(/^spawned kid \(pid \d+\)$/)],
      [false, "stopped kid"],
    ]);
    firstClient.destroy();
    await first.stop();

    // The same parent on a new session (as `npm run demo` run twice) takes its former child's name again.
    const parent = await startPod({ home, name: "reuser", cwd: work, extraArgs: ["--new"], scenario: script().toolCall("spawn_pod", spawnKid).finish().text("respawned").finish().build() });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("again"));
    const events = await client.collectUntil((event) => event.event === "run_end");
    trackChildren(home, "reuser");
    expect(events.find((event) => event.event === "tool_result")).toMatchObject({ data: { is_error: false, summary: expect.stringMatching(/^spawned kid \(pid \d+\)$/) } });
    await waitForReports(client, events, (seen) => seen.includes("turn_ended:kid"));
    // The old session is still on disk beside the new one, which the child now holds.
    const kidSessions = listSessions({ home: home.home, runtime: home.runtime }).filter((session) => session.podName === "kid");
    expect(kidSessions).toHaveLength(2);
    const [record] = childrenOf(home, "reuser");
    if (!record) throw new Error("no child");
    expect(record.status).not.toBe("stopped");
    client.destroy();

    // Once kid and reuser have stopped, another pod may not take the name over.
    const kidClient = await connectClient(path.join(home.runtime, "kid", "sock"));
    kidClient.send({ method: "shutdown" });
    expect(await waitForPidExit(record.pid)).toBe(true);
    await parent.stop();
    const other = await startPod({ home, name: "other", cwd: work, scenario: script().toolCall("spawn_pod", spawnKid).finish().text("ok").finish().build() });
    const otherClient = (await connectWithSnapshot(other)).client;
    otherClient.send(runText("try"));
    const otherEvents = await otherClient.collectUntil(isIdleStatus);
    expect(otherEvents.find((event) => event.event === "tool_result")).toMatchObject({
      data: {
        is_error: true,
        output: expect.stringContaining(`a pod named kid already exists (stopped, a child of another pod (parent socket ${parent.socket}), with its own session); choose another name, e.g. kid-2`),
      },
    });
    otherClient.destroy();
  });

  it("refuses to give write scope the parent does not hold, with a clear error", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const outside = fs.mkdtempSync(path.join(home.home, "outside-"));
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "greedy", task: "x", scope: [{ path: outside, permission: "write" }] })
      .finish()
      .text("ok")
      .finish()
      .build();
    const parent = await startPod({ home, name: "careful", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("try"));
    const events = await client.collectUntil(isIdleStatus);
    const result = events.find((event) => event.event === "tool_result");
    expect(result).toMatchObject({ data: { is_error: true, output: expect.stringContaining("outside this pod's scope") } });
    expect(childrenOf(home, "careful")).toEqual([]);
    client.destroy();
  });

  it("a restarted parent re-adopts its live children and prunes dead ones", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    fs.mkdirSync(path.join(work, "x"));
    fs.mkdirSync(path.join(work, "y"));
    const gate = path.join(home.home, "never");
    const idle = writeScenario(home, script().text("ok").finish().text("held", { gate }).finish().build());
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "keeper", task: "t", scope: [{ path: "x", permission: "write" }], model: `scripted:${idle}` })
      .toolCall("spawn_pod", { name: "goner", task: "t", scope: [{ path: "y", permission: "write" }], model: `scripted:${idle}` })
      .finish()
      .text("spawned")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    let parent = await startPod({ home, name: "phoenix", cwd: work, scenario: parentScenario });
    let { client } = await connectWithSnapshot(parent);
    client.send(runText("go"));
    await waitForReports(client, [], (seen) => seen.includes("turn_ended:keeper") && seen.includes("turn_ended:goner"));
    await client.collectUntil(isIdleStatus);
    client.destroy();
    trackChildren(home, "phoenix");
    const before = childrenOf(home, "phoenix");
    const goner = before.find((child) => child.name === "goner");
    const keeper = before.find((child) => child.name === "keeper");
    if (!goner || !keeper) throw new Error("children missing");

    parent.child.kill("SIGKILL");
    await parent.exited;
    process.kill(goner.pid, "SIGKILL");
    await new Promise<void>((resolve) => {
      const check = (): void => (isProcessAlive(goner.pid) ? void setImmediate(check) : resolve());
      check();
    });

    parent = await startPod({ home, name: "phoenix", cwd: work, scenario: script().text("fine").finish().whenExhausted("repeat_last").build() });
    ({ client } = await connectWithSnapshot(parent));
    const after = childrenOf(home, "phoenix");
    expect(after.find((child) => child.name === "keeper")).toMatchObject({ status: "idle", pid: keeper.pid });
    expect(after.find((child) => child.name === "goner")).toMatchObject({ status: "stopped", lent: [] });
    // A parent with a re-adopted child still stops promptly (the child keeps running).
    client.destroy();
    await expect(parent.stop()).resolves.toMatchObject({ code: 0 });
    expect(isProcessAlive(keeper.pid)).toBe(true);
    parent = await startPod({ home, name: "phoenix", cwd: work, scenario: script().text("fine").finish().whenExhausted("repeat_last").build() });
    ({ client } = await connectWithSnapshot(parent));
    // The re-adopted child is watched again: killing it now is reported at once.
    process.kill(keeper.pid, "SIGKILL");
    const reports = await waitForReports(client, [], (seen) => seen.includes("shut_down:keeper"));
    expect(reports).toContain("errored:keeper");
    client.destroy();
  });

  it("read_pod_output returns a child's new answer text once", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const childScenario = writeScenario(home, script().text("first finding").finish().text("second finding").finish().build());
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "scout", task: "look", model: `scripted:${childScenario}` })
      .finish()
      .text("spawned")
      .finish()
      .toolCall("read_pod_output", { name: "scout" })
      .toolCall("read_pod_output", { name: "scout" })
      .toolCall("send_to_pod", { name: "scout", message: "more" })
      .finish()
      .text("asked for more")
      .finish()
      .toolCall("read_pod_output", { name: "scout" })
      .toolCall("send_to_pod", { name: "nobody", message: "hi" })
      .finish()
      .text("done")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const parent = await startPod({ home, name: "reader", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("go"));
    const outputs: { output?: string; is_error: boolean }[] = [];
    await client.waitFor("tool_result", {
      where: (event: Extract<Event, { event: "tool_result" }>) => {
        outputs.push(event.data);
        return outputs.length === 6;
      },
      timeoutMs: 20_000,
    });
    trackChildren(home, "reader");
    expect(outputs[1]).toMatchObject({ output: "first finding", is_error: false });
    expect(outputs[2]).toMatchObject({ output: expect.stringContaining("no new output from scout"), is_error: false });
    expect(outputs[3]).toMatchObject({ is_error: false });
    expect(outputs[4]).toMatchObject({ output: "second finding", is_error: false });
    expect(outputs[5]).toMatchObject({ output: expect.stringContaining("no child pod named nobody (children: scout)"), is_error: true });
    client.destroy();
  });

  it("two live pods never hold overlapping write scope: a second claim on the same directory is refused", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    fs.mkdirSync(path.join(work, "shared", "inner"), { recursive: true });
    const gate = path.join(home.home, "never");
    const holdOn = writeScenario(home, script().text("holding", { gate }).finish().build());
    const spawnInto = (name: string, target: string) =>
      script()
        .toolCall("spawn_pod", { name, task: "hold", scope: [{ path: target, permission: "write" }], model: `scripted:${holdOn}` })
        .finish()
        .text("done")
        .finish()
        .build();
    const first = await startPod({ home, name: "owner-one", cwd: work, scenario: spawnInto("holder", "shared") });
    const one = await connectWithSnapshot(first);
    one.client.send(runText("spawn"));
    await one.client.collectUntil(isIdleStatus);
    trackChildren(home, "owner-one");
    one.client.destroy();

    // Another pod in the same directory tries to give a child part of the same area.
    const second = await startPod({ home, name: "owner-two", cwd: work, scenario: spawnInto("intruder", "shared/inner") });
    const two = await connectWithSnapshot(second);
    two.client.send(runText("spawn"));
    const events = await two.client.collectUntil(isIdleStatus);
    const refused = events.find((event) => event.event === "tool_result");
    const sharedDir = fs.realpathSync(path.join(work, "shared"));
    expect(refused).toMatchObject({
      data: { is_error: true, output: expect.stringContaining(`write scope ${sharedDir}/inner overlaps ${sharedDir} held by pod holder`) },
    });
    expect(childrenOf(home, "owner-two")).toEqual([]);
    two.client.destroy();
  });

  it("a grandchild is reported to the root: scope_sub_delegated is relayed with the middle pod as parent_pod", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    fs.mkdirSync(path.join(work, "mid", "leaf"), { recursive: true });
    const leafScenario = writeScenario(home, script().text("leaf done").finish().build());
    const midScenario = writeScenario(
      home,
      script()
        .toolCall("spawn_pod", { name: "leaf", task: "work", scope: [{ path: "leaf", permission: "write" }], model: `scripted:${leafScenario}` })
        .finish()
        .text("mid done")
        .finish()
        .whenExhausted("repeat_last")
        .build(),
    );
    const rootScenario = script()
      .toolCall("spawn_pod", { name: "mid", task: "delegate", scope: [{ path: "mid", permission: "write" }], model: `scripted:${midScenario}` })
      .finish()
      .text("root waiting")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const root = await startPod({ home, name: "root", cwd: work, scenario: rootScenario });
    const { client } = await connectWithSnapshot(root);
    client.send(runText("go"));
    const run = await client.collectUntil((event) => event.event === "run_end");
    const reports = await waitForReports(client, run, (seen) => seen.includes("scope_sub_delegated:leaf") && seen.includes("turn_ended:mid"));
    trackChildren(home, "root");
    trackChildren(home, "mid");
    expect(reports).toContain("scope_sub_delegated:leaf");
    const entries = (await connectWithSnapshot(root)).entries;
    const relayed = entries.find((entry) => entry.kind === "system_item" && JSON.stringify(entry.item).includes("scope_sub_delegated"));
    const leafDir = fs.realpathSync(path.join(work, "mid", "leaf"));
    expect(relayed).toMatchObject({
      item: { event: { kind: "scope_sub_delegated", parent_pod: "mid", sub_pod: "leaf", scope: [{ target: leafDir, permission: "write" }] } },
    });
    const registry = JSON.parse(fs.readFileSync(path.join(home.home, "pods", "root", "children.json"), "utf8")) as { descendants: { name: string; parent_pod: string }[] };
    expect(registry.descendants).toEqual([expect.objectContaining({ name: "leaf", parent_pod: "mid" })]);
    client.destroy();
  });

  it("cancel with cascade reaches the children's turns", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const gate = path.join(home.home, "never");
    const slow = writeScenario(home, script().text("thinking hard", { gate }).finish().build());
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "slowpoke", task: "take your time", model: `scripted:${slow}` })
      .finish()
      .text("spawned")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const parent = await startPod({ home, name: "canceller", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("go"));
    await client.collectUntil(isIdleStatus);
    trackChildren(home, "canceller");
    const [slowpoke] = childrenOf(home, "canceller");
    if (!slowpoke) throw new Error("no child");
    // The parent is idle: its own cancel is refused, but the cascade still reaches the child.
    await expect(client.request({ method: "cancel", params: { cascade: true } })).rejects.toMatchObject({ code: "not_running" });
    const reports = await waitForReports(client, [], (seen) => seen.includes("errored:slowpoke"));
    expect(reports).toEqual(["errored:slowpoke"]);
    expect(childrenOf(home, "canceller")[0]).toMatchObject({ status: "errored" });
    expect(isProcessAlive(slowpoke.pid)).toBe(true);
    client.destroy();
  });

  it("discovery: list_visible_pods and inspect_pod show the children; attach_or_restore_pod restarts a stopped child on its session", async () => {
    const home = tempHome();
    const work = fs.mkdtempSync(path.join(home.home, "work-"));
    const kidScenario = writeScenario(home, script().text("first answer").finish().whenExhausted("repeat_last").build());
    const parentScenario = script()
      .toolCall("spawn_pod", { name: "lazarus", task: "say something", model: `scripted:${kidScenario}` })
      .finish()
      .text("spawned")
      .finish()
      .whenExhausted("repeat_last")
      .build();
    const parent = await startPod({ home, name: "discoverer", cwd: work, scenario: parentScenario });
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("go"));
    await waitForReports(client, await client.collectUntil((event) => event.event === "run_end"), (seen) => seen.includes("turn_ended:lazarus"));
    trackChildren(home, "discoverer");

    const visible = await client.request({ method: "list_visible_pods" });
    expect(visible).toMatchObject({ event: "visible_pods", data: { pods: [{ name: "discoverer" }, { name: "lazarus", alive: true, parent: "discoverer" }] } });
    await expect(client.request({ method: "inspect_pod", params: { name: "lazarus" } })).resolves.toMatchObject({ data: { pod: { name: "lazarus", status: "idle" } } });
    await expect(client.request({ method: "inspect_pod", params: { name: "stranger" } })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(client.request({ method: "attach_or_restore_pod", params: { name: "lazarus" } })).resolves.toMatchObject({ data: { result: { action: "attached" } } });

    const [before] = childrenOf(home, "discoverer");
    if (!before) throw new Error("no child");
    process.kill(before.pid, "SIGKILL");
    await waitForReports(client, [], (seen) => seen.includes("shut_down:lazarus"));
    const restored = await client.request({ method: "attach_or_restore_pod", params: { name: "lazarus" } }, { timeoutMs: 20_000 });
    expect(restored).toMatchObject({ event: "pod_attach_restore", data: { result: { action: "restored", name: "lazarus" } } });
    const [after] = childrenOf(home, "discoverer");
    if (!after) throw new Error("no child");
    spawnedPids.push(after.pid);
    expect(after.pid).not.toBe(before.pid);
    expect(isProcessAlive(after.pid)).toBe(true);
    // The restarted child has its old session (the first turn), not a new one.
    const kid = await connectClient(path.join(home.runtime, "lazarus", "sock"));
    const snapshot = await kid.waitFor("snapshot");
    expect(JSON.stringify(snapshot.data.entries)).toContain("first answer");
    kid.destroy();
    client.destroy();
  });
});
