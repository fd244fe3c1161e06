/**
 * `podd export --format markdown`: a transcript as a Markdown document. A title and a list of
 * facts (pod, session, model, cwd, provenance), then one `## User` section per user input and
 * one `## Assistant` section per stretch of assistant output (text verbatim, reasoning in a
 * `<details>` block, tool calls and tool results in fenced blocks), system items and run ends
 * in between, and a `---` divider with the summary at each compaction. Plain string building:
 * the only escaping Markdown needs here is a fence longer than any backtick run it encloses.
 */
import { describeRunEnd, formatClock, formatDate, type TranscriptItem } from "./transcript.js";

/** Tool output longer than this (characters) is cut, with a note saying how much was left out. */
export const MAX_MARKDOWN_OUTPUT_CHARS = 4000;

export interface MarkdownHeader {
  podName: string;
  sessionId: string;
  /** The `--model` spec and cwd from the pod's metadata, when it has some. */
  model?: string;
  cwd?: string;
  /** e.g. `all 3 segments (compacted 2×)` or `the active segment 01J…`. */
  scope: string;
  exportedAtMs: number;
}

/** A fenced code block around `text`, with a fence longer than any run of backticks inside it. */
export function fenced(text: string, language = ""): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longestRun + 1));
  return `${fence}${language}\n${text}${text.endsWith("\n") ? "" : "\n"}${fence}`;
}

/** Tool arguments pretty-printed when they are JSON, else as the model wrote them. */
function prettyArguments(text: string): { text: string; language: string } {
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2), language: "json" };
  } catch {
    return { text, language: "" };
  }
}

function cutOutput(output: string): string {
  if (output.length <= MAX_MARKDOWN_OUTPUT_CHARS) return fenced(output);
  const left = output.length - MAX_MARKDOWN_OUTPUT_CHARS;
  return `${fenced(output.slice(0, MAX_MARKDOWN_OUTPUT_CHARS))}\n\n*… ${left} more characters not shown; \`podd export --format jsonl\` has the whole output.*`;
}

const stamp = (ts: number): string => `*${formatDate(ts)} ${formatClock(ts)}*`;

/** The section an item belongs to: a new heading is written when it changes. */
function sectionOf(item: TranscriptItem): string | undefined {
  switch (item.kind) {
    case "user":
      return "User";
    case "assistant":
    case "reasoning":
    case "tool_call":
    case "tool_result":
      return "Assistant";
    case "system":
      return item.systemKind === "notification" ? "Notification" : `System: ${item.systemKind}`;
    default:
      return undefined;
  }
}

function blockOf(item: TranscriptItem): string | undefined {
  switch (item.kind) {
    case "forked":
      return `*Forked from pod ${item.from.pod_name} at entry ${item.from.entry_index} (session ${item.from.session_id}, segment ${item.from.segment_id}).*`;
    case "segment":
      return `---\n\n*Segment ${item.segmentId}.*`;
    case "compaction":
      return `---\n\n## Compacted: summary\n\n${stamp(item.ts)}\n\n${item.summary ?? "*(no summary entry)*"}`;
    case "user":
    case "assistant":
      return item.text;
    case "reasoning":
      return item.isRedacted ? "*Reasoning (redacted).*" : `<details><summary>Reasoning</summary>\n\n${item.text}\n\n</details>`;
    case "tool_call": {
      const pretty = prettyArguments(item.arguments);
      return `**Tool call** \`${item.name}\`\n\n${fenced(pretty.text, pretty.language)}`;
    }
    case "tool_result": {
      const label = `**${item.isError ? "Tool error" : "Tool result"}**${item.name === undefined ? "" : ` \`${item.name}\``}: ${item.summary}`;
      return item.output === undefined || item.output === "" ? label : `${label}\n\n${cutOutput(item.output)}`;
    }
    case "system":
      return item.text;
    case "run_end": {
      const words = describeRunEnd(item.result);
      return words === undefined ? undefined : `> *${words[0]?.toUpperCase()}${words.slice(1)}* (${formatClock(item.ts)})`;
    }
    case "run_cancelled":
      return `> *Run cancelled* (${formatClock(item.ts)})`;
    case "run_errored":
      return `> **Run failed** (${item.code}): ${item.message}`;
  }
}

/** The whole document, ending in a newline. */
export function renderMarkdown(items: readonly TranscriptItem[], header: MarkdownHeader): string {
  const facts = [
    `- **Pod:** ${header.podName}`,
    `- **Session:** \`${header.sessionId}\` (${header.scope})`,
    ...(header.model === undefined ? [] : [`- **Model:** \`${header.model}\``]),
    ...(header.cwd === undefined ? [] : [`- **Working directory:** \`${header.cwd}\``]),
    `- **Exported:** ${new Date(header.exportedAtMs).toISOString()}`,
  ];
  const blocks = [`# ${header.podName}: session ${header.sessionId}`, facts.join("\n")];
  let section: string | undefined;
  for (const item of items) {
    const next = sectionOf(item);
    if (next !== undefined && (next !== section || next === "User")) blocks.push(`## ${next}`, stamp(item.ts));
    section = next;
    const block = blockOf(item);
    if (block !== undefined) blocks.push(block);
  }
  return `${blocks.join("\n\n")}\n`;
}
