/**
 * The builtin file tools, the path scope and the registry, in process: every call goes
 * through ToolRegistry.execute as the turn loop does (argument JSON in, ToolCallResult out).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import { defineTool, ToolFailure, type ToolContext } from "../../src/tools/define-tool.js";
import { READ_FILE_MAX_OUTPUT_BYTES } from "../../src/tools/read-file.js";
import { ToolRegistry } from "../../src/tools/registry.js";
import { Scope } from "../../src/tools/scope.js";

let root: string;
let cwd: string;
let outside: string;
let ctx: ToolContext;
const tools = builtinTools();

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function call(name: string, input: unknown) {
  return tools.execute(name, typeof input === "string" ? input : JSON.stringify(input), ctx);
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "podd-tools-")));
  cwd = path.join(root, "work");
  outside = path.join(root, "outside");
  write(path.join(cwd, "three.txt"), "alpha\nbeta\ngamma\n");
  write(path.join(cwd, "twenty.txt"), Array.from({ length: 20 }, (_, index) => `line ${index + 1}`).join("\n") + "\n");
  write(path.join(cwd, "big.txt"), Array.from({ length: 2000 }, (_, index) => `${index + 1}:${"x".repeat(99)}`).join("\n") + "\n");
  write(path.join(cwd, "blob.bin"), Buffer.from([0x50, 0x4b, 0x00, 0x01, 0x02]));
  write(path.join(cwd, "sub", "inner.txt"), "inner\n");
  write(path.join(cwd, "sub", "deeper", "deep.md"), "# deep\n");
  write(path.join(cwd, ".hidden"), "h\n");
  write(path.join(cwd, "node_modules", "pkg", "index.txt"), "skip me\n");
  write(path.join(cwd, ".git", "config.txt"), "skip me too\n");
  write(path.join(outside, "secret.txt"), "secret\n");
  fs.mkdirSync(path.join(cwd, "links"));
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(cwd, "links", "link-out.txt"));
  fs.symlinkSync(outside, path.join(cwd, "links", "dir-out"));
  ctx = { cwd, scope: Scope.forCwd(cwd), signal: new AbortController().signal, spillDir: path.join(root, "spill") };
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("read_file", () => {
  it("returns the lines with their numbers", async () => {
    const result = await call("read_file", { path: "three.txt" });
    expect(result).toEqual({ summary: "read three.txt (3 lines)", output: "1\talpha\n2\tbeta\n3\tgamma\n", isError: false });
  });

  it("returns a range with offset and limit, numbers padded to the widest shown", async () => {
    const result = await call("read_file", { path: "twenty.txt", offset: 9, limit: 3 });
    expect(result.isError).toBe(false);
    expect(result.output).toBe(" 9\tline 9\n10\tline 10\n11\tline 11\n");
    expect(result.summary).toBe("read twenty.txt (lines 9-11 of 20)");
    const tail = await call("read_file", { path: "twenty.txt", offset: 19, limit: 10 });
    expect(tail.output).toBe("19\tline 19\n20\tline 20\n");
  });

  it("caps the output at 64 KiB with a truncation note that says where to go on", async () => {
    const result = await call("read_file", { path: "big.txt" });
    expect(result.isError).toBe(false);
    const output = result.output ?? "";
    const lines = output.trimEnd().split("\n");
    const note = lines.pop() ?? "";
    const match = /^\[truncated at 65536 bytes: showed lines 1-(\d+) of 2000; use offset=(\d+)\]$/.exec(note);
    expect(match, note).not.toBeNull();
    const shown = Number(match?.[1]);
    expect(Number(match?.[2])).toBe(shown + 1);
    expect(lines).toHaveLength(shown);
    expect(lines[shown - 1]).toMatch(new RegExp(`^\\s*${shown}\\t${shown}:x+$`));
    const body = output.slice(0, output.length - note.length - 1);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(READ_FILE_MAX_OUTPUT_BYTES);
    expect(Buffer.byteLength(body)).toBeGreaterThan(READ_FILE_MAX_OUTPUT_BYTES - 200);
    const next = await call("read_file", { path: "big.txt", offset: shown + 1, limit: 1 });
    expect(next.output).toMatch(new RegExp(`^${shown + 1}\\t${shown + 1}:x+\\n$`));
  });

  it("shows the start of a line longer than the whole cap (so offset= cannot loop), and refuses an offset past the end", async () => {
    write(path.join(cwd, "oneline.txt"), "y".repeat(70_000));
    const result = await call("read_file", { path: "oneline.txt" });
    expect(result.isError).toBe(false);
    expect(Buffer.byteLength(result.output ?? "")).toBeLessThanOrEqual(READ_FILE_MAX_OUTPUT_BYTES);
    expect(result.output).toMatch(/^1\ty{60000,}\n\[line 1 is 70000 bytes; showed its first part\]\n$/);
    expect(await call("read_file", { path: "three.txt", offset: 10 })).toMatchObject({ isError: true, output: "offset 10 is past the end of three.txt (3 lines)" });
    write(path.join(cwd, "empty.txt"), "");
    expect(await call("read_file", { path: "empty.txt" })).toMatchObject({ isError: false, summary: "read empty.txt (empty file)" });
    fs.rmSync(path.join(cwd, "oneline.txt"));
    fs.rmSync(path.join(cwd, "empty.txt"));
  });

  it("does not show a binary file", async () => {
    const result = await call("read_file", { path: "blob.bin" });
    expect(result.isError).toBe(false);
    expect(result.output).toBe("blob.bin is a binary file (5 bytes); not shown.");
    expect(result.summary).toMatch(/binary/);
  });

  it("refuses a FIFO (it would block past any abort) as not a regular file", async () => {
    const fifo = path.join(cwd, "pipe");
    execFileSync("mkfifo", [fifo]);
    try {
      const result = await call("read_file", { path: "pipe" });
      expect(result).toMatchObject({ isError: true, output: "pipe is not a regular file" });
    } finally {
      fs.rmSync(fifo);
    }
  });

  it("reports a missing file and a directory as errors", async () => {
    const missing = await call("read_file", { path: "nope.txt" });
    expect(missing).toMatchObject({ isError: true, output: "file not found: nope.txt" });
    const dir = await call("read_file", { path: "sub" });
    expect(dir.isError).toBe(true);
    expect(dir.output).toMatch(/sub is a directory; use list_files/);
  });
});

describe("list_files", () => {
  it("lists a directory's direct entries, sorted, directories marked with /, skipping node_modules and .git", async () => {
    const result = await call("list_files", {});
    expect(result.isError).toBe(false);
    expect(result.output?.split("\n")).toEqual([".hidden", "big.txt", "blob.bin", "links/", "sub/", "three.txt", "twenty.txt"]);
    const sub = await call("list_files", { path: "sub" });
    expect(sub.output?.split("\n")).toEqual(["deeper/", "inner.txt"]);
    expect(sub.summary).toBe("2 entries in sub");
  });

  it("matches a glob pattern recursively, still skipping node_modules and .git", async () => {
    const text = await call("list_files", { pattern: "**/*.txt" });
    const listed = text.output?.split("\n") ?? [];
    expect(listed.filter((entry) => !entry.startsWith("links/"))).toEqual(["big.txt", "sub/inner.txt", "three.txt", "twenty.txt"]);
    expect(text.summary).toMatch(/matching \*\*\/\*\.txt/);
    const markdown = await call("list_files", { path: "sub", pattern: "**/*.md" });
    expect(markdown.output).toBe("deeper/deep.md");
  });

  it("does not list outside the scope when a pattern's fixed prefix is a symlink", async () => {
    const result = await call("list_files", { pattern: "links/dir-out/*" });
    expect(result.output ?? "").not.toContain("secret.txt");
    const denied = new Scope({ allow: [{ target: cwd, permission: "write", recursive: true }], deny: [{ target: path.join(cwd, "sub"), permission: "read", recursive: true }] });
    fs.symlinkSync(path.join(cwd, "sub"), path.join(cwd, "alias-of-sub"));
    try {
      const viaAlias = await tools.execute("list_files", JSON.stringify({ pattern: "alias-of-sub/*" }), { ...ctx, scope: denied });
      expect(viaAlias.output ?? "").not.toContain("inner.txt");
    } finally {
      fs.rmSync(path.join(cwd, "alias-of-sub"));
    }
  });

  it("does not list files outside the scope through a symlinked directory", async () => {
    const text = await call("list_files", { pattern: "**/*" });
    expect(text.isError).toBe(false);
    const listed = text.output?.split("\n") ?? [];
    expect(listed).toContain("sub/deeper/deep.md");
    expect(listed.filter((entry) => entry.includes("secret"))).toEqual([]);
  });

  it("refuses patterns that leave the directory (absolute or with ..) and lists nothing outside the scope", async () => {
    for (const pattern of ["../../../../etc/pass*", "/etc/host*", "sub/../../outside/*", "..\\outside\\*"]) {
      const result = await call("list_files", { pattern });
      expect(result.isError, pattern).toBe(true);
      expect(result.output).toMatch(/must be relative to path and stay below it/);
    }
  });

  it("reports a missing directory and a file as errors", async () => {
    expect(await call("list_files", { path: "missing" })).toMatchObject({ isError: true, output: "directory not found: missing" });
    expect(await call("list_files", { path: "three.txt" })).toMatchObject({ isError: true, output: "three.txt is not a directory" });
  });
});

