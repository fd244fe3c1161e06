/**
 * The permission-rule grammar, parsed without loading any tool code (so `podd start` can
 * check rules before it daemonises): `<tool>[:<glob>]` on the command line
 * (`--allow-tool` / `--deny-tool`), `allow|deny <tool>[:<glob>]` in config.json. Matching
 * lives in src/tools/permissions.ts.
 */
export interface PermissionRule {
  action: "allow" | "deny";
  /** Tool name, or `*` for any. */
  tool: string;
  /** Glob on the main argument; undefined matches any call of the tool. */
  pattern?: string;
}

/** Parse `<tool>[:<glob>]` into a rule. Throws an Error naming the problem. */
export function parsePermissionRule(action: "allow" | "deny", text: string): PermissionRule {
  const colon = text.indexOf(":");
  const tool = (colon === -1 ? text : text.slice(0, colon)).trim();
  const pattern = colon === -1 ? undefined : text.slice(colon + 1);
  if (tool === "" || !/^[A-Za-z0-9_*-]+$/.test(tool)) throw new Error(`permission rule "${text}": expected <tool>[:<glob>], e.g. bash:git *`);
  if (pattern !== undefined && pattern === "") throw new Error(`permission rule "${text}": the glob after ':' is empty`);
  return { action, tool, pattern };
}

/** Parse `allow <tool>[:<glob>]` / `deny <tool>[:<glob>]` (the config file's form). Throws an Error naming the problem. */
export function parsePermissionRuleText(text: string): PermissionRule {
  const match = /^\s*(allow|deny)\s+(.+)$/.exec(text);
  if (!match) throw new Error(`permission rule "${text}": expected "allow <tool>[:<glob>]" or "deny <tool>[:<glob>]"`);
  return parsePermissionRule(match[1] as "allow" | "deny", (match[2] as string).trim());
}

