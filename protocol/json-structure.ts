/**
 * A linear scan of a JSON text's structure, run on every inbound method line before (and
 * beside) `JSON.parse`: how deep its arrays and objects nest, and whether an object repeats a
 * key. It owns only those two facts; whether the text is JSON at all is `JSON.parse`'s call.
 *
 * Why: `JSON.parse` takes duplicate keys silently (the last one wins), so
 * `{"method":"notify",…,"method":"shutdown"}` would be a shutdown to the pod and a notify to
 * anything that reads the first key; the reference (serde) refuses a repeated field. And an
 * 8 MiB line of nested brackets costs `JSON.parse` ~3 s of the event loop and ~200 MB of heap
 * (measured, Node 20), while no method nests deeper than a handful of levels; the
 * reference's serde_json stops at a recursion limit of 128 too.
 *
 * The scan allocates nothing per character: strings are skipped with `indexOf`, a key is
 * only decoded (with `JSON.parse`) when it holds an escape, and an object's keys are kept
 * in a small array, then a Set past SMALL_OBJECT_KEYS.
 */

/** Deepest nesting of arrays and objects a method line may have (the reference's serde_json limit). */
export const MAX_JSON_DEPTH = 128;

const SMALL_OBJECT_KEYS = 8;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface JsonStructure {
  /** True when containers nest deeper than `maxDepth` (the scan stops there). */
  tooDeep: boolean;
  /** The first key repeated within one object, if any; meaningful only for text that is JSON. */
  duplicateKey?: string;
  /** Nesting depth of the object that repeats `duplicateKey` (1: the top-level object). */
  duplicateDepth?: number;
}

/** A container on the scan's stack: an array (`keys` undefined) or an object and the keys seen in it. */
interface Container {
  isObject: boolean;
  keys: string[] | Set<string> | undefined;
}

/**
 * Scan `text` (one JSON line). Linear in its length; never throws. On text that is not JSON
 * the result is whatever the scan saw, and `JSON.parse` will refuse the text anyway.
 */
export function scanJsonStructure(text: string, maxDepth = MAX_JSON_DEPTH): JsonStructure {
  const stack: Container[] = [];
  let expectKey = false;
  let duplicateKey: string | undefined;
  let duplicateDepth: number | undefined;
  // Position of the next backslash at or after the scan (cached: each search covers new text only).
  let nextBackslash = -2;
  const length = text.length;
  for (let at = 0; at < length; at += 1) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      const end = stringEnd(text, at);
      if (end === -1) break;
      if (expectKey && duplicateKey === undefined) {
        if (nextBackslash !== -1 && nextBackslash < at) nextBackslash = text.indexOf("\\", at);
        const escaped = nextBackslash !== -1 && nextBackslash < end;
        const key = escaped ? decodeKey(text.slice(at, end + 1)) : text.slice(at + 1, end);
        const top = stack[stack.length - 1];
        if (key !== undefined && top && rememberKey(top, key)) {
          duplicateKey = key;
          duplicateDepth = stack.length;
        }
      }
      expectKey = false;
      at = end;
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      if (stack.length >= maxDepth) return { tooDeep: true };
      const isObject = code === 0x7b;
      stack.push({ isObject, keys: undefined });
      expectKey = isObject;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (code === 0x2c /* , */) {
      expectKey = stack[stack.length - 1]?.isObject ?? false;
    } else if (code === 0x3a /* : */) {
      expectKey = false;
    }
  }
  return duplicateKey === undefined ? { tooDeep: false } : { tooDeep: false, duplicateKey, duplicateDepth };
}

/** Index of the quote that closes the string opening at `start`, or -1 if it is unterminated. */
function stringEnd(text: string, start: number): number {
  for (let from = start + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** A key written with escapes, decoded (`"meth\u006fd"` is `method`); undefined if the escape is bad. */
function decodeKey(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

/** Add `key` to the object's keys; true if it was there already. */
function rememberKey(container: Container, key: string): boolean {
  const keys = container.keys;
  if (keys === undefined) {
    container.keys = [key];
    return false;
  }
  if (Array.isArray(keys)) {
    if (keys.includes(key)) return true;
    keys.push(key);
    if (keys.length > SMALL_OBJECT_KEYS) container.keys = new Set(keys);
    return false;
  }
  if (keys.has(key)) return true;
  keys.add(key);
  return false;
}
