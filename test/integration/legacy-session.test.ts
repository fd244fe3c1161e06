/**
 * A session written by podd 0.1 (ULID session and segment ids, kept as a fixture in
 * test/fixtures/legacy-ulid-session/, made with that version's `podd start` and `podd send` on
 * the embedded model) against real pod processes and the CLI: it restores, its ids reach
 * clients as UUIDs, it rewinds (by the UUID and by the ULID), compacts into a UUID-named
 * segment, forks and exports. Its files keep their names, and its old lines their bytes.
 */
import fs from "node:fs";
import path from "node:path";
import { ulidToUUID } from "ulid";
import { afterEach, describe, expect, it } from "vitest";
import type { LogEntry } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { expectExit, killCliProcesses, runCli, trackDaemon } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, connectWithSnapshot, listRewindTargets, runToIdle, startPod, tempHome, userTexts, writeScenario } from "../helpers/pod-process.js";

afterEach(async () => {
  killCliProcesses();
  await cleanupAll();
});

const FIXTURE = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "fixtures", "legacy-ulid-session");
const SESSION_ULID = "01M99DXJPMRN9V51SQKACZQ74W";
const SEGMENT_ULID = "01M99DXJPN5HNQ0KYD796FDKB9";
const uuidOf = (ulid: string) => ulidToUUID(ulid).toLowerCase();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A home holding the fixture: the pod `legacy` with its ULID-named session (its cwd moved to the home). */
function legacyHome(): ReturnType<typeof tempHome> & { sessionFile: string; original: Buffer } {
  const home = tempHome();
  fs.cpSync(FIXTURE, home.home, { recursive: true });
  // The modes podd gave them (git keeps neither): private dirs and files.
  for (const dir of ["pods", "pods/legacy", "sessions", `sessions/${SESSION_ULID}`]) fs.chmodSync(path.join(home.home, dir), 0o700);
  for (const file of ["pods/legacy/metadata.json", `sessions/${SESSION_ULID}/${SEGMENT_ULID}.jsonl`]) fs.chmodSync(path.join(home.home, file), 0o600);
  const metadataFile = path.join(home.home, "pods", "legacy", "metadata.json");
  const metadata = JSON.parse(fs.readFileSync(metadataFile, "utf8")) as { cwd: string };
  fs.writeFileSync(metadataFile, JSON.stringify({ ...metadata, cwd: home.home }, null, 2));
  const sessionFile = path.join(home.home, "sessions", SESSION_ULID, `${SEGMENT_ULID}.jsonl`);
  return { ...home, sessionFile, original: fs.readFileSync(sessionFile) };
}




