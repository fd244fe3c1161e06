/**
 * Durable sessions, first part: restore on restart, crash recovery after kill -9, torn last
 * lines, the durable inbox, paused runs across restarts, --new, one live pod per session.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseLogEntryLine, type Event, type LogEntry } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { lockSession } from "../../src/session/pod-metadata.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { openAIStream } from "../helpers/openai-sse.js";
import { cleanupAll, isIdleStatus, type PodProcess, runText, segmentFile, startPod, tempHome, writeProfiles } from "../helpers/pod-process.js";

afterEach(cleanupAll);

async function snapshotOf(pod: PodProcess): Promise<{ entries: LogEntry[]; status: string }> {
  const client = await pod.connect();
  const snapshot = await client.waitFor("snapshot");
  client.destroy();
  return { entries: snapshot.data.entries, status: snapshot.data.status };
}

async function runTurn(pod: PodProcess, text: string): Promise<Event[]> {
  const client = await pod.connect();
  await client.waitFor("snapshot");
  client.send(runText(text));
  const events = await client.collectUntil(isIdleStatus);
  client.destroy();
  return events;
}

function segmentFileOf(pod: PodProcess): string {
  return segmentFile(pod.home, pod.name);
}

describe("restore", () => {
  it("after a restart the next model request carries exactly the history a pod that never stopped would send", async () => {
    const fake = await FakeProvider.start();
    try {
      const cwd = fs.mkdtempSync(path.join(tempHome().home, "cwd-"));
      const requestsOf = async (restart: boolean): Promise<unknown> => {
        const home = tempHome();
        writeProfiles(home.home, { p: { model: "openai:gpt-4.1", base_url: `${fake.origin}/v1` } });
        const env = { OPENAI_API_KEY: "sk-test-restore" };
        const before = fake.requests.length;
        fake.enqueue(
          openAIStream({ toolCalls: [{ id: "call_a", name: "list_files", input: {} }] }),
          openAIStream({ text: ["first ", "answer"] }),
          openAIStream({ text: ["second"] }),
        );
        let pod = await startPod({ home, name: "keeper", model: "p", cwd, env });
        await runTurn(pod, "one");
        if (restart) {
          await pod.stop();
          pod = await startPod({ home, name: "keeper", model: "p", cwd, env });
        }
        await runTurn(pod, "two");
        await pod.stop();
        return (fake.requests[before + 2]?.body as { messages: unknown }).messages;
      };
      const continuous = await requestsOf(false);
      const restored = await requestsOf(true);
      expect(Array.isArray(continuous) && continuous.length).toBe(6);
      expect(restored).toEqual(continuous);
    } finally {
      await fake.close();
    }
  });

  it("kill -9 during a tool call: the restart closes the call, records the run as interrupted, and a new run works", async () => {
    const home = tempHome();
    const gate = path.join(home.home, "never");
    const pod = await startPod({ home, name: "crashy", scenario: script().text("working").toolCall("list_files", {}, { id: "t1" }).gate(gate).finish().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    process.kill(pod.pid, "SIGKILL");
    await pod.exited;
    const again = await startPod({ home, name: "crashy", scenario: script().text("{{last_system_text:13}}").finish().build() });
    const { entries, status } = await snapshotOf(again);
    expect(status).toBe("idle");
    const tail = entries.slice(-2);
    expect(tail[0]).toMatchObject({ kind: "tool_result", item: { id: "t1", summary: "[Interrupted by user]", is_error: true } });
    expect(tail[1]).toMatchObject({ kind: "run_errored", code: "internal", message: "interrupted: the pod stopped during this run" });
    const events = await runTurn(again, "still there?");
    expect(events.find((event) => event.event === "system_item")).toMatchObject({ data: { item: { kind: "interrupt" } } });
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "[Interrupted]" } });
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });

  it("a torn last line is skipped with an alert, everything before it kept, and appends stay clean", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "torn", scenario: script().text("kept").finish().build() });
    await runTurn(pod, "hello");
    await pod.stop();
    const file = segmentFileOf(pod);
    const before = fs.readFileSync(file, "utf8");
    fs.appendFileSync(file, '{"kind":"assistant_item","ts":1,"item":{"kind":"mess');
    const again = await startPod({ home, name: "torn", scenario: script().text("after").finish().build() });
    const client = await again.connect();
    const handshake = await client.collectUntil("snapshot");
    const alert = handshake.find((event) => event.event === "alert");
    expect(alert).toMatchObject({ data: { level: "warn", message: expect.stringMatching(/^session: skipped a torn last line/) } });
    const snapshot = handshake.at(-1) as Extract<Event, { event: "snapshot" }>;
    expect(snapshot.data.entries).toEqual(before.trim().split("\n").map(parseLogEntryLine));
    client.destroy();
    await runTurn(again, "more");
    await again.stop();
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    expect(lines.filter((line) => parseLogEntryLine(line) === undefined)).toEqual([]);
    expect(fs.readFileSync(file, "utf8").startsWith(before)).toBe(true);
  });

  it("queued notifications survive kill -9 and reach the next model request", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "inbox", scenario: script().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    await client.request({ method: "notify", params: { message: "remember the milk", wake: false } });
    process.kill(pod.pid, "SIGKILL");
    await pod.exited;
    const again = await startPod({ home, name: "inbox", scenario: script().text("{{last_system_text}}").finish().build() });
    const events = await runTurn(again, "go");
    expect(events.find((event) => event.event === "system_item")).toMatchObject({ data: { item: { kind: "notification", message: "remember the milk" } } });
    const next = await runTurn(again, "again");
    expect(next.filter((event) => event.event === "system_item")).toEqual([]);
  });

  it("a paused run is still paused after a restart, and resume runs its open tool call", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "pausy", scenario: script().toolCall("list_files", {}, { id: "p1" }).hang().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await pod.stop();
    const again = await startPod({ home, name: "pausy", scenario: script().text("resumed").finish().build() });
    const resumed = await again.connect();
    expect((await resumed.waitFor("snapshot")).data.status).toBe("paused");
    await resumed.request({ method: "resume" });
    const events = await resumed.collectUntil(isIdleStatus);
    expect(events.find((event) => event.event === "tool_result")).toMatchObject({ data: { id: "p1", is_error: false } });
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });

  it("--new starts a fresh session under the same name", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "fresh", scenario: script().text("x").finish().build() });
    await runTurn(pod, "hello");
    await pod.stop();
    const oldFile = segmentFileOf(pod);
    const again = await startPod({ home, name: "fresh", scenario: script().build(), extraArgs: ["--new"] });
    expect((await snapshotOf(again)).entries.map((entry) => entry.kind)).toEqual(["segment_start"]);
    expect(segmentFileOf(again)).not.toBe(oldFile);
    expect(fs.existsSync(oldFile)).toBe(true);
  });
});

describe("one live pod per session", () => {
  it("refuses a second owner while the first lives, and takes over from a dead one", () => {
    const dir = fs.mkdtempSync(path.join(tempHome().home, "sess-"));
    fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify({ pid: process.ppid, pod_name: "other" }));
    expect(() => lockSession(dir, "me")).toThrow(/is open in pod other \(pid \d+\); a session is opened by one live pod at a time/);
    fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify({ pid: 2 ** 22 + 12345, pod_name: "gone" }));
    const release = lockSession(dir, "me");
    expect(JSON.parse(fs.readFileSync(path.join(dir, "owner.json"), "utf8"))).toEqual({ pid: process.pid, pod_name: "me" });
    release();
    expect(fs.existsSync(path.join(dir, "owner.json"))).toBe(false);
  });
});
