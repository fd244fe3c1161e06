/**
 * The shape of a pod's `<runtime>/<name>/status.json`: written by the pod (src/pod/runtime-dir.ts),
 * read by `podd ls` / `podd status` (src/client/pod-directory.ts). Not a wire shape.
 */
import type { PodStatus } from "../../protocol/index.js";

export type McpServerState = "connected" | "failed" | "restarting" | "closed";

/** What status.json, `podd status` and the log show of an MCP server: no commands, URLs, env or headers. */
export interface McpServerStatus {
  name: string;
  transport: "stdio" | "http";
  state: McpServerState;
  tools: number;
  error?: string;
}

export interface PodStatusFile {
  pod_name: string;
  pid: number;
  status: PodStatus;
  socket: string;
  cwd: string;
  provider: string;
  model: string;
  session_id: string;
  segment_id: string;
  parent_socket?: string;
  /** The pod's MCP servers (src/mcp/mcp-servers.ts). Absent: none configured. */
  mcp?: McpServerStatus[];
  started_at_ms: number;
  updated_at_ms: number;
}

