/**
 * The committed protocol artifacts (protocol/schema.json, docs/protocol.md) must be exactly
 * what `npm run gen:protocol` produces from the zod schemas now.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EVENT_NAMES, METHOD_NAMES } from "../../protocol/index.js";
import { PROTOCOL_ARTIFACT_PATHS, REPOSITORY_ROOT, renderProtocolArtifacts } from "../../scripts/gen-protocol.js";

const STALE = "run npm run gen:protocol";

function committed(relativePath: string): string {
  return readFileSync(path.join(REPOSITORY_ROOT, relativePath), "utf8");
}

describe("generated protocol artifacts", () => {
  const artifacts = renderProtocolArtifacts();

  it("protocol/schema.json matches the generator", () => {
    expect(committed(PROTOCOL_ARTIFACT_PATHS.schemaJson) === artifacts.schemaJson, `${PROTOCOL_ARTIFACT_PATHS.schemaJson} is stale: ${STALE}`).toBe(true);
  });

  it("docs/protocol.md matches the generator", () => {
    expect(committed(PROTOCOL_ARTIFACT_PATHS.markdown) === artifacts.markdown, `${PROTOCOL_ARTIFACT_PATHS.markdown} is stale: ${STALE}`).toBe(true);
  });

  it("renders the same bytes every time", () => {
    expect(renderProtocolArtifacts()).toEqual(artifacts);
  });

  it("schema.json defines the wire types under $defs and a line as Method or Event", () => {
    const document = JSON.parse(artifacts.schemaJson) as { $schema: string; anyOf: unknown; $defs: Record<string, unknown> };
    expect(document.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(document.anyOf).toEqual([{ $ref: "#/$defs/Method" }, { $ref: "#/$defs/Event" }]);
    for (const name of ["Method", "Event", "PodEvent", "Segment", "LogEntry", "SystemItem", "Greeting", "Alert", "ErrorCode", "ScopeRule"]) {
      expect(document.$defs, name).toHaveProperty(name);
    }
    const refs = [...artifacts.schemaJson.matchAll(/"\$ref": "#\/\$defs\/([^"]+)"/g)].map((match) => match[1]);
    expect(refs.filter((name) => name === undefined || !(name in document.$defs))).toEqual([]);
    expect(artifacts.schemaJson).not.toContain('"$id"');
  });

  it("docs/protocol.md has a section per method and per event, and says how it is generated", () => {
    for (const name of METHOD_NAMES) expect(artifacts.markdown).toContain(`\n### Method \`${name}\`\n`);
    for (const name of EVENT_NAMES) expect(artifacts.markdown).toContain(`\n### Event \`${name}\`\n`);
    expect(artifacts.markdown).toContain("npm run gen:protocol");
    expect(artifacts.markdown).toContain("## Framing");
  });

  it("docs/protocol.md links only to headings it has", () => {
    const anchors = new Set(
      [...artifacts.markdown.matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
        (match[1] ?? "")
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, "")
          .replace(/ /g, "-"),
      ),
    );
    const links = [...artifacts.markdown.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1] ?? "");
    expect(links.length).toBeGreaterThan(0);
    expect([...new Set(links)].filter((link) => !anchors.has(link))).toEqual([]);
  });
});
