/**
 * Scrolling the transcript (PgUp / PgDn) and the "new output below" marker (issue 16).
 *
 * The offset counts lines above the bottom. While it is 0 the transcript follows the output; once
 * scrolled up the window stays on what the user reads: lines added below (a streaming answer, a
 * tool result, a child's report) raise the offset by as many lines, and are counted as unseen for
 * the marker. A change of width or of Ctrl-O expansion re-wraps everything, so it only resets the
 * count (the offset then means "this many lines above the bottom" of the new layout).
 */
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { style, truncateToWidth, visibleWidth } from "./markdown.js";
import { transcriptLines } from "./transcript.js";
import type { TuiState } from "./transcript-model.js";

export interface TranscriptScroll {
  /** Lines between the window's last line and the bottom. */
  offset: number;
  /** Lines added below since the user scrolled up (0 at the bottom). */
  unseen: number;
  pageUp(): void;
  pageDown(): void;
  /** Back to the bottom (on send, on a switch to another pod). */
  toBottom(): void;
}

/**
 * The marker row shown as the window's last line while scrolled up, or undefined at the bottom:
 * `── ↓ new output below (12 lines) · PgDn ──` once something arrived, else `── ↓ 40 more lines below · PgDn ──`.
 */
export function scrollMarker(offset: number, unseen: number, width: number): string | undefined {
  if (offset <= 0) return undefined;
  const plural = (count: number): string => `${count} ${count === 1 ? "line" : "lines"}`;
  const label = unseen > 0 ? `↓ new output below (${plural(unseen)}) · PgDn` : `↓ ${plural(offset)} more below · PgDn`;
  const text = `── ${label} `;
  const line = truncateToWidth(`${text}${"─".repeat(Math.max(2, width - visibleWidth(text)))}`, width);
  return unseen > 0 ? style.yellow(style.bold(line)) : style.dim(line);
}

/**
 * The scroll state of a transcript `height` rows high showing `state` at `width`; a page is `pageSize` lines.
 * PgUp stops at the first line (so one PgDn after many PgUp moves at once).
 */
export function useTranscriptScroll(state: TuiState, width: number, expanded: boolean, height: number, pageSize: number): TranscriptScroll {
  const [offset, setOffset] = useState(0);
  const [unseen, setUnseen] = useState(0);
  const counted = useRef<{ width: number; expanded: boolean; total: number } | undefined>(undefined);

  useLayoutEffect(() => {
    if (offset === 0) {
      counted.current = undefined;
      if (unseen !== 0) setUnseen(0);
      return;
    }
    // Only while scrolled up: the committed lines are cached, so counting is cheap.
    const total = transcriptLines(state, width, expanded).length;
    const before = counted.current;
    counted.current = { width, expanded, total };
    if (!before || before.width !== width || before.expanded !== expanded) return;
    const added = total - before.total;
    if (added === 0) return;
    // Fewer lines below (a rolled-back run, a live turn committed shorter): stay scrolled, never jump to the bottom.
    setOffset((current) => Math.max(1, current + added));
    if (added > 0) setUnseen((count) => count + added);
  }, [state, width, expanded, offset, unseen]);

  const pageUp = useCallback(() => {
    // Scrolled up, the marker takes the window's last row.
    const top = Math.max(0, transcriptLines(state, width, expanded).length - Math.max(1, height - 1));
    setOffset((current) => Math.min(top, current + pageSize));
  }, [state, width, expanded, height, pageSize]);
  const pageDown = useCallback(() => setOffset((current) => Math.max(0, current - pageSize)), [pageSize]);
  const toBottom = useCallback(() => setOffset(0), []);
  // New lines the user has paged down onto are no longer below.
  return { offset, unseen: Math.min(unseen, offset), pageUp, pageDown, toBottom };
}
