/**
 * How a client sees a run end, for `podd send`, `podd resume`, `podd attach --json --until
 * run_end` and scripts. The wire (the reference's) ends a run in one of two ways, and the pod
 * sends every event through one ordered stream, so both are exact:
 *
 * - `run_end{result}` (finished, paused, limit_reached, rolled_back), then `status`;
 * - `error{code, message}` (the run failed, or it was cancelled after it produced output:
 *   `error{internal, "Cancelled"}`, see `isCancellation`), then `status{idle}`.
 *
 * So every run ends with a `status` event that leaves `running` (or, for a run dropped before
 * it started, e.g. cancelled during the automatic compaction ahead of it, with `run_end` while
 * the pod is not running), and the event just before that `status` says how. A cancel of a
 * *paused* run ends it with `error{internal, "Cancelled"}` and `status{idle}` after the
 * paused `run_end`. This module owns that reading; it knows nothing of sockets.
 */
import { isCancellation, type ErrorCode, type Event, type RunResult } from "../../protocol/index.js";

/** How a run ended: a `run_end` result, a cancel, or a failure with the pod's error. */
export type RunOutcome = { kind: RunResult } | { kind: "cancelled" } | { kind: "failed"; code: ErrorCode; message: string };

/**
 * Exit codes of the commands that wait for a run (`podd send`, `podd resume`), by outcome. The
 * README's exit-code table lists them; 1 is also every other failure (the pod unreachable).
 */
export const RUN_EXIT_CODES: Record<RunOutcome["kind"], number> = {
  finished: 0,
  failed: 1,
  paused: 3,
  rolled_back: 4,
  cancelled: 5,
  limit_reached: 6,
};

/** One line saying how a run ended, for people (`podd send` writes it to stderr unless finished). */
export function describeRunOutcome(outcome: RunOutcome, context: { maxTurns?: number } = {}): string {
  switch (outcome.kind) {
    case "finished":
      return "run finished";
    case "paused":
      return "run paused (resume it with `podd resume`, or cancel it with `podd cancel`)";
    case "rolled_back":
      return "run rolled back: it was stopped before it produced anything, and nothing of it was kept";
    case "cancelled":
      return "run cancelled";
    case "limit_reached":
      return `run stopped: it reached the limit of model calls per run${context.maxTurns ? ` (${context.maxTurns})` : ""} (--max-turns)`;
    case "failed":
      return `run failed: ${outcome.message} (${outcome.code})`;
  }
}

/**
 * Feed it every event of one connection, in order; `push` returns the outcome on the event
 * that ends a run: the `run_end`, or the `status` that follows a run-ending `error`. Other
 * events (including errors that refuse a method: they are not followed by a `status`) return
 * undefined.
 */
export class RunEndReader {
  private status: string | undefined;
  private previous: Event | undefined;

  push(event: Event): RunOutcome | undefined {
    const previous = this.previous;
    this.previous = event;
    if (event.event === "snapshot") {
      this.status = event.data.status;
      return undefined;
    }
    if (event.event === "run_end") return { kind: event.data.result };
    if (event.event !== "status") return undefined;
    const before = this.status;
    this.status = event.data.status;
    if (event.data.status === "running" || before === undefined || before === "idle") return undefined;
    // Running (or paused) → not running without a run_end right before: the error before it says how.
    if (previous?.event === "run_end") return undefined;
    if (previous?.event === "error") {
      return isCancellation(previous.data) ? { kind: "cancelled" } : { kind: "failed", code: previous.data.code, message: previous.data.message };
    }
    return undefined;
  }
}
