/**
 * Disk faults (issue 11; docs/reliability.md, "Disk faults"): PODD_HOME and the runtime dir on
 * small real file systems that fill up (ENOSPC) or turn read-only (EROFS) while a pod runs.
 * The pod tells clients once (`alert`), fails the run it cannot save (`error{internal}`),
 * refuses what it cannot keep (notify), keeps serving, never leaves a partial line in a
 * segment file, works again when the disk does, and restores from what is on disk.
 *
 * Root only (mount, loop devices): skipped with the reason printed otherwise. Every mount is
 * undone in afterAll, after the pods are killed (test/helpers/test-filesystems.ts). Waits
 * follow events and files; nothing sleeps.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseLogEntryLine, type Event, type LogEntry } from "../../protocol/index.js";
import { PodRequestError, type PodClient } from "../../src/client/pod-client.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { CRASHED_RUN_MESSAGE } from "../../src/pod/session-state.js";
import { cleanupAll, connectWithSnapshot, isIdleStatus, runText, segmentFile, startPod, tempHome, type PodProcess } from "../helpers/pod-process.js";
import {
  canTriggerExt4Error,
  ext4SkipReason,
  fillUp,
  mountExt4,
  mountTmpfs,
  remount,
  repairExt4,
  tmpfsSkipReason,
  turnExt4ReadOnly,
  unmountAll,
} from "../helpers/test-filesystems.js";
import { waitForFileText } from "../helpers/wait-for-file.js";

const TMPFS_SKIP = tmpfsSkipReason();
const EXT4_SKIP = ext4SkipReason();
if (TMPFS_SKIP) console.warn(`disk-faults: tmpfs tests skipped: ${TMPFS_SKIP}`);
else if (EXT4_SKIP) console.warn(`disk-faults: ext4 read-only test skipped: ${EXT4_SKIP}`);

/** Runtime dirs and gate files of pods whose PODD_HOME is a test file system (on the normal disk). */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "podd-disk-scratch-"));

afterAll(async () => {
  await cleanupAll();
  unmountAll();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A PODD_HOME at `home` (a mount point) with its runtime dir `runtime` (default: a new dir on the normal disk). */
function homeAt(home: string, runtime = fs.mkdtempSync(path.join(scratch, "run-"))) {
  return tempHome({ home, runtime });
}

/** The segment's lines, each a whole LogEntry; fails on a partial or undecodable line, or bytes after the last newline. */
function entriesOnDisk(pod: PodProcess): LogEntry[] {
  const text = fs.readFileSync(segmentFile(pod.home, pod.name), "utf8");
  expect(text.endsWith("\n"), "the segment file ends with a whole line").toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const entry = parseLogEntryLine(line);
      if (!entry) throw new Error(`not a whole log entry: ${line.slice(0, 200)}`);
      return entry;
    });
}

function alertsAmong(events: readonly Event[]): { level: string; message: string }[] {
  return events.flatMap((event) => (event.event === "alert" ? [{ level: event.data.level, message: event.data.message }] : []));
}

/** Send a run and collect its events until it settles (status leaves running). */
async function runUntilSettled(client: PodClient, text: string): Promise<Event[]> {
  client.send(runText(text));
  return client.collectUntil(isIdleStatus);
}

const SESSION_ENOSPC = /^session: cannot write the session log .+: no space left on device \(ENOSPC\)/;
const RUN_ENOSPC = /^cannot write the session log .+: no space left on device \(ENOSPC\); the run ended there and is recorded as failed$/;
/** Text larger than a page: its line cannot fit in the slack of the segment file's last page on a full tmpfs. */
const BIG_TEXT = "lorem ipsum ".repeat(2_000);

