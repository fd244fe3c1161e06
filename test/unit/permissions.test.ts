/**
 * Per-tool permission rules (src/tools/permissions.ts): parsing both forms, first-match-wins,
 * the glob on the main argument, and the registry's handling of a denied call (an error
 * result the model reads, one alert, and the tool never runs).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineTool, type ToolContext } from "../../src/tools/define-tool.js";
import { listFilesTool } from "../../src/tools/list-files.js";
import { parsePermissionRule, parsePermissionRuleText, PermissionRules, type PermissionRule } from "../../src/tools/permissions.js";
import { readFileTool } from "../../src/tools/read-file.js";
import { ToolRegistry } from "../../src/tools/registry.js";
import { Scope } from "../../src/tools/scope.js";
import { grepTool } from "../../src/tools/grep.js";

/** Rules in the config file's text form, in order. */
function rules(...texts: string[]): PermissionRules {
  return new PermissionRules(texts.map(parsePermissionRuleText));
}

/** Whether a single `deny <tool>:<glob>` rule matches `argument` for `tool`. */
function matches(rule: string, tool: string, argument: string | undefined): boolean {
  return !rules(`deny ${rule}`).decide(tool, argument).allowed;
}

describe("parsing", () => {
  it("a bare tool name: any call of that tool", () => {
    expect(parsePermissionRule("deny", "bash")).toEqual({ action: "deny", tool: "bash", pattern: undefined });
  });

  it("<tool>:<glob>: everything after the first colon is the glob, spaces and colons included", () => {
    expect(parsePermissionRule("allow", "bash:git *")).toEqual({ action: "allow", tool: "bash", pattern: "git *" });
    expect(parsePermissionRule("deny", "bash:echo a:b")).toEqual({ action: "deny", tool: "bash", pattern: "echo a:b" });
  });

  it("`*` as the tool: any tool", () => {
    expect(parsePermissionRule("deny", "*:secrets/**")).toEqual({ action: "deny", tool: "*", pattern: "secrets/**" });
  });

  it("the text form: `allow|deny <tool>[:<glob>]`, surrounding blanks ignored", () => {
    expect(parsePermissionRuleText("deny bash:rm *")).toEqual({ action: "deny", tool: "bash", pattern: "rm *" });
    expect(parsePermissionRuleText("  allow   read_file  ")).toEqual({ action: "allow", tool: "read_file", pattern: undefined });
  });

  it.each([
    ["an empty rule", ""],
    ["an empty tool", ":git *"],
    ["a blank tool", "  :git *"],
    ["a space inside the tool name", "read file:a.txt"],
    ["a space inside the tool name (no glob)", "git status"],
    ["a character a tool name never has", "bash!:x"],
  ])("rejects %s with an error that quotes the rule and shows the expected form", (_what, text) => {
    expect(() => parsePermissionRule("deny", text)).toThrow(`permission rule "${text}": expected <tool>[:<glob>]`);
  });

  it("rejects an empty glob after the colon", () => {
    expect(() => parsePermissionRule("deny", "bash:")).toThrow('permission rule "bash:": the glob after \':\' is empty');
  });

  it.each([
    ["a missing action", "bash:rm *"],
    ["an unknown action", "forbid bash:rm *"],
    ["an action in capitals", "DENY bash"],
    ["an action without a rule", "deny"],
    ["an action glued to the tool", "denybash"],
  ])("the text form rejects %s, naming the rule and the expected form", (_what, text) => {
    expect(() => parsePermissionRuleText(text)).toThrow(`permission rule "${text}": expected "allow <tool>[:<glob>]" or "deny <tool>[:<glob>]"`);
  });

  it("the text form passes the rule part's own errors through", () => {
    expect(() => parsePermissionRuleText("deny bash:")).toThrow("the glob after ':' is empty");
    expect(() => parsePermissionRuleText("deny read file")).toThrow('permission rule "read file": expected <tool>[:<glob>]');
  });
});

