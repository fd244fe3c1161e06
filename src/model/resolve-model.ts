/**
 * Turn a `--model` spec into a LanguageModel. Today: `scripted` (the shipped demo scenario)
 * and `scripted:<scenario.json>`. Real providers (`anthropic:…`, `openai:…`) come with the
 * providers issue.
 */
import path from "node:path";
import { PoddError } from "../errors.js";
import { packageRoot } from "../config/package-root.js";
import { ScriptedModel } from "./scripted/scripted-model.js";
import type { LanguageModel } from "./types.js";

export const DEFAULT_MODEL_SPEC = "scripted";

/** The shipped demo scenario (JSON), played by `--model scripted`. */
export function demoScenarioPath(): string {
  return path.join(packageRoot(), "src", "model", "scripted", "scenarios", "demo.json");
}

/** Throws PoddError(invalid_request) for an unknown provider or an unreadable scenario. */
export function resolveModel(spec: string, cwd: string): LanguageModel {
  const colon = spec.indexOf(":");
  const provider = colon === -1 ? spec : spec.slice(0, colon);
  const rest = colon === -1 ? "" : spec.slice(colon + 1);
  if (provider === "scripted") {
    const file = rest === "" ? demoScenarioPath() : path.resolve(cwd, rest);
    try {
      return ScriptedModel.fromFile(file);
    } catch (error) {
      throw new PoddError("invalid_request", (error as Error).message);
    }
  }
  throw new PoddError("invalid_request", `unknown model provider "${provider}" in --model ${spec}; this build supports scripted[:<scenario.json>]`);
}
