/**
 * Reading session logs from disk, read-only, for `podd sessions`, `podd history` and
 * `podd export`: `<home>/sessions/<session>/<segment>.jsonl` (one LogEntry JSON line each; segment
 * ids start with their creation time, so they sort chronologically: src/config/ids.ts), `<session>/owner.json` (`{pid, pod_name}`
 * while a live pod has the session open) and the pods' `metadata.json` (which session and segment
 * each pod is on). Works whether the pods are running or not; never writes, locks or repairs
 * anything (the daemon's src/session/ owns that), so a line being appended by a live pod is
 * simply not there yet.
 */
import fs from "node:fs";
import path from "node:path";
import { parseLogEntryLine, type LogEntry, type SegmentStartEntry } from "../../protocol/index.js";
import { compareIds, sameId, withWireIds } from "../config/ids.js";
import { podPaths, sessionDir, type PoddPaths } from "../config/paths.js";
import { isProcessAlive } from "./pod-directory.js";
import { readPodMetadata, type PodMetadata } from "./pod-metadata-file.js";

/** The file a live pod holds in its session dir: `{pid, pod_name}` (written by src/session/pod-metadata.ts). */
export const SESSION_OWNER_FILE = "owner.json";

const SEGMENT_SUFFIX = ".jsonl";
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** A line of a segment file that is not a LogEntry; it is skipped. */
export interface SkippedLine {
  /** 1-based line number. */
  line: number;
  bytes: number;
  /** It is the file's last line (no newline, or not a LogEntry): a write cut by a crash, or still being written. */
  torn: boolean;
}

/** One segment file, parsed. */
export interface SegmentFile {
  segmentId: string;
  file: string;
  /** The valid entries, in file order. */
  entries: LogEntry[];
  /** The exact text of each entry's line (UTF-8, without its newline), index-aligned with `entries`. */
  lines: string[];
  skipped: SkippedLine[];
  /** The `segment_start` entry, when the file begins with one. */
  start?: SegmentStartEntry;
}

export interface SessionOwner {
  pid: number;
  pod_name?: string;
}

/** A session's segment files in chronological order (src/config/ids.ts), and who holds it. */
export interface SessionFiles {
  sessionId: string;
  dir: string;
  /** Never empty. */
  segments: SegmentFile[];
  /** From the newest segment's `segment_start`, else the owner file; undefined when neither says. */
  podName?: string;
  owner?: SessionOwner;
  /** The owner file names a running process. */
  isLive: boolean;
}

/** What `podd sessions` shows of a session, without its entries. */
export interface SessionSummary {
  sessionId: string;
  podName?: string;
  segments: number;
  /** Valid entries over all segments. */
  entries: number;
  /** Lines skipped over all segments (torn or not a LogEntry). */
  skippedLines: number;
  /** The newest entry's `ts` (ms since the epoch), else the newest segment file's mtime. */
  lastActivityMs: number;
  isLive: boolean;
  ownerPid?: number;
  /** The first segment's fork provenance. */
  forkedFrom?: NonNullable<SegmentStartEntry["forked_from"]>;
  /** Segments that are the product of a compaction (`compacted_from` set). */
  compactions: number;
}

/** Why `id` cannot be a session id (a directory name under `<home>/sessions/`), or undefined when it can. */
export function sessionIdProblem(id: string): string | undefined {
  if (!SESSION_ID_PATTERN.test(id)) return `invalid session id ${JSON.stringify(id)}: expected letters, digits, '_' or '-'`;
  return undefined;
}


/**
 * Parse one segment file. Blank lines are ignored; a line that is not a LogEntry is skipped and
 * reported in `skipped` (`torn` for the last line, including one without its newline, which is
 * incomplete by definition). Throws the fs error when the file cannot be read (ENOENT …).
 */
export function readSegmentFile(file: string): SegmentFile {
  const bytes = fs.readFileSync(file);
  const segment: SegmentFile = { segmentId: path.basename(file, SEGMENT_SUFFIX), file, entries: [], lines: [], skipped: [] };
  for (let start = 0, lineNumber = 1; start < bytes.length; lineNumber += 1) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    const text = bytes.subarray(start, end).toString("utf8");
    const entry = newline === -1 ? undefined : parseLogEntryLine(text);
    if (entry) {
      segment.entries.push(withWireIds(entry));
      segment.lines.push(text);
    } else if (text.trim() !== "") {
      const isLast = newline === -1 || newline + 1 >= bytes.length;
      segment.skipped.push({ line: lineNumber, bytes: end - start, torn: isLast });
    }
    if (newline === -1) break;
    start = newline + 1;
  }
  const first = segment.entries[0];
  if (first?.kind === "segment_start") segment.start = first;
  return segment;
}

function readOwner(dir: string): SessionOwner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(dir, SESSION_OWNER_FILE), "utf8")) as Partial<SessionOwner>;
    if (typeof owner.pid !== "number") return undefined;
    return typeof owner.pod_name === "string" ? { pid: owner.pid, pod_name: owner.pod_name } : { pid: owner.pid };
  } catch {
    return undefined;
  }
}

