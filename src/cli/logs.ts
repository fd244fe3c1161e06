/** `podd logs <pod>`: a pod's pino log, pretty-printed by pino-pretty (or raw with --json). */
import fs from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { prettyFactory } from "pino-pretty";
import { podPaths } from "../config/paths.js";
import { CliError, notRunningMessage, poddPaths } from "./targets.js";

/**
 * One log line as printed: `--json` keeps it as it is; otherwise pino-pretty's one-line form
 * `[HH:MM:ss.l] LEVEL (pid): message {fields}` (colours on a terminal). A line that is not JSON
 * is printed as it is.
 */
function lineFormatter(json: boolean): (line: string) => string {
  if (json) return (line) => `${line}\n`;
  const pretty = prettyFactory({
    colorize: Boolean(process.stdout.isTTY),
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "hostname,pod",
    singleLine: true,
  });
  return (line) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return `${line}\n`;
    }
    if (record === null || typeof record !== "object") return `${line}\n`;
    const text = pretty(record);
    return text.endsWith("\n") ? text : `${text}\n`;
  };
}

/**
 * `podd logs <pod> [-n N] [-f] [--json]`: print `<home>/pods/<pod>/pod.log` (the pod may be
 * running or stopped), the last N lines with `-n`; `--follow` then prints lines as they are
 * appended (whole lines only; a truncated file is read again from its start) until SIGINT.
 * Throws a CliError: exit 2 for an invalid name, 1 for an unknown pod or a pod without a log.
 */
export async function logsCommand(name: string, options: { follow?: boolean; lines?: number; json?: boolean }): Promise<void> {
  let logFile: string;
  let dataDir: string;
  try {
    ({ logFile, dataDir } = podPaths(poddPaths(), name));
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  if (!fs.existsSync(dataDir)) throw new CliError(notRunningMessage(name));
  if (!fs.existsSync(logFile)) throw new CliError(`no log for pod ${name} at ${logFile}`);
  const format = lineFormatter(options.json ?? false);
  const text = fs.readFileSync(logFile, "utf8");
  const complete = text.endsWith("\n") || text === "" ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  const lines = complete.split("\n").filter((line) => line !== "");
  process.stdout.write(lines.slice(-(options.lines ?? lines.length)).map(format).join(""));
  if (!options.follow) return;
  let offset = Buffer.byteLength(complete);
  let partial = "";
  // A UTF-8 character split between two reads is held back until it is whole.
  let decoder = new StringDecoder("utf8");
  await new Promise<void>((resolve) => {
    const readNew = (): void => {
      const size = fs.statSync(logFile).size;
      if (size < offset) {
        offset = 0;
        partial = "";
        decoder = new StringDecoder("utf8");
      }
      if (size === offset) return;
      const fd = fs.openSync(logFile, "r");
      const buffer = Buffer.alloc(size - offset);
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      fs.closeSync(fd);
      offset = size;
      const chunk = partial + decoder.write(buffer);
      const end = chunk.lastIndexOf("\n");
      partial = chunk.slice(end + 1);
      if (end >= 0) process.stdout.write(chunk.slice(0, end).split("\n").filter((line) => line !== "").map(format).join(""));
    };
    const watcher = fs.watch(logFile, readNew);
    readNew();
    process.once("SIGINT", () => {
      watcher.close();
      resolve();
    });
  });
}
