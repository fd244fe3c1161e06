/**
 * Stopped and starved pods (issue 11; docs/reliability.md, "Stopped and starved pods"): a
 * parent frozen with SIGSTOP while clients are attached and its child reports, and a parent
 * that is down (killed) while its child keeps reporting.
 *
 * The outages are 10 s (SIGSTOP) and 30 s (parent down). What those durations stand
 * for is "longer than every timeout and backoff on the other side": the child's attempt
 * timeout (5 s) and its retry backoff, which doubles from 100 ms up to 2 s, and shorter than a
 * report's 60 s deadline. The tests shrink those timings through the environment
 * (PODD_REPORT_*; src/pod/upward-reports.ts, REPORT_TIMING_ENV, inherited by a spawned child)
 * and then outlast them by the same multiples, measured in the child's own log: a 10 s stop
 * against a 5 s attempt timeout is two timed-out attempts, here three; 30 s down against a
 * 2 s backoff cap is about 15 failed attempts, here 15 at a 100 ms cap. Waits follow log
 * lines, events and /proc/<pid>/stat; nothing sleeps.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event, LogEntry } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { podLogFile, waitForLogLine, waitForLogLines } from "../helpers/pod-log.js";
import { cleanupAll, connectWithSnapshot, isIdleStatus, podEventItems, runText, snapshotEntries, startPod, tempHome, writeScenario } from "../helpers/pod-process.js";
import { processState, waitForProcessState } from "../helpers/process-state.js";

const spawnedPids: number[] = [];

afterEach(async () => {
  for (const pid of spawnedPids.splice(0)) {
    try {
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await cleanupAll();
});

/** Report timings shrunk 20×: attempt timeout 5 s → 250 ms, backoff 100 ms → 2 s becomes 50 → 100 ms. */
const SHORT_REPORT_TIMINGS = {
  PODD_REPORT_ATTEMPT_TIMEOUT_MS: "250",
  PODD_REPORT_RETRY_BASE_DELAY_MS: "50",
  PODD_REPORT_RETRY_MAX_DELAY_MS: "100",
  PODD_LOG_LEVEL: "debug",
};

const isFailedAttempt = (report: string, atLeast: number) => (line: { msg: string; report?: string; attempt?: number }) =>
  line.msg === "upward report attempt failed; retrying" && line.report === report && (line.attempt ?? 0) >= atLeast;

/** Wait for the run that the next pod_event starts to finish; returns its events. */
async function nextReportRun(client: PodClient): Promise<Event[]> {
  await client.waitFor("invoke_start", { where: (event) => event.data.kind === "pod_event", timeoutMs: 15_000 });
  return client.collectUntil(isIdleStatus, { timeoutMs: 15_000 });
}

function textsOf(events: readonly Event[]): string[] {
  return events.flatMap((event) => (event.event === "text_done" ? [event.data.text] : []));
}

function invokeKinds(entries: readonly LogEntry[]): string[] {
  return entries.flatMap((entry) => (entry.kind === "invoke" ? [entry.invoke_kind] : []));
}

describe("a stopped pod (SIGSTOP, standing for 10 s)", () => {
  it("clients attached to a frozen parent and its working child recover after SIGCONT, and the child's report is taken once", async () => {
    const home = tempHome();
    const gate = (n: number): string => path.join(home.home, `kid-gate-${n}`);
    const kidScenario = writeScenario(
      home,
      script().gate(gate(1)).text("first done").finish().gate(gate(2)).text("second done").finish().gate(gate(3)).text("third done").finish().build(),
    );
    const parent = await startPod({
      home,
      name: "boss",
      env: SHORT_REPORT_TIMINGS,
      scenario: script()
        .toolCall("spawn_pod", { name: "kid", task: "first task", model: `scripted:${kidScenario}` })
        .finish()
        .text("spawned")
        .finish()
        .text("kid finished once")
        .finish()
        .toolCall("send_to_pod", { name: "kid", message: "second task" })
        .finish()
        .text("sent")
        .finish()
        .text("kid finished twice")
        .finish()
        .toolCall("send_to_pod", { name: "kid", message: "third task" })
        .finish()
        .text("sent again")
        .finish()
        .text("kid finished thrice")
        .finish()
        .build(),
    });
    spawnedPids.push(parent.pid);
    const { client } = await connectWithSnapshot(parent);
    client.send(runText("go"));
    await client.collectUntil(isIdleStatus);
    const kidLog = podLogFile(home.home, "kid");
    const kidPid = Number(fs.readFileSync(path.join(home.runtime, "kid", "pid"), "utf8"));
    spawnedPids.push(kidPid);

    // A first report, taken and acked: from now on the child knows its parent acks (a silence is no delivery).
    fs.writeFileSync(gate(1), "");
    expect(textsOf(await nextReportRun(client))).toEqual(["kid finished once"]);
    client.send(runText("again"));
    await client.collectUntil(isIdleStatus);

    process.kill(parent.pid, "SIGSTOP");
    await waitForProcessState(parent.pid, (state) => state === "T");
    // The child finishes while its parent is frozen: each attempt connects (the kernel queues it) and times out unanswered.
    fs.writeFileSync(gate(2), "");
    const reply = client.request({ method: "list_rewind_targets" }, { timeoutMs: 15_000 });
    const lateClient = connectWithSnapshot(parent);
    await waitForLogLine(kidLog, isFailedAttempt("turn_ended", 3));
    expect(processState(parent.pid)).toBe("T");

    process.kill(parent.pid, "SIGCONT");
    await waitForProcessState(parent.pid, (state) => state !== "T");
    // Clients: the request made during the stop is answered, the client that connected during it gets its handshake.
    await expect(reply).resolves.toMatchObject({ event: "rewind_targets" });
    const late = await lateClient;
    await expect(late.client.request({ method: "list_rewind_targets" })).resolves.toMatchObject({ event: "rewind_targets" });
    // The report, sent several times into the frozen socket, wakes the parent once.
    expect(textsOf(await nextReportRun(client))).toEqual(["kid finished twice"]);
    const sent = await waitForLogLine(kidLog, (line) => line.msg === "upward report sent" && line.report === "turn_ended" && (line.attempts ?? 0) >= 4);
    expect(sent.acked).toBe(true);

    // The child recovers too: it takes new work from the parent and reports it once.
    client.send(runText("third"));
    await client.collectUntil(isIdleStatus);
    fs.writeFileSync(gate(3), "");
    expect(textsOf(await nextReportRun(client))).toEqual(["kid finished thrice"]);
    const entries = await snapshotEntries(parent);
    expect(podEventItems(entries, "turn_ended", "kid")).toHaveLength(3);
    expect(invokeKinds(entries)).toEqual(["user_send", "pod_event", "user_send", "pod_event", "user_send", "pod_event"]);
    expect(processState(kidPid)).not.toBe("T");
  });
});

