/**
 * podd's private directories: the runtime dir (`<runtime>/`) and each pod's (`<runtime>/<name>/`),
 * and below PODD_HOME the dirs a pod creates, `pods/<name>/` and `sessions/<id>/`. Each must be
 * a real directory (a symlink is refused, never followed), owned by this process's user, with no
 * group or other permission bits (like ssh with ~/.ssh): a dir someone else made, or may change,
 * could hold a socket, metadata or a session log that is not the user's. They are created 0700.
 *
 * The check is `lstat` of the dir itself. It holds as long as the dir's parent lets no other
 * user rename or replace entries — true of a 0700 parent podd made, of the user's own home,
 * and of a sticky dir like /tmp (only an entry's owner may rename it); podd does not walk up
 * to check every ancestor. Throws PoddError(invalid_request) with a message that names the dir,
 * what is wrong and what to do. Creates only the dirs named (and their missing parents, 0700).
 */
import fs from "node:fs";
import path from "node:path";
import { PoddError } from "../errors.js";

export interface PrivateDirKind {
  /** What the dir is, for messages: `runtime dir`, `pod data dir`, `session dir`. */
  label: string;
  /** How to use another dir instead, for messages: `set PODD_RUNTIME_DIR`. */
  elsewhere: string;
}

export const RUNTIME_DIR: PrivateDirKind = { label: "runtime dir", elsewhere: "or set PODD_RUNTIME_DIR to a dir of your own" };
export const POD_RUNTIME_DIR: PrivateDirKind = { label: "pod runtime dir", elsewhere: "or set PODD_RUNTIME_DIR to a dir of your own" };
export const POD_DATA_DIR: PrivateDirKind = { label: "pod data dir", elsewhere: "or set PODD_HOME to a dir of your own" };
export const SESSION_DIR: PrivateDirKind = { label: "session dir", elsewhere: "or set PODD_HOME to a dir of your own" };

/** `0755` for a mode's permission bits. */
function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * Check `dir` without creating it: returns false when nothing is there; throws when it is a
 * symlink, not a directory, owned by another user or open to group or others.
 */
export function checkPrivateDir(dir: string, kind: PrivateDirKind): boolean {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new PoddError("invalid_request", `cannot use ${kind.label} ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (stats.isSymbolicLink()) {
    let target = "";
    try {
      target = ` (to ${fs.readlinkSync(dir)})`;
    } catch {
      // Gone meanwhile: the message still holds.
    }
    throw new PoddError(
      "invalid_request",
      `${kind.label} ${dir} is a symlink${target}; podd does not follow symlinks for its own dirs: remove it if it is yours, ${kind.elsewhere}`,
    );
  }
  if (!stats.isDirectory()) {
    throw new PoddError("invalid_request", `${kind.label} ${dir} is not a directory; remove it if it is yours, ${kind.elsewhere}`);
  }
  const uid = process.geteuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new PoddError(
      "invalid_request",
      `${kind.label} ${dir} is owned by uid ${stats.uid}, not by you (uid ${uid}); podd uses only dirs of its own user: remove it, ${kind.elsewhere}`,
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    throw new PoddError(
      "invalid_request",
      `${kind.label} ${dir} has mode ${octal(stats.mode)}: its group or others may use it, and podd keeps its dirs private (0700): chmod 700 ${dir} if it is yours, ${kind.elsewhere}`,
    );
  }
  return true;
}

/** How often ensurePrivateDir makes a parent again that another process removed meanwhile. */
const MKDIR_ATTEMPTS = 5;

/**
 * Make `dir` (0700; missing parents too, 0700) unless it exists, then check it (checkPrivateDir).
 * A dir that another process creates at the same moment is checked like one found. A parent that
 * another process removes at the same moment (a failed `podd start` undoing the `<home>/pods` it
 * created, while this one starts another pod: the stress run caught it) is made again.
 */
export function ensurePrivateDir(dir: string, kind: PrivateDirKind): void {
  if (checkPrivateDir(dir, kind)) return;
  for (let attempt = 1; ; attempt += 1) {
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") break;
      if (code !== "ENOENT" || attempt >= MKDIR_ATTEMPTS) throw error;
    }
  }
  checkPrivateDir(dir, kind);
}
