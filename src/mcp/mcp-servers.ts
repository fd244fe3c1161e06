/**
 * The pod's MCP clients (issue 13), on the official SDK (`@modelcontextprotocol/sdk`: its
 * Client, StdioClientTransport and StreamableHTTPClientTransport; podd writes no JSON-RPC).
 *
 * - start: every configured server is connected in parallel, each within `startTimeoutMs`; one
 *   that fails or is too slow is reported (`failures`, raised as alerts by the daemon) and left
 *   out, and the pod starts anyway.
 * - tools: each server tool is a pod tool `mcp__<server>__<tool>` (characters outside
 *   `[A-Za-z0-9_-]` become `_`, cut to 64: the providers' limit) whose JSON Schema is the
 *   server's `inputSchema`. A call is bounded by `callTimeoutMs`; `cancel` / `pause` abort it
 *   (the SDK sends `notifications/cancelled`); its result is the text of its content (images and
 *   resources as one-line notes), capped at `maxResultBytes` with a note saying so; `isError`
 *   becomes an error result.
 * - a stdio server that exits is started again with backoff (0.5 s doubling to 30 s); calls
 *   meanwhile get an error result naming the server.
 * - close: every client is closed (the SDK ends a stdio server: stdin closed, then SIGTERM, then SIGKILL).
 *
 * Not confined by the pod's scope: an MCP server reads and writes what its own process may.
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import path from "node:path";
import { expandEnvReferences, type McpServerConfig, type McpServers } from "../config/mcp-config.js";
import type { McpServerState, McpServerStatus } from "../config/pod-status-file.js";
import type { Tool, ToolOutput } from "../tools/define-tool.js";
import { ToolFailure } from "../tools/define-tool.js";

export interface McpOptions {
  logger: Logger;
  /** The pod's cwd: a stdio server's default working directory, and the base of a relative one. */
  cwd: string;
  /** Where `${VAR}` references are looked up (the pod's environment). */
  env: NodeJS.ProcessEnv;
  /** Longest start of one server (connect, initialize, tools/list), ms. */
  startTimeoutMs?: number;
  /** Longest tool call, ms. */
  callTimeoutMs?: number;
  /** Most bytes of a tool result the model gets. */
  maxResultBytes?: number;
  /** Tell the pod's clients (an alert): a server died, came back, or could not be restarted. */
  alert?(message: string): void;
  /** A server's state changed after the start (it stopped, is restarting, is connected again): for status.json. */
  onChange?(): void;
}

export const DEFAULT_MCP_START_TIMEOUT_MS = 15_000;
export const DEFAULT_MCP_CALL_TIMEOUT_MS = 120_000;
export const DEFAULT_MCP_MAX_RESULT_BYTES = 100 * 1024;
const RESTART_BASE_MS = 500;

/** The SDK, loaded on first use: a pod without MCP servers does not pay for loading it at start-up. */
interface Sdk {
  Client: typeof Client;
  StdioClientTransport: typeof StdioClientTransport;
  getDefaultEnvironment: typeof getDefaultEnvironment;
  StreamableHTTPClientTransport: typeof StreamableHTTPClientTransport;
}
let sdk: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdk ??= Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]).then(([client, stdio, http]) => ({
    Client: client.Client,
    StdioClientTransport: stdio.StdioClientTransport,
    getDefaultEnvironment: stdio.getDefaultEnvironment,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
  }));
  return sdk;
}
const RESTART_MAX_MS = 30_000;


