/**
 * bash: run a shell command in the pod's working directory and give the model its combined
 * output with the exit status. Process handling (own process group, timeout, abort, kill) is
 * bash-process.ts's; the output cap and spill file are bash-output.ts's.
 *
 * Result: the first line is the status — `exit 0`, `exit 2`, `killed by SIGSEGV`,
 * `killed (timeout after 120 s)`, `interrupted (cancel)` — then the output (or `(no output)`),
 * then notes in brackets. Exit 0 is a normal result with the summary `exit 0`; any other
 * ending is thrown as a ToolFailure so the tool result has `is_error: true` (the registry's
 * summary is then `bash failed: <status>`); a failed command is not a crashed tool.
 *
 * bash is NOT confined by the path scope: the description says so, and `podd start --no-bash`
 * leaves the tool out.
 */
import { z } from "zod";
import { defineTool, ToolFailure } from "./define-tool.js";
import { BASH_KILL_GRACE_MS } from "./bash-limits.js";
import { userUmask } from "../config/umask.js";
import type { GroupRunResult } from "./bash-process.js";

/** Time limit when the call gives none, ms. */
export const BASH_DEFAULT_TIMEOUT_MS = 120_000;
/** Largest `timeout_ms` a call may ask for, ms. */
export const BASH_MAX_TIMEOUT_MS = 600_000;
/** Most output bytes returned to the model; longer output keeps its head and tail halves. */
export const BASH_MAX_OUTPUT_BYTES = 32 * 1024;
/** Most bytes saved to the spill file (read_file reads files up to 32 MiB). */
export const BASH_MAX_SPILL_BYTES = 32 * 1024 * 1024;

const DESCRIPTION = [
  "Run a shell command with `bash -c` in the working directory. Returns the exit status on the first line (`exit 0`, `exit 1`, `killed (timeout after 120 s)`), then stdout and stderr combined in the order they were written.",
  "stdin is closed: interactive commands get end-of-file, so pass flags such as `--yes` or `-y`.",
  `The default time limit is ${BASH_DEFAULT_TIMEOUT_MS / 1000} s (timeout_ms, at most ${BASH_MAX_TIMEOUT_MS} ms).`,
  `Output over ${BASH_MAX_OUTPUT_BYTES / 1024} KiB is cut to its head and tail; the full output is saved to a file whose path is given, to read with read_file (offset/limit) or search with grep.`,
  "The command runs in its own process group, which is killed when the command ends, times out, or the run is cancelled or paused: background jobs (`&`) do not survive the call, so this cannot start long-running servers.",
  "IMPORTANT: bash is NOT confined by this pod's path scope: a command can read and change any file the pod's user can. Prefer read_file, list_files, grep, write_file and edit_file for files. `podd start --no-bash` removes this tool.",
].join("\n");

export const bashTool = defineTool({
  name: "bash",
  description: DESCRIPTION,
  input: z.object({
    command: z.string().min(1).describe("The command line, run as `bash -c <command>` in the working directory."),
    timeout_ms: z
      .number()
      .int()
      .positive()
      .max(BASH_MAX_TIMEOUT_MS)
      .optional()
      .describe(`Time limit in milliseconds (default ${BASH_DEFAULT_TIMEOUT_MS}, at most ${BASH_MAX_TIMEOUT_MS}); the process group is killed when it runs out.`),
    description: z.string().optional().describe("A few words on what the command does, for the user."),
  }),
  mainArgument: (input) => input.command,
  async execute(input, ctx) {
    if (ctx.signal.aborted) throw new ToolFailure(`${interruptedStatus(ctx.signal.reason)} before the command started; nothing ran`);
    const timeoutMs = input.timeout_ms ?? BASH_DEFAULT_TIMEOUT_MS;
    // The process and spill machinery loads on first use: it is off the pod's start-up path.
    const [{ SpillingOutput }, { findShell, runInProcessGroup }] = await Promise.all([import("./bash-output.js"), import("./bash-process.js")]);
    const output = new SpillingOutput({ maxBytes: BASH_MAX_OUTPUT_BYTES, maxSpillBytes: BASH_MAX_SPILL_BYTES, spillDir: ctx.spillDir, prefix: "bash" });
    let run: GroupRunResult;
    try {
      // The command creates the user's files: under the user's umask, not the pod's private one.
      run = await runInProcessGroup({ shell: findShell(), command: input.command, cwd: ctx.cwd, timeoutMs, signal: ctx.signal, output, env: ctx.env, umask: userUmask() });
    } catch (error) {
      await output.collect();
      throw new ToolFailure((error as Error).message);
    }
    const collected = await output.collect();
    const status = describeEnding(run, timeoutMs);
    const content = [status, collected.text === "" ? "(no output)" : collected.text.replace(/\n$/, ""), ...notes(run)].join("\n");
    // A non-zero exit, a timeout or an interruption is the command's outcome, reported as an error result.
    return { summary: status, content, isError: !(run.ending.kind === "exit" && run.ending.code === 0) };
  },
});

function describeEnding(run: GroupRunResult, timeoutMs: number): string {
  const ending = run.ending;
  if (ending.kind === "exit") return ending.code !== null ? `exit ${ending.code}` : `killed by ${ending.signal ?? "a signal"}`;
  if (ending.kind === "timeout") return `killed (timeout after ${formatSeconds(timeoutMs)})`;
  return interruptedStatus(ending.reason);
}

function interruptedStatus(reason: unknown): string {
  return typeof reason === "string" && /^[a-z_]+$/.test(reason) ? `interrupted (${reason})` : "interrupted";
}

function notes(run: GroupRunResult): string[] {
  const found: string[] = [];
  if (run.ending.kind === "exit" && run.stoppedProcesses) found.push("[background processes the command left running were stopped]");
  if (run.ending.kind !== "exit") found.push("[the command's process group was stopped; the output above is what it wrote until then]");
  if (run.killed) found.push(`[the process group did not stop within ${formatSeconds(BASH_KILL_GRACE_MS)} of SIGTERM and was killed with SIGKILL]`);
  if (run.survivors) found.push("[some processes of the group were still alive after SIGKILL]");
  if (run.pipeHeld) found.push("[a process that left the command's process group (setsid or similar) still holds its output open; it was not stopped, and what it writes now is not shown]");
  return found;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
