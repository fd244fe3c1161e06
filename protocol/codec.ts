/**
 * JSON-lines framing: a bounded, resyncing line decoder and the line encoder.
 *
 * Framing (wire-protocol.md): one JSON object per line, UTF-8, terminated by `\n`; blank
 * lines are skipped; a writer never splits an object over lines. Lines are split on the
 * byte 0x0A only (never on U+2028/U+2029, unlike node:readline), so a multi-byte UTF-8
 * character can never be cut. Nothing is buffered without bound: a line longer than
 * `maxLineBytes` is reported once, as soon as the cap is passed, and its remaining bytes
 * are skipped up to the next newline (resync). We do not use the `ndjson` package here:
 * its parse cost grows quadratically with line length and it has no resync
 * (ecosystem-notes.md).
 */
import type { z } from "zod";
import { Method, RequestId } from "./method.js";
import { Event } from "./event.js";

/** Default inbound line cap: 8 MiB (wire-protocol.md). */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

const NEWLINE = 0x0a;

export type DecodedLine =
  | { kind: "line"; text: string }
  | { kind: "too_long"; limitBytes: number; seenBytes: number };

export class LineDecoder {
  readonly maxLineBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while skipping the rest of an over-long line. */
  private discarding = false;

  constructor(options: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Feed bytes; returns the complete lines (and over-long-line reports) they finish, in order. */
  push(chunk: Buffer): DecodedLine[] {
    const out: DecodedLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.discarding) {
        if (newline !== -1) this.discarding = false;
      } else if (this.pendingBytes + (end - start) > this.maxLineBytes) {
        out.push({ kind: "too_long", limitBytes: this.maxLineBytes, seenBytes: this.pendingBytes + (end - start) });
        this.pending = [];
        this.pendingBytes = 0;
        this.discarding = newline === -1;
      } else if (newline === -1) {
        this.pending.push(chunk.subarray(start));
        this.pendingBytes += chunk.length - start;
      } else {
        const piece = chunk.subarray(start, end);
        const bytes = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
        this.pending = [];
        this.pendingBytes = 0;
        const text = bytes.toString("utf8");
        if (text.trim() !== "") out.push({ kind: "line", text });
      }
      if (newline === -1) break;
      start = newline + 1;
    }
    return out;
  }

  /** Bytes of an unterminated line held so far (dropped at end of stream: a writer never splits a line). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}

/** Encode one value as a JSON line (with the trailing newline). */
export function encodeLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export type DecodeResult<T> = { ok: true; value: T; id?: RequestId } | { ok: false; message: string; id?: RequestId };

/** Parse one line as a Method. The error message starts with `invalid method:` (the reference's wording). */
export function decodeMethod(line: string): DecodeResult<Method> {
  return decodeWith(Method, line, "method", "invalid method");
}

/** Parse one line as an Event (used by clients). */
export function decodeEvent(line: string): DecodeResult<Event> {
  return decodeWith(Event, line, "event", "invalid event");
}

function decodeWith<T>(schema: z.ZodType<T>, line: string, tag: string, prefix: string): DecodeResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, message: `${prefix}: not JSON (${(error as Error).message})` };
  }
  const id = envelopeId(json);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, message: `${prefix}: expected a JSON object`, id };
  }
  const name = (json as Record<string, unknown>)[tag];
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data, id };
  if (typeof name !== "string") return { ok: false, message: `${prefix}: missing "${tag}" name`, id };
  const unknownName = result.error.issues.some((issue) => issue.path.length === 1 && issue.path[0] === tag);
  if (unknownName) return { ok: false, message: `${prefix}: unknown ${tag} "${name.slice(0, 64)}"`, id };
  return { ok: false, message: `${prefix}: ${name}: ${describeIssues(result.error)}`, id };
}

/** The envelope `id` when it is a valid RequestId, so even a refused line's error can carry its `reply_to`. */
function envelopeId(json: unknown): RequestId | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const parsed = RequestId.safeParse((json as Record<string, unknown>).id);
  return parsed.success ? parsed.data : undefined;
}

/** A short, readable list of zod issues: `params.input[0].content: expected string, received number`. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => describeIssue(issue, []));
  if (error.issues.length > max) parts.push(`(+${error.issues.length - max} more)`);
  return parts.join("; ");
}

/** Describe one issue; for a union, the first branch's issues (the known shapes come first in every union here). */
function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[]): string {
  const path = [...prefix, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors[0]?.[0]) return describeIssue(issue.errors[0][0], path);
  const text = path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("").replace(/^\./, "");
  return text === "" ? issue.message : `${text}: ${issue.message}`;
}
