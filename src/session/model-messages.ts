/**
 * The model's view of a session: LogEntries folded into provider-neutral ModelMessages.
 *
 * user_input → user message (segments flattened); assistant items → one assistant message
 * per run of consecutive items; tool_result → tool message; system_item → system message
 * carrying the item's `body` (the exact text the model sees). Other entries are bookkeeping.
 */
import { flattenSegments, type LogEntry } from "../../protocol/index.js";
import type { ModelMessage } from "../model/types.js";

/** Apply one committed entry to `messages` in place. */
export function applyEntry(messages: ModelMessage[], entry: LogEntry, toolNames: Map<string, string>): void {
  switch (entry.kind) {
    case "user_input":
      messages.push({ role: "user", content: flattenSegments(entry.segments) });
      return;
    case "assistant_item": {
      const item = entry.item;
      const part =
        item.kind === "message"
          ? { type: "text" as const, text: item.content }
          : item.kind === "reasoning"
            ? { type: "reasoning" as const, text: item.text, signature: item.signature, redactedData: item.redacted_data }
            : { type: "tool-call" as const, id: item.id, name: item.name, arguments: item.arguments };
      if (item.kind === "tool_call") toolNames.set(item.id, item.name);
      const last = messages[messages.length - 1];
      if (last?.role === "assistant") last.content.push(part);
      else messages.push({ role: "assistant", content: [part] });
      return;
    }
    case "tool_result": {
      const item = entry.item;
      messages.push({
        role: "tool",
        toolCallId: item.id,
        toolName: toolNames.get(item.id) ?? "unknown",
        content: item.output ?? item.summary,
        isError: item.is_error,
      });
      return;
    }
    case "system_item":
      if (typeof entry.item.body === "string") messages.push({ role: "system", content: entry.item.body });
      return;
    default:
      return;
  }
}

/** Fold entries into messages. */
export function toModelMessages(entries: readonly LogEntry[]): ModelMessage[] {
  const messages: ModelMessage[] = [];
  const toolNames = new Map<string, string>();
  for (const entry of entries) applyEntry(messages, entry, toolNames);
  return messages;
}

/** Tool calls in `entries` that have no tool_result yet (orphans of an interrupted turn), in order. */
export function unansweredToolCalls(entries: readonly LogEntry[]): { id: string; name: string; arguments: string }[] {
  const open = new Map<string, { id: string; name: string; arguments: string }>();
  for (const entry of entries) {
    if (entry.kind === "assistant_item" && entry.item.kind === "tool_call") {
      open.set(entry.item.id, { id: entry.item.id, name: entry.item.name, arguments: entry.item.arguments });
    } else if (entry.kind === "tool_result") {
      open.delete(entry.item.id);
    }
  }
  return [...open.values()];
}
