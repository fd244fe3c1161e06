/**
 * The OpenAI adapter end to end: real pod processes (`openai:gpt-4.1` and
 * `openai-compatible:llama3.1` profiles) talk through the real `openai` SDK to FakeProvider,
 * which writes real Chat Completions SSE. Each scenario asserts what a client sees, and every
 * one with a scripted twin also plays the same logical turn on the scripted model and compares
 * the two event sequences with the one shared helper (`expectSameTurn`). Every wait is on an
 * event or a request, never a sleep.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import type { PodClient } from "../../src/client/pod-client.js";
import { script, type ScriptBuilder } from "../../src/model/scripted/script-builder.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { jsonChunks, openAIError, openAIStream, wordChunks } from "../helpers/openai-sse.js";
import { cleanupAll, FakeParent, isSettledStatus, names, type PodProcess, runText, startPod, tempHome, writeProfiles } from "../helpers/pod-process.js";
import { expectSameTurn, expectSameTurns } from "../helpers/turn-equivalence.js";

const KEY = "sk-test-SECRET-5678";
const NOTES = "hi from notes\n";

let fake: FakeProvider;
beforeEach(async () => {
  fake = await FakeProvider.start();
});
afterEach(async () => {
  await cleanupAll();
  await fake.close();
});

interface Started {
  pod: PodProcess;
  client: PodClient;
  home: ReturnType<typeof tempHome>;
  parent?: FakeParent;
  /** Every event line the client received, raw. */
  lines: string[];
}

/** A pod on the `openai` profile (key in env) or the `openai-compatible` one (no key in env). */
async function providerPod(options: { compatible?: boolean; parent?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Started> {
  const home = tempHome();
  fs.writeFileSync(path.join(home.home, "notes.txt"), NOTES);
  const common = { base_url: `${fake.origin}/v1`, retry: { base_delay_ms: 20, max_delay_ms: 200 }, idle_timeout_ms: 800 };
  writeProfiles(home.home, { p: { model: "openai:gpt-4.1", ...common }, local: { model: "openai-compatible:llama3.1", ...common } });
  const parent = options.parent ? await FakeParent.listen(home.home) : undefined;
  const pod = await startPod({
    home,
    model: options.compatible ? "local" : "p",
    cwd: options.cwd,
    env: { OPENAI_API_KEY: options.compatible ? undefined : KEY, ...options.env },
    parentSocket: parent?.socket,
  });
  return greet(pod, home, parent);
}

async function scriptedPod(builder: ScriptBuilder, cwd?: string): Promise<Started> {
  const home = tempHome();
  fs.writeFileSync(path.join(home.home, "notes.txt"), NOTES);
  return greet(await startPod({ home, scenario: builder.build(), cwd }), home);
}

/** A working directory for a provider pod and its scripted twin, so that tools see the same files (a pod's home differs). */
function workDir(): string {
  const dir = path.join(tempHome().home, "work");
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "notes.txt"), NOTES);
  return dir;
}

async function greet(pod: PodProcess, home: ReturnType<typeof tempHome>, parent?: FakeParent): Promise<Started> {
  const client = await pod.connect();
  const lines: string[] = [];
  client.onEvent((_event, line) => lines.push(line));
  await client.waitFor("snapshot");
  return { pod, client, home, parent, lines };
}

/** Send a run and collect its events up to `run_end` (or the `error` that ends a failed run). */
function runTurn(client: PodClient, input = "go"): Promise<Event[]> {
  client.send(runText(input));
  return client.collectUntil((event) => event.event === "run_end" || event.event === "error");
}

/** The same logical turn on the scripted model. */
async function scriptedTurn(builder: ScriptBuilder, input = "go", cwd?: string): Promise<Event[]> {
  const { client } = await scriptedPod(builder, cwd);
  return runTurn(client, input);
}

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string };
const requestMessages = (index: number): ChatMessage[] => (fake.requests[index]?.body as { messages: ChatMessage[] }).messages;
const errorOf = (events: readonly Event[]) => events.find((event): event is Extract<Event, { event: "error" }> => event.event === "error")?.data;

