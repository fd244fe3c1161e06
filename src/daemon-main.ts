/**
 * The pod process entry: `node dist/src/daemon-main.js <name> [--cwd DIR] [--model SPEC]
 * [--parent SOCKET] [--max-turns N] …` (USAGE below). Started by `podd start` (detached, or attached with
 * `--foreground`); not a user-facing command. When `PODD_READY_FD` names an inherited pipe,
 * one JSON line reports readiness (`{"ok":true,"socket":…,"pid":…,…ReadyInfo}`) or the start-up error
 * (`{"ok":false,"error":…}`) on it, then the fd is closed.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ScopeRule } from "../protocol/index.js";
import type { Readiness } from "./client/readiness.js";
import { parsePermissionRule, type PermissionRule } from "./tools/permissions.js";
import { resolvePaths } from "./config/paths.js";
import { runDaemon } from "./daemon.js";
import { usePrivateUmask } from "./config/umask.js";

/** Write the readiness line (src/client/readiness.ts reads it) on `PODD_READY_FD`, if the starter gave one, and close it. */
function reportReady(line: Readiness): void {
  const fd = Number(process.env.PODD_READY_FD);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    fs.writeSync(fd, `${JSON.stringify(line)}\n`);
    fs.closeSync(fd);
  } catch {
    // The starter went away; nothing to tell.
  }
  delete process.env.PODD_READY_FD;
}

interface DaemonArgs {
  name: string;
  cwd?: string;
  fresh: boolean;
  model?: string;
  baseUrl?: string;
  parent?: string;
  maxTurns?: number;
  /** Only when a scope flag was given (a restored pod otherwise keeps its saved scope); likewise bash and permissions. */
  scope?: { allow: ScopeRule[]; deny: ScopeRule[] };
  bash?: boolean;
  permissions?: PermissionRule[];
  clearToolRules: boolean;
  clearScope: boolean;
  compactAt?: number;
  compactTimeoutMs?: number;
  scopeOnly?: boolean;
  instructions?: string;
  instructionsSource?: string;
  fork?: { from: string; at?: number; compact?: boolean };
  mcp?: string[];
  noMcp: boolean;
}

const USAGE =
  "usage: daemon-main <name> [--cwd DIR] [--model SPEC] [--base-url URL] [--parent SOCKET] [--max-turns N] " +
  "[--allow-read DIR] [--allow-write DIR] [--deny-read DIR] [--deny-write DIR] [--bash | --no-bash] [--allow-tool RULE] [--deny-tool RULE] [--clear-tool-rules] [--clear-scope] [--new] " +
  "[--compact-at FRACTION] [--compact-timeout MS] [--fork-from POD [--fork-at N] [--fork-compact]] [--scope-only] [--instructions TEXT [--instructions-source FILE]] [--mcp NAME=CMD|URL] [--no-mcp]";

/** A numeric option: undefined when absent; throws the usage problem when out of range. */
function numberOption(value: string | undefined, flag: string, check: (number: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || !check(number)) throw new Error(`${flag} takes ${expected}`);
  return number;
}

