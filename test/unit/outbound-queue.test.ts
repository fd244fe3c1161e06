/**
 * OutboundQueue over a real Unix socket pair: order and bytes kept across bounded writes, the
 * stall rule (a client that stops reading is dropped, one that reads is not — also when the
 * pod's own event loop was busy for longer than STALL_MS), and the hard cap.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HARD_CAP_FACTOR, OutboundQueue, WRITE_CHUNK_BYTES } from "../../src/ipc/outbound-queue.js";

/** The stall these tests give their queues (the pod's default, STALL_MS, is longer). */
const STALL_MS = 1_000;

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A connected pair: `server` is the pod's end, `client` the reader's (paused until it reads). */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-oq-"));
  const file = path.join(dir, "sock");
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(file, resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const client = net.createConnection(file);
  client.pause();
  const server = await accepted;
  cleanups.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { server, client };
}

/** Read everything from `client` until `bytes` have arrived; resolves with them. */
function readAll(client: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    client.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= bytes) resolve(Buffer.concat(chunks));
    });
    client.once("close", () => reject(new Error(`closed after ${received} of ${bytes} bytes`)));
    client.resume();
  });
}

function line(index: number, size: number): string {
  const head = `${index}:`;
  return `${head}${"é".repeat(Math.max(0, Math.floor((size - head.length - 1) / 2)))}\n`;
}

