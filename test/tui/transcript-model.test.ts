/**
 * The TUI reducer: every wire event and every log entry kind folds into the state as the
 * transcript should show it (wire-protocol.md, Events / Order / Log entries).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EVENT_NAMES, Event, type Greeting, type LogEntry, type SegmentStartEntry } from "../../protocol/index.js";
import { initialTuiState, reduceEvent, withConnection, type TranscriptItem, type TuiState } from "../../src/tui/transcript-model.js";

const NOW = 1_767_225_600_000;

const GREETING: Greeting = {
  pod_name: "main",
  cwd: "/p",
  provider: "anthropic",
  model: "m-1",
  scope_summary: "write: /p",
  tools: [],
  context_window: 200_000,
  context_tokens: 1_000,
};

function fold(events: readonly Event[], state: TuiState = initialTuiState(), nowMs = NOW): TuiState {
  return events.reduce((current, event) => reduceEvent(current, event, nowMs), state);
}

function snapshot(entries: LogEntry[], extra: Partial<Extract<Event, { event: "snapshot" }>["data"]> = {}): Event {
  return { event: "snapshot", data: { entries, greeting: GREETING, status: "idle", ...extra } };
}

const start = (ts = NOW): SegmentStartEntry => ({ kind: "segment_start", ts, segment_id: "seg-1", session_id: "ses-1", pod_name: "main" });

/** Items without ids, for comparison. */
function shapes(state: TuiState): Omit<TranscriptItem, "id">[] {
  return state.items.map(({ id: _id, ...rest }) => rest);
}

