/**
 * `podd start` of a pod that ran before, through the real CLI and daemonised pods: saved
 * settings and how to undo them, the saved settings in `podd status`, the cwd of a restored
 * pod (same base name, other directory), what `podd start` says about the session and the
 * model, and instructions (`--instructions`, AGENTS.md) in the model's system prompt.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { expectExit, killCliProcesses, runCli, trackDaemon, type CliResult } from "../helpers/cli-run.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { openAIStream } from "../helpers/openai-sse.js";
import { cleanupAll, tempHome, writeScenario } from "../helpers/pod-process.js";

afterAll(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

function podd(home: Home, args: string[], cwd = home.home): Promise<CliResult> {
  return runCli(args, { env: home.env, cwd });
}

/** `podd start …` that must succeed; tracks the daemon. Returns the result. */
async function started(home: Home, args: string[], cwd = home.home): Promise<CliResult> {
  const result = await podd(home, ["start", ...args], cwd);
  expectExit(result, 0, ["start", ...args]);
  const pid = /\(pid (\d+)\)/.exec(result.stdout)?.[1] ?? (JSON.parse(result.stdout) as { pid: number }).pid;
  trackDaemon(Number(pid));
  return result;
}

async function stop(home: Home, name: string): Promise<void> {
  expectExit(await podd(home, ["stop", name]), 0, ["stop", name]);
}

interface StatusJson {
  greeting: { tools: string[]; cwd: string };
  settings: {
    model: string;
    cwd: string;
    bash: boolean;
    tool_rules: string[];
    scope: { allow: { target: string; permission: string }[]; deny: { target: string; permission: string }[] };
    max_turns: number;
    compact_at: number;
    compact_timeout_ms: number;
    instructions: { bytes: number; source: string } | null;
    agents_md: { path: string; bytes: number } | null;
  };
}

async function statusJson(home: Home, name: string): Promise<StatusJson> {
  const result = await podd(home, ["status", name, "--json"]);
  expectExit(result, 0, ["status", name, "--json"]);
  return JSON.parse(result.stdout) as StatusJson;
}

function mkdir(...parts: string[]): string {
  const dir = path.join(...parts);
  fs.mkdirSync(dir, { recursive: true });
  return fs.realpathSync(dir);
}

describe.concurrent("saved settings", () => {
  it("--bash, --clear-tool-rules and --clear-scope undo saved settings; podd status shows them", { timeout: 60_000 }, async ({ expect }) => {
    const home = tempHome();
    const data = mkdir(home.home, "data");
    const model = `scripted:${writeScenario(home, { responses: [] })}`;
    await started(home, ["undo", "--cwd", home.home, "--model", model, "--no-bash", "--deny-tool", "bash:rm *", "--allow-read", data, "--max-turns", "7", "--compact-at", "0.5"]);
    const first = await statusJson(home, "undo");
    expect(first.greeting.tools).not.toContain("bash");
    expect(first.settings).toMatchObject({
      model,
      cwd: fs.realpathSync(home.home),
      bash: false,
      tool_rules: ["deny bash:rm *"],
      scope: { allow: [{ target: data, permission: "read" }], deny: [] },
      max_turns: 7,
      compact_at: 0.5,
      instructions: null,
      agents_md: null,
    });
    const human = await podd(home, ["status", "undo"]);
    expectExit(human, 0);
    expect(human.stdout).toContain("saved settings (podd start undo restores them):");
    expect(human.stdout).toMatch(/\n {2}bash +off \(--no-bash\)\n/);
    expect(human.stdout).toMatch(/\n {2}tool rules +deny bash:rm \*\n/);
    expect(human.stdout).toMatch(new RegExp(`\\n {2}scope rules +allow-read ${data}\\n`));
    expect(human.stdout).toMatch(/\n {2}max turns +7\n/);
    expect(human.stdout).toMatch(/\n {2}compaction +at 0\.5 of the context window, summary timeout 120000 ms\n/);
    await stop(home, "undo");

    // Stopped, the pod still shows what a start restores, and exits 1 as not running.
    const stoppedJson = await podd(home, ["status", "undo", "--json"]);
    expectExit(stoppedJson, 1);
    expect(JSON.parse(stoppedJson.stdout)).toMatchObject({ name: "undo", status: "stopped", settings: { bash: false, tool_rules: ["deny bash:rm *"], max_turns: 7 } });
    const stoppedHuman = await podd(home, ["status", "undo"]);
    expectExit(stoppedHuman, 1);
    expect(stoppedHuman.stdout).toMatch(/^pod +undo\nstatus +stopped\nsaved settings \(podd start undo restores them\):\n/);
    expect(stoppedHuman.stdout).toMatch(/\n {2}bash +off \(--no-bash\)\n/);
    expect(stoppedHuman.stderr).toContain("pod undo is not running (stopped); start it again: podd start undo");

    // Restored without flags: everything saved stays.
    await started(home, ["undo"]);
    expect((await statusJson(home, "undo")).settings).toMatchObject({ bash: false, tool_rules: ["deny bash:rm *"], max_turns: 7 });
    await stop(home, "undo");

    // Undone; a rule given with --clear-tool-rules applies; the rest stays saved.
    await started(home, ["undo", "--bash", "--clear-tool-rules", "--allow-tool", "read_file", "--clear-scope"]);
    const undone = await statusJson(home, "undo");
    expect(undone.greeting.tools).toContain("bash");
    expect(undone.settings).toMatchObject({ bash: true, tool_rules: ["allow read_file"], scope: { allow: [], deny: [] }, max_turns: 7, compact_at: 0.5 });
    await stop(home, "undo");
  });
});

