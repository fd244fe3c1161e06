/** What every provider adapter is built from (see resolve-model.ts). */
import type { Logger } from "pino";
import type { ModelConfig } from "../config/model-config.js";
import type { ModelLimits } from "../config/model-catalog.js";
import type { RetryPolicy } from "./retry.js";
import type { ModelInfo } from "./types.js";

export interface ProviderModelOptions {
  config: ModelConfig;
  /** From the provider's environment variable; never logged. Undefined for keyless local servers. */
  apiKey?: string;
  limits: ModelLimits;
  retry: RetryPolicy;
  /** Longest silence inside a stream before it counts as stalled, ms. */
  idleTimeoutMs: number;
  /** Longest wait for a stream's first chunk after the headers, ms (a local server may process the prompt first). */
  firstChunkTimeoutMs: number;
  /** Bound on the time to response headers, ms (the SDK's `timeout`). */
  requestTimeoutMs: number;
  /** For the SDK's own log lines (its default logger writes to stdout); already redacting. */
  logger: Logger;
}

/** Default bound on the time to response headers, ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** Default bound on the wait for the first chunk from an OpenAI-compatible (often local, CPU) server, ms; others use the idle timeout. */
export const DEFAULT_LOCAL_FIRST_CHUNK_TIMEOUT_MS = 600_000;

/** The `info` of an adapter built from `options`, shown as `provider` (e.g. `anthropic`, `openai_chat`). */
export function modelInfo(provider: string, options: Pick<ProviderModelOptions, "config" | "limits">): ModelInfo {
  return { provider, model: options.config.model, contextWindow: options.limits.contextWindow, maxOutputTokens: options.limits.maxOutputTokens };
}
