/**
 * Upward reports: PodEvents this pod sends to its parent's socket as
 * `{"method":"pod_event","params":{…},"id":…}` (behaviour.md, Upward reports; "Beyond the
 * reference: at-least-once"). It owns the queue of reports and their delivery; what to report
 * and when is the controller's.
 *
 * Delivery is **at least once, in order**: every report gets a fresh `report_id` (a ULID, also
 * the envelope `id`), and one pod's reports go out one at a time, oldest first. Each attempt is
 * a fresh connection that writes the line and waits, at most `attemptTimeoutMs` (5 s, the
 * reference's bound), for the parent's `ack` or `error` carrying `reply_to` = the id. An `ack`
 * is delivery; so is a parent that reads the line and closes the connection cleanly without
 * replying (a reference parent does not ack) — until this parent has acked once, after which a
 * silent close is a failure. A failed attempt — ENOENT / ECONNREFUSED (no parent listening), a
 * reset, a timeout, an `error` reply (a podd parent refuses a report only while it shuts down or
 * its inbox is full), or the parent's `shutdown` event before the ack — is retried after
 * `retryBaseDelayMs` (100 ms), doubling up to `retryMaxDelayMs` (2 s), until the report's
 * deadline: `deadlineMs` (60 s) after it was queued for turn_ended / errored /
 * scope_sub_delegated, `exitDeadlineMs` (5 s) for shut_down. Then it is given up (logged at
 * warn) and the next report goes. A parent sees a report more than once when an ack was lost;
 * a podd parent takes it once (src/pod/report-dedup.ts), a reference parent must tolerate
 * duplicates (wire-protocol.md, PodEvent).
 *
 * Every report gets at least one attempt; no retry starts after its deadline, and an attempt
 * may take `MIN_ATTEMPT_MS` (500 ms) even when the deadline is nearer, so a report is given up
 * at most that long after its deadline. At exit (`settle`) every queued report's deadline is
 * cut to `exitDeadlineMs` from then, and a `send` after it shares that deadline, so the exit
 * waits about `exitDeadlineMs` (plus up to `MIN_ATTEMPT_MS` per report still queued) for the
 * pod's reports. Without a parent socket every call is a no-op.
 */
import net from "node:net";
import type { Logger } from "pino";
import { ulid } from "ulid";
import { encodeLine, LineDecoder, type PodEvent } from "../../protocol/index.js";
import { positiveIntegerFromEnv } from "../config/env-number.js";

/** One attempt's bound: connect, write, and wait for the reply or the close, ms (the reference's 5 s). */
export const ATTEMPT_TIMEOUT_MS = 5_000;
/** How long turn_ended / errored / scope_sub_delegated are retried after being queued, ms. */
export const REPORT_DEADLINE_MS = 60_000;
/**
 * How long shut_down (and, once the pod exits, every report still queued) is retried, ms: the
 * reference's 5 s bound on the exit report, so a pod whose parent is gone still stops promptly.
 */
export const EXIT_DEADLINE_MS = 5_000;
/** How long a parent that sent its snapshot but has never acked gets to ack before the report counts as delivered, ms. */
export const SILENT_PARENT_MS = 1_000;
/** First wait between attempts, ms; doubled after each failure up to RETRY_MAX_DELAY_MS. */
export const RETRY_BASE_DELAY_MS = 100;
/** Longest wait between attempts, ms. */
export const RETRY_MAX_DELAY_MS = 2_000;
/** Shortest bound of an attempt, even one started just before the report's deadline, ms. */
export const MIN_ATTEMPT_MS = 500;
/** Most reports queued at once; past it a new report is given up at once (logged). */
export const MAX_QUEUED_REPORTS = 1_000;
/** Longest reply line read from the parent, bytes; longer lines (the snapshot) are skipped unread. */
const MAX_REPLY_LINE_BYTES = 64 * 1024;

/**
 * Environment variables that set the reporter's timings, ms (a positive whole number each;
 * anything else is ignored and the default used). For tests that stand for long outages with
 * short ones (docs/reliability.md, "Stopped and starved pods"), and for tuning; a child pod
 * inherits them from its parent's environment.
 */
export const REPORT_TIMING_ENV = {
  attemptTimeoutMs: "PODD_REPORT_ATTEMPT_TIMEOUT_MS",
  retryBaseDelayMs: "PODD_REPORT_RETRY_BASE_DELAY_MS",
  retryMaxDelayMs: "PODD_REPORT_RETRY_MAX_DELAY_MS",
  deadlineMs: "PODD_REPORT_DEADLINE_MS",
} as const;

/** The timings REPORT_TIMING_ENV names that `env` sets (see there). */
export function reportTimingsFromEnv(env: NodeJS.ProcessEnv): Partial<Pick<UpwardReporterOptions, keyof typeof REPORT_TIMING_ENV>> {
  const timings: Partial<Pick<UpwardReporterOptions, keyof typeof REPORT_TIMING_ENV>> = {};
  for (const [option, variable] of Object.entries(REPORT_TIMING_ENV) as [keyof typeof REPORT_TIMING_ENV, string][]) {
    const value = positiveIntegerFromEnv(env, variable);
    if (value !== undefined) timings[option] = value;
  }
  return timings;
}

