/**
 * Turn a ModelConfig into a LanguageModel. The SDK adapters are imported lazily: a pod on the
 * scripted model never loads an SDK (start-up time), and neither does the CLI.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { credentialEnvVar, credentialProblem, type ModelConfig } from "../config/model-config.js";
import { packageRoot } from "../config/package-root.js";
import { PoddError } from "../errors.js";
import { modelLimits } from "../config/model-catalog.js";
import { DEFAULT_IDLE_TIMEOUT_MS } from "./idle-watchdog.js";
import { DEFAULT_LOCAL_FIRST_CHUNK_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ProviderModelOptions } from "./provider-options.js";
import { DEFAULT_RETRY_POLICY } from "./retry.js";
import { ScriptedModel } from "./scripted/scripted-model.js";
import type { LanguageModel } from "./types.js";

/** The shipped demo scenario (JSON), played by `--model scripted`. */
export function demoScenarioPath(): string {
  return path.join(packageRoot(), "src", "model", "scripted", "scenarios", "demo.json");
}

/** A scenario shipped with podd, named without a path or extension (`scripted:demo-team`), or undefined. */
export function builtinScenarioPath(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return undefined;
  const file = path.join(path.dirname(demoScenarioPath()), `${name}.json`);
  return fs.existsSync(file) ? file : undefined;
}

/** Throws PoddError(invalid_request) for a missing key or base URL, or an unreadable scenario. */
export async function resolveModel(config: ModelConfig, options: { cwd: string; env: NodeJS.ProcessEnv; logger: Logger }): Promise<LanguageModel> {
  if (config.provider === "scripted") {
    const file = config.model === "" ? demoScenarioPath() : (builtinScenarioPath(config.model) ?? path.resolve(options.cwd, config.model));
    try {
      return ScriptedModel.fromFile(file);
    } catch (error) {
      throw new PoddError("invalid_request", (error as Error).message);
    }
  }
  const problem = credentialProblem(config, options.env);
  if (problem) throw new PoddError("invalid_request", problem);
  const keyVariable = credentialEnvVar(config);
  const providerOptions: ProviderModelOptions = {
    config,
    apiKey: keyVariable ? options.env[keyVariable] : undefined,
    limits: modelLimits(config.model, { contextWindow: config.contextWindow, maxOutputTokens: config.maxOutputTokens }),
    retry: {
      ...DEFAULT_RETRY_POLICY,
      ...Object.fromEntries(Object.entries(config.retry ?? {}).filter(([, value]) => value !== undefined)),
    },
    idleTimeoutMs: config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    firstChunkTimeoutMs:
      config.firstChunkTimeoutMs ??
      (config.provider === "openai-compatible" ? DEFAULT_LOCAL_FIRST_CHUNK_TIMEOUT_MS : (config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)),
    requestTimeoutMs: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    logger: options.logger.child({ component: "sdk" }, { level: "warn" }),
  };
  if (config.provider === "anthropic") return (await import("./anthropic/anthropic-model.js")).createAnthropicModel(providerOptions);
  return (await import("./openai/openai-model.js")).createOpenAIModel(providerOptions);
}