describe("a parent that is down (standing for 30 s)", () => {
  it("the child's reports queued while its parent was killed arrive exactly once, in order, after it restarts", async () => {
    const home = tempHome();
    let parent = await startPod({ home, name: "boss" });
    const child = await startPod({ home, name: "kid", parentSocket: parent.socket, env: SHORT_REPORT_TIMINGS, scenario: script().text("one").finish().text("two").finish().build() });
    const kidLog = podLogFile(home.home, "kid");
    // Down hard: killed, its socket file left behind (connections are refused, not missing).
    parent.child.kill("SIGKILL");
    await parent.exited;

    const { client: kid } = await connectWithSnapshot(child);
    for (const text of ["first", "second"]) {
      kid.send(runText(text));
      await kid.collectUntil(isIdleStatus);
    }
    // 15 failed attempts of the first report, the later ones at the 100 ms cap (30 s at the real 2 s cap).
    const failure = await waitForLogLine(kidLog, isFailedAttempt("turn_ended", 15));
    expect(failure.err?.code).toBe("ECONNREFUSED");

    parent = await startPod({ home, name: "boss", scenario: script().text("noted").finish().text("noted again").finish().build() });
    const sent = await waitForLogLines(kidLog, (line) => line.msg === "upward report sent" && line.report === "turn_ended", 2);
    const entries = await waitForIdleWith(parent, (found) => podEventItems(found, "turn_ended", "kid").length === 2);
    const takenIds = podEventItems(entries, "turn_ended", "kid").map((entry) => entry.kind === "system_item" && (entry.item as { event: { report_id?: string } }).event.report_id);
    expect(takenIds).toEqual(sent.map((line) => line.report_id));
    expect(sent.map((line) => line.acked)).toEqual([true, true]);
  });

  it("a report the parent took just before it was killed is acked, not taken again, when it comes again after the restart", async () => {
    const home = tempHome();
    const taken = { kind: "turn_ended" as const, pod_name: "kid", report_id: "01JH0Q8N2W5X7Y9Z1A3B5C7D9E" };
    const queued = { kind: "errored" as const, pod_name: "kid", message: "boom", report_id: "01JH0Q8N2W5X7Y9Z1A3B5C7D9F" };
    const first = await startPod({ home, name: "boss", scenario: script().text("noted").finish().text("holding").hang().build() });
    const { client } = await connectWithSnapshot(first);
    // Taken and in the log (its wake-up turn finished) …
    await client.request({ method: "pod_event", params: taken });
    await client.collectUntil(isIdleStatus);
    // … and taken while a run holds the model, so it waits in the durable inbox.
    client.send(runText("hold"));
    await client.waitFor("text_done");
    await client.request({ method: "pod_event", params: queued });
    first.child.kill("SIGKILL");
    await first.exited;

    // The restart finds the queued report in its inbox and wakes for it; the acks were "lost": both come again.
    const second = await startPod({ home, name: "boss", scenario: script().text("noted the queued one").finish().text("noted the note").finish().build() });
    await waitForIdleWith(second, (found) => invokeKinds(found).length === 3 && found.at(-1)?.kind === "run_completed");
    const { client: again } = await connectWithSnapshot(second);
    await expect(again.request({ method: "pod_event", params: taken })).resolves.toMatchObject({ event: "ack" });
    await expect(again.request({ method: "pod_event", params: queued })).resolves.toMatchObject({ event: "ack" });
    await again.request({ method: "notify", params: { message: "after the copies" } });
    const entries = await waitForIdleWith(second, (found) => invokeKinds(found).includes("notify") && found.at(-1)?.kind === "run_completed");
    expect(podEventItems(entries, "turn_ended", "kid")).toHaveLength(1);
    expect(podEventItems(entries, "errored", "kid")).toHaveLength(1);
    // After the restart: one turn for the queued report, one for the notify; none for the copies.
    expect(invokeKinds(entries)).toEqual(["pod_event", "user_send", "pod_event", "notify"]);
  });
});

/** A fresh snapshot's entries once the pod is idle and `done` accepts them (between snapshots, waits for the next status{idle}). */
async function waitForIdleWith(pod: { connect(): Promise<PodClient> }, done: (entries: readonly LogEntry[]) => boolean): Promise<LogEntry[]> {
  for (;;) {
    const client = await pod.connect();
    const snapshot = await client.waitFor("snapshot");
    if (snapshot.data.status === "idle" && done(snapshot.data.entries)) {
      client.destroy();
      return snapshot.data.entries;
    }
    await client.waitFor("status", { where: (event) => event.data.status === "idle", timeoutMs: 15_000 });
    client.destroy();
  }
}
