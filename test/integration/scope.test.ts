/**
 * The path scope end to end, on real pod processes driven by the scripted model: a write
 * outside the scope comes back to the model as `permission denied` in its next request, and
 * the `podd start` scope flags (`--deny-write`, `--allow-read`) reach the file tools and the
 * greeting's scope_summary.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event, EventOf } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import type { ScenarioInput } from "../../src/model/scripted/scenario.js";
import { describeResult, killCliProcesses, runCli, trackDaemon } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, startPod, tempHome } from "../helpers/pod-process.js";

afterEach(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

/** A home with a `work` dir (the pod's cwd) and an `outside` dir next to it, both canonical. */
function workspace(): { home: Home; work: string; outside: string } {
  const home = tempHome();
  const base = fs.realpathSync(home.home);
  const work = path.join(base, "work");
  const outside = path.join(base, "outside");
  fs.mkdirSync(work);
  fs.mkdirSync(outside);
  return { home, work, outside };
}

/** `podd start <name> --json --cwd <cwd> --model scripted:<file> <flags…>`; the daemon is killed on cleanup. */
async function startViaCli(home: Home, cwd: string, scenario: ScenarioInput, flags: string[]): Promise<PodClient> {
  const scenarioFile = path.join(home.home, "scenario.json");
  fs.writeFileSync(scenarioFile, JSON.stringify(scenario));
  const args = ["start", "scoped", "--json", "--cwd", cwd, "--model", `scripted:${scenarioFile}`, ...flags];
  const result = await runCli(args, { env: home.env, cwd });
  if (result.code !== 0) throw new Error(describeResult(args, result));
  const started = JSON.parse(result.stdout) as { pid: number; socket: string };
  trackDaemon(started.pid);
  return connectClient(started.socket);
}

/** Send one user message and collect the events up to its run_end. */
async function run(client: PodClient, text: string): Promise<Event[]> {
  client.send({ method: "run", params: { input: [{ kind: "text", content: text }] } });
  return client.collectUntil("run_end", { timeoutMs: 15_000 });
}

function toolResults(events: readonly Event[]): EventOf<"tool_result">["data"][] {
  return events.filter((event): event is EventOf<"tool_result"> => event.event === "tool_result").map((event) => event.data);
}

function texts(events: readonly Event[]): string[] {
  return events.filter((event): event is EventOf<"text_done"> => event.event === "text_done").map((event) => event.data.text);
}

