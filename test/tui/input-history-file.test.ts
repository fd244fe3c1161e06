/**
 * The TUI's saved input history (src/tui/input-history-file.ts) on a real file system: where it
 * lives, its mode, its bounds, and that a corrupt or foreign file is ignored, not trusted.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_HISTORY_ENTRIES } from "../../src/tui/composer-state.js";
import {
  INPUT_HISTORY_FILE,
  InputHistoryFile,
  inputHistoryPath,
  MAX_SAVED_ENTRY_CHARS,
  MAX_SAVED_HISTORY_BYTES,
  readInputHistory,
  withSavedEntry,
} from "../../src/tui/input-history-file.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A pod data dir (0700, as the pod makes it) and its history file. */
function podDataDir(): { dir: string; file: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "podd-history-"));
  dirs.push(home);
  const dir = path.join(home, "pods", "main");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, file: path.join(dir, INPUT_HISTORY_FILE) };
}

describe("input history file", () => {
  it("lives in the pod's data dir under PODD_HOME; a name podd refuses has none", () => {
    expect(inputHistoryPath("main", { PODD_HOME: "/h" })).toBe(path.join("/h", "pods", "main", INPUT_HISTORY_FILE));
    expect(inputHistoryPath("../etc", { PODD_HOME: "/h" })).toBeUndefined();
  });

  it("saves each entry in order, private (0600), and reads them back oldest first", async () => {
    const { file } = podDataDir();
    const history = new InputHistoryFile(file);
    expect(history.read()).toEqual([]);
    await Promise.all([history.append("first"), history.append("second\nwith two lines"), history.append(":compact")]);
    expect(history.read()).toEqual(["first", "second\nwith two lines", ":compact"]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ version: 1, entries: ["first", "second\nwith two lines", ":compact"] });
  });

  it("two TUIs on one pod both keep their inputs (each save re-reads the file)", async () => {
    const { file } = podDataDir();
    const one = new InputHistoryFile(file);
    const two = new InputHistoryFile(file);
    await one.append("from one");
    await two.append("from two");
    await one.append("one again");
    expect(new InputHistoryFile(file).read()).toEqual(["from one", "from two", "one again"]);
  });

  it("creates nothing when the pod's data dir is missing (a pod of another PODD_HOME)", async () => {
    const { dir } = podDataDir();
    const file = path.join(path.dirname(dir), "other-pod", INPUT_HISTORY_FILE);
    await new InputHistoryFile(file).append("hello");
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  it("ignores a corrupt, foreign or oversized file, and the next save replaces it", async () => {
    const { file } = podDataDir();
    for (const text of ["{not json", '{"version":2,"entries":["x"]}', '["a","b"]', '{"version":1,"entries":[1,2]}']) {
      fs.writeFileSync(file, text);
      expect(readInputHistory(file)).toEqual([]);
    }
    fs.writeFileSync(file, `{"version":1,"entries":["big"],"pad":"${"x".repeat(MAX_SAVED_HISTORY_BYTES)}"}`);
    expect(readInputHistory(file)).toEqual([]);
    await new InputHistoryFile(file).append("fresh");
    expect(readInputHistory(file)).toEqual(["fresh"]);
  });

  it("is bounded: no repeat of the newest, no over-long entry, at most MAX_HISTORY_ENTRIES, at most MAX_SAVED_HISTORY_BYTES", () => {
    expect(withSavedEntry(["a"], "a")).toEqual(["a"]);
    expect(withSavedEntry(["a"], "   ")).toEqual(["a"]);
    expect(withSavedEntry(["a"], "x".repeat(MAX_SAVED_ENTRY_CHARS + 1))).toEqual(["a"]);
    const many = Array.from({ length: MAX_HISTORY_ENTRIES }, (_, index) => `entry ${index}`);
    const next = withSavedEntry(many, "newest");
    expect(next).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(next[0]).toBe("entry 1");
    expect(next.at(-1)).toBe("newest");

    const large = Array.from({ length: 100 }, (_, index) => `${index}:${"y".repeat(MAX_SAVED_ENTRY_CHARS - 10)}`);
    const kept = withSavedEntry(large, "last");
    expect(Buffer.byteLength(JSON.stringify({ version: 1, entries: kept })) + 1).toBeLessThanOrEqual(MAX_SAVED_HISTORY_BYTES);
    expect(kept.at(-1)).toBe("last");
    expect(kept.length).toBeLessThan(large.length);
    // The oldest went first.
    expect(kept[0]?.startsWith(`${100 - kept.length + 1}:`)).toBe(true);
  });

  it("reports a failed save once and keeps going", async () => {
    const { dir, file } = podDataDir();
    const errors: string[] = [];
    // A directory where the file should be: every write fails.
    fs.mkdirSync(file);
    const history = new InputHistoryFile(file, (message) => errors.push(message));
    await history.append("one");
    await history.append("two");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^input history not saved: /);
    expect(fs.readdirSync(dir)).toEqual([INPUT_HISTORY_FILE]);
  });
});
