/**
 * The zod schema of `<PODD_HOME>/config.json` and the file's types, inferred from it. Loaded
 * only when the file exists, to keep `podd start` fast: model-config.ts imports the types
 * alone and this module's parser lazily.
 */
import { z } from "zod";
import { describeIssues } from "../../protocol/index.js";
import { PoddError } from "../errors.js";
import { McpServers } from "./mcp-config.js";

const positive = z.number().int().positive();

/** A named model profile (snake_case, like the wire). */
export const ModelProfile = z.object({
  model: z.string().describe("<provider>:<model>, e.g. anthropic:claude-sonnet-4-5 or openai-compatible:llama3.1"),
  base_url: z.url().optional().describe("API base URL (OpenAI-compatible servers, proxies)."),
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe("Environment variable holding the API key."),
  max_tokens: positive.optional().describe("Cap on output tokens per request."),
  context_window: positive.optional().describe("Context window in tokens (overrides the built-in table)."),
  temperature: z.number().min(0).max(2).optional(),
  thinking_budget: positive.optional().describe("Extended-thinking budget in tokens (Anthropic)."),
  retry: z
    .object({ max_attempts: positive.optional(), base_delay_ms: positive.optional(), max_delay_ms: positive.optional() })
    .optional(),
  idle_timeout_ms: positive.optional().describe("Longest silence inside a model stream, ms."),
  first_chunk_timeout_ms: positive.optional().describe("Longest wait for a stream's first chunk, ms (a local server may process the prompt first)."),
  request_timeout_ms: positive.optional().describe("Bound on the time to response headers, ms."),
});
export type ModelProfile = z.output<typeof ModelProfile>;

export const PoddConfigFile = z.object({
  profiles: z.record(z.string(), ModelProfile).default({}),
  permissions: z
    .array(z.string().regex(/^\s*(allow|deny)\s+[A-Za-z0-9_*-]+(:.+)?$/, 'expected "allow <tool>[:<glob>]" or "deny <tool>[:<glob>]"'))
    .optional()
    .describe("Per-tool rules, first match wins (after the command line's), e.g. \"deny bash:rm *\"."),
  mcpServers: McpServers.optional().describe("MCP servers every pod takes tools from (src/config/mcp-config.ts)."),
});
export type PoddConfigFile = z.output<typeof PoddConfigFile>;

export function parseConfigFile(text: string, file: string): PoddConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PoddError("invalid_request", `${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = PoddConfigFile.safeParse(json);
  if (!parsed.success) throw new PoddError("invalid_request", `${file}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
