/**
 * At-least-once upward reports between real pod processes, deduplicated by the parent
 * (behaviour.md, Upward reports; "Beyond the reference: at-least-once"). Waits follow events —
 * the child's own log lines, the parent's event stream — never sleeps; nothing asserts timing.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { LogEntry } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { podLogFile, waitForLogLine } from "../helpers/pod-log.js";
import { cleanupAll, podEventItems, runText, startPod, tempHome, type PodProcess } from "../helpers/pod-process.js";

afterEach(cleanupAll);

function logFile(pod: PodProcess): string {
  return podLogFile(pod.home, pod.name);
}

/** Whether the pod ran a turn for a pod event and finished it. */
function wokeForPodEvent(entries: readonly LogEntry[]): boolean {
  const invoke = entries.findIndex((entry) => entry.kind === "invoke" && entry.invoke_kind === "pod_event");
  return invoke !== -1 && entries.slice(invoke).some((entry) => entry.kind === "run_completed");
}

/** The entries of a fresh snapshot, once the pod has finished the turn a pod event started. */
async function entriesAfterWake(pod: PodProcess): Promise<LogEntry[]> {
  const client: PodClient = await pod.connect();
  const snapshot = await client.waitFor("snapshot", { timeoutMs: 15_000 });
  if (!wokeForPodEvent(snapshot.data.entries)) await client.waitFor("run_end", { timeoutMs: 15_000 });
  const fresh = await pod.connect();
  return (await fresh.waitFor("snapshot")).data.entries;
}

describe("upward reports between real pods: at least once, taken once", () => {
  it("a parent that is down for 2 s still receives a child's turn_ended exactly once", async () => {
    const home = tempHome();
    let parent = await startPod({ home, name: "boss" });
    const child = await startPod({
      home,
      name: "kid",
      scenario: script().text("done").finish().build(),
      parentSocket: parent.socket,
      env: { PODD_LOG_LEVEL: "debug" },
    });
    const childLog = logFile(child);
    expect(await parent.stop()).toEqual({ code: 0, signal: null });

    const kid = await child.connect();
    await kid.waitFor("snapshot");
    kid.send(runText("work"));
    await kid.waitFor("run_end");
    // The report fails while the parent is down (its socket is gone): retries at 100, 200, 400,
    // 800 ms… Restart the parent only after the fifth failed attempt, i.e. about 1.5 s of failures,
    // plus the parent's own start-up: down for about 2 s in all.
    const fifthFailure = await waitForLogLine(childLog, (line) => line.msg === "upward report attempt failed; retrying" && line.report === "turn_ended" && (line.attempt ?? 0) >= 5);
    expect(fifthFailure.err?.code).toBe("ENOENT");
    parent = await startPod({ home, name: "boss", scenario: script().text("noted: kid finished").finish().build() });

    const sent = await waitForLogLine(childLog, (line) => line.msg === "upward report sent" && line.report === "turn_ended");
    expect(sent.acked).toBe(true);
    expect(sent.attempts).toBeGreaterThanOrEqual(6);
    const entries = await entriesAfterWake(parent);
    expect(podEventItems(entries, "turn_ended", "kid")).toHaveLength(1);
    expect(wokeForPodEvent(entries)).toBe(true);
    expect(entries.filter((entry) => entry.kind === "invoke" && entry.invoke_kind === "pod_event")).toHaveLength(1);

    // The child's shut_down reaches the restarted parent too (and the child exits cleanly).
    expect(await child.stop()).toEqual({ code: 0, signal: null });
    await waitForLogLine(childLog, (line) => line.msg === "upward report sent" && line.report === "shut_down");
  });

  it("a report sent twice by hand with the same report_id is acked twice and queued once", async () => {
    const pod = await startPod({ name: "boss", scenario: script().text("noted").finish().text("noted the note").finish().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    const report = { kind: "turn_ended" as const, pod_name: "kid", report_id: "01JH0Q8N2W5X7Y9Z1A3B5C7D9E" };
    expect(await client.request({ method: "pod_event", params: report })).toMatchObject({ event: "ack" });
    expect(await client.request({ method: "pod_event", params: report })).toMatchObject({ event: "ack" });
    await client.waitFor("run_end");
    // A notify sent after the duplicate: were the duplicate queued, it would be in the inbox ahead of this.
    await client.request({ method: "notify", params: { message: "after the duplicate" } });
    await client.waitFor("run_end");
    const fresh = await pod.connect();
    const entries = (await fresh.waitFor("snapshot")).data.entries;
    expect(podEventItems(entries, "turn_ended", "kid")).toHaveLength(1);
    expect(entries.filter((entry) => entry.kind === "invoke").map((entry) => entry.kind === "invoke" && entry.invoke_kind)).toEqual(["pod_event", "notify"]);
    expect(entries.filter((entry) => entry.kind === "system_item").map((entry) => entry.kind === "system_item" && entry.item.kind)).toEqual(["pod_event", "notification"]);
  });
});
