/**
 * write_file and edit_file, in process, through ToolRegistry.execute as the turn loop calls
 * them (argument JSON in, ToolCallResult out), on real files in a temp dir.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinTools } from "../../src/tools/builtin-tools.js";
import type { ToolContext } from "../../src/tools/define-tool.js";
import { EDIT_FILE_MAX_BYTES } from "../../src/tools/edit-file.js";
import { Scope } from "../../src/tools/scope.js";
import { WRITE_FILE_MAX_BYTES } from "../../src/tools/write-file.js";

let root: string;
let cwd: string;
let outside: string;
let ctx: ToolContext;
const tools = builtinTools();

function call(name: string, input: unknown) {
  return tools.execute(name, JSON.stringify(input), ctx);
}

function read(file: string): string {
  return fs.readFileSync(path.join(cwd, file), "utf8");
}

/** A fresh file under the cwd with `content`; returns its relative path. */
let fileCounter = 0;
function fixture(content: string | Buffer, name = `file-${++fileCounter}.txt`): string {
  fs.writeFileSync(path.join(cwd, name), content);
  return name;
}

/** Every entry under `dir`, recursively, relative and sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[]).sort();
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "podd-edit-")));
  cwd = path.join(root, "work");
  outside = path.join(root, "outside");
  fs.mkdirSync(cwd);
  fs.mkdirSync(outside);
  fs.mkdirSync(path.join(cwd, "links"));
  fs.symlinkSync(outside, path.join(cwd, "links", "dir-out"));
  fs.writeFileSync(path.join(outside, "secret.txt"), "secret\n");
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(cwd, "links", "secret-link.txt"));
  ctx = { cwd, scope: Scope.forCwd(cwd), signal: new AbortController().signal, spillDir: path.join(root, "spill") };
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("registration", () => {
  it("registers write_file and edit_file with the path as the main argument", () => {
    expect(tools.names()).toEqual(expect.arrayContaining(["edit_file", "write_file"]));
    const specs = Object.fromEntries(tools.specs().map((spec) => [spec.name, spec]));
    expect(specs.write_file?.inputSchema).toMatchObject({ type: "object", required: ["path", "content"] });
    expect(specs.edit_file?.inputSchema).toMatchObject({ type: "object", required: ["path", "edits"] });
  });

  it("lets a permission rule on the path deny a write before the file is touched", async () => {
    const { PermissionRules, parsePermissionRule } = await import("../../src/tools/permissions.js");
    const alerts: string[] = [];
    const denied = await tools.execute("write_file", JSON.stringify({ path: "locked/x.lock", content: "x" }), {
      ...ctx,
      permissions: new PermissionRules([parsePermissionRule("deny", "write_file:**.lock")]),
      alert: (message) => alerts.push(message),
    });
    expect(denied.isError).toBe(true);
    expect(denied.output).toMatch(/^permission denied: write_file "locked\/x\.lock"/);
    expect(alerts).toHaveLength(1);
    expect(fs.existsSync(path.join(cwd, "locked"))).toBe(false);
  });

  it("offers the path to permission rules in its resolved forms, however it is spelled", async () => {
    const { PermissionRules, parsePermissionRule } = await import("../../src/tools/permissions.js");
    const name = fixture("guarded\n", "guarded.txt");
    const permissions = new PermissionRules([parsePermissionRule("deny", "edit_file:guarded.txt"), parsePermissionRule("deny", "write_file:guarded.txt")]);
    for (const requested of [`./${name}`, `sub-x/../${name}`, path.join(cwd, name)]) {
      const edit = await tools.execute("edit_file", JSON.stringify({ path: requested, edits: [{ old_string: "guarded", new_string: "changed" }] }), { ...ctx, permissions });
      expect(edit.output, requested).toMatch(/^permission denied: edit_file .* is denied by the rule/);
      const write = await tools.execute("write_file", JSON.stringify({ path: requested, content: "changed" }), { ...ctx, permissions });
      expect(write.output, requested).toMatch(/^permission denied: write_file .* is denied by the rule/);
    }
    expect(read(name)).toBe("guarded\n");
  });
});

describe("write_file", () => {
  it("creates a new file and says so, with lines and bytes", async () => {
    const result = await call("write_file", { path: "notes.md", content: "# Notes\n\nfirst\n" });
    expect(result).toEqual({ summary: "created notes.md (3 lines, 15 bytes)", output: undefined, isError: false });
    expect(read("notes.md")).toBe("# Notes\n\nfirst\n");
  });

  it("overwrites an existing file, keeping its mode", async () => {
    const name = fixture("old content\nmore\n");
    fs.chmodSync(path.join(cwd, name), 0o640);
    const result = await call("write_file", { path: name, content: "new" });
    expect(result).toMatchObject({ summary: `wrote ${name} (1 line, 3 bytes)`, isError: false });
    expect(read(name)).toBe("new");
    expect(fs.statSync(path.join(cwd, name)).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(cwd).filter((entry) => entry.startsWith(`${name}.`))).toEqual([]);
  });

  it("writes an empty file", async () => {
    const result = await call("write_file", { path: "empty.txt", content: "" });
    expect(result).toMatchObject({ summary: "created empty.txt (0 lines, 0 bytes)", isError: false });
    expect(read("empty.txt")).toBe("");
  });

  it("creates missing parent directories", async () => {
    const result = await call("write_file", { path: "a/b/c/deep.txt", content: "deep\n" });
    expect(result).toMatchObject({ summary: "created a/b/c/deep.txt (1 line, 5 bytes)", isError: false });
    expect(read("a/b/c/deep.txt")).toBe("deep\n");
  });

  it("accepts an absolute path inside the scope and names it relative to the cwd", async () => {
    const result = await call("write_file", { path: path.join(cwd, "abs", "x.txt"), content: "x\n" });
    expect(result).toMatchObject({ summary: "created abs/x.txt (1 line, 2 bytes)", isError: false });
  });

  it("refuses a path outside the scope and creates nothing, not even the parent directories", async () => {
    const before = tree(root);
    for (const requested of [
      path.join(outside, "new-dir", "deeper", "x.txt"),
      "../outside/new-dir/x.txt",
      "../sibling/x.txt",
      "links/dir-out/new-dir/x.txt",
      "a/../../outside/x.txt",
    ]) {
      const result = await call("write_file", { path: requested, content: "escaped" });
      expect(result.isError, requested).toBe(true);
      expect(result.summary).toMatch(/^write_file failed: permission denied: write access to /);
      expect(result.output).toMatch(new RegExp(`^permission denied: write access to ${escape(requested)} is outside this pod's scope`));
    }
    expect(tree(root)).toEqual(before);
    expect(fs.existsSync(path.join(outside, "new-dir"))).toBe(false);
    expect(fs.existsSync(path.join(root, "sibling"))).toBe(false);
  });

  it("refuses to write through a symlink to a file outside the scope, leaving the target as it was", async () => {
    const result = await call("write_file", { path: "links/secret-link.txt", content: "overwritten" });
    expect(result.isError).toBe(true);
    expect(result.output).toMatch(/^permission denied: .*\(it resolves to .*outside\/secret\.txt\)$/);
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("secret\n");
    expect(fs.lstatSync(path.join(cwd, "links", "secret-link.txt")).isSymbolicLink()).toBe(true);
  });

  it("does not follow a dangling symlink out of the scope: the scope judges it by where it points", async () => {
    fs.symlinkSync(path.join(outside, "not-yet.txt"), path.join(cwd, "links", "dangling-out"));
    const result = await call("write_file", { path: "links/dangling-out", content: "escaped" });
    expect(result.isError).toBe(true);
    expect(result.output).toMatch(/^permission denied: write access to links\/dangling-out is outside this pod's scope .*\(it resolves to .*not-yet\.txt\)$/);
    expect(fs.existsSync(path.join(outside, "not-yet.txt"))).toBe(false);
    expect(fs.lstatSync(path.join(cwd, "links", "dangling-out")).isSymbolicLink()).toBe(true);
    const edit = await call("edit_file", { path: "links/dangling-out", edits: [{ old_string: "a", new_string: "b" }] });
    expect(edit.output).toMatch(/^permission denied: write access to links\/dangling-out is outside/);
  });

  it("refuses a read-only part of the scope: write_file creates nothing there, edit_file changes nothing", async () => {
    const scope = new Scope({ allow: [{ target: cwd, permission: "write", recursive: true }], deny: [{ target: path.join(cwd, "ro"), permission: "write", recursive: true }] });
    fs.mkdirSync(path.join(cwd, "ro"));
    const result = await tools.execute("write_file", JSON.stringify({ path: "ro/sub/x.txt", content: "x" }), { ...ctx, scope });
    expect(result.output).toMatch(/^permission denied: write access to ro\/sub\/x\.txt is read-only in this pod's scope/);
    expect(fs.readdirSync(path.join(cwd, "ro"))).toEqual([]);
    fs.writeFileSync(path.join(cwd, "ro", "kept.txt"), "kept\n");
    const edit = await tools.execute("edit_file", JSON.stringify({ path: "ro/kept.txt", edits: [{ old_string: "kept", new_string: "lost" }] }), { ...ctx, scope });
    expect(edit.output).toMatch(/^permission denied: write access to ro\/kept\.txt is read-only in this pod's scope/);
    expect(read("ro/kept.txt")).toBe("kept\n");
  });

  it("refuses a directory path, and a FIFO", async () => {
    fs.mkdirSync(path.join(cwd, "a-dir"));
    const dir = await call("write_file", { path: "a-dir", content: "x" });
    expect(dir).toMatchObject({ isError: true, output: "a-dir is a directory; give a file path" });
    expect(fs.statSync(path.join(cwd, "a-dir")).isDirectory()).toBe(true);
    execFileSync("mkfifo", [path.join(cwd, "a-fifo")]);
    const fifo = await call("write_file", { path: "a-fifo", content: "x" });
    expect(fifo).toMatchObject({ isError: true, output: "a-fifo is not a regular file" });
    expect(fs.lstatSync(path.join(cwd, "a-fifo")).isFIFO()).toBe(true);
  });

  it("refuses a path below an existing file", async () => {
    const name = fixture("plain\n");
    const result = await call("write_file", { path: `${name}/child.txt`, content: "x" });
    expect(result.isError).toBe(true);
    expect(result.output).toMatch(new RegExp(`^cannot (create the directory for|write) ${name}/child\\.txt`));
    expect(read(name)).toBe("plain\n");
  });

  it(`refuses content over WRITE_FILE_MAX_BYTES (${WRITE_FILE_MAX_BYTES} bytes) and writes nothing`, async () => {
    const result = await call("write_file", { path: "huge.txt", content: "é".repeat(WRITE_FILE_MAX_BYTES / 2 + 1) });
    expect(result).toMatchObject({ isError: true, output: `content is ${WRITE_FILE_MAX_BYTES + 2} bytes, over the ${WRITE_FILE_MAX_BYTES}-byte write_file limit` });
    expect(fs.existsSync(path.join(cwd, "huge.txt"))).toBe(false);
    const exact = await call("write_file", { path: "exact.txt", content: "x".repeat(WRITE_FILE_MAX_BYTES) });
    expect(exact.isError).toBe(false);
  });

  it("handles unicode and spaces in the path and the content", async () => {
    const content = "naïve café ☕ — 日本語\n😀 emoji line\n";
    const result = await call("write_file", { path: "dir with spaces/ünï cödé ☕.md", content });
    expect(result).toMatchObject({ summary: `created dir with spaces/ünï cödé ☕.md (2 lines, ${Buffer.byteLength(content)} bytes)`, isError: false });
    expect(read("dir with spaces/ünï cödé ☕.md")).toBe(content);
  });

  it("is read back by read_file", async () => {
    await call("write_file", { path: "round.txt", content: "one\ntwo\n" });
    expect(await call("read_file", { path: "round.txt" })).toMatchObject({ output: "1\tone\n2\ttwo\n", isError: false });
  });
});

describe("edit_file", () => {
  it("replaces a unique string and reports the lines changed", async () => {
    const name = fixture("alpha\nbeta\ngamma\n");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "beta", new_string: "BETA\nBETA2" }] });
    expect(result).toEqual({ summary: `edited ${name} (1 edit, +2 -1 lines; now 4 lines)`, output: undefined, isError: false });
    expect(read(name)).toBe("alpha\nBETA\nBETA2\ngamma\n");
  });

  it("fails on zero matches, naming the path, and leaves the file unchanged", async () => {
    const name = fixture("alpha\nbeta\n");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "delta", new_string: "x" }] });
    expect(result).toMatchObject({ isError: true, output: `edit 1: old_string not found in ${name}; the file was not changed` });
    expect(read(name)).toBe("alpha\nbeta\n");
  });

  it("fails on two matches, with the count and what to do, and leaves the file unchanged", async () => {
    const name = fixture("x = 1\ny = 2\nx = 1\n");
    const before = fs.statSync(path.join(cwd, name)).mtimeMs;
    const result = await call("edit_file", { path: name, edits: [{ old_string: "x = 1", new_string: "x = 3" }] });
    expect(result).toMatchObject({
      isError: true,
      output: `edit 1: old_string matches 2 times in ${name}; add context or set replace_all; the file was not changed`,
    });
    expect(read(name)).toBe("x = 1\ny = 2\nx = 1\n");
    expect(fs.statSync(path.join(cwd, name)).mtimeMs).toBe(before);
    const unique = await call("edit_file", { path: name, edits: [{ old_string: "x = 1\ny", new_string: "x = 3\ny" }] });
    expect(unique.isError).toBe(false);
    expect(read(name)).toBe("x = 3\ny = 2\nx = 1\n");
  });

  it("counts overlapping occurrences as ambiguous", async () => {
    const name = fixture("aaa\n");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "aa", new_string: "b" }] });
    expect(result.output).toMatch(/^edit 1: old_string matches 2 times/);
    expect(read(name)).toBe("aaa\n");
  });

  it("replaces every occurrence with replace_all", async () => {
    const name = fixture("let a = foo(foo);\nfoo();\n");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "foo", new_string: "bar", replace_all: true }] });
    expect(result).toMatchObject({ summary: `edited ${name} (1 edit, 3 replacements, +3 -3 lines; now 2 lines)`, isError: false });
    expect(read(name)).toBe("let a = bar(bar);\nbar();\n");
    const none = await call("edit_file", { path: name, edits: [{ old_string: "foo", new_string: "bar", replace_all: true }] });
    expect(none).toMatchObject({ isError: true, output: `edit 1: old_string not found in ${name}; the file was not changed` });
  });

  it("applies several edits in order, each to the result of the ones before", async () => {
    const name = fixture("one\ntwo\nthree\n");
    const result = await call("edit_file", {
      path: name,
      edits: [
        { old_string: "one", new_string: "uno" },
        { old_string: "uno\ntwo", new_string: "uno\ndos" },
        { old_string: "three\n", new_string: "" },
      ],
    });
    expect(result).toMatchObject({ summary: `edited ${name} (3 edits, +3 -4 lines; now 2 lines)`, isError: false });
    expect(read(name)).toBe("uno\ndos\n");
  });

  it("is all or nothing: a failing later edit leaves the file untouched, naming that edit", async () => {
    const name = fixture("one\ntwo\nthree\ntwo\n");
    const notFound = await call("edit_file", {
      path: name,
      edits: [
        { old_string: "one", new_string: "uno" },
        { old_string: "four", new_string: "cuatro" },
        { old_string: "three", new_string: "tres" },
      ],
    });
    expect(notFound).toMatchObject({
      isError: true,
      output: `edit 2 of 3: old_string not found in ${name} (edits apply in order, each to the text the earlier ones left); the file was not changed`,
    });
    const ambiguous = await call("edit_file", {
      path: name,
      edits: [
        { old_string: "one", new_string: "uno" },
        { old_string: "two", new_string: "dos" },
      ],
    });
    expect(ambiguous.output).toBe(`edit 2 of 2: old_string matches 2 times in ${name}; add context or set replace_all; the file was not changed`);
    // An edit whose old_string an earlier edit consumed fails too.
    const consumed = await call("edit_file", {
      path: name,
      edits: [
        { old_string: "three", new_string: "tres" },
        { old_string: "three", new_string: "drei" },
      ],
    });
    expect(consumed.output).toMatch(/^edit 2 of 2: old_string not found/);
    expect(read(name)).toBe("one\ntwo\nthree\ntwo\n");
  });

  it("refuses an empty old_string and one equal to new_string, before reading the file", async () => {
    const name = fixture("text\n");
    const empty = await call("edit_file", { path: name, edits: [{ old_string: "text", new_string: "t" }, { old_string: "", new_string: "x" }] });
    expect(empty).toMatchObject({ isError: true, output: "edit 2: old_string is empty; to create or replace a whole file use write_file" });
    const same = await call("edit_file", { path: name, edits: [{ old_string: "text", new_string: "text" }] });
    expect(same).toMatchObject({ isError: true, output: "edit 1: old_string and new_string are the same; nothing to change" });
    const noEdits = await call("edit_file", { path: name, edits: [] });
    expect(noEdits).toMatchObject({ isError: true, summary: "edit_file: invalid arguments" });
    expect(read(name)).toBe("text\n");
  });

  it("keeps $ patterns in new_string literal", async () => {
    const name = fixture("price: X\n");
    await call("edit_file", { path: name, edits: [{ old_string: "X", new_string: "$& $1 $$ $'" }] });
    expect(read(name)).toBe("price: $& $1 $$ $'\n");
  });

  it("refuses a binary file and text that is not UTF-8, leaving them unchanged", async () => {
    const binary = fixture(Buffer.from([0x61, 0x62, 0x00, 0x63, 0x0a]), "blob.bin");
    const result = await call("edit_file", { path: binary, edits: [{ old_string: "ab", new_string: "xy" }] });
    expect(result).toMatchObject({ isError: true, output: "blob.bin is a binary file; edit_file edits text only" });
    expect(fs.readFileSync(path.join(cwd, binary))).toEqual(Buffer.from([0x61, 0x62, 0x00, 0x63, 0x0a]));
    const latin1 = fixture(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), "latin1.txt");
    const notUtf8 = await call("edit_file", { path: latin1, edits: [{ old_string: "caf", new_string: "CAF" }] });
    expect(notUtf8).toMatchObject({ isError: true, output: "latin1.txt is not valid UTF-8 text; edit_file edits UTF-8 text only" });
    expect(fs.readFileSync(path.join(cwd, latin1))).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  });

  it("keeps a byte-order mark", async () => {
    const name = fixture(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("bom text\n")]));
    const result = await call("edit_file", { path: name, edits: [{ old_string: "text", new_string: "kept" }] });
    expect(result.isError).toBe(false);
    expect(fs.readFileSync(path.join(cwd, name))).toEqual(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("bom kept\n")]));
  });

  it("hints at CRLF line endings when old_string only matches with them", async () => {
    const name = fixture("a\r\nb\r\n");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "a\nb", new_string: "c" }] });
    expect(result.output).toBe(`edit 1: old_string not found in ${name} (the file has CRLF line endings; use \\r\\n in old_string); the file was not changed`);
  });

  it("refuses a missing file, a directory and a FIFO", async () => {
    const edits = [{ old_string: "a", new_string: "b" }];
    expect(await call("edit_file", { path: "missing.txt", edits })).toMatchObject({ isError: true, output: "file not found: missing.txt (use write_file to create it)" });
    fs.mkdirSync(path.join(cwd, "edit-dir"));
    expect(await call("edit_file", { path: "edit-dir", edits })).toMatchObject({ isError: true, output: "edit-dir is a directory; edit_file edits a file" });
    execFileSync("mkfifo", [path.join(cwd, "edit-fifo")]);
    expect(await call("edit_file", { path: "edit-fifo", edits })).toMatchObject({ isError: true, output: "edit-fifo is not a regular file" });
  });

  it(`refuses a file over EDIT_FILE_MAX_BYTES (${EDIT_FILE_MAX_BYTES} bytes) and an edit that would grow it past the limit`, async () => {
    const big = fixture("x".repeat(EDIT_FILE_MAX_BYTES + 1), "big.txt");
    const over = await call("edit_file", { path: big, edits: [{ old_string: "xy", new_string: "z" }] });
    expect(over).toMatchObject({ isError: true, output: `big.txt is ${EDIT_FILE_MAX_BYTES + 1} bytes, over the ${EDIT_FILE_MAX_BYTES}-byte edit_file limit` });
    const atLimit = fixture(`${"y".repeat(EDIT_FILE_MAX_BYTES - 2)}!\n`, "at-limit.txt");
    const grow = await call("edit_file", { path: atLimit, edits: [{ old_string: "!", new_string: "!!" }] });
    expect(grow.output).toBe(`the edited at-limit.txt would be ${EDIT_FILE_MAX_BYTES + 1} bytes, over the ${EDIT_FILE_MAX_BYTES}-byte edit_file limit; the file was not changed`);
    expect(fs.statSync(path.join(cwd, atLimit)).size).toBe(EDIT_FILE_MAX_BYTES);
  });

  it("refuses a file outside the scope, directly, by ../ and through a symlink, leaving it unchanged", async () => {
    const edits = [{ old_string: "secret", new_string: "leaked" }];
    for (const requested of [path.join(outside, "secret.txt"), "../outside/secret.txt", "links/secret-link.txt", "links/dir-out/secret.txt"]) {
      const result = await call("edit_file", { path: requested, edits });
      expect(result.isError, requested).toBe(true);
      expect(result.output).toMatch(/^permission denied: write access to /);
    }
    expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("secret\n");
  });

  it("edits through a symlink that stays inside the scope, keeping the link", async () => {
    const target = fixture("inside\n", "link-target.txt");
    fs.symlinkSync(path.join(cwd, target), path.join(cwd, "links", "inside-link.txt"));
    const result = await call("edit_file", { path: "links/inside-link.txt", edits: [{ old_string: "inside", new_string: "edited" }] });
    expect(result).toMatchObject({ summary: "edited link-target.txt (1 edit, +1 -1 lines; now 1 line)", isError: false });
    expect(read(target)).toBe("edited\n");
    expect(fs.lstatSync(path.join(cwd, "links", "inside-link.txt")).isSymbolicLink()).toBe(true);
  });

  it("handles unicode and spaces in the path, old_string and new_string", async () => {
    const name = fixture("Grüße, 世界! 😀\nzweite Zeile\n", "mit Leerzeichen — ü.txt");
    const result = await call("edit_file", { path: name, edits: [{ old_string: "世界! 😀", new_string: "мир! 🎉" }] });
    expect(result).toMatchObject({ summary: `edited ${name} (1 edit, +1 -1 lines; now 2 lines)`, isError: false });
    expect(read(name)).toBe("Grüße, мир! 🎉\nzweite Zeile\n");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
