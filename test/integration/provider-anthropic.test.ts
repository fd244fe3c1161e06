/**
 * The Anthropic adapter end to end: real pod processes talk through the real
 * `@anthropic-ai/sdk` to FakeProvider, a local HTTP server writing Anthropic's SSE format
 * (test/helpers/anthropic-sse.ts). Each scenario asserts what a client sees, and every one
 * with a scripted twin also plays the same logical turn on the scripted model and compares the
 * two event sequences with the one shared helper (expectSameTurn), so the provider path and the
 * scripted path cannot drift apart. Every wait is on an event or a request, never a sleep.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import type { ModelProfile } from "../../src/config/model-config.js";
import { CONTINUE_TEXT } from "../../src/model/anthropic/to-anthropic-messages.js";
import { script, type ScriptBuilder } from "../../src/model/scripted/script-builder.js";
import { anthropicError, anthropicStream, messageStart, ping, streamError, textDelta, textStart } from "../helpers/anthropic-sse.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { cleanupAll, FakeParent, isSettledStatus, runText, startPod, tempHome, writeProfiles } from "../helpers/pod-process.js";
import { expectSameTurn, expectSameTurns } from "../helpers/turn-equivalence.js";

const KEY = "sk-ant-test-SECRET-1234";

let fake: FakeProvider;
beforeEach(async () => {
  fake = await FakeProvider.start();
});
afterEach(async () => {
  await cleanupAll();
  await fake.close();
});

interface AnthropicPodOptions {
  profile?: Partial<ModelProfile>;
  home?: ReturnType<typeof tempHome>;
  cwd?: string;
  parentSocket?: string;
  env?: NodeJS.ProcessEnv;
}

/** A pod on the profile `p` (anthropic through FakeProvider), connected, past its snapshot. */
async function anthropicPod(options: AnthropicPodOptions = {}) {
  const home = options.home ?? tempHome();
  writeProfiles(home.home, {
    p: {
      model: "anthropic:claude-sonnet-4-5",
      base_url: fake.origin,
      retry: { base_delay_ms: 20, max_delay_ms: 200 },
      idle_timeout_ms: 800,
      ...options.profile,
    },
  });
  const pod = await startPod({ home, model: "p", cwd: options.cwd, parentSocket: options.parentSocket, env: { ANTHROPIC_API_KEY: KEY, ...options.env } });
  const client = await pod.connect();
  const snapshot = await client.waitFor("snapshot");
  return { pod, client, home, snapshot };
}

/** Send a run and collect its events until the pod leaves `running`. */
async function run(client: PodClient, content = "go", timeoutMs = 10_000): Promise<Event[]> {
  client.send(runText(content));
  return client.collectUntil(isSettledStatus, { timeoutMs });
}

/** A pod on the scripted model playing `builder`, connected, past its snapshot. */
async function scriptedPod(builder: ScriptBuilder, cwd?: string): Promise<PodClient> {
  const pod = await startPod({ scenario: builder.build(), cwd });
  const client = await pod.connect();
  await client.waitFor("snapshot");
  return client;
}

/** The same logical turn on the scripted model. */
async function scriptedRun(builder: ScriptBuilder, cwd?: string): Promise<Event[]> {
  return run(await scriptedPod(builder, cwd));
}

/** The same runs, one after another on one scripted pod (turn and call numbers continue as on the provider pod). */
async function scriptedRuns(builder: ScriptBuilder, inputs: string[], timeoutMs?: number): Promise<Event[][]> {
  const client = await scriptedPod(builder);
  const runs: Event[][] = [];
  for (const input of inputs) runs.push(await run(client, input, timeoutMs));
  return runs;
}

/** A working directory with two small files (shared by the provider and scripted pods). */
function workDir(home: string): string {
  const dir = path.join(home, "work");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "a.txt"), "alpha\n");
  fs.writeFileSync(path.join(dir, "b.txt"), "beta\n");
  return dir;
}

const ofType = <Name extends Event["event"]>(events: readonly Event[], name: Name) => events.filter((event) => event.event === name) as Extract<Event, { event: Name }>[];
const requestBody = (index: number) => fake.requests[index]?.body as { messages: { role: string; content: Record<string, unknown>[] }[]; [key: string]: unknown };

