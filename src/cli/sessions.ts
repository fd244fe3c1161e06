/**
 * The read-only session commands: `podd sessions`, `podd history <pod>` and `podd export <pod>`.
 * They read the session files under `$PODD_HOME/sessions/` (through src/client/session-files.ts),
 * not a pod's socket, so they work the same whether the pod is running or stopped, and they
 * never change a file.
 */
import fs from "node:fs";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { podNameProblem } from "../../protocol/index.js";
import type { PodMetadata } from "../client/pod-metadata-file.js";
import {
  activeSessionPods,
  listSessions,
  podMetadata,
  readSession,
  selectSegments,
  sessionIdProblem,
  type SegmentFile,
  type SessionFiles,
  type SessionSummary,
} from "../client/session-files.js";
import { renderHistory } from "./history-text.js";
import { renderMarkdown } from "./markdown-export.js";
import { CliError, formatAge, poddPaths, table, unknownPodMessage } from "./targets.js";
import { transcriptOf } from "./transcript.js";

/** Formats of `podd export --format` (main.ts lists them as the option's choices). */
export type ExportFormat = "jsonl" | "markdown";

/** Write to stdout; a reader that went away (`podd history x | head`) ends the command quietly. */
function writeOut(text: string): void {
  process.stdout.once("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  process.stdout.write(text);
}

function provenance(summary: SessionSummary): string {
  const parts: string[] = [];
  if (summary.forkedFrom) parts.push(`forked from ${summary.forkedFrom.pod_name}@${summary.forkedFrom.entry_index}`);
  if (summary.compactions > 0) parts.push(`compacted ${summary.compactions}×`);
  return parts.join(", ");
}

/**
 * `podd sessions [--pod <name>] [--json]`: every session under `$PODD_HOME/sessions/`, newest
 * activity first: id, pod, segments, entries, last activity, `live` when a running pod holds it,
 * `active` when it is a pod's current session (per its metadata), and its provenance. No
 * sessions prints a message and exits 0.
 */
export function sessionsCommand(options: { pod?: string; json?: boolean }): void {
  const paths = poddPaths();
  const activeBy = activeSessionPods(paths);
  const sessions = listSessions(paths).filter((summary) => options.pod === undefined || summary.podName === options.pod);
  const isActive = (summary: SessionSummary): boolean => (activeBy.get(summary.sessionId) ?? []).some((pod) => pod === summary.podName);
  if (options.json) {
    const rows = sessions.map((summary) => ({
      session_id: summary.sessionId,
      pod_name: summary.podName ?? null,
      segments: summary.segments,
      entries: summary.entries,
      skipped_lines: summary.skippedLines,
      last_activity_ms: summary.lastActivityMs,
      live: summary.isLive,
      owner_pid: summary.ownerPid ?? null,
      active: isActive(summary),
      forked_from: summary.forkedFrom ?? null,
      compactions: summary.compactions,
    }));
    writeOut(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (sessions.length === 0) {
    const where = path.join(paths.home, "sessions");
    writeOut(options.pod === undefined ? `no sessions in ${where}\n` : `no sessions of pod ${options.pod} in ${where}\n`);
    return;
  }
  const header = ["SESSION", "POD", "SEGMENTS", "ENTRIES", "LAST", "LIVE", "ACTIVE", "PROVENANCE"];
  const rows = sessions.map((summary) => [
    summary.sessionId,
    summary.podName ?? "?",
    String(summary.segments),
    String(summary.entries),
    `${formatAge(summary.lastActivityMs)} ago`,
    summary.isLive ? "live" : "—",
    isActive(summary) ? "active" : "",
    provenance(summary),
  ]);
  writeOut(table([header, ...rows]));
}

/** A pod's session as the history and export commands see it. */
interface PodSession {
  podName: string;
  /** The pod's metadata, when `session` is its current session. */
  metadata?: PodMetadata;
  session: SessionFiles;
  /** The pod's active segment, when `session` is the pod's current session. */
  activeSegmentId?: string;
}

/**
 * The session of pod `podName`: `sessionId` when given (it must be one of this pod's sessions),
 * else the one its metadata names. Throws a CliError (exit 2 for a malformed name or id, else 1)
 * for an unknown pod, a pod without a session, or a session without segment files.
 */
function podSession(podName: string, sessionId: string | undefined): PodSession {
  const nameProblem = podNameProblem(podName);
  if (nameProblem) throw new CliError(`invalid pod name ${JSON.stringify(podName)}: ${nameProblem}`, 2);
  const idProblem = sessionId === undefined ? undefined : sessionIdProblem(sessionId);
  if (idProblem) throw new CliError(idProblem, 2);
  const paths = poddPaths();
  const { metadata, problem } = podMetadata(paths, podName);
  const id = sessionId ?? metadata?.session_id;
  if (id === undefined) {
    if (problem) throw new CliError(`cannot read pod ${podName}'s metadata: ${problem}`);
    const dataDir = path.join(paths.home, "pods", podName);
    if (!fs.existsSync(dataDir)) throw new CliError(`${unknownPodMessage(podName)}; \`podd sessions\` lists the sessions there are`);
    throw new CliError(`pod ${podName} has no session (no metadata.json in ${dataDir}); \`podd sessions\` lists the sessions there are`);
  }
  const session = readSession(paths, id);
  if (!session) throw new CliError(`session ${id} of pod ${podName} has no segment files in ${path.join(paths.home, "sessions", id)}`);
  if (sessionId !== undefined && session.podName !== undefined && session.podName !== podName) {
    throw new CliError(`session ${id} belongs to pod ${session.podName}, not ${podName}`);
  }
  const result: PodSession = { podName, session };
  if (metadata?.session_id === session.sessionId) {
    result.metadata = metadata;
    result.activeSegmentId = metadata.segment_id;
  }
  return result;
}

/** The segments to show; a CliError when the pod's active segment has no file. */
function segmentsToShow(pod: PodSession, all: boolean): SegmentFile[] {
  const segments = selectSegments(pod.session, { all, ...(pod.activeSegmentId !== undefined && { activeSegmentId: pod.activeSegmentId }) });
  if (!segments) throw new CliError(`the active segment ${pod.activeSegmentId} of pod ${pod.podName} has no file in ${pod.session.dir}`);
  return segments;
}

/** Which segments are shown, in words, for headers. */
function scopeText(pod: PodSession, segments: readonly SegmentFile[]): string {
  const total = pod.session.segments.length;
  const compactions = pod.session.segments.filter((segment) => segment.start?.compacted_from !== undefined).length;
  const compacted = compactions > 0 ? `, compacted ${compactions}×` : "";
  if (segments.length === total) return total === 1 ? `1 segment${compacted}` : `all ${total} segments${compacted}`;
  const shown = segments[0];
  const position = shown ? pod.session.segments.indexOf(shown) + 1 : 0;
  return `segment ${position} of ${total}${compacted}: ${shown?.segmentId ?? "?"}; --all for the whole session`;
}

function reportSkipped(segments: readonly SegmentFile[]): void {
  for (const segment of segments) {
    for (const line of segment.skipped) {
      if (!line.torn) process.stderr.write(`podd: skipped line ${line.line} of ${segment.file} (${line.bytes} bytes): not a log entry\n`);
    }
  }
}

/**
 * `podd history <pod> [--session <id>] [--all] [--json]`: a readable transcript of a pod's
 * session read from its files — the active segment, or every segment with `--all` (a divider
 * and the summary at each compaction). `--json`: `{pod_name, session_id, segment_ids, entries,
 * skipped_lines}`. A torn last line is skipped (counted in `--json`); any other bad line is
 * skipped with a warning on stderr.
 */
export function historyCommand(podName: string, options: { session?: string; all?: boolean; json?: boolean }): void {
  const pod = podSession(podName, options.session);
  const segments = segmentsToShow(pod, options.all === true);
  reportSkipped(segments);
  if (options.json) {
    writeOut(
      `${JSON.stringify({
        pod_name: pod.podName,
        session_id: pod.session.sessionId,
        segment_ids: segments.map((segment) => segment.segmentId),
        entries: segments.flatMap((segment) => segment.entries),
        skipped_lines: segments.reduce((sum, segment) => sum + segment.skipped.length, 0),
      })}\n`,
    );
    return;
  }
  const header = `pod ${pod.podName} · session ${pod.session.sessionId} · ${scopeText(pod, segments)}${pod.session.isLive ? " · live" : ""}\n`;
  const body = renderHistory(transcriptOf(segments), { isColor: process.stdout.isTTY === true && !process.env.NO_COLOR });
  writeOut(`${header}\n${body === "" ? "(no entries yet)\n" : body}`);
}

/**
 * `podd export <pod> --format jsonl|markdown [--session <id>] [--active] [-o <file>]`: the
 * session's entries, every segment in order (only the active one with `--active`). jsonl: the
 * valid lines of the segment files, byte for byte, one entry per line; markdown: a document
 * (see markdown-export.ts). Written atomically (mode 0600, like the session files) to `output`,
 * else to stdout.
 */
export async function exportCommand(podName: string, options: { format: ExportFormat; session?: string; active?: boolean; output?: string }): Promise<void> {
  const pod = podSession(podName, options.session);
  const segments = segmentsToShow(pod, options.active !== true);
  reportSkipped(segments);
  let text: string;
  if (options.format === "jsonl") {
    text = segments.map((segment) => segment.lines.map((line) => `${line}\n`).join("")).join("");
  } else {
    const header = {
      podName: pod.podName,
      sessionId: pod.session.sessionId,
      scope: scopeText(pod, segments),
      exportedAtMs: Date.now(),
      ...(pod.metadata && { model: pod.metadata.model, cwd: pod.metadata.cwd }),
    };
    text = renderMarkdown(transcriptOf(segments), header);
  }
  if (options.output === undefined) {
    writeOut(text);
    return;
  }
  try {
    await writeFileAtomic(options.output, text, { mode: 0o600 });
  } catch (error) {
    throw new CliError(`cannot write ${options.output}: ${(error as Error).message}`);
  }
}