describe("the path scope in a running pod", () => {
  it("a write outside the scope reaches the model as permission denied in its next request, and nothing is written", async () => {
    const { home, work, outside } = workspace();
    const escapes = [path.join(outside, "absolute", "escape.txt"), "../outside/relative/escape.txt"];
    const scenario = script()
      .toolCall("write_file", { path: escapes[0], content: "escaped" })
      .finish()
      .text("first: {{last_tool_output}}")
      .toolCall("write_file", { path: escapes[1], content: "escaped" })
      .finish()
      .text("second: {{last_tool_output}}")
      .finish()
      .build();
    const pod = await startPod({ scenario, cwd: work, home });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    const events = await run(client, "write outside");

    expect(events.at(-1)).toMatchObject({ data: { result: "finished" } });
    const results = toolResults(events);
    expect(results).toHaveLength(2);
    for (const [index, result] of results.entries()) {
      expect(result.is_error).toBe(true);
      expect(result.output).toMatch(new RegExp(`^permission denied: write access to ${escapeRegExp(String(escapes[index]))} is outside this pod's scope`));
    }
    // The model's next request carried the tool result: the scripted model echoes it.
    const [first, second] = texts(events);
    expect(first).toMatch(/^first: permission denied: write access to .*absolute\/escape\.txt is outside this pod's scope/);
    expect(second).toMatch(/^second: permission denied: write access to \.\.\/outside\/relative\/escape\.txt is outside this pod's scope/);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
  });

  it("--deny-write DIR: the pod reads there but cannot write or edit, and the greeting shows the deny", async () => {
    const { home, work } = workspace();
    const protectedDir = path.join(work, "protected");
    fs.mkdirSync(protectedDir);
    fs.writeFileSync(path.join(protectedDir, "p.txt"), "keep me\n");
    const scenario = script()
      .toolCall("read_file", { path: "protected/p.txt" })
      .finish()
      .toolCall("write_file", { path: "protected/p.txt", content: "overwritten" })
      .finish()
      .toolCall("edit_file", { path: "protected/p.txt", edits: [{ old_string: "keep", new_string: "lose" }] })
      .finish()
      .toolCall("write_file", { path: "protected/sub/new.txt", content: "new" })
      .finish()
      .toolCall("write_file", { path: "free.txt", content: "free\n" })
      .finish()
      .text("done")
      .finish()
      .build();
    const client = await startViaCli(home, work, scenario, ["--deny-write", "protected"]);
    const snapshot = await client.waitFor("snapshot");
    expect(snapshot.data.greeting.scope_summary).toMatch(new RegExp(`^write ${escapeRegExp(work)}, `));
    expect(snapshot.data.greeting.scope_summary).toContain(`deny write ${protectedDir}`);

    const results = toolResults(await run(client, "try the protected dir"));
    expect(results.map((result) => result.is_error)).toEqual([false, true, true, true, false]);
    expect(results[0]?.output).toBe("1\tkeep me\n");
    for (const [index, requested] of [[1, "protected/p.txt"], [2, "protected/p.txt"], [3, "protected/sub/new.txt"]] as const) {
      expect(results[index]?.output).toMatch(new RegExp(`^permission denied: write access to ${escapeRegExp(requested)} is read-only in this pod's scope`));
    }
    expect(results[4]?.summary).toBe("created free.txt (1 line, 5 bytes)");
    expect(fs.readFileSync(path.join(protectedDir, "p.txt"), "utf8")).toBe("keep me\n");
    expect(fs.readdirSync(protectedDir)).toEqual(["p.txt"]);
    expect(fs.readFileSync(path.join(work, "free.txt"), "utf8")).toBe("free\n");
  });

  it("--allow-read DIR: read_file reads outside the cwd, write_file and edit_file are refused there", async () => {
    const { home, work, outside } = workspace();
    const reference = path.join(outside, "reference docs ☕");
    fs.mkdirSync(reference);
    fs.writeFileSync(path.join(reference, "r.txt"), "reference\n");
    const file = path.join(reference, "r.txt");
    const scenario = script()
      .toolCall("read_file", { path: file })
      .finish()
      .toolCall("write_file", { path: file, content: "overwritten" })
      .finish()
      .toolCall("edit_file", { path: file, edits: [{ old_string: "reference", new_string: "changed" }] })
      .finish()
      .toolCall("write_file", { path: path.join(reference, "new.txt"), content: "new" })
      .finish()
      .toolCall("read_file", { path: path.join(outside, "elsewhere.txt") })
      .finish()
      .text("done")
      .finish()
      .build();
    fs.writeFileSync(path.join(outside, "elsewhere.txt"), "not allowed\n");
    const client = await startViaCli(home, work, scenario, ["--allow-read", reference]);
    const snapshot = await client.waitFor("snapshot");
    expect(snapshot.data.greeting.scope_summary).toContain(`read ${reference}`);

    const results = toolResults(await run(client, "read the reference"));
    expect(results.map((result) => result.is_error)).toEqual([false, true, true, true, true]);
    expect(results[0]?.output).toBe("1\treference\n");
    for (const index of [1, 2, 3]) expect(results[index]?.output).toMatch(/^permission denied: write access to .* is read-only in this pod's scope/);
    expect(results[4]?.output).toMatch(/^permission denied: read access to .*elsewhere\.txt is outside this pod's scope/);
    expect(fs.readFileSync(file, "utf8")).toBe("reference\n");
    expect(fs.readdirSync(reference)).toEqual(["r.txt"]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