describe("OutboundQueue", () => {
  it("delivers every line in order and byte for byte, in writes of at most WRITE_CHUNK_BYTES", async () => {
    const { server, client } = await socketPair();
    // Bytes handed to the socket per batch: one write, or the writes between cork and uncork (one writev).
    const sizes: number[] = [];
    let corked: number | undefined;
    const write = server.write.bind(server);
    const cork = server.cork.bind(server);
    const uncork = server.uncork.bind(server);
    server.write = ((chunk: Buffer, callback?: (error?: Error | null) => void) => {
      if (corked === undefined) sizes.push(chunk.length);
      else corked += chunk.length;
      return write(chunk, callback);
    }) as typeof server.write;
    server.cork = () => {
      corked = 0;
      cork();
    };
    server.uncork = () => {
      sizes.push(corked ?? 0);
      corked = undefined;
      uncork();
    };
    const queue = new OutboundQueue(server, { stallMs: STALL_MS, maxQueueBytes: 64 * MiB, onDropped: () => expect.fail("dropped") });
    queue.startLiveAllowance();
    const lines = Array.from({ length: 300 }, (_, index) => line(index, 1 + ((index * 7919) % 9000)));
    lines.push(`big:${"€".repeat(400_000)}\n`); // one line over several chunks, multi-byte characters cut between them
    const expected = Buffer.from(lines.join(""), "utf8");
    for (const text of lines) queue.push(Buffer.from(text));
    const received = await readAll(client, expected.length);
    expect(received.equals(expected)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(WRITE_CHUNK_BYTES);
    // Full batches but the last: small lines are written together, a big line in slices.
    expect(sizes.slice(0, -1).every((size) => size === WRITE_CHUNK_BYTES)).toBe(true);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(expected.length);
    expect(queue.queuedBytes).toBe(0);
  });

  it("shares the pushed bytes between clients' queues and never changes them", async () => {
    const first = await socketPair();
    const second = await socketPair();
    const queues = [first, second].map(({ server }) => new OutboundQueue(server, { stallMs: STALL_MS, maxQueueBytes: 64 * MiB, onDropped: () => expect.fail("dropped") }));
    const lines = Array.from({ length: 100 }, (_, index) => Buffer.from(line(index, 1 + ((index * 104_729) % 40_000))));
    const copies = lines.map((bytes) => Buffer.from(bytes));
    for (const bytes of lines) for (const queue of queues) queue.push(bytes);
    const expected = Buffer.concat(copies);
    const received = await Promise.all([first, second].map(({ client }) => readAll(client, expected.length)));
    for (const bytes of received) expect(bytes.equals(expected)).toBe(true);
    expect(lines.every((bytes, index) => bytes.equals(copies[index] as Buffer))).toBe(true);
  });

  it("drops a client that stopped reading once over its allowance and no write completed for STALL_MS", async () => {
    const { server } = await socketPair();
    let dropped: number | undefined;
    const gone = new Promise<void>((resolve) => server.once("close", () => resolve()));
    const queue = new OutboundQueue(server, { stallMs: STALL_MS, maxQueueBytes: 1 * MiB, onDropped: (bytes) => (dropped = bytes) });
    queue.startLiveAllowance();
    const started = Date.now();
    for (let index = 0; index < 400; index++) queue.push(Buffer.from(line(index, 8192)));
    await gone;
    expect(dropped).toBeGreaterThan(1 * MiB);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS - 50);
  });

  it("drops at once past the hard cap, reading or not", async () => {
    const { server } = await socketPair();
    let dropped: number | undefined;
    const queue = new OutboundQueue(server, { stallMs: STALL_MS, maxQueueBytes: 1 * MiB, onDropped: (bytes) => (dropped = bytes) });
    queue.startLiveAllowance();
    const chunk = `${"x".repeat(MiB - 1)}\n`;
    for (let index = 0; index <= HARD_CAP_FACTOR && dropped === undefined; index++) queue.push(Buffer.from(chunk));
    expect(dropped).toBeGreaterThan(HARD_CAP_FACTOR * MiB);
    expect(server.destroyed).toBe(true);
  });

  it("does not drop a reading client when the pod's own event loop was busy for longer than STALL_MS", async () => {
    // The reader is another process (as every client is), so it reads while this one is busy.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-oq-"));
    const sock = path.join(dir, "sock");
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(sock, resolve));
    cleanups.push(() => {
      listener.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
    const reader = spawn(process.execPath, [
      "-e",
      `let n = 0; const s = require("node:net").createConnection(${JSON.stringify(sock)}); s.on("data", (c) => (n += c.length)); s.on("close", () => { process.stdout.write(String(n)); });`,
    ]);
    cleanups.push(() => reader.kill("SIGKILL"));
    let output = "";
    reader.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = new Promise<void>((resolve) => reader.once("exit", () => resolve()));
    const pod = await accepted;
    let dropped = false;
    const queue = new OutboundQueue(pod, { stallMs: STALL_MS, maxQueueBytes: 1 * MiB, onDropped: () => (dropped = true) });
    queue.startLiveAllowance();
    // 2.4 MB before (over the allowance, so the write in flight is watched), 0.8 MB after: under the hard cap.
    const lines = Array.from({ length: 400 }, (_, index) => line(index, 8192));
    const total = lines.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    for (const text of lines.slice(0, 300)) queue.push(Buffer.from(text));
    // Let a write start, then keep this process busy (as a pod encoding a huge block is) for
    // longer than STALL_MS; the reader takes what it was sent meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    const busyUntil = Date.now() + STALL_MS + 300;
    while (Date.now() < busyUntil) {
      // busy, on purpose
    }
    for (const text of lines.slice(300)) queue.push(Buffer.from(text));
    await new Promise<void>((resolve) => queue.flushThen(resolve));
    pod.end();
    await exited;
    expect(dropped).toBe(false);
    expect(Number(output)).toBe(total);
  });

  it("whenDrainedTo calls back once, when a write brings the unsent bytes down to the mark (at once if they are)", async () => {
    const { server, client } = await socketPair();
    const queue = new OutboundQueue(server, { stallMs: STALL_MS, maxQueueBytes: 64 * MiB, onDropped: () => expect.fail("dropped") });
    queue.startLiveAllowance();
    let calls = 0;
    queue.whenDrainedTo(0, () => (calls += 1));
    expect(calls).toBe(1);
    const lines = Array.from({ length: 200 }, (_, index) => line(index, 8192));
    const total = lines.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    for (const text of lines) queue.push(Buffer.from(text));
    const seenAt: number[] = [];
    const drained = new Promise<void>((resolve) =>
      queue.whenDrainedTo(WRITE_CHUNK_BYTES, () => {
        seenAt.push(queue.queuedBytes);
        resolve();
      }),
    );
    // Nothing is taken while the client does not read.
    await new Promise((resolve) => setImmediate(resolve));
    expect(seenAt).toEqual([]);
    const received = readAll(client, total);
    await drained;
    expect(seenAt).toHaveLength(1);
    expect(seenAt[0]).toBeLessThanOrEqual(WRITE_CHUNK_BYTES);
    expect((await received).length).toBe(total);
    expect(seenAt).toHaveLength(1);
  });
});