function fixtureEvents(): Event[] {
  const text = readFileSync(new URL("../../protocol/fixtures/events.jsonl", import.meta.url), "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => Event.parse(JSON.parse(line)));
}

describe("reduceEvent over the protocol fixtures", () => {
  it("handles every fixture event alone and in sequence, never throwing", () => {
    const events = fixtureEvents();
    const seen = new Set(events.map((event) => event.event));
    expect([...EVENT_NAMES].filter((name) => !seen.has(name))).toEqual([]);
    for (const event of events) {
      const state = reduceEvent(initialTuiState(), event, NOW);
      expect(state.items).toBeInstanceOf(Array);
      expect(state.status).toMatch(/idle|running|paused/);
    }
    const all = fold(events);
    expect(all.items.length).toBeGreaterThan(0);
  });

  it("leaves the state untouched for events with nothing to show", () => {
    const state = fold([snapshot([start()])]);
    for (const event of fixtureEvents().filter((event) =>
      ["ack", "completions", "rewind_targets", "visible_pods", "pod_inspection", "pod_attach_restore", "llm_call_start", "compact_done"].includes(event.event),
    )) {
      expect(reduceEvent(state, event, NOW)).toBe(state);
    }
  });
});

describe("snapshot", () => {
  it("turns every entry kind into items (bookkeeping entries leave none)", () => {
    const entries: LogEntry[] = [
      start(),
      { kind: "invoke", ts: NOW, invoke_kind: "user_send" },
      { kind: "user_input", ts: NOW, segments: [{ kind: "text", content: "fix " }, { kind: "file_ref", path: "a.ts" }] },
      { kind: "assistant_item", ts: NOW, item: { kind: "reasoning", text: "hmm\nyes" } },
      { kind: "assistant_item", ts: NOW, item: { kind: "reasoning", text: "" } },
      { kind: "assistant_item", ts: NOW, item: { kind: "message", role: "assistant", content: "On it." } },
      { kind: "assistant_item", ts: NOW, item: { kind: "tool_call", id: "t1", name: "read_file", arguments: '{"path":"a.ts"}' } },
      { kind: "llm_usage", ts: NOW, llm_call: 0, input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50 },
      { kind: "turn_end", ts: NOW, turn: 0, result: "finished" },
      { kind: "tool_result", ts: NOW, item: { kind: "tool_result", id: "t1", summary: "read a.ts", output: "x", is_error: false } },
      { kind: "system_item", ts: NOW, item: { kind: "notification", message: "CI green", body: "[notification] CI green" } },
      { kind: "system_item", ts: NOW, item: { kind: "pod_event", event: { kind: "turn_ended", pod_name: "c" }, body: "pod `c` finished a turn" } },
      { kind: "system_item", ts: NOW, item: { kind: "interrupt", body: "[interrupted]" } },
      { kind: "system_item", ts: NOW, item: { kind: "file_attachment", path: "b.md", body: "<file>" } },
      { kind: "system_item", ts: NOW, item: { kind: "system_reminder", body: "2 todos" } },
      { kind: "extension", ts: NOW, name: "x", data: {} },
      { kind: "llm_usage", ts: NOW, llm_call: 1, input_tokens: 10, output_tokens: 5 },
      { kind: "run_completed", ts: NOW, result: "finished" },
      { kind: "run_completed", ts: NOW, result: "paused" },
      { kind: "run_errored", ts: NOW, code: "provider_error", message: "529" },
    ];
    const state = fold([snapshot(entries)]);
    expect(shapes(state)).toEqual([
      { kind: "user", segments: [{ kind: "text", content: "fix " }, { kind: "file_ref", path: "a.ts" }] },
      { kind: "thinking", text: "hmm\nyes", isRedacted: false },
      { kind: "assistant", text: "On it." },
      { kind: "tool_call", callId: "t1", name: "read_file", arguments: '{"path":"a.ts"}', result: { summary: "read a.ts", output: "x", isError: false } },
      { kind: "notification", message: "CI green", body: "[notification] CI green" },
      { kind: "pod_report", event: { kind: "turn_ended", pod_name: "c" }, text: "pod c finished a turn" },
      { kind: "system", systemKind: "interrupt", text: "[interrupted]", body: "[interrupted]" },
      { kind: "system", systemKind: "file_attachment", text: "b.md", body: "<file>" },
      { kind: "system", systemKind: "system_reminder", text: "2 todos", body: "2 todos" },
      { kind: "run_end", result: "paused" },
      { kind: "error", code: "provider_error", message: "529" },
    ]);
    expect(state.usage).toEqual({ inputTokens: 160, outputTokens: 25 });
    expect(state.greeting).toEqual(GREETING);
    expect(state.contextTokens).toBe(1_000);
    expect(state.contextWindow).toBe(200_000);
    expect(new Set(state.items.map((item) => item.id)).size).toBe(state.items.length);
  });

  it("shows a compacted segment as a marker holding its summary, and a fork as a marker", () => {
    const compacted = fold([
      snapshot([
        { ...start(), compacted_from: "seg-0" },
        { kind: "extension", ts: NOW, name: "counters", data: {} },
        { kind: "system_item", ts: NOW, item: { kind: "compaction_summary", body: "[Compacted]\nThe earlier conversation was replaced:\n\nwe fixed it" } },
      ]),
    ]);
    expect(shapes(compacted)).toEqual([{ kind: "compaction", compactedFrom: "seg-0", summary: "we fixed it" }]);
    const reference = fold([
      snapshot([{ ...start(), compacted_from: "seg-0" }, { kind: "assistant_item", ts: NOW, item: { kind: "message", role: "system", content: "Summary: done" } }]),
    ]);
    expect(shapes(reference)).toEqual([{ kind: "compaction", compactedFrom: "seg-0", summary: "Summary: done" }]);
    const from = { pod_name: "old", session_id: "s", segment_id: "g", entry_index: 4 };
    expect(shapes(fold([snapshot([{ ...start(), forked_from: from }])]))).toEqual([{ kind: "forked", from }]);
  });

  it("reseeds everything, takes the turn in flight as live and times a running turn from its invoke", () => {
    const before = fold([snapshot([start(), { kind: "user_input", ts: NOW, segments: [{ kind: "text", content: "old" }] }])]);
    const state = reduceEvent(
      before,
      snapshot(
        [start(), { kind: "invoke", ts: NOW - 5_000, invoke_kind: "user_send" }, { kind: "user_input", ts: NOW, segments: [{ kind: "text", content: "new" }] }],
        { status: "running", in_flight: { turn: 3, llm_call: 4, thinking: "pondering", text: "Partial", tool_calls: [{ id: "t9", name: "grep", arguments: '{"pat' }] } },
      ),
      NOW,
    );
    expect(shapes(state)).toEqual([{ kind: "user", segments: [{ kind: "text", content: "new" }] }]);
    expect(state.live).toEqual({ turn: 3, thinking: "pondering", isThinking: true, text: "Partial", toolCalls: [{ id: "t9", name: "grep", arguments: '{"pat' }] });
    expect(state.status).toBe("running");
    expect(state.turnStartedAtMs).toBe(NOW - 5_000);
  });

  it("keeps alerts replayed before the snapshot of a (re)connection", () => {
    const alert: Event = { event: "alert", data: { level: "warn", source: "worker", message: "disk slow", timestamp_ms: NOW } };
    const state = fold([alert, snapshot([start()])]);
    expect(shapes(state)).toEqual([{ kind: "alert", level: "warn", source: "worker", message: "disk slow" }]);
    // After the snapshot an alert is simply appended; a reconnect then forgets it unless replayed.
    const later = fold([alert], state);
    expect(later.items).toHaveLength(2);
    const reconnected = fold([snapshot([start()])], withConnection(later, { kind: "reconnecting", attempt: 1, retryAtMs: NOW, reason: "x" }));
    expect(reconnected.items).toEqual([]);
  });
});

describe("a live run", () => {
  const run: Event[] = [
    { event: "user_message", data: { segments: [{ kind: "text", content: "hi" }] } },
    { event: "status", data: { status: "running" } },
    { event: "invoke_start", data: { kind: "user_send" } },
    { event: "turn_start", data: { turn: 0 } },
    { event: "llm_call_start", data: { llm_call: 0 } },
    { event: "thinking_start" },
    { event: "thinking_delta", data: { text: "let me " } },
    { event: "thinking_delta", data: { text: "see" } },
  ];

  it("streams thinking, text and tool calls live, then commits each block when done", () => {
    let state = fold(run, fold([snapshot([start()])]));
    expect(state.live).toMatchObject({ turn: 0, thinking: "let me see", isThinking: true });
    expect(state.status).toBe("running");
    expect(state.turnStartedAtMs).toBe(NOW);
    state = fold([{ event: "thinking_done", data: { text: "let me see" } }, { event: "text_delta", data: { text: "Hel" } }, { event: "text_delta", data: { text: "lo" } }], state);
    expect(state.live).toMatchObject({ text: "Hello", isThinking: false, thinking: "" });
    const beforeDelta = state;
    state = reduceEvent(state, { event: "text_delta", data: { text: "!" } }, NOW);
    expect(state.items).toBe(beforeDelta.items); // a delta never copies the items
    state = fold(
      [
        { event: "text_done", data: { text: "Hello!" } },
        { event: "tool_call_start", data: { id: "t1", name: "read_file" } },
        { event: "tool_call_args_delta", data: { id: "t1", json: '{"path":' } },
        { event: "tool_call_args_delta", data: { id: "t1", json: '"a"}' } },
      ],
      state,
    );
    expect(state.live?.toolCalls).toEqual([{ id: "t1", name: "read_file", arguments: '{"path":"a"}' }]);
    state = fold(
      [
        { event: "tool_call_done", data: { id: "t1", name: "read_file", arguments: '{"path":"a"}' } },
        { event: "usage", data: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 900 } },
        { event: "llm_call_end", data: { llm_call: 0 } },
        { event: "turn_end", data: { turn: 0, result: "finished" } },
        { event: "tool_result", data: { id: "t1", summary: "read a", output: "content", is_error: false } },
      ],
      state,
    );
    expect(state.live).toBeUndefined();
    expect(state.usage).toEqual({ inputTokens: 1000, outputTokens: 10 });
    expect(state.contextTokens).toBe(1010);
    state = fold(
      [
        { event: "turn_start", data: { turn: 1 } },
        { event: "text_delta", data: { text: "Done." } },
        { event: "text_done", data: { text: "Done." } },
        { event: "usage", data: { input_tokens: 50, output_tokens: 5 } },
        { event: "usage", data: {} },
        { event: "turn_end", data: { turn: 1, result: "finished" } },
        { event: "run_end", data: { result: "finished" } },
        { event: "status", data: { status: "idle" } },
      ],
      state,
    );
    expect(shapes(state)).toEqual([
      { kind: "user", segments: [{ kind: "text", content: "hi" }] },
      { kind: "thinking", text: "let me see", isRedacted: false },
      { kind: "assistant", text: "Hello!" },
      { kind: "tool_call", callId: "t1", name: "read_file", arguments: '{"path":"a"}', result: { summary: "read a", output: "content", isError: false } },
      { kind: "assistant", text: "Done." },
    ]);
    expect(state.usage).toEqual({ inputTokens: 1050, outputTokens: 15 });
    expect(state.status).toBe("idle");
    expect(state.turnStartedAtMs).toBeUndefined();
    expect(new Set(state.items.map((item) => item.id)).size).toBe(state.items.length);
  });

  it("keeps an item's id when its tool result arrives (a new object, same id)", () => {
    const state = fold([{ event: "tool_call_done", data: { id: "t1", name: "ls", arguments: "{}" } }]);
    const call = state.items[0];
    const after = reduceEvent(state, { event: "tool_result", data: { id: "t1", summary: "boom", is_error: true } }, NOW);
    expect(after.items[0]).not.toBe(call);
    expect(after.items[0]).toMatchObject({ id: call?.id, result: { summary: "boom", isError: true } });
    const orphan = reduceEvent(state, { event: "tool_result", data: { id: "zz", summary: "lost", is_error: false } }, NOW);
    expect(orphan.items[1]).toMatchObject({ kind: "tool_call", callId: "zz", result: { summary: "lost" } });
    expect(orphan.items[1]).not.toHaveProperty("name");
  });

  it("commits the open text of an interrupted call (as the pod does) and drops open thinking", () => {
    const state = fold([...run, { event: "text_delta", data: { text: "half" } }, { event: "turn_end", data: { turn: 0, result: "paused" } }, { event: "run_end", data: { result: "paused" } }, { event: "status", data: { status: "paused" } }]);
    expect(shapes(state).slice(1)).toEqual([{ kind: "assistant", text: "half" }, { kind: "run_end", result: "paused" }]);
    expect(state.status).toBe("paused");
    expect(state.turnStartedAtMs).toBeUndefined();
  });

  it("drops what a rolled-back run added", () => {
    const idle = fold([snapshot([start(), { kind: "user_input", ts: NOW, segments: [{ kind: "text", content: "earlier" }] }])]);
    const state = fold([...run, { event: "run_end", data: { result: "rolled_back" } }, { event: "status", data: { status: "idle" } }], idle);
    expect(shapes(state)).toEqual([{ kind: "user", segments: [{ kind: "text", content: "earlier" }] }, { kind: "run_end", result: "rolled_back" }]);
  });

  it("shows errors, alerts, limit and shutdown", () => {
    const state = fold([
      ...run,
      { event: "text_delta", data: { text: "partial" } },
      { event: "error", data: { code: "provider_error", message: "529 overloaded" } },
      { event: "alert", data: { level: "error", source: "worker", message: "crash", timestamp_ms: NOW } },
      { event: "run_end", data: { result: "limit_reached" } },
      { event: "shutdown" },
    ]);
    expect(shapes(state).slice(1)).toEqual([
      { kind: "assistant", text: "partial" },
      { kind: "error", code: "provider_error", message: "529 overloaded" },
      { kind: "alert", level: "error", source: "worker", message: "crash" },
      { kind: "run_end", result: "limit_reached" },
      { kind: "notice", tone: "warn", text: "the pod shut down" },
    ]);
  });

  it("shows a cancelled run (internal \"Cancelled\", live or in a snapshot) as a notice, not an error", () => {
    const live = fold([...run, { event: "error", data: { code: "internal", message: "Cancelled" } }]);
    expect(shapes(live).at(-1)).toEqual({ kind: "notice", tone: "info", text: "run cancelled" });
    const replayed = fold([snapshot([start(), { kind: "run_errored", ts: NOW, code: "internal", message: "Cancelled" }])]);
    expect(shapes(replayed)).toEqual([{ kind: "notice", tone: "info", text: "run cancelled" }]);
    // Any other internal error is still an error.
    expect(shapes(fold([{ event: "error", data: { code: "internal", message: "Cancelled by a bug: x" } }]))).toEqual([{ kind: "error", code: "internal", message: "Cancelled by a bug: x" }]);
  });

  it("tracks a retry countdown until the stream resumes", () => {
    let state = fold([...run, { event: "llm_retry", data: { llm_call: 0, failed_attempt: 1, max_attempts: 5, wait_ms: 2_000, elapsed_ms: 100, status: 529, error: "overloaded" } }], undefined, NOW);
    expect(state.retry).toEqual({ attempt: 2, maxAttempts: 5, retryAtMs: NOW + 2_000, error: "overloaded" });
    expect(shapes(state).at(-1)).toEqual({ kind: "retry", attempt: 2, maxAttempts: 5, waitMs: 2_000, error: "overloaded", httpStatus: 529 });
    state = reduceEvent(state, { event: "text_delta", data: { text: "ok" } }, NOW);
    expect(state.retry).toBeUndefined();
  });

  it("shows system items arriving during a run, and a continuation notice", () => {
    const state = fold([
      { event: "system_item", data: { item: { kind: "notification", message: "ping", body: "[n] ping" } } },
      { event: "system_item", data: { item: { kind: "pod_event", event: { kind: "errored", pod_name: "kid", message: "bad" }, body: "x" } } },
      { event: "llm_continuation", data: { llm_call: 1, attempt: 1, max_attempts: 3, reason: "max_tokens" } },
    ]);
    expect(shapes(state)).toEqual([
      { kind: "notification", message: "ping", body: "[n] ping" },
      { kind: "pod_report", event: { kind: "errored", pod_name: "kid", message: "bad" }, text: "pod kid errored: bad" },
      { kind: "notice", tone: "info", text: "continuing the answer (max_tokens), attempt 1/3" },
    ]);
  });
});