export interface UpwardReporterOptions {
  parentSocket?: string;
  logger: Logger;
  /** One attempt's bound, ms (ATTEMPT_TIMEOUT_MS). */
  attemptTimeoutMs?: number;
  /** Deadline of turn_ended / errored / scope_sub_delegated from when queued, ms (REPORT_DEADLINE_MS). */
  deadlineMs?: number;
  /** Deadline of shut_down, and of everything queued once `settle` was called, ms (EXIT_DEADLINE_MS). */
  exitDeadlineMs?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Makes report ids (default: `ulid`). */
  newReportId?: () => string;
}

type Attempt = { delivered: true; acked: boolean } | { delivered: false; error: Error };

interface QueuedReport {
  event: PodEvent & { report_id: string };
  /** Give up once an attempt fails after this time (ms since epoch). */
  deadlineAt: number;
  resolve(): void;
  reject(error: Error): void;
}

export class UpwardReporter {
  readonly parentSocket: string | undefined;
  private readonly logger: Logger;
  private readonly attemptTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly exitDeadlineMs: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly newReportId: () => string;
  private readonly queue: QueuedReport[] = [];
  private draining: Promise<void> | undefined;
  /** Set by `settle`: no report is retried past it (ms since epoch). */
  private exitDeadlineAt: number | undefined;
  /** Whether the parent has replied to a report with ack/error (a podd parent): then a silent close is no delivery. */
  private parentAcks = false;
  /** Ends the current wait between attempts early (the deadline was cut). */
  private wakeBackoff: (() => void) | undefined;
  /** Moves the current attempt's end to the (cut) deadline. */
  private cutAttempt: ((deadlineAt: number) => void) | undefined;

  constructor(options: UpwardReporterOptions) {
    this.parentSocket = options.parentSocket;
    this.logger = options.logger;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
    this.deadlineMs = options.deadlineMs ?? REPORT_DEADLINE_MS;
    this.exitDeadlineMs = options.exitDeadlineMs ?? EXIT_DEADLINE_MS;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? RETRY_MAX_DELAY_MS;
    this.newReportId = options.newReportId ?? ulid;
  }

  /** Queue a report without waiting; a give-up is logged (warn), never thrown. */
  fireAndForget(event: PodEvent): void {
    if (!this.parentSocket) return;
    this.enqueue(event).catch(() => undefined);
  }

  /**
   * Queue a report and wait until it is delivered. Rejects once it is given up (its deadline
   * passed, or the queue was full); the give-up is logged too.
   */
  async send(event: PodEvent): Promise<void> {
    if (!this.parentSocket) return;
    await this.enqueue(event);
  }

  /**
   * The pod is exiting: cut every queued report's deadline to `exitDeadlineMs` from now (the
   * first call fixes it) and wait until the queue is empty (each report delivered or given up).
   */
  async settle(): Promise<void> {
    this.exitDeadlineAt ??= Date.now() + this.exitDeadlineMs;
    const cut = this.exitDeadlineAt;
    for (const report of this.queue) report.deadlineAt = Math.min(report.deadlineAt, cut);
    this.cutAttempt?.(cut);
    this.wakeBackoff?.();
    while (this.draining) await this.draining;
  }

  private enqueue(event: PodEvent): Promise<void> {
    const report = { ...event, report_id: this.newReportId() };
    const ownDeadlineMs = event.kind === "shut_down" ? this.exitDeadlineMs : this.deadlineMs;
    const deadlineAt = Math.min(Date.now() + ownDeadlineMs, this.exitDeadlineAt ?? Number.POSITIVE_INFINITY);
    return new Promise<void>((resolve, reject) => {
      if (this.queue.length >= MAX_QUEUED_REPORTS) {
        const error = new Error(`${this.queue.length} upward reports are queued already`);
        this.logger.warn({ err: error, report: event.kind, report_id: report.report_id }, "upward report given up");
        reject(error);
        return;
      }
      this.queue.push({ event: report, deadlineAt, resolve, reject });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    });
  }

  /** Deliver the queued reports one at a time, oldest first. */
  private async drain(): Promise<void> {
    for (let report = this.queue[0]; report; report = this.queue[0]) {
      const error = await this.deliver(report);
      this.queue.shift();
      if (error) report.reject(error);
      else report.resolve();
    }
  }

