/**
 * Segments: the pieces of a user turn (`run.params.input`) and of `user_message` events.
 *
 * Source: the reference's `protocol::Segment` (tagged by `kind`). Any kind this build does
 * not know decodes as `{"kind":"unknown"}` instead of failing the whole method, and reaches
 * the model as `[unknown input segment]` (with an alert), per wire-protocol.md.
 */
import { z } from "zod";

export const TextSegment = z.object({
  kind: z.literal("text"),
  content: z.string().describe("Text typed by the user, verbatim."),
});
export type TextSegment = z.infer<typeof TextSegment>;

const U32_MAX = 0xffff_ffff;
const U32 = z.number().int().min(0).max(U32_MAX);

/**
 * The reference's paste id is a `u32`. podd ≤ 0.1 also took a string: a string of decimal digits
 * in range becomes that number, any other string its 32-bit FNV-1a hash (stable: the same string
 * always names the same chip). So a pod only ever emits numbers, also for such old log entries.
 */
function pasteIdNumber(id: number | string): number {
  if (typeof id === "number") return id;
  if (/^\d{1,10}$/.test(id) && Number(id) <= U32_MAX) return Number(id);
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

export const PasteSegment = z.object({
  kind: z.literal("paste"),
  id: z
    .union([U32, z.string().max(256)])
    .transform(pasteIdNumber)
    .describe("Client-chosen id of the paste chip: a u32. A string (accepted from podd ≤ 0.1 clients only) is turned into a number; a pod never sends one."),
  chars: U32.describe("Length of `content` in characters."),
  lines: U32.describe("Number of lines in `content`."),
  content: z.string().describe("The pasted text, verbatim."),
});
export type PasteSegment = z.infer<typeof PasteSegment>;

export const FileRefSegment = z.object({
  kind: z.literal("file_ref"),
  path: z.string().describe("A path as typed after `@` (relative to the pod's cwd or absolute)."),
});
export type FileRefSegment = z.infer<typeof FileRefSegment>;

export const KnowledgeRefSegment = z.object({
  kind: z.literal("knowledge_ref"),
  slug: z.string().describe("Knowledge entry slug, typed after `#`."),
});
export type KnowledgeRefSegment = z.infer<typeof KnowledgeRefSegment>;

export const WorkflowInvokeSegment = z.object({
  kind: z.literal("workflow_invoke"),
  slug: z.string().describe("Workflow slug, typed after `/`."),
});
export type WorkflowInvokeSegment = z.infer<typeof WorkflowInvokeSegment>;

export const UnknownSegment = z.object({ kind: z.literal("unknown") });
export type UnknownSegment = z.infer<typeof UnknownSegment>;

const KnownSegment = z.discriminatedUnion("kind", [
  TextSegment,
  PasteSegment,
  FileRefSegment,
  KnowledgeRefSegment,
  WorkflowInvokeSegment,
  UnknownSegment,
]);

const KNOWN_SEGMENT_KINDS: ReadonlySet<string> = new Set(["text", "paste", "file_ref", "knowledge_ref", "workflow_invoke", "unknown"]);

/** A segment of user input. Unknown kinds decode as `{kind:"unknown"}`; a known kind with bad fields is an error. */
export const Segment = z.union([
  KnownSegment,
  z
    .looseObject({ kind: z.string().refine((kind) => !KNOWN_SEGMENT_KINDS.has(kind), "known segment kind with invalid fields") })
    .transform((): UnknownSegment => ({ kind: "unknown" })),
]);
export type Segment = z.output<typeof Segment>;

/** Placeholder text the model sees for a segment of unknown kind. */
export const UNKNOWN_SEGMENT_TEXT = "[unknown input segment]";

/**
 * Flatten segments into the text the model sees: text and paste content verbatim, `@path`,
 * `#slug`, `/slug`, concatenated with no separator (the reference's flattening rule).
 */
export function flattenSegments(segments: readonly Segment[]): string {
  return segments.map(flattenSegment).join("");
}

function flattenSegment(segment: Segment): string {
  switch (segment.kind) {
    case "text":
    case "paste":
      return segment.content;
    case "file_ref":
      return `@${segment.path}`;
    case "knowledge_ref":
      return `#${segment.slug}`;
    case "workflow_invoke":
      return `/${segment.slug}`;
    case "unknown":
      return UNKNOWN_SEGMENT_TEXT;
  }
}
