/**
 * The script builder: the one way tests (and benchmarks) write scenarios for the scripted
 * model (style.md #6). Each `finish()`, `hang()` or `fail()` closes one response, i.e. one
 * model call:
 *
 *   script().text("Reading it.").toolCall("read_file", { path: "a.txt" }).finish()
 *           .text("Done.").finish().build()
 */
import type { ScenarioInput, ScenarioStep } from "./scenario.js";

export class ScriptBuilder {
  private readonly responses: { steps: ScenarioStep[]; when?: { system_text_includes: string[] } }[] = [];
  private current: ScenarioStep[] = [];
  private currentWhen: string[] | undefined;
  private options: Omit<ScenarioInput, "responses"> = {};

  /**
   * A text block; `gate` holds the block open after its last delta until that file exists.
   * `open` leaves the block unfinished (no `text_done`), as a stream that breaks off mid-block:
   * the response must then end with `fail()` (an error after output, which is not retried) or
   * `hang()`.
   */
  text(text: string, options: { chunks?: string[]; delayMs?: number; gate?: string; open?: boolean } = {}): this {
    this.current.push({ type: "text", text, chunks: options.chunks, delay_ms: options.delayMs, gate: options.gate, open: options.open || undefined });
    return this;
  }
  thinking(text: string, options: { signature?: string; delayMs?: number } = {}): this {
    this.current.push({ type: "thinking", text, signature: options.signature, delay_ms: options.delayMs });
    return this;
  }
  toolCall(name: string, input: unknown, options: { id?: string; rawArguments?: string; delayMs?: number } = {}): this {
    this.current.push({ type: "tool_call", name, input, id: options.id, arguments: options.rawArguments, delay_ms: options.delayMs });
    return this;
  }
  delay(ms: number): this {
    this.current.push({ type: "delay", ms });
    return this;
  }
  /** Hold the call open until `file` exists (the test creates it when it is ready). */
  gate(file: string): this {
    this.current.push({ type: "gate", file });
    return this;
  }
  usage(usage: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number }): this {
    this.current.push({ type: "usage", usage });
    return this;
  }
  /**
   * Play the response being written only for a request whose system messages (notifications,
   * child reports) contain every one of `texts` (the scenario's `when`); a call plays the first
   * unplayed response that matches.
   */
  when(...texts: string[]): this {
    this.currentWhen = texts;
    return this;
  }
  /** Close the response: the model call finishes normally. */
  finish(): this {
    const last = this.current.at(-1);
    const open = this.current.findIndex((step) => step.type === "text" && step.open);
    if (open !== -1 && (open !== this.current.length - 2 || (last?.type !== "error" && last?.type !== "hang"))) {
      throw new Error("script(): a text block with `open` must be followed directly by fail() or hang()");
    }
    this.responses.push(this.currentWhen ? { steps: this.current, when: { system_text_includes: this.currentWhen } } : { steps: this.current });
    this.current = [];
    this.currentWhen = undefined;
    return this;
  }
  /** Close the response with a stream that never ends until aborted. */
  hang(): this {
    this.current.push({ type: "hang" });
    return this.finish();
  }
  /** Close the response with a provider error (`retryable`: the retry policy plays the next response). */
  fail(message: string, options: { status?: number; retryable?: boolean; retryAfterMs?: number } = {}): this {
    this.current.push({ type: "error", message, status: options.status, retryable: options.retryable, retry_after_ms: options.retryAfterMs });
    return this.finish();
  }
  /** The retry policy for retryable failures. */
  retry(policy: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }): this {
    this.options = { ...this.options, retry: { max_attempts: policy.maxAttempts, base_delay_ms: policy.baseDelayMs, max_delay_ms: policy.maxDelayMs } };
    return this;
  }
  whenExhausted(mode: "reply" | "repeat_last" | "error"): this {
    this.options = { ...this.options, when_exhausted: mode };
    return this;
  }
  model(name: string): this {
    this.options = { ...this.options, model: name };
    return this;
  }
  /** The context window the model reports, tokens. */
  contextWindow(tokens: number): this {
    this.options = { ...this.options, context_window: tokens };
    return this;
  }
  build(): ScenarioInput {
    if (this.current.length > 0) throw new Error("script(): the last response is not closed (call finish(), hang() or fail())");
    return { ...this.options, responses: this.responses.map((response) => ({ ...response, steps: response.steps.map(dropUndefined) })) };
  }
}

export function script(): ScriptBuilder {
  return new ScriptBuilder();
}

function dropUndefined(step: ScenarioStep): ScenarioStep {
  return Object.fromEntries(Object.entries(step).filter(([, value]) => value !== undefined)) as ScenarioStep;
}