describe("deciding", () => {
  it("no rules: every call is allowed, and no rule is named", () => {
    expect(new PermissionRules([]).decide("bash", "rm -rf /")).toEqual({ allowed: true });
  });

  it("no matching rule: allowed", () => {
    expect(rules("deny bash:rm *", "deny write_file").decide("read_file", "a.txt")).toEqual({ allowed: true });
  });

  it("first match wins: an allow before a deny allows", () => {
    const set = rules("allow bash:git status", "deny bash:git *");
    expect(set.decide("bash", "git status")).toEqual({ allowed: true, rule: "allow bash:git status" });
    expect(set.decide("bash", "git push")).toEqual({ allowed: false, rule: "deny bash:git *" });
  });

  it("first match wins: a deny before an allow denies", () => {
    const set = rules("deny bash:git push*", "allow bash:git *", "deny bash");
    expect(set.decide("bash", "git push --force")).toEqual({ allowed: false, rule: "deny bash:git push*" });
    expect(set.decide("bash", "git log")).toEqual({ allowed: true, rule: "allow bash:git *" });
    expect(set.decide("bash", "ls")).toEqual({ allowed: false, rule: "deny bash" });
  });

  it("a rule only applies to its own tool", () => {
    const set = rules("deny read_file:a.txt");
    expect(set.decide("read_file", "a.txt").allowed).toBe(false);
    expect(set.decide("list_files", "a.txt").allowed).toBe(true);
    expect(set.decide("read_files", "a.txt").allowed).toBe(true);
  });

  it("`*` as the tool matches every tool", () => {
    const set = rules("deny *:secrets/**");
    for (const tool of ["read_file", "list_files", "write_file", "grep"]) {
      expect(set.decide(tool, "secrets/key.pem"), tool).toEqual({ allowed: false, rule: "deny *:secrets/**" });
    }
    expect(set.decide("read_file", "public/key.pem").allowed).toBe(true);
  });

  it("`*` inside a tool name matches a run of characters: `*_file` covers the file tools, not bash", () => {
    const set = rules("deny *_file:*.env");
    expect(set.decide("read_file", ".env")).toEqual({ allowed: false, rule: "deny *_file:*.env" });
    expect(set.decide("write_file", "app/.env").allowed).toBe(false);
    expect(set.decide("bash", "cat .env").allowed).toBe(true);
    expect(set.decide("list_files", ".env").allowed).toBe(true);
  });

  describe("the glob", () => {
    it("`*` matches across `/` and spaces (a command is not a path)", () => {
      expect(matches("bash:git *", "bash", "git push origin main")).toBe(true);
      expect(matches("bash:rm *", "bash", "rm -rf /tmp/x y")).toBe(true);
      expect(matches("read_file:*.secret", "read_file", "deep/down/a b.secret")).toBe(true);
      expect(matches("read_file:src/*", "read_file", "src/a/b/c.ts")).toBe(true);
      expect(matches("bash:*", "bash", "")).toBe(true);
    });

    it("`**` is the same as `*` across characters", () => {
      expect(matches("*:secrets/**", "read_file", "secrets/a/b/c")).toBe(true);
      // `dir/**` covers the directory itself too (a rule on its contents must not leave `dir` open).
      expect(matches("*:secrets/**", "read_file", "secrets")).toBe(true);
      expect(matches("*:secrets/**", "read_file", "public/secrets/a")).toBe(false);
    });

    it("a leading `**/` also matches no directory at all (`**/*.lock` covers a top-level yarn.lock)", () => {
      expect(matches("write_file:**/*.lock", "write_file", "yarn.lock")).toBe(true);
      expect(matches("write_file:**/*.lock", "write_file", "packages/a/yarn.lock")).toBe(true);
      expect(matches("write_file:**/*.lock", "write_file", "yarn.lockfile")).toBe(false);
      expect(matches("read_file:a/**/b.txt", "read_file", "a/b.txt")).toBe(true);
      expect(matches("read_file:a/**/b.txt", "read_file", "a/x/y/b.txt")).toBe(true);
      expect(matches("read_file:a/**/b.txt", "read_file", "ab.txt")).toBe(false);
    });

    it("`?` matches exactly one character, `/` and space included", () => {
      expect(matches("read_file:file?.txt", "read_file", "file1.txt")).toBe(true);
      expect(matches("read_file:file?.txt", "read_file", "file.txt")).toBe(false);
      expect(matches("read_file:file?.txt", "read_file", "file12.txt")).toBe(false);
      expect(matches("read_file:a?b", "read_file", "a/b")).toBe(true);
      expect(matches("bash:ls?-l", "bash", "ls -l")).toBe(true);
    });

    it("matches the whole argument, not a part of it", () => {
      expect(matches("bash:git", "bash", "git status")).toBe(false);
      expect(matches("bash:git", "bash", "git")).toBe(true);
      expect(matches("bash:status", "bash", "git status")).toBe(false);
      expect(matches("read_file:a.txt", "read_file", "data.txt.bak")).toBe(false);
      expect(matches("bash:rm *", "bash", "echo x && rm -rf /")).toBe(false);
      expect(matches("bash:*rm *", "bash", "echo x && rm -rf /")).toBe(true);
    });

    it("is case-sensitive", () => {
      expect(matches("read_file:README.md", "read_file", "readme.md")).toBe(false);
    });

    it.each([
      ["bash:ls (x)", "ls (x)", "ls x"],
      ["read_file:a+b.txt", "a+b.txt", "aab.txt"],
      ["read_file:a.txt", "a.txt", "abtxt"],
      ["bash:echo $HOME", "echo $HOME", "echo "],
      ["bash:^ls", "^ls", "ls"],
      ["bash:a|b", "a|b", "a"],
      ["bash:[ab]", "[ab]", "a"],
      ["bash:x{2}", "x{2}", "xx"],
      ["bash:a\\d", "a\\d", "a1"],
      ["bash:echo \\*", "echo \\x", "echo *"],
    ])("regex metacharacters are literal: %s", (rule, literal, regexReading) => {
      expect(matches(rule, rule.slice(0, rule.indexOf(":")), literal)).toBe(true);
      expect(matches(rule, rule.slice(0, rule.indexOf(":")), regexReading)).toBe(false);
    });

    it("an argument with a newline is matched across it", () => {
      expect(matches("bash:echo *", "bash", "echo a\nrm -rf /")).toBe(true);
      expect(matches("bash:echo ?b", "bash", "echo \nb")).toBe(true);
    });
  });

  describe("a call without a main argument", () => {
    it("a rule with a glob does not match it, not even `*`", () => {
      expect(rules("deny mystery:*").decide("mystery", undefined)).toEqual({ allowed: true });
    });

    it("a rule without a glob does", () => {
      expect(rules("deny mystery:*", "deny mystery").decide("mystery", undefined)).toEqual({ allowed: false, rule: "deny mystery" });
      expect(rules("deny *").decide("mystery", undefined)).toEqual({ allowed: false, rule: "deny *" });
    });
  });

  it("names the deciding rule as written, for both actions", () => {
    const rule: PermissionRule = { action: "allow", tool: "*", pattern: "src/**" };
    expect(new PermissionRules([rule]).decide("grep", "src/a.ts")).toEqual({ allowed: true, rule: "allow *:src/**" });
  });
});

