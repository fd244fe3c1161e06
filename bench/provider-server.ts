/**
 * The fake model provider of the provider-path benchmark (bench/provider.ts): a bare
 * `node:http` server on 127.0.0.1 that answers `POST /v1/messages` (Anthropic) and
 * `POST /v1/chat/completions` (OpenAI) with a 200 Server-Sent Events stream. The streams are
 * built once with the tests' SSE builders (test/helpers/anthropic-sse.ts, openai-sse.ts, so
 * the wire format is the one the adapters are tested against) and encoded once into one
 * Buffer per provider, in FakeProvider's framing (`event: …\ndata: …\n\n`). A request is
 * answered with a single `write` of the whole body (chunked transfer encoding, as the real
 * APIs stream) and `end`: no per-event work and no pauses, so the server costs one copy per
 * request and libuv does the rest.
 *
 * test/helpers/fake-provider.ts is not used here: it writes one HTTP chunk per SSE event (a
 * `response.write` per delta, i.e. 50,000+ JS calls and chunk headers per run), which is
 * right for tests but would put the server's own per-delta cost into the measurement.
 *
 * Every request is recorded with `process.hrtime.bigint()` stamps (the monotonic clock, the
 * same in every process on the machine), so the runner can tell request set-up from streaming.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { anthropicStream } from "../test/helpers/anthropic-sse.js";
import type { FakeResponse, SseStep } from "../test/helpers/fake-provider.js";
import { openAIStream } from "../test/helpers/openai-sse.js";

export const ANTHROPIC_PATH = "/v1/messages";
export const OPENAI_PATH = "/v1/chat/completions";

export interface ServedRequest {
  path: string;
  /** When the whole request body had arrived. */
  receivedNs: bigint;
  bodyBytes: number;
  /** When the last byte of the response had been handed to the kernel ('finish'). */
  finishedNs?: bigint;
}

/** FakeProvider's framing of SSE steps (data objects JSON-encoded), as one string. */
export function encodeSse(steps: readonly SseStep[]): string {
  let text = "";
  for (const step of steps) {
    if (!("data" in step)) throw new Error("the benchmark streams hold SSE events only");
    const data = typeof step.data === "string" ? step.data : JSON.stringify(step.data);
    text += `${step.event ? `event: ${step.event}\n` : ""}data: ${data}\n\n`;
  }
  return text;
}

function sseSteps(response: FakeResponse): SseStep[] {
  if (!("sse" in response)) throw new Error("expected a streaming response");
  return response.sse;
}

/** The Anthropic Messages stream of one text block with these deltas (`message_start` … `message_stop`). */
export function anthropicBody(chunks: string[]): Buffer {
  return Buffer.from(encodeSse(sseSteps(anthropicStream({ blocks: [{ type: "text", chunks }] }))));
}

/** The Chat Completions stream of a text answer with these deltas (role chunk … usage chunk, `[DONE]`). */
export function openAIBody(chunks: string[]): Buffer {
  return Buffer.from(encodeSse(sseSteps(openAIStream({ model: "gpt-4.1", text: chunks }))));
}

export class BenchProvider {
  readonly requests: ServedRequest[] = [];
  private readonly server: http.Server;
  private readonly bodies: ReadonlyMap<string, Buffer>;

  private constructor(bodies: ReadonlyMap<string, Buffer>) {
    this.bodies = bodies;
    this.server = http.createServer((request, response) => this.handle(request, response));
  }

  /** Listen on an ephemeral port of 127.0.0.1, serving `bodies` (request path → SSE body). */
  static async start(bodies: ReadonlyMap<string, Buffer>): Promise<BenchProvider> {
    const provider = new BenchProvider(bodies);
    await new Promise<void>((resolve, reject) => {
      provider.server.once("error", reject);
      provider.server.listen(0, "127.0.0.1", () => resolve());
    });
    return provider;
  }

  /** e.g. `http://127.0.0.1:41234`. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    let bodyBytes = 0;
    request.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
    request.on("end", () => {
      const path = (request.url ?? "").split("?")[0] ?? "";
      const served: ServedRequest = { path, receivedNs: process.hrtime.bigint(), bodyBytes };
      this.requests.push(served);
      const body = request.method === "POST" ? this.bodies.get(path) : undefined;
      if (!body) {
        response.writeHead(404, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { type: "not_found_error", message: `nothing served at ${request.method} ${path}` } }));
        return;
      }
      response.on("finish", () => (served.finishedNs = process.hrtime.bigint()));
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": "req_bench" });
      response.write(body);
      response.end();
    });
  }
}
