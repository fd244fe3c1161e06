/**
 * TuiConnection on a real Unix socket with a stand-in pod (a net server that speaks the wire's
 * end of a connection): a clean stop (`shutdown`, then close) is `stopped` and is not
 * reconnected with backoff; a dropped connection without `shutdown` (a crash) is; a pod that
 * is started again on the socket of a stopped one is picked up.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TuiConnection } from "../../src/tui/connection.js";
import type { ConnectionState } from "../../src/tui/transcript-model.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function socketPath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-conn-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "sock");
}

/** A stand-in pod on `socket`: `onConnection` gets each accepted connection. */
async function standInPod(socket: string, onConnection: (connection: net.Socket) => void): Promise<net.Server> {
  const open = new Set<net.Socket>();
  const server = net.createServer((connection) => {
    open.add(connection);
    connection.on("close", () => open.delete(connection));
    onConnection(connection);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const connection of open) connection.destroy();
        server.close(() => resolve());
      }),
  );
  return server;
}

/** A connection on `socket` that records its states; `next(kind)` resolves at the next state of that kind. */
function watch(socket: string, options: { stoppedCheckMs?: number } = {}) {
  const states: ConnectionState[] = [];
  const waiters: { kind: ConnectionState["kind"]; resolve(state: ConnectionState): void }[] = [];
  const connection = new TuiConnection(socket, {
    onEvent: () => undefined,
    onState: (state) => {
      states.push(state);
      for (const waiter of waiters.filter((candidate) => candidate.kind === state.kind)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(state);
      }
    },
  }, options);
  cleanups.push(() => connection.stop());
  const next = (kind: ConnectionState["kind"]) => new Promise<ConnectionState>((resolve) => waiters.push({ kind, resolve }));
  return { connection, states, next };
}

describe("TuiConnection: a clean stop and a crash", () => {
  it("a pod that sent shutdown before closing is stopped: no reconnecting; it reconnects once a pod listens there again", async () => {
    const socket = socketPath();
    const first = await standInPod(socket, (connection) => connection.end('{"event":"shutdown"}\n'));
    const { connection, states, next } = watch(socket);
    const stopped = next("stopped");
    connection.start();
    await stopped;
    await new Promise<void>((resolve) => first.close(() => resolve()));
    expect(states.map((state) => state.kind)).toEqual(["connecting", "connected", "stopped"]);

    // Started again by someone else: the quiet check of the socket attaches to it.
    const accepted = new Promise<void>((resolve) => void standInPod(socket, () => resolve()));
    const connected = next("connected");
    await accepted;
    await connected;
    expect(states.map((state) => state.kind)).toEqual(["connecting", "connected", "stopped", "connected"]);
  });

  it("a connection that drops without shutdown is a crash: it reconnects with backoff", async () => {
    const socket = socketPath();
    await standInPod(socket, (connection) => connection.destroy());
    const { connection, states, next } = watch(socket);
    const reconnecting = next("reconnecting");
    connection.start();
    await expect(reconnecting).resolves.toMatchObject({ kind: "reconnecting", attempt: 1, reason: "the pod closed the connection" });
    expect(states.map((state) => state.kind)).not.toContain("stopped");
  });

  it("reconnectNow checks the socket of a stopped pod at once (not at the next quiet check)", async () => {
    const socket = socketPath();
    let served = 0;
    await standInPod(socket, (connection) => {
      served += 1;
      if (served === 1) connection.end('{"event":"shutdown"}\n');
    });
    const { connection, next } = watch(socket, { stoppedCheckMs: 600_000 });
    const stopped = next("stopped");
    connection.start();
    await stopped;
    const connected = next("connected");
    connection.reconnectNow();
    await connected;
    expect(served).toBe(2);
  });
});
