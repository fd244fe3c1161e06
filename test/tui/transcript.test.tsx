/**
 * The transcript pane: each item kind's distinctive look, collapsed vs expanded details,
 * scrolling, markdown and wrapping — rendered through Ink as the app shows it.
 */
import { render } from "ink-testing-library";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import type { Event, LogEntry } from "../../protocol/index.js";
import { MAX_MARKDOWN_CACHE_ENTRIES, renderMarkdown, stripAnsi, truncateToWidth, visibleWidth, wrapAnsi } from "../../src/tui/markdown.js";
import { initialTuiState, reduceEvent, type TuiState } from "../../src/tui/transcript-model.js";
import { Transcript, transcriptLines, visibleLines } from "../../src/tui/transcript.js";

const NOW = 1_767_225_600_000;
const GREETING = { pod_name: "main", cwd: "/p", provider: "anthropic", model: "m", scope_summary: "", tools: [], context_window: 1000, context_tokens: 0 };

function stateOf(events: readonly Event[], entries: LogEntry[] = []): TuiState {
  const seeded = reduceEvent(initialTuiState(), { event: "snapshot", data: { entries, greeting: GREETING, status: "idle" } }, NOW);
  return events.reduce((state, event) => reduceEvent(state, event, NOW), seeded);
}

function frame(state: TuiState, options: { width?: number; height?: number; scrollOffset?: number; expanded?: boolean } = {}): string {
  const { lastFrame, unmount } = render(
    <Transcript state={state} width={options.width ?? 80} height={options.height ?? 40} scrollOffset={options.scrollOffset ?? 0} expanded={options.expanded ?? false} />,
  );
  const text = lastFrame() ?? "";
  unmount();
  return text;
}

const plain = (text: string): string => stripAnsi(text);

const toolRun: Event[] = [
  { event: "tool_call_done", data: { id: "t1", name: "read_file", arguments: '{"path":"src/a.ts","limit":20}' } },
  { event: "tool_result", data: { id: "t1", summary: "read src/a.ts (3 lines)", output: "line one\nline two\nline three", is_error: false } },
  { event: "tool_call_done", data: { id: "t2", name: "edit_file", arguments: '{"path":"/etc/passwd"}' } },
  { event: "tool_result", data: { id: "t2", summary: "path outside scope", is_error: true } },
];

