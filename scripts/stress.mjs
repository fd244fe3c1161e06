#!/usr/bin/env node
/**
 * `npm run test:stress`: the whole suite under load (issue 11). Starts one CPU hog per core
 * (`node -e 'for(;;){}'`, niced to nothing: they compete with the suite as equals), runs the suite
 * `--runs` times in a row (default 5), then once more in a shuffled order (`--sequence.shuffle`
 * with a printed seed, so a failing order can be replayed with `--sequence.seed=<seed>`), and
 * prints one line per run: passed, failed, wall time, and the name of every failed test.
 *
 * Options: --runs N (default 5), --hogs N (default: os.availableParallelism()), --no-shuffle,
 * --report FILE (append the summary as a Markdown table). Exit 0 only when every run passed.
 * The hogs are killed on exit, on Ctrl-C and on SIGTERM.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    hogs: { type: "string", default: String(os.availableParallelism()) },
    "no-shuffle": { type: "boolean", default: false },
    report: { type: "string" },
  },
});
const runs = Number(values.runs);
const hogCount = Number(values.hogs);
if (!Number.isInteger(runs) || runs < 0 || !Number.isInteger(hogCount) || hogCount < 0) {
  console.error("usage: npm run test:stress -- [--runs N] [--hogs N] [--no-shuffle] [--report FILE]");
  process.exit(2);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const build = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const hogs = Array.from({ length: hogCount }, () => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
const killHogs = () => {
  for (const hog of hogs) hog.kill("SIGKILL");
};
process.on("exit", killHogs);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killHogs();
    process.exit(130);
  });
}

const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-stress-"));

/** One suite run; resolves with its summary (from vitest's JSON report). */
function runSuite(label, extraArgs) {
  const outputFile = path.join(reportDir, `${label.replace(/\W+/g, "-")}.json`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, "run", "--reporter=dot", "--reporter=json", `--outputFile=${outputFile}`, ...extraArgs], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("close", (code) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      let passed = 0;
      let failed = 0;
      const failures = [];
      try {
        const report = JSON.parse(fs.readFileSync(outputFile, "utf8"));
        passed = report.numPassedTests;
        failed = report.numFailedTests;
        for (const file of report.testResults) {
          for (const test of file.assertionResults) if (test.status === "failed") failures.push(`${path.relative(root, file.name)} > ${test.fullName}`);
          // A file that failed to load has no tests to name.
          if (file.status === "failed" && file.assertionResults.length === 0) failures.push(`${path.relative(root, file.name)}: ${file.message}`);
        }
      } catch (error) {
        failures.push(`no report: ${error.message}`);
      }
      resolve({ label, code, passed, failed, seconds, failures });
    });
  });
}

const results = [];
for (let run = 1; run <= runs; run += 1) {
  console.log(`\n── stress run ${run}/${runs} (${hogCount} CPU hogs) ──`);
  results.push(await runSuite(`run ${run}`, []));
}
if (!values["no-shuffle"]) {
  const seed = Math.floor(Math.random() * 2 ** 31);
  console.log(`\n── shuffled run (seed ${seed}; replay: npx vitest run --sequence.shuffle --sequence.seed=${seed}) ──`);
  results.push(await runSuite(`shuffled seed ${seed}`, ["--sequence.shuffle", `--sequence.seed=${seed}`]));
}
killHogs();

const ok = results.every((result) => result.code === 0 && result.failed === 0 && result.passed > 0);
console.log(`\nstress: ${results.filter((result) => result.code === 0).length}/${results.length} runs passed under ${hogCount} CPU hogs`);
for (const result of results) {
  console.log(`  ${result.label}: ${result.passed} passed, ${result.failed} failed, ${result.seconds} s${result.code === 0 ? "" : ` (exit ${result.code})`}`);
  for (const failure of result.failures) console.log(`    ✗ ${failure}`);
}
if (values.report) {
  const date = new Date().toISOString().slice(0, 10);
  const rows = results.map((result) => `| ${date} | ${result.label} | ${hogCount} | ${result.passed} | ${result.failed} | ${result.seconds} | ${result.failures.join("<br>") || "—"} |`);
  fs.appendFileSync(values.report, `${rows.join("\n")}\n`);
}
process.exit(ok ? 0 : 1);