describe("compaction and rewind", () => {
  const history = fold([snapshot([start(), { kind: "user_input", ts: NOW, segments: [{ kind: "text", content: "old" }] }])]);

  it("segment_rotated reseeds the view with a compaction marker that takes the summary", () => {
    const body = "[Compacted]\nThe earlier conversation was replaced by this summary to save context:\n\nAll done.";
    const state = fold(
      [
        { event: "compact_start" },
        { event: "segment_rotated", data: { entry: { ...start(), segment_id: "seg-2", compacted_from: "seg-1" } } },
        { event: "system_item", data: { item: { kind: "compaction_summary", body } } },
        { event: "compact_done", data: { new_segment_id: "seg-2" } },
      ],
      history,
    );
    expect(shapes(state)).toEqual([{ kind: "compaction", compactedFrom: "seg-1", summary: "All done." }]);
    expect(state.contextTokens).toBe(Math.ceil(body.length / 4));
  });

  it("is compacting from compact_start until compact_done, compact_failed or a snapshot", () => {
    expect(history.compacting).toBe(false);
    const started = fold([{ event: "compact_start" }], history);
    expect(started.compacting).toBe(true);
    const rotated = fold([{ event: "segment_rotated", data: { entry: { ...start(), segment_id: "seg-2", compacted_from: "seg-1" } } }], started);
    expect(rotated.compacting).toBe(true);
    expect(fold([{ event: "compact_done", data: { new_segment_id: "seg-2" } }], rotated).compacting).toBe(false);
    expect(fold([{ event: "compact_failed", data: { error: "529" } }], started).compacting).toBe(false);
    expect(fold([snapshot([start()])], withConnection(started, { kind: "reconnecting", attempt: 1, retryAtMs: NOW, reason: "x" })).compacting).toBe(false);
  });

  it("keeps the run in progress in view when a compaction rotates the segment", () => {
    const summary = { event: "system_item", data: { item: { kind: "compaction_summary", body: "[Compacted]\nreplaced:\n\nAll done." } } } as const;
    const rotate: Event = { event: "segment_rotated", data: { entry: { ...start(), segment_id: "seg-2", compacted_from: "seg-1" } } };
    const marker = { kind: "compaction", compactedFrom: "seg-1", summary: "All done." };
    const ask = { kind: "user", segments: [{ kind: "text", content: "next question" }] };
    // The user message came first (the run started, then compacted before its first turn).
    const userFirst = fold(
      [
        { event: "user_message", data: { segments: [{ kind: "text", content: "next question" }] } },
        { event: "status", data: { status: "running" } },
        { event: "compact_start" },
        rotate,
        summary,
        { event: "compact_done", data: { new_segment_id: "seg-2" } },
      ],
      history,
    );
    expect(shapes(userFirst)).toEqual([marker, ask]);
    // What the run adds goes after it, and a rollback keeps the marker.
    const rolledBack = fold([{ event: "turn_start", data: { turn: 0 } }, { event: "text_done", data: { text: "x" } }, { event: "run_end", data: { result: "rolled_back" } }], userFirst);
    expect(shapes(rolledBack)).toEqual([marker, { kind: "run_end", result: "rolled_back" }]);
    // The user message sent once the run starts, after the compaction, simply shows.
    const userAfter = fold(
      [
        { event: "status", data: { status: "running" } },
        { event: "compact_start" },
        rotate,
        summary,
        { event: "compact_done", data: { new_segment_id: "seg-2" } },
        { event: "user_message", data: { segments: [{ kind: "text", content: "next question" }] } },
      ],
      history,
    );
    expect(shapes(userAfter)).toEqual([marker, ask]);
    // A manual compaction between runs leaves just the marker.
    expect(shapes(fold([{ event: "compact_start" }, rotate, summary], history))).toEqual([marker]);
  });

  it("compact_failed leaves the history and says why", () => {
    const state = fold([{ event: "compact_start" }, { event: "compact_failed", data: { error: "529" } }], history);
    expect(shapes(state).slice(1)).toEqual([
      { kind: "notice", tone: "info", text: "compacting the conversation…" },
      { kind: "notice", tone: "error", text: "compaction failed: 529" },
    ]);
  });

  it("rewind_applied replaces the items with its entries plus a rewind marker, and records the input", () => {
    const input = [{ kind: "text" as const, content: "old" }];
    const state = fold([{ event: "rewind_applied", data: { entries: [start(), { kind: "invoke", ts: NOW, invoke_kind: "user_send" }], input, summary: { truncated_to_entries: 2, discarded_entries: 5, tool_side_effect_warning: false } } }], history);
    expect(shapes(state)).toEqual([{ kind: "rewind", summary: "rewound 5 entries (kept 2)" }]);
    expect(state.lastRewind).toEqual({ input, summary: "rewound 5 entries (kept 2)" });
  });
});

describe("withConnection", () => {
  it("records the connection state", () => {
    const state = withConnection(initialTuiState(), { kind: "closed", reason: "EOF" });
    expect(state.connection).toEqual({ kind: "closed", reason: "EOF" });
  });
});