describe.skipIf(TMPFS_SKIP)("PODD_HOME on a full disk (ENOSPC)", () => {
  it("fails the run it cannot save with one alert, refuses notify, keeps serving, leaves no partial line, and works again when space returns", async () => {
    const home = homeAt(mountTmpfs(1024));
    const pod = await startPod({ home, name: "full", scenario: script().text("saved").finish().text(BIG_TEXT).finish().text("after").finish().text("again").finish().build() });
    const { client } = await connectWithSnapshot(pod);
    expect((await runUntilSettled(client, "first")).some((event) => event.event === "run_end")).toBe(true);

    const filler = fillUp(pod.home);
    const failed = await runUntilSettled(client, "second");
    const errors = failed.filter((event) => event.event === "error");
    expect(errors).toEqual([{ event: "error", data: { code: "internal", message: expect.stringMatching(RUN_ENOSPC) } }]);
    expect(failed.some((event) => event.event === "run_end")).toBe(false);
    const alerts = alertsAmong(failed);
    expect(alerts.filter((alert) => SESSION_ENOSPC.test(alert.message))).toEqual([{ level: "error", message: expect.stringMatching(/runs fail until the log can be written again$/) }]);

    // Memory is what is on disk: whole lines only (a short write's bytes were cut off again).
    const late = await connectWithSnapshot(pod);
    expect(late.entries).toEqual(entriesOnDisk(pod));
    // The pod keeps serving: a late client got its handshake with the alert replayed; queries are answered; notify is refused, not lost.
    await expect(late.client.request({ method: "list_rewind_targets" })).resolves.toMatchObject({ event: "rewind_targets" });
    const refusal = await client.request({ method: "notify", params: { message: "while full" } }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PodRequestError);
    expect(refusal).toMatchObject({ code: "internal", message: expect.stringMatching(/^cannot queue the notify: the notification inbox cannot be written \(no space left on device \(ENOSPC\)\)/) });
    expect(pod.child.exitCode).toBeNull();

    fs.rmSync(filler);
    const recovered = await runUntilSettled(client, "third");
    expect(recovered.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
    expect(alertsAmong(recovered)).toContainEqual({ level: "warn", message: expect.stringMatching(/^session: the session log .+ can be written again$/) });
    // The stopped run's end was written before the new run: the log holds no run without an end.
    const entries = entriesOnDisk(pod);
    const ended = entries.filter((entry) => entry.kind === "run_errored" || entry.kind === "run_completed");
    expect(ended.map((entry) => entry.kind)).toEqual(["run_completed", "run_errored", "run_completed"]);
    expect(ended[1]).toMatchObject({ code: "internal", message: expect.stringMatching(RUN_ENOSPC) });
    await expect(client.request({ method: "notify", params: { message: "space again", wake: false } })).resolves.toMatchObject({ event: "ack" });

    // A restart reads every line back: nothing to skip.
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    const again = await startPod({ home, name: "full", scenario: script().text("restored").finish().build() });
    const reopened = await again.connect();
    const handshake = await reopened.collectUntil("snapshot");
    expect(alertsAmong(handshake)).toEqual([]);
    expect((handshake.at(-1) as Extract<Event, { event: "snapshot" }>).data.entries).toEqual(entries);
    expect((await runUntilSettled(reopened, "fourth")).find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });

  it("a pod stopped while its disk is full exits cleanly, and the restart after space returns closes the run it could not save", async () => {
    const home = homeAt(mountTmpfs(1024));
    const pod = await startPod({ home, name: "stuck", scenario: script().text("saved").finish().text(BIG_TEXT).finish().build() });
    const { client } = await connectWithSnapshot(pod);
    await runUntilSettled(client, "first");
    const filler = fillUp(pod.home);
    expect((await runUntilSettled(client, "second")).some((event) => event.event === "error")).toBe(true);
    const onDisk = entriesOnDisk(pod);

    // Log lines are pending and cannot be written: the exit drops them rather than hang.
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    expect(entriesOnDisk(pod)).toEqual(onDisk);

    fs.rmSync(filler);
    const again = await startPod({ home, name: "stuck", scenario: script().text("restored").finish().build() });
    const { client: reopened, entries } = await connectWithSnapshot(again);
    const lastInvoke = entries.findLastIndex((entry) => entry.kind === "invoke");
    // Whatever part of the second run reached the disk is kept, and the run is closed as interrupted.
    expect(entries.slice(0, onDisk.length)).toEqual(onDisk);
    expect(entries.at(-1)).toMatchObject({ kind: "run_errored", code: "internal", message: CRASHED_RUN_MESSAGE });
    expect(lastInvoke).toBeGreaterThan(entries.findLastIndex((entry) => entry.kind === "run_completed"));
    expect((await runUntilSettled(reopened, "third")).find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });
});

describe.skipIf(EXT4_SKIP)("PODD_HOME turns read-only mid-run (EROFS)", () => {
  it("the run fails with one alert, the pod keeps serving and exits cleanly; after a repair the restore keeps what reached the disk", async (context) => {
    const disk = mountExt4(8);
    if (!canTriggerExt4Error(disk)) {
      console.warn("disk-faults: ext4 read-only test skipped: this kernel has no /sys/fs/ext4/<dev>/trigger_fs_error");
      context.skip();
    }
    const home = homeAt(disk.dir);
    const gate = path.join(scratch, "ro-gate");
    const pod = await startPod({
      home,
      name: "ro",
      scenario: script().text("saved").finish().text("part one").text("part two", { chunks: ["part ", "two"], gate }).finish().build(),
    });
    const { client } = await connectWithSnapshot(pod);
    await runUntilSettled(client, "first");
    client.send(runText("second"));
    await client.waitFor("text_done", { where: (event) => event.data.text === "part one" });
    // "part one" is committed; the disk goes read-only under the open segment file before "part two".
    await client.waitFor("text_delta", { where: (event) => event.data.text === "two" });
    turnExt4ReadOnly(disk);
    fs.writeFileSync(gate, "");
    const failed = await client.collectUntil(isIdleStatus);
    expect(failed.filter((event) => event.event === "error")).toEqual([
      { event: "error", data: { code: "internal", message: expect.stringMatching(/^cannot write the session log .+: read-only file system \(EROFS\); the run ended there/) } },
    ]);
    expect(alertsAmong(failed)).toContainEqual({ level: "error", message: expect.stringMatching(/^session: cannot write the session log .+: read-only file system \(EROFS\)/) });
    const late = await connectWithSnapshot(pod);
    expect(late.entries.findLast((entry) => entry.kind === "assistant_item")).toMatchObject({ item: { content: "part one" } });
    await expect(client.request({ method: "notify", params: { message: "while read-only" } })).rejects.toMatchObject({ code: "internal" });
    expect(await pod.stop()).toEqual({ code: 0, signal: null });

    repairExt4(disk);
    const again = await startPod({ home, name: "ro", scenario: script().text("restored").finish().build() });
    const reopened = await again.connect();
    const handshake = await reopened.collectUntil("snapshot");
    const entries = (handshake.at(-1) as Extract<Event, { event: "snapshot" }>).data.entries;
    // Everything up to "part one" was on disk before the fault; the unfinished run is closed; a torn tail (none expected) would be alerted.
    expect(entries.filter((entry) => entry.kind === "assistant_item").map((entry) => entry.kind === "assistant_item" && entry.item.kind === "message" && entry.item.content)).toEqual(["saved", "part one"]);
    expect(entries.at(-1)).toMatchObject({ kind: "run_errored", message: CRASHED_RUN_MESSAGE });
    for (const alert of alertsAmong(handshake)) expect(alert.message).toMatch(/^session: skipped a torn last line/);
    expect((await runUntilSettled(reopened, "third")).find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });
});

describe.skipIf(TMPFS_SKIP)("the runtime dir on a full or read-only disk", () => {
  it("a full runtime dir: status.json writes fail with one alert, runs go on, and status.json catches up when space returns", async () => {
    const runtime = mountTmpfs(256);
    const home = tempHome({ runtime });
    const gate = path.join(home.home, "hold");
    const pod = await startPod({ home, name: "rt", scenario: script().text("working", { gate }).finish().build() });
    const statusFile = path.join(runtime, "rt", "status.json");
    const { client } = await connectWithSnapshot(pod);

    const filler = fillUp(runtime);
    client.send(runText("go"));
    const alert = await client.waitFor("alert");
    expect(alert.data).toMatchObject({ level: "error", message: expect.stringMatching(/^pod: cannot write .+status\.json: no space left on device \(ENOSPC\); podd ls and podd status may show an old state/) });
    // The run goes on (held at its gate); status.json still says what it said before the fault.
    expect(JSON.parse(fs.readFileSync(statusFile, "utf8"))).toMatchObject({ status: "idle" });

    // Space returns: the retry writes the latest state without waiting for another change.
    fs.rmSync(filler);
    await waitForFileText(statusFile, (text) => text.includes('"status": "running"'));
    expect((await client.waitFor("alert")).data).toMatchObject({ level: "warn", message: expect.stringMatching(/status\.json is up to date again$/) });
    fs.writeFileSync(gate, "");
    expect(await client.waitFor("run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
    await waitForFileText(statusFile, (text) => text.includes('"status": "idle"'));
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(runtime, "rt"))).toBe(false);
  });

  it("a start with a full runtime dir fails naming the cause and leaves nothing behind; it starts once there is space", async () => {
    const runtime = mountTmpfs(256);
    const home = tempHome({ runtime });
    const filler = fillUp(runtime);
    await expect(startPod({ home, name: "nospace" })).rejects.toThrow(/cannot write the pod's runtime dir .+: no space left on device \(ENOSPC\)/);
    expect(fs.readdirSync(runtime)).toEqual(["filler"]);
    expect(fs.existsSync(path.join(home.home, "pods", "nospace"))).toBe(false);
    fs.rmSync(filler);
    const pod = await startPod({ home, name: "nospace" });
    expect(JSON.parse(fs.readFileSync(path.join(runtime, "nospace", "pid"), "utf8"))).toBe(pod.pid);
  });

  it("a read-only runtime dir: one alert, runs go on, a stop exits cleanly, and the next start reuses the dir it left", async () => {
    const runtime = mountTmpfs(256);
    const home = tempHome({ runtime });
    const gate = path.join(home.home, "hold");
    const pod = await startPod({ home, name: "rort", scenario: script().text("done", { gate }).finish().build() });
    const { client } = await connectWithSnapshot(pod);
    // No file under the runtime dir is held open for writing, so it can be remounted read-only under the live pod.
    remount(runtime, "ro");
    client.send(runText("go"));
    expect((await client.waitFor("alert")).data).toMatchObject({ level: "error", message: expect.stringMatching(/^pod: cannot write .+status\.json: read-only file system \(EROFS\)/) });
    fs.writeFileSync(gate, "");
    const events = await client.collectUntil(isIdleStatus);
    expect(events.find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
    expect(alertsAmong(events)).toEqual([]);
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    // The socket and the dir could not be removed: what a killed pod leaves, and the next start reuses it.
    expect(fs.existsSync(path.join(runtime, "rort", "sock"))).toBe(true);
    remount(runtime, "rw");
    const again = await startPod({ home, name: "rort", scenario: script().text("back").finish().build() });
    const reopened = await connectWithSnapshot(again);
    expect((await runUntilSettled(reopened.client, "again")).find((event) => event.event === "run_end")).toEqual({ event: "run_end", data: { result: "finished" } });
  });
});
