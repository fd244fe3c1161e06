/** Commands that talk to a running pod over its socket: send, notify, pause, resume, cancel, stop, attach --json. */
import fs from "node:fs";
import type { RunResult } from "../../protocol/index.js";
import { isProcessAlive, readPodStatus } from "../client/pod-directory.js";
import { podPaths } from "../config/paths.js";
import { CliError, connectTo, poddPaths, request } from "./targets.js";

/** Exit codes of `podd send` by how the run ended. */
export const SEND_EXIT_CODES: Record<RunResult | "error", number> = { finished: 0, limit_reached: 0, paused: 3, rolled_back: 4, error: 1 };

/**
 * `podd send <pod> <text…>`: send a user turn and stream the assistant's text to stdout until
 * the run ends (`--json`: every event line, raw). Exit 0 finished/limit_reached, 3 paused,
 * 4 rolled back, 1 error.
 */
export async function sendCommand(target: string, words: string[], options: { json?: boolean }): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  const text = words.join(" ");
  let sent = false;
  let ended = false;
  let endedWithNewline = true;
  const done = new Promise<RunResult | "error">((resolve) => {
    client.onEvent((event, line) => {
      if (!sent || ended) return;
      if (options.json) process.stdout.write(`${line}\n`);
      else if (event.event === "text_delta") {
        process.stdout.write(event.data.text);
        endedWithNewline = event.data.text.endsWith("\n");
      } else if (event.event === "text_done" && !endedWithNewline) {
        process.stdout.write("\n");
        endedWithNewline = true;
      } else if (event.event === "tool_call_done") process.stderr.write(`[tool] ${event.data.name} ${event.data.arguments}\n`);
      else if (event.event === "tool_result") process.stderr.write(`[tool] ${event.data.is_error ? "error: " : ""}${event.data.summary}\n`);
      if (event.event === "run_end") {
        ended = true;
        resolve(event.data.result);
      }
      if (event.event === "error" && event.reply_to === undefined) {
        ended = true;
        if (!options.json) process.stderr.write(`podd: ${event.data.message} (${event.data.code})\n`);
        resolve("error");
      }
    });
    void client.closed.then(() => resolve("error"));
  });
  sent = true;
  await request(client, { method: "run", params: { input: [{ kind: "text", content: text }] } });
  const result = await done;
  if (!options.json && result !== "finished") process.stderr.write(`podd: run ended: ${result}\n`);
  process.exitCode = SEND_EXIT_CODES[result];
  await client.close();
}

/** `podd notify <pod> <text…> [--no-wake]`. */
export async function notifyCommand(target: string, words: string[], options: { wake: boolean }): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  await request(client, { method: "notify", params: { message: words.join(" "), wake: options.wake } });
  await client.close();
}

/**
 * `podd pause|cancel <pod>`: prints the status the pod settles in once the run has ended (or
 * `paused` at once for a pod already paused); `podd resume <pod>`: returns once accepted.
 */
export async function controlCommand(target: string, method: "pause" | "resume" | "cancel"): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  let status: string | undefined;
  let accepted = false;
  const settled = new Promise<string>((resolve, reject) => {
    client.onEvent((event) => {
      if (event.event === "snapshot") status = event.data.status;
      if (event.event === "status") status = event.data.status;
      if (accepted && status !== undefined && status !== "running") resolve(status);
    });
    void client.closed.then(() => reject(new CliError(`pod ${target} closed the connection before the run ended`)));
  });
  settled.catch(() => undefined); // only awaited when the run has not ended yet
  await request(client, { method });
  accepted = true;
  if (method !== "resume") process.stdout.write(`${status !== undefined && status !== "running" ? status : await settled}\n`);
  await client.close();
}

/** `podd stop <pod>`: shut the pod down and wait until its process has exited. */
export async function stopCommand(target: string, options: { timeoutMs: number }): Promise<void> {
  const pid = target.includes("/") ? undefined : readPodStatus(poddPaths(), target)?.pid;
  const client = await connectTo(target, { buffer: false });
  await request(client, { method: "shutdown" });
  await client.closed;
  if (pid !== undefined) {
    const deadline = Date.now() + options.timeoutMs;
    while (isProcessAlive(pid)) {
      if (Date.now() > deadline) throw new CliError(`pod ${target} (pid ${pid}) did not exit within ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  process.stdout.write(`pod ${target} stopped\n`);
}

/**
 * `podd attach <pod> --json`: a raw JSON-lines bridge for scripts: stdin lines go to the
 * socket, event lines come out on stdout. Ends when the pod closes the connection, on
 * `--until EVENT` after the first such event, or on SIGINT.
 */
export async function attachJsonCommand(target: string, options: { until?: string }): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  let done = false;
  client.onEvent((event, line) => {
    if (done) return;
    process.stdout.write(`${line}\n`);
    if (options.until && event.event === options.until) {
      done = true;
      void client.close();
    }
  });
  process.stdin.on("data", (chunk: Buffer) => client.writeRaw(chunk));
  process.once("SIGINT", () => void client.close());
  await client.closed;
  process.stdin.destroy();
}

/** `podd logs <pod>`: print the pod's log file (pino JSON lines); `--follow` keeps printing. */
export async function logsCommand(name: string, options: { follow?: boolean; lines?: number }): Promise<void> {
  let logFile: string;
  try {
    logFile = podPaths(poddPaths(), name).logFile;
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  if (!fs.existsSync(logFile)) throw new CliError(`no log for pod ${name} at ${logFile}`);
  const text = fs.readFileSync(logFile, "utf8");
  const lines = text.split("\n").filter((line) => line !== "");
  process.stdout.write(lines.slice(-(options.lines ?? lines.length)).map((line) => `${line}\n`).join(""));
  if (!options.follow) return;
  let offset = Buffer.byteLength(text);
  await new Promise<void>((resolve) => {
    const watcher = fs.watch(logFile, () => {
      const size = fs.statSync(logFile).size;
      if (size < offset) offset = 0;
      if (size === offset) return;
      const fd = fs.openSync(logFile, "r");
      const buffer = Buffer.alloc(size - offset);
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      fs.closeSync(fd);
      offset = size;
      process.stdout.write(buffer);
    });
    process.once("SIGINT", () => {
      watcher.close();
      resolve();
    });
  });
}
