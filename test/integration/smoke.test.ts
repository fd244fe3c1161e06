import { afterEach, describe, expect, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { cleanupAll, names, startPod } from "../helpers/pod-process.js";

afterEach(cleanupAll);

describe("a pod process", () => {
  it("greets with a snapshot and runs a one-tool-call turn in the documented order", async () => {
    const pod = await startPod({
      scenario: script().text("Let me look.", { chunks: ["Let me ", "look."] }).toolCall("list_files", {}).finish().text("Done.").finish().build(),
    });
    const client = await pod.connect();
    const snapshot = await client.waitFor("snapshot");
    expect(snapshot.data.status).toBe("idle");
    expect(snapshot.data.entries[0]?.kind).toBe("segment_start");
    client.send({ method: "run", params: { input: [{ kind: "text", content: "Hello" }] } });
    const events = await client.collectUntil("status", { timeoutMs: 10_000 }).then(async (first) => [...first, ...(await client.collectUntil("status"))]);
    expect(names(events)).toEqual([
      "user_message", "status", "invoke_start", "turn_start", "llm_call_start",
      "text_delta", "text_delta", "text_done", "tool_call_start", "tool_call_args_delta", "tool_call_done", "usage", "llm_call_end", "turn_end",
      "tool_result", "turn_start", "llm_call_start", "text_delta", "text_done", "usage", "llm_call_end", "turn_end", "run_end", "status",
    ]);
    expect(client.invalidLines).toEqual([]);
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
  });
});
