/**
 * Session and segment ids (src/config/ids.ts): new ids are UUIDv7, ULIDs of pre-UUID sessions
 * map to the UUID with the same bits, and both sort by time together.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ulid, ulidToUUID } from "ulid";
import { describe, expect, it } from "vitest";
import { compareIds, idNames, isUuid, newId, sameId, wireId, withWireIds } from "../../src/config/ids.js";
import { segmentFile, sessionDir } from "../../src/config/paths.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("ids", () => {
  it("newId: lowercase UUIDv7s, each later than the one before", () => {
    const ids = Array.from({ length: 1000 }, newId);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("wireId: a ULID becomes its UUID (lowercase), a UUID is lowercased, anything else is kept", () => {
    const legacy = "01JGZ8Q4S6V2M3K9X7T5R1P0AB";
    expect(wireId(legacy)).toBe(ulidToUUID(legacy).toLowerCase());
    expect(isUuid(wireId(legacy))).toBe(true);
    expect(wireId("0193B9A4-6A00-7000-8000-000000000001")).toBe("0193b9a4-6a00-7000-8000-000000000001");
    expect(wireId("my-session")).toBe("my-session");
    expect(sameId(legacy, wireId(legacy))).toBe(true);
    expect(sameId(wireId(legacy).toUpperCase(), legacy)).toBe(true);
    expect(sameId(legacy, newId())).toBe(false);
    expect(idNames(wireId(legacy))).toEqual([wireId(legacy), legacy]);
    expect(idNames(legacy)).toEqual([legacy, wireId(legacy)]);
  });

  it("compareIds: ULIDs and UUIDv7s made one after the other sort in the order they were made", () => {
    const made: string[] = [];
    for (let index = 0; index < 20; index += 1) made.push(index % 2 === 0 ? ulid(Date.now() + index * 10) : newId());
    const byTime = [...made].sort((a, b) => compareIds(a, b));
    // Lexical order of the raw strings mixes them up (base32 upper case against hex lower case) …
    const times = (ids: string[]) => ids.map((id) => parseInt(wireId(id).replace(/-/g, "").slice(0, 12), 16));
    // … compareIds keeps the 48-bit ms timestamp order both forms start with.
    const sortedTimes = times(byTime);
    expect(sortedTimes).toEqual([...sortedTimes].sort((a, b) => a - b));
    const rawTimes = times([...made].sort());
    expect(rawTimes).not.toEqual([...rawTimes].sort((a, b) => a - b));
  });

  it("withWireIds: a segment_start's ids in their wire form; other entries untouched", () => {
    const start = {
      kind: "segment_start" as const,
      ts: 1,
      segment_id: "01JGZ9A0000000000000000002",
      session_id: "01JGZ8Q4S5ZZ0E7W2N1B9C4D3F",
      pod_name: "p",
      compacted_from: "01JGZ8Q4S6V2M3K9X7T5R1P0AB",
      forked_from: { pod_name: "q", session_id: "01JGZ8Q4S5ZZ0E7W2N1B9C4D3F", segment_id: "01JGZ8Q4S6V2M3K9X7T5R1P0AB", entry_index: 3 },
    };
    expect(withWireIds(start)).toEqual({
      ...start,
      segment_id: wireId(start.segment_id),
      session_id: wireId(start.session_id),
      compacted_from: wireId(start.compacted_from),
      forked_from: { pod_name: "q", session_id: wireId(start.session_id), segment_id: wireId(start.compacted_from), entry_index: 3 },
    });
    const invoke = { kind: "invoke", ts: 2 };
    expect(withWireIds(invoke)).toBe(invoke);
  });

  it("sessionDir and segmentFile find a pre-UUID session's ULID names from the UUID", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "podd-ids-"));
    const legacySession = "01JGZ8Q4S5ZZ0E7W2N1B9C4D3F";
    const legacySegment = "01JGZ8Q4S6V2M3K9X7T5R1P0AB";
    fs.mkdirSync(path.join(home, "sessions", legacySession), { recursive: true });
    fs.writeFileSync(path.join(home, "sessions", legacySession, `${legacySegment}.jsonl`), "");
    const paths = { home, runtime: path.join(home, "run") };
    const dir = sessionDir(paths, wireId(legacySession));
    expect(dir).toBe(path.join(home, "sessions", legacySession));
    expect(sessionDir(paths, legacySession)).toBe(dir);
    expect(segmentFile(dir, wireId(legacySegment))).toBe(path.join(dir, `${legacySegment}.jsonl`));
    // A new id has no legacy file: its own name.
    const fresh = newId();
    expect(segmentFile(dir, fresh)).toBe(path.join(dir, `${fresh}.jsonl`));
    fs.rmSync(home, { recursive: true, force: true });
  });
});
