/** MCP configuration (src/config/mcp-config.ts) and the tool-result helpers of src/mcp/mcp-servers.ts. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { expandEnvReferences, mergeMcpServers, parseMcpFlag, readProjectMcpServers } from "../../src/config/mcp-config.js";
import { parseConfigFile } from "../../src/config/config-file-schema.js";
import { capBytes, mcpToolName } from "../../src/mcp/mcp-servers.js";

describe("MCP configuration", () => {
  it("--mcp NAME=CMD is a stdio server split on whitespace; NAME=URL a Streamable HTTP server; anything else is refused", () => {
    expect(parseMcpFlag("fs=npx -y @modelcontextprotocol/server-filesystem /tmp")).toEqual(["fs", { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] }]);
    expect(parseMcpFlag("remote=https://mcp.example.com/mcp")).toEqual(["remote", { url: "https://mcp.example.com/mcp" }]);
    for (const bad of ["fs", "=cmd", "bad name=cmd", "x=", `${"n".repeat(33)}=cmd`]) expect(() => parseMcpFlag(bad), bad).toThrow(/expected NAME=COMMAND or NAME=URL/);
  });

  it("merges config.json, the project file and the flags, later winning per name; --no-mcp drops them all", () => {
    const global = { a: { command: "global-a", args: [] }, b: { command: "global-b", args: [] } };
    const project = { b: { command: "project-b", args: [] } };
    expect(mergeMcpServers({ global, project, flags: ["a=flag-a"] })).toEqual({ a: { command: "flag-a", args: [] }, b: { command: "project-b", args: [] } });
    expect(mergeMcpServers({ global, project, flags: ["a=flag-a"], noMcp: true })).toEqual({});
  });

  it("reads mcpServers from config.json and <cwd>/.podd/mcp.json, and names the file of a bad one", () => {
    expect(parseConfigFile(JSON.stringify({ mcpServers: { gh: { type: "http", url: "https://x.test/mcp", headers: { Authorization: "Bearer ${GH_TOKEN}" } } } }), "config.json").mcpServers).toEqual({
      gh: { type: "http", url: "https://x.test/mcp", headers: { Authorization: "Bearer ${GH_TOKEN}" } },
    });
    expect(() => parseConfigFile(JSON.stringify({ mcpServers: { "bad name": { command: "x" } } }), "config.json")).toThrow(/^config\.json: mcpServers/);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "podd-mcp-"));
    expect(readProjectMcpServers(cwd)).toEqual({});
    fs.mkdirSync(path.join(cwd, ".podd"));
    fs.writeFileSync(path.join(cwd, ".podd", "mcp.json"), JSON.stringify({ mcpServers: { fs: { command: "node", args: ["server.js"], tool_timeout_ms: 500 } } }));
    expect(readProjectMcpServers(cwd)).toEqual({ fs: { command: "node", args: ["server.js"], tool_timeout_ms: 500 } });
    fs.writeFileSync(path.join(cwd, ".podd", "mcp.json"), "{");
    expect(() => readProjectMcpServers(cwd)).toThrow(/mcp\.json is not JSON/);
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("expands ${VAR} from the pod's environment; a missing one is named, never a value", () => {
    expect(expandEnvReferences("Bearer ${TOKEN}", { TOKEN: "s3cret" }, "header Authorization")).toBe("Bearer s3cret");
    expect(() => expandEnvReferences("Bearer ${MISSING}", { TOKEN: "s3cret" }, "mcp server gh header Authorization")).toThrow(
      "mcp server gh header Authorization references ${MISSING}, which is not set in the pod's environment",
    );
  });
});

describe("MCP tool names and results", () => {
  it("mcp__<server>__<tool> within the providers' [A-Za-z0-9_-]{1,64}", () => {
    expect(mcpToolName("fs", "read_text_file")).toBe("mcp__fs__read_text_file");
    expect(mcpToolName("everything", "get.sum v2")).toBe("mcp__everything__get_sum_v2");
    expect(mcpToolName("s", "t".repeat(100))).toHaveLength(64);
  });

  it("caps a result at a byte count on a character boundary, saying how much was left out", () => {
    expect(capBytes("short", 10)).toBe("short");
    const capped = capBytes("ééééé", 5);
    expect(capped).toBe("éé\n[output truncated: 10 bytes, the first 4 shown]");
  });
});
