/**
 * Test harness for acting as a second Unix user: runs a small Node script as `nobody`
 * (uid/gid 65534) through child_process's `uid`/`gid` options, which need root. Root-only tests
 * use `describeAsRoot` / `itAsRoot`, which skip — saying why on stderr — when the tests do not
 * run as root. Also walks a tree the way the other user would be asked about it.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "vitest";

/** `nobody` on Debian and most Linux systems. */
export const OTHER_UID = 65534;
export const OTHER_GID = 65534;

export const isRoot = process.getuid?.() === 0;

/** Why root-only tests skip, or undefined when they run. */
export const ROOT_ONLY_REASON = isRoot ? undefined : "these tests act as a second user (uid 65534) and need root; they run in CI, which runs as root";

let reasonPrinted = false;

function printReason(title: string): void {
  if (ROOT_ONLY_REASON === undefined || reasonPrinted) return;
  reasonPrinted = true;
  process.stderr.write(`skipped (root only): ${title}: ${ROOT_ONLY_REASON}\n`);
}

/** `it`, skipped with a printed reason unless the tests run as root. */
export function itAsRoot(title: string, test: () => Promise<void>): void {
  if (ROOT_ONLY_REASON !== undefined) printReason(title);
  it.skipIf(ROOT_ONLY_REASON !== undefined)(title, test);
}

/** `describe`, skipped with a printed reason unless the tests run as root. */
export function describeAsRoot(title: string, body: () => void): void {
  if (ROOT_ONLY_REASON !== undefined) printReason(title);
  describe.skipIf(ROOT_ONLY_REASON !== undefined)(title, body);
}

/**
 * Run `script` (an ES module's text) with `node` as uid/gid 65534, cwd `/`, and `input` as
 * JSON in `process.argv[1]`; resolves with the JSON the script printed on stdout. Bounded at
 * 10 s; rejects with the script's stderr if it fails.
 */
export function runAsOtherUser<T>(script: string, input: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(input)],
      { uid: OTHER_UID, gid: OTHER_GID, cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeout: 10_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`script as uid ${OTHER_UID} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
  });
}

export interface TreeEntry {
  path: string;
  kind: "dir" | "file" | "socket" | "symlink" | "other";
  /** Permission bits, e.g. 0o600. */
  mode: number;
  uid: number;
}

/** Everything under (and including) `root`, by lstat, parents before children. */
export function walkTree(root: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  const visit = (file: string): void => {
    const stats = fs.lstatSync(file);
    const kind = stats.isDirectory() ? "dir" : stats.isFile() ? "file" : stats.isSocket() ? "socket" : stats.isSymbolicLink() ? "symlink" : "other";
    entries.push({ path: file, kind, mode: stats.mode & 0o7777, uid: stats.uid });
    if (kind === "dir") for (const name of fs.readdirSync(file).sort()) visit(path.join(file, name));
  };
  visit(root);
  return entries;
}
