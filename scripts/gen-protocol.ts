/**
 * `npm run gen:protocol`: regenerate the protocol artifacts from the zod schemas in
 * `protocol/` — `protocol/schema.json` (JSON Schema, draft 2020-12) and `docs/protocol.md`
 * (the readable reference page). `renderProtocolArtifacts()` is pure apart from reading the
 * golden fixtures (the page's examples), so test/protocol/generated.test.ts can compare its
 * output with the committed files; only running this file as a script writes them.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildProtocolJsonSchema } from "./protocol-json-schema.js";
import { renderProtocolMarkdown } from "./render-protocol-markdown.js";

/** The repository root (this file lives in `scripts/`). */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Where each artifact lives, relative to the repository root. */
export const PROTOCOL_ARTIFACT_PATHS = {
  schemaJson: "protocol/schema.json",
  markdown: "docs/protocol.md",
} as const;

const FIXTURE_PATHS = ["protocol/fixtures/methods.jsonl", "protocol/fixtures/events.jsonl"];

export interface ProtocolArtifacts {
  /** Contents of protocol/schema.json. */
  schemaJson: string;
  /** Contents of docs/protocol.md. */
  markdown: string;
}

/** Render both artifacts as they should be on disk now. Deterministic: no dates. */
export function renderProtocolArtifacts(): ProtocolArtifacts {
  const document = buildProtocolJsonSchema();
  const fixtureLines = FIXTURE_PATHS.flatMap((fixturePath) =>
    readFileSync(path.join(REPOSITORY_ROOT, fixturePath), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== ""),
  );
  return {
    schemaJson: `${JSON.stringify(document, null, 2)}\n`,
    markdown: renderProtocolMarkdown({ document, fixtureLines }),
  };
}

function writeProtocolArtifacts(): void {
  const artifacts = renderProtocolArtifacts();
  for (const key of ["schemaJson", "markdown"] as const) {
    const target = path.join(REPOSITORY_ROOT, PROTOCOL_ARTIFACT_PATHS[key]);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, artifacts[key]);
    console.log(`wrote ${PROTOCOL_ARTIFACT_PATHS[key]}`);
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && path.resolve(invokedPath) === fileURLToPath(import.meta.url)) writeProtocolArtifacts();
