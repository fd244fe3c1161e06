/** Commands that talk to a running pod over its socket: send, notify, pause, resume, cancel, stop, attach --json. */
import type { Method, RunResult } from "../../protocol/index.js";
import { isProcessAlive, listPods, readPodStatus, type PodListing } from "../client/pod-directory.js";
import { buildPodTree, findPodTreeNode, podTreeLevelsDeepestFirst } from "../client/pod-tree.js";
import { CliError, connectTo, notRunningMessage, poddPaths, request } from "./targets.js";

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
 * `podd cancel <pod> --tree` (`cascade`) sends `{"method":"cancel","params":{"cascade":true}}`:
 * the pod forwards the cancel to its descendants; the output is still this pod's status only
 * (the CLI cannot see which pods the cascade reached). Refused as `not_running` by an idle pod,
 * like a plain cancel.
 */
export async function controlCommand(target: string, methodName: "pause" | "resume" | "cancel", options: { cascade?: boolean } = {}): Promise<void> {
  const method: Method = methodName === "cancel" && options.cascade ? { method: "cancel", params: { cascade: true } } : { method: methodName };
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
  await request(client, method);
  accepted = true;
  if (methodName !== "resume") process.stdout.write(`${status !== undefined && status !== "running" ? status : await settled}\n`);
  await client.close();
}

/** Whether `promise` resolved before `deadline` (ms since the epoch); a rejection before it is rethrown. */
async function settlesBefore(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  const settled = promise.then(() => true as const);
  settled.catch(() => undefined); // a rejection after the deadline is of no interest
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Send `shutdown` to `target` (a name or a socket path) and wait until the pod has acknowledged
 * it and closed the connection and then, when `pid` is known, until that process has exited (a
 * zombie counts as exited), polling every 20 ms. Resolves true once it has exited, false when
 * `timeoutMs` (for all of it) passed first, e.g. for a pod that hangs or is stopped. Throws a
 * CliError when the pod cannot be reached or refuses the method.
 */
async function shutdownAndWait(target: string, pid: number | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const client = await connectTo(target, { buffer: false });
  if (!(await settlesBefore(request(client, { method: "shutdown" }).then(() => client.closed), deadline))) {
    client.destroy();
    return false;
  }
  if (pid === undefined) return true;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * `podd stop <pod>`: shut the pod down and wait until its process has exited. With `tree`, see
 * stopTree. Throws a CliError (exit 1) when the process is still running after `timeoutMs`.
 */
export async function stopCommand(target: string, options: { timeoutMs: number; tree?: boolean }): Promise<void> {
  if (options.tree) return stopTree(target, options);
  const pid = target.includes("/") ? undefined : readPodStatus(poddPaths(), target)?.pid;
  if (!(await shutdownAndWait(target, pid, options.timeoutMs))) throw new CliError(`pod ${target}${pid === undefined ? "" : ` (pid ${pid})`} did not exit within ${options.timeoutMs} ms`);
  process.stdout.write(`pod ${target} stopped\n`);
}

/** Stop one pod of a tree: true when its process is gone (already, or within `timeoutMs`). */
async function stopTreeMember(pod: PodListing, timeoutMs: number): Promise<boolean> {
  const pid = pod.status?.pid;
  if (pid === undefined || !isProcessAlive(pid)) return true;
  try {
    return await shutdownAndWait(pod.name, pid, timeoutMs);
  } catch (error) {
    // Its process may have exited between the listing and the connect (its parent stopped it).
    if (!isProcessAlive(pid)) return true;
    process.stderr.write(`podd: pod ${pod.name}: ${(error as Error).message}\n`);
    return false;
  }
}

/**
 * `podd stop <pod> --tree`: stop the pod and every descendant (as `podd ls --tree` shows them,
 * read once at the start), deepest level first, the pods of one level at the same time, each by
 * `shutdown` and waiting up to `timeoutMs` for its pid to exit; so every pod is stopped while
 * its parent still runs and its `shut_down` report reaches it. Prints `pod <name> stopped` for
 * each pod (`… was not running` for a dead one) in that order. A pod that does not exit in time
 * is left running (never killed) and the rest of the tree is still stopped; then throws a
 * CliError (exit 1) naming every survivor with its pid. Throws a CliError when `target` names no
 * pod with a runtime dir.
 */
async function stopTree(target: string, options: { timeoutMs: number }): Promise<void> {
  const root = findPodTreeNode(buildPodTree(listPods(poddPaths())), target);
  if (!root) throw new CliError(target.includes("/") ? `no pod is running at ${target}` : notRunningMessage(target));
  const survivors: PodListing[] = [];
  for (const level of podTreeLevelsDeepestFirst(root)) {
    const outcomes = await Promise.all(
      level.map(async (pod) => ({ pod, wasAlive: pod.state === "alive", exited: await stopTreeMember(pod, options.timeoutMs) })),
    );
    for (const { pod, wasAlive, exited } of outcomes) {
      if (!exited) survivors.push(pod);
      else process.stdout.write(wasAlive ? `pod ${pod.name} stopped\n` : `pod ${pod.name} was not running\n`);
    }
  }
  if (survivors.length > 0) {
    const names = survivors.map((pod) => `${pod.name} (pid ${pod.status?.pid ?? "?"})`).join(", ");
    throw new CliError(`${survivors.length === 1 ? "pod" : "pods"} still running after ${options.timeoutMs} ms: ${names}`);
  }
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
