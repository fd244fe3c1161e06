/**
 * behaviour.md's method × state table, row by row, against real pod processes over real
 * sockets. Model calls are held open at exact points with scenario gates (a file the test
 * creates), never with sleeps.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LogEntry, type Event } from "../../protocol/index.js";
import { PodClient } from "../../src/client/pod-client.js";
import { script, type ScriptBuilder } from "../../src/model/scripted/script-builder.js";
import { notificationBody } from "../../src/pod/notification-inbox.js";
import { cleanupAll, names, type PodProcess, runText, startPod, tempHome } from "../helpers/pod-process.js";

afterEach(cleanupAll);

/** A pod whose scenario may use gates; `open(n)` releases gate n. */
async function gatedPod(build: (gate: (n: number) => string) => ScriptBuilder, options: { maxTurns?: number } = {}) {
  const home = tempHome();
  const gate = (n: number): string => path.join(home.home, `gate-${n}`);
  const pod = await startPod({ home, scenario: build(gate).build(), maxTurns: options.maxTurns });
  const client = await pod.connect();
  await client.waitFor("snapshot");
  return { pod, client, open: (n: number) => fs.writeFileSync(gate(n), ""), gate };
}

function sessionEntries(pod: PodProcess): LogEntry[] {
  const sessions = path.join(pod.home, "sessions");
  const files = fs.readdirSync(sessions).flatMap((session) => fs.readdirSync(path.join(sessions, session)).filter((file) => file.endsWith(".jsonl")).map((file) => path.join(sessions, session, file)));
  return files.flatMap((file) =>
    fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => LogEntry.parse(JSON.parse(line))),
  );
}

/** The committed entries a new client's snapshot carries (the client's pod is found through its socket). */
async function startLateClient(client: PodClient): Promise<LogEntry[]> {
  const late = await PodClient.connect(client.socketPath);
  const snapshot = await late.waitFor("snapshot");
  late.destroy();
  return snapshot.data.entries;
}

/** A raw connection that never reads (its socket is paused as soon as it connects). */
async function stalledClient(socket: string): Promise<net.Socket> {
  const stuck = net.createConnection(socket);
  await new Promise((resolve) => stuck.once("connect", resolve));
  stuck.pause();
  return stuck;
}

const isRunEnd = (event: Event) => event.event === "run_end" || (event.event === "error" && event.reply_to === undefined);
const isStatus = (status: string) => (event: Event) => event.event === "status" && event.data.status === status;

describe("run", () => {
  it("idle: user_message, status, invoke_start{user_send}, then the turn (thinking, text) to run_end{finished}", async () => {
    const { client } = await gatedPod(() => script().thinking("Let me think.", { signature: "sig" }).text("Hi.").finish());
    client.send(runText("Hello"));
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events)).toEqual([
      "user_message", "status", "invoke_start", "turn_start", "llm_call_start",
      "thinking_start", "thinking_delta", "thinking_delta", "thinking_delta", "thinking_done", "text_delta", "text_done",
      "usage", "llm_call_end", "turn_end", "run_end", "status",
    ]);
    expect(events[0]).toEqual({ event: "user_message", data: { segments: [{ kind: "text", content: "Hello" }] } });
    expect(events[2]).toEqual({ event: "invoke_start", data: { kind: "user_send" } });
    expect(events[9]).toEqual({ event: "thinking_done", data: { text: "Let me think." } });
    expect(events[15]).toEqual({ event: "run_end", data: { result: "finished" } });
    const late = await startLateClient(client);
    const kinds = late.map((entry) => (entry.kind === "assistant_item" ? `assistant_item:${entry.item.kind}` : entry.kind));
    expect(kinds).toEqual([
      "segment_start", "invoke", "user_input", "assistant_item:reasoning", "assistant_item:message", "llm_usage", "turn_end", "run_completed",
    ]);
  });

  it("running: error{already_running} to the sender only, and the turn goes on", async () => {
    const { pod, client, open } = await gatedPod((gate) => script().text("a").gate(gate(1)).finish());
    const other = await pod.connect();
    await other.waitFor("snapshot");
    client.send(runText("first"));
    await client.waitFor("text_done");
    await expect(other.request(runText("second"))).rejects.toMatchObject({ code: "already_running" });
    open(1);
    const events = await client.collectUntil(isStatus("idle"));
    expect(events.filter((event) => event.event === "error")).toEqual([]);
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });

  it("paused: closes orphan tool calls with [Interrupted by user], adds the interrupt note, then the turn", async () => {
    const { pod, client } = await gatedPod(() =>
      script().toolCall("list_files", {}, { id: "t1" }).hang().text("tool said: {{last_tool_output}}").finish(),
    );
    client.send(runText("list"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    client.send(runText("go on"));
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events).slice(0, 6)).toEqual(["user_message", "status", "invoke_start", "tool_result", "system_item", "turn_start"]);
    expect(events[3]).toEqual({ event: "tool_result", data: { id: "t1", summary: "[Interrupted by user]", output: "[Interrupted by user]", is_error: true } });
    expect(events[4]).toMatchObject({ event: "system_item", data: { item: { kind: "interrupt" } } });
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "tool said: [Interrupted by user]" } });
    const entries = sessionEntries(pod);
    const results = entries.filter((entry) => entry.kind === "tool_result");
    expect(results).toHaveLength(1);
  });
});

