/** The session log: one JSON line per committed entry, rollback by mark/truncate, no overwrite. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LogEntry } from "../../protocol/index.js";
import { SessionLog, SessionWriteError } from "../../src/session/session-log.js";

let sessionsDir: string;
const open: SessionLog[] = [];

beforeEach(() => {
  sessionsDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "podd-log-")), "sessions");
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const log of open.splice(0)) log.close();
  fs.rmSync(path.dirname(sessionsDir), { recursive: true, force: true });
});

function create(segmentId = "seg-1"): SessionLog {
  const log = SessionLog.create({ sessionDir: path.join(sessionsDir, "sess-1"), sessionId: "sess-1", segmentId, podName: "tester", now: 1000 });
  open.push(log);
  return log;
}

/** The file's lines, each decoded as a LogEntry (fails on a torn or invalid line). */
function fileEntries(file: string): LogEntry[] {
  const text = fs.readFileSync(file, "utf8");
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const parsed = LogEntry.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`line does not decode as a LogEntry: ${line}`);
      return parsed.data;
    });
}

const userInput = (ts: number, content: string): LogEntry => ({ kind: "user_input", ts, segments: [{ kind: "text", content }] });
const assistant = (ts: number, content: string): LogEntry => ({ kind: "assistant_item", ts, item: { kind: "message", role: "assistant", content } });

describe("SessionLog", () => {
  it("creates <sessions>/<session>/<segment>.jsonl starting with its segment_start entry", () => {
    const log = create();
    expect(log.file).toBe(path.join(sessionsDir, "sess-1", "seg-1.jsonl"));
    expect(log.sessionId).toBe("sess-1");
    expect(log.segmentId).toBe("seg-1");
    const start = { kind: "segment_start", ts: 1000, segment_id: "seg-1", session_id: "sess-1", pod_name: "tester" };
    expect(log.entries).toEqual([start]);
    expect(fileEntries(log.file)).toEqual([start]);
    expect(fs.statSync(log.file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(log.file)).mode & 0o777).toBe(0o700);
  });

  it("appends one line per entry, in order, each decoding as a LogEntry", () => {
    const log = create();
    const entries: LogEntry[] = [
      { kind: "invoke", ts: 1001, invoke_kind: "user_send" },
      userInput(1002, "line one\nline two with \u2028 and \"quotes\""),
      assistant(1003, "an answer"),
      { kind: "tool_result", ts: 1004, item: { kind: "tool_result", id: "call_1", summary: "ok", output: "x".repeat(10_000), is_error: false } },
      { kind: "run_completed", ts: 1005, result: "finished" },
    ];
    for (const entry of entries) log.append(entry);
    const lines = fs.readFileSync(log.file, "utf8").split("\n");
    expect(lines).toHaveLength(entries.length + 2);
    expect(lines[lines.length - 1]).toBe("");
    expect(fileEntries(log.file).slice(1)).toEqual(entries);
    expect(log.entries.slice(1)).toEqual(entries);
  });

  it("truncate drops everything after the mark from the file and from memory, and appends go on from there", () => {
    const log = create();
    log.append(userInput(1001, "kept"));
    const sizeAtMark = fs.statSync(log.file).size;
    const mark = log.mark();
    expect(mark).toEqual({ bytes: sizeAtMark, count: 2 });
    const dropped = [userInput(1002, "dropped"), assistant(1003, "dropped too")];
    for (const entry of dropped) log.append(entry);
    expect(fileEntries(log.file)).toHaveLength(4);

    expect(log.truncate(mark)).toEqual(dropped);
    expect(fs.statSync(log.file).size).toBe(sizeAtMark);
    expect(log.entries).toHaveLength(2);
    expect(fileEntries(log.file)).toEqual(log.entries);

    log.append(assistant(1004, "after the rollback"));
    expect(fileEntries(log.file).map((entry) => entry.kind)).toEqual(["segment_start", "user_input", "assistant_item"]);
    expect(fileEntries(log.file)).toEqual(log.entries);
  });

  it("truncating to the current mark drops nothing", () => {
    const log = create();
    log.append(userInput(1001, "a"));
    const before = fs.readFileSync(log.file, "utf8");
    expect(log.truncate(log.mark())).toEqual([]);
    expect(fs.readFileSync(log.file, "utf8")).toBe(before);
  });

  it("refuses to create a segment whose file exists, and leaves that file alone", () => {
    const log = create();
    log.append(userInput(1001, "precious"));
    const before = fs.readFileSync(log.file, "utf8");
    expect(() => create()).toThrow(/EEXIST/);
    expect(fs.readFileSync(log.file, "utf8")).toBe(before);
    const other = create("seg-2");
    expect(other.file).toBe(path.join(sessionsDir, "sess-1", "seg-2.jsonl"));
  });

  it("a write that fails after a short write (ENOSPC) commits nothing and leaves no partial line; the next append is clean", () => {
    const log = create();
    log.append(userInput(1001, "saved"));
    const before = fs.readFileSync(log.file, "utf8");
    const realWrite = fs.writeSync;
    let calls = 0;
    // The disk takes 10 bytes of the line, then is full.
    vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, buffer: Buffer, offset: number, length: number, position: number) => {
      calls += 1;
      if (calls === 1) return realWrite(fd, buffer, offset, Math.min(10, length), position);
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    }) as typeof fs.writeSync);
    const failure = (() => {
      try {
        log.append(assistant(1002, "lost"));
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(SessionWriteError);
    expect(failure).toMatchObject({ code: "internal", errno: "ENOSPC", entryKind: "assistant_item", file: log.file });
    expect((failure as Error).message).toBe(`cannot write the session log ${log.file}: no space left on device (ENOSPC)`);
    expect(fs.readFileSync(log.file, "utf8")).toBe(before);
    expect(log.entries).toHaveLength(2);

    vi.restoreAllMocks();
    log.append(assistant(1003, "after space returned"));
    expect(fileEntries(log.file)).toEqual(log.entries);
  });

  it("a failed cut (rollback) throws SessionWriteError and drops nothing", () => {
    const log = create();
    const mark = log.mark();
    log.append(userInput(1001, "kept, since the cut failed"));
    vi.spyOn(fs, "ftruncateSync").mockImplementation(() => {
      throw Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" });
    });
    expect(() => log.truncate(mark)).toThrow(/^cannot cut the session log .+: read-only file system \(EROFS\)$/);
    expect(log.entries).toHaveLength(2);
  });

  it("close keeps every committed line", () => {
    const log = create();
    log.append(userInput(1001, "last"));
    open.splice(open.indexOf(log), 1);
    log.close();
    expect(fileEntries(log.file)).toEqual([...log.entries]);
    expect(log.entries).toHaveLength(2);
  });
});
