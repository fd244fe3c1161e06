/**
 * The OpenAI Chat Completions adapter (provider `openai_chat`, the reference's name for the
 * scheme), for `openai:<model>` and for `openai-compatible:<model>` servers (Ollama, llama.cpp
 * server, vLLM, … through `base_url`). It owns the SDK client and one HTTP attempt; message
 * conversion, chunk mapping, finish/usage mapping and error mapping are its sibling modules,
 * and the retry policy is the shared `withRetry`.
 *
 * One attempt: `chat.completions.create({stream: true, stream_options: {include_usage: true}})`
 * through the raw stream iterator (not the `.stream()` helper, which fails on a first chunk
 * without `role`: ecosystem-notes.md), under the idle watchdog (the SDK `timeout` bounds only
 * the time to response headers). Abort (pause, cancel, shutdown) ends the iterator quietly, so
 * `signal.aborted` is checked after the loop and in `catch`: an aborted attempt yields nothing
 * more and throws nothing. A stream that breaks or stalls *after* its finish_reason still
 * finishes (only usage may be missing); one that ends before any finish_reason fails with a
 * retryable ProviderError.
 *
 * Output cap: `max_completion_tokens` for OpenAI (the API reference marks `max_tokens`
 * deprecated and reasoning models reject it), `max_tokens` for compatible servers (most do not
 * know `max_completion_tokens`). For a compatible server the cap is sent only when it is
 * explicit (the profile's `max_tokens`, or a request cap other than the catalog default): the
 * catalog cannot know a local model, and vLLM rejects a request whose prompt plus `max_tokens`
 * exceeds the served context ("This model's maximum context length is …"), so a guessed 8192
 * would fail every request on a small-context server; the server's own default applies instead. The API key goes only to the SDK (Authorization header); it
 * is never logged and is scrubbed from error messages. Local servers accept any key, so a
 * missing one is sent as "not-needed".
 */
import { ulid } from "ulid";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import { modelInfo, type ProviderModelOptions } from "../provider-options.js";
import { withIdleWatchdog } from "../idle-watchdog.js";
import { withRetry } from "../retry.js";
import type { LanguageModel, ModelInfo, ModelRequest, StreamPart } from "../types.js";
import { ChatChunkMapper, type ChatChunk } from "./chat-chunk-mapper.js";
import { toChatMessages, toChatTools } from "./convert-messages.js";
import { errorBodyFetch } from "./error-body-fetch.js";
import { sdkLogger } from "../sdk-logger.js";
import { toProviderError } from "./to-provider-error.js";

/** The provider name shown in the greeting and status.json. */
export const OPENAI_CHAT_PROVIDER = "openai_chat";

/** Sent as the key to servers that need none (the SDK refuses to start without one). */
const PLACEHOLDER_API_KEY = "not-needed";

export function createOpenAIModel(options: ProviderModelOptions): LanguageModel {
  return new OpenAIChatModel(options);
}

class OpenAIChatModel implements LanguageModel {
  readonly info: ModelInfo;
  private readonly options: ProviderModelOptions;
  private readonly client: OpenAI;

  constructor(options: ProviderModelOptions) {
    this.options = options;
    this.info = modelInfo(OPENAI_CHAT_PROVIDER, options);
    this.client = new OpenAI({
      apiKey: options.apiKey ?? PLACEHOLDER_API_KEY,
      baseURL: options.config.baseUrl,
      maxRetries: 0,
      timeout: options.requestTimeoutMs,
      ...sdkLogger(options.logger),
      fetch: errorBodyFetch(),
    });
  }

  stream(request: ModelRequest, { signal }: { signal: AbortSignal }): AsyncIterable<StreamPart> {
    return withRetry((attemptSignal) => this.attempt(request, attemptSignal), { policy: this.options.retry, signal });
  }

  private async *attempt(request: ModelRequest, signal: AbortSignal): AsyncIterable<StreamPart> {
    if (signal.aborted) return;
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener("abort", abort, { once: true });
    // Unique across restarts too (a restored session keeps its history): a ulid, not a counter.
    const mapper = new ChatChunkMapper({ newToolCallId: () => `call_${ulid()}` });
    try {
      const stream = await this.client.chat.completions.create(chatRequestBody(request, this.options), { signal: controller.signal });
      const chunks = withIdleWatchdog(stream as AsyncIterable<ChatChunk>, {
        idleMs: this.options.idleTimeoutMs,
        firstItemMs: this.options.firstChunkTimeoutMs,
        onStall: abort,
      });
      for await (const chunk of chunks) yield* mapper.push(chunk);
      if (signal.aborted) return;
      yield* mapper.end();
    } catch (error) {
      if (signal.aborted) return;
      const failure = toProviderError(error, { apiKey: this.options.apiKey, requestTimeoutMs: this.options.requestTimeoutMs });
      if (!mapper.isComplete) throw failure;
      this.options.logger.warn({ error: failure.message }, "the model stream broke after its finish_reason; finishing without the rest");
      yield* mapper.end();
    } finally {
      signal.removeEventListener("abort", abort);
      controller.abort();
    }
  }
}

/** The Chat Completions request body for `request` (see the module comment for the output cap). */
export function chatRequestBody(
  request: ModelRequest,
  options: Pick<ProviderModelOptions, "config" | "limits">,
): ChatCompletionCreateParamsStreaming {
  const maxTokens = request.maxOutputTokens ?? options.limits.maxOutputTokens;
  const body: ChatCompletionCreateParamsStreaming = {
    model: options.config.model,
    messages: toChatMessages(request),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.tools.length > 0) {
    body.tools = toChatTools(request.tools);
    if (request.toolChoice === "none") body.tool_choice = "none";
  }
  if (options.config.provider === "openai") body.max_completion_tokens = maxTokens;
  else if (options.config.maxOutputTokens !== undefined || maxTokens !== options.limits.maxOutputTokens) body.max_tokens = maxTokens;
  if (options.config.temperature !== undefined) body.temperature = options.config.temperature;
  return body;
}
