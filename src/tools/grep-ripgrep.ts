/**
 * The grep tool's ripgrep engine: `@vscode/ripgrep`'s binary (1.18+ ships it in a per-platform
 * package; imported dynamically, so a missing package only means the JS fallback), run with
 * `--json` and the flags that make it follow the rules in grep-search.ts. rg is killed once
 * enough matches are in, on abort, and after GREP_TIMEOUT_MS.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ToolFailure } from "./define-tool.js";
import {
  finishResult,
  GREP_MAX_FILE_BYTES,
  GREP_SKIPPED_DIRS,
  GREP_TIMEOUT_MS,
  lineText,
  stopError,
  type GrepMatch,
  type GrepQuery,
  type GrepResult,
  type SearchEngine,
} from "./grep-search.js";

/** Most stderr bytes kept for an error message. */
const RG_MAX_STDERR_BYTES = 4 * 1024;

/** ripgrep could not be started (missing or not executable binary): the caller falls back. */
export class RipgrepUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RipgrepUnavailableError";
  }
}

let ripgrepPath: Promise<string | undefined> | undefined;

/** The rg binary's path, or undefined when `@vscode/ripgrep` or its platform package is missing. */
export function findRipgrep(): Promise<string | undefined> {
  ripgrepPath ??= import("@vscode/ripgrep").then(
    (module) => (fs.existsSync(module.rgPath) ? module.rgPath : undefined),
    () => undefined,
  );
  return ripgrepPath;
}

/** `{"text": …}` or, for bytes that are not UTF-8, `{"bytes": <base64>}` (rg's JSON). */
interface RgData {
  text?: string;
  bytes?: string;
}

interface RgMatchMessage {
  type: "match";
  data: { path: RgData; lines: RgData; line_number: number };
}

function dataText(data: RgData): string {
  return data.text ?? Buffer.from(data.bytes ?? "", "base64").toString("utf8");
}

export class RipgrepEngine implements SearchEngine {
  private readonly rgPath: string;

  constructor(rgPath: string) {
    this.rgPath = rgPath;
  }

  search(query: GrepQuery, signal: AbortSignal): Promise<GrepResult> {
    if (signal.aborted) return Promise.reject(stopError(signal));
    const cwd = query.rootIsFile ? path.dirname(query.root) : query.root;
    const target = query.rootIsFile ? path.basename(query.root) : ".";
    const args = ["--json", "--no-config", "--no-ignore", "--hidden", "--sort", "path", "--max-filesize", String(GREP_MAX_FILE_BYTES)];
    args.push(query.caseInsensitive ? "--ignore-case" : "--case-sensitive");
    if (query.glob) args.push("--glob", query.glob);
    // Last, so that they win over the caller's glob.
    for (const dir of GREP_SKIPPED_DIRS) args.push("--glob", `!${dir}`);
    args.push("--regexp", query.pattern, "--", target);

    return new Promise<GrepResult>((resolve, reject) => {
      const child = spawn(this.rgPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: query.env });
      const matches: GrepMatch[] = [];
      let sawMore = false;
      let started = false;
      let stopped: "abort" | "timeout" | undefined;
      let pending: Buffer = Buffer.alloc(0);
      let stderr = "";

      const stop = (): void => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      };
      const onAbort = (): void => {
        stopped ??= "abort";
        stop();
      };
      const timer = setTimeout(() => {
        stopped ??= "timeout";
        stop();
      }, GREP_TIMEOUT_MS);
      signal.addEventListener("abort", onAbort, { once: true });

      const handleLine = (line: Buffer): void => {
        if (sawMore || line.length === 0) return;
        let message: { type?: string };
        try {
          message = JSON.parse(line.toString("utf8")) as { type?: string };
        } catch {
          return;
        }
        if (message.type !== "match") return;
        const data = (message as RgMatchMessage).data;
        const file = path.resolve(cwd, dataText(data.path));
        if (!query.include(file)) return;
        matches.push({ file, line: data.line_number, text: lineText(dataText(data.lines).replace(/\n$/, "")) });
        if (matches.length > query.maxMatches) {
          sawMore = true;
          stop();
        }
      };

      child.stdout.on("data", (chunk: Buffer) => {
        let buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (let newline = buffer.indexOf(0x0a); newline !== -1; newline = buffer.indexOf(0x0a)) {
          handleLine(buffer.subarray(0, newline));
          buffer = buffer.subarray(newline + 1);
        }
        pending = buffer;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        if (stderr.length < RG_MAX_STDERR_BYTES) stderr += chunk;
      });
      child.once("spawn", () => {
        started = true;
      });
      child.once("error", (error) => {
        if (started) return;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        reject(new RipgrepUnavailableError(`cannot start ripgrep (${this.rgPath}): ${error.message}`));
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (!started) return;
        if (pending.length > 0) handleLine(pending);
        if (stopped) return reject(stopError(signal));
        // Exit 2 is an error: a bad pattern or glob fails the call; files that could not be read
        // (`rg: <path>: … (os error 13)`) are skipped, as the fallback skips them.
        if (code === 2 && matches.length === 0 && !onlyFileErrors(stderr)) {
          return reject(new ToolFailure(`grep: ${stderr.replace(/^rg: /, "").trim() || "ripgrep failed"}`));
        }
        resolve(finishResult(matches, query, sawMore));
      });
    });
  }
}

function onlyFileErrors(stderr: string): boolean {
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  return lines.length > 0 && lines.every((line) => /\(os error \d+\)$/.test(line));
}
