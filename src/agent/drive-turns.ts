/**
 * The agent turn loop: build the model request from history, stream it, turn stream parts
 * into events and committed entries, run the requested tools, and go again until the model
 * stops asking for tools or the per-run turn bound is reached.
 *
 * Event order per turn (wire-protocol.md, Order): turn_start, [system_item…] (the inbox is
 * drained here, before every model request), llm_call_start, [thinking…], text_delta…,
 * text_done, tool_call_start, tool_call_args_delta…, tool_call_done, usage, llm_call_end,
 * turn_end, tool_result…, then the next turn_start.
 *
 * Commits: each completed block (text, reasoning, tool call) is committed as an
 * assistant_item when it completes; text streamed before an abort is committed as what the
 * user saw; a tool call whose input never completed is dropped. Abort (cancel, pause,
 * shutdown) comes in through `io.signal` with the reason as `signal.reason`; the loop
 * checks it before every model request and every tool, so an abort that arrives before the
 * model call starts is honoured, and it throws AbortedError. Provider failures throw
 * ProviderError; a commit that fails (the session log cannot be written) throws its error out
 * of the loop at once, so nothing runs that the log could not record. This module owns no pod state: counters, the inbox and the log come in `io`.
 */
import type { AssistantItem, Event, InFlightTurn, LogEntry } from "../../protocol/index.js";
import { AbortedError, ProviderError, type AbortReason } from "../errors.js";
import type { LanguageModel, ModelMessage, StreamPart, Usage } from "../model/types.js";
import type { ToolContext } from "../tools/define-tool.js";
import type { ToolRegistry } from "../tools/registry.js";

/** The turn loop yields to the event loop after this many stream parts. */
export const YIELD_EVERY_PARTS = 64;

export interface TurnLoopIo {
  readonly signal: AbortSignal;
  now(): number;
  /**
   * Commit an entry to the session log (and the model's view). Throws when the log cannot take
   * it (a full or read-only disk): the loop stops there and the run ends with that error.
   */
  commit(entry: LogEntry): void;
  /** Send a live event to every client. */
  emit(event: Event): void;
  /** The model's view of the session, including everything committed so far. */
  messages(): ModelMessage[];
  /** Drain queued notifications into system items; called before every model request. */
  beforeModelRequest(): void;
  nextTurn(): number;
  nextLlmCall(): number;
  /** The open model call's partial output (for late-joining clients), or undefined between calls. */
  setInFlight(state: InFlightTurn | undefined): void;
  onUsage(usage: Usage): void;
}

export interface TurnLoopConfig {
  model: LanguageModel;
  tools: ToolRegistry;
  toolContext: Omit<ToolContext, "signal">;
  systemPrompt: string;
  /** Most turns (model calls) one run may take before it ends with `limit_reached`. */
  maxTurnsPerRun: number;
}

export type TurnLoopOutcome = "finished" | "limit_reached";

export interface PendingToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Drive turns until the model stops. `pendingToolCalls` are run first (a resumed turn's
 * unanswered calls). Throws AbortedError on abort, ProviderError when the model fails.
 */
export async function driveTurns(config: TurnLoopConfig, io: TurnLoopIo, pendingToolCalls: PendingToolCall[] = []): Promise<TurnLoopOutcome> {
  if (pendingToolCalls.length > 0) await runTools(config, io, pendingToolCalls);
  for (let turnsThisRun = 0; ; turnsThisRun += 1) {
    throwIfAborted(io.signal);
    if (turnsThisRun >= config.maxTurnsPerRun) return "limit_reached";
    const toolCalls = await runOneTurn(config, io);
    if (toolCalls.length === 0) return "finished";
    await runTools(config, io, toolCalls);
  }
}

