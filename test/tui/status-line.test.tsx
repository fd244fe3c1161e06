/**
 * The status line: each field, the ticking elapsed time and countdowns (driven by `nowMs`,
 * never by real time), and the connection state.
 */
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import { stripAnsi } from "../../src/tui/markdown.js";
import { formatElapsed, formatTokens, StatusLine } from "../../src/tui/status-line.js";
import { initialTuiState, reduceEvent, withConnection, type TuiState } from "../../src/tui/transcript-model.js";

const NOW = 1_767_225_600_000;
const GREETING = { pod_name: "main", cwd: "/p", provider: "anthropic", model: "claude-x", scope_summary: "", tools: [], context_window: 200_000, context_tokens: 84_000 };

function connected(events: readonly Event[] = []): TuiState {
  const seeded = withConnection(
    reduceEvent(initialTuiState(), { event: "snapshot", data: { entries: [], greeting: GREETING, status: "idle" } }, NOW),
    { kind: "connected" },
  );
  return events.reduce((state, event) => reduceEvent(state, event, NOW), seeded);
}

function line(state: TuiState, nowMs = NOW, note?: string): string {
  const { lastFrame, unmount } = render(<StatusLine state={state} nowMs={nowMs} width={200} note={note} />);
  const text = stripAnsi(lastFrame() ?? "");
  unmount();
  return text;
}

describe("StatusLine", () => {
  it("shows pod name, model, state, context and no connection word when connected", () => {
    expect(line(connected())).toBe("main · claude-x · idle · ctx 42%");
  });

  it("shows tokens in/out once there are some, and a note", () => {
    const state = connected([{ event: "usage", data: { input_tokens: 12_000, output_tokens: 345, cache_read_input_tokens: 300 } }]);
    expect(line(state, NOW, "paused: Enter resumes")).toBe("main · claude-x · idle · 12.3k in / 345 out · ctx 6% · paused: Enter resumes");
  });

  it("ticks the elapsed time of a running turn and drops it when the run ends", () => {
    const running = connected([{ event: "status", data: { status: "running" } }]);
    expect(line(running, NOW + 12_400)).toContain("running · 12s");
    expect(line(running, NOW + 65_000)).toContain("running · 1m05s");
    const paused = reduceEvent(running, { event: "status", data: { status: "paused" } }, NOW + 70_000);
    expect(line(paused, NOW + 80_000)).toBe("main · claude-x · paused · ctx 42%");
  });

  it("counts down a retry", () => {
    const state = connected([
      { event: "status", data: { status: "running" } },
      { event: "llm_retry", data: { llm_call: 0, failed_attempt: 1, max_attempts: 5, wait_ms: 3_000, elapsed_ms: 10, error: "overloaded" } },
    ]);
    expect(line(state, NOW)).toContain("retry 2/5 in 3s");
    expect(line(state, NOW + 2_100)).toContain("retry 2/5 in 1s");
    expect(line(state, NOW + 9_000)).toContain("retry 2/5 in 0s");
  });

  it("shows the connection state", () => {
    const reconnecting = withConnection(connected(), { kind: "reconnecting", attempt: 3, retryAtMs: NOW + 2_000, reason: "ECONNREFUSED" });
    expect(line(reconnecting)).toContain("reconnecting in 2s (attempt 3)");
    expect(line(withConnection(connected(), { kind: "closed", reason: "" }))).toContain("disconnected");
    expect(line(withConnection(connected(), { kind: "closed", reason: "pod shut down" }))).toContain("disconnected: pod shut down");
    expect(line(initialTuiState())).toBe("connecting…");
  });

  it("does not claim a state before the snapshot of the current connection", () => {
    expect(line(withConnection(initialTuiState(), { kind: "connected" }))).toBe("connecting…");
    const reconnecting = withConnection(connected([{ event: "status", data: { status: "running" } }]), { kind: "reconnecting", attempt: 2, retryAtMs: NOW + 3_000, reason: "EOF" });
    expect(line(reconnecting, NOW + 5_000)).toBe("main · claude-x · connecting… · ctx 42% · reconnecting in 0s (attempt 2)");
    const open = withConnection(reconnecting, { kind: "connected" });
    expect(line(open)).toBe("main · claude-x · connecting… · ctx 42%");
    const seeded = reduceEvent(open, { event: "snapshot", data: { entries: [], greeting: GREETING, status: "idle" } }, NOW);
    expect(line(seeded)).toBe("main · claude-x · idle · ctx 42%");
  });

  it("shows compacting while a compaction runs (the pod's status stays idle)", () => {
    const compacting = connected([{ event: "compact_start" }]);
    expect(line(compacting)).toBe("main · claude-x · compacting · ctx 42%");
    expect(line(reduceEvent(compacting, { event: "compact_done", data: { new_segment_id: "s2" } }, NOW))).toBe("main · claude-x · idle · ctx 42%");
  });
});

describe("formatting", () => {
  it("formats elapsed times", () => {
    expect([0, 999, 12_000, 59_999, 60_000, 65_000, 3_599_000, 3_720_000].map(formatElapsed)).toEqual(["0s", "0s", "12s", "59s", "1m00s", "1m05s", "59m59s", "1h02m"]);
  });

  it("formats token counts", () => {
    expect([0, 950, 1_000, 12_345, 123_456, 1_234_567].map(formatTokens)).toEqual(["0", "950", "1k", "12.3k", "123k", "1.2M"]);
  });
});