describe("notify", () => {
  it("idle: queues and starts a notification turn; the model sees the [Notification] wrapper", async () => {
    const { client } = await gatedPod(() => script().text("saw: {{last_system_text}}").finish());
    client.send({ method: "notify", params: { message: "build finished" } });
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events).slice(0, 4)).toEqual(["status", "invoke_start", "turn_start", "system_item"]);
    expect(events[1]).toEqual({ event: "invoke_start", data: { kind: "notify" } });
    const body = notificationBody("build finished");
    expect(body).toBe(
      "[Notification]\nbuild finished\n\nThis is a notification, not a blocking request. If you are in the middle of a task, continue your current work and address this at a natural stopping point.",
    );
    expect(events[3]).toEqual({ event: "system_item", data: { item: { kind: "notification", message: "build finished", body } } });
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: `saw: ${body}` } });
  });

  it("running: queued and drained before the next model request of this turn", async () => {
    const { client, open } = await gatedPod((gate) =>
      script().toolCall("list_files", {}).gate(gate(1)).finish().text("{{last_system_text:14}}").finish(),
    );
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "notify", params: { message: "mid-turn" } });
    open(1);
    const events = await client.collectUntil(isStatus("idle"));
    const order = names(events);
    const secondTurn = order.indexOf("turn_start");
    expect(order.slice(secondTurn, secondTurn + 3)).toEqual(["turn_start", "system_item", "llm_call_start"]);
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "[Notification]" } });
    expect(order).not.toContain("invoke_start");
  });

  it("running, during the last model call: starts a follow-up turn when the run ends", async () => {
    const { client, open } = await gatedPod((gate) => script().text("first").gate(gate(1)).finish().text("{{last_system_text:14}}").finish());
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "notify", params: { message: "late news" } });
    open(1);
    await client.waitFor("run_end", { where: (event) => event.data.result === "finished" });
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    const followUp = await client.collectUntil(isStatus("idle"));
    const order = names(followUp);
    expect(order.slice(0, 4)).toEqual(["status", "invoke_start", "turn_start", "system_item"]);
    expect(followUp[1]).toEqual({ event: "invoke_start", data: { kind: "notify" } });
    expect(followUp.filter((event) => event.event === "text_done")).toEqual([{ event: "text_done", data: { text: "[Notification]" } }]);
  });

  it("paused: queued and delivered on resume", async () => {
    const { client } = await gatedPod(() => script().text("partial").hang().text("{{last_system_text:14}}").finish());
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await client.request({ method: "notify", params: { message: "while paused" } });
    await client.request({ method: "resume" });
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events).slice(0, 3)).toEqual(["status", "turn_start", "system_item"]);
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "[Notification]" } });
  });

  it("wake:false: queued without starting a turn, drained into the next run", async () => {
    const { client } = await gatedPod(() => script().text("ok").finish());
    await client.request({ method: "notify", params: { message: "quiet", wake: false } });
    client.send(runText("hello"));
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events).slice(0, 6)).toEqual(["user_message", "status", "invoke_start", "turn_start", "system_item", "llm_call_start"]);
    expect(events[2]).toEqual({ event: "invoke_start", data: { kind: "user_send" } });
    expect(events[4]).toMatchObject({ event: "system_item", data: { item: { kind: "notification", message: "quiet" } } });
  });
});

