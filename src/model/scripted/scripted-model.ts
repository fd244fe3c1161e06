/**
 * The embedded default model: plays a Scenario deterministically, one response per model
 * call, so a pod runs with no API key and no network. It emits the same neutral stream parts
 * a real adapter does, including provider errors, and honours abort the way the vendor SDKs
 * do (the stream just ends; the caller checks `signal.aborted`).
 */
import fs, { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ProviderError } from "../../errors.js";
import type { LanguageModel, ModelInfo, ModelMessage, ModelRequest, StreamPart, Usage } from "../types.js";
import { Scenario, type ScenarioResponse, type ScenarioStep } from "./scenario.js";
import { describeIssues } from "../../../protocol/index.js";
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from "../retry.js";

/** Yield to the event loop after this many parts, so methods (cancel, pause) and socket I/O interleave. */
const YIELD_EVERY_PARTS = 64;

/** What the scripted model says once its scenario has no response left for a request. */
export const EXHAUSTED_REPLY =
  "(This pod runs podd's embedded scripted model: it plays a fixed scenario, which has no more responses, so it has no answer for this. " +
  "For a real model start a pod with --model anthropic:<model>, openai:<model> or openai-compatible:<model> --base-url <url>.)";

/** Longest quote of one message in the summary the scripted model writes for a compaction, characters. */
const SUMMARY_QUOTE_CHARS = 160;

/**
 * The summary the scripted model writes when a compaction (a request with `toolChoice: "none"`)
 * finds its scenario exhausted: the conversation's user inputs and tool calls, quoted short, so
 * `podd compact` works on the embedded demo as on a real model.
 */
function mechanicalSummary(messages: readonly ModelMessage[]): string {
  const quote = (text: string): string => {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length <= SUMMARY_QUOTE_CHARS ? line : `${line.slice(0, SUMMARY_QUOTE_CHARS - 1)}…`;
  };
  const lines = ["Summary written by podd's embedded scripted model (it has no real understanding of the conversation):"];
  for (const message of messages.slice(0, -1)) {
    if (message.role === "user") lines.push(`- The user wrote: ${quote(message.content)}`);
    else if (message.role === "assistant") {
      for (const part of message.content) {
        if (part.type === "tool-call") lines.push(`- The assistant called ${part.name}(${quote(part.arguments)}).`);
        else if (part.type === "text" && part.text.trim() !== "") lines.push(`- The assistant answered: ${quote(part.text)}`);
      }
    }
  }
  return lines.join("\n");
}

