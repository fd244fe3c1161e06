/**
 * errorBodyFetch: a `fetch` for the `openai` SDK that rewrites error bodies of
 * OpenAI-compatible servers into OpenAI's shape, so the provider's message survives.
 *
 * The SDK reads an error message only from the body's `error` field (`{"error": {"message"}}`,
 * OpenAI API reference, "Error codes"); any other JSON body becomes "400 status code (no
 * body)". Servers differ: vLLM's older `ErrorResponse` is top-level `{"object": "error",
 * "message", "type", "code"}`, FastAPI-based servers answer validation errors with
 * `{"detail": …}`. For a non-2xx JSON response without `error`, this wraps the message
 * (`message`, else `detail`, else the whole body) as `{"error": {"message", "type", "code"}}`.
 * Successful responses and bodies that already have `error` pass through untouched.
 */
type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export function errorBodyFetch(inner: Fetch = globalThis.fetch): Fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (response.ok || !(response.headers.get("content-type") ?? "").includes("json")) return response;
    const text = await response.text();
    const body = normaliseErrorBody(text);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  };
}

/** The error body text in OpenAI's shape (unchanged when it already is, or is not JSON). */
export function normaliseErrorBody(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text;
  }
  if (!body || typeof body !== "object" || Array.isArray(body) || "error" in body) return text;
  const record = body as Record<string, unknown>;
  const message = typeof record.message === "string" ? record.message : record.detail !== undefined ? stringify(record.detail) : text;
  return JSON.stringify({ error: { message, type: record.type ?? null, code: record.code ?? null } });
}

function stringify(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