describe("scope", () => {
  it("refuses an absolute path outside the cwd", async () => {
    const result = await call("read_file", { path: path.join(outside, "secret.txt") });
    expect(result.isError).toBe(true);
    expect(result.output).toMatch(/^permission denied: read access to .*secret\.txt is outside this pod's scope \(write .*work\)/);
    expect(result.output).not.toContain("secret\n");
  });

  it("refuses a ../ escape", async () => {
    const result = await call("read_file", { path: "../outside/secret.txt" });
    expect(result).toMatchObject({ isError: true });
    expect(result.output).toMatch(/^permission denied/);
    const listing = await call("list_files", { path: ".." });
    expect(listing.output).toMatch(/^permission denied/);
  });

  it("refuses a symlink inside the cwd that points outside", async () => {
    const file = await call("read_file", { path: "links/link-out.txt" });
    expect(file.isError).toBe(true);
    expect(file.output).toMatch(/^permission denied/);
    const dir = await call("list_files", { path: "links/dir-out" });
    expect(dir.output).toMatch(/^permission denied/);
    const through = await call("read_file", { path: "links/dir-out/secret.txt" });
    expect(through.output).toMatch(/^permission denied/);
  });

  it("allows writing a new file under the cwd (even in new dirs) and refuses one outside", () => {
    const scope = Scope.forCwd(cwd);
    expect(scope.check(cwd, "new-dir/deeper/new.txt", "write")).toBe(path.join(cwd, "new-dir", "deeper", "new.txt"));
    expect(scope.check(cwd, "three.txt", "write")).toBe(path.join(cwd, "three.txt"));
    expect(() => scope.check(cwd, "../new.txt", "write")).toThrow(ToolFailure);
    expect(() => scope.check(cwd, "links/dir-out/new.txt", "write")).toThrow(/permission denied: write access/);
  });

  it("grants read-only rules read and not write", () => {
    const scope = new Scope([
      { target: outside, permission: "read", recursive: true },
      { target: cwd, permission: "write", recursive: false },
    ]);
    expect(scope.check(cwd, path.join(outside, "secret.txt"), "read")).toBe(path.join(outside, "secret.txt"));
    expect(() => scope.check(cwd, path.join(outside, "secret.txt"), "write")).toThrow(/permission denied/);
    expect(scope.check(cwd, "three.txt", "write")).toBe(path.join(cwd, "three.txt"));
    expect(() => scope.check(cwd, "sub/inner.txt", "read")).toThrow(/permission denied/);
  });
});

describe("registry", () => {
  it("turns an unknown tool into an error result naming the available tools", async () => {
    const result = await call("delete_everything", {});
    expect(result).toEqual({ summary: "unknown tool: delete_everything", output: 'unknown tool "delete_everything"; available: bash, edit_file, grep, list_files, list_pods, read_file, read_pod_output, send_to_pod, spawn_pod, stop_pod, write_file', isError: true });
  });

  it("turns argument text that is not JSON into an error result", async () => {
    const result = await call("read_file", '{"path": "three.txt"');
    expect(result.isError).toBe(true);
    expect(result.summary).toBe("read_file: invalid arguments");
    expect(result.output).toMatch(/^invalid arguments for read_file: not JSON/);
  });

  it("turns a schema mismatch into an error result naming the field", async () => {
    const result = await call("read_file", { path: 5 });
    expect(result.isError).toBe(true);
    expect(result.output).toMatch(/^invalid arguments for read_file: path: .*expected string/);
    const negative = await call("read_file", { path: "three.txt", offset: -1 });
    expect(negative.output).toMatch(/offset/);
    expect(await call("read_file", "")).toMatchObject({ isError: true, output: expect.stringMatching(/path/) });
  });

  it("refuses spawn_pod instructions over 64 KiB before any child is started (they would not fit an argv entry)", async () => {
    const result = await call("spawn_pod", { name: "kid", task: "work", instructions: "x".repeat(64 * 1024 + 1) });
    expect(result).toMatchObject({ isError: true, summary: "spawn_pod: invalid arguments" });
    expect(result.output).toMatch(/instructions: instructions are limited to 65536 bytes/);
  });

  it("turns a throwing tool into an error result, never a rejection", async () => {
    const registry = new ToolRegistry()
      .register(
        defineTool({
          name: "explode",
          description: "throws",
          input: z.object({}),
          async execute() {
            throw new Error("kaput\nwith a second line");
          },
        }),
      )
      .register(
        defineTool({
          name: "throw_string",
          description: "throws a non-Error",
          input: z.object({}),
          execute() {
            return Promise.reject("just a string");
          },
        }),
      );
    await expect(registry.execute("explode", "{}", ctx)).resolves.toEqual({
      summary: "explode failed: kaput",
      output: "kaput\nwith a second line",
      isError: true,
    });
    await expect(registry.execute("throw_string", "{}", ctx)).resolves.toEqual({
      summary: "throw_string failed: just a string",
      output: "just a string",
      isError: true,
    });
  });

  it("refuses to register two tools with one name and lists specs by name", () => {
    const registry = builtinTools();
    expect(registry.names()).toEqual(["bash", "edit_file", "grep", "list_files", "list_pods", "read_file", "read_pod_output", "send_to_pod", "spawn_pod", "stop_pod", "write_file"]);
    expect(registry.specs().map((spec) => spec.name)).toEqual(registry.names());
    expect(registry.specs().find((spec) => spec.name === "read_file")?.inputSchema).toMatchObject({ type: "object", required: ["path"] });
    expect(builtinTools({ bash: false, pods: false }).names()).toEqual(["edit_file", "grep", "list_files", "read_file", "write_file"]);
    const duplicate = defineTool({ name: "read_file", description: "dup", input: z.object({}), execute: async () => ({ summary: "" }) });
    expect(() => registry.register(duplicate)).toThrow(/tool read_file is already registered/);
  });
});
