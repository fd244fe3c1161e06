/** Waiting on the file system without sleeps: fs.watch on the directory, bounded by a timeout. */
import fs from "node:fs";
import path from "node:path";

/** Resolves once `file` exists (write it with a rename so it is complete when it appears). */
export function waitForFile(file: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = fs.watch(path.dirname(file));
    const done = (error?: Error): void => {
      clearTimeout(timer);
      watcher.close();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${file} did not appear within ${timeoutMs} ms`)), timeoutMs);
    watcher.on("change", () => {
      if (fs.existsSync(file)) done();
    });
    if (fs.existsSync(file)) done();
  });
}

/**
 * Resolves with `file`'s text once `accept` takes it (checked now and on every change in its
 * directory; write the file with a rename so it is complete when read), bounded by a timeout.
 */
export function waitForFileText(file: string, accept: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const watcher = fs.watch(path.dirname(file));
    const read = (): string | undefined => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch {
        return undefined;
      }
    };
    const done = (error: Error | undefined, text?: string): void => {
      clearTimeout(timer);
      watcher.close();
      if (error) reject(error);
      else resolve(text ?? "");
    };
    const check = (): void => {
      const text = read();
      if (text !== undefined && accept(text)) done(undefined, text);
    };
    const timer = setTimeout(() => done(new Error(`${file} did not reach the expected content within ${timeoutMs} ms; it holds ${JSON.stringify(read())}`)), timeoutMs);
    watcher.on("change", check);
    check();
  });
}

/** The pid written in `file` (a positive integer, else an Error). */
export function readPid(file: string): number {
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid in ${file}`);
  return pid;
}
