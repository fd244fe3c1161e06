/**
 * Model configuration: what `--model` (and `--base-url`) name, resolved against the named
 * profiles of `<PODD_HOME>/config.json`, and the credential check `podd start` runs before
 * it daemonises. Holds no secrets: API keys are read from the environment by the pod
 * (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`) and passed only to the SDK.
 *
 * Specs: `scripted` (the embedded demo scenario) · `scripted:<scenario.json>` ·
 * `anthropic:<model>` · `openai:<model>` · `openai-compatible:<model>` (Ollama, llama.cpp
 * server, vLLM, …; needs a base URL) · `<profile>` (a profile name from config.json).
 */
import fs from "node:fs";
import path from "node:path";
import { PoddError } from "../errors.js";
import type { ModelProfile, PoddConfigFile } from "./config-file-schema.js";
import { modelLimits } from "./model-catalog.js";

export type { ModelProfile, PoddConfigFile };

export const PROVIDERS = ["scripted", "anthropic", "openai", "openai-compatible"] as const;

/** How to leave the embedded demo model (`podd start` output, the TUI's notice): the `--model` forms. */
export const REAL_MODEL_HINT = "--model anthropic:<model>, openai:<model> or openai-compatible:<model> --base-url …";
export type Provider = (typeof PROVIDERS)[number];

export interface ModelConfig {
  provider: Provider;
  /** Model id (for `scripted`: the scenario file, or "" for the demo). */
  model: string;
  /** The profile it came from, if any. */
  profile?: string;
  baseUrl?: string;
  /** The environment variable holding the API key, when the profile names one (`api_key_env`). */
  apiKeyEnv?: string;
  /** Cap on output tokens per request (overrides the catalog). */
  maxOutputTokens?: number;
  /** Context window in tokens (overrides the catalog). */
  contextWindow?: number;
  temperature?: number;
  /** Extended-thinking budget in tokens (Anthropic); off when unset. */
  thinkingBudgetTokens?: number;
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Longest silence inside a stream before it counts as stalled, ms. */
  idleTimeoutMs?: number;
  /** Longest wait for the first chunk after the headers, ms (default: idleTimeoutMs; 10 min for openai-compatible). */
  firstChunkTimeoutMs?: number;
  /** Bound on the time to response headers, ms (the SDKs' `timeout`). */
  requestTimeoutMs?: number;
}

export function configFilePath(home: string): string {
  return path.join(home, "config.json");
}

/** Read and validate `<home>/config.json`; an absent file is an empty config. Throws PoddError naming the problem. */
export async function loadConfigFile(home: string): Promise<PoddConfigFile> {
  const file = configFilePath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
    throw new PoddError("invalid_request", `cannot read ${file}: ${(error as Error).message}`);
  }
  const { parseConfigFile } = await import("./config-file-schema.js");
  return parseConfigFile(text, file);
}

/**
 * The environment variable the API key comes from: the profile's `api_key_env`, else
 * ANTHROPIC_API_KEY / OPENAI_API_KEY, else (openai-compatible) OPENAI_COMPATIBLE_API_KEY —
 * never OPENAI_API_KEY, so a real OpenAI key is not sent to whatever server a base URL names.
 */
export function credentialEnvVar(config: Pick<ModelConfig, "provider" | "apiKeyEnv">): string | undefined {
  if (config.apiKeyEnv) return config.apiKeyEnv;
  if (config.provider === "anthropic") return "ANTHROPIC_API_KEY";
  if (config.provider === "openai") return "OPENAI_API_KEY";
  if (config.provider === "openai-compatible") return "OPENAI_COMPATIBLE_API_KEY";
  return undefined;
}

/**
 * Whether an environment variable holds a credential podd keeps away from tools and from a
 * pod's own environment: the known key variables, any `*_API_KEY`, and `extra` (a profile's
 * `api_key_env`).
 */
export function isCredentialVariable(name: string, extra?: string): boolean {
  return CREDENTIAL_VARIABLES.has(name) || /_API_KEY$/.test(name) || name === extra;
}