describe("a podd 0.1 session with ULID ids", () => {
  it("restores with UUIDs on the wire, rewinds by either id, takes new turns in its old file, and compacts into a UUID segment", async () => {
    const home = legacyHome();
    const scenario = script().text("after the rewind").finish().text("SUMMARY: the user asked what is in the directory; notes.txt is there, package.json is not.").finish().build();
    const pod = await startPod({ home, name: "legacy", scenario });
    const { client, entries } = await connectWithSnapshot(pod);
    // The entries as the file has them, but the segment_start's ids as UUIDs (the reference's uuid::Uuid).
    const lines = home.original.toString("utf8").split("\n").filter((line) => line !== "");
    expect(entries).toHaveLength(lines.length);
    expect(entries[0]).toMatchObject({ kind: "segment_start", segment_id: uuidOf(SEGMENT_ULID), session_id: uuidOf(SESSION_ULID), pod_name: "legacy" });
    expect(entries.slice(1)).toEqual(lines.slice(1).map((line) => JSON.parse(line) as LogEntry));
    expect(userTexts(entries)).toEqual(["What is in this directory?", "Read notes.txt"]);

    const listing = await listRewindTargets(client);
    expect(listing.targets.map((target) => target.id.segment_id)).toEqual([uuidOf(SEGMENT_ULID), uuidOf(SEGMENT_ULID)]);
    const second = listing.targets[1];
    if (!second) throw new Error("no second target");
    // A podd 0.1 client names the segment by its ULID: the same segment.
    await client.request({ method: "rewind_to", params: { target: { ...second.id, segment_id: SEGMENT_ULID }, expected_head_entries: second.expected_head_entries } });
    const applied = await client.waitFor("rewind_applied");
    expect(applied.data.summary).toMatchObject({ truncated_to_entries: second.truncate_entries, tool_side_effect_warning: false });
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    // Cut in place: the file keeps its ULID name and a byte prefix of what it held.
    const cut = fs.readFileSync(home.sessionFile);
    expect(home.original.subarray(0, cut.length).equals(cut)).toBe(true);
    expect(cut.length).toBeLessThan(home.original.length);

    const turn = await runToIdle(client, "and now?");
    expect(turn.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "after the rewind" } });
    const grown = fs.readFileSync(home.sessionFile);
    expect(grown.subarray(0, cut.length).equals(cut)).toBe(true);
    expect(grown.toString("utf8")).toContain('"content":"and now?"');

    // Compaction: a new segment, named by a UUIDv7, that names the ULID segment it summarises in UUID form.
    await client.request({ method: "compact" });
    const outcome = (await client.collectUntil((event) => event.event === "compact_done" || event.event === "compact_failed")).at(-1);
    if (outcome?.event !== "compact_done") throw new Error(`compaction failed: ${JSON.stringify(outcome)}`);
    const done = outcome;
    expect(done.data.new_segment_id).toMatch(UUID);
    const sessionDir = path.join(home.home, "sessions", SESSION_ULID);
    expect(fs.readdirSync(sessionDir).filter((name) => name.endsWith(".jsonl")).sort()).toEqual([`${SEGMENT_ULID}.jsonl`, `${done.data.new_segment_id}.jsonl`].sort());
    const metadata = JSON.parse(fs.readFileSync(path.join(home.home, "pods", "legacy", "metadata.json"), "utf8")) as { session_id: string; segment_id: string };
    expect(metadata).toMatchObject({ session_id: SESSION_ULID, segment_id: done.data.new_segment_id });
    client.destroy();

    // A restart restores the compacted segment; `podd history --all` reads both segments, the ULID one first.
    await pod.stop();
    const restarted = await startPod({ home, name: "legacy", scenario: script().text("again").finish().build() });
    const again = await connectWithSnapshot(restarted);
    expect(again.entries[0]).toMatchObject({ kind: "segment_start", segment_id: done.data.new_segment_id, session_id: uuidOf(SESSION_ULID), compacted_from: uuidOf(SEGMENT_ULID) });
    again.client.destroy();
    const history = await runCli(["history", "legacy", "--all", "--json"], { env: home.env });
    expectExit(history, 0, ["history"]);
    const parsed = JSON.parse(history.stdout) as { session_id: string; segment_ids: string[] };
    expect(parsed.segment_ids).toEqual([SEGMENT_ULID, done.data.new_segment_id]);
  });

  it("forks (provenance in UUIDs) and exports byte for byte, found by its ULID or its UUID", async () => {
    const home = legacyHome();
    const scenarioFile = writeScenario(home, script().text("forked answer").finish().build());
    const forked = await runCli(["fork", "legacy", "branch", "--at", "2", "--json", "--model", `scripted:${scenarioFile}`], { env: home.env, cwd: home.home });
    expectExit(forked, 0, ["fork"]);
    const started = JSON.parse(forked.stdout) as { pid: number; socket: string };
    trackDaemon(started.pid);
    const branch = await connectClient(started.socket);
    const snapshot = await branch.waitFor("snapshot");
    const start = snapshot.data.entries[0];
    expect(start).toMatchObject({ kind: "segment_start", pod_name: "branch", forked_from: { pod_name: "legacy", session_id: uuidOf(SESSION_ULID), segment_id: uuidOf(SEGMENT_ULID) } });
    if (start?.kind !== "segment_start") throw new Error("no segment_start");
    expect(start.session_id).toMatch(UUID);
    expect(start.session_id).not.toBe(uuidOf(SESSION_ULID));
    expect(userTexts(snapshot.data.entries)).toEqual(["What is in this directory?"]);
    // The fork lives in a new UUID-named session; the source's file is untouched.
    expect(fs.existsSync(path.join(home.home, "sessions", start.session_id, `${start.segment_id}.jsonl`))).toBe(true);
    expect(fs.readFileSync(home.sessionFile).equals(home.original)).toBe(true);
    branch.destroy();

    const [byPod, byUlid, byUuid] = await Promise.all([
      runCli(["export", "legacy", "--format", "jsonl"], { env: home.env }),
      runCli(["export", "legacy", "--format", "jsonl", "--session", SESSION_ULID], { env: home.env }),
      runCli(["export", "legacy", "--format", "jsonl", "--session", uuidOf(SESSION_ULID)], { env: home.env }),
    ]);
    for (const result of [byPod, byUlid, byUuid]) {
      expectExit(result, 0, ["export"]);
      expect(result.stdout).toBe(home.original.toString("utf8"));
    }
  });
});
