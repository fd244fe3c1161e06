/**
 * The README's main job, `npm run demo` (scripts/demo.sh), end to end: a root pod on the
 * embedded model spawns two child pods that do file work with real tools; their reports wake
 * the root, which summarises; the tree is then stopped and no pod process is left. Run again
 * with the same PODD_HOME it passes again (the root reuses its former children's names); a
 * failed step makes it exit non-zero with `demo failed: …`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { isProcessAlive } from "../../src/client/pod-directory.js";
import { listSessions } from "../../src/client/session-files.js";
import { expectExit, killCliProcesses, runCli, trackDaemonsUnder } from "../helpers/cli-run.js";
import { cleanupAll, REPO_ROOT, tempHome } from "../helpers/pod-process.js";

/** Demo scripts still running and the runtime dirs they use: a test that fails or times out leaves neither behind. */
const demos = new Set<ChildProcess>();
const runtimes = new Set<string>();
afterEach(async () => {
  for (const demo of demos) {
    // The script and the CLI commands it runs are in its own process group; the pods it daemonised are not.
    if (demo.exitCode === null && demo.signalCode === null && demo.pid !== undefined) process.kill(-demo.pid, "SIGKILL");
  }
  demos.clear();
  for (const runtime of runtimes) trackDaemonsUnder(runtime);
  runtimes.clear();
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

/** Run scripts/demo.sh in `home`; resolves with its exit code and its stdout and stderr, interleaved. */
async function runDemo(home: Home): Promise<{ code: number | null; output: string }> {
  runtimes.add(home.runtime);
  const child = spawn("bash", [path.join(REPO_ROOT, "scripts", "demo.sh")], { env: { ...home.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  demos.add(child);
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  // `close`, not `exit`: only then has all of its output been read.
  const code = await new Promise<number | null>((resolve) => child.on("close", (exitCode) => resolve(exitCode)));
  demos.delete(child);
  return { code, output };
}

function expectSuccessfulDemo(home: Home, { code, output }: { code: number | null; output: string }): void {
  expect(code, output).toBe(0);
  expect(output).not.toContain("demo failed");
  expect(output).toMatch(/├─ docs-survey|├─ src-survey/);
  expect(output).toContain("src-survey reported:");
  expect(output).toContain("export class PodController");
  expect(output).toContain("docs-survey reported:");
  expect(output).toContain("# podd architecture");
  expect(output).toContain("Summary: two child pods surveyed this repository in parallel");
  expect(output).toMatch(/pod docs-survey stopped\npod src-survey stopped\npod demo stopped|pod src-survey stopped\npod docs-survey stopped\npod demo stopped/);
  const pids = [...new Set([...output.matchAll(/spawned [a-z-]+ \(pid (\d+)\)/g)].map((match) => Number(match[1])))];
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  expect(fs.readdirSync(home.runtime).filter((entry) => !entry.startsWith("scope-allocations"))).toEqual([]);
}

it("the demo spawns two children, summarises their reports, and leaves no process behind; run again in the same PODD_HOME it passes again", async () => {
  const home = tempHome();
  expectSuccessfulDemo(home, await runDemo(home));
  expectSuccessfulDemo(home, await runDemo(home));
  // Each run started the root and its children on new sessions; the first run's are kept.
  const sessionsOf = (pod: string) => listSessions({ home: home.home, runtime: home.runtime }).filter((session) => session.podName === pod);
  for (const pod of ["demo", "src-survey", "docs-survey"]) expect(sessionsOf(pod)).toHaveLength(2);
}, 90_000);

it("a demo whose step fails exits 1 and says what failed: a user's stopped pod holds a child's name", async () => {
  const home = tempHome();
  expectExit(await runCli(["start", "src-survey"], { env: home.env }), 0, ["start", "src-survey"]);
  expectExit(await runCli(["stop", "src-survey"], { env: home.env }), 0, ["stop", "src-survey"]);
  const { code, output } = await runDemo(home);
  expect(code, output).toBe(1);
  expect(output).toContain("demo failed: a tool call of the root failed: a pod named src-survey already exists (stopped, a pod started by a user");
  expect(output).not.toContain("Summary: two child pods");
  // The failed demo still stopped what it started.
  expect(fs.readdirSync(home.runtime).filter((entry) => !entry.startsWith("scope-allocations"))).toEqual([]);
}, 60_000);
