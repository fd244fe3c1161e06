/**
 * Neutral ModelRequest → Chat Completions `messages` and `tools`. Pure; owns no I/O.
 *
 * Source: OpenAI API reference, "Create chat completion" (`messages`: system / user /
 * assistant with `content` and `tool_calls: [{id, type: "function", function: {name,
 * arguments}}]` / tool with `tool_call_id`; `tools: [{type: "function", function: {name,
 * description, parameters}}]`) and the function-calling guide (every assistant tool call is
 * answered by a `tool` message with its id before the next assistant turn).
 *
 * Rules:
 * - The system prompt is the first `system` message; `system` messages inside the history
 *   (notifications, interrupt notes) stay `system` messages in place.
 * - An assistant message's text parts are joined as they were streamed (no separator: they are
 *   pieces of one output stream); `content` is null when it has only tool calls, "" when it has
 *   neither text nor tool calls (reasoning only: keeps the user/assistant alternation that
 *   some local chat templates require).
 * - Reasoning parts are not sent back: Chat Completions has no field for them (and the
 *   DeepSeek API rejects `reasoning_content` in input messages).
 * - Tool results become `{role: "tool", tool_call_id, content}`; Chat Completions has no
 *   error flag, so `isError` is carried by the text the tool wrote.
 */
import type { ChatCompletionFunctionTool, ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { ModelMessage, ModelRequest, ToolSpec } from "../types.js";

export function toChatMessages(request: Pick<ModelRequest, "system" | "messages">): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system !== "") messages.push({ role: "system", content: request.system });
  for (const message of request.messages) messages.push(toChatMessage(message));
  return messages;
}

function toChatMessage(message: ModelMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content };
    case "user":
      return { role: "user", content: message.content };
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
    case "assistant": {
      let text = "";
      const toolCalls: ChatCompletionMessageFunctionToolCall[] = [];
      for (const part of message.content) {
        if (part.type === "text") {
          text += part.text;
        } else if (part.type === "tool-call") {
          toolCalls.push({ id: part.id, type: "function", function: { name: part.name, arguments: sendableArguments(part.arguments) } });
        }
      }
      if (toolCalls.length === 0) return { role: "assistant", content: text };
      return { role: "assistant", content: text !== "" ? text : null, tool_calls: toolCalls };
    }
  }
}

/** Tool specs as Chat Completions function tools; `parameters` is the spec's JSON Schema as is. */
export function toChatTools(tools: readonly ToolSpec[]): ChatCompletionFunctionTool[] {
  return tools.map((tool) => ({ type: "function", function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } }));
}

/**
 * Argument JSON as it may be sent back: servers that render history through a chat template
 * (llama.cpp, vLLM) parse it, so empty or unparsable text (a call cut off by `length`) is "{}".
 */
function sendableArguments(text: string): string {
  if (text.trim() === "") return "{}";
  try {
    JSON.parse(text);
    return text;
  } catch {
    return "{}";
  }
}
