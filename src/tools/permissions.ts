/**
 * Permission rules: per tool, allow or deny by a glob on the tool's main argument (a bash
 * command, a path, a search pattern). The first rule that matches decides; when none matches
 * the call is allowed (the path scope still applies to every file tool).
 *
 * Rule syntax (config file and CLI): `<tool>` or `<tool>:<glob>`, e.g. `bash:git *`,
 * `write_file:**\/*.lock`, `*:secrets/**`. `*` in the tool part matches any run of characters
 * (`*` alone: any tool; `*_file`: the file tools). In the glob, `*` and `**` match any
 * characters including `/` and spaces (commands are not paths), `**\/` also matches no
 * directory at all (`**\/*.lock` covers a top-level `yarn.lock`), `dir/**` also covers `dir`
 * itself, `?` one character; every
 * other character is literal; matching is on the whole argument.
 */
import { parsePermissionRule, parsePermissionRuleText, type PermissionRule } from "../config/permission-rules.js";

export { parsePermissionRule, parsePermissionRuleText, type PermissionRule };

export interface PermissionVerdict {
  allowed: boolean;
  /** The rule that decided, as written (`deny bash:rm *`); undefined when none matched. */
  rule?: string;
}

export class PermissionRules {
  readonly rules: readonly PermissionRule[];
  private readonly matchers: { tool: (name: string) => boolean; argument?: (argument: string) => boolean }[];

  constructor(rules: readonly PermissionRule[]) {
    this.rules = rules;
    this.matchers = rules.map((rule) => ({ tool: globToMatcher(rule.tool), argument: rule.pattern === undefined ? undefined : globToMatcher(rule.pattern) }));
  }

  /**
   * First matching rule decides; no match allows. A rule with a glob never matches a call
   * without a main argument. `argument` may be several equivalent forms (a path relative to
   * the cwd and absolute): a rule matches if it matches any of them.
   */
  decide(tool: string, argument: string | readonly string[] | undefined): PermissionVerdict {
    const forms = argument === undefined ? [] : typeof argument === "string" ? [argument] : argument;
    for (const [index, rule] of this.rules.entries()) {
      const matcher = this.matchers[index] as (typeof this.matchers)[number];
      if (!matcher.tool(tool)) continue;
      const matchArgument = matcher.argument;
      if (matchArgument && !forms.some((form) => matchArgument(form))) continue;
      return { allowed: rule.action === "allow", rule: describeRule(rule) };
    }
    return { allowed: true };
  }
}

export function describeRule(rule: PermissionRule): string {
  return `${rule.action} ${rule.tool}${rule.pattern === undefined ? "" : `:${rule.pattern}`}`;
}

/**
 * `*` / `**` → any run of characters, `**\/` → any run ending in `/`, or nothing, `?` → one
 * character, everything else literal; whole-string match.
 */
function globToMatcher(glob: string): (argument: string) => boolean {
  const source = glob
    .split(/(\*\*\/|\*+|\?)/)
    .map((piece) =>
      piece === "**/" ? "(?:[\\s\\S]*/)?" : piece.startsWith("*") ? "[\\s\\S]*" : piece === "?" ? "[\\s\\S]" : piece.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  const regex = new RegExp(`^${source}$`);
  // `dir/**` also covers `dir` itself (a rule on a directory's contents covers the directory).
  const dir = glob.endsWith("/**") ? globToMatcher(glob.slice(0, -3)) : undefined;
  return (argument) => regex.test(argument) || (dir !== undefined && dir(argument));
}
