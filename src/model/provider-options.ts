/** What every provider adapter is built from (see resolve-model.ts). */
import type { Logger } from "pino";
import type { ModelConfig } from "../config/model-config.js";
import type { ModelLimits } from "./catalog.js";
import type { RetryPolicy } from "./retry.js";

export interface ProviderModelOptions {
  config: ModelConfig;
  /** From the provider's environment variable; never logged. Undefined for keyless local servers. */
  apiKey?: string;
  limits: ModelLimits;
  retry: RetryPolicy;
  /** Longest silence inside a stream before it counts as stalled, ms. */
  idleTimeoutMs: number;
  /** Bound on the time to response headers, ms (the SDK's `timeout`). */
  requestTimeoutMs: number;
  /** For the SDK's own log lines (its default logger writes to stdout); already redacting. */
  logger: Logger;
}

/** Default bound on the time to response headers, ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
