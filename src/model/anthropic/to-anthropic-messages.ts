/**
 * The request side of the Anthropic adapter: provider-neutral ModelMessages, system prompt and
 * tool specs → the Messages API's `messages`, `system` and `tools`. Pure functions; the HTTP
 * call, stream mapping and errors live beside this file.
 *
 * Rules, each from the Messages API docs (https://platform.claude.com/docs/en/api/messages):
 * - Roles alternate user / assistant and the conversation starts with a user message;
 *   consecutive same-role messages are merged into one (the API would merge them anyway, but
 *   tool_result placement below needs one message).
 * - There is no system role inside `messages`: history `system` messages (notifications,
 *   interrupt notes) become a text block of a user message, merged with adjacent user content.
 * - Tool results are `tool_result` blocks of the user message that follows the assistant's
 *   `tool_use` blocks, several results in ONE user message, placed before any text in it
 *   (tool use guide: "tool_result blocks must come FIRST in the content array").
 * - Thinking blocks go back unmodified with their signature; a reasoning part without a
 *   signature is dropped, as the API rejects it (extended thinking guide).
 * - Text blocks must be non-empty (whitespace-only text is rejected), so such parts are skipped.
 * - A conversation that ends with an assistant message would be taken as a prefill, which
 *   fails with thinking on and on trailing whitespace; a short user turn asking the model to
 *   continue is appended instead (this happens after `resume` of a paused turn).
 * - Prompt caching (https://platform.claude.com/docs/en/build-with-claude/prompt-caching):
 *   an ephemeral breakpoint on the system prompt block (which caches tools + system) and on
 *   the last cacheable block of the last message (which caches the whole history).
 */
import type {
  RedactedThinkingBlockParam,
  CacheControlEphemeral,
  MessageParam,
  TextBlockParam,
  ThinkingBlockParam,
  Tool,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import type { AssistantPart, ModelMessage, ToolSpec } from "../types.js";

/** The user turn put first when the history starts with an assistant message. */
export const CONVERSATION_START_TEXT = "[conversation start]";
/** The user turn appended when the history ends with an assistant message (e.g. a resumed turn). */
export const CONTINUE_TEXT = "[Continue from where you left off.]";

const EPHEMERAL: CacheControlEphemeral = { type: "ephemeral" };

type Block = TextBlockParam | ThinkingBlockParam | RedactedThinkingBlockParam | ToolUseBlockParam | ToolResultBlockParam;
interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

/** ModelMessages → Anthropic `messages` (see the module comment for the rules). Never empty; always starts and ends with a user message. */
export function toAnthropicMessages(messages: readonly ModelMessage[]): MessageParam[] {
  const turns: Turn[] = [];
  const append = (role: Turn["role"], blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case "user":
      case "system":
        append("user", textBlocks(message.content));
        break;
      case "tool":
        append("user", [toolResultBlock(message)]);
        break;
      case "assistant":
        append("assistant", message.content.flatMap(assistantBlocks));
        break;
    }
  }
  for (const turn of turns) if (turn.role === "user") turn.content = toolResultsFirst(turn.content);
  if (turns[0]?.role !== "user") turns.unshift({ role: "user", content: [{ type: "text", text: CONVERSATION_START_TEXT }] });
  if (turns[turns.length - 1]?.role === "assistant") turns.push({ role: "user", content: [{ type: "text", text: CONTINUE_TEXT }] });
  markLastBlockForCache(turns);
  return turns;
}

/** The system prompt as one cached text block, or undefined when it is empty (the API rejects empty text blocks). */
export function toAnthropicSystem(system: string): TextBlockParam[] | undefined {
  if (system.trim() === "") return undefined;
  return [{ type: "text", text: system, cache_control: EPHEMERAL }];
}

/** Tool specs → Anthropic custom tools, or undefined when there are none. */
export function toAnthropicTools(tools: readonly ToolSpec[]): Tool[] | undefined {
  if (tools.length === 0) return undefined;
  return tools.map((tool) => ({ name: tool.name, description: tool.description, input_schema: tool.inputSchema as Tool.InputSchema }));
}

/** A tool call's argument JSON text → the `input` object of a tool_use block; `{}` when it is not a JSON object. */
export function toolInput(argumentsJson: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(argumentsJson);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function textBlocks(text: string): TextBlockParam[] {
  return text.trim() === "" ? [] : [{ type: "text", text }];
}

function assistantBlocks(part: AssistantPart): Block[] {
  switch (part.type) {
    case "text":
      return textBlocks(part.text);
    case "reasoning":
      if (part.redactedData) return [{ type: "redacted_thinking", data: part.redactedData }];
      return part.signature ? [{ type: "thinking", thinking: part.text, signature: part.signature }] : [];
    case "tool-call":
      return [{ type: "tool_use", id: part.id, name: part.name, input: toolInput(part.arguments) }];
  }
}

function toolResultBlock(message: Extract<ModelMessage, { role: "tool" }>): ToolResultBlockParam {
  return {
    type: "tool_result",
    tool_use_id: message.toolCallId,
    // The API rejects empty and whitespace-only text content.
    ...(message.content.trim() === "" ? {} : { content: message.content }),
    ...(message.isError ? { is_error: true } : {}),
  };
}

/** Stable partition: tool_result blocks before everything else. */
function toolResultsFirst(blocks: Block[]): Block[] {
  return [...blocks.filter((block) => block.type === "tool_result"), ...blocks.filter((block) => block.type !== "tool_result")];
}

/** Put a cache breakpoint on the last block of the last message that accepts one (thinking blocks, redacted or not, do not). */
function markLastBlockForCache(turns: Turn[]): void {
  const content = turns[turns.length - 1]?.content ?? [];
  for (let index = content.length - 1; index >= 0; index -= 1) {
    const block = content[index];
    if (block && block.type !== "thinking" && block.type !== "redacted_thinking") {
      content[index] = { ...block, cache_control: EPHEMERAL };
      return;
    }
  }
}