interface ServerTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** One configured server and its client. */
class McpServer {
  state: McpServerState = "failed";
  error: string | undefined;
  client: Client | undefined;
  tools: ServerTool[] = [];
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    private readonly options: McpOptions,
  ) {}

  get transportKind(): "stdio" | "http" {
    return "url" in this.config ? "http" : "stdio";
  }

  /** Connect and list the tools, within the start-up limit. Never throws: a failure is `state: failed` and `error`. */
  async start(): Promise<void> {
    const timeoutMs = this.config.startup_timeout_ms ?? this.options.startTimeoutMs ?? DEFAULT_MCP_START_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const modules = await loadSdk();
    const client = new modules.Client({ name: "podd", version: "0.1.0" });
    try {
      const transport = this.transport(modules);
      const started = (async () => {
        await client.connect(transport);
        const listed = await client.listTools();
        return listed.tools.map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema as Record<string, unknown> }));
      })();
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`it did not start within ${timeoutMs} ms`)), timeoutMs);
      });
      this.tools = await Promise.race([started, timeout]);
      this.client = client;
      this.state = "connected";
      this.error = undefined;
      // An exit we did not ask for: start it again (its tools stay registered; calls meanwhile fail).
      client.onclose = () => {
        if (this.closing || this.client !== client) return;
        this.client = undefined;
        this.scheduleRestart("its connection closed");
      };
      this.options.logger.info({ mcp: this.name, transport: this.transportKind, tools: this.tools.length }, "mcp: server connected");
    } catch (error) {
      this.state = "failed";
      this.error = (error as Error).message;
      await client.close().catch(() => undefined);
      this.options.logger.warn({ mcp: this.name, err: error }, "mcp: server failed to start");
    } finally {
      clearTimeout(timer);
    }
  }

  private scheduleRestart(why: string): void {
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** this.restarts);
    this.restarts += 1;
    this.state = "restarting";
    this.error = why;
    this.options.onChange?.();
    this.options.alert?.(`mcp: server ${this.name} stopped (${why}); starting it again in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      void this.start().then(() => {
        if (this.closing) return;
        this.options.onChange?.();
        if (this.state === "connected") {
          this.options.alert?.(`mcp: server ${this.name} is connected again`);
        } else {
          this.scheduleRestart(this.error ?? "it failed to start");
        }
      });
    }, delay);
    this.restartTimer.unref();
  }

  private transport(modules: Sdk): Transport {
    const where = `mcp server ${this.name}`;
    const expand = (values: Record<string, string> | undefined, what: string) =>
      Object.fromEntries(Object.entries(values ?? {}).map(([key, value]) => [key, expandEnvReferences(value, this.options.env, `${where} ${what} ${key}`)]));
    if ("url" in this.config) {
      return new modules.StreamableHTTPClientTransport(new URL(this.config.url), { requestInit: { headers: expand(this.config.headers, "header") } });
    }
    const transport = new modules.StdioClientTransport({
      command: this.config.command,
      args: this.config.args,
      // The SDK's safe default environment (PATH, HOME, …), never the pod's API keys, plus the configured variables.
      env: { ...modules.getDefaultEnvironment(), ...expand(this.config.env, "env") },
      cwd: this.config.cwd === undefined ? this.options.cwd : path.resolve(this.options.cwd, this.config.cwd),
      stderr: "pipe",
    });
    // Read the server's stderr (an unread pipe would block it), into the pod's log, bounded per chunk.
    transport.stderr?.on("data", (chunk: Buffer) => this.options.logger.debug({ mcp: this.name, stderr: chunk.toString("utf8").slice(0, 2_000) }, "mcp: server stderr"));
    return transport;
  }

  async call(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutput> {
    const client = this.client;
    if (!client || this.state !== "connected") throw new ToolFailure(`mcp server ${this.name} is not connected (${this.state}${this.error ? `: ${this.error}` : ""})`);
    const timeout = this.config.tool_timeout_ms ?? this.options.callTimeoutMs ?? DEFAULT_MCP_CALL_TIMEOUT_MS;
    let result;
    try {
      result = await client.callTool({ name: tool, arguments: input }, undefined, { signal, timeout });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ToolFailure(`mcp server ${this.name}: ${(error as Error).message}`);
    }
    const text = resultText(result as { content?: unknown; structuredContent?: unknown });
    const capped = capBytes(text, this.options.maxResultBytes ?? DEFAULT_MCP_MAX_RESULT_BYTES);
    const isError = result.isError === true;
    const firstLine = capped.split("\n", 1)[0] ?? "";
    return {
      summary: `${this.name}/${tool}${isError ? " failed" : ""}: ${firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine}`,
      content: capped,
      isError,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    this.state = "closed";
    await this.client?.close().catch(() => undefined);
  }
}

/** The text the model reads of a result: text blocks as they are, other blocks as one-line notes. */
function resultText(result: { content?: unknown; structuredContent?: unknown }): string {
  const blocks = Array.isArray(result.content) ? (result.content as { type?: string; [key: string]: unknown }[]) : [];
  const parts = blocks.map((block) => {
    switch (block.type) {
      case "text":
        return String(block.text ?? "");
      case "image":
      case "audio":
        return `[${block.type}: ${String(block.mimeType ?? "unknown type")}, ${Math.floor((String(block.data ?? "").length * 3) / 4)} bytes; not shown to the model]`;
      case "resource": {
        const resource = (block.resource ?? {}) as { uri?: string; text?: string };
        return resource.text === undefined ? `[resource ${resource.uri ?? ""}]` : `[resource ${resource.uri ?? ""}]\n${resource.text}`;
      }
      case "resource_link":
        return `[resource link ${String(block.uri ?? "")}${block.name ? ` (${String(block.name)})` : ""}]`;
      default:
        return `[${String(block.type)} content]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join("\n");
}