describe("the OpenAI adapter through a pod", () => {
  it("streams plain text, the same turn as the scripted model", async () => {
    fake.enqueue(openAIStream({ text: ["Hello ", "there!"] }));
    const { client } = await providerPod();
    const events = await runTurn(client, "hi");
    expect(events.filter((event) => event.event === "text_delta").map((event) => event.event === "text_delta" && event.data.text)).toEqual(["Hello ", "there!"]);
    expect(events.at(-1)).toEqual({ event: "run_end", data: { result: "finished" } });
    expectSameTurn(events, await scriptedTurn(script().text("Hello there!", { chunks: ["Hello ", "there!"] }).finish(), "hi"));
    const body = fake.requests[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: "gpt-4.1", stream: true, max_completion_tokens: 32_768 });
    expect(body).not.toHaveProperty("max_tokens");
    expect(requestMessages(0)[0]?.role).toBe("system");
    expect(requestMessages(0).at(-1)).toEqual({ role: "user", content: "hi" });
  });

  it("shows reasoning from a compatible server as thinking events, the same turn as the scripted model", async () => {
    // Reasoning deltas split after each whitespace run, as the scripted model splits thinking.
    fake.enqueue(openAIStream({ reasoning: wordChunks("The user greets me."), text: ["Hi!"], quirks: { reasoningField: "reasoning" } }));
    const { client } = await providerPod({ compatible: true });
    const events = await runTurn(client);
    expect(names(events).filter((name) => name.startsWith("thinking") || name.startsWith("text"))).toEqual([
      "thinking_start", "thinking_delta", "thinking_delta", "thinking_delta", "thinking_delta", "thinking_done", "text_delta", "text_done",
    ]);
    expect(events.find((event) => event.event === "thinking_done")).toEqual({ event: "thinking_done", data: { text: "The user greets me." } });
    expectSameTurn(events, await scriptedTurn(script().thinking("The user greets me.").text("Hi!", { chunks: ["Hi!"] }).finish()));
    // No guessed output cap for an unknown local model (the profile sets no max_tokens).
    expect(fake.requests[0]?.body).toMatchObject({ model: "llama3.1", stream: true });
    expect(fake.requests[0]?.body).not.toHaveProperty("max_tokens");
  });

  it("runs a tool-use round trip: the next request carries the assistant tool_calls and the tool message", async () => {
    fake.enqueue(
      openAIStream({ text: ["Let me ", "look."], toolCalls: [{ id: "call_abc", name: "read_file", input: { path: "notes.txt" } }] }),
      openAIStream({ text: ["It says ", "hi."] }),
    );
    const { client } = await providerPod();
    const events = await runTurn(client, "what is in notes.txt?");
    expect(events.find((event) => event.event === "tool_call_done")).toEqual({
      event: "tool_call_done",
      data: { id: "call_abc", name: "read_file", arguments: '{"path":"notes.txt"}' },
    });
    expect(events.at(-1)).toEqual({ event: "run_end", data: { result: "finished" } });
    const followUp = requestMessages(1);
    expect(followUp.at(-2)).toEqual({
      role: "assistant",
      content: "Let me look.",
      tool_calls: [{ id: "call_abc", type: "function", function: { name: "read_file", arguments: '{"path":"notes.txt"}' } }],
    });
    expect(followUp.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_abc" });
    expect(followUp.at(-1)?.content).toContain("hi from notes");
    const expected = await scriptedTurn(
      script()
        .text("Let me look.", { chunks: ["Let me ", "look."] })
        .toolCall("read_file", { path: "notes.txt" })
        .finish()
        .text("It says hi.", { chunks: ["It says ", "hi."] })
        .finish(),
      "what is in notes.txt?",
    );
    expectSameTurn(events, expected);
  });

  it("runs two parallel tool calls and answers both in order, the same turn as the scripted model", async () => {
    const cwd = workDir();
    fake.enqueue(
      openAIStream({ toolCalls: [{ id: "call_1", name: "read_file", input: { path: "notes.txt" } }, { id: "call_2", name: "list_files", input: {} }] }),
      openAIStream({ text: ["Both done."] }),
    );
    const { client } = await providerPod({ cwd });
    const events = await runTurn(client);
    const calls = events.filter((event) => ["tool_call_done", "tool_result"].includes(event.event));
    expect(calls.map((event) => `${event.event}:${(event as { data: { id: string } }).data.id}`)).toEqual([
      "tool_call_done:call_1", "tool_call_done:call_2", "tool_result:call_1", "tool_result:call_2",
    ]);
    // Each call's start, argument deltas and done come together, as from the scripted model and the Anthropic adapter.
    // Fails today, a real difference: ChatChunkMapper ends every tool call only at the finish_reason, so a client sees
    // start 1, args 1, start 2, args 2, done 1, done 2 (event 8 is call 2's tool_call_start where the twin has call 1's done).
    const scripted = script().toolCall("read_file", { path: "notes.txt" }).toolCall("list_files", {}).finish().text("Both done.", { chunks: ["Both done."] }).finish();
    expectSameTurn(events, await scriptedTurn(scripted, "go", cwd));
    const followUp = requestMessages(1);
    expect(followUp.slice(-3).map((message) => message.role)).toEqual(["assistant", "tool", "tool"]);
    expect(followUp.at(-3)).toMatchObject({ content: null, tool_calls: [{ id: "call_1" }, { id: "call_2", function: { name: "list_files", arguments: "{}" } }] });
    expect(followUp.slice(-2).map((message) => message.tool_call_id)).toEqual(["call_1", "call_2"]);
  });

  it("reports usage (event, the same as the scripted model's, and llm_usage entry) and asks for it with stream_options.include_usage", async () => {
    fake.enqueue(openAIStream({ text: ["ok"], usage: { prompt_tokens: 1200, completion_tokens: 30, cached_tokens: 1024 } }));
    const { client, pod } = await providerPod();
    const events = await runTurn(client);
    expect(events.find((event) => event.event === "usage")).toEqual({
      event: "usage",
      data: { input_tokens: 176, output_tokens: 30, cache_read_input_tokens: 1024 },
    });
    // The usage step comes after the text: a text step adds its own estimate to output_tokens.
    const scripted = script().text("ok", { chunks: ["ok"] }).usage({ input_tokens: 176, output_tokens: 30, cache_read_input_tokens: 1024 }).finish();
    expectSameTurn(events, await scriptedTurn(scripted), { usage: "exact" });
    expect(fake.requests[0]?.body).toMatchObject({ stream_options: { include_usage: true } });
    const late = await pod.connect();
    const snapshot = await late.waitFor("snapshot");
    expect(snapshot.data.entries.find((entry) => entry.kind === "llm_usage")).toMatchObject({ input_tokens: 176, output_tokens: 30, cache_read_input_tokens: 1024 });
  });

  it("works with a local server's stream: no role, no tool-call ids, no usage, no [DONE], no key; the same turn as the scripted model", async () => {
    const quirks = { noRole: true, noIds: true, noUsage: true, noDone: true };
    const cwd = workDir();
    fake.enqueue(openAIStream({ toolCalls: [{ name: "list_files", input: {} }], quirks }), openAIStream({ text: ["Listed."], quirks }));
    const { client } = await providerPod({ compatible: true, cwd });
    const events = await runTurn(client);
    const start = events.find((event): event is Extract<Event, { event: "tool_call_start" }> => event.event === "tool_call_start");
    expect(start?.data.id).toMatch(/^call_[0-9A-Z]{26}$/); // call_<ulid>
    expect(events.find((event) => event.event === "usage")).toEqual({ event: "usage", data: {} });
    expect(events.at(-1)).toEqual({ event: "run_end", data: { result: "finished" } });
    const followUp = requestMessages(1);
    expect(followUp.at(-2)).toMatchObject({ role: "assistant", tool_calls: [{ id: start?.data.id, function: { name: "list_files", arguments: "{}" } }] });
    expect(followUp.at(-1)).toMatchObject({ role: "tool", tool_call_id: start?.data.id });
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer not-needed");
    // The generated id is normalised like any other; the missing usage counts are not compared (the default).
    expectSameTurn(events, await scriptedTurn(script().toolCall("list_files", {}).finish().text("Listed.", { chunks: ["Listed."] }).finish(), "go", cwd));
  });

  it("retries a 429 after retry-after-ms, then streams the answer, the same turn as the scripted model", async () => {
    fake.enqueue(
      openAIError(429, "Rate limit reached for gpt-4.1", { type: "requests", code: "rate_limit_exceeded", headers: { "retry-after-ms": "30" } }),
      openAIStream({ text: ["Made ", "it."] }),
    );
    const { client } = await providerPod();
    const events = await runTurn(client);
    expect(events.find((event) => event.event === "llm_retry")).toMatchObject({
      data: { failed_attempt: 1, max_attempts: 5, wait_ms: 30, status: 429, error: "Rate limit reached for gpt-4.1" },
    });
    expect(names(events).indexOf("llm_retry")).toBeLessThan(names(events).indexOf("text_delta"));
    expect(fake.requests).toHaveLength(2);
    const expected = await scriptedTurn(
      script()
        .retry({ baseDelayMs: 20 })
        .fail("Rate limit reached for gpt-4.1", { status: 429, retryable: true, retryAfterMs: 30 })
        .text("Made it.", { chunks: ["Made ", "it."] })
        .finish(),
    );
    expectSameTurn(events, expected);
  });

  it("ends with an error, without retrying, on a 429 insufficient_quota, the same turn as the scripted model", async () => {
    const message = "You exceeded your current quota, please check your plan and billing details.";
    fake.enqueue(openAIError(429, message, { type: "insufficient_quota", code: "insufficient_quota" }));
    const { client } = await providerPod();
    const events = await runTurn(client);
    expect(names(events)).not.toContain("llm_retry");
    expect(errorOf(events)).toEqual({ code: "provider_error", message });
    expect(fake.requests).toHaveLength(1);
    expectSameTurn(events, await scriptedTurn(script().fail(message, { status: 429, retryable: false })));
  });

  it("gives up after 5 attempts of 500 with 4 llm_retry events, the same turn as the scripted model", async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) fake.enqueue(openAIError(500, "The server had an error while processing your request.", { type: "server_error" }));
    const { client } = await providerPod();
    const events = await runTurn(client);
    expect(events.filter((event) => event.event === "llm_retry").map((event) => event.event === "llm_retry" && event.data.failed_attempt)).toEqual([1, 2, 3, 4]);
    expect(errorOf(events)).toEqual({ code: "provider_error", message: "gave up after 5 attempts: The server had an error while processing your request." });
    expect(fake.requests).toHaveLength(5);
    const scripted = script().retry({ baseDelayMs: 20, maxDelayMs: 200 });
    for (let attempt = 0; attempt < 5; attempt += 1) scripted.fail("The server had an error while processing your request.", { status: 500, retryable: true });
    expectSameTurn(events, await scriptedTurn(scripted));
  });

  it("fails a 401 with the provider's message (the same turn as the scripted model) and reports errored to the parent", async () => {
    const message = "Incorrect API key provided: sk-test-****5678. You can find your API key at https://platform.openai.com/account/api-keys.";
    fake.enqueue(openAIError(401, message, { code: "invalid_api_key" }));
    const { client, parent } = await providerPod({ parent: true });
    const events = await runTurn(client);
    expect(names(events)).not.toContain("llm_retry");
    expect(errorOf(events)).toEqual({ code: "provider_error", message });
    expect(await parent?.waitForReport("errored")).toEqual({ kind: "errored", pod_name: "pod", message });
    expectSameTurn(events, await scriptedTurn(script().fail(message, { status: 401 })));
  });

  it("fails a stream that disconnects after some text (no retry, no hang), the same turn as the scripted model", async () => {
    // The pause lets the text leave the fake server before it destroys the socket.
    fake.enqueue(openAIStream({ text: ["Partial ", "answer"], cut: [{ pauseMs: 30 }, { disconnect: true }] }));
    const { client } = await providerPod();
    const events = await runTurn(client);
    expect(names(events).filter((name) => name === "text_delta")).toHaveLength(2);
    expect(errorOf(events)?.code).toBe("provider_error");
    expect(errorOf(events)?.message).toMatch(/connection to the provider broke/);
    expect(fake.requests).toHaveLength(1);
    // The text block never ends (no text_done); the failure comes after output, so it is not retried.
    // The message carries the SDK's wording for the broken socket, hence `errorMessages: "ignore"`.
    const scripted = script().text("Partial answer", { chunks: ["Partial ", "answer"], open: true }).fail("the connection broke", { retryable: true });
    expectSameTurn(events, await scriptedTurn(scripted), { errorMessages: "ignore" });
  });

  it("stops a stream that trickles and then stalls with the idle watchdog, the same turn as the scripted model", async () => {
    fake.enqueue(openAIStream({ text: ["slow ", "but ", "steady "], pauseMs: 100, cut: [{ stall: true }] }));
    const { client } = await providerPod();
    const events = await runTurn(client);
    expect(names(events).filter((name) => name === "text_delta")).toHaveLength(3);
    expect(errorOf(events)).toEqual({ code: "provider_error", message: "the model stream stalled: no data for 800 ms" });
    // The scripted model has no watchdog: its twin fails with the watchdog's own error where the stream stalls.
    const scripted = script()
      .text("slow but steady ", { chunks: ["slow ", "but ", "steady "], open: true })
      .fail("the model stream stalled: no data for 800 ms", { retryable: true });
    expectSameTurn(events, await scriptedTurn(scripted));
  });

  it("cancels during a retry backoff promptly, without a second request, the same run as the scripted model", async () => {
    /** Run, cancel once the retry is scheduled, and collect every event of the run. */
    const cancelDuringBackoff = async (client: PodClient): Promise<Event[]> => {
      client.send(runText("go"));
      const upToRetry = await client.collectUntil("llm_retry");
      await client.request({ method: "cancel" });
      return [...upToRetry, ...(await client.collectUntil(isSettledStatus, { timeoutMs: 5_000 }))];
    };
    fake.enqueue(openAIError(429, "Rate limit reached", { headers: { "retry-after-ms": "60000" } }));
    const { client } = await providerPod();
    const cancelledAt = Date.now();
    const events = await cancelDuringBackoff(client);
    expect(Date.now() - cancelledAt).toBeLessThan(3_000);
    expect(events.filter((event) => event.event === "llm_retry").map((event) => event.event === "llm_retry" && event.data.wait_ms)).toEqual([60_000]);
    expect(events.at(-1)).toEqual({ event: "status", data: { status: "idle" } });
    expect(fake.requests).toHaveLength(1);
    const scripted = script().fail("Rate limit reached", { status: 429, retryable: true, retryAfterMs: 60_000 });
    expectSameTurn(events, await cancelDuringBackoff((await scriptedPod(scripted)).client));
  });

  it("pauses mid-stream and resumes with the next response, the same runs as the scripted model", async () => {
    /** Run, pause after the first text delta, resume: every event of the paused run and of the resumed one. */
    const pauseThenResume = async (client: PodClient): Promise<Event[][]> => {
      client.send(runText("go"));
      const head = await client.collectUntil("text_delta");
      await client.request({ method: "pause" });
      const paused = [...head, ...(await client.collectUntil(isSettledStatus))];
      await client.request({ method: "resume" });
      return [paused, await client.collectUntil(isSettledStatus)];
    };
    fake.enqueue(openAIStream({ text: ["Working "], cut: [{ stall: true }] }), openAIStream({ text: ["Resumed."] }));
    const { client } = await providerPod();
    const runs = await pauseThenResume(client);
    const [paused = [], resumed = []] = runs;
    expect(paused.slice(-2)).toEqual([
      { event: "run_end", data: { result: "paused" } },
      { event: "status", data: { status: "paused" } },
    ]);
    expect(resumed).toContainEqual({ event: "run_end", data: { result: "finished" } });
    expect(resumed.find((event) => event.event === "text_done")).toEqual({ event: "text_done", data: { text: "Resumed." } });
    expect(fake.requests).toHaveLength(2);
    // The twin holds its text block open (no text_done) and hangs until the pause aborts it, as the stalled stream does.
    const scripted = script().text("Working ", { chunks: ["Working "], open: true }).hang().text("Resumed.", { chunks: ["Resumed."] }).finish();
    expectSameTurns(runs, await pauseThenResume((await scriptedPod(scripted)).client));
  });

  it("never lets the API key out: not in pod.log, stderr, status.json, snapshot, events or files, only in the Authorization header", async () => {
    // No scripted twin: what this checks is where the key goes, and the scripted model has no key.
    // Its turns (a 401, a tool-use round trip) are compared with the scripted model above.
    fake.enqueue(
      openAIError(401, "Incorrect API key provided: sk-test-****5678."),
      openAIStream({ text: ["fine"], toolCalls: [{ name: "read_file", argumentChunks: jsonChunks({ path: "notes.txt" }) }] }),
      openAIStream({ text: ["done"] }),
    );
    const started = await providerPod({ env: { PODD_LOG_LEVEL: "debug" } });
    const { client, pod, lines } = started;
    expect(errorOf(await runTurn(client))?.message).toBe("Incorrect API key provided: sk-test-****5678.");
    expect((await runTurn(client)).at(-1)).toEqual({ event: "run_end", data: { result: "finished" } });
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY}`]);
    const statusJson = fs.readFileSync(path.join(pod.runtime, pod.name, "status.json"), "utf8");
    expect(statusJson).toContain("openai_chat");
    expect(statusJson).not.toContain(KEY);
    expect(await pod.stop()).toEqual({ code: 0, signal: null });
    const log = fs.readFileSync(path.join(pod.home, "pods", pod.name, "pod.log"), "utf8");
    expect(log).toContain("run failed");
    expect(log).not.toContain(KEY);
    expect(pod.stderr()).not.toContain(KEY);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.join("\n")).not.toContain(KEY);
    const files = (fs.readdirSync(pod.home, { recursive: true, encoding: "utf8" }) as string[]).filter((file) => fs.statSync(path.join(pod.home, file)).isFile());
    expect(files.some((file) => file.startsWith("sessions"))).toBe(true);
    for (const file of files) expect(fs.readFileSync(path.join(pod.home, file), "utf8"), file).not.toContain(KEY);
  });
});
