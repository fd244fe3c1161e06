/**
 * LineDecoder and encodeLine: JSON-lines framing (wire-protocol.md, Framing).
 *
 * Lines split on the byte 0x0A only, whatever the chunking; blank lines are skipped; a line
 * over the cap is reported once, as soon as the cap is passed, and the decoder resyncs at
 * the next newline; nothing is buffered beyond the cap.
 */
import { describe, expect, it } from "vitest";
import { isUtf8 } from "node:buffer";
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, decodeMethod, encodeLine, firstInvalidUtf8Offset, type DecodedLine } from "../../protocol/codec.js";
import { MAX_JSON_DEPTH, scanJsonStructure } from "../../protocol/json-structure.js";
import { seededRandom } from "../helpers/seeded-random.js";

const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");

function pushAll(decoder: LineDecoder, chunks: readonly Buffer[]): DecodedLine[] {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

function line(text: string): DecodedLine {
  return { kind: "line", text };
}

// Multi-byte characters of every UTF-8 length: é (2 bytes), 中 (3), 😀 (4), U+2028/U+2029 (3 each).
const MIXED_LINES = [
  '{"method":"run","params":{"input":[{"kind":"text","content":"é中😀"}]}}',
  '{"method":"notify","params":{"message":"a\u2028b\u2029c"}}',
  '{"method":"resume"}',
];
const MIXED_STREAM = utf8(`${MIXED_LINES[0]}\n\n${MIXED_LINES[1]}\n  \n${MIXED_LINES[2]}\n`);
const MIXED_EXPECTED = MIXED_LINES.map(line);

describe("LineDecoder: splitting", () => {
  it("returns every complete line of a chunk, in order", () => {
    expect(new LineDecoder().push(utf8('{"a":1}\n{"b":2}\n{"c":3}\n'))).toEqual([line('{"a":1}'), line('{"b":2}'), line('{"c":3}')]);
  });

  it("holds an unterminated line until its newline arrives", () => {
    const decoder = new LineDecoder();
    expect(decoder.push(utf8('{"method":'))).toEqual([]);
    expect(decoder.push(utf8('"resume"'))).toEqual([]);
    expect(decoder.push(utf8("}\n"))).toEqual([line('{"method":"resume"}')]);
  });

  it("gives the same lines for a stream split in two at every byte offset, even inside a multi-byte character", () => {
    for (let offset = 0; offset <= MIXED_STREAM.length; offset += 1) {
      const decoded = pushAll(new LineDecoder(), [MIXED_STREAM.subarray(0, offset), MIXED_STREAM.subarray(offset)]);
      expect(decoded, `split at ${offset}`).toEqual(MIXED_EXPECTED);
    }
  });

  it("gives the same lines for a stream split in three at every pair of offsets", () => {
    for (let first = 0; first <= MIXED_STREAM.length; first += 1) {
      for (let second = first; second <= MIXED_STREAM.length; second += 1) {
        const chunks = [MIXED_STREAM.subarray(0, first), MIXED_STREAM.subarray(first, second), MIXED_STREAM.subarray(second)];
        const decoded = pushAll(new LineDecoder(), chunks);
        if (JSON.stringify(decoded) !== JSON.stringify(MIXED_EXPECTED)) expect(decoded, `split at ${first} and ${second}`).toEqual(MIXED_EXPECTED);
      }
    }
  });

  it("gives the same lines when fed one byte at a time", () => {
    const bytes = [...MIXED_STREAM].map((byte) => Buffer.from([byte]));
    expect(pushAll(new LineDecoder(), bytes)).toEqual(MIXED_EXPECTED);
  });

  it("does not split a line at U+2028 or U+2029 inside a string", () => {
    const text = '{"method":"notify","params":{"message":"one\u2028two\u2029three"}}';
    const decoded = new LineDecoder().push(utf8(`${text}\n`));
    expect(decoded).toEqual([line(text)]);
    const result = decodeMethod(text);
    expect(result.ok && result.value.method === "notify" && result.value.params.message).toBe("one\u2028two\u2029three");
  });

  it("skips blank and whitespace-only lines", () => {
    const decoder = new LineDecoder();
    expect(decoder.push(utf8("\n\n   \n\t\n\r\n"))).toEqual([]);
    expect(decoder.push(utf8('\n{"method":"cancel"}\n \n'))).toEqual([line('{"method":"cancel"}')]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("tolerates CRLF: the trailing carriage return stays in the line and JSON parsing ignores it", () => {
    const decoded = new LineDecoder().push(utf8('{"method":"resume"}\r\n{"method":"cancel","id":"x"}\r\n'));
    expect(decoded).toEqual([line('{"method":"resume"}\r'), line('{"method":"cancel","id":"x"}\r')]);
    const texts = decoded.map((entry) => (entry.kind === "line" ? entry.text : ""));
    expect(texts.map(decodeMethod)).toEqual([
      { ok: true, value: { method: "resume" } },
      { ok: true, value: { method: "cancel", id: "x" }, id: "x" },
    ]);
  });

  it("drops nothing when an empty chunk arrives", () => {
    const decoder = new LineDecoder();
    expect(decoder.push(utf8("{}"))).toEqual([]);
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
    expect(decoder.push(utf8("\n"))).toEqual([line("{}")]);
  });
});

describe("LineDecoder: bufferedBytes", () => {
  it("counts the bytes of the unterminated line held so far", () => {
    const decoder = new LineDecoder();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(utf8('{"a":"é'));
    expect(decoder.bufferedBytes).toBe(8);
    decoder.push(utf8('"}\n{"b"'));
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(utf8(":1}\n"));
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe("LineDecoder: line cap", () => {
  it("uses 8 MiB by default", () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(8 * 1024 * 1024);
    expect(new LineDecoder().maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);
    expect(new LineDecoder({ maxLineBytes: 10 }).maxLineBytes).toBe(10);
  });

  it("accepts a line of exactly the cap and refuses one byte more", () => {
    const decoder = new LineDecoder({ maxLineBytes: 8 });
    expect(decoder.push(utf8('"123456"\n"1234567"\n"ok"\n'))).toEqual([
      line('"123456"'),
      { kind: "too_long", limitBytes: 8, seenBytes: 9 },
      line('"ok"'),
    ]);
  });

  it("reports an over-long line once, as soon as the cap is passed, and resyncs at the next newline", () => {
    const decoder = new LineDecoder({ maxLineBytes: 24 });
    expect(decoder.push(utf8("x".repeat(24)))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(24);
    expect(decoder.push(utf8("x"))).toEqual([{ kind: "too_long", limitBytes: 24, seenBytes: 25 }]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(utf8("x".repeat(100)))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(utf8('{"still":"the long line"}'))).toEqual([]);
    expect(decoder.push(utf8('tail\n{"method":"resume"}\n'))).toEqual([line('{"method":"resume"}')]);
    expect(decoder.push(utf8("y".repeat(24) + "\n"))).toEqual([line("y".repeat(24))]);
  });

  it("reports an over-long line whose newline is in the same chunk and decodes the next line of that chunk", () => {
    const decoder = new LineDecoder({ maxLineBytes: 20 });
    expect(decoder.push(utf8(`${"z".repeat(25)}\n{"method":"cancel"}\n{"method`))).toEqual([
      { kind: "too_long", limitBytes: 20, seenBytes: 25 },
      line('{"method":"cancel"}'),
    ]);
    expect(decoder.push(utf8('":"pause"}\n'))).toEqual([line('{"method":"pause"}')]);
  });

  it("reports two over-long lines in a row once each", () => {
    const decoder = new LineDecoder({ maxLineBytes: 4 });
    const decoded = pushAll(decoder, [utf8("aaaaaa"), utf8("aa\nbbbb"), utf8("bbb\n"), utf8("cc\n")]);
    expect(decoded).toEqual([
      { kind: "too_long", limitBytes: 4, seenBytes: 6 },
      { kind: "too_long", limitBytes: 4, seenBytes: 7 },
      line("cc"),
    ]);
  });

  it("handles an over-long line spanning many chunks without buffering past the cap", () => {
    const maxLineBytes = 4096;
    const chunkBytes = 1000;
    const decoder = new LineDecoder({ maxLineBytes });
    const reports: { chunkIndex: number; entry: DecodedLine }[] = [];
    for (let chunkIndex = 0; chunkIndex < 1000; chunkIndex += 1) {
      for (const entry of decoder.push(Buffer.alloc(chunkBytes, 0x61))) reports.push({ chunkIndex, entry });
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxLineBytes);
    }
    // 5 chunks hold 5000 bytes: the cap (4096) is passed while pushing the fifth (index 4).
    expect(reports).toEqual([{ chunkIndex: 4, entry: { kind: "too_long", limitBytes: maxLineBytes, seenBytes: 5000 } }]);
    expect(decoder.push(utf8('end of the long line\n{"method":"compact"}\n'))).toEqual([line('{"method":"compact"}')]);
  });

  it("counts bytes, not characters, against the cap", () => {
    const decoder = new LineDecoder({ maxLineBytes: 8 });
    // "😀😀" is 2 characters (4 UTF-16 units) but 8 bytes; one more byte passes the cap.
    expect(decoder.push(utf8("😀😀\n😀😀!\n"))).toEqual([line("😀😀"), { kind: "too_long", limitBytes: 8, seenBytes: 9 }]);
  });
});

describe("LineDecoder: random input", () => {
  it("gives one result per non-blank line for 10,000 lines of random bytes in random chunks, and never throws", () => {
    const random = seededRandom(20_240_611);
    const maxLineBytes = 200;
    const lines: Buffer[] = [];
    for (let index = 0; index < 10_000; index += 1) {
      const bytes = Buffer.alloc(Math.floor(random() * 260));
      for (let at = 0; at < bytes.length; at += 1) {
        const byte = Math.floor(random() * 256);
        bytes[at] = byte === 0x0a ? 0x0b : byte;
      }
      lines.push(bytes);
    }
    const expected: DecodedLine[] = lines.flatMap((bytes): DecodedLine[] => {
      if (bytes.length > maxLineBytes) return [{ kind: "too_long", limitBytes: maxLineBytes, seenBytes: bytes.length }];
      const text = bytes.toString("utf8");
      return text.trim() === "" ? [] : [{ kind: "line", text }];
    });
    const stream = Buffer.concat(lines.flatMap((bytes) => [bytes, Buffer.from([0x0a])]));

    const decoder = new LineDecoder({ maxLineBytes });
    const decoded: DecodedLine[] = [];
    for (let start = 0; start < stream.length; ) {
      const end = Math.min(stream.length, start + 1 + Math.floor(random() * 700));
      decoded.push(...decoder.push(stream.subarray(start, end)));
      start = end;
    }

    // The cap only reports as soon as it is passed, so an over-long line's seenBytes can be
    // smaller than its length when it arrived over several chunks; compare kinds and texts.
    const shape = (entry: DecodedLine) => (entry.kind === "line" ? entry : { kind: entry.kind, limitBytes: entry.limitBytes });
    expect(decoded.map(shape)).toEqual(expected.map(shape));
    expect(expected.filter((entry) => entry.kind === "too_long").length).toBeGreaterThan(100);
    expect(decoder.bufferedBytes).toBe(0);
    for (const entry of decoded) {
      if (entry.kind === "too_long") {
        expect(entry.seenBytes).toBeGreaterThan(maxLineBytes);
        continue;
      }
      const result = decodeMethod(entry.text);
      expect(result.ok).toBe(false);
      expect(result.ok ? "" : result.message).toMatch(/^invalid method: /);
    }
  });
});

describe("LineDecoder: checkUtf8", () => {
  const bad = (text: string, offset: number): DecodedLine => ({ kind: "line", text, invalidUtf8Offset: offset });

  it("marks a line that is not UTF-8 with the offset of its first bad sequence, and passes valid lines as they are", () => {
    const decoder = new LineDecoder({ checkUtf8: true });
    const stream = Buffer.concat([
      utf8('{"a":"é中😀"}\n'),
      Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), // a byte that is never UTF-8
      Buffer.from([0x61, 0xc3, 0x0a]), // a sequence cut short by the newline
      Buffer.from([0xc0, 0xaf, 0x0a]), // an overlong "/"
      Buffer.from([0x20, 0xed, 0xa0, 0x80, 0x0a]), // a UTF-16 surrogate (U+D800)
      Buffer.from([0xf4, 0x90, 0x80, 0x80, 0x0a]), // above U+10FFFF
      Buffer.from([0x80, 0x0a]), // a lone continuation byte: not blank, though it decodes to U+FFFD alone
      utf8("  \r\n"),
    ]);
    expect(decoder.push(stream)).toEqual([
      line('{"a":"é中😀"}'),
      bad("{\ufffd}", 1),
      bad("a\ufffd", 1),
      bad("\ufffd\ufffd", 0),
      bad(" \ufffd\ufffd\ufffd", 1),
      bad("\ufffd\ufffd\ufffd\ufffd", 0),
      bad("\ufffd", 0),
    ]);
  });

  it("agrees with Node's isUtf8 on 20,000 random byte strings", () => {
    const random = seededRandom(0x0_7f8);
    const disagreements: string[] = [];
    let valid = 0;
    for (let index = 0; index < 20_000; index += 1) {
      const bytes = Buffer.alloc(1 + Math.floor(random() * 12));
      // Mostly bytes that start or continue multi-byte sequences, so most strings are near-misses.
      for (let at = 0; at < bytes.length; at += 1) bytes[at] = random() < 0.2 ? Math.floor(random() * 0x80) : 0x80 + Math.floor(random() * 0x80);
      const offset = firstInvalidUtf8Offset(bytes);
      if (offset === bytes.length) valid += 1;
      // Valid exactly when no bad offset is found; when one is, everything before it is valid.
      if ((offset === bytes.length) !== isUtf8(bytes) || !isUtf8(bytes.subarray(0, offset))) disagreements.push(bytes.toString("hex"));
    }
    expect(disagreements).toEqual([]);
    expect(valid).toBeGreaterThan(100);
  });

  it("takes a valid line that holds U+FFFD itself", () => {
    expect(new LineDecoder({ checkUtf8: true }).push(utf8('{"a":"\ufffd"}\n'))).toEqual([line('{"a":"\ufffd"}')]);
  });

  it("is off by default: clients get the lossy text", () => {
    expect(new LineDecoder().push(Buffer.from([0x61, 0xff, 0x0a]))).toEqual([line("a\ufffd")]);
  });
});

describe("decodeMethod: nesting depth and duplicate keys", () => {
  const nested = (depth: number, inner = "1"): string => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;

  it(`refuses arrays and objects nested deeper than ${MAX_JSON_DEPTH} levels, before parsing`, () => {
    const ok = decodeMethod(`{"method":"notify","params":{"message":"m","extra":${nested(MAX_JSON_DEPTH - 2)}}}`);
    expect(ok).toMatchObject({ ok: true, value: { method: "notify", params: { message: "m" } } });
    const deep = decodeMethod(`{"method":"notify","params":{"message":"m","extra":${nested(MAX_JSON_DEPTH - 1)}}}`);
    expect(deep).toEqual({ ok: false, message: `invalid method: JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
    expect(decodeMethod(nested(100_000))).toEqual({ ok: false, message: `invalid method: JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
    // Brackets inside strings are text, not nesting.
    expect(decodeMethod(JSON.stringify({ method: "notify", params: { message: "[{".repeat(10_000) } }))).toMatchObject({ ok: true });
  });

  it("refuses an object that repeats a key, at any depth and however the key is escaped, and keeps the id when it is not the repeated key", () => {
    expect(decodeMethod('{"method":"notify","params":{"message":"a"},"method":"shutdown","id":"d1"}')).toEqual({
      ok: false,
      message: 'invalid method: duplicate key "method" in one object',
      id: "d1",
    });
    expect(decodeMethod('{"method":"notify","params":{"message":"a","message":"b"}}')).toMatchObject({ ok: false, message: 'invalid method: duplicate key "message" in one object' });
    expect(decodeMethod('{"method":"notify","params":{"message":"a"},"meth\\u006fd":"shutdown"}')).toMatchObject({ ok: false, message: 'invalid method: duplicate key "method" in one object' });
    expect(decodeMethod('{"method":"resume","id":"x","id":"y"}')).toEqual({ ok: false, message: 'invalid method: duplicate key "id" in one object' });
    const inSegment = decodeMethod('{"method":"run","params":{"input":[{"kind":"text","content":"a","kind":"file_ref"}]},"id":7}');
    expect(inSegment).toEqual({ ok: false, message: 'invalid method: duplicate key "kind" in one object', id: 7 });
  });

  it("takes the same key in different objects, keys that only look alike, and quotes and backslashes inside strings", () => {
    const value = {
      method: "run",
      params: { input: [{ kind: "text", content: 'say "kind": \\"x\\" \\' }, { kind: "text", content: "Kind" }, { kind: "paste", id: 1, chars: 1, lines: 1, content: "\\" }] },
      id: "ok",
    };
    const result = decodeMethod(JSON.stringify(value));
    expect(result).toEqual({ ok: true, value, id: "ok" });
    const keys = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`k${index}`, index]));
    expect(scanJsonStructure(JSON.stringify({ ...keys, k49: 1 }))).toEqual({ tooDeep: false });
    expect(scanJsonStructure(`${JSON.stringify(keys).slice(0, -1)},"k17":0}`)).toEqual({ tooDeep: false, duplicateKey: "k17", duplicateDepth: 1 });
  });

  it("leaves text that is not JSON to JSON.parse's error", () => {
    expect(decodeMethod('{"a":1,"a"')).toMatchObject({ ok: false, message: expect.stringMatching(/^invalid method: not JSON/) });
  });
});

describe("encodeLine", () => {
  it("writes one JSON object on one line, even when strings hold newlines or U+2028", () => {
    const value = { method: "notify", params: { message: "one\ntwo\r\nthree\u2028four" } };
    const encoded = encodeLine(value);
    expect(encoded.endsWith("\n")).toBe(true);
    expect(encoded.indexOf("\n")).toBe(encoded.length - 1);
    expect(new LineDecoder().push(utf8(encoded))).toEqual([line(encoded.slice(0, -1))]);
    expect(JSON.parse(encoded)).toEqual(value);
  });

  it("round-trips through the decoder for every chunking of its bytes", () => {
    const encoded = utf8(encodeLine({ event: "text_delta", data: { text: "ü€𝄞" } }));
    for (let offset = 0; offset <= encoded.length; offset += 1) {
      const decoded = pushAll(new LineDecoder(), [encoded.subarray(0, offset), encoded.subarray(offset)]);
      expect(decoded).toEqual([line('{"event":"text_delta","data":{"text":"ü€𝄞"}}')]);
    }
  });
});
