/**
 * Permission rules: per tool, allow or deny by a glob on the tool's main argument (a bash
 * command, a path, a search pattern). The first rule that matches decides; when none matches
 * the call is allowed (the path scope still applies to every file tool).
 *
 * Rule syntax (config file and CLI): `<tool>` or `<tool>:<glob>`, e.g. `bash:git *`,
 * `write_file:**\/*.lock`, `*:secrets/**`. `*` in the tool part matches any tool. In the glob,
 * `*` and `**` match any characters including `/` and spaces (commands are not paths), `?`
 * one character; matching is on the whole argument.
 */
export interface PermissionRule {
  action: "allow" | "deny";
  /** Tool name, or `*` for any. */
  tool: string;
  /** Glob on the main argument; undefined matches any call of the tool. */
  pattern?: string;
}

export interface PermissionVerdict {
  allowed: boolean;
  /** The rule that decided, as written (`deny bash:rm *`); undefined when none matched. */
  rule?: string;
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

export class PermissionRules {
  readonly rules: readonly PermissionRule[];
  private readonly matchers: ((argument: string) => boolean)[];

  constructor(rules: readonly PermissionRule[]) {
    this.rules = rules;
    this.matchers = rules.map((rule) => (rule.pattern === undefined ? () => true : globToMatcher(rule.pattern)));
  }

  /** First matching rule decides; no match allows. */
  decide(tool: string, argument: string | undefined): PermissionVerdict {
    for (const [index, rule] of this.rules.entries()) {
      if (rule.tool !== "*" && rule.tool !== tool) continue;
      if (rule.pattern !== undefined && (argument === undefined || !(this.matchers[index] as (argument: string) => boolean)(argument))) continue;
      return { allowed: rule.action === "allow", rule: describeRule(rule) };
    }
    return { allowed: true };
  }
}

export function describeRule(rule: PermissionRule): string {
  return `${rule.action} ${rule.tool}${rule.pattern === undefined ? "" : `:${rule.pattern}`}`;
}

/** `*` / `**` → any run of characters, `?` → one character, everything else literal; whole-string match. */
function globToMatcher(glob: string): (argument: string) => boolean {
  const source = glob
    .split(/(\*+|\?)/)
    .map((piece) => (piece.startsWith("*") ? "[\\s\\S]*" : piece === "?" ? "[\\s\\S]" : piece.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const regex = new RegExp(`^${source}$`);
  return (argument) => regex.test(argument);
}