  /** Attempt `report` until it is delivered (undefined) or its deadline passed (the last error). */
  private async deliver(report: QueuedReport): Promise<Error | undefined> {
    const { event } = report;
    let delayMs = this.retryBaseDelayMs;
    for (let attempt = 1; ; attempt++) {
      const boundMs = Math.min(this.attemptTimeoutMs, Math.max(report.deadlineAt - Date.now(), MIN_ATTEMPT_MS));
      const outcome = await this.attempt(report, boundMs);
      if (outcome.delivered) {
        this.logger.info({ report: event.kind, report_id: event.report_id, attempts: attempt, acked: outcome.acked, parent: this.parentSocket }, "upward report sent");
        return undefined;
      }
      const waitMs = Math.min(delayMs, report.deadlineAt - Date.now());
      if (waitMs <= 0) {
        this.logger.warn(
          { err: outcome.error, report: event.kind, report_id: event.report_id, attempts: attempt, parent: this.parentSocket },
          "upward report given up: its deadline passed",
        );
        return outcome.error;
      }
      this.logger.debug(
        { err: outcome.error, report: event.kind, report_id: event.report_id, attempt, retry_in_ms: waitMs, parent: this.parentSocket },
        "upward report attempt failed; retrying",
      );
      await this.backoff(waitMs);
      delayMs = Math.min(delayMs * 2, this.retryMaxDelayMs);
    }
  }

  /** Wait `waitMs`, or less if `settle` cuts the deadline meanwhile. */
  private backoff(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeBackoff = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.wakeBackoff = done;
    });
  }

  /** One connection: write the report, wait for its ack / error, a clean close, or `boundMs`. */
  private attempt(report: QueuedReport, boundMs: number): Promise<Attempt> {
    const parentSocket = this.parentSocket as string;
    const id = report.event.report_id;
    return new Promise<Attempt>((resolve) => {
      const socket = net.createConnection(parentSocket);
      const decoder = new LineDecoder({ maxLineBytes: MAX_REPLY_LINE_BYTES });
      const startedAt = Date.now();
      let written = false;
      let finished = false;
      const finish = (outcome: Attempt): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.cutAttempt = undefined;
        socket.destroy();
        resolve(outcome);
      };
      const fail = (message: string): void => finish({ delivered: false, error: new Error(message) });
      // A parent that has never acked may be a reference pod: it reads the line and streams its
      // events without acking or closing. Once the line is written, its silence is delivery.
      const deliveredSilently = (): boolean => written && !this.parentAcks;
      const onTimeout = (): void => {
        if (deliveredSilently()) return finish({ delivered: true, acked: false });
        fail(`parent ${parentSocket} did not take the ${report.event.kind} report within ${Date.now() - startedAt} ms`);
      };
      let sawSnapshot = false;
      let timer = setTimeout(onTimeout, Math.max(0, boundMs));
      this.cutAttempt = (deadlineAt) => {
        if (startedAt + boundMs <= deadlineAt) return;
        clearTimeout(timer);
        timer = setTimeout(onTimeout, Math.max(0, deadlineAt - Date.now(), MIN_ATTEMPT_MS - (Date.now() - startedAt)));
      };
      socket.on("connect", () => {
        socket.write(encodeLine({ method: "pod_event", params: report.event, id }), (error) => {
          if (!error) written = true;
        });
      });
      socket.on("data", (chunk: Buffer) => {
        for (const decoded of decoder.push(chunk)) {
          if (decoded.kind !== "line") continue;
          const reply = parseReply(decoded.text);
          if (reply?.event === "shutdown") return fail(`parent ${parentSocket} is shutting down`);
          if (reply?.event === "snapshot" && !sawSnapshot && !this.parentAcks) {
            // A pod that answers with its snapshot got the line; give it SILENT_PARENT_MS to ack, then count it delivered.
            sawSnapshot = true;
            clearTimeout(timer);
            timer = setTimeout(onTimeout, SILENT_PARENT_MS);
          }
          if (reply?.reply_to !== id) continue;
          if (reply.event === "ack") {
            this.parentAcks = true;
            return finish({ delivered: true, acked: true });
          }
          if (reply.event === "error") {
            this.parentAcks = true;
            return fail(`parent ${parentSocket} refused the ${report.event.kind} report: ${reply.message ?? "error"}`);
          }
        }
      });
      socket.on("error", (error) => finish({ delivered: false, error }));
      socket.on("close", (hadError) => {
        if (hadError) return fail(`connection to parent ${parentSocket} closed with an error`);
        if (!written) return fail(`parent ${parentSocket} closed the connection before the ${report.event.kind} report was written`);
        if (this.parentAcks) return fail(`parent ${parentSocket} closed the connection without acking the ${report.event.kind} report`);
        finish({ delivered: true, acked: false });
      });
    });
  }
}

/** The fields of a reply line that matter here; undefined for a line that is not a JSON object. */
function parseReply(line: string): { event?: unknown; reply_to?: unknown; message?: string } | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null) return undefined;
    const { event, reply_to, data } = value as { event?: unknown; reply_to?: unknown; data?: unknown };
    const message = typeof data === "object" && data !== null ? (data as { code?: unknown; message?: unknown }) : undefined;
    const text = message && typeof message.message === "string" ? `${String(message.code)}: ${message.message}` : undefined;
    return { event, reply_to, message: text };
  } catch {
    return undefined;
  }
}
