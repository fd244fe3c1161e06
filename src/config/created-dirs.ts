/**
 * Undoing the directories a failed start created (`podd start`, the pod process): note what
 * `mkdir -p` is about to create, and remove just that if the pod never became ready, so a
 * failed start leaves nothing it did not find. Touches only the dirs named.
 */
import fs from "node:fs";
import path from "node:path";

/**
 * `dir` and each ancestor up to (not including) the first that exists: what `mkdir -p dir` would
 * create, deepest first. A symlink counts as existing even when it dangles, so a failed start
 * never removes a link it found (src/config/private-dir.ts refuses it).
 */
export function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let current = dir; !entryExists(current); current = path.dirname(current)) {
    missing.push(current);
    if (path.dirname(current) === current) break;
  }
  return missing;
}

/** Undo `missingDirs`: the deepest dir with what is in it, then each ancestor while empty. Never throws. */
export function removeDirs(dirs: string[]): void {
  dirs.forEach((dir, index) => {
    try {
      if (index === 0) fs.rmSync(dir, { recursive: true, force: true });
      else fs.rmdirSync(dir);
    } catch {
      // Not empty (another pod uses it) or already gone.
    }
  });
}

/** Whether anything (a dangling symlink too) is at `file`: lstat, never following a link. */
function entryExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
