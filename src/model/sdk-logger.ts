/**
 * sdkLogger: the `logger` / `logLevel` client options of both vendor SDKs (openai and
 * @anthropic-ai/sdk share this logger interface), backed by a pino logger.
 *
 * The SDKs (openai-node README, "Logging"; the Anthropic SDK's the same) call
 * `logger.<level>(message, ...details)` in console style and default to `globalThis.console`
 * (stdout, which a daemon must not use),
 * filtering by its own `logLevel` (default `OPENAI_LOG` / `ANTHROPIC_LOG` or "warn"; set
 * explicitly here so the environment cannot turn on request dumps). pino takes the merge object
 * first, so the details are passed as `{details}`; the SDK's request details already have
 * `authorization` / `api-key` headers redacted, and the pod's pino redacts those paths too.
 * `logLevel` follows the pino logger's level so the SDK does not format lines pino would drop.
 */
import type { Logger as PinoLogger } from "pino";

type LogFunction = (message: string, ...details: unknown[]) => void;

export interface SdkLogging {
  logger: { error: LogFunction; warn: LogFunction; info: LogFunction; debug: LogFunction };
  logLevel: "off" | "error" | "warn" | "info" | "debug";
}

export function sdkLogger(pino: PinoLogger): SdkLogging {
  const forward =
    (level: "error" | "warn" | "info" | "debug"): LogFunction =>
    (message, ...details) => {
      if (details.length === 0) pino[level](message);
      else pino[level]({ details: details.length === 1 ? details[0] : details }, message);
    };
  return {
    logger: { error: forward("error"), warn: forward("warn"), info: forward("info"), debug: forward("debug") },
    logLevel: sdkLevel(pino.level),
  };
}

/** pino level → SDK level: trace/debug → debug, info → info, warn → warn, error/fatal → error, silent → off. */
export function sdkLevel(level: string): SdkLogging["logLevel"] {
  switch (level) {
    case "trace":
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warn":
      return "warn";
    case "error":
    case "fatal":
      return "error";
    case "silent":
      return "off";
    default:
      return "warn";
  }
}