describe("pod_event", () => {
  it("idle: queues and starts a notification turn with invoke_start{pod_event}", async () => {
    const { client } = await gatedPod(() => script().text("{{last_system_text}}").finish());
    client.send({ method: "pod_event", params: { kind: "turn_ended", pod_name: "c" } });
    const events = await client.collectUntil(isStatus("idle"));
    expect(events[1]).toEqual({ event: "invoke_start", data: { kind: "pod_event" } });
    const body = notificationBody("pod `c` finished a turn");
    expect(events[3]).toEqual({ event: "system_item", data: { item: { kind: "pod_event", event: { kind: "turn_ended", pod_name: "c" }, body } } });
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: body } });
  });

  it("running and paused: queued for the next model request; every PodEvent line reads as documented", async () => {
    const { client, open } = await gatedPod((gate) =>
      script().toolCall("list_files", {}).gate(gate(1)).finish().text("partial").hang().text("done").finish(),
    );
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pod_event", params: { kind: "errored", pod_name: "c", message: "boom" } });
    await client.request({ method: "pod_event", params: { kind: "shut_down", pod_name: "c" } });
    open(1);
    const items = await client.collectUntil((event) => event.event === "text_done");
    const bodies = items.flatMap((event) => (event.event === "system_item" ? [event.data.item.body] : []));
    expect(bodies).toEqual([notificationBody("pod `c` errored: boom"), notificationBody("pod `c` shut down")]);
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    const scope = [{ target: "/tmp/x", permission: "write" as const, recursive: true }];
    await client.request({ method: "pod_event", params: { kind: "scope_sub_delegated", parent_pod: "p", sub_pod: "s", sub_socket: "/tmp/s.sock", scope } });
    expect(client.drain().filter((event) => event.event === "invoke_start")).toEqual([]);
    await client.request({ method: "resume" });
    const resumed = await client.collectUntil(isStatus("idle"));
    const delegated = resumed.find((event) => event.event === "system_item");
    expect(delegated).toMatchObject({ data: { item: { kind: "pod_event", body: notificationBody("pod `p` sub-delegated scope to `s`") } } });
  });
});

describe("resume", () => {
  it("idle → not_paused; running → already_running", async () => {
    const { client, open } = await gatedPod((gate) => script().text("a").gate(gate(1)).finish());
    await expect(client.request({ method: "resume" })).rejects.toMatchObject({ code: "not_paused", message: "Pod is not paused" });
    client.send(runText("go"));
    await client.waitFor("text_done");
    await expect(client.request({ method: "resume" })).rejects.toMatchObject({ code: "already_running" });
    open(1);
    await client.waitFor("run_end");
  });

  it("paused: continues the turn without user_message or invoke_start, running the unanswered tool calls", async () => {
    const { client } = await gatedPod(() => script().toolCall("list_files", {}, { id: "t1" }).hang().text("after").finish());
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    const paused = await client.collectUntil(isStatus("paused"));
    expect(names(paused)).toEqual(["turn_end", "run_end", "status"]);
    expect(paused[1]).toEqual({ event: "run_end", data: { result: "paused" } });
    await client.request({ method: "resume" });
    const events = await client.collectUntil(isStatus("idle"));
    expect(names(events)).not.toContain("user_message");
    expect(names(events)).not.toContain("invoke_start");
    expect(names(events).slice(0, 3)).toEqual(["status", "tool_result", "turn_start"]);
    expect(events[1]).toMatchObject({ event: "tool_result", data: { id: "t1", is_error: false } });
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });
});

