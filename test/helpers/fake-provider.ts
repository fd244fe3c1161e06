/**
 * A fake model provider: a real `node:http` server on 127.0.0.1 that answers each request with
 * the next queued response — a JSON error with a status and headers, or a 200 Server-Sent
 * Events stream written step by step in the provider's real format. Pod processes reach it
 * through the real SDKs (`--base-url`), so what is tested is the real HTTP path.
 *
 * Stream steps: an SSE event (`{event?, data}`; `data` objects are JSON-encoded), `{pauseMs}`
 * (the server trickles), `{stall: true}` (stop sending, keep the connection open until the
 * client goes away), `{disconnect: true}` (destroy the socket mid-stream), `{raw}` (bytes as is).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export type SseStep =
  | { event?: string; data: unknown }
  | { pauseMs: number }
  | { stall: true }
  | { disconnect: true }
  | { raw: string };

export type FakeResponse =
  | { status: number; headers?: Record<string, string>; json: unknown }
  | { status?: 200; headers?: Record<string, string>; sse: SseStep[] };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export class FakeProvider {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private readonly queue: FakeResponse[] = [];
  private readonly openResponses = new Set<http.ServerResponse>();
  private waiters: { count: number; resolve(): void }[] = [];

  private constructor() {
    this.server = http.createServer((request, response) => void this.handle(request, response));
  }

  static async start(): Promise<FakeProvider> {
    const provider = new FakeProvider();
    await new Promise<void>((resolve) => provider.server.listen(0, "127.0.0.1", resolve));
    return provider;
  }

  /** Base URL without a path, e.g. `http://127.0.0.1:41234`. */
  get origin(): string {
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Queue responses, served in order, one per request. */
  enqueue(...responses: FakeResponse[]): this {
    this.queue.push(...responses);
    return this;
  }

  /** Resolves once `count` requests in all have arrived. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const response of this.openResponses) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = text;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      // keep the raw text
    }
    this.requests.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers, body });
    this.waiters = this.waiters.filter((waiter) => {
      if (this.requests.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
    const next = this.queue.shift();
    if (!next) {
      response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { type: "fake_provider", message: "no response queued for this request" } }));
      return;
    }
    if ("json" in next) {
      response.writeHead(next.status, { "content-type": "application/json", ...next.headers });
      response.end(JSON.stringify(next.json));
      return;
    }
    this.openResponses.add(response);
    response.on("close", () => this.openResponses.delete(response));
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...next.headers });
    response.flushHeaders();
    for (const step of next.sse) {
      if (response.destroyed) return;
      if ("pauseMs" in step) await delay(step.pauseMs);
      else if ("stall" in step) return; // keep the connection open; closed by the client or by close()
      else if ("disconnect" in step) {
        // Destroy once what was written so far has been handed to the kernel, so the client sees it first.
        response.write("", () => response.socket?.destroy());
        return;
      } else if ("raw" in step) response.write(step.raw);
      else {
        const data = typeof step.data === "string" ? step.data : JSON.stringify(step.data);
        response.write(`${step.event ? `event: ${step.event}\n` : ""}data: ${data}\n\n`);
      }
    }
    response.end();
  }
}
