/** The embedded scripted model: plays a script() scenario as neutral stream parts. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/errors.js";
import type { ModelMessage, ModelRequest, StreamPart } from "../../src/model/types.js";
import { Scenario, type ScenarioInput } from "../../src/model/scripted/scenario.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { ScriptedModel } from "../../src/model/scripted/scripted-model.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-scripted-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function model(input: ScenarioInput): ScriptedModel {
  return new ScriptedModel(Scenario.parse(input));
}

function request(messages: ModelMessage[] = [{ role: "user", content: "hi" }]): ModelRequest {
  return { system: "system prompt", messages, tools: [] };
}

async function play(scripted: ScriptedModel, messages?: ModelMessage[], signal = new AbortController().signal): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of scripted.stream(request(messages), { signal })) parts.push(part);
  return parts;
}

const types = (parts: readonly StreamPart[]): string[] => parts.map((part) => part.type);
const textOf = (parts: readonly StreamPart[]): string => parts.flatMap((part) => (part.type === "text-delta" ? [part.text] : [])).join("");

describe("ScriptedModel", () => {
  it("streams a text block as word deltas and finishes with stop", async () => {
    const parts = await play(model(script().text("Hello big  world").finish().build()));
    expect(types(parts)).toEqual(["text-start", "text-delta", "text-delta", "text-delta", "text-end", "finish"]);
    expect(parts.filter((part) => part.type === "text-delta")).toEqual([
      { type: "text-delta", text: "Hello " },
      { type: "text-delta", text: "big  " },
      { type: "text-delta", text: "world" },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "stop" });
  });

  it("uses explicit chunks verbatim", async () => {
    const parts = await play(model(script().text("abcdef", { chunks: ["ab", "cdef"] }).finish().build()));
    expect(parts.filter((part) => part.type === "text-delta").map((part) => (part as { text: string }).text)).toEqual(["ab", "cdef"]);
  });

  it("streams thinking as reasoning parts with its signature", async () => {
    const parts = await play(model(script().thinking("let me think", { signature: "sig-1" }).text("done").finish().build()));
    expect(types(parts)).toEqual(["reasoning-start", "reasoning-delta", "reasoning-delta", "reasoning-delta", "reasoning-end", "text-start", "text-delta", "text-end", "finish"]);
    expect(parts.flatMap((part) => (part.type === "reasoning-delta" ? [part.text] : [])).join("")).toBe("let me think");
    expect(parts[4]).toEqual({ type: "reasoning-end", signature: "sig-1" });
  });

  it("streams tool calls with their argument JSON split into deltas, then finishes with tool-calls", async () => {
    const input = { path: "some/rather/long/path/to/a/file.txt", limit: 12 };
    const scripted = model(script().text("Reading.").toolCall("read_file", input).toolCall("list_files", {}, { id: "my-id" }).finish().build());
    const parts = await play(scripted);
    expect(parts.slice(0, 3).map((part) => part.type)).toEqual(["text-start", "text-delta", "text-end"]);
    const start = parts[3] as Extract<StreamPart, { type: "tool-input-start" }>;
    expect(start).toMatchObject({ type: "tool-input-start", name: "read_file" });
    const id = start.id;
    const first = parts.filter((part) => "id" in part && part.id === id);
    const deltas = first.filter((part) => part.type === "tool-input-delta").map((part) => (part as { delta: string }).delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(JSON.stringify(input));
    expect(first.slice(-2)).toEqual([
      { type: "tool-input-end", id },
      { type: "tool-call", id, name: "read_file", input: JSON.stringify(input) },
    ]);
    expect(parts).toContainEqual({ type: "tool-call", id: "my-id", name: "list_files", input: "{}" });
    expect(parts.at(-1)).toMatchObject({ type: "finish", reason: "tool-calls" });
    // Default ids are unique within a call and across calls.
    const twice = model(script().toolCall("a", {}).toolCall("b", {}).finish().toolCall("c", {}).finish().build());
    const ids = [...(await play(twice)), ...(await play(twice))].flatMap((part) => (part.type === "tool-call" ? [part.id] : []));
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it("sends raw argument text verbatim", async () => {
    const parts = await play(model(script().toolCall("read_file", undefined, { rawArguments: '{"path": "a.txt"' }).finish().build()));
    expect(parts).toContainEqual(expect.objectContaining({ type: "tool-call", name: "read_file", input: '{"path": "a.txt"' }));
  });

  it("finishes with the scripted usage, or an estimate without one", async () => {
    const withUsage = await play(model(script().text("hi").usage({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 3 }).finish().build()));
    expect(withUsage.at(-1)).toEqual({ type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 3 } });
    const estimated = await play(model(script().text("x".repeat(40)).finish().build()), [{ role: "user", content: "y".repeat(400) }]);
    const finish = estimated.at(-1) as Extract<StreamPart, { type: "finish" }>;
    expect(finish.usage.outputTokens).toBe(10);
    expect(finish.usage.inputTokens).toBeGreaterThanOrEqual(100);
  });

  it("ends a failing response with an error part carrying a ProviderError, and no finish", async () => {
    const parts = await play(model(script().text("partial").fail("boom", { status: 529, retryable: true }).build()));
    expect(types(parts)).toEqual(["text-start", "text-delta", "text-end", "error"]);
    const error = (parts.at(-1) as Extract<StreamPart, { type: "error" }>).error;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe("boom");
    expect(error.status).toBe(529);
    expect(error.retryable).toBe(true);
    expect(error.code).toBe("provider_error");
  });

  it("leaves a text block open (no text-end) before a failure, and does not retry after that output", async () => {
    const scripted = model(script().retry({ baseDelayMs: 1 }).text("partial ", { open: true }).fail("broken", { retryable: true }).text("never").finish().build());
    const parts = await play(scripted);
    expect(parts.map((part) => part.type)).toEqual(["text-start", "text-delta", "error"]);
    expect(scripted.callCount).toBe(1);
    expect(() => script().text("x", { open: true }).finish()).toThrow();
  });

  it("hangs until the signal aborts, then ends without a finish", async () => {
    const abort = new AbortController();
    const iterator = model(script().text("partial").hang().build()).stream(request(), { signal: abort.signal })[Symbol.asyncIterator]();
    const seen: StreamPart[] = [];
    for (let index = 0; index < 3; index += 1) seen.push((await iterator.next()).value as StreamPart);
    expect(types(seen)).toEqual(["text-start", "text-delta", "text-end"]);
    let settled = false;
    const next = iterator.next().then((result) => {
      settled = true;
      return result;
    });
    // Many event-loop turns pass and the stream still has nothing to give.
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    abort.abort("pause");
    expect(await next).toEqual({ done: true, value: undefined });
  });

  it("gives nothing when the signal is already aborted", async () => {
    const abort = new AbortController();
    abort.abort("cancel");
    expect(await play(model(script().text("never").finish().build()), undefined, abort.signal)).toEqual([]);
  });

  it("stops in the middle of a delayed text block when aborted", async () => {
    const abort = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of model(script().text("one two three four", { delayMs: 5 }).finish().build()).stream(request(), { signal: abort.signal })) {
      parts.push(part);
      if (part.type === "text-delta") abort.abort("cancel");
    }
    expect(types(parts)).toEqual(["text-start", "text-delta"]);
  });

  it("fills {{last_user_text}} and {{last_tool_output[:N]}} from the request's messages", async () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "first question" },
      { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "read_file", arguments: "{}" }] },
      { role: "tool", toolCallId: "c1", toolName: "read_file", content: "0123456789", isError: false },
      { role: "user", content: "second question" },
    ];
    const parts = await play(model(script().text("[{{last_user_text}}] [{{last_tool_output:4}}] [{{last_tool_output}}]").finish().build()), messages);
    expect(textOf(parts)).toBe("[second question] [0123] [0123456789]");
    const empty = await play(model(script().text("<{{last_tool_output}}>").finish().build()), [{ role: "user", content: "x" }]);
    expect(textOf(empty)).toBe("<>");
  });

  it("after the last response, by default replies with a fixed note", async () => {
    const scripted = model(script().text("only").finish().build());
    expect(textOf(await play(scripted))).toBe("only");
    const after = await play(scripted);
    expect(textOf(after)).toMatch(/no more responses/);
    expect(after.at(-1)).toMatchObject({ type: "finish", reason: "stop" });
    expect(scripted.callCount).toBe(2);
  });

  it("after the last response, says it is the embedded scripted model and how to get a real one", async () => {
    const after = textOf(await play(model(script().build())));
    expect(after).toContain("embedded scripted model");
    expect(after).toMatch(/--model anthropic:<model>, openai:<model> or openai-compatible:<model>/);
  });

  it("answers a compaction (tool choice none) it has no response for with a summary of the conversation", async () => {
    const scripted = model(script().text("only").finish().build());
    await play(scripted);
    const messages: ModelMessage[] = [
      { role: "user", content: "what is in the repo?" },
      { role: "assistant", content: [{ type: "text", text: "Listing it." }, { type: "tool-call", id: "c1", name: "list_files", arguments: '{"path":"."}' }] },
      { role: "tool", toolCallId: "c1", toolName: "list_files", content: "a.txt", isError: false },
      { role: "user", content: "[Compaction request] …" },
    ];
    const parts: StreamPart[] = [];
    for await (const part of scripted.stream({ system: "s", messages, tools: [], toolChoice: "none" }, { signal: new AbortController().signal })) parts.push(part);
    expect(textOf(parts).split("\n")).toEqual([
      "Summary written by podd's embedded scripted model (it has no real understanding of the conversation):",
      "- The user wrote: what is in the repo?",
      "- The assistant answered: Listing it.",
      '- The assistant called list_files({"path":"."}).',
    ]);
    expect(types(parts)).not.toContain("tool-call");
  });

  it("after the last response, repeats it with when_exhausted repeat_last", async () => {
    const scripted = model(script().text("first").finish().text("again").finish().whenExhausted("repeat_last").build());
    const texts = [];
    for (let call = 0; call < 4; call += 1) texts.push(textOf(await play(scripted)));
    expect(texts).toEqual(["first", "again", "again", "again"]);
    expect(textOf(await play(model(script().whenExhausted("repeat_last").build())))).toMatch(/no more responses/);
  });

  it("after the last response, fails with when_exhausted error", async () => {
    const scripted = model(script().text("only").finish().whenExhausted("error").build());
    await play(scripted);
    const parts = await play(scripted);
    expect(types(parts)).toEqual(["error"]);
    expect((parts[0] as Extract<StreamPart, { type: "error" }>).error.message).toBe("scripted scenario exhausted after 1 responses");
  });

  it("reports its model name and context window", () => {
    const scripted = model({ ...script().model("demo-model").build(), context_window: 1234 });
    expect(scripted.info).toEqual({ provider: "scripted", model: "demo-model", contextWindow: 1234, maxOutputTokens: 8192 });
  });

  it("loads a scenario file", async () => {
    const file = path.join(dir, "good.json");
    fs.writeFileSync(file, JSON.stringify(script().text("from a file").finish().model("filed").build()));
    const scripted = ScriptedModel.fromFile(file);
    expect(scripted.info.model).toBe("filed");
    expect(textOf(await play(scripted))).toBe("from a file");
  });

  it("refuses a missing, unparsable or invalid scenario file with a clear error naming it", () => {
    const missing = path.join(dir, "missing.json");
    expect(() => ScriptedModel.fromFile(missing)).toThrow(`cannot read scenario ${missing}: ENOENT`);
    const broken = path.join(dir, "broken.json");
    fs.writeFileSync(broken, "{ not json");
    expect(() => ScriptedModel.fromFile(broken)).toThrow(new RegExp(`^cannot read scenario ${broken}: .*JSON`));
    const invalid = path.join(dir, "invalid.json");
    fs.writeFileSync(invalid, JSON.stringify({ responses: [{ steps: [{ type: "teleport" }] }] }));
    expect(() => ScriptedModel.fromFile(invalid)).toThrow(new RegExp(`^invalid scenario ${invalid}: responses\\[0\\]\\.steps\\[0\\]\\.type`));
    const wrongMode = path.join(dir, "mode.json");
    fs.writeFileSync(wrongMode, JSON.stringify({ responses: [], when_exhausted: "explode" }));
    expect(() => ScriptedModel.fromFile(wrongMode)).toThrow(/invalid scenario .*when_exhausted/);
  });

  it("script() refuses to build with an unclosed response", () => {
    expect(() => script().text("dangling").build()).toThrow(/not closed/);
  });
});
