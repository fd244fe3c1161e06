/**
 * API keys through `podd start`: they reach the provider (through the real SDK) but are never
 * in the pod's environment, where any same-user process — e.g. the model's bash — could read
 * them from /proc/<pid>/environ; and the bash tool's own environment has none.
 */
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { PodClient } from "../../src/client/pod-client.js";
import { anthropicSse } from "../helpers/anthropic-sse.js";
import { killCliProcesses, runCli, trackDaemon } from "../helpers/cli-run.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { cleanupAll, tempHome, writeProfiles } from "../helpers/pod-process.js";

// Daemonised pods first: one still writing its status.json would race the removal of its home.
afterEach(async () => {
  await killCliProcesses();
  await cleanupAll();
});

const KEY = "sk-ant-test-PIPE-ONLY-4242";

describe.skipIf(process.platform !== "linux")("API keys", () => {
  it("reach the provider but not the pod's environment or its bash", async () => {
    const fake = await FakeProvider.start();
    try {
      const home = tempHome();
      writeProfiles(home.home, { p: { model: "anthropic:claude-sonnet-4-5", base_url: fake.origin } });
      fake.enqueue(
        {
          sse: anthropicSse({ blocks: [{ type: "tool_use", id: "t1", name: "bash", input: { command: "env | grep -c PIPE-ONLY; true" } }] }),
        },
        { sse: anthropicSse({ blocks: [{ type: "text", chunks: ["done"] }] }) },
      );
      const started = await runCli(["start", "keyed", "--model", "p", "--cwd", home.home, "--json"], { env: { ...home.env, ANTHROPIC_API_KEY: KEY }, cwd: home.home });
      expect(started.code, started.stderr).toBe(0);
      const { pid, socket } = JSON.parse(started.stdout) as { pid: number; socket: string };
      trackDaemon(pid);
      expect(fs.readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain(KEY);
      const client = await PodClient.connect(socket);
      await client.waitFor("snapshot");
      client.send({ method: "run", params: { input: [{ kind: "text", content: "go" }] } });
      const result = await client.waitFor("tool_result");
      // grep -c prints the count (0), then `true` makes the exit status 0.
      expect(result.data.output).toBe("exit 0\n0");
      await client.waitFor("run_end");
      const sent = JSON.stringify(fake.requests[0]?.headers);
      expect(sent).toContain(KEY);
      client.send({ method: "shutdown" });
      await client.closed;
    } finally {
      await fake.close();
    }
  });
});
