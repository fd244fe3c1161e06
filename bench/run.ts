/**
 * The benchmark runner (`npm run bench`, after `npm run build`): runs start-up, round-trip
 * and fan-out in that order (the heaviest last, so its garbage does not disturb the
 * latency numbers), each against its baseline measured in the same run, then the provider
 * path against the scripted model, the session benchmark (restore, append) and the child-pod
 * benchmark (spawning 10 children, memory per idle child; all informative, no target) and the
 * attach benchmark (first screen of `podd attach` on a 5,000-entry session in tmux), prints a
 * summary and writes the results into docs/benchmarks.md between the bench markers (text outside
 * them, such as hand-written analysis, is kept). Every process and temp dir is cleaned up
 * on success, failure, Ctrl-C and the overall time limit; nothing is written when a
 * benchmark fails, and the exit code is then 1.
 *
 * For development, `npm run bench -- --only attach` (or `tsx bench/run.ts --only g`) runs one
 * group and prints its summary rows and its section, without writing docs/benchmarks.md; only
 * the groups with a section renderer of their own are offered (so far: attach).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runAttach } from "./attach.js";
import { runChildren } from "./children.js";
import { runFanout } from "./fanout.js";
import { runProvider } from "./provider.js";
import { attachChecks, attachSection, checks, renderReport, type BenchResults, type Check, type MachineInfo } from "./report.js";
import { runRoundTrip } from "./round-trip.js";
import { runSessions } from "./sessions.js";
import { runStartup } from "./startup.js";
import { cleanupAll, DAEMON_ENTRY, REPO_ROOT } from "./support.js";

/** The whole suite is stopped (and cleaned up) after this long. */
const SUITE_TIMEOUT_MS = 5 * 60_000;
const REPORT_FILE = path.join(REPO_ROOT, "docs", "benchmarks.md");
const BEGIN_MARKER = "<!-- bench:begin -->";
const END_MARKER = "<!-- bench:end -->";

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: REPO_ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return "unknown";
  }
}

function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: gitCommit(),
    loadAverage: os.loadavg(),
  };
}

function writeReport(markdown: string): void {
  const block = `${BEGIN_MARKER}\n${markdown}\n${END_MARKER}`;
  let text = `# Benchmarks\n\n${block}\n`;
  if (fs.existsSync(REPORT_FILE)) {
    const existing = fs.readFileSync(REPORT_FILE, "utf8");
    const begin = existing.indexOf(BEGIN_MARKER);
    const end = existing.indexOf(END_MARKER);
    if (begin !== -1 && end > begin) text = existing.slice(0, begin) + block + existing.slice(end + END_MARKER.length);
  }
  fs.mkdirSync(path.dirname(REPORT_FILE), { recursive: true });
  fs.writeFileSync(REPORT_FILE, text);
}

function logChecks(all: Check[]): void {
  for (const check of all) {
    const verdict = check.pass === undefined ? "info" : check.pass ? "pass" : "MISS";
    log(`  ${verdict}  ${check.benchmark}: ${check.measure} = ${check.value} (target ${check.target})`);
  }
}

/** `--only <group>`: the group named, or undefined for the whole suite. */
function onlyGroup(argv: string[]): string | undefined {
  const index = argv.indexOf("--only");
  if (index === -1) return undefined;
  const group = argv[index + 1];
  if (group === "attach" || group === "g") return "attach";
  throw new Error(`--only: unknown group ${group ?? "(none)"}; known: attach (g)`);
}

async function main(): Promise<number> {
  if (!fs.existsSync(DAEMON_ENTRY)) {
    process.stderr.write(`bench: ${DAEMON_ENTRY} is missing; run \`npm run build\` (npm run bench does it first)\n`);
    return 1;
  }
  const only = onlyGroup(process.argv.slice(2));
  const machine = machineInfo();
  log(`podd benchmarks: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}`);
  const startedAt = Date.now();
  if (only === "attach") {
    log("(g) attach");
    const attach = await runAttach(log);
    log("\nsummary");
    logChecks(attachChecks(attach));
    log(`\n${attachSection(attach)}`);
    log(`\n(only one group: docs/benchmarks.md not written; ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
    return 0;
  }
  log("(c) start-up");
  const startup = await runStartup(log);
  log("(b) round trip");
  const roundTrip = await runRoundTrip(log);
  log("(a) fan-out");
  const fanout = await runFanout(log);
  log("(d) provider path");
  const provider = await runProvider(log);
  log("(e) sessions");
  const sessions = await runSessions(log);
  log("(f) child pods");
  const children = await runChildren(log);
  log("(g) attach");
  const attach = await runAttach(log);
  const results: BenchResults = {
    machine: { ...machine, loadAverageAfter: os.loadavg() },
    fanout,
    roundTrip,
    startup,
    provider,
    sessions,
    children,
    attach,
    durationMs: Date.now() - startedAt,
  };

  log("\nsummary");
  logChecks(checks(results));
  writeReport(renderReport(results));
  log(`\nwrote ${path.relative(process.cwd(), REPORT_FILE)} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
  return 0;
}

process.on("exit", cleanupAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    cleanupAll();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: the suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s; stopping\n`);
  cleanupAll();
  process.exit(1);
}, SUITE_TIMEOUT_MS);
watchdog.unref();

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  cleanupAll();
}
