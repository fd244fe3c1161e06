/**
 * Compaction through the socket and the CLI, against real pod processes: a manual compact
 * (the events, the new segment on disk, what the next model request holds, a restart after
 * it), failure and timeout (fail-soft: the old segment untouched, the pod keeps working),
 * cancel, methods held during a compaction, the state rules, and automatic compaction at the
 * context threshold.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event, LogEntry } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { COMPACTION_REQUEST } from "../../src/pod/compaction.js";
import { runCli } from "../helpers/cli-run.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { openAIStream } from "../helpers/openai-sse.js";
import { cleanupAll, connectWithSnapshot, isIdleStatus, names, type PodProcess, runText, runToIdle, snapshotEntries, startPod, tempHome, writeProfiles } from "../helpers/pod-process.js";

afterEach(cleanupAll);


const isCompactOutcome = (event: Event) => event.event === "compact_done" || event.event === "compact_failed";

function metadataOf(pod: PodProcess): { session_id: string; segment_id: string } {
  return JSON.parse(fs.readFileSync(path.join(pod.home, "pods", pod.name, "metadata.json"), "utf8")) as { session_id: string; segment_id: string };
}

function sessionFiles(pod: PodProcess): string[] {
  return fs.readdirSync(path.join(pod.home, "sessions", metadataOf(pod).session_id)).filter((file) => file.endsWith(".jsonl")).sort();
}

function segmentBytes(pod: PodProcess, segmentId: string): Buffer {
  return fs.readFileSync(path.join(pod.home, "sessions", metadataOf(pod).session_id, `${segmentId}.jsonl`));
}

/** The pod's active segment, its bytes and what a snapshot shows, to compare after a compaction that must change nothing. */
async function sessionNow(pod: PodProcess): Promise<{ segment: string; bytes: Buffer; entries: LogEntry[] }> {
  const segment = metadataOf(pod).segment_id;
  return { segment, bytes: segmentBytes(pod, segment), entries: await snapshotEntries(pod) };
}

/** Fail-soft: the same active segment, byte for byte, no new segment file, the same snapshot. */
async function expectSessionKept(pod: PodProcess, kept: { segment: string; bytes: Buffer; entries: LogEntry[] }): Promise<void> {
  expect(metadataOf(pod).segment_id).toBe(kept.segment);
  expect(segmentBytes(pod, kept.segment)).toEqual(kept.bytes);
  expect(sessionFiles(pod)).toEqual([`${kept.segment}.jsonl`]);
  expect(await snapshotEntries(pod)).toEqual(kept.entries);
}

