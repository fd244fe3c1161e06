// @ts-check
/**
 * The baseline the fan-out and round-trip benchmarks compare podd against: a bare Node
 * Unix-socket JSON-lines server, written the straightforward way, run as its own process
 * (`node bench/baseline-server.js <socket>`). Plain JavaScript, so it runs without a loader,
 * like the compiled pod. It reports readiness like a pod (one JSON line on the fd named by
 * `PODD_READY_FD`).
 *
 * - On connect it sends `{"event":"snapshot","data":{}}` (so a client knows it is attached).
 * - `{"method":"run","params":{"count":N}}` broadcasts N `text_delta` lines (the workload of
 *   bench/workload.ts, whose `deltaText` is repeated below) to every connected client: one
 *   `JSON.stringify` per event, one `socket.write` per client per event, a `setImmediate`
 *   yield every 64 events, and when a write returns false it awaits that socket's `drain`
 *   (backpressure: nothing is buffered without bound); then
 *   `{"event":"run_end","data":{"result":"finished"}}`.
 *   With `"batch":B` in the params it instead joins B lines and writes them with one
 *   `socket.write` per client (the batching a pod does per event-loop turn): an informative
 *   second reference, not the baseline of the target.
 * - Any other method with an `id` is answered with one line: `completions` for
 *   `list_completions` (no directory is read), `ack` otherwise.
 * - `shutdown` closes every connection and exits.
 */
import fs from "node:fs";
import net from "node:net";

const YIELD_EVERY_EVENTS = 64;

/** Same as bench/workload.ts `deltaText` (the fan-out benchmark checks the bytes match). */
function deltaText(index) {
  return index.toString(36).padStart(8, "0");
}

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write("usage: baseline-server <socket>\n");
  process.exit(2);
}

/** @type {Set<net.Socket>} */
const clients = new Set();
let broadcasting = false;
/** @type {string[]} The delta texts of the last workload (held in memory, like the pod's scenario). */
let texts = [];

const server = net.createServer((socket) => {
  clients.add(socket);
  socket.on("close", () => clients.delete(socket));
  socket.on("error", () => undefined);
  socket.write('{"event":"snapshot","data":{}}\n');
  let carry = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk) => {
    const text = carry + chunk;
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) break;
      handleLine(socket, text.slice(start, newline));
      start = newline + 1;
    }
    carry = text.slice(start);
  });
});

/**
 * @param {net.Socket} socket
 * @param {string} line
 */
function handleLine(socket, line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    socket.write('{"event":"error","data":{"code":"invalid_request","message":"not JSON"}}\n');
    return;
  }
  switch (message.method) {
    case "run":
      if (broadcasting) return;
      broadcasting = true;
      void broadcast(message.params?.count ?? 0, message.params?.batch ?? 1).finally(() => (broadcasting = false));
      return;
    case "shutdown":
      for (const client of clients) client.end();
      server.close(() => process.exit(0));
      return;
    case "list_completions":
      socket.write(`${JSON.stringify({ event: "completions", data: { kind: "file", entries: [] }, reply_to: message.id })}\n`);
      return;
    default:
      if (message.id !== undefined) socket.write(`${JSON.stringify({ event: "ack", data: { method: message.method }, reply_to: message.id })}\n`);
  }
}

/**
 * @param {number} count
 * @param {number} batch
 */
async function broadcast(count, batch) {
  if (texts.length !== count) texts = Array.from({ length: count }, (_, index) => deltaText(index));
  /** @type {string[]} */
  let lines = [];
  for (let index = 0; index < count; index += 1) {
    const line = `${JSON.stringify({ event: "text_delta", data: { text: texts[index] } })}\n`;
    let drains;
    if (batch <= 1) {
      drains = writeToAll(line);
    } else {
      lines.push(line);
      if (lines.length >= batch) {
        drains = writeToAll(lines.join(""));
        lines = [];
      }
    }
    if (drains) await drains;
    if ((index + 1) % YIELD_EVERY_EVENTS === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (lines.length > 0) await writeToAll(lines.join(""));
  await writeToAll(`${JSON.stringify({ event: "run_end", data: { result: "finished" } })}\n`);
}

/**
 * One `socket.write` per client; when any returns false, a promise that those sockets drained.
 * @param {string} data
 * @returns {Promise<unknown> | undefined}
 */
function writeToAll(data) {
  /** @type {Promise<void>[] | undefined} */
  let drains;
  for (const client of clients) {
    if (!client.write(data)) (drains ??= []).push(drained(client));
  }
  return drains && Promise.all(drains);
}

/**
 * Resolves when the socket's buffer has drained (or it closed).
 * @param {net.Socket} socket
 * @returns {Promise<void>}
 */
function drained(socket) {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

server.listen(socketPath, () => {
  const fd = Number(process.env.PODD_READY_FD);
  if (Number.isInteger(fd) && fd >= 3) {
    fs.writeSync(fd, `${JSON.stringify({ ok: true, socket: socketPath, pid: process.pid })}\n`);
    fs.closeSync(fd);
  }
});
