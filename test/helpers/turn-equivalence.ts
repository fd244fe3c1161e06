/**
 * The one shared assertion that a provider-backed pod and the scripted model produce the same
 * event sequence for the same logical turn (issue 3). Every event is compared, in order, with
 * these normalisations only:
 *
 * - tool-call ids become `#1`, `#2`… in order of appearance (providers choose their own);
 * - `usage` keeps no numbers (they are the provider's count, not the turn's shape), unless
 *   `{ usage: "exact" }`: then the scripted twin sets them with `.usage()` and they must match;
 * - `llm_retry` keeps `llm_call`, `failed_attempt`, `max_attempts`, `status` and `error`, and
 *   drops its timing (`wait_ms` has jitter, `elapsed_ms` is wall-clock).
 *
 * Error wording is compared verbatim by default: a scripted twin fails with the provider's
 * exact message. `{ errorMessages: "ignore" }` replaces the `message` of `error` events and the
 * `error` of `llm_retry` events by `<message>`, for failures whose wording is the transport's
 * or the SDK's and cannot be scripted faithfully (e.g. "terminated: other side closed" for a
 * dropped connection); the error code, retry counts and statuses are still compared.
 */
import { expect } from "vitest";
import type { Event } from "../../protocol/index.js";

export interface TurnNormalisation {
  /** `"exact"` (default): error messages compared verbatim; `"ignore"`: replaced by `<message>`. */
  errorMessages?: "exact" | "ignore";
  /** `"ignore"` (default): usage numbers dropped; `"exact"`: compared. */
  usage?: "ignore" | "exact";
}

/** The placeholder for an error message under `{ errorMessages: "ignore" }`. */
export const IGNORED_MESSAGE = "<message>";

export function normaliseTurn(events: readonly Event[], options: TurnNormalisation = {}): unknown[] {
  const ignoreMessages = options.errorMessages === "ignore";
  const ids = new Map<string, string>();
  const id = (raw: string): string => {
    if (!ids.has(raw)) ids.set(raw, `#${ids.size + 1}`);
    return ids.get(raw) as string;
  };
  return events.map((event) => {
    switch (event.event) {
      case "usage":
        return options.usage === "exact" ? event : { event: "usage" };
      case "llm_retry": {
        const { llm_call, failed_attempt, max_attempts, status, error } = event.data;
        return { event: "llm_retry", data: { llm_call, failed_attempt, max_attempts, status, error: ignoreMessages ? IGNORED_MESSAGE : error } };
      }
      case "error":
        return ignoreMessages ? { ...event, data: { ...event.data, message: IGNORED_MESSAGE } } : event;
      case "tool_call_start":
      case "tool_call_args_delta":
      case "tool_call_done":
      case "tool_result":
        return { ...event, data: { ...event.data, id: id(event.data.id) } };
      default:
        return event;
    }
  });
}

/** Assert the two runs' events are the same turn (see the module comment for `options`). */
export function expectSameTurn(actual: readonly Event[], expected: readonly Event[], options: TurnNormalisation = {}): void {
  expect(normaliseTurn(actual, options)).toEqual(normaliseTurn(expected, options));
}

/**
 * Several runs on one pod against the same runs on one scripted pod (turn and call numbers
 * carry on from run to run, so both sides play all of them on a single pod): run `i` must be
 * the same turn as run `i`.
 */
export function expectSameTurns(actual: readonly (readonly Event[])[], expected: readonly (readonly Event[])[], options: TurnNormalisation = {}): void {
  expect(actual.map((events) => normaliseTurn(events, options))).toEqual(expected.map((events) => normaliseTurn(events, options)));
}
