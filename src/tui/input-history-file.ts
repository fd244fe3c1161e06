/**
 * The TUI's input history, saved per pod (issue 16): what was sent from the composer (messages and
 * `:` commands, pastes expanded) in `<PODD_HOME>/pods/<name>/input-history.json`, so ↑ brings back
 * last session's inputs after a detach. The file is the TUI's own: the pod never reads it.
 *
 * Shape: `{"version":1,"entries":["oldest", …, "newest"]}`. Rules:
 * - private: written 0600 (the pod's data dir is 0700); never created when the data dir is missing
 *   (a pod of another PODD_HOME, attached by `--socket`, gets no stray `pods/<name>/`);
 * - atomic: write-file-atomic (temp file + rename), so a crash leaves the old or the new file;
 * - bounded: at most MAX_HISTORY_ENTRIES entries, an entry over MAX_SAVED_ENTRY_CHARS is not saved
 *   (a cut entry recalled and sent would be wrong), the oldest go first past MAX_SAVED_HISTORY_BYTES;
 * - forgiving: a missing, unreadable, oversized or corrupt file reads as no history (the next save
 *   replaces it); a failed save is reported once through `onError` and never stops the TUI;
 * - shared: each save re-reads the file and appends, so two TUIs on one pod both keep their inputs.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { podPaths, resolvePaths } from "../config/paths.js";
import { MAX_HISTORY_ENTRIES } from "./composer-state.js";

export const INPUT_HISTORY_FILE = "input-history.json";
/** Longest entry saved, UTF-16 units (a long paste is kept for this session only). */
export const MAX_SAVED_ENTRY_CHARS = 16_384;
/** Largest file written, bytes (and largest read: a bigger file is not ours to trust). */
export const MAX_SAVED_HISTORY_BYTES = 1_048_576;

const HistoryFileShape = z.object({ version: z.literal(1), entries: z.array(z.string()) });

/** Where `podName`'s history lives under `env`'s PODD_HOME; undefined for a name podd would refuse. */
export function inputHistoryPath(podName: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return path.join(podPaths(resolvePaths(env), podName).dataDir, INPUT_HISTORY_FILE);
  } catch {
    return undefined;
  }
}

/** The saved entries, oldest first; [] when the file is missing, too big, unreadable or not of this shape. */
export function readInputHistory(file: string): string[] {
  try {
    if (fs.statSync(file).size > MAX_SAVED_HISTORY_BYTES) return [];
    const parsed = HistoryFileShape.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    return parsed.success ? parsed.data.entries.filter((entry) => entry.trim() !== "").slice(-MAX_HISTORY_ENTRIES) : [];
  } catch {
    return [];
  }
}

/** `entries` + `text` as saved: no repeat of the newest, at most MAX_HISTORY_ENTRIES, at most MAX_SAVED_HISTORY_BYTES serialised. */
export function withSavedEntry(entries: readonly string[], text: string): string[] {
  if (text.trim() === "" || text.length > MAX_SAVED_ENTRY_CHARS) return [...entries];
  const next = entries.at(-1) === text ? [...entries] : [...entries, text];
  let kept = next.slice(-MAX_HISTORY_ENTRIES);
  // `{"version":1,"entries":[…]}\n`: each entry costs its JSON string plus a comma.
  const overhead = 30;
  let bytes = overhead + kept.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)) + 1, 0);
  while (bytes > MAX_SAVED_HISTORY_BYTES && kept.length > 1) {
    bytes -= Buffer.byteLength(JSON.stringify(kept[0])) + 1;
    kept = kept.slice(1);
  }
  return kept;
}

/** One pod's history file: read once, appended to in order (saves are serialised). */
export class InputHistoryFile {
  private saving: Promise<void> = Promise.resolve();
  private reported = false;

  constructor(
    readonly file: string,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  read(): string[] {
    return readInputHistory(this.file);
  }

  /** Append `text` (after the saves before it); resolves when written or given up on. */
  append(text: string): Promise<void> {
    this.saving = this.saving.then(() => this.write(text));
    return this.saving;
  }

  private async write(text: string): Promise<void> {
    // The pod's data dir is the pod's to create; without it there is nothing to save into.
    if (!fs.existsSync(path.dirname(this.file))) return;
    const current = readInputHistory(this.file);
    const entries = withSavedEntry(current, text);
    if (entries.length === current.length && entries.every((entry, index) => entry === current[index])) return;
    try {
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, entries })}\n`, { mode: 0o600 });
    } catch (error) {
      if (this.reported) return;
      this.reported = true;
      this.onError(`input history not saved: ${(error as Error).message}`);
    }
  }
}
