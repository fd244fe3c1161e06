/**
 * The response side of the Anthropic adapter: Messages API stream events → neutral StreamParts.
 * Pure and synchronous (one `push` per event), so it is tested without HTTP.
 *
 * Event sequence (https://platform.claude.com/docs/en/build-with-claude/streaming): one
 * `message_start` (usage with the input and cache counts), then per content block
 * `content_block_start` / `content_block_delta`… / `content_block_stop` (by `index`), one or
 * more `message_delta` (stop_reason, cumulative usage), and `message_stop`. `ping` is ignored
 * (the SDK drops it already); `event: error` is thrown by the SDK and handled in map-error.ts.
 *
 * - text blocks → text-start / text-delta / text-end.
 * - thinking blocks → reasoning-start / reasoning-delta / reasoning-end carrying the signature
 *   from `signature_delta` (extended thinking guide: it arrives just before content_block_stop).
 * - tool_use blocks → tool-input-start / tool-input-delta (each non-empty `input_json_delta`) /
 *   tool-input-end, then `tool-call` with the whole input JSON text ("{}" when the model sent
 *   none: the API streams an empty `partial_json` for a tool without input). Several tool_use
 *   blocks in one message are parallel calls; each closes on its own stop.
 * - redacted_thinking → reasoning-start / reasoning-end carrying its encrypted `data`, so it
 *   goes back unchanged in the next request (extended thinking guide: thinking blocks of the
 *   last assistant turn must be returned as they were). Server tool blocks and citations
 *   have no neutral part and are skipped.
 * - `message_stop` closes any block left open and yields `finish` with the mapped stop reason,
 *   normalised usage and `raw` = `{stop_reason, stop_sequence, usage}` as Anthropic sent them.
 */
import type { RawContentBlockDeltaEvent, RawContentBlockStartEvent, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import type { StreamPart, Usage } from "../types.js";
import { mapStopReason, mergeUsage, normaliseUsage, type AnthropicUsageCounts } from "./map-stop-reason.js";

type OpenBlock =
  | { kind: "text" }
  | { kind: "thinking"; signature: string }
  | { kind: "redacted"; data: string }
  | { kind: "tool"; id: string; name: string; json: string; startInput: unknown }
  | { kind: "skipped" };

/** What `finish.raw` carries: Anthropic's own final values. */
export interface AnthropicFinishRaw {
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: Record<string, unknown>;
}

type EventOf<Type extends RawMessageStreamEvent["type"]> = Extract<RawMessageStreamEvent, { type: Type }>;

export class StreamMapper {
  private readonly blocks = new Map<number, OpenBlock>();
  private usage: Usage = {};
  private rawUsage: Record<string, unknown> = {};
  private stopReason: string | null = null;
  private stopSequence: string | null = null;
  private completed = false;

  /** True once `message_stop` arrived (a stream that ends before it is incomplete). */
  get isComplete(): boolean {
    return this.completed;
  }

  /** The parts for one stream event, in order; unknown event types yield none. */
  push(event: RawMessageStreamEvent | { type: string }): StreamPart[] {
    const handler = (this.handlers as Record<string, ((event: unknown) => StreamPart[]) | undefined>)[event.type];
    return handler ? handler(event) : [];
  }

  private readonly handlers: { [Type in RawMessageStreamEvent["type"]]: (event: EventOf<Type>) => StreamPart[] } = {
    message_start: (event) => {
      this.addUsage(event.message.usage);
      return [];
    },
    content_block_start: (event) => this.startBlock(event),
    content_block_delta: (event) => this.delta(event),
    content_block_stop: (event) => this.stopBlock(event.index),
    message_delta: (event) => {
      if (event.delta.stop_reason !== undefined) this.stopReason = event.delta.stop_reason;
      if (event.delta.stop_sequence !== undefined) this.stopSequence = event.delta.stop_sequence;
      this.addUsage(event.usage);
      return [];
    },
    message_stop: () => {
      const parts = [...this.blocks.keys()].sort((a, b) => a - b).flatMap((index) => this.stopBlock(index));
      this.completed = true;
      const raw: AnthropicFinishRaw = { stop_reason: this.stopReason, stop_sequence: this.stopSequence, usage: this.rawUsage };
      parts.push({ type: "finish", reason: mapStopReason(this.stopReason), usage: this.usage, raw });
      return parts;
    },
  };

  private startBlock(event: RawContentBlockStartEvent): StreamPart[] {
    const block = event.content_block;
    switch (block.type) {
      case "text":
        this.blocks.set(event.index, { kind: "text" });
        return block.text ? [{ type: "text-start" }, { type: "text-delta", text: block.text }] : [{ type: "text-start" }];
      case "thinking":
        this.blocks.set(event.index, { kind: "thinking", signature: block.signature ?? "" });
        return block.thinking ? [{ type: "reasoning-start" }, { type: "reasoning-delta", text: block.thinking }] : [{ type: "reasoning-start" }];
      case "redacted_thinking":
        this.blocks.set(event.index, { kind: "redacted", data: block.data });
        return [{ type: "reasoning-start" }];
      case "tool_use":
        this.blocks.set(event.index, { kind: "tool", id: block.id, name: block.name, json: "", startInput: block.input });
        return [{ type: "tool-input-start", id: block.id, name: block.name }];
      default:
        this.blocks.set(event.index, { kind: "skipped" });
        return [];
    }
  }

  private delta(event: RawContentBlockDeltaEvent): StreamPart[] {
    const block = this.blocks.get(event.index);
    const delta = event.delta;
    if (!block) return [];
    if (delta.type === "text_delta" && block.kind === "text") return delta.text ? [{ type: "text-delta", text: delta.text }] : [];
    if (delta.type === "thinking_delta" && block.kind === "thinking") return delta.thinking ? [{ type: "reasoning-delta", text: delta.thinking }] : [];
    if (delta.type === "signature_delta" && block.kind === "thinking") {
      block.signature += delta.signature;
      return [];
    }
    if (delta.type === "input_json_delta" && block.kind === "tool") {
      if (!delta.partial_json) return [];
      block.json += delta.partial_json;
      return [{ type: "tool-input-delta", id: block.id, delta: delta.partial_json }];
    }
    return [];
  }

  private stopBlock(index: number): StreamPart[] {
    const block = this.blocks.get(index);
    this.blocks.delete(index);
    switch (block?.kind) {
      case "text":
        return [{ type: "text-end" }];
      case "thinking":
        return [{ type: "reasoning-end", signature: block.signature || undefined }];
      case "redacted":
        return [{ type: "reasoning-end", redactedData: block.data }];
      case "tool":
        return [
          { type: "tool-input-end", id: block.id },
          { type: "tool-call", id: block.id, name: block.name, input: toolInputJson(block.json, block.startInput) },
        ];
      default:
        return [];
    }
  }

  private addUsage(usage: AnthropicUsageCounts | null | undefined): void {
    if (!usage) return;
    this.usage = mergeUsage(this.usage, normaliseUsage(usage));
    for (const [key, value] of Object.entries(usage)) if (value !== null && value !== undefined) this.rawUsage[key] = value;
  }
}

/** The streamed JSON text; else the input given at block start (non-empty); else "{}". */
function toolInputJson(json: string, startInput: unknown): string {
  if (json.trim() !== "") return json;
  if (typeof startInput === "object" && startInput !== null && Object.keys(startInput).length > 0) return JSON.stringify(startInput);
  return "{}";
}
