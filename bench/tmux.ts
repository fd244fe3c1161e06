/**
 * A minimal tmux driver for the attach benchmark, after test/helpers/tmux.ts (copied, not
 * imported: bench/ does not depend on test code). Each screen is a tmux server of its own on a
 * socket inside a benchmark temp dir, so a user's tmux is never touched. The server starts with
 * a placeholder command (`sleep`); `respawn()` then replaces it with the command under test, so
 * a timed start does not include starting the tmux server. The server's and the pane's pids are
 * tracked with support.ts, so a failure or Ctrl-C kills them too.
 */
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { trackPid, untrackPid } from "./support.js";

/** Whether tmux is installed. */
export function hasTmux(): boolean {
  return spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0;
}

/** Quote one argument for the shell line tmux runs. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class TmuxScreen {
  readonly name = "bench";
  private readonly pids = new Set<number>();

  private constructor(private readonly socketPath: string) {}

  /** A detached `width` × `height` session on a server of its own at `<dir>/tmux.sock`, running a placeholder. */
  static start(dir: string, options: { width: number; height: number }): TmuxScreen {
    const screen = new TmuxScreen(path.join(dir, "tmux.sock"));
    execFileSync("tmux", ["-S", screen.socketPath, "-f", "/dev/null", "new-session", "-d", "-s", screen.name, "-x", String(options.width), "-y", String(options.height), "sleep 3600"]);
    screen.track(Number(screen.tmux("display-message", "-p", "-t", screen.name, "#{pid}").trim()));
    screen.tmux("set-option", "-t", screen.name, "remain-on-exit", "on");
    return screen;
  }

  private track(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) return;
    this.pids.add(pid);
    trackPid(pid);
  }

  private tmux(...args: string[]): string {
    return execFileSync("tmux", ["-S", this.socketPath, ...args], { encoding: "utf8" });
  }

  /**
   * Replace the pane's command with `command`, run with exactly `env` added to the server's
   * environment, CI variables and NO_COLOR removed, TERM=xterm-256color (`exec env …`, so the
   * pane's process is the command itself).
   */
  respawn(command: readonly string[], env: Record<string, string>): void {
    const assignments = Object.entries(env).map(([key, value]) => `${key}=${shellQuote(value)}`);
    const unset = ["CI", "GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR", "XDG_RUNTIME_DIR"].flatMap((name) => ["-u", name]);
    const line = ["exec", "env", ...unset, "TERM=xterm-256color", ...assignments, ...command.map(shellQuote)].join(" ");
    this.tmux("respawn-pane", "-k", "-t", this.name, line);
  }

  /** The pid of the pane's process (tracked for cleanup). */
  panePid(): number {
    const pid = Number(this.tmux("display-message", "-p", "-t", this.name, "#{pane_pid}").trim());
    this.track(pid);
    return pid;
  }

  /** The visible screen as text (no escape sequences). */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", this.name);
  }

  keys(...keys: string[]): void {
    this.tmux("send-keys", "-t", this.name, ...keys);
  }

  /** Whether the pane's command has exited. */
  exited(): boolean {
    return this.tmux("display-message", "-p", "-t", this.name, "#{pane_dead}").trim() === "1";
  }

  /** Stop the server (and with it the pane); SIGKILL whatever it leaves. */
  kill(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // Already gone.
    }
    for (const pid of this.pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone.
      }
      untrackPid(pid);
    }
    this.pids.clear();
  }
}
