/**
 * The TUI's connection to a pod: connects through src/client/, hands every event to the app,
 * and reports each state so the status line can show it. A new connection starts with the
 * pod's snapshot, which reseeds the view (issue 7, part 7).
 *
 * How a connection ends decides what comes next (issue 16, bug 9):
 * - a clean stop: the pod broadcast `shutdown` before it closed the connection (`:stop`,
 *   `podd stop`, SIGTERM). The state becomes `stopped` and nothing reconnects with backoff;
 *   the socket is only checked every STOPPED_CHECK_MS, quietly, so a pod started again by
 *   someone else is picked up (`reconnectNow` checks at once, e.g. after the TUI restarted it).
 * - a crash: the connection dropped without `shutdown` (killed, crashed, a connect that
 *   failed). It reconnects with exponential backoff (250 ms doubling to 5 s, forever, until
 *   stopped or switched).
 */
import type { Event, Method } from "../../protocol/index.js";
import { PodClient } from "../client/pod-client.js";
import type { ConnectionState } from "./transcript-model.js";

/** First wait before reconnecting, ms; doubled after each failed attempt up to RECONNECT_MAX_MS. */
export const RECONNECT_BASE_MS = 250;
export const RECONNECT_MAX_MS = 5_000;
/** While the pod is stopped on purpose: how often its socket is checked for a pod started again, ms. */
export const STOPPED_CHECK_MS = 1_000;

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
  /** The pod stopped cleanly: checks of its socket are quiet and slow. */
  private podStopped = false;
  /** A connect attempt is on its way. */
  private connecting = false;
  /** Bumped on every switch/stop so callbacks of an old connection are ignored. */
  private generation = 0;
  private readonly callbacks: ConnectionCallbacks;
  private readonly stoppedCheckMs: number;

  constructor(socketPath: string, callbacks: ConnectionCallbacks, options: { stoppedCheckMs?: number } = {}) {
    this.socketPath = socketPath;
    this.callbacks = callbacks;
    this.stoppedCheckMs = options.stoppedCheckMs ?? STOPPED_CHECK_MS;
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
    this.podStopped = false;
    this.connecting = false;
    this.start();
  }

  /** While the pod is stopped: check its socket now (e.g. after restarting it) instead of at the next quiet check. */
  reconnectNow(): void {
    if (this.stopped || this.client || this.connecting) return;
    this.clearTimer();
    void this.connect(this.generation);
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
    this.connecting = true;
    try {
      client = await PodClient.connect(this.socketPath, { timeoutMs: 3_000, buffer: false });
    } catch (error) {
      if (generation !== this.generation) return;
      this.connecting = false;
      if (this.podStopped) this.scheduleStoppedCheck();
      else this.scheduleReconnect((error as Error).message);
      return;
    }
    if (generation !== this.generation || this.stopped) {
      client.destroy();
      return;
    }
    this.connecting = false;
    this.client = client;
    this.attempt = 0;
    this.podStopped = false;
    // The pod sends `shutdown` to every client before it closes the connections on a clean stop.
    let sawShutdown = false;
    client.onEvent((event) => {
      if (event.event === "shutdown") sawShutdown = true;
      if (generation === this.generation) this.callbacks.onEvent(event);
    });
    this.callbacks.onState({ kind: "connected" });
    void client.closed.then(() => {
      if (generation !== this.generation || this.stopped) return;
      this.client = undefined;
      if (!sawShutdown) return this.scheduleReconnect("the pod closed the connection");
      this.podStopped = true;
      this.callbacks.onState({ kind: "stopped" });
      this.scheduleStoppedCheck();
    });
  }

  private scheduleStoppedCheck(): void {
    if (this.stopped) return;
    const generation = this.generation;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (generation === this.generation) void this.connect(generation);
    }, this.stoppedCheckMs);
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