describe("anthropic provider through the real SDK", () => {
  it("plain text: the same turn as the scripted model, and the request the API expects", async () => {
    fake.enqueue(anthropicStream({ blocks: [{ type: "text", chunks: ["Hello ", "from ", "Claude."] }] }));
    const { client, snapshot } = await anthropicPod();
    expect(snapshot.data.greeting).toMatchObject({ provider: "anthropic", model: "claude-sonnet-4-5", context_window: 200_000 });
    const events = await run(client);
    expect(ofType(events, "text_done")).toEqual([{ event: "text_done", data: { text: "Hello from Claude." } }]);
    expect(ofType(events, "run_end")).toEqual([{ event: "run_end", data: { result: "finished" } }]);
    expectSameTurn(events, await scriptedRun(script().text("Hello from Claude.", { chunks: ["Hello ", "from ", "Claude."] }).finish()));

    const request = fake.requests[0];
    expect(request?.path).toBe("/v1/messages");
    const body = requestBody(0);
    expect(body).toMatchObject({ model: "claude-sonnet-4-5", max_tokens: 64_000, stream: true });
    expect(body.system).toEqual([expect.objectContaining({ type: "text", cache_control: { type: "ephemeral" } })]);
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "go", cache_control: { type: "ephemeral" } }] }]);
    expect((body.tools as { name: string }[]).map((tool) => tool.name)).toContain("list_files");
  });

  it("thinking: streamed as thinking events, and its signature goes back in the next request", async () => {
    const signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";
    fake.enqueue(
      // Thinking deltas split after each whitespace run, as the scripted model splits them.
      anthropicStream({ blocks: [{ type: "thinking", text: "Let me think.", signature }, { type: "text", chunks: ["Forty-two."] }] }),
      anthropicStream({ blocks: [{ type: "text", chunks: ["Still 42."] }] }),
    );
    const { client } = await anthropicPod({ profile: { thinking_budget: 1_024, max_tokens: 4_096 } });
    const events = await run(client, "meaning?");
    expect(events.filter((event) => event.event.startsWith("thinking"))).toEqual([
      { event: "thinking_start" },
      { event: "thinking_delta", data: { text: "Let " } },
      { event: "thinking_delta", data: { text: "me " } },
      { event: "thinking_delta", data: { text: "think." } },
      { event: "thinking_done", data: { text: "Let me think." } },
    ]);
    expect(requestBody(0)).toMatchObject({ thinking: { type: "enabled", budget_tokens: 1_024 }, max_tokens: 4_096 });
    const again = await run(client, "sure?");
    const scripted = script()
      .thinking("Let me think.", { signature })
      .text("Forty-two.", { chunks: ["Forty-two."] })
      .finish()
      .text("Still 42.", { chunks: ["Still 42."] })
      .finish();
    expectSameTurns([events, again], await scriptedRuns(scripted, ["meaning?", "sure?"]));
    expect(requestBody(1).messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Let me think.", signature },
        { type: "text", text: "Forty-two." },
      ],
    });
  });

  it("tool use round trip: the same turn as the scripted model, and the tool_result goes back", async () => {
    const home = tempHome();
    const cwd = workDir(home.home);
    const input = { path: ".", pattern: "*.txt" };
    fake.enqueue(
      anthropicStream({ blocks: [{ type: "text", chunks: ["Let me ", "look."] }, { type: "tool_use", id: "toolu_01", name: "list_files", input }] }),
      anthropicStream({ blocks: [{ type: "text", chunks: ["Two files."] }] }),
    );
    const { client } = await anthropicPod({ home, cwd });
    const events = await run(client);
    expect(ofType(events, "tool_call_args_delta").map((event) => event.data.json)).toEqual(['{"path":".","pat', 'tern":"*.txt"}']);
    expect(ofType(events, "tool_result")).toEqual([
      { event: "tool_result", data: { id: "toolu_01", summary: "2 entries in . matching *.txt", output: "a.txt\nb.txt", is_error: false } },
    ]);
    const scripted = script().text("Let me look.", { chunks: ["Let me ", "look."] }).toolCall("list_files", input).finish().text("Two files.", { chunks: ["Two files."] }).finish();
    expectSameTurn(events, await scriptedRun(scripted, cwd));

    expect(requestBody(1).messages).toEqual([
      { role: "user", content: [{ type: "text", text: "go" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_01", name: "list_files", input },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "a.txt\nb.txt", cache_control: { type: "ephemeral" } }] },
    ]);
  });

  it("two parallel tool calls: both run, the same turn as the scripted model, and both results go back in ONE user message", async () => {
    const home = tempHome();
    const cwd = workDir(home.home);
    fake.enqueue(
      anthropicStream({
        blocks: [
          { type: "tool_use", id: "toolu_a", name: "list_files", input: {} },
          { type: "tool_use", id: "toolu_b", name: "read_file", input: { path: "a.txt" } },
        ],
      }),
      anthropicStream({ blocks: [{ type: "text", chunks: ["Done."] }] }),
    );
    const { client } = await anthropicPod({ home, cwd });
    const events = await run(client);
    expect(ofType(events, "tool_call_done").map((event) => event.data)).toEqual([
      { id: "toolu_a", name: "list_files", arguments: "{}" },
      { id: "toolu_b", name: "read_file", arguments: '{"path":"a.txt"}' },
    ]);
    expect(ofType(events, "tool_result").map((event) => [event.data.id, event.data.is_error])).toEqual([
      ["toolu_a", false],
      ["toolu_b", false],
    ]);
    const scripted = script().toolCall("list_files", {}).toolCall("read_file", { path: "a.txt" }).finish().text("Done.", { chunks: ["Done."] }).finish();
    expectSameTurn(events, await scriptedRun(scripted, cwd));
    const messages = requestBody(1).messages;
    expect(messages).toHaveLength(3);
    expect(messages[2]?.role).toBe("user");
    expect(messages[2]?.content.map((block) => [block.type, block.tool_use_id])).toEqual([
      ["tool_result", "toolu_a"],
      ["tool_result", "toolu_b"],
    ]);
  });

  it("usage with cache read and write: the usage event (the same as the scripted model's) and the llm_usage entry", async () => {
    const usage = { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 1_000, cache_creation_input_tokens: 200 };
    fake.enqueue(anthropicStream({ blocks: [{ type: "text", chunks: ["cached"] }], usage }));
    const { pod, client } = await anthropicPod();
    const events = await run(client);
    expect(ofType(events, "usage")).toEqual([{ event: "usage", data: { input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 1_000 } }]);
    // The usage step comes after the text: a text step adds its own estimate to output_tokens.
    const scripted = script().text("cached", { chunks: ["cached"] }).usage({ input_tokens: 12, output_tokens: 34, cache_read_input_tokens: 1_000 }).finish();
    expectSameTurn(events, await scriptedRun(scripted), { usage: "exact" });
    const late = await pod.connect();
    const snapshot = await late.waitFor("snapshot");
    expect(snapshot.data.entries.find((entry) => entry.kind === "llm_usage")).toMatchObject({
      kind: "llm_usage",
      llm_call: 0,
      input_tokens: 12,
      output_tokens: 34,
      cache_read_input_tokens: 1_000,
      cache_creation_input_tokens: 200,
    });
  });

  it("429 with retry-after-ms, then success: llm_retry honours the header; the same turn as the scripted model", async () => {
    const message = "Number of request tokens has exceeded your per-minute rate limit";
    fake.enqueue(
      anthropicError(429, "rate_limit_error", message, { "retry-after-ms": "150" }),
      anthropicStream({ blocks: [{ type: "text", chunks: ["Recovered."] }] }),
    );
    const timestamps: number[] = [];
    void fake.waitForRequests(1).then(() => timestamps.push(Date.now()));
    void fake.waitForRequests(2).then(() => timestamps.push(Date.now()));
    const { client } = await anthropicPod();
    const events = await run(client);
    expect(ofType(events, "llm_retry")).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ failed_attempt: 1, max_attempts: 5, wait_ms: 150, status: 429, error: `rate_limit_error: ${message}` }),
      }),
    ]);
    expect(ofType(events, "text_done")).toEqual([{ event: "text_done", data: { text: "Recovered." } }]);
    expect(fake.requests).toHaveLength(2);
    expect((timestamps[1] ?? 0) - (timestamps[0] ?? 0)).toBeGreaterThanOrEqual(140);
    const scripted = script()
      .retry({ baseDelayMs: 20 })
      .fail(`rate_limit_error: ${message}`, { status: 429, retryable: true, retryAfterMs: 150 })
      .text("Recovered.", { chunks: ["Recovered."] })
      .finish();
    expectSameTurn(events, await scriptedRun(scripted));
  });

  it("500 five times: four llm_retry, then error{provider_error} saying it gave up after 5 attempts; the same turn as the scripted model", async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) fake.enqueue(anthropicError(500, "api_error", "Internal server error"));
    const { client } = await anthropicPod();
    const events = await run(client);
    expect(ofType(events, "llm_retry").map((event) => [event.data.failed_attempt, event.data.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 500],
    ]);
    expect(ofType(events, "error")).toEqual([
      { event: "error", data: { code: "provider_error", message: "gave up after 5 attempts: api_error: Internal server error" } },
    ]);
    expect(fake.requests).toHaveLength(5);
    const scripted = script().retry({ baseDelayMs: 20, maxDelayMs: 200 });
    for (let attempt = 0; attempt < 5; attempt += 1) scripted.fail("api_error: Internal server error", { status: 500, retryable: true });
    expectSameTurn(events, await scriptedRun(scripted));
  });

  it("401: error{provider_error} with the provider's message at once (the same turn as the scripted model), and `errored` reported to the parent", async () => {
    fake.enqueue(anthropicError(401, "authentication_error", "invalid x-api-key"));
    const home = tempHome();
    const parent = await FakeParent.listen(home.home);
    const { client } = await anthropicPod({ home, parentSocket: parent.socket });
    const events = await run(client);
    expect(ofType(events, "llm_retry")).toEqual([]);
    expect(ofType(events, "error")).toEqual([{ event: "error", data: { code: "provider_error", message: "authentication_error: invalid x-api-key" } }]);
    expect(await parent.waitForReport("errored")).toEqual({ kind: "errored", pod_name: "pod", message: "authentication_error: invalid x-api-key" });
    expect(fake.requests).toHaveLength(1);
    expectSameTurn(events, await scriptedRun(script().fail("authentication_error: invalid x-api-key", { status: 401 })));
  });

  it("an in-stream overloaded_error before any content is retried, the same turn as the scripted model", async () => {
    fake.enqueue(
      { sse: [messageStart(), ping(), streamError("overloaded_error", "Overloaded")] },
      anthropicStream({ blocks: [{ type: "text", chunks: ["Back."] }] }),
    );
    const { client } = await anthropicPod();
    const events = await run(client);
    expect(ofType(events, "llm_retry")).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ failed_attempt: 1, status: 529, error: "overloaded_error: Overloaded" }) }),
    ]);
    expect(ofType(events, "text_done")).toEqual([{ event: "text_done", data: { text: "Back." } }]);
    expect(ofType(events, "run_end")).toEqual([{ event: "run_end", data: { result: "finished" } }]);
    const scripted = script()
      .retry({ baseDelayMs: 20 })
      .fail("overloaded_error: Overloaded", { status: 529, retryable: true })
      .text("Back.", { chunks: ["Back."] })
      .finish();
    expectSameTurn(events, await scriptedRun(scripted));
  });

  it("a disconnect mid-stream after some text: error{provider_error}, no hang, the partial text is committed; the same turn as the scripted model", async () => {
    fake.enqueue({ sse: [messageStart(), textStart(0), textDelta(0, "Partial "), textDelta(0, "answer"), { pauseMs: 50 }, { disconnect: true }] });
    const { pod, client } = await anthropicPod();
    const events = await run(client, "go", 5_000);
    expect(ofType(events, "text_delta").map((event) => event.data.text)).toEqual(["Partial ", "answer"]);
    expect(ofType(events, "llm_retry")).toEqual([]);
    const [error] = ofType(events, "error");
    expect(error?.data.code).toBe("provider_error");
    expect(error?.data.message).toMatch(/connection to the Anthropic API broke|ended before the message was complete/);
    expect(fake.requests).toHaveLength(1);
    const snapshot = await (await pod.connect()).waitFor("snapshot");
    expect(snapshot.data.entries).toContainEqual(expect.objectContaining({ kind: "assistant_item", item: { kind: "message", role: "assistant", content: "Partial answer" } }));
    // The text block never ends (no text_done); the failure comes after output, so it is not retried.
    // The message is the SDK's wording for the broken socket, hence `errorMessages: "ignore"`.
    const scripted = script().text("Partial answer", { chunks: ["Partial ", "answer"], open: true }).fail("the connection broke", { retryable: true });
    expectSameTurn(events, await scriptedRun(scripted), { errorMessages: "ignore" });
  });

  it("the idle watchdog: a trickle that stalls ends in a 'stalled' error; a stall before any content is retried; the same runs as the scripted model", async () => {
    fake.enqueue({
      sse: [messageStart(), textStart(0), textDelta(0, "Slow "), { pauseMs: 300 }, textDelta(0, "and "), { pauseMs: 300 }, textDelta(0, "steady"), { stall: true }],
    });
    const { client } = await anthropicPod();
    const first = await run(client, "go", 5_000);
    expect(ofType(first, "text_delta").map((event) => event.data.text)).toEqual(["Slow ", "and ", "steady"]);
    expect(ofType(first, "error")).toEqual([
      { event: "error", data: { code: "provider_error", message: "the model stream stalled: no data for 800 ms" } },
    ]);

    fake.enqueue({ sse: [messageStart(), { stall: true }] }, anthropicStream({ blocks: [{ type: "text", chunks: ["Unstuck."] }] }));
    const second = await run(client, "again", 5_000);
    expect(ofType(second, "llm_retry")).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ failed_attempt: 1, error: "the model stream stalled: no data for 800 ms" }) }),
    ]);
    expect(ofType(second, "text_done")).toEqual([{ event: "text_done", data: { text: "Unstuck." } }]);
    // The scripted model has no watchdog: its twin fails with the watchdog's own error where the stream stalls.
    const stalled = "the model stream stalled: no data for 800 ms";
    const scripted = script()
      .retry({ baseDelayMs: 20, maxDelayMs: 200 })
      .text("Slow and steady", { chunks: ["Slow ", "and ", "steady"], open: true })
      .fail(stalled, { retryable: true })
      .fail(stalled, { retryable: true })
      .text("Unstuck.", { chunks: ["Unstuck."] })
      .finish();
    expectSameTurns([first, second], await scriptedRuns(scripted, ["go", "again"], 5_000));
  });

  it("cancel during a backoff ends the run promptly, and no second request is made; the same run as the scripted model", async () => {
    /** Run, cancel once the retry is scheduled, and collect every event of the run. */
    const cancelDuringBackoff = async (client: PodClient): Promise<Event[]> => {
      client.send(runText("go"));
      const upToRetry = await client.collectUntil("llm_retry");
      await client.request({ method: "cancel" });
      return [...upToRetry, ...(await client.collectUntil(isSettledStatus, { timeoutMs: 3_000 }))];
    };
    fake.enqueue(anthropicError(429, "rate_limit_error", "slow down", { "retry-after-ms": "60000" }));
    const { client } = await anthropicPod();
    const events = await cancelDuringBackoff(client);
    expect(ofType(events, "llm_retry").map((event) => event.data.wait_ms)).toEqual([60_000]);
    expect(events).toContainEqual({ event: "run_end", data: { result: "rolled_back" } });
    expect(fake.requests).toHaveLength(1);
    const scripted = script().fail("rate_limit_error: slow down", { status: 429, retryable: true, retryAfterMs: 60_000 });
    expectSameTurn(events, await cancelDuringBackoff(await scriptedPod(scripted)));
  });

  it("pause mid-stream ends the run paused; resume serves the next response and finishes; the same runs as the scripted model", async () => {
    /** Run, pause after the first text delta, resume: every event of the paused run and of the resumed one. */
    const pauseThenResume = async (client: PodClient): Promise<Event[][]> => {
      client.send(runText("go"));
      const head = await client.collectUntil("text_delta");
      await client.request({ method: "pause" });
      const paused = [...head, ...(await client.collectUntil(isSettledStatus, { timeoutMs: 3_000 }))];
      await client.request({ method: "resume" });
      return [paused, await client.collectUntil(isSettledStatus)];
    };
    fake.enqueue(
      { sse: [messageStart(), textStart(0), textDelta(0, "Working on it"), { stall: true }] },
      anthropicStream({ blocks: [{ type: "text", chunks: ["Resumed and done."] }] }),
    );
    const { client } = await anthropicPod();
    const [paused = [], resumed = []] = await pauseThenResume(client);
    expect(paused).toContainEqual({ event: "run_end", data: { result: "paused" } });
    expect(paused.at(-1)).toEqual({ event: "status", data: { status: "paused" } });
    expect(ofType(resumed, "text_done")).toEqual([{ event: "text_done", data: { text: "Resumed and done." } }]);
    expect(resumed).toContainEqual({ event: "run_end", data: { result: "finished" } });
    // The twin holds its text block open (no text_done) and hangs until the pause aborts it, as the stalled stream does.
    const scripted = script()
      .text("Working on it", { chunks: ["Working on it"], open: true })
      .hang()
      .text("Resumed and done.", { chunks: ["Resumed and done."] })
      .finish();
    expectSameTurns([paused, resumed], await pauseThenResume(await scriptedPod(scripted)));
    // The committed partial answer goes back, and a user turn asks to continue (no assistant prefill).
    expect(requestBody(1).messages.slice(-2)).toEqual([
      { role: "assistant", content: [{ type: "text", text: "Working on it" }] },
      { role: "user", content: [{ type: "text", text: CONTINUE_TEXT, cache_control: { type: "ephemeral" } }] },
    ]);
  });

  it("the API key goes only into the request header: never the log, stderr, status.json, snapshot, events or errors", async () => {
    // No scripted twin: what this checks is where the key goes, and the scripted model has no key.
    // Its turns (401, a disconnect after text, plain text) are compared with the scripted model above.
    fake.enqueue(
      // A misbehaving proxy that quotes the key back in its error body.
      anthropicError(401, "authentication_error", `invalid x-api-key: ${KEY}`),
      { sse: [messageStart(), textStart(0), textDelta(0, "cut"), { pauseMs: 50 }, { disconnect: true }] },
      anthropicStream({ blocks: [{ type: "text", chunks: ["fine"] }] }),
    );
    const home = tempHome();
    const { pod, client } = await anthropicPod({ home, env: { PODD_LOG_LEVEL: "debug" } });
    const seen: string[] = [];
    client.onEvent((_event, line) => seen.push(line));
    const events = [...(await run(client, "one")), ...(await run(client, "two")), ...(await run(client, "three"))];
    expect(ofType(events, "error").map((event) => event.data.message)).toEqual([
      "authentication_error: invalid x-api-key: [redacted]",
      expect.stringMatching(/Anthropic API broke|ended before the message was complete/),
    ]);

    const headers = fake.requests[0]?.headers ?? {};
    // @anthropic-ai/sdk 1.x sends the key as a bearer token (ecosystem-notes.md).
    expect(headers.authorization ?? headers["x-api-key"]).toMatch(new RegExp(`^(Bearer )?${KEY}$`));
    for (const request of fake.requests) expect(JSON.stringify(request.body)).not.toContain(KEY);

    const statusJson = fs.readFileSync(path.join(pod.runtime, pod.name, "status.json"), "utf8");
    const snapshot = await (await pod.connect()).waitFor("snapshot");
    expect(statusJson).not.toContain(KEY);
    expect(JSON.stringify(snapshot)).not.toContain(KEY);
    expect(seen.join("\n")).not.toContain(KEY);

    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    expect(pod.stderr()).not.toContain(KEY);
    const logFile = path.join(home.home, "pods", pod.name, "pod.log");
    expect(fs.readFileSync(logFile, "utf8")).toContain("run failed");
    // Every file the pod wrote under its home (log, session log, config): no key anywhere.
    const files = (fs.readdirSync(home.home, { recursive: true, encoding: "utf8" }) as string[]).filter((entry) => fs.statSync(path.join(home.home, entry)).isFile());
    expect(files).toContain(path.join("pods", pod.name, "pod.log"));
    for (const file of files) expect({ file, leaked: fs.readFileSync(path.join(home.home, file), "utf8").includes(KEY) }).toEqual({ file, leaked: false });
  });
});
