/**
 * Upward reports: PodEvents this pod sends to its parent's socket as
 * `{"method":"pod_event","params":{…}}` (behaviour.md, Upward reports).
 *
 * `turn_ended` / `errored` are fire-and-forget (failures are logged); `shut_down` is awaited
 * before the process exits. Every send is bounded by `timeoutMs` (5 s, the reference's
 * bound). Without a parent socket every call is a no-op.
 */
import net from "node:net";
import type { Logger } from "pino";
import { encodeLine, type PodEvent } from "../../protocol/index.js";

export const REPORT_TIMEOUT_MS = 5_000;

export class UpwardReporter {
  readonly parentSocket: string | undefined;
  private readonly logger: Logger;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timeoutMs: number;

  constructor(options: { parentSocket?: string; logger: Logger; timeoutMs?: number }) {
    this.parentSocket = options.parentSocket;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? REPORT_TIMEOUT_MS;
  }

  /** Send without waiting; a failure is logged, never thrown. */
  fireAndForget(event: PodEvent): void {
    if (!this.parentSocket) return;
    const sending = this.send(event).catch((error: Error) => {
      this.logger.warn({ err: error, report: event.kind }, "upward report failed");
    });
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  /** Send and wait until the line is written and the parent closed or `timeoutMs` passed. Rejects on failure. */
  async send(event: PodEvent): Promise<void> {
    const parentSocket = this.parentSocket;
    if (!parentSocket) return;
    await new Promise<void>((resolve, reject) => {
      const socket = net.createConnection(parentSocket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`parent ${parentSocket} did not take the ${event.kind} report within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.on("connect", () => {
        socket.resume();
        socket.end(encodeLine({ method: "pod_event", params: event }));
      });
      socket.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on("close", (hadError) => {
        clearTimeout(timer);
        if (!hadError) resolve();
      });
    });
    this.logger.info({ report: event.kind, parent: parentSocket }, "upward report sent");
  }

  /** Wait for fire-and-forget sends still under way (each is bounded by the timeout). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
