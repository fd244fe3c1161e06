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
import { Method, METHOD_NAMES, RequestId } from "./method.js";
import { Event, EVENT_NAMES } from "./event.js";
import { MAX_JSON_DEPTH, scanJsonStructure } from "./json-structure.js";

/** Default inbound line cap: 8 MiB (wire-protocol.md). */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * One decoded line, or an over-long line's report. `invalidUtf8Offset` is set (only by a
 * decoder made with `checkUtf8`) on a line whose bytes are not valid UTF-8: the byte offset of
 * its first bad sequence; `text` is then the lossy decoding (U+FFFD for each bad sequence).
 */
export type DecodedLine =
  | { kind: "line"; text: string; invalidUtf8Offset?: number }
  | { kind: "too_long"; limitBytes: number; seenBytes: number };

export class LineDecoder {
  readonly maxLineBytes: number;
  private readonly checkUtf8: boolean;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while skipping the rest of an over-long line. */
  private discarding = false;

  /**
   * `maxLineBytes`: the line cap (default 8 MiB), newline excluded. `checkUtf8`: mark lines that
   * are not valid UTF-8 (`invalidUtf8Offset`) instead of decoding them silently with U+FFFD, so a
   * server can refuse them (the pod does; clients read what a pod wrote and need not check).
   */
  constructor(options: { maxLineBytes?: number; checkUtf8?: boolean } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.checkUtf8 = options.checkUtf8 ?? false;
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
        // Decoding puts U+FFFD for every bad sequence; only a line that has one can be invalid (a valid one may hold U+FFFD itself).
        const invalidAt = this.checkUtf8 && text.includes("\ufffd") ? firstInvalidUtf8Offset(bytes) : bytes.length;
        if (invalidAt < bytes.length) out.push({ kind: "line", text, invalidUtf8Offset: invalidAt });
        else if (text.trim() !== "") out.push({ kind: "line", text });
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

/**
 * Byte offset of the first sequence in `bytes` that is not well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or `bytes.length` if there is none.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  for (let at = 0; at < bytes.length; ) {
    const lead = bytes[at] as number;
    if (lead < 0x80) {
      at += 1;
      continue;
    }
    // Length and the allowed range of the second byte, by lead byte (RFC 3629, section 4).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return at;
    if (at + length > bytes.length) return at;
    const second = bytes[at + 1] as number;
    if (second < low || second > high) return at;
    for (let next = 2; next < length; next += 1) {
      const byte = bytes[at + next] as number;
      if (byte < 0x80 || byte > 0xbf) return at;
    }
    at += length;
  }
  return bytes.length;
}

/** Encode one value as a JSON line (with the trailing newline). */
export function encodeLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export type DecodeResult<T> = { ok: true; value: T; id?: RequestId } | { ok: false; message: string; id?: RequestId };

/**
 * Parse one line as a Method. The error message starts with `invalid method:` (the reference's
 * wording). Beyond `JSON.parse`, a method line is refused when its arrays and objects nest
 * deeper than MAX_JSON_DEPTH (`JSON nested deeper than 128 levels`, checked before parsing) or
 * an object repeats a key (`duplicate key "<key>"`: the reference refuses a repeated field,
 * `JSON.parse` would silently keep the last); see protocol/json-structure.ts.
 */
export function decodeMethod(line: string): DecodeResult<Method> {
  return decodeWith(METHOD_DECODING, line);
}

/** Parse one line as an Event (used by clients; a pod's own lines are not checked for depth or duplicate keys). */
export function decodeEvent(line: string): DecodeResult<Event> {
  return decodeWith(EVENT_DECODING, line);
}

/** How one kind of line is decoded: its schema, its tag field and the tag's known values, the error prefix. */
interface Decoding<T> {
  schema: z.ZodType<T>;
  tag: string;
  tags: ReadonlySet<string>;
  prefix: string;
  /** Also refuse deep nesting and duplicate keys (inbound methods). */
  strict: boolean;
}

const METHOD_DECODING: Decoding<Method> = { schema: Method, tag: "method", tags: new Set(METHOD_NAMES), prefix: "invalid method", strict: true };
const EVENT_DECODING: Decoding<Event> = { schema: Event, tag: "event", tags: new Set(EVENT_NAMES), prefix: "invalid event", strict: false };

/**
 * A missing or unknown tag is refused before the schema runs: a failed safeParse builds a
 * ZodError (an Error, with a stack trace), which made a flood of such lines cost ~30 µs each.
 */
function decodeWith<T>(decoding: Decoding<T>, line: string): DecodeResult<T> {
  const { schema, tag, tags, prefix } = decoding;
  const structure = decoding.strict ? scanJsonStructure(line) : undefined;
  if (structure?.tooDeep) return { ok: false, message: `${prefix}: JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, message: `${prefix}: not JSON (${(error as Error).message})` };
  }
  if (structure?.duplicateKey !== undefined) {
    // A repeated top-level "id" leaves no id to answer to.
    const id = structure.duplicateKey === "id" && structure.duplicateDepth === 1 ? undefined : envelopeId(json);
    return { ok: false, message: `${prefix}: duplicate key ${JSON.stringify(structure.duplicateKey.slice(0, 64))} in one object`, id };
  }
  const id = envelopeId(json);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, message: `${prefix}: expected a JSON object`, id };
  }
  const name = Object.hasOwn(json, tag) ? (json as Record<string, unknown>)[tag] : undefined;
  if (typeof name !== "string") return { ok: false, message: `${prefix}: missing "${tag}" name`, id };
  if (!tags.has(name)) return { ok: false, message: `${prefix}: unknown ${tag} "${name.slice(0, 64)}"`, id };
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data, id };
  return { ok: false, message: `${prefix}: ${name}: ${describeIssues(result.error)}`, id };
}

/** The envelope `id` when it is a valid RequestId, so even a refused line's error can carry its `reply_to`. */
function envelopeId(json: unknown): RequestId | undefined {
  if (typeof json !== "object" || json === null || !Object.hasOwn(json, "id")) return undefined;
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