/** `text` cut to `maxBytes` UTF-8 bytes (on a character boundary), with a note of how much was left out. */
export function capBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return text;
  const cut = Buffer.from(text, "utf8").subarray(0, maxBytes).toString("utf8").replace(/\uFFFD$/, "");
  return `${cut}\n[output truncated: ${bytes} bytes, the first ${Buffer.byteLength(cut, "utf8")} shown]`;
}

/** `mcp__<server>__<tool>` within the providers' tool-name rules (`[A-Za-z0-9_-]{1,64}`). */
export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

const McpToolInput = z.record(z.string(), z.unknown());

/** A server's input schema as the model gets it: an object schema, without `$schema` (the providers take the rest as it is). */
function modelSchema(inputSchema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, ...rest } = inputSchema;
  return { type: "object", ...rest };
}

/** The pod's MCP servers: started together, their tools as pod tools, closed together. */
export class McpServerSet {
  private readonly servers: McpServer[];

  constructor(configs: McpServers, options: McpOptions) {
    this.servers = Object.entries(configs).map(([name, config]) => new McpServer(name, config, options));
  }

  /** How many servers are configured. */
  get size(): number {
    return this.servers.length;
  }

  /** Start every server in parallel (each bounded by the start-up limit). Resolves when all have connected or failed. */
  async start(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.start()));
  }

  /** The servers that could not start: name and why (for alerts). */
  failures(): { name: string; error: string }[] {
    return this.servers.filter((server) => server.state === "failed").map((server) => ({ name: server.name, error: server.error ?? "unknown error" }));
  }

  status(): McpServerStatus[] {
    return this.servers.map((server) => ({
      name: server.name,
      transport: server.transportKind,
      state: server.state,
      tools: server.tools.length,
      ...(server.error === undefined ? {} : { error: server.error }),
    }));
  }

  /** One pod tool per tool of each server that started (a name two tools map to is taken by the first). */
  tools(): Tool[] {
    const seen = new Set<string>();
    const tools: Tool[] = [];
    for (const server of this.servers) {
      for (const tool of server.tools) {
        const name = mcpToolName(server.name, tool.name);
        if (seen.has(name)) continue;
        seen.add(name);
        const description = tool.description ?? `${tool.name} (MCP server ${server.name})`;
        tools.push({
          name,
          description,
          input: McpToolInput as z.ZodType,
          spec: { name, description, inputSchema: modelSchema(tool.inputSchema) },
          execute: (input, ctx) => server.call(tool.name, input as Record<string, unknown>, ctx.signal),
        });
      }
    }
    return tools;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
  }
}
