/**
 * The fixed fan-out workload, shared by the podd scenario and the baseline server so both
 * send byte-identical `text_delta` lines: delta `i` is `i` in base 36, left-padded with `0`
 * to 8 characters (ASCII only, nothing to escape), e.g. `{"event":"text_delta","data":{"text":"0000002s"}}`.
 */

/** Characters per text delta. */
export const DELTA_CHARS = 8;

/** bench/baseline-server.js repeats this function (it is plain JS); keep them the same. */
export function deltaText(index: number): string {
  return index.toString(36).padStart(DELTA_CHARS, "0");
}

export function deltaTexts(count: number): string[] {
  return Array.from({ length: count }, (_, index) => deltaText(index));
}