/** The segment ids of a session dir, oldest first; [] when the dir is missing. */
function segmentIds(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => name.endsWith(SEGMENT_SUFFIX) && !name.startsWith("."))
      .map((name) => name.slice(0, -SEGMENT_SUFFIX.length))
      .sort(compareIds);
  } catch {
    return [];
  }
}

/**
 * Read a whole session: every segment file, oldest first, and its owner. Undefined when the
 * session dir has no segment file (or does not exist). Throws an Error for an invalid id (see
 * `sessionIdProblem`) and the fs error for a segment file that cannot be read.
 */
export function readSession(paths: PoddPaths, sessionId: string): SessionFiles | undefined {
  const problem = sessionIdProblem(sessionId);
  if (problem) throw new Error(problem);
  const dir = sessionDir(paths, sessionId);
  const ids = segmentIds(dir);
  if (ids.length === 0) return undefined;
  const segments = ids.map((id) => readSegmentFile(path.join(dir, `${id}${SEGMENT_SUFFIX}`)));
  const owner = readOwner(dir);
  const newestStart = segments.findLast((segment) => segment.start)?.start;
  const session: SessionFiles = { sessionId: path.basename(dir), dir, segments, isLive: owner !== undefined && isProcessAlive(owner.pid) };
  const podName = newestStart?.pod_name ?? owner?.pod_name;
  if (podName !== undefined) session.podName = podName;
  if (owner) session.owner = owner;
  return session;
}

/** Every session id under `<home>/sessions/` that has at least one segment file, sorted. */
export function listSessionIds(paths: PoddPaths): string[] {
  const root = path.join(paths.home, "sessions");
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((name) => sessionIdProblem(name) === undefined && segmentIds(path.join(root, name)).length > 0).sort(compareIds);
}

/** The counts and provenance of a session (see SessionSummary). */
export function summariseSession(session: SessionFiles): SessionSummary {
  let lastActivityMs = 0;
  for (const segment of session.segments) {
    const last = segment.entries.at(-1);
    if (last && last.ts > lastActivityMs) lastActivityMs = last.ts;
  }
  if (lastActivityMs === 0) {
    const newest = session.segments.at(-1);
    lastActivityMs = newest ? fs.statSync(newest.file).mtimeMs : 0;
  }
  const summary: SessionSummary = {
    sessionId: session.sessionId,
    segments: session.segments.length,
    entries: session.segments.reduce((sum, segment) => sum + segment.entries.length, 0),
    skippedLines: session.segments.reduce((sum, segment) => sum + segment.skipped.length, 0),
    lastActivityMs,
    isLive: session.isLive,
    compactions: session.segments.filter((segment) => segment.start?.compacted_from !== undefined).length,
  };
  if (session.podName !== undefined) summary.podName = session.podName;
  if (session.owner) summary.ownerPid = session.owner.pid;
  const forkedFrom = session.segments[0]?.start?.forked_from;
  if (forkedFrom) summary.forkedFrom = forkedFrom;
  return summary;
}

/**
 * A summary of every session, newest activity first. A session whose files vanish or cannot be
 * read while listing is left out (a pod may be deleting or compacting it).
 */
export function listSessions(paths: PoddPaths): SessionSummary[] {
  return listSessionIds(paths)
    .flatMap((id) => {
      try {
        const session = readSession(paths, id);
        return session ? [summariseSession(session)] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => b.lastActivityMs - a.lastActivityMs || b.sessionId.localeCompare(a.sessionId));
}

/** A pod's metadata as read from `<home>/pods/<name>/metadata.json` (see readPodMetadata). */
export function podMetadata(paths: PoddPaths, podName: string): { metadata?: PodMetadata; problem?: string } {
  return readPodMetadata(podPaths(paths, podName).dataDir);
}

/** The pods that have metadata, by the session they are on: session id → pod names (sorted). Unreadable metadata is skipped. */
export function activeSessionPods(paths: PoddPaths): Map<string, string[]> {
  const root = path.join(paths.home, "pods");
  const bySession = new Map<string, string[]>();
  let names: string[];
  try {
    names = fs.readdirSync(root).sort();
  } catch {
    return bySession;
  }
  for (const name of names) {
    const { metadata } = readPodMetadata(path.join(root, name));
    if (!metadata) continue;
    bySession.set(metadata.session_id, [...(bySession.get(metadata.session_id) ?? []), name]);
  }
  return bySession;
}

/**
 * The segments to show of a session: all of them (`all`), else only the active one — the
 * segment named by `activeSegmentId` when given (a pod's metadata), else the newest. Undefined
 * when `activeSegmentId` names no segment of the session.
 */
export function selectSegments(session: SessionFiles, options: { all?: boolean; activeSegmentId?: string }): SegmentFile[] | undefined {
  if (options.all) return session.segments;
  if (options.activeSegmentId === undefined) return session.segments.slice(-1);
  const wanted = options.activeSegmentId;
  const active = session.segments.find((segment) => sameId(segment.segmentId, wanted));
  return active ? [active] : undefined;
}
