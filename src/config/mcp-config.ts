/**
 * MCP server configuration (issue 13): which Model Context Protocol servers a pod takes tools
 * from. The shape is the one Claude Code, codex and goose read (`{"mcpServers": {name: …}}`):
 *
 * - stdio: `{command, args?, env?, cwd?}` (a `type: "stdio"` is allowed);
 * - Streamable HTTP: `{url, headers?}` (`type: "http"`).
 *
 * Sources, later ones winning per server name: `mcpServers` in `$PODD_HOME/config.json`, then
 * `<cwd>/.podd/mcp.json` (the project's), then `podd start --mcp NAME=CMD|URL`; `--no-mcp`
 * drops them all. Values in `env` and `headers` may reference the pod's environment as
 * `${VAR}`: they are expanded when the server starts, and neither the expanded nor the written
 * values are logged or sent to clients (only server names, transports and states are).
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { describeIssues } from "../../protocol/index.js";
import { PoddError } from "../errors.js";

/** Letters, digits, `_` and `-`: a server name becomes part of tool names (`mcp__<server>__<tool>`), which providers restrict to that set. */
export const MCP_SERVER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

const StringMap = z.record(z.string(), z.string());
/** Limits every server may set (codex's `startup_timeout_sec` / `tool_timeout_sec`, in ms). */
const Limits = {
  startup_timeout_ms: z.number().int().positive().optional().describe("Longest start (connect, initialize, tools/list), ms; default 15000."),
  tool_timeout_ms: z.number().int().positive().optional().describe("Longest tool call, ms; default 120000."),
};

export const McpStdioServer = z.object({
  type: z.literal("stdio").optional(),
  command: z.string().min(1).describe("The program to run (looked up on PATH)."),
  args: z.array(z.string()).default([]),
  env: StringMap.optional().describe("Added to the server's environment; `${VAR}` takes the pod's VAR."),
  cwd: z.string().optional().describe("Working directory of the server (default: the pod's cwd); relative to the pod's cwd."),
  ...Limits,
});
export const McpHttpServer = z.object({
  type: z.literal("http").optional(),
  url: z.url().describe("The server's Streamable HTTP endpoint."),
  headers: StringMap.optional().describe("Sent with every request; `${VAR}` takes the pod's VAR (for tokens)."),
  ...Limits,
});
export const McpServerConfig = z.union([McpStdioServer, McpHttpServer]);
export type McpServerConfig = z.output<typeof McpServerConfig>;

export const McpServers = z.record(z.string().regex(MCP_SERVER_NAME, "a server name is 1-32 letters, digits, '_' or '-'"), McpServerConfig);
export type McpServers = z.output<typeof McpServers>;

/** The project file under a pod's cwd. */
export const PROJECT_MCP_FILE = path.join(".podd", "mcp.json");

/** `<cwd>/.podd/mcp.json`'s `mcpServers`, or {} when there is no such file. Throws a PoddError naming the file for a bad one. */
export function readProjectMcpServers(cwd: string): McpServers {
  const file = path.join(cwd, PROJECT_MCP_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new PoddError("invalid_request", `cannot read ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PoddError("invalid_request", `${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.object({ mcpServers: McpServers.default({}) }).safeParse(json);
  if (!parsed.success) throw new PoddError("invalid_request", `${file}: ${describeIssues(parsed.error)}`);
  return parsed.data.mcpServers;
}

/**
 * `--mcp NAME=CMD` or `--mcp NAME=URL`: a URL (http:// or https://) is a Streamable HTTP server,
 * anything else a command line split on whitespace (no shell: quote nothing; use a config file
 * for arguments with spaces). Throws an Error naming the problem.
 */
export function parseMcpFlag(text: string): [string, McpServerConfig] {
  const equals = text.indexOf("=");
  const name = equals === -1 ? "" : text.slice(0, equals);
  const value = equals === -1 ? "" : text.slice(equals + 1).trim();
  if (!MCP_SERVER_NAME.test(name) || value === "") throw new Error(`--mcp ${JSON.stringify(text)}: expected NAME=COMMAND or NAME=URL (NAME: 1-32 letters, digits, '_' or '-')`);
  if (/^https?:\/\//.test(value)) {
    const parsed = McpHttpServer.safeParse({ url: value });
    if (!parsed.success) throw new Error(`--mcp ${name}: ${describeIssues(parsed.error)}`);
    return [name, parsed.data];
  }
  const [command, ...args] = value.split(/\s+/);
  return [name, { command: command as string, args }];
}

/** The servers a pod starts: global, then project, then flags (later wins per name); none with `noMcp`. */
export function mergeMcpServers(sources: { global?: McpServers; project?: McpServers; flags?: readonly string[]; noMcp?: boolean }): McpServers {
  if (sources.noMcp) return {};
  return { ...sources.global, ...sources.project, ...Object.fromEntries((sources.flags ?? []).map(parseMcpFlag)) };
}

/** `${VAR}` in `value` replaced by `env.VAR`; a missing variable is an Error naming it (never its value). */
export function expandEnvReferences(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const found = env[name];
    if (found === undefined) throw new Error(`${where} references \${${name}}, which is not set in the pod's environment`);
    return found;
  });
}
