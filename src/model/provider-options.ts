/** What every provider adapter is built from (see resolve-model.ts). */
import type { Logger } from "pino";
import type { ModelConfig } from "../config/model-config.js";
import type { ModelLimits } from "../config/model-catalog.js";
import type { RetryPolicy } from "./retry.js";

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