const CREDENTIAL_VARIABLES: ReadonlySet<string> = new Set(["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "OPENAI_COMPATIBLE_API_KEY"]);

/** Whether the pod cannot start without that key (local OpenAI-compatible servers need none). */
function keyRequired(config: ModelConfig): boolean {
  return config.provider === "anthropic" || config.provider === "openai" || config.apiKeyEnv !== undefined;
}

/** Why the pod could not use this model with this environment (a missing key, no base URL), or undefined. */
export function credentialProblem(config: ModelConfig, env: NodeJS.ProcessEnv): string | undefined {
  const variable = credentialEnvVar(config);
  if (variable && keyRequired(config) && !env[variable]) {
    return `${config.provider} needs an API key: set ${variable} in the environment of \`podd start\` (it is passed to the pod, never on a command line)`;
  }
  if (config.provider === "anthropic") {
    // Anthropic Messages API: temperature is 0-1; extended thinking needs temperature 1 and
    // 1024 <= budget_tokens < max_tokens (the catalog's output cap unless max_tokens is set).
    if (config.temperature !== undefined && config.temperature > 1) return `temperature ${config.temperature} is above Anthropic's maximum of 1`;
    const budget = config.thinkingBudgetTokens;
    if (budget !== undefined) {
      const maxTokens = modelLimits(config.model, config).maxOutputTokens;
      if (config.temperature !== undefined && config.temperature !== 1) return "extended thinking (thinking_budget) cannot be combined with a temperature other than 1";
      if (budget < 1024) return `thinking_budget (${budget}) must be at least 1024 tokens`;
      if (budget >= maxTokens) return `thinking_budget (${budget}) must be below max_tokens (${maxTokens}${config.maxOutputTokens === undefined ? `, ${config.model}'s output cap` : ""})`;
    }
  }
  if (config.provider === "openai-compatible" && !config.baseUrl) {
    return "openai-compatible needs the server's URL: --base-url http://127.0.0.1:11434/v1 (or OPENAI_BASE_URL, or base_url in the profile)";
  }
  return undefined;
}

/**
 * Resolve a `--model` spec (and `--base-url`) into a ModelConfig. Throws PoddError(invalid_request)
 * for an unknown provider or profile.
 */
export async function resolveModelConfig(spec: string, options: { baseUrl?: string; home: string; env: NodeJS.ProcessEnv }): Promise<ModelConfig> {
  const colon = spec.indexOf(":");
  let config: ModelConfig;
  if (colon === -1 && spec !== "scripted") {
    const { profiles } = await loadConfigFile(options.home);
    const profile = profiles[spec];
    if (!profile) {
      const known = Object.keys(profiles);
      throw new PoddError(
        "invalid_request",
        `unknown model "${spec}": use scripted[:<scenario.json>], anthropic:<model>, openai:<model>, openai-compatible:<model>` +
          (known.length > 0 ? `, or a profile (${known.join(", ")})` : `, or a profile defined in ${configFilePath(options.home)}`),
      );
    }
    if (!profile.model.includes(":")) throw new PoddError("invalid_request", `profile ${spec}: model must be <provider>:<model>, got "${profile.model}"`);
    config = { ...parseProviderSpec(profile.model), ...fromProfile(profile), profile: spec };
  } else {
    config = parseProviderSpec(spec);
  }
  if (options.baseUrl) config.baseUrl = options.baseUrl;
  if (!config.baseUrl && config.provider === "openai-compatible" && options.env.OPENAI_BASE_URL) config.baseUrl = options.env.OPENAI_BASE_URL;
  return config;
}

function parseProviderSpec(spec: string): ModelConfig {
  const colon = spec.indexOf(":");
  const provider = colon === -1 ? spec : spec.slice(0, colon);
  const model = colon === -1 ? "" : spec.slice(colon + 1);
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    throw new PoddError("invalid_request", `unknown model provider "${provider}" in ${spec}; use one of ${PROVIDERS.join(", ")}`);
  }
  if (provider !== "scripted" && model === "") throw new PoddError("invalid_request", `${spec}: name the model, e.g. ${provider}:<model-id>`);
  return { provider: provider as Provider, model };
}

function fromProfile(profile: ModelProfile): Partial<ModelConfig> {
  return {
    baseUrl: profile.base_url,
    apiKeyEnv: profile.api_key_env,
    maxOutputTokens: profile.max_tokens,
    contextWindow: profile.context_window,
    temperature: profile.temperature,
    thinkingBudgetTokens: profile.thinking_budget,
    retry: profile.retry && {
      maxAttempts: profile.retry.max_attempts,
      baseDelayMs: profile.retry.base_delay_ms,
      maxDelayMs: profile.retry.max_delay_ms,
    },
    idleTimeoutMs: profile.idle_timeout_ms,
    firstChunkTimeoutMs: profile.first_chunk_timeout_ms,
    requestTimeoutMs: profile.request_timeout_ms,
  };
}
