/**
 * Scrubbing an API key out of text (error messages bound for a log line, an event or the
 * session log); shared by the adapters' error mapping (anthropic/map-error.ts,
 * openai/to-provider-error.ts).
 */

const REDACTED = "[redacted]";

/** Replace every occurrence of `secret` in `text` with `[redacted]` (a no-op for a missing secret or one under 8 characters). */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 8) return text;
  return text.split(secret).join(REDACTED);
}