describe("the registry with rules", () => {
  let root: string;
  let base: ToolContext;

  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "podd-perm-")));
    fs.writeFileSync(path.join(root, "plain.txt"), "plain text\n");
    fs.writeFileSync(path.join(root, "key.secret"), "TOP-SECRET-CONTENT\n");
    base = { cwd: root, scope: Scope.forCwd(root), signal: new AbortController().signal, spillDir: path.join(root, "spill") };
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A tool whose main argument is `target`, and a spy on its execute. */
  function probe() {
    const execute = vi.fn(async (input: { target?: string }) => ({ summary: `probed ${input.target ?? "-"}`, content: "probe ran" }));
    const tool = defineTool({
      name: "probe",
      description: "test tool",
      input: z.object({ target: z.string().optional() }),
      mainArgument: (input) => input.target,
      execute,
    });
    return { registry: new ToolRegistry().register(tool), execute };
  }

  function context(ruleTexts: string[]) {
    const alert = vi.fn<(message: string) => void>();
    return { ctx: { ...base, permissions: rules(...ruleTexts), alert } satisfies ToolContext, alert };
  }

  it("a denied call: is_error, `permission denied:` naming tool, argument and rule; one alert; the tool does not run", async () => {
    const { registry, execute } = probe();
    const { ctx, alert } = context(["deny probe:rm *"]);
    const result = await registry.execute("probe", JSON.stringify({ target: "rm -rf /" }), ctx);
    const message = 'permission denied: probe "rm -rf /" is denied by the rule deny probe:rm *';
    expect(result).toEqual({ summary: message, output: message, isError: true });
    expect(execute).not.toHaveBeenCalled();
    expect(alert).toHaveBeenCalledTimes(1);
    expect(alert).toHaveBeenCalledWith(`tool: ${message}`);
  });

  it("a denied call without a main argument names the tool and the rule", async () => {
    const { registry, execute } = probe();
    const { ctx, alert } = context(["deny probe"]);
    const result = await registry.execute("probe", "{}", ctx);
    expect(result).toEqual({ summary: "permission denied: probe is denied by the rule deny probe", output: "permission denied: probe is denied by the rule deny probe", isError: true });
    expect(execute).not.toHaveBeenCalled();
    expect(alert).toHaveBeenCalledTimes(1);
  });

  it("an allowed call runs the tool once and raises no alert", async () => {
    const { registry, execute } = probe();
    const { ctx, alert } = context(["allow probe:git *", "deny probe"]);
    const result = await registry.execute("probe", JSON.stringify({ target: "git status" }), ctx);
    expect(result).toEqual({ summary: "probed git status", output: "probe ran", isError: false });
    expect(execute).toHaveBeenCalledTimes(1);
    expect(execute.mock.calls[0]?.[0]).toEqual({ target: "git status" });
    expect(alert).not.toHaveBeenCalled();
  });

  it("a call no rule matches runs", async () => {
    const { registry, execute } = probe();
    const { ctx, alert } = context(["deny probe:rm *"]);
    const result = await registry.execute("probe", JSON.stringify({ target: "ls" }), ctx);
    expect(result.isError).toBe(false);
    expect(execute).toHaveBeenCalledTimes(1);
    expect(alert).not.toHaveBeenCalled();
  });

  it("without a rule set (or an alert sink) every call runs", async () => {
    const { registry, execute } = probe();
    const result = await registry.execute("probe", JSON.stringify({ target: "rm -rf /" }), base);
    expect(result.isError).toBe(false);
    expect(execute).toHaveBeenCalledTimes(1);
  });

  it("invalid arguments are reported as such, before any rule (and without an alert)", async () => {
    const { registry, execute } = probe();
    const { ctx, alert } = context(["deny probe"]);
    const result = await registry.execute("probe", JSON.stringify({ target: 42 }), ctx);
    expect(result.isError).toBe(true);
    expect(result.summary).toBe("probe: invalid arguments");
    expect(execute).not.toHaveBeenCalled();
    expect(alert).not.toHaveBeenCalled();
  });

  it("read_file: a denied path's content is not returned; an allowed one is", async () => {
    const registry = new ToolRegistry().register(readFileTool);
    const { ctx, alert } = context(["deny read_file:*.secret"]);
    const denied = await registry.execute("read_file", JSON.stringify({ path: "key.secret" }), ctx);
    expect(denied.isError).toBe(true);
    expect(denied.output).toBe('permission denied: read_file "key.secret" is denied by the rule deny read_file:*.secret');
    expect(JSON.stringify(denied)).not.toContain("TOP-SECRET");
    expect(alert).toHaveBeenCalledTimes(1);
    const allowed = await registry.execute("read_file", JSON.stringify({ path: "plain.txt" }), ctx);
    expect(allowed).toMatchObject({ isError: false, output: "1\tplain text\n" });
    expect(alert).toHaveBeenCalledTimes(1);
  });

  it("list_files: the main argument is the pattern, else the path, else `.`", async () => {
    const registry = new ToolRegistry().register(listFilesTool);
    const { ctx } = context(["deny list_files:*.secret", "deny list_files:."]);
    const byPattern = await registry.execute("list_files", JSON.stringify({ path: ".", pattern: "*.secret" }), ctx);
    expect(byPattern.output).toBe('permission denied: list_files "*.secret" is denied by the rule deny list_files:*.secret');
    const byDefault = await registry.execute("list_files", "{}", ctx);
    expect(byDefault.output).toBe('permission denied: list_files "." is denied by the rule deny list_files:.');
    // The cwd written as an absolute path is the same directory as ".": the rule sees the resolved path.
    const byPath = await registry.execute("list_files", JSON.stringify({ path: root }), ctx);
    expect(byPath.output).toBe(`permission denied: list_files ${JSON.stringify(root)} is denied by the rule deny list_files:.`);
  });

  it("path rules also cover the path grep and list_files search in, not only their pattern", async () => {
    fs.mkdirSync(path.join(root, "vault"), { recursive: true });
    fs.writeFileSync(path.join(root, "vault", "k.txt"), "HIDDEN-IN-VAULT\n");
    const registry = new ToolRegistry().register(grepTool).register(listFilesTool);
    const { ctx } = context(["deny *:vault/**"]);
    const grepped = await registry.execute("grep", JSON.stringify({ pattern: "HIDDEN", path: "vault" }), ctx);
    expect(grepped.isError).toBe(true);
    expect(JSON.stringify(grepped)).not.toContain("HIDDEN-IN-VAULT");
    const listed = await registry.execute("list_files", JSON.stringify({ path: "./vault", pattern: "*" }), ctx);
    expect(listed.isError).toBe(true);
    expect(listed.output).toMatch(/^permission denied: list_files/);
  });

  it("path rules match the resolved path, so ./, x/../ and absolute spellings cannot get around them", async () => {
    fs.mkdirSync(path.join(root, "secrets"), { recursive: true });
    fs.writeFileSync(path.join(root, "secrets", "a.txt"), "HIDDEN\n");
    const registry = new ToolRegistry().register(readFileTool);
    const { ctx, alert } = context(["deny read_file:secrets/**"]);
    for (const spelling of ["secrets/a.txt", "./secrets/a.txt", "plain/../secrets/a.txt", path.join(root, "secrets", "a.txt")]) {
      const result = await registry.execute("read_file", JSON.stringify({ path: spelling }), ctx);
      expect(result.isError, spelling).toBe(true);
      expect(result.output, spelling).toMatch(/^permission denied: read_file .* is denied by the rule deny read_file:secrets\/\*\*$/);
      expect(JSON.stringify(result)).not.toContain("HIDDEN");
    }
    expect(alert).toHaveBeenCalledTimes(4);
    const absolute = context([`deny read_file:${root}/secrets/*`]);
    expect((await registry.execute("read_file", JSON.stringify({ path: "secrets/a.txt" }), absolute.ctx)).isError).toBe(true);
  });
});
