/**
 * The one shared assertion that a provider-backed pod and the scripted model produce the same
 * event sequence for the same logical turn. Normalised before comparing: tool-call ids become
 * `#1`, `#2`… in order of appearance (providers choose their own), and the numbers of `usage`
 * and `llm_retry` timing fields are dropped (they are the provider's, not the turn's shape).
 */
import { expect } from "vitest";
import type { Event } from "../../protocol/index.js";

export function normaliseTurn(events: readonly Event[]): unknown[] {
  const ids = new Map<string, string>();
  const id = (raw: string): string => {
    if (!ids.has(raw)) ids.set(raw, `#${ids.size + 1}`);
    return ids.get(raw) as string;
  };
  return events.map((event) => {
    switch (event.event) {
      case "usage":
        return { event: "usage" };
      case "llm_retry":
        return { event: "llm_retry", data: { failed_attempt: event.data.failed_attempt, max_attempts: event.data.max_attempts, status: event.data.status } };
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

/** Assert the two runs' events are the same turn (see the module comment). */
export function expectSameTurn(actual: readonly Event[], expected: readonly Event[]): void {
  expect(normaliseTurn(actual)).toEqual(normaliseTurn(expected));
}