describe.concurrent("the cwd of a restored pod", () => {
  it("refuses (exit 2) a default name whose pod belongs to another directory; a name reopens it in its saved cwd; --cwd moves it", { timeout: 60_000 }, async ({ expect }) => {
    const home = tempHome();
    const first = mkdir(home.home, "a", "proj");
    const second = mkdir(home.home, "b", "proj");
    await started(home, [], first);
    await stop(home, "proj");

    const refused = await podd(home, ["start"], second);
    expectExit(refused, 2, ["start"]);
    expect(refused.stderr).toContain(`pod proj is the pod of ${first}, not of ${second}`);
    expect(refused.stderr).toContain("podd start <other-name>");
    expect(refused.stderr).toContain(`--cwd ${first}`);
    expect(refused.stderr).toContain("--new");
    expect(fs.existsSync(path.join(home.runtime, "proj"))).toBe(false);

    const reopened = await started(home, ["proj"], second);
    expect(reopened.stderr).toContain(`pod proj works in ${first} (its saved cwd), not in this directory`);
    expect(reopened.stdout).toContain(`cwd ${first})`);
    expect((await statusJson(home, "proj")).greeting.cwd).toBe(first);
    await stop(home, "proj");

    const moved = await started(home, ["proj", "--cwd", second], first);
    expect(moved.stderr).toContain(`pod proj moves from ${first} to ${second} (--cwd)`);
    expect((await statusJson(home, "proj")).settings.cwd).toBe(second);
    await stop(home, "proj");

    // Now the pod is the second directory's: a default start there restores it.
    const restored = await started(home, [], second);
    expect(restored.stdout).toMatch(/session: restored session /);
    await stop(home, "proj");
  });
});

describe.concurrent("what podd start says", () => {
  it("a new or restored session (entries, last activity, cwd), also in --json", { timeout: 60_000 }, async ({ expect }) => {
    const home = tempHome();
    const model = `scripted:${writeScenario(home, script().text("hello").finish().build())}`;
    const fresh = await started(home, ["said", "--cwd", home.home, "--model", model]);
    const cwd = fs.realpathSync(home.home);
    const id = /session: new session (\S+) \(cwd (.+)\)\n/.exec(fresh.stdout);
    expect(id?.[2], fresh.stdout).toBe(cwd);
    expect(fresh.stdout).toContain(`model: scripted scenario ${model.slice("scripted:".length)} (plays a fixed script)\n`);
    expectExit(await podd(home, ["send", "said", "hi"]), 0);
    await stop(home, "said");

    const again = await started(home, ["said"]);
    expect(again.stdout).toMatch(new RegExp(`session: restored session ${id?.[1]} \\(\\d+ entries, last active \\d+s ago, cwd ${cwd}\\)\\n`));
    await stop(home, "said");
    const json = await started(home, ["said", "--json"]);
    const info = JSON.parse(json.stdout) as { session: { id: string; restored: boolean; entries: number; last_active_ms: number }; cwd: string; model: { spec: string } };
    expect(info.session).toMatchObject({ id: id?.[1], restored: true });
    expect(info.session.entries).toBeGreaterThan(2);
    expect(info.session.last_active_ms).toBeLessThanOrEqual(Date.now());
    expect(info.cwd).toBe(cwd);
    expect(info.model.spec).toBe(model);
    await stop(home, "said");

    const replaced = JSON.parse((await started(home, ["said", "--new", "--json"])).stdout) as typeof info;
    expect(replaced.session.restored).toBe(false);
    expect(replaced.session.id).not.toBe(id?.[1]);
    await stop(home, "said");
  });

  it("the embedded demo model says what it is and how to use a real one", async ({ expect }) => {
    const home = tempHome();
    const result = await started(home, ["demo", "--cwd", home.home]);
    expect(result.stdout).toContain(
      "model: embedded demo model (plays a fixed script) — use --model anthropic:<model>, openai:<model> or openai-compatible:<model> --base-url … for a real one\n",
    );
    await stop(home, "demo");
  });
});

