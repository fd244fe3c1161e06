/**
 * Rewind through the socket and the CLI, against real pod processes: list_rewind_targets,
 * rewind_to (the cut, the model's view after it, the guards), and a restart after a rewind.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { runCli } from "../helpers/cli-run.js";
import { cleanupAll, connectWithSnapshot, isIdleStatus, listRewindTargets, runText, runToIdle, snapshotEntries, startPod, tempHome, userTexts } from "../helpers/pod-process.js";

afterEach(cleanupAll);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;




describe("rewind through the socket", () => {
  it("lists the user inputs, rewinds to one (durably), and the next request no longer holds the rewound exchange", async () => {
    const home = tempHome();
    const scenario = script().text("one").finish().text("two").finish().text("saw {{last_user_text}}").finish().build();
    const pod = await startPod({ home, name: "rewinder", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "first");
    await runToIdle(client, "second");
    const before = await snapshotEntries(pod);

    const listing = await listRewindTargets(client);
    expect(listing.head_entries).toBe(before.length);
    expect(listing.targets.map((target) => target.preview)).toEqual(["first", "second"]);
    const second = listing.targets[1];
    if (!second) throw new Error("no second target");
    expect(before[second.id.user_input_entry_index]).toMatchObject({ kind: "user_input" });
    // The reference's RewindTarget: the segment id is a UUID, and the cut and head are named per target.
    expect(second.id.segment_id).toMatch(UUID);
    expect(second).toMatchObject({ expected_head_entries: before.length, truncate_entries: second.id.user_input_entry_index - 1, turn_index: 1, eligible: true });
    expect(second.warning).toBeUndefined();
    expect(second.timestamp_ms).toBe((before[second.id.user_input_entry_index] as { ts: number }).ts);

    // A stale head count (the session moved on since the listing) is refused, and nothing changes.
    await expect(client.request({ method: "rewind_to", params: { target: second.id, expected_head_entries: before.length - 1 } })).rejects.toMatchObject({
      code: "invalid_request",
      message: `the session changed since the targets were listed (${before.length} entries, expected ${before.length - 1}); list again`,
    });
    await expect(
      client.request({ method: "rewind_to", params: { target: { ...second.id, user_input_entry_index: 0 }, expected_head_entries: before.length } }),
    ).rejects.toMatchObject({ code: "invalid_request" });
    expect(await snapshotEntries(pod)).toEqual(before);

    client.drain();
    const ack = await client.request({ method: "rewind_to", params: { target: second.id, expected_head_entries: listing.head_entries } });
    expect(ack).toMatchObject({ event: "ack", data: { method: "rewind_to" } });
    const applied = await client.waitFor("rewind_applied");
    const keep = second.id.user_input_entry_index - 1;
    expect(before[keep]).toMatchObject({ kind: "invoke" });
    expect(applied.data.entries).toEqual(before.slice(0, keep));
    expect(applied.data.input).toEqual([{ kind: "text", content: "second" }]);
    expect(applied.data.summary).toEqual({ truncated_to_entries: keep, discarded_entries: before.length - keep, tool_side_effect_warning: false });
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    const after = await snapshotEntries(pod);
    expect(after).toEqual(before.slice(0, keep));
    expect((await listRewindTargets(client)).targets.map((target) => target.preview)).toEqual(["first"]);

    // The next model request sees "first" as the last user message: "second" is gone from the model's view.
    client.send({ method: "notify", params: { message: "go on" } });
    const events = await client.collectUntil(isIdleStatus);
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "saw first" } });
    const final = await snapshotEntries(pod);
    expect(userTexts(final)).toEqual(["first"]);
    client.destroy();

    // A restart restores the rewound session.
    await pod.stop();
    const restarted = await startPod({ home, name: "rewinder", scenario: script().text("again").finish().build() });
    expect(await snapshotEntries(restarted)).toEqual(final);
    await restarted.stop();
  });

  it("running → already_running for both methods; paused → targets listed, rewind_to refused", async () => {
    const pod = await startPod({ scenario: script().text("partial").hang().build() });
    const { client } = await connectWithSnapshot(pod);
    client.send(runText("go"));
    await client.waitFor("text_done");
    const rewind = { method: "rewind_to" as const, params: { target: { segment_id: "x", user_input_entry_index: 2 }, expected_head_entries: 3 } };
    await expect(client.request(rewind)).rejects.toMatchObject({ code: "already_running" });
    await expect(client.request({ method: "list_rewind_targets" })).rejects.toMatchObject({ code: "already_running" });
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    const listing = await listRewindTargets(client);
    expect(listing.targets.map((target) => target.preview)).toEqual(["go"]);
    const target = listing.targets[0];
    if (!target) throw new Error("no target");
    expect(target).toMatchObject({ eligible: false, disabled_reason: "the pod is paused; resume it or start a fresh turn first" });
    await expect(client.request({ method: "rewind_to", params: { target: target.id, expected_head_entries: listing.head_entries } })).rejects.toMatchObject({
      code: "invalid_request",
    });
    client.destroy();
  });
});

describe("rewind past a run that followed a pause", () => {
  it("ends the paused run as cancelled (its open tool calls closed), so the pod and a restart are idle", async () => {
    const home = tempHome();
    const scenario = script().toolCall("list_files", {}, { id: "t1" }).hang().text("after pause").finish().text("{{last_tool_output}}").finish().build();
    const pod = await startPod({ home, name: "paused-tail", scenario });
    const { client } = await connectWithSnapshot(pod);
    client.send(runText("a"));
    await client.waitFor("tool_call_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await runToIdle(client, "b");
    const listing = await listRewindTargets(client);
    const second = listing.targets[1];
    if (!second) throw new Error("no second target");
    await client.request({ method: "rewind_to", params: { target: second.id, expected_head_entries: listing.head_entries } });
    const applied = await client.waitFor("rewind_applied");
    expect(applied.data.entries.slice(-3)).toMatchObject([
      { kind: "run_completed", result: "paused" },
      { kind: "tool_result", item: { id: "t1", output: "[Interrupted by user]", is_error: true } },
      { kind: "run_errored", code: "internal", message: "Cancelled" },
    ]);
    client.destroy();
    await pod.stop();
    const restarted = await startPod({ home, name: "paused-tail", scenario: script().text("{{last_system_text:21}}").finish().build() });
    const again = await connectWithSnapshot(restarted);
    expect(again.entries).toEqual(applied.data.entries);
    again.client.send(runText("c"));
    const events = await again.client.collectUntil(isIdleStatus);
    expect(events.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "[Interrupted by user]" } });
    again.client.destroy();
  });
});

describe("rewind past tool calls with side effects", () => {
  it("warns on the targets and in the summary that write_file and bash effects stay", async () => {
    const home = tempHome();
    const scenario = script()
      .text("plain")
      .finish()
      .toolCall("write_file", { path: "made.txt", content: "kept\n" }, { id: "w1" })
      .finish()
      .toolCall("bash", { command: "true" }, { id: "b1" })
      .finish()
      .text("done")
      .finish()
      .build();
    const pod = await startPod({ home, name: "effects", scenario });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "first");
    await runToIdle(client, "write it");
    const listing = await listRewindTargets(client);
    const [first, second] = listing.targets;
    if (!first || !second) throw new Error("expected two targets");
    // Rewinding to either input discards the write_file and bash calls of the second run.
    for (const target of [first, second]) {
      expect(target.warning).toBe(
        "rewinding here does not undo 2 tool calls with side effects (write_file, bash): files they wrote and commands they ran stay as they are",
      );
    }
    await client.request({ method: "rewind_to", params: { target: second.id, expected_head_entries: second.expected_head_entries } });
    const applied = await client.waitFor("rewind_applied");
    expect(applied.data.summary).toEqual({ truncated_to_entries: second.truncate_entries, discarded_entries: listing.head_entries - second.truncate_entries, tool_side_effect_warning: true });
    // What the warning says: the file the rewound run wrote is still there.
    expect(fs.readFileSync(path.join(home.home, "made.txt"), "utf8")).toBe("kept\n");
    // A run with no side-effect calls left in the segment: no warning.
    expect((await listRewindTargets(client)).targets.map((target) => target.warning)).toEqual([undefined]);
    client.destroy();
  });
});

describe("podd rewind", () => {
  it("lists the targets numbered with their age, applies one and prints its input for editing", async () => {
    const pod = await startPod({ scenario: script().text("one").finish().text("two").finish().build() });
    const { client } = await connectWithSnapshot(pod);
    await runToIdle(client, "first");
    await runToIdle(client, "second\nline two");
    client.destroy();
    const cli = (args: string[]) => runCli(["rewind", pod.socket, ...args], { env: pod.env });

    const listed = await cli([]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^1 {2}\d+s ago {2}first\n2 {2}\d+s ago {2}second line two\n$/);

    const missing = await cli(["3"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no rewind target 3");

    const applied = await cli(["2"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toBe("second\nline two\n");
    expect(applied.stderr).toMatch(/rewound \d+ entries \(kept \d+\); the rewound input was:/);

    const json = await cli(["--json"]);
    expect(json.code, json.stderr).toBe(0);
    const listing = JSON.parse(json.stdout) as { head_entries: number; targets: { preview: string }[] };
    expect(listing.targets.map((target) => target.preview)).toEqual(["first"]);
    expect(listing.head_entries).toBe((await snapshotEntries(pod)).length);
  });
});
