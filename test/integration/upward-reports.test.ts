/**
 * Upward reports to a (fake) parent socket: turn_ended / errored only for runs the parent
 * delegated (run, resume), never for notification turns or pauses; shut_down on every exit,
 * including SIGTERM and SIGINT (behaviour.md, Upward reports).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { script, type ScriptBuilder } from "../../src/model/scripted/script-builder.js";
import { cleanupAll, FakeParent, runText, startPod, tempHome } from "../helpers/pod-process.js";

afterEach(cleanupAll);

async function childOf(build: (gate: (n: number) => string) => ScriptBuilder) {
  const home = tempHome();
  const parent = await FakeParent.listen(home.home);
  const gate = (n: number): string => path.join(home.home, `gate-${n}`);
  const pod = await startPod({ home, name: "kid", scenario: build(gate).build(), parentSocket: parent.socket });
  const client = await pod.connect();
  await client.waitFor("snapshot");
  return { pod, client, parent, open: (n: number) => fs.writeFileSync(gate(n), "") };
}

describe("upward reports", () => {
  it("a finished run reports turn_ended, in the reference's wire shape", async () => {
    const { client, parent, pod } = await childOf(() => script().text("done").finish());
    client.send(runText("work"));
    expect(await parent.waitForReport("turn_ended")).toEqual({ kind: "turn_ended", pod_name: "kid" });
    // The reference's line plus podd's optional report_id (params) and id (envelope), the same ULID.
    const line = JSON.parse(parent.lines[0] ?? "{}") as { params: { report_id: string }; id: string };
    expect(line).toEqual({ method: "pod_event", params: { kind: "turn_ended", pod_name: "kid", report_id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/) }, id: line.params.report_id });
    expect(Object.keys(line.params)).toEqual(["kind", "pod_name", "report_id"]);
    await pod.stop();
    await parent.waitForReport("shut_down");
    expect(parent.reports).toEqual([
      { kind: "turn_ended", pod_name: "kid" },
      { kind: "shut_down", pod_name: "kid" },
    ]);
  });

  it("a failed run reports errored with the provider's message", async () => {
    const { client, parent } = await childOf(() => script().fail("rate limited for good", { status: 429 }));
    client.send(runText("work"));
    const error = await client.waitFor("error");
    expect(error.data).toEqual({ code: "provider_error", message: "rate limited for good" });
    expect(await parent.waitForReport("errored")).toEqual({ kind: "errored", pod_name: "kid", message: "rate limited for good" });
  });

  it("a cancelled run reports errored (Cancelled), as the reference does", async () => {
    const { client, parent } = await childOf(() => script().text("partial").hang());
    client.send(runText("work"));
    await client.waitFor("text_done");
    await client.request({ method: "cancel" });
    expect(await parent.waitForReport("errored")).toEqual({ kind: "errored", pod_name: "kid", message: "Cancelled" });
  });

  it("a paused run that is then cancelled reports errored (Cancelled) once; a paused notification turn reports nothing", async () => {
    const { client, parent, pod } = await childOf(() => script().text("partial").hang().text("noticed").hang());
    client.send(runText("work"));
    await client.waitFor("text_done");
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await client.request({ method: "cancel" });
    expect(await parent.waitForReport("errored")).toEqual({ kind: "errored", pod_name: "kid", message: "Cancelled" });
    client.send({ method: "notify", params: { message: "fyi" } });
    await client.waitFor("text_done", { where: (event) => event.data.text === "noticed" });
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await client.request({ method: "cancel" });
    await client.waitFor("status", { where: (event) => event.data.status === "idle" });
    await pod.stop();
    await parent.waitForReport("shut_down");
    expect(parent.reports).toEqual([
      { kind: "errored", pod_name: "kid", message: "Cancelled" },
      { kind: "shut_down", pod_name: "kid" },
    ]);
  });

  it("notification turns and pauses report nothing; a resumed run that finishes reports turn_ended", async () => {
    const { client, parent, pod } = await childOf(() => script().text("noted").finish().text("partial").hang().text("resumed").finish());
    client.send({ method: "notify", params: { message: "fyi" } });
    await client.waitFor("run_end");
    client.send(runText("work"));
    await client.waitFor("text_done", { where: (event) => event.data.text === "partial" });
    await client.request({ method: "pause" });
    await client.waitFor("status", { where: (event) => event.data.status === "paused" });
    await client.request({ method: "resume" });
    await client.waitFor("run_end", { where: (event) => event.data.result === "finished" });
    await pod.stop();
    await parent.waitForReport("shut_down");
    expect(parent.reports).toEqual([
      { kind: "turn_ended", pod_name: "kid" },
      { kind: "shut_down", pod_name: "kid" },
    ]);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("%s runs the clean exit: shutdown event, shut_down upward, exit 0", async (signal) => {
    const { client, parent, pod } = await childOf(() => script().text("partial").hang());
    client.send(runText("work"));
    await client.waitFor("text_done");
    process.kill(pod.pid, signal);
    await client.waitFor("shutdown");
    expect(await parent.waitForReport("shut_down")).toEqual({ kind: "shut_down", pod_name: "kid" });
    expect(await pod.exited).toEqual({ code: 0, signal: null });
    expect(parent.reports.map((report) => report.kind)).toEqual(["shut_down"]);
    expect(fs.existsSync(path.join(pod.runtime, "kid"))).toBe(false);
  });

  it("an unreachable parent does not stop the pod from exiting", async () => {
    const home = tempHome();
    const pod = await startPod({ home, name: "orphan", scenario: script().text("x").finish().build(), parentSocket: path.join(home.home, "nobody.sock") });
    const client = await pod.connect();
    client.send(runText("go"));
    await client.waitFor("run_end");
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
  });
});
