/**
 * The pod process entry: `node dist/src/daemon-main.js <name> [--cwd DIR] [--model SPEC]
 * [--parent SOCKET] [--max-turns N]`. Started by `podd start` (detached, or attached with
 * `--foreground`); not a user-facing command. When `PODD_READY_FD` names an inherited pipe,
 * one JSON line reports readiness (`{"ok":true,"socket":…,"pid":…}`) or the start-up error
 * (`{"ok":false,"error":…}`) on it, then the fd is closed.
 */
import fs from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { resolvePaths } from "./config/paths.js";
import { runDaemon } from "./daemon.js";

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("expected a positive whole number");
  return number;
}

function reportReady(line: object): void {
  const fd = Number(process.env.PODD_READY_FD);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    fs.writeSync(fd, `${JSON.stringify(line)}\n`);
    fs.closeSync(fd);
  } catch {
    // The starter went away; nothing to tell.
  }
  delete process.env.PODD_READY_FD;
}

const program = new Command("podd-daemon")
  .argument("<name>")
  .option("--cwd <dir>", "working directory", process.cwd())
  .option("--model <spec>", "model spec")
  .option("--parent <socket>", "parent pod socket")
  .option("--max-turns <n>", "turn bound per run", positiveInt)
  .action(async (name: string, options: { cwd: string; model?: string; parent?: string; maxTurns?: number }) => {
    try {
      await runDaemon({
        name,
        cwd: options.cwd,
        paths: resolvePaths(),
        modelSpec: options.model,
        parentSocket: options.parent,
        maxTurnsPerRun: options.maxTurns,
        onReady: ({ socket, pid }) => {
          reportReady({ ok: true, socket, pid });
          if (!process.env.PODD_QUIET) process.stderr.write(`pod ${name} listening on ${socket}\n`);
        },
      });
      process.exitCode = 0;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      reportReady({ ok: false, error: message });
      process.stderr.write(`podd: cannot start pod ${name}: ${message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
