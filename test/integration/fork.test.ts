/**
 * Fork through the CLI, against real pod processes: `podd fork <source> <name>` at the head
 * of a live source (a run in progress is left out), at a rewind target, compacted first (the
 * source untouched), provenance in `segment_start.forked_from`, and the refusals.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event, LogEntry } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { expectExit, killCliProcesses, runCli, trackDaemon, type CliResult } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, isIdleStatus, type PodProcess, runText, startPod, tempHome, userTexts, writeScenario } from "../helpers/pod-process.js";

afterEach(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

async function snapshot(socket: string): Promise<{ client: PodClient; entries: LogEntry[]; status: string }> {
  const client = await connectClient(socket);
  const data = (await client.waitFor("snapshot")).data;
  return { client, entries: data.entries, status: data.status };
}

async function entriesAt(socket: string): Promise<LogEntry[]> {
  const { client, entries } = await snapshot(socket);
  client.destroy();
  return entries;
}

async function runTurn(socket: string, text: string): Promise<Event[]> {
  const { client } = await snapshot(socket);
  client.send(runText(text));
  const events = await client.collectUntil(isIdleStatus);
  client.destroy();
  return events;
}

/** `podd fork …` with `--json`; the started pod is tracked for cleanup. */
async function fork(home: Home, args: string[], scenario: ScenarioInput): Promise<{ name: string; pid: number; socket: string }> {
  const all = ["fork", ...args, "--json", "--model", `scripted:${writeScenario(home, scenario)}`];
  const result = await runCli(all, { env: home.env, cwd: home.home });
  expectExit(result, 0, all);
  const started = JSON.parse(result.stdout) as { name: string; pid: number; socket: string };
  trackDaemon(started.pid);
  return started;
}

function failedFork(home: Home, args: string[]): Promise<CliResult> {
  return runCli(["fork", ...args], { env: home.env, cwd: home.home });
}

function metadataOf(home: Home, name: string): { session_id: string; segment_id: string } {
  return JSON.parse(fs.readFileSync(path.join(home.home, "pods", name, "metadata.json"), "utf8")) as { session_id: string; segment_id: string };
}


async function sourceWithTwoRuns(home: Home, gate?: string): Promise<PodProcess> {
  const builder = script().text("answer one").finish().toolCall("list_files", {}, { id: "t1" }).finish().text("answer two").finish();
  const scenario = (gate ? builder.text("slow three", { gate }).finish() : builder.text("answer three").finish()).build();
  const pod = await startPod({ home, name: "origin", scenario });
  await runTurn(pod.socket, "question one");
  await runTurn(pod.socket, "question two");
  return pod;
}

