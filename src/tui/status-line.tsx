/**
 * The status line under the transcript: pod name · model (`embedded demo model` on the scripted provider) · state (`connecting…` before the
 * snapshot, `stopped` for a pod stopped on purpose, `compacting`, else the pod's status) · elapsed time of the running turn · tokens
 * in/out · context occupancy · retry countdown · connection, then an optional note. A pure
 * function of its props: the app passes `nowMs` and re-renders it every second.
 */
import { Text } from "ink";
import type { JSX } from "react";
import type { Greeting, PodStatus } from "../../protocol/index.js";
import { style, truncateToWidth } from "./markdown.js";
import type { ConnectionState, TuiState } from "./transcript-model.js";

const SEPARATOR = " · ";

/** `12s`, `1m05s`, `2h03m` (rounded down to whole seconds; negative counts as 0). */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** `950`, `12.3k`, `123k`, `1.2M`. */
export function formatTokens(count: number): string {
  if (count < 1000) return String(count);
  if (count < 100_000) return `${(count / 1000).toFixed(1).replace(/\.0$/, "")}k`;
  if (count < 1_000_000) return `${Math.round(count / 1000)}k`;
  return `${(count / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
}

/** Whole seconds until `atMs` (rounded up, never negative). */
function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((atMs - nowMs) / 1000));
}

const STATUS_PAINT: Record<PodStatus, (text: string) => string> = {
  idle: style.green,
  running: style.yellow,
  paused: style.magenta,
};

function connectionText(connection: ConnectionState, nowMs: number): string | undefined {
  switch (connection.kind) {
    case "connected":
      return undefined;
    case "connecting":
      return style.yellow("connecting…");
    case "reconnecting":
      return style.yellow(`reconnecting in ${secondsUntil(connection.retryAtMs, nowMs)}s (attempt ${connection.attempt})`);
    case "stopped":
      return undefined;
    case "closed":
      return style.red(connection.reason === "" ? "disconnected" : `disconnected: ${connection.reason}`);
  }
}

/**
 * The state field: `connecting…` until the current connection's snapshot says the status,
 * `compacting` while a compaction runs (the pod's status stays idle meanwhile), else the status.
 */
function stateText(state: TuiState): string {
  if (state.connection.kind === "stopped") return style.red("stopped");
  if (state.isAwaitingSnapshot) return style.yellow("connecting…");
  if (state.compacting) return style.cyan("compacting");
  return STATUS_PAINT[state.status](state.status);
}

/** The model field: a pod on the embedded scripted model says so (issue 16); the transcript's notice says how to leave it. */
function modelField(greeting: Greeting): string {
  return greeting.provider === "scripted" ? style.yellow("embedded demo model") : greeting.model;
}

/** The fields of the status line, in order (ANSI styled); exported for tests and the app's title. */
export function statusFields(state: TuiState, nowMs: number): string[] {
  const fields: string[] = [];
  if (state.greeting) fields.push(style.bold(state.greeting.pod_name), modelField(state.greeting));
  fields.push(stateText(state));
  if (!state.isAwaitingSnapshot && state.status === "running" && state.turnStartedAtMs !== undefined) fields.push(formatElapsed(nowMs - state.turnStartedAtMs));
  const { inputTokens, outputTokens } = state.usage;
  if (inputTokens > 0 || outputTokens > 0) fields.push(`${formatTokens(inputTokens)} in / ${formatTokens(outputTokens)} out`);
  if (state.contextTokens !== undefined && state.contextWindow !== undefined && state.contextWindow > 0) {
    const percent = Math.round((100 * state.contextTokens) / state.contextWindow);
    fields.push(percent >= 80 ? style.yellow(`ctx ${percent}%`) : `ctx ${percent}%`);
  }
  if (state.retry) fields.push(style.yellow(`retry ${state.retry.attempt}/${state.retry.maxAttempts} in ${secondsUntil(state.retry.retryAtMs, nowMs)}s`));
  // While connecting the state field already says so.
  const connection = state.isAwaitingSnapshot && state.connection.kind === "connecting" ? undefined : connectionText(state.connection, nowMs);
  if (connection !== undefined) fields.push(connection);
  return fields;
}

/** One line: the fields joined by ` · `, then the note; cut to `width`. */
export function StatusLine(props: { state: TuiState; nowMs: number; width: number; note?: string }): JSX.Element {
  const fields = statusFields(props.state, props.nowMs);
  if (props.note !== undefined && props.note !== "") fields.push(style.dim(truncateToWidth(props.note, props.width)));
  return (
    <Text wrap="truncate-end">{fields.join(style.dim(SEPARATOR))}</Text>
  );
}