describe("cancel", () => {
  it("idle → not_running", async () => {
    const { client } = await gatedPod(() => script().text("partial").hang());
    await expect(client.request({ method: "cancel" })).rejects.toMatchObject({ code: "not_running", message: "Pod is not running" });
    expect(client.drain().filter((event) => event.event === "status")).toEqual([]);
  });

  it("paused: ends the paused run (its open tool calls closed), error{internal, Cancelled}, idle, also after a restart", async () => {
    const { pod, client } = await gatedPod(() => script().toolCall("list_files", {}, { id: "t1" }).hang());
    client.send(runText("go"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    const ack = await client.request({ method: "cancel" });
    expect(ack).toMatchObject({ event: "ack", data: { method: "cancel" } });
    const events = await client.collectUntil(isStatus("idle"));
    expect(events).toEqual([
      { event: "tool_result", data: { id: "t1", summary: "[Interrupted by user]", output: "[Interrupted by user]", is_error: true } },
      { event: "error", data: { code: "internal", message: "Cancelled" } },
      { event: "status", data: { status: "idle" } },
    ]);
    expect(sessionEntries(pod).slice(-2)).toMatchObject([
      { kind: "tool_result", item: { id: "t1", is_error: true } },
      { kind: "run_errored", code: "internal", message: "Cancelled" },
    ]);
    // Nothing is left to resume; a second cancel is refused like on any idle pod.
    await expect(client.request({ method: "resume" })).rejects.toMatchObject({ code: "not_paused" });
    await expect(client.request({ method: "cancel" })).rejects.toMatchObject({ code: "not_running" });
    // A restart finds the run ended (idle, not paused), and the next run's model hears of the interruption.
    await pod.stop();
    const restarted = await startPod({ home: { home: pod.home, runtime: pod.runtime, env: pod.env }, scenario: script().text("next: {{last_system_text:21}}").finish().build() });
    const again = await restarted.connect();
    expect((await again.waitFor("snapshot")).data.status).toBe("idle");
    again.send(runText("again"));
    const done = await again.waitFor("text_done");
    expect(done.data.text).toBe("next: [Interrupted by user]");
  });

  it("running with output: error{internal, Cancelled}, then idle", async () => {
    const { client } = await gatedPod(() => script().text("partial").hang());
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "cancel" });
    const events = await client.collectUntil(isStatus("idle"));
    expect(events).toEqual([{ event: "error", data: { code: "internal", message: "Cancelled" } }, { event: "status", data: { status: "idle" } }]);
  });

  it("running with nothing produced: run_end{rolled_back}, idle, and the run is gone from the log", async () => {
    const { pod, client } = await gatedPod(() => script().hang());
    client.send(runText("never mind"));
    await client.waitFor("llm_call_start");
    await client.request({ method: "cancel" });
    const events = await client.collectUntil(isStatus("idle"));
    expect(events).toEqual([{ event: "run_end", data: { result: "rolled_back" } }, { event: "status", data: { status: "idle" } }]);
    expect(sessionEntries(pod).map((entry) => entry.kind)).toEqual(["segment_start"]);
    const late = await pod.connect();
    expect((await late.waitFor("snapshot")).data.entries.map((entry) => entry.kind)).toEqual(["segment_start"]);
  });
});

describe("pause", () => {
  it("idle → not_running; paused → no-op", async () => {
    const { client } = await gatedPod(() => script().text("partial").hang().text("x").finish());
    await expect(client.request({ method: "pause" })).rejects.toMatchObject({ code: "not_running" });
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    const ack = await client.request({ method: "pause" });
    expect(ack).toEqual({ event: "ack", data: { method: "pause" }, reply_to: expect.any(String) });
    expect(client.drain()).toEqual([]);
  });

  it("running with nothing produced: run_end{rolled_back} and idle; notifications drained by it are kept", async () => {
    const { client } = await gatedPod(() => script().hang().text("{{last_system_text:14}}").finish());
    await client.request({ method: "notify", params: { message: "keep me", wake: false } });
    client.send(runText("go"));
    await client.waitFor("llm_call_start");
    await client.request({ method: "pause" });
    const events = await client.collectUntil(isStatus("idle"));
    expect(events.filter((event) => event.event === "run_end")).toEqual([{ event: "run_end", data: { result: "rolled_back" } }]);
    client.send(runText("again"));
    const next = await client.collectUntil(isStatus("idle"));
    expect(next.find((event) => event.event === "system_item")).toMatchObject({ data: { item: { message: "keep me" } } });
  });

  it("a pause or cancel sent right behind the run is honoured, never lost", async () => {
    const { client } = await gatedPod(() => script().text("never").finish());
    client.writeRaw(`${JSON.stringify(runText("go"))}\n${JSON.stringify({ method: "pause" })}\n`);
    const events = await client.collectUntil(isStatus("idle"));
    expect(events.find(isRunEnd)).toEqual({ event: "run_end", data: { result: "rolled_back" } });
    client.writeRaw(`${JSON.stringify(runText("go"))}\n${JSON.stringify({ method: "cancel" })}\n`);
    const cancelled = await client.collectUntil(isStatus("idle"));
    expect(cancelled.find(isRunEnd)).toEqual({ event: "run_end", data: { result: "rolled_back" } });
  });
});

