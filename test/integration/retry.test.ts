/**
 * Retry and backoff as a client sees them, on the scripted model (it runs through the same
 * `withRetry` as the provider adapters): llm_retry events, give-up, and pause/cancel during a
 * backoff returning at once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { cleanupAll, isSettledStatus, names, runText, startPod } from "../helpers/pod-process.js";

afterEach(cleanupAll);


describe("retry", () => {
  it("announces each retry with llm_retry (honouring the provider's wait) and then streams the answer", async () => {
    const pod = await startPod({
      scenario: script().retry({ baseDelayMs: 5 }).fail("rate limited", { status: 429, retryable: true, retryAfterMs: 30 }).fail("overloaded", { status: 529, retryable: true }).text("ok").finish().build(),
    });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.send(runText("go"));
    const events = await client.collectUntil(isSettledStatus);
    expect(names(events).slice(3, 8)).toEqual(["turn_start", "llm_call_start", "llm_retry", "llm_retry", "text_delta"]);
    expect(events[5]).toMatchObject({ event: "llm_retry", data: { llm_call: 0, failed_attempt: 1, max_attempts: 5, wait_ms: 30, status: 429, error: "rate limited" } });
    expect(events[6]).toMatchObject({ event: "llm_retry", data: { failed_attempt: 2, status: 529, error: "overloaded" } });
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });

  it("gives up after the last attempt with error{provider_error}", async () => {
    const failing = script().retry({ baseDelayMs: 1, maxDelayMs: 2 });
    for (let attempt = 0; attempt < 5; attempt += 1) failing.fail("server error", { status: 500, retryable: true });
    const pod = await startPod({ scenario: failing.build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.send(runText("go"));
    const events = await client.collectUntil(isSettledStatus);
    expect(events.filter((event) => event.event === "llm_retry")).toHaveLength(4);
    expect(events.find((event) => event.event === "error")).toEqual({
      event: "error",
      data: { code: "provider_error", message: "gave up after 5 attempts: server error" },
    });
  });

  it.each(["cancel", "pause"] as const)("%s during a backoff ends the run at once, with no further attempt", async (method) => {
    const pod = await startPod({ scenario: script().fail("rate limited", { status: 429, retryable: true, retryAfterMs: 600_000 }).text("never").finish().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.send(runText("go"));
    await client.waitFor("llm_retry");
    await client.request({ method });
    const events = await client.collectUntil(isSettledStatus, { timeoutMs: 5_000 });
    const turnEnd = method === "pause" ? [{ event: "turn_end", data: { turn: 0, result: "paused" } }] : [];
    expect(events).toEqual([...turnEnd, { event: "run_end", data: { result: "rolled_back" } }, { event: "status", data: { status: "idle" } }]);
  });
});
