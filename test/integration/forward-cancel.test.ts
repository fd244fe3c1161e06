/**
 * A cascading cancel reaches a child in the form it can decode (issue 12): a podd child gets
 * `cancel{cascade:true}` after its reply to the probe showed it is podd; a child that speaks only the
 * reference's protocol (a fake one here: a Unix socket that answers like the reference, without
 * `reply_to`, and refuses `params` on `cancel` as serde would) gets a plain `cancel`.
 */
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeLine, LineDecoder } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { forwardCancel } from "../../src/spawn/supervisor.js";
import { cleanupAll, connectWithSnapshot, runText, startPod, tempHome } from "../helpers/pod-process.js";
import { referenceMethodProblem } from "../helpers/reference-shapes.js";

afterEach(cleanupAll);

/** A pod that speaks the reference's protocol only: greets with a snapshot, answers without reply_to, records every line. */
async function referencePod(dir: string): Promise<{ socket: string; lines: string[]; closed: Promise<void>; close(): Promise<void> }> {
  const socket = path.join(dir, "reference.sock");
  const lines: string[] = [];
  let markClosed = () => undefined as void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const server = net.createServer((connection) => {
    const decoder = new LineDecoder();
    const greeting = { pod_name: "ref", cwd: dir, provider: "scripted", model: "m", scope_summary: "", tools: [], context_window: 1, context_tokens: 0 };
    connection.write(encodeLine({ event: "snapshot", data: { entries: [], greeting, status: "running" } }));
    connection.on("data", (chunk: Buffer) => {
      for (const decoded of decoder.push(chunk)) {
        if (decoded.kind !== "line") continue;
        lines.push(decoded.text);
        const problem = referenceMethodProblem(decoded.text);
        if (problem !== undefined) connection.write(encodeLine({ event: "error", data: { code: "invalid_request", message: `invalid method: ${problem}` } }));
        else if ((JSON.parse(decoded.text) as { method: string }).method === "list_visible_pods") connection.write(encodeLine({ event: "visible_pods", data: { pods: [] } }));
      }
    });
    connection.on("error", () => undefined);
    // The prober hangs up once it has sent its cancel: every line it sent has been read by then.
    connection.on("close", markClosed);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, lines, closed, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("forwardCancel", () => {
  it("sends a reference child a plain cancel, which it decodes", async () => {
    const home = tempHome();
    const child = await referencePod(home.home);
    expect(await forwardCancel(child.socket)).toBe("plain");
    await child.closed;
    expect(child.lines.map((line) => JSON.parse(line) as unknown)).toEqual([{ method: "list_visible_pods", id: "podd-cascade-probe" }, { method: "cancel" }]);
    expect(child.lines.map(referenceMethodProblem)).toEqual([undefined, undefined]);
    await child.close();
  });

  it("sends a podd child cancel{cascade}: its run is cancelled", async () => {
    const pod = await startPod({ scenario: script().text("working", { gate: path.join(tempHome().home, "never") }).finish().build() });
    const { client } = await connectWithSnapshot(pod);
    client.send(runText("go"));
    await client.waitFor("status", { where: (event) => event.data.status === "running" });
    expect(await forwardCancel(pod.socket)).toBe("cascade");
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    client.destroy();
  });
});
