/**
 * The scenario format of the embedded scripted model: a JSON file of responses, each a list
 * of steps played for one model call, in order. Responses are consumed one per model call.
 */
import { z } from "zod";

const Usage = z.object({
  input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
  cache_read_input_tokens: z.number().int().nonnegative().optional(),
});

export const ScenarioStep = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("text"),
    text: z.string().describe("Text of one block. `{{last_user_text}}`, `{{last_system_text}}` and `{{last_tool_output}}` (each optionally `:N`, the first N characters) are filled in from the request's last message of that role."),
    chunks: z.array(z.string()).optional().describe("Explicit deltas; by default the text is split after each whitespace run."),
    delay_ms: z.number().int().nonnegative().optional().describe("Pause before each delta, ms."),
    gate: z.string().optional().describe("Hold the block open after its last delta until this file exists (see the gate step)."),
    open: z
      .boolean()
      .optional()
      .describe("Leave the block unfinished (no text end, so no `text_done`), as a stream that breaks off mid-block; follow it with an error step (a failure after output: not retried) or a hang step."),
  }),
  z.object({
    type: z.literal("thinking"),
    text: z.string(),
    signature: z.string().optional(),
    delay_ms: z.number().int().nonnegative().optional(),
  }),
  z.object({
    type: z.literal("tool_call"),
    name: z.string(),
    input: z.unknown().optional().describe("Tool input; serialised as JSON."),
    arguments: z.string().optional().describe("Raw argument JSON text, used verbatim instead of `input`."),
    id: z.string().optional(),
    delay_ms: z.number().int().nonnegative().optional(),
  }),
  z.object({ type: z.literal("delay"), ms: z.number().int().nonnegative() }),
  z.object({ type: z.literal("hang").describe("Stop sending until the call is aborted.") }),
  z.object({
    type: z.literal("gate"),
    file: z.string().describe("Wait (without a timer) until this file exists, or the call is aborted; lets a test hold a model call open at an exact point."),
  }),
  z.object({
    type: z.literal("error"),
    message: z.string(),
    status: z.number().int().optional(),
    retryable: z.boolean().optional().describe("Whether the retry policy may try again (as for a 429 or 5xx)."),
    retry_after_ms: z.number().int().nonnegative().optional().describe("The provider's wait hint, as from a retry-after header."),
  }),
  z.object({ type: z.literal("usage"), usage: Usage }),
]);
export type ScenarioStep = z.infer<typeof ScenarioStep>;

export const ScenarioResponse = z.object({
  steps: z.array(ScenarioStep),
  when: z
    .object({
      system_text_includes: z.array(z.string()).describe("Every one of these strings occurs in the request's system messages (notifications, child-pod reports)."),
    })
    .optional()
    .describe(
      "Play this response only for a request that matches. A call plays the first unplayed response that matches (one without `when` matches any), so a scenario can wait for, e.g., two child pods' reports however they arrive.",
    ),
});
export type ScenarioResponse = z.infer<typeof ScenarioResponse>;

export const Scenario = z.object({
  model: z.string().default("scripted").describe("Model name shown in the greeting."),
  context_window: z.number().int().positive().default(200_000),
  responses: z.array(ScenarioResponse),
  retry: z
    .object({
      max_attempts: z.number().int().positive().optional(),
      base_delay_ms: z.number().int().nonnegative().optional(),
      max_delay_ms: z.number().int().nonnegative().optional(),
    })
    .optional()
    .describe("Retry policy for retryable error steps (each attempt plays the next response); defaults as for real providers."),
  when_exhausted: z
    .enum(["reply", "repeat_last", "error"])
    .default("reply")
    .describe("After the last response: reply with a fixed note, repeat the last response, or fail with a provider error."),
});
export type Scenario = z.output<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;
