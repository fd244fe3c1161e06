/**
 * The read-only session reader (src/client/session-files.ts) and the transcript built from it,
 * over hand-written session dirs in a temp PODD_HOME: several segments with a compaction chain,
 * a torn last line and a bad middle line, fork provenance, live and dead owners, missing and
 * unreadable pod metadata.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeLine, type LogEntry } from "../../protocol/index.js";
import { readPodMetadata } from "../../src/client/pod-metadata-file.js";
import {
  activeSessionPods,
  listSessionIds,
  listSessions,
  podMetadata,
  readSegmentFile,
  readSession,
  selectSegments,
  type SessionFiles,
} from "../../src/client/session-files.js";
import { renderHistory } from "../../src/cli/history-text.js";
import { renderMarkdown } from "../../src/cli/markdown-export.js";
import { transcriptOf } from "../../src/cli/transcript.js";
import { wireId, withWireIds } from "../../src/config/ids.js";
import { resolvePaths, type PoddPaths } from "../../src/config/paths.js";

const SESSION_A = "01JAAAAAAAAAAAAAAAAAAAAAAA";
const SESSION_B = "01JBBBBBBBBBBBBBBBBBBBBBBB";
const SEGMENT_A1 = "01JA0000000000000000000001";
const SEGMENT_A2 = "01JA0000000000000000000002";
const SEGMENT_B1 = "01JB0000000000000000000001";
/** No process has this pid (above any Linux pid_max). */
const DEAD_PID = 2 ** 31 - 1;
const T0 = Date.UTC(2025, 0, 31, 12, 0, 0);

let home: string;
let paths: PoddPaths;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "podd-sf-"));
  paths = resolvePaths({ PODD_HOME: home, PODD_RUNTIME_DIR: path.join(home, "run") });
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const firstSegment: LogEntry[] = [
  { kind: "segment_start", ts: T0, segment_id: SEGMENT_A1, session_id: SESSION_A, pod_name: "alpha" },
  { kind: "invoke", ts: T0 + 1, invoke_kind: "user_send" },
  { kind: "user_input", ts: T0 + 2, segments: [{ kind: "text", content: "read " }, { kind: "file_ref", path: "a.txt" }] },
  { kind: "assistant_item", ts: T0 + 3, item: { kind: "reasoning", text: "I should read it.\nThen answer." } },
  { kind: "assistant_item", ts: T0 + 4, item: { kind: "tool_call", id: "call-1", name: "read_file", arguments: '{"path":"a.txt"}' } },
  { kind: "tool_result", ts: T0 + 5, item: { kind: "tool_result", id: "call-1", summary: "read a.txt", output: "hello ``` world", is_error: false } },
  { kind: "llm_usage", ts: T0 + 6, llm_call: 1, input_tokens: 10 },
  { kind: "assistant_item", ts: T0 + 7, item: { kind: "message", role: "assistant", content: "It says hello." } },
  { kind: "turn_end", ts: T0 + 8, turn: 1, result: "finished" },
  { kind: "run_completed", ts: T0 + 9, result: "finished" },
];

const secondSegment: LogEntry[] = [
  { kind: "segment_start", ts: T0 + 100, segment_id: SEGMENT_A2, session_id: SESSION_A, pod_name: "alpha", compacted_from: SEGMENT_A1 },
  { kind: "extension", ts: T0 + 100, name: "podd.counters", data: { turn: 1, llm_call: 1 } },
  { kind: "system_item", ts: T0 + 100, item: { kind: "compaction_summary", body: "The user asked about a.txt; it says hello." } },
  { kind: "system_item", ts: T0 + 101, item: { kind: "notification", message: "build done", body: "<notification>build done</notification>" } },
  { kind: "user_input", ts: T0 + 102, segments: [{ kind: "text", content: "again" }] },
  { kind: "run_errored", ts: T0 + 103, code: "provider_error", message: "overloaded" },
];

const forkSegment: LogEntry[] = [
  {
    kind: "segment_start",
    ts: T0 + 50,
    segment_id: SEGMENT_B1,
    session_id: SESSION_B,
    pod_name: "beta",
    forked_from: { pod_name: "alpha", session_id: SESSION_A, segment_id: SEGMENT_A1, entry_index: 7 },
  },
  { kind: "user_input", ts: T0 + 51, segments: [{ kind: "text", content: "forked question" }] },
];

