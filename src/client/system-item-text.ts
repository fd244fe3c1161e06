/**
 * What a client shows of a system item (protocol/log-entry.ts `SystemItem`): one rule for
 * `podd history`, `podd export` and the TUI. It owns the text only, not how it is laid out.
 */
import type { SystemItem } from "../../protocol/index.js";

/** A notification's message as sent, an attachment's path, else the item's body ("" without one). */
export function systemItemText(item: SystemItem): string {
  const fields = item as { message?: unknown; path?: unknown; body?: unknown };
  if (item.kind === "notification" && typeof fields.message === "string") return fields.message;
  if (item.kind === "file_attachment" && typeof fields.path === "string") return fields.path;
  return typeof fields.body === "string" ? fields.body : "";
}
