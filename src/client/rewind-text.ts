/**
 * What a rewind did, for people: the CLI (`podd rewind`) and the terminal UI show the same line.
 * From the reference's `RewindSummary` (`rewind_applied.summary`); the side-effect note is the
 * reference TUI's meaning of `tool_side_effect_warning` (the discarded history had tool calls
 * whose effects, files written and commands run, the rewind did not undo).
 */
import type { RewindSummary } from "../../protocol/index.js";

/** E.g. `rewound 6 entries (kept 3); tool side effects were not undone (files written, commands run)`. */
export function rewindSummaryText(summary: RewindSummary): string {
  const { discarded_entries: discarded, truncated_to_entries: kept } = summary;
  const text = `rewound ${discarded} ${discarded === 1 ? "entry" : "entries"} (kept ${kept})`;
  return summary.tool_side_effect_warning ? `${text}; tool side effects were not undone (files written, commands run)` : text;
}
