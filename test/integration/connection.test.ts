/**
 * Per-connection behaviour: the handshake order (alerts, then snapshot, then live), one
 * ordered stream shared by all clients, replies to the asker only.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { MAX_QUEUED_NOTIFICATIONS } from "../../src/pod/notification-inbox.js";
import { cleanupAll, startPod, tempHome } from "../helpers/pod-process.js";

afterEach(cleanupAll);

describe("connections", () => {
  it("every client sees the same events in the same order", async () => {
    const pod = await startPod({ scenario: script().thinking("hmm").text("a b c").toolCall("list_files", {}).finish().text("done").finish().build() });
    const clients = await Promise.all([pod.connect(), pod.connect(), pod.connect()]);
    await Promise.all(clients.map((client) => client.waitFor("snapshot")));
    const [first] = clients;
    first?.send({ method: "run", params: { input: [{ kind: "text", content: "go" }] } });
    const streams = await Promise.all(clients.map((client) => client.collectUntil((event: Event) => event.event === "status" && event.data.status === "idle")));
    expect(streams[0]?.length).toBeGreaterThan(20);
    expect(streams[1]).toEqual(streams[0]);
    expect(streams[2]).toEqual(streams[0]);
  });

  it("list_completions (file) is answered to the asker only", async () => {
    const home = tempHome();
    const cwd = path.join(home.home, "work");
    fs.mkdirSync(path.join(cwd, "src"), { recursive: true });
    fs.writeFileSync(path.join(cwd, "src.txt"), "");
    fs.writeFileSync(path.join(cwd, "readme.md"), "");
    fs.writeFileSync(path.join(cwd, ".secret"), "");
    fs.writeFileSync(path.join(cwd, "src", "main.ts"), "");
    const pod = await startPod({ home, cwd, scenario: script().text("x").finish().build() });
    const asker = await pod.connect();
    const other = await pod.connect();
    await asker.waitFor("snapshot");
    await other.waitFor("snapshot");
    const reply = await asker.request({ method: "list_completions", params: { kind: "file", prefix: "sr" } });
    expect(reply).toEqual({
      event: "completions",
      data: { kind: "file", entries: [{ value: "src.txt", is_dir: false }, { value: "src/", is_dir: true }] },
      reply_to: expect.any(String),
    });
    const nested = await asker.request({ method: "list_completions", params: { kind: "file", prefix: "src/m" } });
    expect(nested).toMatchObject({ data: { entries: [{ value: "src/main.ts", is_dir: false }] } });
    const outside = await asker.request({ method: "list_completions", params: { kind: "file", prefix: "../" } });
    expect(outside).toMatchObject({ data: { entries: [] } });
    fs.symlinkSync("/", path.join(cwd, "rootlink"));
    const escaped = await asker.request({ method: "list_completions", params: { kind: "file", prefix: "rootlink/et" } });
    expect(escaped).toMatchObject({ data: { entries: [] } });
    const hidden = await asker.request({ method: "list_completions", params: { kind: "file", prefix: "." } });
    expect(hidden).toMatchObject({ data: { entries: [{ value: ".secret", is_dir: false }] } });
    other.send({ method: "notify", params: { message: "marker", wake: false }, id: "m" });
    await other.waitFor("ack");
    expect(other.drain().filter((event) => event.event === "completions")).toEqual([]);
  });

  it("an unknown segment kind reaches the model as [unknown input segment], with an alert replayed to later clients before the snapshot", async () => {
    const pod = await startPod({ scenario: script().text("{{last_user_text}}").finish().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    client.writeRaw(`${JSON.stringify({ method: "run", params: { input: [{ kind: "text", content: "see " }, { kind: "hologram", beam: 3 }] } })}\n`);
    const message = await client.waitFor("user_message");
    expect(message.data.segments).toEqual([{ kind: "text", content: "see " }, { kind: "unknown" }]);
    const alert = await client.waitFor("alert");
    // The reference's AlertSource; this client sent no id, so no podd `subsystem` field.
    expect(alert.data).toEqual({ level: "warn", source: "pod", message: expect.stringMatching(/^pod: .*unknown kind/), timestamp_ms: expect.any(Number) });
    expect((await client.waitFor("text_done")).data.text).toBe("see [unknown input segment]");
    const late = await pod.connect();
    const handshake = await late.collectUntil("snapshot");
    expect(handshake.map((event) => event.event)).toEqual(["alert", "snapshot"]);
    expect(handshake[0]).toEqual({ event: "alert", data: alert.data });
  });

  it("an alert carries podd's subsystem only to the clients that opted in by sending an id", async () => {
    const pod = await startPod({ scenario: script().text("one").finish().text("two").finish().build() });
    const [plain, podd] = await Promise.all([pod.connect(), pod.connect()]);
    await Promise.all([plain.waitFor("snapshot"), podd.waitFor("snapshot")]);
    await podd.request({ method: "notify", params: { message: "opting in", wake: false } });
    plain.send({ method: "run", params: { input: [{ kind: "hologram" } as never] } });
    const [seenPlain, seenPodd] = await Promise.all([plain.waitFor("alert"), podd.waitFor("alert")]);
    expect(seenPlain.data).not.toHaveProperty("subsystem");
    expect(seenPodd.data).toEqual({ ...seenPlain.data, subsystem: "pod" });
  });

  it("refuses a notify past the inbox bound with a clear error, and keeps the queued ones", async () => {
    const pod = await startPod({ scenario: script().text("{{last_system_text:14}}").finish().build() });
    const client = await pod.connect();
    await client.waitFor("snapshot");
    const line = `${JSON.stringify({ method: "notify", params: { message: "q", wake: false } })}\n`;
    client.writeRaw(line.repeat(MAX_QUEUED_NOTIFICATIONS));
    await expect(client.request({ method: "notify", params: { message: "one too many", wake: false } })).rejects.toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("inbox is full"),
    });
    client.send({ method: "run", params: { input: [{ kind: "text", content: "go" }] } });
    const events = await client.collectUntil("run_end", { timeoutMs: 20_000 });
    expect(events.filter((event) => event.event === "system_item")).toHaveLength(MAX_QUEUED_NOTIFICATIONS);
  });
});