describe.concurrent("instructions", () => {
  it("--instructions FILE|TEXT and the cwd's AGENTS.md reach the model's system prompt; --no-instructions drops the saved ones", { timeout: 60_000 }, async ({ expect }) => {
    const fake = await FakeProvider.start();
    try {
      const home = tempHome();
      const cwd = mkdir(home.home, "project");
      fs.writeFileSync(path.join(cwd, "AGENTS.md"), "Run the tests with `make check`.\n");
      const notes = path.join(home.home, "notes.md");
      fs.writeFileSync(notes, "Answer in haiku.");
      fake.enqueue(openAIStream({ text: ["one"] }), openAIStream({ text: ["two"] }), openAIStream({ text: ["three"] }));
      const system = (index: number): string => {
        const body = fake.requests[index]?.body as { messages: { role: string; content: string }[] };
        expect(body.messages[0]?.role).toBe("system");
        return body.messages[0]?.content ?? "";
      };
      const model = ["--model", "openai-compatible:m", "--base-url", `${fake.origin}/v1`];

      const first = await started(home, ["taught", "--cwd", cwd, ...model, "--instructions", notes]);
      expect(first.stdout).toContain(`instructions: ${path.join(cwd, "AGENTS.md")} loaded (33 bytes)\n`);
      expect(first.stdout).toContain(`instructions: --instructions from ${notes} (16 bytes, saved)\n`);
      expectExit(await podd(home, ["send", "taught", "hi"]), 0);
      expect(system(0)).toContain("Run the tests with `make check`.");
      expect(system(0)).toContain("Answer in haiku.");
      const human = await podd(home, ["status", "taught"]);
      expect(human.stdout).toMatch(new RegExp(`\\n {2}instructions +16 bytes from ${notes}\\n`));
      expect(human.stdout).toMatch(new RegExp(`\\n {2}AGENTS.md +${path.join(cwd, "AGENTS.md")} \\(33 bytes, read at start\\)\\n`));
      await stop(home, "taught");

      // Saved: a restart without the flag keeps them; AGENTS.md is read again.
      fs.writeFileSync(path.join(cwd, "AGENTS.md"), "Use `npm test`.\n");
      await started(home, ["taught"]);
      expectExit(await podd(home, ["send", "taught", "again"]), 0);
      expect(system(1)).toContain("Answer in haiku.");
      expect(system(1)).toContain("Use `npm test`.");
      expect(system(1)).not.toContain("make check");
      await stop(home, "taught");

      await started(home, ["taught", "--no-instructions"]);
      expect((await statusJson(home, "taught")).settings.instructions).toBeNull();
      expectExit(await podd(home, ["send", "taught", "third"]), 0);
      expect(system(2)).not.toContain("Answer in haiku.");
      expect(system(2)).toContain("Use `npm test`.");
      await stop(home, "taught");
    } finally {
      await fake.close();
    }
  });

  it("metadata written before instructions were saved on their own keeps the instructions in its system prompt", async ({ expect }) => {
    const home = tempHome();
    const model = `scripted:${writeScenario(home, { responses: [] })}`;
    await started(home, ["older", "--cwd", home.home, "--model", model, "--instructions", "Legacy rule."]);
    await stop(home, "older");
    const file = path.join(home.home, "pods", "older", "metadata.json");
    const { instructions: _instructions, instructions_source: _source, agents_md: _agentsMd, ...older } = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(older.system_prompt).toMatch(/\n\nLegacy rule\.$/);
    fs.writeFileSync(file, JSON.stringify(older));
    const restarted = await started(home, ["older"]);
    expect(restarted.stdout).toContain("instructions: --instructions text (12 bytes, saved)\n");
    expect((await statusJson(home, "older")).settings.instructions).toEqual({ bytes: 12, source: "text" });
    await stop(home, "older");
  });

  it("--instructions TEXT is the text itself; over 64 KiB is refused (exit 2), an AGENTS.md over it fails the start (exit 1); nothing is left", async ({ expect }) => {
    const home = tempHome();
    const model = `scripted:${writeScenario(home, { responses: [] })}`;
    const text = await started(home, ["texty", "--cwd", home.home, "--model", model, "--instructions", "Be kind."]);
    expect(text.stdout).toContain("instructions: --instructions text (8 bytes, saved)\n");
    expect((await statusJson(home, "texty")).settings.instructions).toEqual({ bytes: 8, source: "text" });
    await stop(home, "texty");

    const big = path.join(home.home, "big.md");
    fs.writeFileSync(big, "x".repeat(64 * 1024 + 1));
    const refused = await podd(home, ["start", "huge", "--cwd", home.home, "--model", model, "--instructions", big]);
    expectExit(refused, 2);
    expect(refused.stderr).toContain(`--instructions file ${big} is 65537 bytes; instructions are limited to 65536 bytes (64 KiB)`);

    const project = mkdir(home.home, "big-project");
    fs.writeFileSync(path.join(project, "AGENTS.md"), "y".repeat(70 * 1024));
    const failed = await podd(home, ["start", "bigproj", "--cwd", project, "--model", model]);
    expectExit(failed, 1);
    expect(failed.stderr).toContain(`${path.join(project, "AGENTS.md")} is 71680 bytes; instructions are limited to 65536 bytes (64 KiB)`);
    for (const name of ["huge", "bigproj"]) {
      expect(fs.existsSync(path.join(home.home, "pods", name))).toBe(false);
      expect(fs.existsSync(path.join(home.runtime, name))).toBe(false);
    }
  });
});
