/**
 * UpwardReporter against real Unix-socket parents made here: at-least-once delivery, in order,
 * retried until the parent appears or the deadline passes (behaviour.md, Upward reports).
 * Waits are driven by the reporter's own log lines (a pino logger writing to this test), never
 * by sleeps; nothing asserts on timing.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pino, type Logger } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LineDecoder, type PodEvent } from "../../protocol/index.js";
import { reportTimingsFromEnv, UpwardReporter, type UpwardReporterOptions } from "../../src/pod/upward-reports.js";
import type { PodLogLine } from "../helpers/pod-log.js";

/** A pod log line (as the integration tests read them) with its pino level and error message. */
type LogLine = Omit<PodLogLine, "err"> & { level: number; err?: { message: string; code?: string } };

const RETRYING = "upward report attempt failed; retrying";
const SENT = "upward report sent";
const GIVEN_UP = "upward report given up: its deadline passed";

/** A debug-level pino logger whose lines this test reads, and waits on. */
function recordingLogger(): { logger: Logger; lines: LogLine[]; next(match: (line: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  let waiters: { match(line: LogLine): boolean; resolve(line: LogLine): void }[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write(text: string) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        waiters = waiters.filter((waiter) => {
          if (!waiter.match(line)) return true;
          waiter.resolve(line);
          return false;
        });
      },
    },
  );
  /** The next line (from now on) that `match` accepts. */
  const next = (match: (line: LogLine) => boolean): Promise<LogLine> => new Promise((resolve) => waiters.push({ match, resolve }));
  return { logger, lines, next };
}

type ParentMode = "ack" | "close" | "silent" | "refuse";

interface ReceivedLine {
  id?: unknown;
  params: PodEvent;
}

/** A parent socket: records every pod_event line; replies per `mode` (changeable between attempts). */
class TestParent {
  readonly received: ReceivedLine[] = [];
  mode: ParentMode;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(mode: ParentMode) {
    this.mode = mode;
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      // A handshake like a pod's: an alert, and a snapshot line longer than the reporter reads.
      socket.write('{"event":"alert","data":{"level":"warn","source":"worker","message":"hi","timestamp_ms":1}}\n');
      socket.write(`{"event":"snapshot","data":{"entries":[],"padding":"${"x".repeat(100_000)}"}}\n`);
      const decoder = new LineDecoder();
      socket.on("data", (chunk: Buffer) => {
        for (const decoded of decoder.push(chunk)) {
          if (decoded.kind !== "line") continue;
          const line = JSON.parse(decoded.text) as ReceivedLine;
          this.received.push(line);
          this.reply(socket, line);
        }
      });
    });
  }

  static async listen(socketPath: string, mode: ParentMode): Promise<TestParent> {
    const parent = new TestParent(mode);
    await new Promise<void>((resolve) => parent.server.listen(socketPath, resolve));
    parents.push(parent);
    return parent;
  }

  kinds(): string[] {
    return this.received.map((line) => line.params.kind);
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private reply(socket: net.Socket, line: ReceivedLine): void {
    switch (this.mode) {
      case "ack":
        socket.write(`${JSON.stringify({ event: "ack", data: { method: "pod_event" }, reply_to: line.id })}\n`);
        return;
      case "refuse":
        socket.write(`${JSON.stringify({ event: "error", data: { code: "invalid_request", message: "Pod is shutting down" }, reply_to: line.id })}\n`);
        return;
      case "close":
        socket.end();
        return;
      case "silent":
        return;
    }
  }
}

const parents: TestParent[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const parent of parents.splice(0)) await parent.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function socketPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-up-"));
  dirs.push(dir);
  return path.join(dir, "parent.sock");
}

function reporterFor(parentSocket: string, options: Partial<UpwardReporterOptions> = {}) {
  const log = recordingLogger();
  const reporter = new UpwardReporter({ parentSocket, logger: log.logger, ...options });
  return { reporter, log };
}

const turnEnded: PodEvent = { kind: "turn_ended", pod_name: "kid" };
const errored: PodEvent = { kind: "errored", pod_name: "kid", message: "boom" };
const shutDown: PodEvent = { kind: "shut_down", pod_name: "kid" };

