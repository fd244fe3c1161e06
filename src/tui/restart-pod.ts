/**
 * Restarting a pod that was stopped on purpose, from the TUI: runs `podd start <name>` with the
 * same CLI entry and Node as the running `podd attach` (process.execPath + process.argv[1]), in
 * the TUI's environment (so PODD_HOME, PODD_RUNTIME_DIR and the model keys are the user's). The
 * pod restores its own session and settings; `podd start` returns once its socket accepts.
 */
import { spawn } from "node:child_process";

/** How long `podd start` may take before the TUI gives up waiting, ms (its own limit is 15 s). */
export const RESTART_TIMEOUT_MS = 30_000;

/** Most characters of `podd start`'s stderr kept for the error. */
const MAX_STDERR_CHARS = 4_000;

/** Restart pod `name` with the CLI at `cliEntry`; rejects with the CLI's own error (its last stderr line). */
export function restartPodWithCli(cliEntry: string, name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, "start", name], { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_STDERR_CHARS);
    });
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`podd start ${name} did not finish within ${RESTART_TIMEOUT_MS / 1000}s`));
    }, RESTART_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const last = stderr.trim().split("\n").at(-1)?.trim();
      reject(new Error(last || `podd start ${name} exited with ${code ?? signal}`));
    });
  });
}
