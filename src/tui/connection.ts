/**
 * The TUI's connection to a pod: connects through src/client/, hands every event to the app,
 * and when the socket drops (the pod restarted or crashed) reconnects with exponential
 * backoff (250 ms doubling to 5 s, forever, until stopped or switched), reporting each state so
 * the status line can show it. A new connection starts with the pod's snapshot, which reseeds
 * the view (issue 7, part 7).
 */
import type { Event, Method } from "../../protocol/index.js";
import { PodClient } from "../client/pod-client.js";
import type { ConnectionState } from "./transcript-model.js";

/** First wait before reconnecting, ms; doubled after each failed attempt up to RECONNECT_MAX_MS. */
export const RECONNECT_BASE_MS = 250;
export const RECONNECT_MAX_MS = 5_000;

export interface ConnectionCallbacks {
  onEvent(event: Event): void;
  onState(state: ConnectionState): void;
}

export class TuiConnection {
  private socketPath: string;
  private client: PodClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  /** Bumped on every switch/stop so callbacks of an old connection are ignored. */
  private generation = 0;
  private readonly callbacks: ConnectionCallbacks;

  constructor(socketPath: string, callbacks: ConnectionCallbacks) {
    this.socketPath = socketPath;
    this.callbacks = callbacks;
  }

  get socket(): string {
    return this.socketPath;
  }

  get isConnected(): boolean {
    return this.client?.isOpen ?? false;
  }

  start(): void {
    this.callbacks.onState({ kind: "connecting" });
    void this.connect(this.generation);
  }

  /** Attach to another pod (a child from the pods pane, or back to the parent). */
  switchTo(socketPath: string): void {
    this.generation += 1;
    this.clearTimer();
    this.client?.destroy();
    this.client = undefined;
    this.socketPath = socketPath;
    this.attempt = 0;
    this.start();
  }

  /** Send a method without waiting; false when not connected. */
  send(method: Method): boolean {
    if (!this.client?.isOpen) return false;
    this.client.send(method);
    return true;
  }

  /** Send a method and wait for its ack or reply; rejects with the pod's error (PodRequestError) or when not connected. */
  request(method: Method, timeoutMs = 10_000): Promise<Event> {
    if (!this.client?.isOpen) return Promise.reject(new Error("not connected to the pod"));
    return this.client.request(method, { timeoutMs });
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    this.clearTimer();
    this.client?.destroy();
    this.client = undefined;
  }

  private async connect(generation: number): Promise<void> {
    let client: PodClient;
    try {
      client = await PodClient.connect(this.socketPath, { timeoutMs: 3_000, buffer: false });
    } catch (error) {
      if (generation === this.generation) this.scheduleReconnect((error as Error).message);
      return;
    }
    if (generation !== this.generation || this.stopped) {
      client.destroy();
      return;
    }
    this.client = client;
    this.attempt = 0;
    client.onEvent((event) => {
      if (generation === this.generation) this.callbacks.onEvent(event);
    });
    this.callbacks.onState({ kind: "connected" });
    void client.closed.then(() => {
      if (generation !== this.generation || this.stopped) return;
      this.client = undefined;
      this.scheduleReconnect("the pod closed the connection");
    });
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return;
    this.attempt += 1;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** (this.attempt - 1));
    this.callbacks.onState({ kind: "reconnecting", attempt: this.attempt, retryAtMs: Date.now() + delay, reason });
    const generation = this.generation;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (generation === this.generation) void this.connect(generation);
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