describe("UpwardReporter: at-least-once, in order", () => {
  it("retries (ECONNREFUSED, then ENOENT) until the parent appears, then delivers the report once with a report_id as the envelope id", async () => {
    const where = socketPath();
    fs.writeFileSync(where, ""); // not a socket: connect is refused
    const { reporter, log } = reporterFor(where);
    const refused = log.next((line) => line.msg === RETRYING);
    const sent = reporter.send(turnEnded);
    expect((await refused).err?.code).toBe("ECONNREFUSED");
    fs.rmSync(where);
    const missing = await log.next((line) => line.msg === RETRYING);
    expect(missing.err?.code).toBe("ENOENT");
    const parent = await TestParent.listen(where, "ack");
    await sent;
    expect(parent.received).toHaveLength(1);
    const [line] = parent.received;
    expect(line?.params).toEqual({ ...turnEnded, report_id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/) });
    expect(line?.id).toBe(line?.params.report_id);
    const done = log.lines.find((entry) => entry.msg === SENT);
    expect(done).toMatchObject({ report: "turn_ended", acked: true, report_id: line?.params.report_id });
    expect(done?.attempts).toBeGreaterThanOrEqual(3);
    expect(log.lines.filter((entry) => entry.msg === RETRYING).every((entry) => entry.level === 20 && entry.report_id === line?.params.report_id)).toBe(true);
  });

  it("keeps the order across retries: the second report waits until the first is delivered", async () => {
    const where = socketPath();
    const { reporter, log } = reporterFor(where);
    const firstFailure = log.next((line) => line.msg === RETRYING && line.attempt === 2);
    reporter.fireAndForget(turnEnded);
    reporter.fireAndForget(errored);
    const last = reporter.send(shutDown);
    await firstFailure;
    const parent = await TestParent.listen(where, "ack");
    await last;
    expect(parent.kinds()).toEqual(["turn_ended", "errored", "shut_down"]);
    const ids = parent.received.map((line) => line.params.report_id);
    expect(new Set(ids).size).toBe(3);
    // Only the first report was attempted while the parent was down.
    const retried = log.lines.filter((line) => line.msg === RETRYING);
    expect(retried.length).toBeGreaterThanOrEqual(2);
    expect(retried.every((line) => line.report === "turn_ended")).toBe(true);
    expect(log.lines.filter((line) => line.msg === SENT).map((line) => line.report)).toEqual(["turn_ended", "errored", "shut_down"]);
  });

  it("gives up after the deadline (logged at warn), rejects send, and goes on with the next report", async () => {
    const where = socketPath();
    const { reporter, log } = reporterFor(where, { deadlineMs: 300 });
    const first = reporter.send(turnEnded);
    // Queued behind the first; its deadline runs from when it was queued (as the first's), so it is
    // all but spent when its turn comes: it still gets its attempt (every report gets one), then gives up.
    // (How many attempts fit before its deadline depends on the machine's load: the test does not count them.)
    const second = reporter.send(errored);
    await expect(first).rejects.toThrow(/ENOENT/);
    await expect(second).rejects.toThrow(/ENOENT/);
    const givenUp = log.lines.filter((line) => line.msg === GIVEN_UP);
    expect(givenUp).toMatchObject([
      { level: 40, report: "turn_ended" },
      { level: 40, report: "errored" },
    ]);
    expect(givenUp[1]?.attempts).toBeGreaterThanOrEqual(1);
    expect(givenUp[0]?.attempts).toBeGreaterThanOrEqual(2);
    const parent = await TestParent.listen(where, "ack");
    await reporter.send(shutDown);
    expect(parent.kinds()).toEqual(["shut_down"]);
  });

  it.each([
    ["reads the line and closes without an ack", "close"],
    ["streams its events but never acks nor closes (a reference pod)", "silent"],
  ] as const)("a parent that %s: each report counts as delivered once, without retries", async (_what, mode) => {
    const where = socketPath();
    const parent = await TestParent.listen(where, mode);
    // A silent parent is waited for one whole attempt per report: a shorter bound than the 5 s default
    // keeps the test short; it is still many times what a local write takes on a loaded machine.
    const { reporter, log } = reporterFor(where, { attemptTimeoutMs: 1_500 });
    await reporter.send(turnEnded);
    await reporter.send(shutDown);
    expect(parent.kinds()).toEqual(["turn_ended", "shut_down"]);
    expect(log.lines.filter((line) => line.msg === SENT)).toMatchObject([
      { attempts: 1, acked: false },
      { attempts: 1, acked: false },
    ]);
    expect(log.lines.some((line) => line.msg === RETRYING)).toBe(false);
  });

  it("a parent that acks: delivered on the ack; an error reply is retried with the same report_id", async () => {
    const where = socketPath();
    const parent = await TestParent.listen(where, "refuse");
    const { reporter, log } = reporterFor(where);
    const refused = log.next((line) => line.msg === RETRYING);
    const sent = reporter.send(turnEnded);
    expect((await refused).err?.message).toContain("refused the turn_ended report: invalid_request: Pod is shutting down");
    parent.mode = "ack";
    await sent;
    const ids = parent.received.map((line) => line.params.report_id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids).size).toBe(1);
    expect(log.lines.find((line) => line.msg === SENT)).toMatchObject({ acked: true });
  });

  it("once the parent has acked, a close without an ack is retried; so is a parent that stays silent past the attempt bound", async () => {
    const where = socketPath();
    const parent = await TestParent.listen(where, "ack");
    const { reporter, log } = reporterFor(where, { attemptTimeoutMs: 200 });
    await reporter.send(turnEnded);
    parent.mode = "close";
    const closed = log.next((line) => line.msg === RETRYING);
    const second = reporter.send(errored);
    expect((await closed).err?.message).toContain("without acking");
    parent.mode = "silent";
    const silent = await log.next((line) => line.msg === RETRYING);
    expect(silent.err?.message).toContain("did not take the errored report");
    parent.mode = "ack";
    await second;
    const secondIds = parent.received.filter((line) => line.params.kind === "errored").map((line) => line.params.report_id);
    expect(secondIds.length).toBeGreaterThanOrEqual(3);
    expect(new Set(secondIds).size).toBe(1);
  });

  it("settle (the pod exits) cuts a queued report's 60 s deadline to the exit deadline", async () => {
    const where = socketPath();
    const { reporter, log } = reporterFor(where, { exitDeadlineMs: 300 });
    const retrying = log.next((line) => line.msg === RETRYING);
    reporter.fireAndForget(turnEnded);
    await retrying;
    await reporter.settle();
    expect(log.lines.find((line) => line.msg === GIVEN_UP)).toMatchObject({ report: "turn_ended" });
    await expect(reporter.send(shutDown)).rejects.toThrow(/ENOENT/);
  });

  it("without a parent socket, every call is a no-op", async () => {
    const log = recordingLogger();
    const reporter = new UpwardReporter({ logger: log.logger });
    reporter.fireAndForget(turnEnded);
    await reporter.send(shutDown);
    await reporter.settle();
    expect(log.lines).toEqual([]);
  });
});

describe("report timings from the environment", () => {
  it("takes positive whole numbers of ms and ignores anything else", () => {
    expect(
      reportTimingsFromEnv({
        PODD_REPORT_ATTEMPT_TIMEOUT_MS: "250",
        PODD_REPORT_RETRY_BASE_DELAY_MS: "0",
        PODD_REPORT_RETRY_MAX_DELAY_MS: "1.5",
        PODD_REPORT_DEADLINE_MS: "soon",
      }),
    ).toEqual({ attemptTimeoutMs: 250 });
    expect(reportTimingsFromEnv({ PODD_REPORT_RETRY_BASE_DELAY_MS: "50", PODD_REPORT_RETRY_MAX_DELAY_MS: "100", PODD_REPORT_DEADLINE_MS: "60000" })).toEqual({
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 100,
      deadlineMs: 60_000,
    });
    expect(reportTimingsFromEnv({})).toEqual({});
  });
});
