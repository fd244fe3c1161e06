/**
 * The README's main job, `npm run demo` (scripts/demo.sh), end to end: a root pod on the
 * embedded model spawns two child pods that do file work with real tools; their reports wake
 * the root, which summarises; the tree is then stopped and no pod process is left.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { isProcessAlive } from "../../src/client/pod-directory.js";
import { cleanupAll, REPO_ROOT, tempHome } from "../helpers/pod-process.js";

afterEach(cleanupAll);

it("the demo spawns two children, summarises their reports, and leaves no process behind", async () => {
  const home = tempHome();
  const child = spawn("bash", [path.join(REPO_ROOT, "scripts", "demo.sh")], { env: { ...home.env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(code, output).toBe(0);
  expect(output).toMatch(/├─ docs-survey|├─ src-survey/);
  expect(output).toContain("src-survey reported:");
  expect(output).toContain("export class PodController");
  expect(output).toContain("docs-survey reported:");
  expect(output).toContain("# podd architecture");
  expect(output).toContain("Summary: two child pods surveyed this repository in parallel");
  expect(output).toMatch(/pod docs-survey stopped\npod src-survey stopped\npod demo-\d+ stopped|pod src-survey stopped\npod docs-survey stopped\npod demo-\d+ stopped/);
  const pids = [...new Set([...output.matchAll(/spawned [a-z-]+ \(pid (\d+)\)/g)].map((match) => Number(match[1])))];
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  expect(fs.readdirSync(home.runtime).filter((entry) => !entry.startsWith("scope-allocations"))).toEqual([]);
}, 60_000);
