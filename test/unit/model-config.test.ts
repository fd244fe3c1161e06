/** `--model` specs, profiles in config.json, the credential check, and the model catalog. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { credentialEnvVar, credentialProblem, resolveModelConfig } from "../../src/config/model-config.js";
import { DEFAULT_LIMITS, modelLimits } from "../../src/config/model-catalog.js";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "podd-config-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const resolve = (spec: string, options: { baseUrl?: string; env?: NodeJS.ProcessEnv } = {}) =>
  resolveModelConfig(spec, { home, env: options.env ?? {}, baseUrl: options.baseUrl });

describe("model specs", () => {
  it("parses provider specs", async () => {
    expect(await resolve("scripted")).toEqual({ provider: "scripted", model: "" });
    expect(await resolve("scripted:demo.json")).toEqual({ provider: "scripted", model: "demo.json" });
    expect(await resolve("anthropic:claude-sonnet-4-5")).toEqual({ provider: "anthropic", model: "claude-sonnet-4-5" });
    expect(await resolve("openai:gpt-4.1", { baseUrl: "http://proxy/v1" })).toEqual({ provider: "openai", model: "gpt-4.1", baseUrl: "http://proxy/v1" });
    expect(await resolve("openai-compatible:llama3.1", { env: { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" } })).toEqual({
      provider: "openai-compatible",
      model: "llama3.1",
      baseUrl: "http://127.0.0.1:11434/v1",
    });
  });

  it("refuses unknown providers, missing model ids and unknown profiles with clear messages", async () => {
    await expect(resolve("gemini:pro")).rejects.toMatchObject({ code: "invalid_request", message: expect.stringContaining('unknown model provider "gemini"') });
    await expect(resolve("anthropic:")).rejects.toMatchObject({ message: expect.stringContaining("name the model") });
    await expect(resolve("fast")).rejects.toMatchObject({ message: expect.stringMatching(/unknown model "fast".*config\.json/) });
  });

  it("resolves a profile from config.json, and --base-url overrides it", async () => {
    fs.writeFileSync(
      path.join(home, "config.json"),
      JSON.stringify({
        profiles: {
          fast: { model: "anthropic:claude-haiku-4-5", max_tokens: 4096, temperature: 0.2, thinking_budget: 2048, context_window: 100000, retry: { max_attempts: 3 }, idle_timeout_ms: 5000 },
          local: { model: "openai-compatible:qwen", base_url: "http://127.0.0.1:8080/v1" },
        },
      }),
    );
    expect(await resolve("fast")).toMatchObject({
      provider: "anthropic",
      model: "claude-haiku-4-5",
      profile: "fast",
      maxOutputTokens: 4096,
      temperature: 0.2,
      thinkingBudgetTokens: 2048,
      contextWindow: 100000,
      retry: { maxAttempts: 3 },
      idleTimeoutMs: 5000,
    });
    expect((await resolve("local")).baseUrl).toBe("http://127.0.0.1:8080/v1");
    expect((await resolve("local", { baseUrl: "http://other/v1" })).baseUrl).toBe("http://other/v1");
    await expect(resolve("slow")).rejects.toMatchObject({ message: expect.stringContaining("(fast, local)") });
  });

  it("refuses a config.json that is not JSON or does not fit, naming the file and field", async () => {
    fs.writeFileSync(path.join(home, "config.json"), "{ nope");
    await expect(resolve("fast")).rejects.toMatchObject({ message: expect.stringContaining("is not JSON") });
    fs.writeFileSync(path.join(home, "config.json"), JSON.stringify({ profiles: { fast: { model: "anthropic:x", max_tokens: -1 } } }));
    await expect(resolve("fast")).rejects.toMatchObject({ message: expect.stringContaining("profiles.fast.max_tokens") });
  });
});

describe("credential check", () => {
  it("needs the provider's key, never for scripted or keyless local servers, and a base URL for openai-compatible", async () => {
    expect(credentialProblem(await resolve("anthropic:claude-sonnet-4-5"), {})).toMatch(/set ANTHROPIC_API_KEY/);
    expect(credentialProblem(await resolve("anthropic:claude-sonnet-4-5"), { ANTHROPIC_API_KEY: "k" })).toBeUndefined();
    expect(credentialProblem(await resolve("openai:gpt-4.1"), {})).toMatch(/set OPENAI_API_KEY/);
    expect(credentialProblem(await resolve("scripted"), {})).toBeUndefined();
    expect(credentialProblem(await resolve("openai-compatible:llama3.1"), {})).toMatch(/--base-url/);
    expect(credentialProblem(await resolve("openai-compatible:llama3.1", { baseUrl: "http://127.0.0.1:11434/v1" }), {})).toBeUndefined();
  });
});

describe("where keys come from", () => {
  it("never hands OPENAI_API_KEY to an openai-compatible server; a profile may name its own variable", async () => {
    expect(credentialEnvVar({ provider: "openai-compatible" })).toBe("OPENAI_COMPATIBLE_API_KEY");
    expect(credentialEnvVar({ provider: "openai" })).toBe("OPENAI_API_KEY");
    expect(credentialEnvVar({ provider: "anthropic" })).toBe("ANTHROPIC_API_KEY");
    expect(credentialEnvVar({ provider: "scripted" })).toBeUndefined();
    fs.writeFileSync(path.join(home, "config.json"), JSON.stringify({ profiles: { groq: { model: "openai-compatible:llama-3.3", base_url: "https://example.invalid/v1", api_key_env: "GROQ_API_KEY" } } }));
    const groq = await resolve("groq");
    expect(credentialEnvVar(groq)).toBe("GROQ_API_KEY");
    expect(credentialProblem(groq, {})).toMatch(/set GROQ_API_KEY/);
    expect(credentialProblem(groq, { GROQ_API_KEY: "k" })).toBeUndefined();
  });
});

describe("configuration checks", () => {
  it("refuses Anthropic extended thinking with a temperature other than 1, or a budget not below max_tokens", () => {
    const base = { provider: "anthropic" as const, model: "claude-sonnet-4-5", thinkingBudgetTokens: 2048 };
    const env = { ANTHROPIC_API_KEY: "k" };
    expect(credentialProblem({ ...base, temperature: 0.2 }, env)).toMatch(/temperature other than 1/);
    expect(credentialProblem({ ...base, maxOutputTokens: 2048 }, env)).toMatch(/must be below max_tokens/);
    expect(credentialProblem({ ...base, temperature: 1, maxOutputTokens: 4096 }, env)).toBeUndefined();
    expect(credentialProblem({ ...base, model: "claude-opus-4-1", thinkingBudgetTokens: 40_000 }, env)).toMatch(/below max_tokens \(32000, claude-opus-4-1's output cap\)/);
    expect(credentialProblem({ ...base, thinkingBudgetTokens: 500 }, env)).toMatch(/at least 1024/);
    expect(credentialProblem({ provider: "anthropic", model: "claude-haiku-4-5", temperature: 1.5 }, env)).toMatch(/above Anthropic's maximum of 1/);
  });
});

describe("model catalog", () => {
  it("knows context windows and output caps by prefix, falls back to defaults, and takes overrides", () => {
    expect(modelLimits("claude-sonnet-4-5-20250929")).toEqual({ contextWindow: 200_000, maxOutputTokens: 64_000 });
    expect(modelLimits("gpt-4.1-mini")).toEqual({ contextWindow: 1_047_576, maxOutputTokens: 32_768 });
    expect(modelLimits("llama3.1")).toEqual(DEFAULT_LIMITS);
    expect(modelLimits("gpt-4o", { contextWindow: 64_000 })).toEqual({ contextWindow: 64_000, maxOutputTokens: 16_384 });
  });
});