describe("compact, rewind", () => {
  it("running → already_running; paused → invalid_request for compact and rewind_to", async () => {
    const { client } = await gatedPod(() => script().text("partial").hang());
    client.send(runText("go"));
    await client.waitFor("text_done");
    const rewind = { method: "rewind_to" as const, params: { target: { segment_id: "x", user_input_entry_index: 1 }, expected_head_entries: 3 } };
    for (const method of [{ method: "compact" as const }, { method: "list_rewind_targets" as const }, rewind]) {
      await expect(client.request(method)).rejects.toMatchObject({ code: "already_running" });
    }
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    for (const method of [{ method: "compact" as const }, rewind]) {
      await expect(client.request(method)).rejects.toMatchObject({ code: "invalid_request" });
    }
  });
});

describe("shutdown", () => {
  it("idle: shutdown event, exit 0, runtime dir removed", async () => {
    const { pod, client } = await gatedPod(() => script());
    client.send({ method: "shutdown" });
    await client.waitFor("shutdown");
    expect(await pod.exited).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(pod.runtime, pod.name))).toBe(false);
  });

  it("running: aborts the turn, ends its events, then shutdown and exit", async () => {
    const { pod, client } = await gatedPod(() => script().text("partial").hang());
    client.send(runText("go"));
    await client.waitFor("text_done");
    client.send({ method: "shutdown" });
    const events = await client.collectUntil((event) => event.event === "shutdown");
    expect(events).toEqual([
      { event: "error", data: { code: "internal", message: "Cancelled" } },
      { event: "status", data: { status: "idle" } },
      { event: "shutdown" },
    ]);
    expect(await pod.exited).toEqual({ code: 0, signal: null });
  });

  it("paused: shutdown and exit", async () => {
    const { pod, client } = await gatedPod(() => script().text("partial").hang());
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    client.send({ method: "shutdown" });
    expect(await client.collectUntil((event) => event.event === "shutdown")).toEqual([{ event: "shutdown" }]);
    expect(await pod.exited).toEqual({ code: 0, signal: null });
  });
});

describe("turn bound", () => {
  it("a run that keeps calling tools ends with run_end{limit_reached}", async () => {
    const { client } = await gatedPod(() => script().toolCall("list_files", {}).finish().whenExhausted("repeat_last"), { maxTurns: 3 });
    client.send(runText("loop"));
    const events = await client.collectUntil(isStatus("idle"));
    expect(events.filter((event) => event.event === "turn_start")).toHaveLength(3);
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "limit_reached" } });
  });
});

describe("snapshot", () => {
  it("a late client's snapshot carries the turn in flight: text so far and open tool calls", async () => {
    const { pod, client, open } = await gatedPod((gate) =>
      script().text("streaming so far", { chunks: ["streaming ", "so far"], gate: gate(1) }).finish(),
    );
    client.send(runText("go"));
    await client.waitFor("text_delta", { where: (event) => event.data.text === "so far" });
    const late = await pod.connect();
    const snapshot = await late.waitFor("snapshot");
    expect(snapshot.data.status).toBe("running");
    expect(snapshot.data.in_flight).toMatchObject({ text: "streaming so far", tool_calls: [] });
    expect(snapshot.data.entries.map((entry) => entry.kind)).toEqual(["segment_start", "invoke", "user_input"]);
    open(1);
    await late.waitFor("run_end");
  });
});

