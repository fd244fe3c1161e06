/**
 * Tuning knobs read from the environment (PODD_REPORT_*_MS, PODD_CLIENT_STALL_MS): a positive
 * whole number each; anything else is ignored, so the caller's default applies.
 */
export function positiveIntegerFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  const value = Number(text);
  return text !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}
