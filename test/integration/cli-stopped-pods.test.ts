/**
 * The CLI and pods that are not running, with real pod processes and the real `podd`:
 * `ls --all` (stopped pods, text, --json, --tree), the "not running" / "unknown pod" errors,
 * `podd rm`, `podd logs` (pretty, --json, --follow) and the exit code of a usage error. Waits
 * are on process exits and output.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, it } from "vitest";
import { listSessions } from "../../src/client/session-files.js";
import { expectExit, killCliProcesses, spawnCli, runCliIn } from "../helpers/cli-run.js";
import { cleanupAll, startPod, tempHome } from "../helpers/pod-process.js";
import { waitForFileText } from "../helpers/wait-for-file.js";

afterAll(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

const podd = runCliIn;

function sessionsOf(home: Home, pod: string): string[] {
  return listSessions({ home: home.home, runtime: home.runtime })
    .filter((session) => session.podName === pod)
    .map((session) => session.sessionId);
}

/** A pod that ran and was stopped (its process has exited and its runtime dir is gone). */
async function stoppedPod(home: Home, name: string, options: { parentSocket?: string; extraArgs?: string[] } = {}): Promise<void> {
  const pod = await startPod({ home, name, ...options });
  await pod.stop();
}

describe.concurrent("pods that are not running", () => {
  it("ls --all lists stopped pods with status stopped and their last activity; --json and --tree --all nest a stopped child under its stopped parent", async ({ expect }) => {
    const home = tempHome();
    const root = await startPod({ home, name: "root" });
    const kid = await startPod({ home, name: "kid", parentSocket: root.socket });
    await startPod({ home, name: "live" });
    const before = Date.now();
    await kid.stop();
    await root.stop();

    const ls = await podd(home, ["ls"]);
    expectExit(ls, 0);
    expect(ls.stdout).toMatch(/^live\s+idle\s/m);
    expect(ls.stdout).not.toMatch(/^(root|kid)\s/m);

    const all = await podd(home, ["ls", "--all"]);
    expectExit(all, 0);
    const rows = all.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME\s+STATUS\s+PID\s+AGE\s+LAST ACTIVITY\s+MODEL\s+SOCKET$/);
    expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 3))).toEqual([
      ["kid", "stopped", "-"],
      ["live", "idle", expect.stringMatching(/^\d+$/)],
      ["root", "stopped", "-"],
    ]);
    expect(rows[1]).toMatch(/ \d+s ago\s+scripted:/);

    const json = JSON.parse((await podd(home, ["ls", "--all", "--json"])).stdout) as Record<string, unknown>[];
    expect(json.map((pod) => [pod.name, pod.state])).toEqual([
      ["kid", "stopped"],
      ["live", "alive"],
      ["root", "stopped"],
    ]);
    expect(json[0]).toMatchObject({ model: expect.stringMatching(/^scripted:/), parent_socket: root.socket, session_id: expect.any(String) });
    for (const pod of json) expect(pod.last_activity_ms).toBeGreaterThan(before - 60_000);

    const tree = await podd(home, ["ls", "--all", "--tree"]);
    expectExit(tree, 0);
    expect(tree.stdout.trimEnd().split("\n").slice(1).map((row) => row.split(/\s{2,}/).slice(0, 2))).toEqual([
      ["live", "idle"],
      ["root", "stopped"],
      ["└─ kid", "stopped"],
    ]);
    const treeJson = JSON.parse((await podd(home, ["ls", "--all", "--tree", "--json"])).stdout) as { name: string; children: { name: string }[] }[];
    expect(treeJson.map((node) => [node.name, node.children.map((child) => child.name)])).toEqual([
      ["live", []],
      ["root", ["kid"]],
    ]);
  }, 60_000);

  it("a command on a stopped pod says `podd start NAME`; on an unknown name it says so and suggests near names", async ({ expect }) => {
    const home = tempHome();
    await stoppedPod(home, "stopper");
    for (const args of [["send", "stopper", "hi"], ["status", "stopper"], ["attach", "stopper", "--json"], ["stop", "stopper"], ["stop", "stopper", "--tree"], ["cancel", "stopper"]]) {
      const result = await podd(home, args);
      expectExit(result, 1, args);
      expect(result.stderr, args.join(" ")).toContain("podd: pod stopper is not running (stopped); start it again: podd start stopper");
    }
    for (const args of [["send", "stoper", "hi"], ["status", "stoper"], ["stop", "stoper", "--tree"], ["logs", "stoper"]]) {
      const result = await podd(home, args);
      expectExit(result, 1, args);
      expect(result.stderr, args.join(" ")).toContain("podd: unknown pod stoper; did you mean stopper? (`podd ls --all` lists the pods; `podd start stoper` starts a new one)");
    }
    const far = await podd(home, ["send", "zzz", "hi"]);
    expectExit(far, 1);
    expect(far.stderr).toContain("podd: unknown pod zzz (`podd ls --all`");
  }, 60_000);

  it("rm removes a stopped pod's data dir and sessions (--keep-sessions keeps them) and a stale runtime dir; refuses running pods, children of running pods and unknown names", async ({ expect }) => {
    const home = tempHome();
    await stoppedPod(home, "old");
    await stoppedPod(home, "old", { extraArgs: ["--new"] });
    await stoppedPod(home, "keeper");
    const running = await startPod({ home, name: "running" });
    await stoppedPod(home, "orphan", { parentSocket: running.socket });
    const killed = await startPod({ home, name: "killed" });
    killed.child.kill("SIGKILL");
    await killed.exited;
    expect(sessionsOf(home, "old")).toHaveLength(2);

    const refused = await podd(home, ["rm", "running", "orphan", "nobody", "olde"]);
    expectExit(refused, 1, ["rm", "running", "orphan", "nobody", "olde"]);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("podd: pod running is running; stop it first: podd stop running\n");
    expect(refused.stderr).toContain("podd: pod orphan is a child of the running pod running, which may start it again or read its output; stop that pod first: podd stop running\n");
    expect(refused.stderr).toContain("podd: unknown pod nobody");
    expect(refused.stderr).toContain("podd: unknown pod olde; did you mean old?");
    expect(refused.stderr).toContain("podd: 4 pods not removed");
    for (const name of ["running", "orphan"]) expect(fs.existsSync(path.join(home.home, "pods", name))).toBe(true);

    const removed = await podd(home, ["rm", "old", "killed"]);
    expectExit(removed, 0, ["rm", "old", "killed"]);
    expect(removed.stdout).toBe("removed pod old (its data dir, 2 sessions)\nremoved pod killed (its data dir, 1 session, a stale runtime dir)\n");
    for (const name of ["old", "killed"]) {
      expect(fs.existsSync(path.join(home.home, "pods", name))).toBe(false);
      expect(sessionsOf(home, name)).toEqual([]);
    }
    expect(fs.existsSync(path.join(home.runtime, "killed"))).toBe(false);

    const kept = await podd(home, ["rm", "keeper", "--keep-sessions"]);
    expectExit(kept, 0);
    expect(kept.stdout).toBe("removed pod keeper (its data dir, 0 sessions); kept 1 session (podd sessions --pod keeper)\n");
    expect(sessionsOf(home, "keeper")).toHaveLength(1);

    const all = await podd(home, ["ls", "--all"]);
    expect(all.stdout.trimEnd().split("\n").slice(1).map((row) => row.split(/\s+/)[0])).toEqual(["orphan", "running"]);
    const badName = await podd(home, ["rm", "../etc"]);
    expectExit(badName, 2);
    expect(fs.existsSync(path.join(home.home, "pods", "orphan"))).toBe(true);
  }, 60_000);

  it("logs pretty-prints the pod's pino log (-n keeps the last lines), --json prints it raw, --follow pretty-prints new lines", async ({ expect }) => {
    const home = tempHome();
    const pod = await startPod({ home, name: "logger" });
    // pino writes asynchronously: under load the ready pod's first lines may not be in the file yet.
    const text = await waitForFileText(path.join(home.home, "pods", "logger", "pod.log"), (logged) => /"msg":"pod ready"[^\n]*\n/.test(logged));
    const raw = text.trimEnd().split("\n");
    const last = JSON.parse(raw.at(-1) ?? "{}") as { msg: string; pid: number };

    const pretty = await podd(home, ["logs", "logger", "-n", "1"]);
    expectExit(pretty, 0);
    expect(pretty.stdout).toMatch(new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO \\(${last.pid}\\): ${last.msg}`));
    expect(pretty.stdout.split("\n")).toHaveLength(2);
    const json = await podd(home, ["logs", "logger", "--json"]);
    expect(json.stdout.trimEnd().split("\n")).toEqual(raw);

    const follow = spawnCli(["logs", "logger", "-f", "-n", "1"], { env: home.env });
    await follow.waitForOutput(/INFO/);
    await pod.stop();
    await follow.waitForOutput(/\] INFO \(\d+\): pod stopped/);
    expect(follow.stdout()).not.toContain('"level"');
    follow.child.kill("SIGINT");
    expect((await follow.result).code).toBe(0);
  }, 60_000);

  it("a usage error (unknown option or command, bad option value, missing argument) exits 2; --help exits 0", async ({ expect }) => {
    const home = tempHome();
    for (const args of [["--frob"], ["frob"], ["ls", "--frob"], ["start", "x", "--max-turns", "0"], ["send"], []]) {
      const result = await podd(home, args);
      expectExit(result, 2, args);
      expect(result.stderr, args.join(" ")).toMatch(/error: |Usage: podd/);
    }
    const help = await podd(home, ["--help"]);
    expectExit(help, 0);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failed or pod unreachable, 2 usage or validation error; podd send also 3-6 (README.md, "Exit codes").');
  }, 60_000);
});
