/**
 * The Anthropic provider adapter: a LanguageModel over the Messages API through
 * `@anthropic-ai/sdk`, streaming (`messages.create({stream: true})`). It owns the SDK client,
 * one HTTP attempt per call of `attempt`, the idle watchdog around the stream, and the
 * translation to and from neutral parts (to-anthropic-messages.ts, stream-mapper.ts,
 * map-stop-reason.ts, map-error.ts). Retries are NOT the SDK's (`maxRetries: 0`): `withRetry`
 * (retry.ts) re-runs `attempt` while nothing was yielded.
 *
 * Behaviour an attempt guarantees:
 * - abort (pause, cancel, shutdown) ends the iterator quietly, with no `error` part: the SDK's
 *   raw stream just ends on abort (ecosystem-notes.md), so `signal.aborted` is checked after
 *   the loop and in `catch`;
 * - a stream silent for `idleTimeoutMs` is aborted and fails with a retryable "stalled" error
 *   (the SDK's `timeout` bounds only the time to response headers);
 * - a stream that ends without `message_stop` fails with a retryable ProviderError;
 * - failures are yielded as `error` parts carrying ProviderError (map-error.ts), never thrown,
 *   and the API key never appears in them.
 * The key goes only to the SDK (which sends it in a request header); it is not logged.
 */
import Anthropic, { type ClientOptions } from "@anthropic-ai/sdk";
import type { MessageCreateParamsStreaming } from "@anthropic-ai/sdk/resources/messages";
import { ProviderError } from "../../errors.js";
import { withIdleWatchdog } from "../idle-watchdog.js";
import { modelInfo, type ProviderModelOptions } from "../provider-options.js";
import { withRetry } from "../retry.js";
import { sdkLogger } from "../sdk-logger.js";
import type { LanguageModel, ModelInfo, ModelRequest, StreamPart } from "../types.js";
import { toProviderError } from "./map-error.js";
import { StreamMapper } from "./stream-mapper.js";
import { toAnthropicMessages, toAnthropicSystem, toAnthropicTools } from "./to-anthropic-messages.js";

/** The message of the failure when the stream ends before `message_stop`. */
export const INCOMPLETE_STREAM_MESSAGE = "the stream ended before the message was complete";

export function createAnthropicModel(options: ProviderModelOptions): LanguageModel {
  return new AnthropicModel(options);
}

class AnthropicModel implements LanguageModel {
  readonly info: ModelInfo;
  private readonly client: Anthropic;
  private readonly options: ProviderModelOptions;

  constructor(options: ProviderModelOptions) {
    this.options = options;
    this.info = modelInfo("anthropic", options);
    const clientOptions: ClientOptions = {
      // Always explicit: without it the SDK walks a credential chain (env, profiles on disk).
      apiKey: options.apiKey ?? null,
      baseURL: options.config.baseUrl,
      maxRetries: 0,
      timeout: options.requestTimeoutMs,
      ...sdkLogger(options.logger),
    };
    this.client = new Anthropic(clientOptions);
  }

  stream(request: ModelRequest, { signal }: { signal: AbortSignal }): AsyncIterable<StreamPart> {
    return withRetry((attemptSignal) => this.attempt(request, attemptSignal), { policy: this.options.retry, signal });
  }

  /** The Messages API request body of one call. */
  requestBody(request: ModelRequest): MessageCreateParamsStreaming {
    const { config } = this.options;
    const system = toAnthropicSystem(request.system);
    const tools = toAnthropicTools(request.tools);
    return {
      model: config.model,
      max_tokens: request.maxOutputTokens ?? this.options.limits.maxOutputTokens,
      ...(system ? { system } : {}),
      messages: toAnthropicMessages(request.messages),
      ...(tools ? { tools } : {}),
      ...(tools && request.toolChoice === "none" ? { tool_choice: { type: "none" as const } } : {}),
      ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
      ...(config.thinkingBudgetTokens ? { thinking: { type: "enabled" as const, budget_tokens: config.thinkingBudgetTokens } } : {}),
      stream: true,
    };
  }

  /** One HTTP request and its stream, as neutral parts; failures are yielded as `error` parts. */
  private async *attempt(request: ModelRequest, signal: AbortSignal): AsyncIterable<StreamPart> {
    if (signal.aborted) return;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const mapper = new StreamMapper();
    try {
      const stream = await this.client.messages.create(this.requestBody(request), { signal: controller.signal });
      const events = withIdleWatchdog(stream, {
        idleMs: this.options.idleTimeoutMs,
        firstItemMs: this.options.firstChunkTimeoutMs,
        onStall: () => controller.abort(),
      });
      for await (const event of events) {
        for (const part of mapper.push(event)) yield part;
        if (mapper.isComplete) break;
      }
      if (signal.aborted) return;
      if (!mapper.isComplete) yield { type: "error", error: new ProviderError(INCOMPLETE_STREAM_MESSAGE, { retryable: true }) };
    } catch (error) {
      if (signal.aborted) return;
      yield { type: "error", error: toProviderError(error, { apiKey: this.options.apiKey }) };
    } finally {
      signal.removeEventListener("abort", onAbort);
      // Release the HTTP request if the consumer stopped early (a no-op once the stream ended).
      controller.abort();
    }
  }
}