describe("podd fork", () => {
  it("forks a live pod at its head (leaving out a run in progress); both pods then go their own way", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const source = await sourceWithTwoRuns(home, gate);
    const sourceMeta = metadataOf(home, "origin");
    const settled = await entriesAt(source.socket);

    // The source is in the middle of its third run when the fork is made.
    const { client: watcher } = await snapshot(source.socket);
    watcher.send(runText("question three"));
    await watcher.waitFor("text_delta");

    const forked = await fork(home, ["origin", "branch"], script().text("branch answer").finish().build());
    const entries = await entriesAt(forked.socket);
    expect(entries[0]).toMatchObject({
      kind: "segment_start",
      pod_name: "branch",
      forked_from: { pod_name: "origin", session_id: sourceMeta.session_id, segment_id: sourceMeta.segment_id, entry_index: settled.length },
    });
    expect(entries.slice(1)).toEqual(settled.slice(1));
    expect(metadataOf(home, "branch").session_id).not.toBe(sourceMeta.session_id);

    // The fork works on its own copy; the source's run goes on untouched.
    const branchRun = await runTurn(forked.socket, "branch question");
    expect(branchRun.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "branch answer" } }]);
    expect(userTexts(await entriesAt(forked.socket))).toEqual(["question one", "question two", "branch question"]);
    fs.writeFileSync(gate, "");
    await watcher.collectUntil(isIdleStatus);
    watcher.destroy();
    expect(userTexts(await entriesAt(source.socket))).toEqual(["question one", "question two", "question three"]);
  });

  it("forks at a rewind target: the session before that input's run", async () => {
    const home = tempHome();
    const source = await sourceWithTwoRuns(home);
    const settled = await entriesAt(source.socket);
    const secondRun = settled.findIndex((entry, index) => entry.kind === "invoke" && index > 1 && settled.slice(1, index).some((e) => e.kind === "invoke"));

    const forked = await fork(home, ["origin", "retry", "--at", "2"], script().text("another second answer").finish().build());
    const entries = await entriesAt(forked.socket);
    expect(entries[0]).toMatchObject({ kind: "segment_start", forked_from: { pod_name: "origin", entry_index: secondRun } });
    expect(entries.slice(1)).toEqual(settled.slice(1, secondRun));
    expect(userTexts(entries)).toEqual(["question one"]);
  });

  it("--compact summarises the copy in the new pod; the source's session is not touched", async () => {
    const home = tempHome();
    const source = await sourceWithTwoRuns(home);
    await source.stop();
    const sourceMeta = metadataOf(home, "origin");
    const sourceFile = path.join(home.home, "sessions", sourceMeta.session_id, `${sourceMeta.segment_id}.jsonl`);
    const sourceBytes = fs.readFileSync(sourceFile);

    // The summary is held at a gate so the run below is sent while the compaction runs.
    const gate = path.join(home.home, "summary-gate");
    const forked = await fork(home, ["origin", "lean", "--compact"], script().text("FORK SUMMARY", { gate }).finish().text("lean answer").finish().build());
    const { client } = await snapshot(forked.socket);
    // The compaction runs before the fork takes work; a run sent now waits for it.
    client.send(runText("after the fork"));
    fs.writeFileSync(gate, "");
    const events = await client.collectUntil(isIdleStatus);
    client.destroy();
    const order = events.map((event) => event.event);
    expect(order.indexOf("compact_done")).toBeGreaterThanOrEqual(0);
    expect(order.indexOf("compact_done")).toBeLessThan(order.indexOf("invoke_start"));
    const rotated = events.find((event) => event.event === "segment_rotated");
    if (rotated?.event !== "segment_rotated") throw new Error("no segment_rotated");
    const leanMeta = metadataOf(home, "lean");
    const firstSegment = fs.readdirSync(path.join(home.home, "sessions", leanMeta.session_id)).filter((file) => file.endsWith(".jsonl")).sort()[0];
    expect(rotated.data.entry.compacted_from).toBe(firstSegment?.replace(/\.jsonl$/, ""));
    expect(leanMeta.segment_id).toBe(rotated.data.entry.segment_id);
    const entries = await entriesAt(forked.socket);
    expect(JSON.stringify(entries[2])).toContain("FORK SUMMARY");
    expect(userTexts(entries)).toEqual(["after the fork"]);
    expect(fs.readFileSync(sourceFile)).toEqual(sourceBytes);
  });

  it("refuses an unknown source, a missing target, a fork into itself and into a pod that has a session", async () => {
    const home = tempHome();
    await sourceWithTwoRuns(home);
    const unknown = await failedFork(home, ["nobody", "x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("pod nobody has no session to fork");
    const target = await failedFork(home, ["origin", "y", "--at", "9"]);
    expect(target.code).toBe(1);
    expect(target.stderr).toContain("the source has 2 rewind targets; there is no target 9");
    expect(fs.existsSync(path.join(home.home, "pods", "y", "metadata.json"))).toBe(false);
    const itself = await failedFork(home, ["origin", "origin"]);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toContain("a pod cannot be forked into itself");
    await fork(home, ["origin", "taken"], script().build());
    const taken = await failedFork(home, ["origin", "taken"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/a live pod already owns|already has a session/);
  });
});
