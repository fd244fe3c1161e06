/**
 * Fork: a new session made from another pod's active segment, at its head or at one of its
 * rewind targets (the Python seed's compact-and-fork: the worker starts from the source's
 * context; compaction, when asked for, runs in the new pod). The source is only read — it may
 * be live and appending: a line it is still writing reads as a torn tail and is left out —
 * so the source pod keeps working.
 *
 * The new segment's `segment_start` carries `forked_from{pod_name, session_id, segment_id,
 * entry_index}`: the source segment and how many of its entries were taken.
 */
import type { LogEntry } from "../../protocol/index.js";
import { segmentFile } from "../config/paths.js";
import { PoddError } from "../errors.js";
import { SessionLog } from "../session/session-log.js";
import { listRewindTargets, planRewind } from "./rewind.js";

export interface ForkSource {
  podName: string;
  sessionId: string;
  segmentId: string;
  /** The source session's directory. */
  sessionDir: string;
}

/**
 * How many of the source's entries a fork takes. At `at` (1-based, as `podd rewind` numbers the
 * targets): everything before that input's run. At the head: everything, except a run still in
 * progress or paused (the fork starts from the last finished run, with no open tool calls).
 * Throws PoddError(invalid_request) for a target that does not exist.
 */
export function forkCut(entries: readonly LogEntry[], segmentId: string, at: number | undefined): number {
  if (at === undefined) {
    const lastInvoke = entries.findLastIndex((entry) => entry.kind === "invoke");
    const lastEnd = entries.findLastIndex((entry) => entry.kind === "run_completed" || entry.kind === "run_errored");
    const end = entries[lastEnd];
    // A paused run is not finished: its open tool calls must not be resumed in the fork.
    const paused = end?.kind === "run_completed" && end.result === "paused";
    return lastInvoke > lastEnd || (paused && lastInvoke >= 0) ? lastInvoke : entries.length;
  }
  const { targets } = listRewindTargets(entries, segmentId);
  const target = targets[at - 1];
  if (!target) {
    throw new PoddError("invalid_request", `the source has ${targets.length} rewind target${targets.length === 1 ? "" : "s"}; there is no target ${at}`);
  }
  const plan = planRewind(entries, segmentId, { target: target.id, expected_head_entries: entries.length });
  if (!plan.ok) throw new PoddError("invalid_request", plan.message);
  return plan.keep;
}

/**
 * Write the forked session: a new segment in `sessionDir` whose `segment_start` names the
 * source, then the source's entries before the cut (its own `segment_start` left out), fsynced.
 * Returns the open log; throws when the source cannot be read.
 */
export function writeFork(options: {
  source: ForkSource;
  at?: number;
  podName: string;
  sessionDir: string;
  sessionId: string;
  segmentId: string;
  now: number;
}): SessionLog {
  const { source } = options;
  const { entries } = SessionLog.read(segmentFile(source.sessionDir, source.segmentId));
  const keep = forkCut(entries, source.segmentId, options.at);
  const log = SessionLog.create({
    sessionDir: options.sessionDir,
    sessionId: options.sessionId,
    segmentId: options.segmentId,
    podName: options.podName,
    now: options.now,
    forkedFrom: { pod_name: source.podName, session_id: source.sessionId, segment_id: source.segmentId, entry_index: keep },
  });
  for (const entry of entries.slice(0, keep)) if (entry.kind !== "segment_start") log.append(entry);
  log.sync();
  return log;
}
