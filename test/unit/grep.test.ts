/**
 * The grep tool in process: through ToolRegistry.execute (the default engine), and through
 * runGrep with each engine forced, so the ripgrep path and the JS fallback are both tested
 * and must give the same output for the same calls.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { ToolFailure, type ToolContext, type ToolOutput } from "../../src/tools/define-tool.js";
import { GREP_MAX_LINE_CHARS, runGrep, searchFiles, type GrepEngineChoice, type GrepInput } from "../../src/tools/grep.js";
import { findRipgrep, RipgrepEngine, RipgrepUnavailableError } from "../../src/tools/grep-ripgrep.js";
import type { GrepQuery } from "../../src/tools/grep-search.js";
import { Scope } from "../../src/tools/scope.js";

let root: string;
let cwd: string;
let outside: string;
let ctx: ToolContext;
const tools = builtinTools();
const ENGINES: GrepEngineChoice[] = ["ripgrep", "js"];

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function grep(input: Record<string, unknown>) {
  return tools.execute("grep", JSON.stringify(input), ctx);
}

/** runGrep on one engine, as a registry-like result (a thrown ToolFailure becomes its message). */
async function grepWith(engine: GrepEngineChoice, input: GrepInput, context: ToolContext = ctx): Promise<ToolOutput | { failure: string }> {
  try {
    return await runGrep(input, context, engine);
  } catch (error) {
    if (error instanceof ToolFailure) return { failure: error.message };
    throw error;
  }
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "podd-grep-")));
  cwd = path.join(root, "work");
  outside = path.join(root, "outside");
  write(path.join(cwd, "a.txt"), "alpha\nBeta beta\ngamma\n");
  write(path.join(cwd, "a", "b.txt"), "beta in a dir named a\n");
  write(path.join(cwd, "src", "main.ts"), "const beta = 1;\nexport { beta };\n");
  write(path.join(cwd, "src", "util", "helper.ts"), "// BETA helper\nno match here\n");
  write(path.join(cwd, "docs", "readme.md"), "beta docs\n");
  write(path.join(cwd, ".hidden", "x.txt"), "beta hidden\n");
  write(path.join(cwd, "crlf.txt"), "beta one\r\nbeta two\r\n");
  write(path.join(cwd, "node_modules", "pkg", "index.js"), "beta in node_modules\n");
  write(path.join(cwd, ".git", "config"), "beta in .git\n");
  write(path.join(cwd, "blob.bin"), Buffer.from("beta\0beta\n"));
  write(path.join(cwd, "denied", "secret.txt"), "beta secret\n");
  write(path.join(cwd, "ünï cödé", "файл с пробелом.txt"), "first\nbeta ünïcödé\n");
  write(path.join(cwd, "long.txt"), `beta ${"x".repeat(1000)}\n`);
  write(path.join(cwd, "bulk", "items.txt"), Array.from({ length: 50 }, (_, index) => `item ${index + 1}`).join("\n") + "\n");
  write(path.join(outside, "secret.txt"), "beta outside\n");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(cwd, "link-out.txt"));
  fs.symlinkSync(outside, path.join(cwd, "dir-out"));
  fs.symlinkSync(path.join(cwd, "denied"), path.join(cwd, "alias-of-denied"));
  ctx = {
    cwd,
    scope: new Scope({
      allow: [{ target: cwd, permission: "write", recursive: true }],
      deny: [{ target: path.join(cwd, "denied"), permission: "read", recursive: true }],
    }),
    signal: new AbortController().signal,
    spillDir: path.join(root, "spill"),
  };
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("grep", () => {
  it("ripgrep is installed for these tests (@vscode/ripgrep)", async () => {
    expect(await findRipgrep()).toMatch(/rg(\.exe)?$/);
  });

  it("returns matching lines with paths and line numbers, in path order", async () => {
    const result = await grep({ pattern: "beta", path: "src" });
    expect(result).toEqual({ summary: "2 matches in 1 file", output: "src/main.ts:1:const beta = 1;\nsrc/main.ts:2:export { beta };", isError: false });
  });

  it("searches the whole tree: hidden files yes; .git, node_modules, binary files, symlinks and denied paths no", async () => {
    const result = await grep({ pattern: "beta" });
    expect(result.isError).toBe(false);
    expect(result.output?.split("\n")).toEqual([
      ".hidden/x.txt:1:beta hidden",
      "a/b.txt:1:beta in a dir named a",
      "a.txt:2:Beta beta",
      "crlf.txt:1:beta one",
      "crlf.txt:2:beta two",
      "docs/readme.md:1:beta docs",
      `long.txt:1:beta ${"x".repeat(GREP_MAX_LINE_CHARS - 5)} [… ${1005 - GREP_MAX_LINE_CHARS} more characters]`,
      "src/main.ts:1:const beta = 1;",
      "src/main.ts:2:export { beta };",
      "ünï cödé/файл с пробелом.txt:2:beta ünïcödé",
    ]);
    expect(result.summary).toBe("10 matches in 8 files");
  });

  it("filters by glob: a bare name at any depth, a path from the search root, an exclusion", async () => {
    expect((await grep({ pattern: "beta", glob: "*.ts" })).output).toBe("src/main.ts:1:const beta = 1;\nsrc/main.ts:2:export { beta };");
    expect((await grep({ pattern: "beta", glob: "docs/*.md" })).output).toBe("docs/readme.md:1:beta docs");
    const excluded = await grep({ pattern: "beta", glob: "!*.txt" });
    expect(excluded.output).toBe("docs/readme.md:1:beta docs\nsrc/main.ts:1:const beta = 1;\nsrc/main.ts:2:export { beta };");
  });

  it("matches regardless of case with case_insensitive", async () => {
    const result = await grep({ pattern: "beta", path: "src", case_insensitive: true });
    expect(result.output).toBe("src/main.ts:1:const beta = 1;\nsrc/main.ts:2:export { beta };\nsrc/util/helper.ts:1:// BETA helper");
    expect((await grep({ pattern: "^Beta", path: "a.txt", case_insensitive: false })).output).toBe("a.txt:2:Beta beta");
  });

  it("stops at max_results and says so", async () => {
    const result = await grep({ pattern: "item \\d+", path: "bulk", max_results: 5 });
    expect(result.summary).toBe("5+ matches in 1 file");
    expect(result.output).toBe(
      [1, 2, 3, 4, 5].map((n) => `bulk/items.txt:${n}:item ${n}`).join("\n") +
        "\n[stopped at 5 matches; narrow the path or the glob, or raise max_results (at most 1000)]",
    );
    const exact = await grep({ pattern: "item \\d+", path: "bulk", max_results: 50 });
    expect(exact.summary).toBe("50 matches in 1 file");
    expect(exact.output).not.toContain("[stopped");
  });

  it("says when nothing matches", async () => {
    expect(await grep({ pattern: "no such text anywhere", path: "src" })).toEqual({
      summary: "no matches",
      output: 'no matches for "no such text anywhere" in src',
      isError: false,
    });
  });

  it("refuses a search root outside the scope, through .. or a symlink, and a denied root", async () => {
    for (const where of ["../outside", outside, "dir-out", "link-out.txt", "denied"]) {
      const result = await grep({ pattern: "beta", path: where });
      expect(result.isError, where).toBe(true);
      expect(result.output, where).toMatch(/^permission denied: read access to /);
    }
    expect((await grep({ pattern: "beta", glob: "../outside/*" })).output).toContain("must stay below the search path");
  });

  it("a binary file given as the path is not searched", async () => {
    expect(await grep({ pattern: "beta", path: "blob.bin" })).toEqual({
      summary: "blob.bin: binary file, not searched",
      output: "blob.bin is a binary file; not searched.",
      isError: false,
    });
  });

  it("a bad pattern is an error the model can read", async () => {
    const result = await grep({ pattern: "beta(" });
    expect(result.isError).toBe(true);
    expect(result.summary).toMatch(/^grep failed: /);
  });

  it("an aborted call is interrupted", async () => {
    const controller = new AbortController();
    controller.abort("cancel");
    for (const engine of ENGINES) {
      expect(await grepWith(engine, { pattern: "beta" }, { ...ctx, signal: controller.signal })).toEqual({ failure: "grep was interrupted" });
    }
  });
});