function writeSegment(sessionId: string, segmentId: string, text: string): string {
  const dir = path.join(home, "sessions", sessionId);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${segmentId}.jsonl`);
  fs.writeFileSync(file, text);
  return file;
}

const lines = (entries: readonly LogEntry[]): string => entries.map((entry) => encodeLine(entry)).join("");

function writeMetadata(podName: string, text: string): void {
  const dir = path.join(home, "pods", podName);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "metadata.json"), text);
}

function writeOwner(sessionId: string, pid: number, podName: string): void {
  fs.writeFileSync(path.join(home, "sessions", sessionId, "owner.json"), JSON.stringify({ pid, pod_name: podName }));
}

/** The fixture: alpha's session A (compacted once, torn last line, a live owner: this process) and beta's fork B (dead owner, no metadata). */
function writeFixture(): void {
  // The newer segment is written first: order must come from the ULID names, not from the directory.
  writeSegment(SESSION_A, SEGMENT_A2, `${lines(secondSegment)}{"kind":"user_input","ts":`);
  writeSegment(SESSION_A, SEGMENT_A1, `${lines(firstSegment.slice(0, 2))}not json at all\n\n${lines(firstSegment.slice(2))}`);
  writeOwner(SESSION_A, process.pid, "alpha");
  writeSegment(SESSION_B, SEGMENT_B1, lines(forkSegment));
  writeOwner(SESSION_B, DEAD_PID, "beta");
  writeMetadata("alpha", JSON.stringify({ pod_name: "alpha", session_id: SESSION_A, segment_id: SEGMENT_A2, cwd: "/work", model: "scripted" }));
  // A session dir without any segment file is not a session.
  fs.mkdirSync(path.join(home, "sessions", "01JEMPTY00000000000000000"), { recursive: true });
}

function mustRead(sessionId: string): SessionFiles {
  const session = readSession(paths, sessionId);
  if (!session) throw new Error(`no session ${sessionId}`);
  return session;
}

describe("readSegmentFile", () => {
  it("keeps every valid entry with its exact line, and counts a bad middle line and a torn last line", () => {
    writeFixture();
    const first = readSegmentFile(path.join(home, "sessions", SESSION_A, `${SEGMENT_A1}.jsonl`));
    // The ULID ids of this pre-UUID session reach readers as UUIDs (src/config/ids.ts); the lines keep their bytes.
    expect(first.entries).toEqual(firstSegment.map(withWireIds));
    expect(first.lines).toEqual(firstSegment.map((entry) => JSON.stringify(entry)));
    expect(first.skipped).toEqual([{ line: 3, bytes: "not json at all".length, torn: false }]);
    expect(first.start).toEqual(firstSegment[0] && withWireIds(firstSegment[0]));

    const second = readSegmentFile(path.join(home, "sessions", SESSION_A, `${SEGMENT_A2}.jsonl`));
    expect(second.entries).toEqual(secondSegment.map(withWireIds));
    expect(second.skipped).toEqual([{ line: secondSegment.length + 1, bytes: '{"kind":"user_input","ts":'.length, torn: true }]);
  });

  it("treats a complete entry without its newline as torn (a write still in progress or cut by a crash)", () => {
    const file = writeSegment(SESSION_A, SEGMENT_A1, `${lines(firstSegment.slice(0, 1))}${JSON.stringify(firstSegment[1])}`);
    const segment = readSegmentFile(file);
    expect(segment.entries).toEqual(firstSegment.slice(0, 1).map(withWireIds));
    expect(segment.skipped).toMatchObject([{ line: 2, torn: true }]);
  });

  it("throws the fs error for a missing file", () => {
    expect(() => readSegmentFile(path.join(home, "nope.jsonl"))).toThrow(/ENOENT/);
  });
});

describe("readSession and listSessions", () => {
  it("reads the segments in ULID order with the owner and its liveness", () => {
    writeFixture();
    const session = mustRead(SESSION_A);
    expect(session.segments.map((segment) => segment.segmentId)).toEqual([SEGMENT_A1, SEGMENT_A2]);
    expect(session.podName).toBe("alpha");
    expect(session.owner).toEqual({ pid: process.pid, pod_name: "alpha" });
    expect(session.isLive).toBe(true);
    const fork = mustRead(SESSION_B);
    expect(fork.owner?.pid).toBe(DEAD_PID);
    expect(fork.isLive).toBe(false);
  });

  it("is undefined for a session without segment files, and refuses an id that is not a plain name", () => {
    writeFixture();
    expect(readSession(paths, "01JEMPTY00000000000000000")).toBeUndefined();
    expect(readSession(paths, "01JNOSUCHSESSION000000000")).toBeUndefined();
    expect(() => readSession(paths, "../pods")).toThrow(/invalid session id/);
  });

  it("summarises every session, newest activity first: counts, provenance and liveness", () => {
    writeFixture();
    expect(listSessionIds(paths)).toEqual([SESSION_A, SESSION_B]);
    expect(listSessions(paths)).toEqual([
      {
        sessionId: SESSION_A,
        podName: "alpha",
        segments: 2,
        entries: firstSegment.length + secondSegment.length,
        skippedLines: 2,
        lastActivityMs: T0 + 103,
        isLive: true,
        ownerPid: process.pid,
        compactions: 1,
      },
      {
        sessionId: SESSION_B,
        podName: "beta",
        segments: 1,
        entries: forkSegment.length,
        skippedLines: 0,
        lastActivityMs: T0 + 51,
        isLive: false,
        ownerPid: DEAD_PID,
        forkedFrom: { pod_name: "alpha", session_id: wireId(SESSION_A), segment_id: wireId(SEGMENT_A1), entry_index: 7 },
        compactions: 0,
      },
    ]);
  });

  it("is empty when there is no sessions dir at all", () => {
    expect(listSessions(paths)).toEqual([]);
    expect(activeSessionPods(paths).size).toBe(0);
  });
});

describe("pod metadata", () => {
  it("maps sessions to the pods they are current for; missing and unreadable metadata are told apart", () => {
    writeFixture();
    writeMetadata("gamma", "{ not json");
    expect(activeSessionPods(paths)).toEqual(new Map([[SESSION_A, ["alpha"]]]));
    expect(podMetadata(paths, "alpha").metadata?.segment_id).toBe(SEGMENT_A2);
    expect(podMetadata(paths, "beta")).toEqual({});
    expect(podMetadata(paths, "gamma").problem).toMatch(/metadata\.json is not JSON/);
    writeMetadata("delta", JSON.stringify({ pod_name: "delta" }));
    expect(readPodMetadata(path.join(home, "pods", "delta")).problem).toMatch(/has no session/);
  });

  it("selects the active segment by default, the newest without metadata, all with --all", () => {
    writeFixture();
    const session = mustRead(SESSION_A);
    const ids = (segments: ReturnType<typeof selectSegments>) => segments?.map((segment) => segment.segmentId);
    expect(ids(selectSegments(session, { activeSegmentId: SEGMENT_A1 }))).toEqual([SEGMENT_A1]);
    expect(ids(selectSegments(session, {}))).toEqual([SEGMENT_A2]);
    expect(ids(selectSegments(session, { all: true, activeSegmentId: SEGMENT_A1 }))).toEqual([SEGMENT_A1, SEGMENT_A2]);
    expect(selectSegments(session, { activeSegmentId: "01JNOPE" })).toBeUndefined();
  });
});

describe("the transcript of a session", () => {
  it("hides bookkeeping, names tool results, and turns a compaction into a divider with its summary", () => {
    writeFixture();
    const items = transcriptOf(mustRead(SESSION_A).segments);
    expect(items.map((item) => item.kind)).toEqual(["user", "reasoning", "tool_call", "tool_result", "assistant", "run_end", "compaction", "system", "user", "run_errored"]);
    expect(items[0]).toMatchObject({ kind: "user", text: "read @a.txt" });
    expect(items[3]).toMatchObject({ kind: "tool_result", name: "read_file", summary: "read a.txt", isError: false });
    expect(items[6]).toEqual({ kind: "compaction", ts: T0 + 100, compactedFrom: wireId(SEGMENT_A1), summary: "The user asked about a.txt; it says hello." });
    expect(items[7]).toMatchObject({ kind: "system", systemKind: "notification", text: "build done" });
  });

  it("shows a system item as a notification's message, an attachment's path, else its body", () => {
    const entries: LogEntry[] = [
      { kind: "system_item", ts: T0, item: { kind: "notification", message: "build done", body: "<notification>build done</notification>" } },
      { kind: "system_item", ts: T0 + 1, item: { kind: "file_attachment", path: "notes/a.md", body: "<file>a</file>" } },
      { kind: "system_item", ts: T0 + 2, item: { kind: "interrupt", body: "The user interrupted." } },
      { kind: "system_item", ts: T0 + 3, item: { kind: "system_reminder" } },
    ];
    const items = transcriptOf([{ segmentId: SEGMENT_A1, file: "", entries, lines: [], skipped: [] }]);
    expect(items).toEqual([
      { kind: "system", ts: T0, systemKind: "notification", text: "build done" },
      { kind: "system", ts: T0 + 1, systemKind: "file_attachment", text: "notes/a.md" },
      { kind: "system", ts: T0 + 2, systemKind: "interrupt", text: "The user interrupted." },
      { kind: "system", ts: T0 + 3, systemKind: "system_reminder", text: "" },
    ]);
  });

  it("tells a cancelled run from a failed one, in history and in Markdown", () => {
    const entries: LogEntry[] = [
      { kind: "run_errored", ts: T0, code: "internal", message: "Cancelled" },
      { kind: "run_errored", ts: T0 + 1, code: "internal", message: "socket hang up" },
      { kind: "run_completed", ts: T0 + 2, result: "limit_reached" },
    ];
    const items = transcriptOf([{ segmentId: SEGMENT_A1, file: "", entries, lines: [], skipped: [] }]);
    expect(items.map((item) => item.kind)).toEqual(["run_cancelled", "run_errored", "run_end"]);
    const lines = renderHistory(items).split("\n").map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
    expect(lines.filter((line) => line.startsWith("run"))).toEqual(["run cancelled", "run failed: socket hang up (internal)", "run stopped: turn limit reached"]);
    const markdown = renderMarkdown(items, { podName: "alpha", sessionId: SESSION_A, scope: "active segment", exportedAtMs: T0 });
    expect(markdown).toMatch(/^> \*Run cancelled\* \(\d\d:\d\d:\d\d\)$/m);
    expect(markdown).toContain("> **Run failed** (internal): socket hang up");
    expect(markdown).not.toMatch(/Run (failed|errored)[^\n]*Cancelled/);
  });

  it("renders as plain text lines: calls, results, the compaction divider, run errors; no colour codes", () => {
    writeFixture();
    const text = renderHistory(transcriptOf(mustRead(SESSION_A).segments));
    const lines = text.split("\n").map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
    expect(lines).toEqual(
      expect.arrayContaining([
        "user: read @a.txt",
        "thinking: I should read it. Then answer.",
        '  → read_file({"path":"a.txt"})',
        "  ← read a.txt",
        "assistant: It says hello.",
        "── compacted: summary ──",
        "notification: build done",
        "run failed: overloaded (provider_error)",
      ]),
    );
    expect(text.indexOf("── compacted: summary ──")).toBeLessThan(text.indexOf("The user asked about a.txt"));
    expect(text.indexOf("It says hello.")).toBeLessThan(text.indexOf("── compacted"));
    expect(text).not.toContain("podd.counters");
    expect(text).not.toContain("\x1b[");
    expect(renderHistory(transcriptOf(mustRead(SESSION_A).segments), { isColor: true })).toContain("\x1b[2m");
  });

  it("shows a fork's provenance, and as Markdown fences a tool output around its own backticks", () => {
    writeFixture();
    expect(renderHistory(transcriptOf(mustRead(SESSION_B).segments))).toContain(`forked from alpha@7 (session ${wireId(SESSION_A)}, segment ${wireId(SEGMENT_A1)})`);
    const markdown = renderMarkdown(transcriptOf(mustRead(SESSION_A).segments), { podName: "alpha", sessionId: SESSION_A, scope: "all 2 segments", exportedAtMs: T0 });
    expect(markdown.startsWith(`# alpha: session ${SESSION_A}\n`)).toBe(true);
    expect(markdown.match(/^## User$/gm)).toHaveLength(2);
    expect(markdown).toContain("## Assistant");
    expect(markdown).toContain('**Tool call** `read_file`\n\n```json\n{\n  "path": "a.txt"\n}\n```');
    expect(markdown).toContain("**Tool result** `read_file`: read a.txt\n\n````\nhello ``` world\n````");
    expect(markdown).toContain("---\n\n## Compacted: summary");
    expect(markdown).toContain("> **Run failed** (provider_error): overloaded");
  });
});
