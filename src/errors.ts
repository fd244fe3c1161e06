/**
 * PoddError: the one error type that carries a wire ErrorCode, and `toWireError`, the single
 * place any thrown value becomes `{code, message}` for an `error` event.
 */
import { CANCELLED_MESSAGE, type ErrorCode } from "../protocol/index.js";

export class PoddError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoddError";
    this.code = code;
  }
}

/**
 * The model provider failed (HTTP error, broken or stalled stream, bad key). `retryable` says
 * whether the same request may succeed later (429, 5xx, overloaded, connection reset);
 * `retryAfterMs` is the provider's own wait hint (retry-after / retry-after-ms), if any.
 */
export class ProviderError extends PoddError {
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, options: { status?: number; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super("provider_error", message, { cause: options.cause });
    this.name = "ProviderError";
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Why a turn or a compaction was aborted: the `reason` its AbortController was aborted with. */
export type AbortReason = "cancel" | "pause" | "shutdown";

/** A turn was aborted by cancel, pause or shutdown. The wire message is the reference's `Cancelled`. */
export class AbortedError extends PoddError {
  readonly reason: AbortReason;
  constructor(reason: AbortReason) {
    super("internal", CANCELLED_MESSAGE);
    this.name = "AbortedError";
    this.reason = reason;
  }
}

export function toWireError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof PoddError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: "internal", message: error.message };
  return { code: "internal", message: String(error) };
}

/** How system errors read in messages: `no space left on device (ENOSPC)`. */
const IO_ERROR_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EIO: "input/output error",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
};

/** `no space left on device (ENOSPC)` for a system error with a known code, else the error's message. */
export function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && IO_ERROR_TEXT[code]) return `${IO_ERROR_TEXT[code]} (${code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