export class ScriptedModel implements LanguageModel {
  readonly info: ModelInfo;
  private readonly scenario: Scenario;
  private readonly retryPolicy: RetryPolicy;
  private calls = 0;
  private readonly played = new Set<number>();

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.retryPolicy = {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: scenario.retry?.max_attempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      baseDelayMs: scenario.retry?.base_delay_ms ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: scenario.retry?.max_delay_ms ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    };
    this.info = { provider: "scripted", model: scenario.model, contextWindow: scenario.context_window, maxOutputTokens: 8192 };
  }

  /** Load a scenario file. Throws an Error naming the file and the first problems. */
  static fromFile(file: string): ScriptedModel {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`cannot read scenario ${file}: ${(error as Error).message}`);
    }
    const parsed = Scenario.safeParse(json);
    if (!parsed.success) throw new Error(`invalid scenario ${file}: ${describeIssues(parsed.error)}`);
    return new ScriptedModel(parsed.data);
  }

  /** Number of responses played so far (one per attempt). */
  get callCount(): number {
    return this.calls;
  }

  /** One model call: responses are played one per attempt under the same retry policy as real providers. */
  stream(request: ModelRequest, { signal }: { signal: AbortSignal }): AsyncIterable<StreamPart> {
    return withRetry((attemptSignal) => this.playNextResponse(request, attemptSignal), { policy: this.retryPolicy, signal });
  }

  private async *playNextResponse(request: ModelRequest, signal: AbortSignal): AsyncIterable<StreamPart> {
    const response = this.nextResponse(request);
    const context = new TemplateContext(request.messages);
    let usage: Usage = { inputTokens: estimateTokens(request), outputTokens: 0 };
    let toolCalls = 0;
    let sent = 0;
    const pace = async (delayMs: number | undefined): Promise<boolean> => {
      if (delayMs) await delay(delayMs, undefined, { signal }).catch(() => undefined);
      else if (++sent % YIELD_EVERY_PARTS === 0) await new Promise((resolve) => setImmediate(resolve));
      return !signal.aborted;
    };
    for (const step of response.steps) {
      if (signal.aborted) return;
      switch (step.type) {
        case "text": {
          const text = context.fill(step.text);
          yield { type: "text-start" };
          for (const chunk of step.chunks ?? splitWords(text)) {
            if (!(await pace(step.delay_ms))) return;
            yield { type: "text-delta", text: chunk };
          }
          if (step.gate && !(await waitForFile(step.gate, signal))) return;
          if (step.open) break;
          yield { type: "text-end" };
          usage = { ...usage, outputTokens: (usage.outputTokens ?? 0) + Math.ceil(text.length / 4) };
          break;
        }
        case "thinking": {
          yield { type: "reasoning-start" };
          for (const chunk of splitWords(step.text)) {
            if (!(await pace(step.delay_ms))) return;
            yield { type: "reasoning-delta", text: chunk };
          }
          yield { type: "reasoning-end", signature: step.signature };
          break;
        }
        case "tool_call": {
          const id = step.id ?? `call_${this.calls}_${toolCalls}`;
          toolCalls += 1;
          const input = step.arguments ?? JSON.stringify(step.input ?? {});
          yield { type: "tool-input-start", id, name: step.name };
          for (const chunk of splitJson(input)) {
            if (!(await pace(step.delay_ms))) return;
            yield { type: "tool-input-delta", id, delta: chunk };
          }
          yield { type: "tool-input-end", id };
          yield { type: "tool-call", id, name: step.name, input };
          break;
        }
        case "delay":
          await delay(step.ms, undefined, { signal }).catch(() => undefined);
          break;
        case "hang":
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            else signal.addEventListener("abort", () => resolve(), { once: true });
          });
          return;
        case "gate":
          if (!(await waitForFile(step.file, signal))) return;
          break;
        case "error":
          yield {
            type: "error",
            error: new ProviderError(step.message, { status: step.status, retryable: step.retryable, retryAfterMs: step.retry_after_ms }),
          };
          return;
        case "usage":
          usage = {
            inputTokens: step.usage.input_tokens ?? usage.inputTokens,
            outputTokens: step.usage.output_tokens ?? usage.outputTokens,
            cacheReadInputTokens: step.usage.cache_read_input_tokens,
          };
          break;
      }
    }
    if (signal.aborted) return;
    yield { type: "finish", reason: toolCalls > 0 ? "tool-calls" : "stop", usage };
  }

  /** The first unplayed response that matches the request (responses without `when` match any). */
  private nextResponse(request: ModelRequest): ScenarioResponse {
    this.calls += 1;
    const responses = this.scenario.responses;
    const systemText = request.messages.flatMap((message) => (message.role === "system" ? [message.content] : [])).join("\n");
    const index = responses.findIndex(
      (candidate, at) => !this.played.has(at) && (candidate.when?.system_text_includes ?? []).every((text) => systemText.includes(text)),
    );
    const response = responses[index];
    if (response) {
      this.played.add(index);
      return response;
    }
    if (request.toolChoice === "none" && this.scenario.when_exhausted !== "error") {
      return { steps: [{ type: "text", text: mechanicalSummary(request.messages) }] };
    }
    switch (this.scenario.when_exhausted) {
      case "repeat_last": {
        const last = responses[responses.length - 1];
        if (last) return last;
        return { steps: [{ type: "text", text: EXHAUSTED_REPLY }] };
      }
      case "error":
        return { steps: [{ type: "error", message: `scripted scenario exhausted after ${responses.length} responses` }] };
      case "reply":
        return { steps: [{ type: "text", text: EXHAUSTED_REPLY }] };
    }
  }
}

/** Resolve true once `file` exists, false if `signal` aborts first. Watches the directory; no polling. */
function waitForFile(file: string, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (fs.existsSync(file)) return resolve(true);
    const watcher = fs.watch(path.dirname(file), () => {
      if (fs.existsSync(file)) finish(true);
    });
    const onAbort = (): void => finish(false);
    const finish = (value: boolean): void => {
      watcher.close();
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (fs.existsSync(file)) finish(true);
  });
}

/** Split text after each whitespace run: "a b  c" → ["a ", "b  ", "c"]. */
function splitWords(text: string): string[] {
  const chunks = text.match(/\S+\s*|\s+/g);
  return chunks ?? [];
}

/** Split argument JSON into a few deltas, as providers stream it. */
function splitJson(json: string): string[] {
  const size = 16;
  const chunks: string[] = [];
  for (let index = 0; index < json.length; index += size) chunks.push(json.slice(index, index + size));
  return chunks.length > 0 ? chunks : [""];
}

function estimateTokens(request: ModelRequest): number {
  let chars = request.system.length;
  for (const message of request.messages) {
    if (message.role === "assistant") for (const part of message.content) chars += "text" in part ? part.text.length : part.arguments.length;
    else chars += message.content.length;
  }
  return Math.ceil(chars / 4);
}

/** Fills `{{last_user_text}}`, `{{last_system_text}}` and `{{last_tool_output}}` (each with an optional `:N` character cap) from the request's messages. */
class TemplateContext {
  private readonly messages: readonly ModelMessage[];
  constructor(messages: readonly ModelMessage[]) {
    this.messages = messages;
  }
  fill(text: string): string {
    return text.replace(/\{\{(last_user_text|last_system_text|last_tool_output)(?::(\d+))?\}\}/g, (_match, name: string, limit?: string) => {
      const value = this.last(name === "last_user_text" ? "user" : name === "last_system_text" ? "system" : "tool");
      return limit ? value.slice(0, Number(limit)) : value;
    });
  }
  private last(role: "user" | "system" | "tool"): string {
    for (let index = this.messages.length - 1; index >= 0; index -= 1) {
      const message = this.messages[index];
      if (message?.role === role) return message.content;
    }
    return "";
  }
}

export type { ScenarioStep };
