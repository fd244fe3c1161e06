/** Commands that talk to a running pod over its socket: send, notify, pause, resume, cancel, stop, attach --json. */
import type { Event, Method } from "../../protocol/index.js";
import { PodRequestError, type PodClient } from "../client/pod-client.js";
import { describeRunOutcome, RUN_EXIT_CODES, RunEndReader, type RunOutcome } from "../client/run-end.js";
import { isProcessAlive, listPods, readPodStatus, type PodListing } from "../client/pod-directory.js";
import { buildPodTree, findPodTreeNode, podTreeLevelsDeepestFirst } from "../client/pod-tree.js";
import { CliError, connectTo, describeRequestFailure, notRunningMessage, poddPaths, request } from "./targets.js";

/** The most a `podd send` message may hold: the pod refuses a method line over 8 MiB (wire-protocol.md, Framing). */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024 - 4096;

/** The message of `podd send`: the words, or with `-` alone all of stdin (UTF-8, bounded). Throws a CliError (exit 2). */
async function readMessage(words: string[]): Promise<string> {
  let text = words.join(" ");
  if (words.length === 1 && words[0] === "-") {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_MESSAGE_BYTES) throw new CliError(`the message on stdin is over ${MAX_MESSAGE_BYTES} bytes, more than a pod takes in one method line`, 2);
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks).toString("utf8");
  }
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new CliError(`the message is over ${MAX_MESSAGE_BYTES} bytes, more than a pod takes in one method line`, 2);
  if (text.trim() === "") throw new CliError("the message is empty", 2);
  return text;
}

export interface StreamOptions {
  /** Print every event line, raw, instead of the text. */
  json?: boolean;
  /** `podd send --queue`: when the pod is busy, wait for its run to end and send then. */
  queue?: boolean;
}

/**
 * `podd send <pod> <text…|->`: send a user turn and stream the assistant's text to stdout until
 * the run ends (tool calls, results and model retries to stderr; `--json`: every event line of
 * the run, raw). Exits by how the run ended (RUN_EXIT_CODES: 0 finished, 1 failed, 3 paused,
 * 4 rolled back, 5 cancelled, 6 limit reached) and says so on stderr unless it finished. A busy
 * pod refuses the run (`already_running`, exit 1) unless `--queue`.
 */
export async function sendCommand(target: string, words: string[], options: StreamOptions): Promise<void> {
  const text = await readMessage(words);
  await streamRun(target, { method: "run", params: { input: [{ kind: "text", content: text }] } }, options);
}

/** `podd resume <pod>`: resume a paused run and stream it like `podd send` (same output and exit codes). */
export async function resumeCommand(target: string, options: StreamOptions): Promise<void> {
  await streamRun(target, { method: "resume" }, { json: options.json });
}

/**
 * Send `method` (a `run` or `resume`) and stream the run it starts, from its ack to its end
 * (src/client/run-end.ts), then set the exit code. Ctrl-C once asks the pod to cancel the run
 * (the stream goes on to the run's end); a second Ctrl-C detaches and leaves the run going.
 */
async function streamRun(target: string, method: Extract<Method, { method: "run" | "resume" }>, options: StreamOptions): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  const reader = new RunEndReader();
  let streaming = false;
  let status: string | undefined;
  let endedWithNewline = true;
  let notRunning: (() => void) | undefined;
  const print = (event: Event, line: string): void => {
    if (options.json) return void process.stdout.write(`${line}\n`);
    if (event.event === "text_delta") {
      process.stdout.write(event.data.text);
      endedWithNewline = event.data.text.endsWith("\n");
    } else if (event.event === "text_done" && !endedWithNewline) {
      process.stdout.write("\n");
      endedWithNewline = true;
    } else if (event.event === "tool_call_done") process.stderr.write(`[tool] ${event.data.name} ${event.data.arguments}\n`);
    else if (event.event === "tool_result") process.stderr.write(`[tool] ${event.data.is_error ? "error: " : ""}${event.data.summary}\n`);
    else if (event.event === "llm_retry") {
      const { failed_attempt: attempt, max_attempts: attempts, wait_ms: waitMs, error } = event.data;
      process.stderr.write(`[retry] model call failed (${error}); attempt ${attempt + 1} of ${attempts} in ${(waitMs / 1000).toFixed(1)} s\n`);
    }
  };
  const outcome = new Promise<RunOutcome>((resolve) => {
    client.onEvent((event, line) => {
      const ended = reader.push(event);
      if (event.event === "snapshot") status = event.data.status;
      if (event.event === "status") status = event.data.status;
      if (status !== "running") notRunning?.();
      // Our run's events follow the pod's ack of our method (acks go to the asking connection only).
      if (!streaming && event.event === "ack" && event.data.method === method.method) streaming = true;
      else if (streaming) {
        print(event, line);
        if (ended) {
          streaming = false;
          resolve(ended);
        }
      }
    });
    void client.closed.then(() => resolve({ kind: "failed", code: "internal", message: `pod ${target} closed the connection before the run ended` }));
  });
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(`\npodd: cancelling the run on pod ${target} (Ctrl-C again to detach and leave it running)\n`);
      client.request({ method: "cancel" }).catch(() => undefined);
      return;
    }
    process.stderr.write(`podd: detached; the run goes on in pod ${target} (\`podd attach ${target}\` to follow it)\n`);
    process.exit(130);
  };
  // Installed before the method is sent: the run's first output may reach the terminal before `sendWhenFree` returns.
  process.on("SIGINT", onInterrupt);
  try {
    await sendWhenFree(client, method, options.queue ?? false, () => status === "running", (wake) => (notRunning = wake));
  } catch (error) {
    process.off("SIGINT", onInterrupt);
    throw error;
  }
  const result = await outcome;
  process.off("SIGINT", onInterrupt);
  if (!options.json && !endedWithNewline) process.stdout.write("\n");
  if (!options.json && result.kind !== "finished") process.stderr.write(`podd: ${describeRunOutcome(result)}\n`);
  process.exitCode = RUN_EXIT_CODES[result.kind];
  await client.close();
}