describe("each item kind has its look", () => {
  const cases: { name: string; events?: Event[]; entries?: LogEntry[]; expected: string[] }[] = [
    { name: "user message", events: [{ event: "user_message", data: { segments: [{ kind: "text", content: "fix it " }, { kind: "file_ref", path: "a.ts" }] } }], expected: ["› fix it @a.ts"] },
    { name: "assistant text", events: [{ event: "text_done", data: { text: "All **good** here." } }], expected: ["All good here."] },
    { name: "thinking (collapsed)", events: [{ event: "thinking_done", data: { text: "one\ntwo\nthree" } }], expected: ["✻ thinking (3 lines)"] },
    { name: "tool call and result", events: toolRun, expected: ['→ read_file(path: "src/a.ts", limit: 20)', "← read src/a.ts (3 lines)", "→ edit_file(", "← ✗ path outside scope"] },
    { name: "notification", events: [{ event: "system_item", data: { item: { kind: "notification", message: "CI is green", body: "[n] CI is green" } } }], expected: ["◆ notification: CI is green"] },
    {
      name: "child pod report",
      events: [{ event: "system_item", data: { item: { kind: "pod_event", event: { kind: "turn_ended", pod_name: "kid" }, body: "pod `kid` finished a turn" } } }],
      expected: ["◇ pod kid finished a turn"],
    },
    { name: "interrupt", events: [{ event: "system_item", data: { item: { kind: "interrupt", body: "[interrupted by the user]" } } }], expected: ["◆ interrupt: [interrupted by the user]"] },
    { name: "alert", events: [{ event: "alert", data: { level: "warn", source: "worker", message: "ipc: slow client", timestamp_ms: NOW } }], expected: ["▲ warn (worker): ipc: slow client"] },
    { name: "error", events: [{ event: "error", data: { code: "provider_error", message: "529 overloaded" } }], expected: ["✗ error: 529 overloaded (provider_error)"] },
    { name: "cancelled run", events: [{ event: "error", data: { code: "internal", message: "Cancelled" } }], expected: ["· run cancelled"] },
    { name: "cancelled run (snapshot)", entries: [{ kind: "run_errored", ts: NOW, code: "internal", message: "Cancelled" }], expected: ["· run cancelled"] },
    {
      name: "compaction marker",
      events: [
        { event: "segment_rotated", data: { entry: { kind: "segment_start", ts: NOW, segment_id: "s2", session_id: "x", pod_name: "main", compacted_from: "s1" } } },
        { event: "system_item", data: { item: { kind: "compaction_summary", body: "[Compacted]\nreplaced:\n\nWe fixed the test.\nNext: docs." } } },
      ],
      expected: ["── compacted ──", "summary: We fixed the test. (2 lines)"],
    },
    { name: "rewind marker", events: [{ event: "rewind_applied", data: { entries: [], input: [], summary: { truncated_to_entries: 3, discarded_entries: 1, tool_side_effect_warning: false } } }], expected: ["── rewound ──", "rewound 1 entry (kept 3)"] },
    { name: "paused run", events: [{ event: "run_end", data: { result: "paused" } }], expected: ["⏸ paused"] },
    { name: "rolled back run", events: [{ event: "run_end", data: { result: "rolled_back" } }], expected: ["run rolled back"] },
    { name: "turn limit", events: [{ event: "run_end", data: { result: "limit_reached" } }], expected: ["turn limit reached"] },
    {
      name: "retry notice",
      events: [{ event: "llm_retry", data: { llm_call: 0, failed_attempt: 1, max_attempts: 5, wait_ms: 2000, elapsed_ms: 0, status: 529, error: "overloaded" } }],
      expected: ["⟳ overloaded (529); retry 2/5 in 2s"],
    },
    { name: "shutdown", events: [{ event: "shutdown" }], expected: ["the pod shut down"] },
    {
      name: "fork marker",
      entries: [{ kind: "segment_start", ts: NOW, segment_id: "s", session_id: "x", pod_name: "main", forked_from: { pod_name: "old", session_id: "y", segment_id: "z", entry_index: 7 } }],
      expected: ["── forked from old@7 ──"],
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const text = plain(frame(stateOf(testCase.events ?? [], testCase.entries)));
      for (const expected of testCase.expected) expect(text).toContain(expected);
    });
  }

  it("paints errors red and child reports in their own colour", () => {
    const text = frame(stateOf([...toolRun, { event: "system_item", data: { item: { kind: "pod_event", event: { kind: "shut_down", pod_name: "kid" }, body: "" } } }]));
    expect(text).toMatch(/\x1b\[31m {2}← ✗ path outside scope/); // eslint-disable-line no-control-regex
    expect(text).toMatch(/\x1b\[35m◇ pod kid shut down/); // eslint-disable-line no-control-regex
  });

  it("shows the live turn: thinking, streaming text and open tool calls", () => {
    const state = stateOf([
      { event: "turn_start", data: { turn: 0 } },
      { event: "thinking_start" },
      { event: "thinking_delta", data: { text: "hmm" } },
      { event: "text_delta", data: { text: "Writing the " } },
      { event: "text_delta", data: { text: "answer" } },
      { event: "tool_call_start", data: { id: "t1", name: "grep" } },
      { event: "tool_call_args_delta", data: { id: "t1", json: '{"pattern":"fo' } },
    ]);
    const text = plain(frame(state));
    expect(text).toContain("✻ thinking… (1 line)");
    expect(text).toContain("Writing the answer");
    expect(text).toContain('→ grep({"pattern":"fo…');
  });
});

describe("collapsed vs expanded", () => {
  it("expands thinking, tool arguments and output, and a compaction summary", () => {
    const state = stateOf([
      { event: "thinking_done", data: { text: "first thought\nsecond thought" } },
      ...toolRun,
      { event: "segment_rotated", data: { entry: { kind: "segment_start", ts: NOW, segment_id: "s2", session_id: "x", pod_name: "main", compacted_from: "s1" } } },
    ]);
    const collapsed = plain(frame(stateOf([{ event: "thinking_done", data: { text: "first thought\nsecond thought" } }, ...toolRun])));
    expect(collapsed).not.toContain("second thought");
    expect(collapsed).not.toContain("line two");
    const expanded = plain(frame(stateOf([{ event: "thinking_done", data: { text: "first thought\nsecond thought" } }, ...toolRun]), { expanded: true }));
    expect(expanded).toContain("second thought");
    expect(expanded).toContain('"limit": 20');
    expect(expanded).toContain("line two");
    expect(state.items.at(-1)?.kind).toBe("compaction");
  });

  it("caps expanded output", () => {
    const output = Array.from({ length: 100 }, (_, index) => `out ${index}`).join("\n");
    const state = stateOf([
      { event: "tool_call_done", data: { id: "t", name: "run_command", arguments: '{"cmd":"seq 100"}' } },
      { event: "tool_result", data: { id: "t", summary: "exit 0", output, is_error: false } },
    ]);
    const text = plain(transcriptLines(state, 80, true).join("\n"));
    expect(text).toContain("out 39");
    expect(text).not.toContain("out 40");
    expect(text).toContain("… 60 more lines");
  });

  it("shows a compaction summary in full when expanded", () => {
    const summary = Array.from({ length: 5 }, (_, index) => `point ${index}`).join("\n");
    const state = stateOf([
      { event: "segment_rotated", data: { entry: { kind: "segment_start", ts: NOW, segment_id: "s2", session_id: "x", pod_name: "main", compacted_from: "s1" } } },
      { event: "system_item", data: { item: { kind: "compaction_summary", body: summary } } },
    ]);
    expect(plain(frame(state))).not.toContain("point 4");
    expect(plain(frame(state, { expanded: true }))).toContain("point 4");
  });
});

describe("scrolling", () => {
  const state = stateOf(Array.from({ length: 30 }, (_, index): Event => ({ event: "system_item", data: { item: { kind: "notification", message: `note ${index}`, body: "" } } })));

  it("shows the last `height` lines, and `scrollOffset` lines further up", () => {
    const lines = transcriptLines(state, 80, false);
    expect(lines).toHaveLength(59); // 30 items with a blank line between
    const bottom = plain(frame(state, { height: 5 })).split("\n");
    expect(bottom).toHaveLength(5);
    expect(bottom.at(-1)).toContain("note 29");
    expect(bottom[0]).toContain("note 27");
    const scrolled = plain(frame(state, { height: 5, scrollOffset: 10 })).split("\n");
    expect(scrolled.at(-1)).toContain("note 24");
    const top = plain(frame(state, { height: 5, scrollOffset: 1_000 })).split("\n");
    expect(top[0]).toContain("note 0");
  });

  it("builds the window from the bottom up with the same lines as the whole transcript", () => {
    const mixed = stateOf([
      ...toolRun,
      { event: "text_done", data: { text: "# Title\n\nbody" } },
      { event: "turn_start", data: { turn: 1 } },
      { event: "text_delta", data: { text: "streaming" } },
    ]);
    const all = transcriptLines(mixed, 50, true);
    for (const [height, offset] of [[3, 0], [4, 2], [100, 0], [2, 50], [0, 0]] as const) {
      const end = Math.max(Math.min(height, all.length), all.length - offset);
      expect(visibleLines(mixed, 50, true, height, offset)).toEqual(all.slice(Math.max(0, end - height), end));
    }
  });
});

describe("markdown and wrapping", () => {
  const markdown = "# Plan\n\n- first item\n- second item\n\n```ts\nconst answer = 42;\n```\n\nUse `npm test` to check.";

  it("renders headings, lists and code blocks without raw markers", () => {
    const text = plain(frame(stateOf([{ event: "text_done", data: { text: markdown } }])));
    expect(text).toContain("Plan");
    expect(text).toContain("first item");
    expect(text).toContain("const answer = 42;");
    expect(text).toContain("npm test");
    expect(text).not.toContain("#");
    expect(text).not.toContain("`");
  });

  it("memoises per text and width", () => {
    expect(renderMarkdown(markdown, 40)).toBe(renderMarkdown(markdown, 40));
    expect(renderMarkdown(markdown, 41)).not.toBe(renderMarkdown(markdown, 40));
  });

  it("wraps long lines to the width, keeping every word", () => {
    const words = Array.from({ length: 60 }, (_, index) => `word${index}`);
    const state = stateOf([
      { event: "user_message", data: { segments: [{ kind: "text", content: words.join(" ") }] } },
      { event: "text_done", data: { text: words.join(" ") } },
    ]);
    const lines = transcriptLines(state, 30, false);
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(30);
    const text = plain(lines.join(" "));
    for (const word of words) expect(text).toContain(word);
    expect(plain(frame(state, { width: 30 })).split("\n").every((line) => line.length <= 30)).toBe(true);
  });

  it("wraps styled text, reopening the style on the next line", () => {
    const lines = wrapAnsi(`\x1b[1m${"bold ".repeat(10)}\x1b[22m`, 12);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(12);
    expect(lines[1]?.startsWith("\x1b[1m")).toBe(true);
    // A style left open at a line end (marked-terminal's own reflow does that) carries to the next line only while open.
    expect(wrapAnsi("\x1b[1mone\ntwo\x1b[22m\nthree", 80)).toEqual(["\x1b[1mone\x1b[0m", "\x1b[1mtwo\x1b[22m", "three"]);
  });
});

describe("display width", () => {
  it("counts emoji and East Asian wide characters as two columns, as terminals draw them", () => {
    for (const text of ["🚀", "✅", "⚠️", "❌", "日", "한", "👍🏽", "👨‍👩‍👧", "🇫🇷"]) expect(visibleWidth(text), text).toBe(2);
    for (const text of ["a", "é", "e\u0301", "→", "─"]) expect(visibleWidth(text), text).toBe(1);
    expect(visibleWidth("\x1b[1m🚀 go\x1b[22m")).toBe(5);
    expect(truncateToWidth("🚀🚀🚀🚀", 5)).toBe("🚀🚀…");
    expect(truncateToWidth("ok ✅ done", 20)).toBe("ok ✅ done");
  });

  it("wraps emoji and CJK text to the width, never past it", () => {
    const emoji = Array.from({ length: 30 }, (_, index) => `🚀${index}✅`).join(" ");
    for (const line of wrapAnsi(emoji, 20)) expect(stringWidth(line)).toBeLessThanOrEqual(20);
    const lines = transcriptLines(stateOf([{ event: "text_done", data: { text: `${emoji}\n\n${"日本語のテキストです。".repeat(6)}` } }]), 25, false);
    for (const line of lines) expect(stringWidth(line)).toBeLessThanOrEqual(25);
    expect(plain(lines.join("")).replace(/ /g, "")).toBe((emoji + "日本語のテキストです。".repeat(6)).replace(/ /g, ""));
  });

  it("wraps a markdown paragraph once: full lines, no orphan left by a second wrap", () => {
    // 55 wide characters: 15 a line at width 31 (30 columns), so 4 lines; reflowed by character count first, it was 5.
    const lines = renderMarkdown("日本語のテキストです。".repeat(5), 31).map(plain);
    expect(lines.map((line) => stringWidth(line))).toEqual([30, 30, 30, 20]);
  });

  it("keeps markdown structure: soft breaks join, list items and code hang under their indent, rules fit", () => {
    expect(renderMarkdown("line one\nline two", 40).map(plain)).toEqual(["line one line two"]);
    const item = renderMarkdown("- a list item long enough that it has to wrap onto a second and a third line", 30).map(plain);
    expect(item.length).toBeGreaterThan(2);
    expect(item[0]).toMatch(/^ {2}\* a list/);
    for (const line of item.slice(1)) expect(line).toMatch(/^ {4}\S/);
    const code = renderMarkdown("```\nconst value = compute(first, second, third, fourth, fifth);\n```", 30).map(plain);
    for (const line of code) expect(line).toMatch(/^ {2}\S/);
    const rule = renderMarkdown("above\n\n---\n\nbelow", 30).map(plain);
    expect(rule.some((line) => /^-{20,30}$/.test(line))).toBe(true);
    for (const line of rule) expect(stringWidth(line)).toBeLessThanOrEqual(30);
  });
});

describe("streaming markdown", () => {
  it("does not memoise each partial text of the live turn, only the finished block", () => {
    const finished = "An **earlier** answer.";
    const kept = renderMarkdown(finished, 77);
    let state = stateOf([{ event: "turn_start", data: { turn: 0 } }]);
    let streamed = "";
    for (let index = 0; index <= MAX_MARKDOWN_CACHE_ENTRIES; index += 1) {
      const delta = `w${index} `;
      streamed += delta;
      state = reduceEvent(state, { event: "text_delta", data: { text: delta } }, NOW);
      visibleLines(state, 77, false, 3, 0);
    }
    // The live text shows as it streams (and the last render is reused while it does not change).
    expect(plain(visibleLines(state, 77, false, 1, 0).join(""))).toContain(`w${MAX_MARKDOWN_CACHE_ENTRIES}`);
    expect(visibleLines(state, 77, false, 3, 0)).toEqual(visibleLines(state, 77, false, 3, 0));
    // 2,001 partial texts did not push the earlier answer out of the memo.
    expect(renderMarkdown(finished, 77)).toBe(kept);
    // The finished block renders as the live text did, and is memoised.
    const done = reduceEvent(state, { event: "text_done", data: { text: streamed } }, NOW);
    const item = done.items.at(-1);
    expect(item?.kind).toBe("assistant");
    expect(renderMarkdown(streamed, 77)).toBe(renderMarkdown(streamed, 77));
    expect(transcriptLines(done, 77, false).map(plain).join("\n")).toContain(`w${MAX_MARKDOWN_CACHE_ENTRIES}`);
  });
});