describe("shutdown with a client that never reads", () => {
  it("does not hold the pod's exit", async () => {
    const { pod, client } = await gatedPod(() => script());
    const stuck = await stalledClient(pod.socket);
    client.send({ method: "shutdown" });
    expect(await pod.exited).toEqual({ code: 0, signal: null });
    stuck.destroy();
  });
});

describe("interrupted runs leave nothing open", () => {
  it("a cancelled run's tool calls are closed at once; a later pause/resume never re-runs them", async () => {
    const { pod, client } = await gatedPod(() =>
      script()
        .toolCall("read_file", { path: "gone.txt" }, { id: "cancelled_call" }).hang()
        .text("noted").finish()
        .text("partial").toolCall("list_files", {}, { id: "paused_call" }).hang()
        .text("done").finish(),
    );
    client.send(runText("first"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "cancel" });
    const cancelled = await client.collectUntil(isStatus("idle"));
    expect(names(cancelled)).toEqual(["tool_result", "error", "status"]);
    expect(cancelled[0]).toEqual({ event: "tool_result", data: { id: "cancelled_call", summary: "[Interrupted by user]", output: "[Interrupted by user]", is_error: true } });
    client.send({ method: "notify", params: { message: "meanwhile" } });
    await client.waitFor("run_end");
    client.send(runText("second"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await client.request({ method: "resume" });
    const resumed = await client.collectUntil(isStatus("idle"));
    const results = resumed.filter((event) => event.event === "tool_result");
    expect(results.map((event) => (event.event === "tool_result" ? event.data.id : ""))).toEqual(["paused_call"]);
    const calls = sessionEntries(pod).filter((entry) => entry.kind === "assistant_item" && entry.item.kind === "tool_call");
    const answered = new Set(sessionEntries(pod).flatMap((entry) => (entry.kind === "tool_result" ? [entry.item.id] : [])));
    expect(calls.every((entry) => entry.kind === "assistant_item" && answered.has((entry.item as { id: string }).id))).toBe(true);
  });

  it("after a provider error the next run's note says so (not 'interrupted by the user'), and a queued notification starts its turn", async () => {
    const { client, open } = await gatedPod((gate) =>
      script().text("working").gate(gate(1)).fail("upstream exploded").text("{{last_system_text:14}}").finish().text("{{last_system_text}}").finish(),
    );
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "notify", params: { message: "while failing" } });
    open(1);
    await client.waitFor("error", { where: (event) => event.data.code === "provider_error" });
    const followUp = await client.collectUntil((event) => event.event === "run_end");
    expect(followUp.find((event) => event.event === "invoke_start")).toEqual({ event: "invoke_start", data: { kind: "notify" } });
    expect(followUp.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "[Notification]" } });
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    client.send(runText("again"));
    const next = await client.collectUntil((event) => event.event === "run_end");
    const note = next.find((event) => event.event === "system_item");
    expect(note).toMatchObject({ data: { item: { kind: "interrupt", body: expect.stringContaining("ended early with an error: upstream exploded") } } });
  });

  it("a follow-up turn started by a pod event says invoke_start{pod_event}", async () => {
    const { client, open } = await gatedPod((gate) => script().text("a").gate(gate(1)).finish().text("b").finish());
    client.send(runText("go"));
    await client.waitFor("text_done");
    await client.request({ method: "pod_event", params: { kind: "turn_ended", pod_name: "c" } });
    open(1);
    await client.waitFor("run_end");
    expect(await client.waitFor("invoke_start")).toEqual({ event: "invoke_start", data: { kind: "pod_event" } });
  });
});

describe("shutdown is bounded", () => {
  it("a client connecting while a stalled client delays shutdown does not hold the exit", async () => {
    const { pod, client } = await gatedPod(() => script());
    const stuck = await stalledClient(pod.socket);
    client.send({ method: "shutdown" });
    await client.waitFor("shutdown");
    const latecomer = net.createConnection(pod.socket);
    latecomer.on("error", () => undefined);
    expect(await pod.exited).toEqual({ code: 0, signal: null });
    latecomer.destroy();
    stuck.destroy();
  });
});