/**
 * Send `method`; when the pod refuses it as `already_running` and `queue` is set, wait until
 * it is not running (`isRunning` false; `onNotRunning` registers the wake-up) and send again.
 * Any other refusal, or a busy pod without `queue`, is a CliError.
 */
async function sendWhenFree(
  client: PodClient,
  method: Method,
  queue: boolean,
  isRunning: () => boolean,
  onNotRunning: (wake: (() => void) | undefined) => void,
): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      await client.request(method);
      return;
    } catch (error) {
      if (!(error instanceof PodRequestError)) {
        client.destroy();
        throw new CliError(describeRequestFailure(error));
      }
      if (error.code !== "already_running" || !queue) {
        client.destroy();
        const hint = error.code === "already_running" ? "; `podd send --queue` waits for it, `podd cancel` stops it" : "";
        throw new CliError(`${error.message} (${error.code})${hint}`);
      }
    }
    if (!announced) process.stderr.write("podd: the pod is busy; the message is queued until its run ends\n");
    announced = true;
    if (isRunning()) await new Promise<void>((resolve) => onNotRunning(resolve));
    onNotRunning(undefined);
  }
}

/** `podd notify <pod> <text…> [--no-wake]`. */
export async function notifyCommand(target: string, words: string[], options: { wake: boolean }): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  await request(client, { method: "notify", params: { message: words.join(" "), wake: options.wake } });
  await client.close();
}

/**
 * `podd pause|cancel <pod>`: prints the status the pod settles in once the run has ended (or
 * `paused` at once for a pod already paused; `idle` for a paused run that a cancel ended).
 * `podd cancel <pod> --tree` (`cascade`) sends `{"method":"cancel","params":{"cascade":true}}`:
 * the pod forwards the cancel to its descendants; the output is still this pod's status only
 * (the CLI cannot see which pods the cascade reached). Refused as `not_running` by an idle pod,
 * like a plain cancel.
 */
export async function controlCommand(target: string, methodName: "pause" | "cancel", options: { cascade?: boolean } = {}): Promise<void> {
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
  process.stdout.write(`${status !== undefined && status !== "running" ? status : await settled}\n`);
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
 * socket, event lines come out on stdout. Ends when the pod closes the connection, on SIGINT,
 * or with `--until EVENT` after the first such event — except `--until run_end`, which ends at
 * the end of a run however it ended (src/client/run-end.ts): after its `run_end` line, or, for
 * a run that failed or was cancelled, after the `error` line and the `status` line that
 * follows it. The exit code is then the run's (RUN_EXIT_CODES, like `podd send`).
 */
export async function attachJsonCommand(target: string, options: { until?: string }): Promise<void> {
  const client = await connectTo(target, { buffer: false });
  const reader = new RunEndReader();
  let done = false;
  client.onEvent((event, line) => {
    if (done) return;
    process.stdout.write(`${line}\n`);
    const ended = reader.push(event);
    if (options.until === "run_end" ? ended !== undefined : options.until !== undefined && event.event === options.until) {
      done = true;
      if (ended) process.exitCode = RUN_EXIT_CODES[ended.kind];
      void client.close();
    }
  });
  process.stdin.on("data", (chunk: Buffer) => client.writeRaw(chunk));
  process.once("SIGINT", () => void client.close());
  await client.closed;
  process.stdin.destroy();
}
