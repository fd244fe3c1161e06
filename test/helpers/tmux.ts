/**
 * A real terminal for end-to-end tests of the TUI: a tmux session on its own server socket
 * (so tests never touch a user's tmux), driven with send-keys and read with capture-pane.
 * Waiting is on the screen's content (polled: a terminal gives no change events), bounded by
 * a timeout that reports what the screen showed.
 */
import { execFileSync, spawnSync } from "node:child_process";

let counter = 0;

/** Whether tmux is installed (CI installs it: .ci/run). */
export function hasTmux(): boolean {
  return spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0;
}

/** Quote one argument for the shell line tmux runs. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class TmuxSession {
  readonly server: string;
  readonly name = "tui";

  private constructor(server: string) {
    this.server = server;
  }

  /** Start `command` in a detached session of `width` × `height` cells with exactly `env` added (CI variables removed). */
  static start(command: readonly string[], options: { env: Record<string, string | undefined>; width?: number; height?: number; cwd?: string }): TmuxSession {
    const server = `podd-test-${process.pid}-${++counter}`;
    const session = new TmuxSession(server);
    const assignments = Object.entries(options.env)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => `${key}=${shellQuote(value)}`);
    const line = ["env", "-u", "CI", "-u", "GITHUB_ACTIONS", "TERM=xterm-256color", ...assignments, ...command.map(shellQuote)].join(" ");
    execFileSync("tmux", ["-L", server, "-f", "/dev/null", "new-session", "-d", "-s", session.name, "-x", String(options.width ?? 100), "-y", String(options.height ?? 30), ...(options.cwd ? ["-c", options.cwd] : []), line]);
    session.tmux("set-option", "-t", session.name, "remain-on-exit", "on");
    return session;
  }

  private tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.server, ...args], { encoding: "utf8" });
  }

  /** The visible screen as text. */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", this.name);
  }

  /** Keys as tmux names them (`Enter`, `C-c`, `Escape`, `PageUp`) or literal text with `literal: true`. */
  keys(...keys: string[]): void {
    this.tmux("send-keys", "-t", this.name, ...keys);
  }

  type(text: string): void {
    this.tmux("send-keys", "-t", this.name, "-l", text);
  }

  /** Whether the command in the pane has exited. */
  exited(): boolean {
    return this.tmux("display-message", "-p", "-t", this.name, "#{pane_dead}").trim() === "1";
  }

  /** Resolves with the screen once `match` accepts it; rejects after `timeoutMs` with the last screen. */
  async waitFor(match: RegExp | string | ((screen: string) => boolean), timeoutMs = 20_000): Promise<string> {
    const test = typeof match === "function" ? match : typeof match === "string" ? (screen: string) => screen.includes(match) : (screen: string) => match.test(screen);
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = this.screen();
      if (test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(match)}; the screen was:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async waitForExit(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exited()) {
      if (Date.now() > deadline) throw new Error(`the pane did not exit within ${timeoutMs} ms; the screen was:\n${this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  kill(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
  }
}
