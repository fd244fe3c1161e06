/**
 * Session and segment ids. New ids are UUIDv7 (RFC 9562 §5.7: a 48-bit Unix-ms timestamp, then
 * random bits; the `uuid` package keeps them monotonic within a process), written lowercase
 * `8-4-4-4-12`: the reference types every segment id a client sees as `uuid::Uuid`
 * (`compact_done.new_segment_id`, `RewindTargetId.segment_id`), so podd sends nothing else.
 *
 * Sessions written before (podd ≤ 0.1, issue 12) have ULID ids (26 Crockford base32 chars; the
 * same 48-bit ms timestamp first) as their directory and file names and inside their entries.
 * They are never renamed or rewritten: a ULID is turned into the UUID with the same 128 bits
 * (`ulidToUUID` of the `ulid` package) wherever an id leaves the disk, and a UUID is looked up
 * under both names. Because both forms start with the ms timestamp, ordering by `wireId` is
 * time order across old and new ids (segment files of one session, sessions).
 */
import { isValid as isUlid, ulidToUUID, uuidToULID } from "ulid";
import { v7 } from "uuid";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new session or segment id: a lowercase UUIDv7, later than every id made before it in this process. */
export function newId(): string {
  return v7();
}

export function isUuid(id: string): boolean {
  return UUID_PATTERN.test(id);
}

/**
 * The form of an id on the wire and in new entries: a ULID becomes the UUID with the same bits,
 * a UUID is lowercased; anything else (a name no podd made) is returned unchanged.
 */
export function wireId(id: string): string {
  if (isUuid(id)) return id.toLowerCase();
  if (id.length === 26 && isUlid(id)) return ulidToUUID(id).toLowerCase();
  return id;
}

/** The ids are the same id, whatever form (ULID or UUID, any case) each is written in. */
export function sameId(a: string, b: string): boolean {
  return a === b || wireId(a) === wireId(b);
}

/** Sort ids (or file names that are ids) oldest first: by `wireId`, so ULIDs and UUIDv7s interleave in time order. */
export function compareIds(a: string, b: string): number {
  const left = wireId(a);
  const right = wireId(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The names a file or directory for `id` may have on disk, preferred first: the id as given,
 * then its other form (the ULID a pre-UUID podd wrote for this UUID, or the UUID of a ULID).
 */
export function idNames(id: string): string[] {
  if (isUuid(id)) return [id, uuidToULID(id.toLowerCase())];
  if (id.length === 26 && isUlid(id)) return [id, wireId(id)];
  return [id];
}

/**
 * A log entry with the ids of a `segment_start` (`segment_id`, `session_id`, `compacted_from`,
 * `forked_from`'s) in their wire form; other entries are returned as they are. Applied when a
 * segment file is read, so a pre-UUID session's entries reach clients with UUIDs (its file keeps its bytes).
 */
export function withWireIds<Entry extends { kind: string }>(entry: Entry): Entry {
  if (entry.kind !== "segment_start") return entry;
  const start = entry as Entry & { segment_id: string; session_id: string; compacted_from?: string; forked_from?: { session_id: string; segment_id: string } };
  return {
    ...start,
    segment_id: wireId(start.segment_id),
    session_id: wireId(start.session_id),
    ...(start.compacted_from === undefined ? {} : { compacted_from: wireId(start.compacted_from) }),
    ...(start.forked_from === undefined ? {} : { forked_from: { ...start.forked_from, session_id: wireId(start.forked_from.session_id), segment_id: wireId(start.forked_from.segment_id) } }),
  };
}
