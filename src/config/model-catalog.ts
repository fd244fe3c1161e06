/**
 * Context window and default output cap per known model (tokens), from the providers' model
 * pages; a profile's `context_window` / `max_tokens` override them. Unknown models get
 * DEFAULT_LIMITS. Matching is by prefix, so dated ids (`claude-sonnet-4-5-20250929`) match.
 */
export interface ModelLimits {
  contextWindow: number;
  maxOutputTokens: number;
}

export const DEFAULT_LIMITS: ModelLimits = { contextWindow: 128_000, maxOutputTokens: 8_192 };

/** Longest prefix first. */
const KNOWN: readonly [prefix: string, limits: ModelLimits][] = [
  ["claude-opus-4", { contextWindow: 200_000, maxOutputTokens: 32_000 }],
  ["claude-sonnet-4", { contextWindow: 200_000, maxOutputTokens: 64_000 }],
  ["claude-haiku-4", { contextWindow: 200_000, maxOutputTokens: 64_000 }],
  ["claude-3-7-sonnet", { contextWindow: 200_000, maxOutputTokens: 64_000 }],
  ["claude-3-5-haiku", { contextWindow: 200_000, maxOutputTokens: 8_192 }],
  ["claude-3-5-sonnet", { contextWindow: 200_000, maxOutputTokens: 8_192 }],
  ["claude-3-opus", { contextWindow: 200_000, maxOutputTokens: 4_096 }],
  ["claude-3-haiku", { contextWindow: 200_000, maxOutputTokens: 4_096 }],
  ["gpt-5", { contextWindow: 400_000, maxOutputTokens: 128_000 }],
  ["gpt-4.1", { contextWindow: 1_047_576, maxOutputTokens: 32_768 }],
  ["gpt-4o", { contextWindow: 128_000, maxOutputTokens: 16_384 }],
  ["o4-mini", { contextWindow: 200_000, maxOutputTokens: 100_000 }],
  ["o3", { contextWindow: 200_000, maxOutputTokens: 100_000 }],
];

export function modelLimits(model: string, overrides: { contextWindow?: number; maxOutputTokens?: number } = {}): ModelLimits {
  const known = KNOWN.find(([prefix]) => model.startsWith(prefix))?.[1] ?? DEFAULT_LIMITS;
  return { contextWindow: overrides.contextWindow ?? known.contextWindow, maxOutputTokens: overrides.maxOutputTokens ?? known.maxOutputTokens };
}