describe("grep: ripgrep and the JS fallback agree", () => {
  const calls: GrepInput[] = [
    { pattern: "beta" },
    { pattern: "beta", path: "src" },
    { pattern: "beta", path: "src/main.ts" },
    { pattern: "BETA", case_insensitive: true },
    { pattern: "beta", glob: "*.ts" },
    { pattern: "beta", glob: "src/**/*.ts", case_insensitive: true },
    { pattern: "beta", glob: "!*.txt" },
    { pattern: "item (1|2)\\d", path: "bulk" },
    { pattern: "item \\d+", path: "bulk", max_results: 7 },
    { pattern: "^b\\w+ (one|two)$" },
    { pattern: "ünïcödé" },
    { pattern: "nothing like this" },
    { pattern: "beta", path: "denied" },
    { pattern: "beta", path: "blob.bin" },
  ];

  it.each(calls)("same output for %j", async (input) => {
    const [ripgrep, fallback] = await Promise.all(ENGINES.map((engine) => grepWith(engine, input)));
    expect(fallback).toEqual(ripgrep);
  });

  it("the default engine is ripgrep when it is installed", async () => {
    const viaTool = await grep({ pattern: "beta", glob: "*.md" });
    expect(await grepWith("ripgrep", { pattern: "beta", glob: "*.md" })).toEqual({ summary: viaTool.summary, content: viaTool.output });
  });

  it("a ripgrep that cannot start falls back to the JS engine (and fails when ripgrep is forced)", async () => {
    const query: GrepQuery = { root: cwd, rootIsFile: false, pattern: "beta", glob: "*.ts", caseInsensitive: false, maxMatches: 10, include: () => true };
    const broken = path.join(root, "no-such-rg");
    const signal = new AbortController().signal;
    await expect(new RipgrepEngine(broken).search(query, signal)).rejects.toBeInstanceOf(RipgrepUnavailableError);
    await expect(searchFiles(query, signal, "ripgrep", async () => broken)).rejects.toBeInstanceOf(RipgrepUnavailableError);
    const expected = [
      { file: path.join(cwd, "src", "main.ts"), line: 1, text: "const beta = 1;" },
      { file: path.join(cwd, "src", "main.ts"), line: 2, text: "export { beta };" },
    ];
    expect(await searchFiles(query, signal, "auto", async () => broken)).toEqual({ matches: expected, truncated: false });
    expect(await searchFiles(query, signal, "auto", async () => undefined)).toEqual({ matches: expected, truncated: false });
  });

  it("both engines fail on a bad pattern", async () => {
    for (const engine of ENGINES) {
      const result = await grepWith(engine, { pattern: "beta(" });
      expect(result, engine).toHaveProperty("failure");
    }
  });
});

describe("walks through symlinked directories", () => {
  it.each(["ripgrep", "js"] as const)("%s: a glob whose fixed prefix is a symlink finds nothing outside the scope or in a denied dir", async (engine) => {
    for (const glob of ["dir-out/*", "alias-of-denied/*"]) {
      const result = await grepWith(engine, { pattern: "beta", glob });
      expect(JSON.stringify(result), `${engine} ${glob}`).not.toMatch(/outside|secret/);
    }
  });
});