async function runOneTurn(config: TurnLoopConfig, io: TurnLoopIo): Promise<PendingToolCall[]> {
  const turn = io.nextTurn();
  io.emit({ event: "turn_start", data: { turn } });
  const call = new ModelCall(io, turn);
  try {
    io.beforeModelRequest();
    throwIfAborted(io.signal);
    const llmCall = io.nextLlmCall();
    call.begin(llmCall);
    io.emit({ event: "llm_call_start", data: { llm_call: llmCall } });
    const request = {
      system: config.systemPrompt,
      messages: io.messages(),
      tools: config.tools.specs(),
      maxOutputTokens: config.model.info.maxOutputTokens,
    };
    let parts = 0;
    for await (const part of config.model.stream(request, { signal: io.signal })) {
      if (io.signal.aborted) break;
      call.handle(part);
      // A fast stream must not hold the event loop: methods (cancel, pause) and socket writes get a turn.
      if (++parts % YIELD_EVERY_PARTS === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    throwIfAborted(io.signal);
    if (!call.finished) throw new ProviderError("the model stream ended without a finish");
    io.emit({ event: "llm_call_end", data: { llm_call: llmCall } });
    io.setInFlight(undefined);
    io.emit({ event: "turn_end", data: { turn, result: "finished" } });
    io.commit({ kind: "turn_end", ts: io.now(), turn, result: "finished" });
    return call.toolCalls;
  } catch (error) {
    call.abandon();
    io.setInFlight(undefined);
    if (error instanceof AbortedError && error.reason === "pause") {
      io.emit({ event: "turn_end", data: { turn, result: "paused" } });
      io.commit({ kind: "turn_end", ts: io.now(), turn, result: "paused" });
    }
    throw error;
  }
}

/** State of one streaming model call: open blocks, completed tool calls, the in-flight view. */
class ModelCall {
  readonly toolCalls: PendingToolCall[] = [];
  finished = false;
  private text: string | undefined;
  private thinking: string | undefined;
  private readonly openToolCalls = new Map<string, { name: string; json: string }>();
  private readonly inFlight: InFlightTurn;
  private readonly io: TurnLoopIo;

  constructor(io: TurnLoopIo, turn: number) {
    this.io = io;
    this.inFlight = { turn, thinking: "", text: "", tool_calls: [] };
  }

  begin(llmCall: number): void {
    this.inFlight.llm_call = llmCall;
    this.io.setInFlight(this.inFlight);
  }

  handle(part: StreamPart): void {
    const handler = this.handlers[part.type] as (part: StreamPart) => void;
    handler(part);
  }

  /** Commit what the user already saw of an interrupted call: the open text block. */
  abandon(): void {
    if (this.text) this.commitItem({ kind: "message", role: "assistant", content: this.text });
    this.text = undefined;
    this.thinking = undefined;
  }

  private readonly handlers: { [Type in StreamPart["type"]]: (part: Extract<StreamPart, { type: Type }>) => void } = {
    "text-start": () => {
      this.text = "";
    },
    "text-delta": (part) => {
      this.text = (this.text ?? "") + part.text;
      this.inFlight.text = this.text;
      this.io.emit({ event: "text_delta", data: { text: part.text } });
    },
    "text-end": () => {
      const text = this.text ?? "";
      this.text = undefined;
      this.inFlight.text = "";
      this.io.emit({ event: "text_done", data: { text } });
      if (text !== "") this.commitItem({ kind: "message", role: "assistant", content: text });
    },
    "reasoning-start": () => {
      this.thinking = "";
      this.io.emit({ event: "thinking_start" });
    },
    "reasoning-delta": (part) => {
      this.thinking = (this.thinking ?? "") + part.text;
      this.inFlight.thinking = this.thinking;
      this.io.emit({ event: "thinking_delta", data: { text: part.text } });
    },
    "reasoning-end": (part) => {
      const text = this.thinking ?? "";
      this.thinking = undefined;
      this.inFlight.thinking = "";
      this.io.emit({ event: "thinking_done", data: { text } });
      if (text !== "" || part.signature || part.redactedData) {
        this.commitItem({ kind: "reasoning", text, signature: part.signature, redacted_data: part.redactedData });
      }
    },
    "tool-input-start": (part) => {
      this.openToolCalls.set(part.id, { name: part.name, json: "" });
      this.inFlight.tool_calls.push({ id: part.id, name: part.name, arguments: "" });
      this.io.emit({ event: "tool_call_start", data: { id: part.id, name: part.name } });
    },
    "tool-input-delta": (part) => {
      const open = this.openToolCalls.get(part.id);
      if (open) open.json += part.delta;
      const view = this.inFlight.tool_calls.find((call) => call.id === part.id);
      if (view) view.arguments += part.delta;
      this.io.emit({ event: "tool_call_args_delta", data: { id: part.id, json: part.delta } });
    },
    "tool-input-end": () => {},
    "tool-call": (part) => {
      if (!this.openToolCalls.has(part.id)) this.io.emit({ event: "tool_call_start", data: { id: part.id, name: part.name } });
      this.openToolCalls.delete(part.id);
      this.inFlight.tool_calls = this.inFlight.tool_calls.filter((call) => call.id !== part.id);
      const args = part.input.trim() === "" ? "{}" : part.input;
      this.io.emit({ event: "tool_call_done", data: { id: part.id, name: part.name, arguments: args } });
      this.commitItem({ kind: "tool_call", id: part.id, name: part.name, arguments: args });
      this.toolCalls.push({ id: part.id, name: part.name, arguments: args });
    },
    retry: (part) => {
      this.io.emit({
        event: "llm_retry",
        data: {
          llm_call: this.inFlight.llm_call ?? 0,
          failed_attempt: part.failedAttempt,
          max_attempts: part.maxAttempts,
          wait_ms: part.waitMs,
          elapsed_ms: part.elapsedMs,
          status: part.status,
          error: part.error,
        },
      });
    },
    finish: (part) => {
      this.finished = true;
      const usage = part.usage;
      this.io.emit({
        event: "usage",
        data: {
          input_tokens: usage.inputTokens,
          output_tokens: usage.outputTokens,
          cache_read_input_tokens: usage.cacheReadInputTokens,
        },
      });
      this.io.commit({
        kind: "llm_usage",
        ts: this.io.now(),
        llm_call: this.inFlight.llm_call ?? 0,
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cache_read_input_tokens: usage.cacheReadInputTokens,
        cache_creation_input_tokens: usage.cacheCreationInputTokens,
      });
      this.io.onUsage(usage);
    },
    error: (part) => {
      throw part.error;
    },
  };

  private commitItem(item: AssistantItem): void {
    this.io.commit({ kind: "assistant_item", ts: this.io.now(), item });
  }
}

/** Run tool calls in order; an abort interrupts the running tool and stops the rest. */
async function runTools(config: TurnLoopConfig, io: TurnLoopIo, calls: PendingToolCall[]): Promise<void> {
  for (const call of calls) {
    throwIfAborted(io.signal);
    const result = await config.tools.execute(call.name, call.arguments, { ...config.toolContext, signal: io.signal });
    const interrupted = io.signal.aborted;
    const summary = interrupted && !/interrupted/i.test(result.summary) ? `${result.summary} [interrupted]` : result.summary;
    // A tool that finished as the abort arrived keeps its own outcome; the summary notes the interruption.
    const isError = result.isError;
    // Committed first: a result the log could not take is never shown as if it were saved.
    io.commit({ kind: "tool_result", ts: io.now(), item: { kind: "tool_result", id: call.id, summary, output: result.output, is_error: isError } });
    io.emit({ event: "tool_result", data: { id: call.id, summary, output: result.output, is_error: isError } });
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason = signal.reason as AbortReason;
  throw new AbortedError(reason === "pause" || reason === "shutdown" ? reason : "cancel");
}