describe("compact through the socket", () => {
  it("summarises into a new segment; the next request holds only the summary; a restart continues from it", async () => {
    const fake = await FakeProvider.start();
    try {
      const home = tempHome();
      writeProfiles(home.home, { p: { model: "openai:gpt-4.1", base_url: `${fake.origin}/v1` } });
      const env = { OPENAI_API_KEY: "sk-test-compact" };
      fake.enqueue(
        openAIStream({ toolCalls: [{ id: "call_a", name: "list_files", input: {} }] }),
        openAIStream({ text: ["the first ", "answer"] }),
        openAIStream({ text: ["SUMMARY: the user asked the first question; ", "files were listed."], usage: { prompt_tokens: 500, completion_tokens: 42 } }),
        openAIStream({ text: ["after compaction"] }),
        openAIStream({ text: ["after restart"] }),
      );
      let pod = await startPod({ home, name: "compactor", model: "p", env });
      const { client } = await connectWithSnapshot(pod);
      const first = await runToIdle(client, "the first question");
      const turnsBefore = first.filter((event) => event.event === "turn_start").length;
      const oldSegment = metadataOf(pod).segment_id;
      const oldBytes = segmentBytes(pod, oldSegment);
      const oldEntries = await snapshotEntries(pod);

      client.drain();
      const ack = await client.request({ method: "compact" });
      expect(ack).toMatchObject({ event: "ack", data: { method: "compact" } });
      const events = await client.collectUntil(isCompactOutcome);
      expect(names(events)).toEqual(["compact_start", "segment_rotated", "system_item", "compact_done"]);
      const rotated = events[1];
      const done = events[3];
      if (rotated?.event !== "segment_rotated" || done?.event !== "compact_done") throw new Error("unexpected events");
      expect(rotated.data.entry).toMatchObject({ kind: "segment_start", compacted_from: oldSegment, pod_name: "compactor", session_id: metadataOf(pod).session_id });
      expect(done.data.new_segment_id).toBe(rotated.data.entry.segment_id);
      expect(events[2]).toMatchObject({ event: "system_item", data: { item: { kind: "compaction_summary" } } });

      // The summary request: the whole history, then the compaction request.
      const summaryRequest = JSON.stringify(fake.requests[2]?.body);
      expect(summaryRequest).toContain("the first question");
      expect(summaryRequest).toContain("the first answer");
      expect(summaryRequest).toContain(JSON.stringify(COMPACTION_REQUEST).slice(1, 40));
      // The summary may not call tools: they are sent (the history has tool calls) but switched off.
      expect(fake.requests[2]?.body).toMatchObject({ tool_choice: "none", tools: expect.any(Array) });
      expect(fake.requests[0]?.body).not.toHaveProperty("tool_choice");

      // On disk: the old segment is untouched, the new one is active, and a snapshot shows only it.
      expect(segmentBytes(pod, oldSegment)).toEqual(oldBytes);
      expect(metadataOf(pod).segment_id).toBe(done.data.new_segment_id);
      expect(sessionFiles(pod)).toEqual([`${oldSegment}.jsonl`, `${done.data.new_segment_id}.jsonl`]);
      const compacted = await snapshotEntries(pod);
      expect(compacted.map((entry) => entry.kind)).toEqual(["segment_start", "extension", "system_item"]);
      expect(JSON.stringify(compacted[2])).toContain("SUMMARY: the user asked the first question; files were listed.");
      expect(oldEntries.length).toBeGreaterThan(compacted.length);

      // The next request carries the summary, not the summarised exchange; turn numbers go on.
      const second = await runToIdle(client, "go on");
      const nextRequest = JSON.stringify(fake.requests[3]?.body);
      expect(nextRequest).toContain("SUMMARY: the user asked the first question");
      expect(nextRequest).not.toContain("the first answer");
      expect(nextRequest).toContain("go on");
      expect(second.find((event) => event.event === "turn_start")).toMatchObject({ data: { turn: turnsBefore } });
      client.destroy();

      // A restart restores the compacted segment (and its counters).
      await pod.stop();
      pod = await startPod({ home, name: "compactor", model: "p", env });
      const restored = await connectWithSnapshot(pod);
      expect(restored.entries).toEqual(await snapshotEntries(pod));
      expect(restored.entries[0]).toMatchObject({ kind: "segment_start", compacted_from: oldSegment });
      const third = await runToIdle(restored.client, "and again");
      expect(third.find((event) => event.event === "turn_start")).toMatchObject({ data: { turn: turnsBefore + 1 } });
      const restartRequest = JSON.stringify(fake.requests[4]?.body);
      expect(restartRequest).toContain("SUMMARY: the user asked the first question");
      expect(restartRequest).toContain("after compaction");
      expect(restartRequest).not.toContain("the first answer");
      restored.client.destroy();
    } finally {
      await fake.close();
    }
  });

  it("a failed summary call leaves the old segment as it was and the pod keeps working", async () => {
    const scenario = script().text("hello").finish().fail("summary service down", { status: 400 }).text("still here").finish().build();
    const pod = await startPod({ home: tempHome(), name: "failsoft", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    const kept = await sessionNow(pod);

    client.drain();
    client.send({ method: "compact" });
    const events = await client.collectUntil(isCompactOutcome);
    expect(names(events)).toEqual(["compact_start", "compact_failed"]);
    expect(events[1]).toMatchObject({ event: "compact_failed", data: { error: expect.stringContaining("summary service down") } });
    await expectSessionKept(pod, kept);

    const after = await runToIdle(client, "are you there?");
    expect(after.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "still here" } }]);
    client.destroy();
  });

  it("an answer that is not a summary (a tool call, or one sentence for a long conversation) fails the compaction; nothing changes", async () => {
    const long = "The plan has twelve steps; ".repeat(40);
    const scenario = script()
      .text(long)
      .finish()
      .text("Let me re-read the plan first.")
      .toolCall("read_file", { path: "plan.md" })
      .finish()
      .text("Let me re-read the plan first.")
      .finish()
      .text("still here")
      .finish()
      .build();
    const pod = await startPod({ home: tempHome(), name: "notasummary", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "make a plan");
    const kept = await sessionNow(pod);

    for (const expected of [/called a tool \(read_file\) after "Let me re-read the plan first\." instead of writing a summary/, /too short to be a summary \(30 characters, at least 1\d\d needed\)/]) {
      client.drain();
      client.send({ method: "compact" });
      const events = await client.collectUntil(isCompactOutcome);
      expect(names(events)).toEqual(["compact_start", "compact_failed"]);
      const failed = events[1];
      expect(failed?.event === "compact_failed" && failed.data.error).toMatch(expected);
      await expectSessionKept(pod, kept);
    }
    const after = await runToIdle(client, "are you there?");
    expect(after.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "still here" } }]);
    client.destroy();
  });

  it("a summary that takes longer than --compact-timeout fails the compaction; the pod keeps working", async () => {
    const scenario = script().text("hello").finish().hang().text("still here").finish().build();
    const pod = await startPod({ home: tempHome(), name: "slowsum", scenario, extraArgs: ["--compact-timeout", "300"] });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    const segment = metadataOf(pod).segment_id;
    client.drain();
    client.send({ method: "compact" });
    const events = await client.collectUntil(isCompactOutcome);
    expect(events[events.length - 1]).toMatchObject({ event: "compact_failed", data: { error: "the summary took longer than the 300 ms limit" } });
    expect(metadataOf(pod).segment_id).toBe(segment);
    const after = await runToIdle(client, "still?");
    expect(after.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "still here" } }]);
    client.destroy();
  });

  it("cancel stops a compaction; a run sent during it waits and then runs on the kept segment", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const scenario = script().text("hello").finish().text("partial summary", { gate }).finish().text("ran after").finish().build();
    const pod = await startPod({ home, name: "cancelsum", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    const before = await snapshotEntries(pod);
    client.drain();
    client.send({ method: "compact" });
    await client.waitFor("compact_start");
    // Held: the run waits for the compaction; a second compact is refused; pause is not for compactions.
    client.send(runText("queued during compaction"));
    await expect(client.request({ method: "compact" })).rejects.toMatchObject({ code: "already_running" });
    await expect(client.request({ method: "pause" })).rejects.toMatchObject({ code: "not_running" });
    const cancelAck = await client.request({ method: "cancel" });
    expect(cancelAck).toMatchObject({ event: "ack", data: { method: "cancel" } });
    const events = await client.collectUntil(isIdleStatus);
    const order = names(events);
    expect(order.indexOf("compact_failed")).toBeGreaterThanOrEqual(0);
    expect(order.indexOf("compact_failed")).toBeLessThan(order.indexOf("user_message"));
    expect(events.find((event) => event.event === "compact_failed")).toMatchObject({ data: { error: "cancelled" } });
    expect(events.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "ran after" } }]);
    const after = await snapshotEntries(pod);
    expect(after.slice(0, before.length)).toEqual(before);
    client.destroy();
  });

  it("is refused while running, while paused, and when there is nothing to compact", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const pod = await startPod({ home, name: "rules", scenario: script().text("working", { gate }).finish().build() });
    const { client } = await connectWithSnapshot(pod);
    await expect(client.request({ method: "compact" })).rejects.toMatchObject({ code: "invalid_request", message: "Nothing to compact: the session has no conversation yet" });
    client.send(runText("go"));
    await client.waitFor("text_delta");
    await expect(client.request({ method: "compact" })).rejects.toMatchObject({ code: "already_running" });
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await expect(client.request({ method: "compact" })).rejects.toMatchObject({ code: "invalid_request", message: expect.stringContaining("paused") });
    client.destroy();
  });

  it("compacts by itself before a run once the context passes --compact-at of the window", async () => {
    const scenario = script()
      .contextWindow(1000)
      .text("big answer")
      .usage({ input_tokens: 700, output_tokens: 50 })
      .finish()
      .text("AUTO SUMMARY")
      .usage({ output_tokens: 12 })
      .finish()
      .text("saw {{last_system_text:200}}")
      .finish()
      .build();
    const pod = await startPod({ home: tempHome(), name: "auto", scenario, extraArgs: ["--compact-at", "0.6"] });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "first");
    const oldSegment = metadataOf(pod).segment_id;
    client.drain();
    const events = await runToIdle(client, "second");
    const order = names(events);
    // The user's message goes out when its run starts: after the compaction that ran ahead of it.
    expect(order.slice(0, order.indexOf("invoke_start") + 1)).toEqual([
      "compact_start",
      "segment_rotated",
      "system_item",
      "compact_done",
      "user_message",
      "status",
      "invoke_start",
    ]);
    expect(events.find((event) => event.event === "segment_rotated")).toMatchObject({ data: { entry: { compacted_from: oldSegment } } });
    expect(events.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: expect.stringContaining("AUTO SUMMARY") } }]);
    // The run's entries follow the summary in the new segment.
    const entries = await snapshotEntries(pod);
    expect(entries.slice(0, 4).map((entry) => entry.kind)).toEqual(["segment_start", "extension", "system_item", "invoke"]);
    expect(entries.filter((entry) => entry.kind === "user_input")).toHaveLength(1);
    client.destroy();
  });
});