/** Parse the internal entry's arguments (node:util, not commander: this is on the start-up path). Tool rules keep their order. */
function parseDaemonArgs(argv: string[]): DaemonArgs {
  const repeated = { type: "string", multiple: true } as const;
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      cwd: { type: "string" },
      model: { type: "string" },
      "base-url": { type: "string" },
      parent: { type: "string" },
      "max-turns": { type: "string" },
      "allow-read": repeated,
      "allow-write": repeated,
      "deny-read": repeated,
      "deny-write": repeated,
      bash: { type: "boolean" },
      "no-bash": { type: "boolean" },
      "clear-tool-rules": { type: "boolean" },
      "clear-scope": { type: "boolean" },
      new: { type: "boolean" },
      "allow-tool": repeated,
      "deny-tool": repeated,
      "compact-at": { type: "string" },
      "compact-timeout": { type: "string" },
      "fork-from": { type: "string" },
      "fork-at": { type: "string" },
      "fork-compact": { type: "boolean" },
      "scope-only": { type: "boolean" },
      instructions: { type: "string" },
      "instructions-source": { type: "string" },
      mcp: repeated,
      "no-mcp": { type: "boolean" },
    },
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new Error(USAGE);
  const positiveInteger = (number: number): boolean => Number.isInteger(number) && number >= 1;
  const maxTurns = numberOption(values["max-turns"], "--max-turns", positiveInteger, "a positive whole number");
  const compactAt = numberOption(values["compact-at"], "--compact-at", (number) => number >= 0 && number <= 1, "a share of the context window from 0 (off) to 1");
  const compactTimeoutMs = numberOption(values["compact-timeout"], "--compact-timeout", positiveInteger, "a positive whole number of ms");
  const forkAt = numberOption(values["fork-at"], "--fork-at", positiveInteger, "a rewind target number (1 is the first user input)");
  const forkFrom = values["fork-from"];
  if (!forkFrom && (forkAt !== undefined || values["fork-compact"])) throw new Error("--fork-at and --fork-compact need --fork-from");
  const cwd = values.cwd;
  const rule = (permission: "read" | "write") => (target: string): ScopeRule => ({ target: path.resolve(cwd ?? process.cwd(), target), permission, recursive: true });
  const permissions = tokens.flatMap((token) =>
    token.kind === "option" && (token.name === "allow-tool" || token.name === "deny-tool") && token.value !== undefined
      ? [parsePermissionRule(token.name === "allow-tool" ? "allow" : "deny", token.value)]
      : [],
  );
  const allow = [...(values["allow-read"] ?? []).map(rule("read")), ...(values["allow-write"] ?? []).map(rule("write"))];
  const deny = [...(values["deny-read"] ?? []).map(rule("read")), ...(values["deny-write"] ?? []).map(rule("write"))];
  return {
    name,
    cwd,
    fresh: values.new ?? false,
    model: values.model,
    baseUrl: values["base-url"],
    parent: values.parent,
    maxTurns,
    scope: allow.length + deny.length > 0 ? { allow, deny } : undefined,
    // The last of --bash / --no-bash wins, as with commander.
    bash: tokens.reduce<boolean | undefined>((bash, token) => (token.kind === "option" && (token.name === "bash" || token.name === "no-bash") ? token.name === "bash" : bash), undefined),
    permissions: permissions.length > 0 ? permissions : undefined,
    clearToolRules: values["clear-tool-rules"] ?? false,
    clearScope: values["clear-scope"] ?? false,
    compactAt,
    compactTimeoutMs,
    scopeOnly: values["scope-only"] ?? undefined,
    instructions: values.instructions,
    instructionsSource: values["instructions-source"],
    fork: forkFrom ? { from: forkFrom, at: forkAt, compact: values["fork-compact"] ?? false } : undefined,
    mcp: values.mcp,
    noMcp: values["no-mcp"] ?? false,
  };
}

/**
 * Credentials handed over on an inherited pipe (`PODD_SECRETS_FD`, one JSON object, written
 * and closed by `podd start`), so they are never in this process's environment, which any
 * same-user process — e.g. a bash tool call — can read from /proc/<pid>/environ.
 */
function readSecrets(): Record<string, string> {
  const fd = Number(process.env.PODD_SECRETS_FD);
  delete process.env.PODD_SECRETS_FD;
  if (!Number.isInteger(fd) || fd < 3) return {};
  try {
    const parsed = JSON.parse(fs.readFileSync(fd, "utf8")) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as Record<string, string>) : {};
  } finally {
    fs.closeSync(fd);
  }
}

// First: every file the pod creates is the user's alone, whatever the shell's umask (src/config/umask.ts).
usePrivateUmask();
let name = "(unnamed)";
let ready = false;
try {
  const options = parseDaemonArgs(process.argv.slice(2));
  name = options.name;
  const secrets = readSecrets();
  await runDaemon({
    name,
    env: { ...process.env, ...secrets },
    cwd: options.cwd,
    paths: resolvePaths(),
    modelSpec: options.model,
    baseUrl: options.baseUrl,
    parentSocket: options.parent,
    maxTurnsPerRun: options.maxTurns,
    fresh: options.fresh,
    scope: options.scope,
    bash: options.bash,
    permissions: options.permissions,
    clearToolRules: options.clearToolRules,
    clearScope: options.clearScope,
    compactAt: options.compactAt,
    compactTimeoutMs: options.compactTimeoutMs,
    scopeOnly: options.scopeOnly,
    instructions: options.instructions,
    instructionsSource: options.instructionsSource,
    fork: options.fork,
    mcp: options.mcp,
    noMcp: options.noMcp,
    onReady: (info) => {
      ready = true;
      const { socket } = info;
      reportReady({ ok: true, ...info });
      if (!process.env.PODD_QUIET) process.stderr.write(`pod ${name} listening on ${socket}\n`);
    },
  });
  process.exitCode = 0;
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  reportReady({ ok: false, error: message });
  process.stderr.write(ready ? `podd: pod ${name} stopped on an error: ${message}\n` : `podd: cannot start pod ${name}: ${message}\n`);
  process.exitCode = 1;
}
