/** PodClient requests against a socket that never answers: a timeout says so and is not a refusal (the pod may still act on the line). */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { describeRequestFailure } from "../../src/cli/targets.js";
import { PodClient, PodRequestError, RequestTimeoutError } from "../../src/client/pod-client.js";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("PodClient.request", () => {
  it("rejects with RequestTimeoutError when no reply comes, after the line reached the socket", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-client-"));
    const socketPath = path.join(dir, "sock");
    let line = "";
    let gotLine: () => void = () => undefined;
    const lineArrived = new Promise<void>((resolve) => (gotLine = resolve));
    const server = net.createServer((connection) =>
      connection.on("data", (chunk: Buffer) => {
        line += chunk.toString("utf8");
        if (line.endsWith("\n")) gotLine();
      }),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    closers.push(() => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const client = await PodClient.connect(socketPath);
    closers.push(() => client.destroy());
    const failure = await client.request({ method: "resume" }, { timeoutMs: 50 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RequestTimeoutError);
    expect(failure).not.toBeInstanceOf(PodRequestError);
    expect(failure).toMatchObject({ method: "resume", timeoutMs: 50, message: "no reply to resume within 50 ms" });
    await lineArrived;
    expect(line).toBe('{"method":"resume","id":"c1"}\n');
  });
});

describe("describeRequestFailure (the CLI's words for it)", () => {
  it("says a timed-out request may still be acted on, and passes other errors through", () => {
    expect(describeRequestFailure(new RequestTimeoutError("run", 10_000))).toBe(
      "the pod did not answer run within 10 s (it may be stopped or overloaded); it may still act on it when it runs again",
    );
    expect(describeRequestFailure(new Error("connection closed"))).toBe("connection closed");
  });
});
