/**
 * What a pod's state is, read off its session entries (pure: no I/O, no controller): the
 * counters and context size a restored pod continues from, how the last run ended, and the
 * note the model gets before the next user input after an interrupted run. Used on restore
 * and after a rewind; the controller applies the result.
 */
import { isCancellation, type LogEntry } from "../../protocol/index.js";

/** The synthetic result of a tool call that an interruption left unanswered (the reference's wording). */
export const INTERRUPTED_TOOL_RESULT = "[Interrupted by user]";
/** The note the model sees before the next user input after a pause or cancel. */
export const USER_INTERRUPT_NOTE =
  "[Interrupted by user]\nThe user interrupted the previous turn before it finished. Tool calls that had not completed were not run.";
/** The note the model sees before the next user input after the pod stopped in the middle of a run. */
export const CRASH_INTERRUPT_NOTE =
  "[Interrupted]\nThe pod stopped (it was killed or crashed) before the previous turn finished; it was restored from its session log. Tool calls that had not completed were not run.";
/** The message of the run_errored entry recorded for a run a restart found unfinished. */
export const CRASHED_RUN_MESSAGE = "interrupted: the pod stopped during this run";

/** The note the model sees before the next user input after a run failed. */
export function errorInterruptNote(message: string): string {
  return `[Interrupted]\nThe previous turn ended early with an error: ${message}\nTool calls that had not completed were not run.`;
}

/** The note after a run that ended in `run_errored`: the user's cancel, or a failure. */
export function noteAfterError(entry: Extract<LogEntry, { kind: "run_errored" }>): string {
  return isCancellation(entry) ? USER_INTERRUPT_NOTE : errorInterruptNote(entry.message);
}

/**
 * The extension entry after a compacted segment's `segment_start` that carries on what the
 * summarised entries counted: `data: {turn, llm_call, context_tokens?, interrupt_note?}`.
 */
export const COUNTERS_EXTENSION = "podd.counters";

export interface CarriedCounters {
  turn: number;
  llm_call: number;
  context_tokens?: number;
  interrupt_note?: string;
}

function carriedCounters(data: unknown): CarriedCounters | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const { turn, llm_call: llmCall, context_tokens: contextTokens, interrupt_note: note } = data as Record<string, unknown>;
  if (typeof turn !== "number" || typeof llmCall !== "number") return undefined;
  return {
    turn,
    llm_call: llmCall,
    ...(typeof contextTokens === "number" ? { context_tokens: contextTokens } : {}),
    ...(typeof note === "string" ? { interrupt_note: note } : {}),
  };
}

export interface SessionState {
  /** Next cumulative turn index. */
  turnCounter: number;
  /** Next cumulative model-call index. */
  llmCallCounter: number;
  /** Tokens of the last model call's context, if any was reported. */
  contextTokens?: number;
  /** The interrupt note a compaction carried over (for the next user input when no run followed it). */
  carriedNote?: string;
  /** Index of the last run's `invoke` entry (-1: no run yet). */
  lastInvoke: number;
  /**
   * How the last run ended: `crashed` (no end entry, or work after its end: the pod was
   * killed during it or during a resume), `paused`, `errored` (with its entry), `finished`, or `none`.
   */
  lastRun: { kind: "none" | "crashed" | "paused" | "finished" } | { kind: "errored"; entry: Extract<LogEntry, { kind: "run_errored" }> };
}

export function readSessionState(entries: readonly LogEntry[]): SessionState {
  const state: SessionState = { turnCounter: 0, llmCallCounter: 0, lastInvoke: -1, lastRun: { kind: "none" } };
  let lastEnd = -1;
  for (const [index, entry] of entries.entries()) {
    if (entry.kind === "extension" && entry.name === COUNTERS_EXTENSION) {
      const carried = carriedCounters(entry.data);
      if (carried) {
        state.turnCounter = Math.max(state.turnCounter, carried.turn);
        state.llmCallCounter = Math.max(state.llmCallCounter, carried.llm_call);
        if (carried.context_tokens !== undefined) state.contextTokens = carried.context_tokens;
        state.carriedNote = carried.interrupt_note;
      }
    }
    if (entry.kind === "turn_end") state.turnCounter = Math.max(state.turnCounter, entry.turn + 1);
    if (entry.kind === "llm_usage") {
      state.llmCallCounter = Math.max(state.llmCallCounter, entry.llm_call + 1);
      state.contextTokens =
        (entry.input_tokens ?? 0) + (entry.cache_read_input_tokens ?? 0) + (entry.cache_creation_input_tokens ?? 0) + (entry.output_tokens ?? 0);
    }
    if (entry.kind === "invoke") state.lastInvoke = index;
    if (entry.kind === "run_completed" || entry.kind === "run_errored") lastEnd = index;
  }
  if (state.lastInvoke === -1) return state;
  const end = entries[lastEnd];
  const workedAfterEnd = entries.slice(lastEnd + 1).some((entry) => entry.kind === "assistant_item" || entry.kind === "tool_result" || entry.kind === "turn_end");
  if (lastEnd < state.lastInvoke || workedAfterEnd || !end) state.lastRun = { kind: "crashed" };
  else if (end.kind === "run_completed") state.lastRun = { kind: end.result === "paused" ? "paused" : "finished" };
  else if (end.kind === "run_errored") state.lastRun = { kind: "errored", entry: end };
  return state;
}
