/** Reading a pod's pino log (`<home>/pods/<name>/pod.log`) in tests: waits follow the file (fs.watch), never sleeps. */
import fs from "node:fs";
import path from "node:path";

/** The fields of a pod log line that tests look at. */
export interface PodLogLine {
  time: number;
  msg: string;
  report?: string;
  report_id?: string;
  attempt?: number;
  attempts?: number;
  acked?: boolean;
  err?: { code?: string };
}

/** The log file of pod `name` under PODD_HOME `home`. */
export function podLogFile(home: string, name: string): string {
  return path.join(home, "pods", name, "pod.log");
}

/** The complete lines of a pod log so far (a line still being written is left out). */
export function readPodLog(file: string): PodLogLine[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return text.split("\n").flatMap((raw) => {
    if (!raw.trim()) return [];
    try {
      return [JSON.parse(raw) as PodLogLine];
    } catch {
      return []; // a line still being written
    }
  });
}

/** Resolves with the first line of a pod log that `match` accepts (checked now and on every change in its directory). */
export function waitForLogLine(file: string, match: (line: PodLogLine) => boolean, timeoutMs = 15_000): Promise<PodLogLine> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const line = readPodLog(file).find(match);
      if (line) done(undefined, line);
    };
    const watcher = fs.watch(path.dirname(file), check);
    const timer = setTimeout(() => done(new Error(`no matching line in ${file} within ${timeoutMs} ms`)), timeoutMs);
    function done(error: Error | undefined, line?: PodLogLine): void {
      clearTimeout(timer);
      watcher.close();
      if (error || !line) reject(error ?? new Error("no line"));
      else resolve(line);
    }
    check();
  });
}

/** Resolves with the lines of a pod log that `match` accepts once there are at least `count` of them. */
export async function waitForLogLines(file: string, match: (line: PodLogLine) => boolean, count: number, timeoutMs = 15_000): Promise<PodLogLine[]> {
  await waitForLogLine(file, () => readPodLog(file).filter(match).length >= count, timeoutMs);
  return readPodLog(file).filter(match);
}