describe("cancel during an automatic compaction", () => {
  it("drops the run the compaction was running ahead of (rolled back) and keeps the session as it was", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const scenario = script()
      .contextWindow(1000)
      .text("big answer")
      .usage({ input_tokens: 900 })
      .finish()
      .text("summary that never ends", { gate })
      .finish()
      .text("should not run")
      .finish()
      .build();
    const pod = await startPod({ home, name: "autocancel", scenario, extraArgs: ["--compact-at", "0.5"] });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "first");
    const before = await snapshotEntries(pod);
    client.drain();
    client.send(runText("second"));
    await client.waitFor("compact_start");
    await client.request({ method: "cancel" });
    const events = await client.collectUntil(isIdleStatus);
    expect(names(events)).toEqual(["user_message", "run_end", "status"]);
    expect(events[1]).toMatchObject({ data: { result: "rolled_back" } });
    await expect(client.waitFor("compact_failed")).resolves.toMatchObject({ data: { error: "cancelled" } });
    expect(await snapshotEntries(pod)).toEqual(before);
    expect(JSON.stringify(await snapshotEntries(pod))).not.toContain("should not run");
    client.destroy();
  });
});

describe("compaction and crashes", () => {
  it("kill -9 during a compaction: the restart has the old segment whole; a segment left unfinished is removed with an alert", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const scenario = script().text("hello").finish().text("never finished", { gate }).finish().build();
    const pod = await startPod({ home, name: "crashsum", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    const before = await snapshotEntries(pod);
    const segment = metadataOf(pod).segment_id;
    client.send({ method: "compact" });
    await client.waitFor("compact_start");
    pod.child.kill("SIGKILL");
    await pod.exited;
    client.destroy();

    // As if the crash had come between writing the new segment and making it active.
    const orphan = `${segment.slice(0, -1)}${segment.endsWith("Z") ? "Y" : "Z"}`;
    const orphanName = orphan > segment ? orphan : `${segment}0`;
    const sessionDir = path.join(home.home, "sessions", metadataOf(pod).session_id);
    fs.writeFileSync(path.join(sessionDir, `${orphanName}.jsonl`), `${JSON.stringify({ kind: "segment_start", ts: 1, segment_id: orphanName, session_id: metadataOf(pod).session_id, pod_name: "crashsum", compacted_from: segment })}\n`);

    const restarted = await startPod({ home, name: "crashsum", scenario: script().text("back").finish().build() });
    const again = await restarted.connect();
    const handshake = await again.collectUntil("snapshot");
    const alerts = handshake.flatMap((event) => (event.event === "alert" ? [event.data.message] : []));
    const snapshot = handshake[handshake.length - 1];
    if (snapshot?.event !== "snapshot") throw new Error("no snapshot");
    expect(snapshot.data.entries).toEqual(before);
    expect(alerts).toEqual([expect.stringContaining(`removed ${orphanName}.jsonl`)]);
    expect(sessionFiles(restarted)).toEqual([`${segment}.jsonl`]);
    const after = await runToIdle(again, "still there?");
    expect(after.filter((event) => event.event === "text_done")).toMatchObject([{ data: { text: "back" } }]);
    again.destroy();
  });
});

describe("podd compact", () => {
  it("prints the new segment and exits 0; exits 1 with the error when the compaction fails", async () => {
    const scenario = script().text("hello").finish().text("CLI SUMMARY").finish().fail("no summary today", { status: 400 }).build();
    const pod = await startPod({ home: tempHome(), name: "clicompact", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    client.destroy();
    const ok = await runCli(["compact", "clicompact"], { env: pod.env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`compacted: new segment ${metadataOf(pod).segment_id}\n`);
    const failed = await runCli(["compact", "clicompact", "--json"], { env: pod.env });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, error: expect.stringContaining("no summary today") });
    expect(failed.stderr).toContain("compaction failed");
  });

  it("exits 1 and keeps the session when the summary answer calls a tool (it printed `compacted` before)", async () => {
    const scenario = script().text("hello").finish().text("Let me re-read the plan first.").toolCall("read_file", { path: "plan.md" }).finish().build();
    const pod = await startPod({ home: tempHome(), name: "toolsummary", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "hi");
    client.destroy();
    const segment = metadataOf(pod).segment_id;
    const result = await runCli(["compact", "toolsummary"], { env: pod.env });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("compacted");
    expect(result.stderr).toMatch(/called a tool \(read_file\)/);
    expect(metadataOf(pod).segment_id).toBe(segment);
  });
});
