/**
 * The path scope (src/tools/scope.ts) on a real directory tree: allow and deny rules,
 * recursive and not, and paths canonicalised with realpath (symlinks, `..`, paths that do not
 * exist yet), as issue 4 specifies them.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScopeRule } from "../../protocol/index.js";
import { ToolFailure } from "../../src/tools/define-tool.js";
import { canonicalPath, Scope } from "../../src/tools/scope.js";

let root: string;
/** The pod's cwd: allowed read+write by the default scope. */
let work: string;
let outside: string;

function make(file: string, content = "x\n"): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function rule(target: string, permission: "read" | "write", recursive = true): ScopeRule {
  return { target, permission, recursive };
}

/** What `scope` grants `requested` (relative to work): "write", "read" or "none", by check(). */
function access(scope: Scope, requested: string): "write" | "read" | "none" {
  const can = (needed: "read" | "write"): boolean => {
    try {
      scope.check(work, requested, needed);
      return true;
    } catch (error) {
      if (!(error instanceof ToolFailure) || !error.message.startsWith("permission denied: ")) throw error;
      return false;
    }
  };
  const read = can("read");
  const write = can("write");
  if (write && !read) throw new Error(`${requested}: write without read`);
  return write ? "write" : read ? "read" : "none";
}

beforeAll(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "podd-scope-")));
  work = path.join(root, "work");
  outside = path.join(root, "outside");
  make(path.join(work, "a.txt"));
  make(path.join(work, "sub", "b.txt"));
  make(path.join(work, "sub", "deeper", "c.txt"));
  make(path.join(work, "protected", "p.txt"));
  make(path.join(work, "protected", "inner", "q.txt"));
  make(path.join(work, "secret", "s.txt"));
  make(path.join(outside, "o.txt"));
  make(path.join(root, "work-sibling", "w.txt"));
  make(path.join(root, "reference", "r.txt"));
  fs.mkdirSync(path.join(work, "links"));
  fs.symlinkSync(path.join(outside, "o.txt"), path.join(work, "links", "file-out"));
  fs.symlinkSync(outside, path.join(work, "links", "dir-out"));
  fs.symlinkSync(path.join(work, "sub", "b.txt"), path.join(work, "links", "file-in"));
  fs.symlinkSync(path.join(work, "sub"), path.join(work, "links", "dir-in"));
  fs.symlinkSync("../../outside", path.join(work, "links", "relative-out"));
  fs.symlinkSync(path.join(work, "links", "dir-out"), path.join(work, "links", "chain-out"));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("symlinks", () => {
  it("refuses read and write through a symlink inside the scope that leads outside, saying where it leads", () => {
    const scope = Scope.forCwd(work);
    for (const link of ["links/file-out", "links/dir-out", "links/dir-out/o.txt", "links/relative-out/o.txt", "links/chain-out/o.txt"]) {
      expect(access(scope, link), link).toBe("none");
    }
    expect(() => scope.check(work, "links/file-out", "read")).toThrow(
      `permission denied: read access to links/file-out is outside this pod's scope (write ${work}) (it resolves to ${path.join(outside, "o.txt")})`,
    );
  });

  it("allows a symlink inside the scope that leads to another place inside, returning where it leads", () => {
    const scope = Scope.forCwd(work);
    expect(scope.check(work, "links/file-in", "write")).toBe(path.join(work, "sub", "b.txt"));
    expect(scope.check(work, "links/dir-in/deeper/c.txt", "read")).toBe(path.join(work, "sub", "deeper", "c.txt"));
  });

  it("judges a path that does not exist under a symlinked dir by where the dir leads", () => {
    const scope = Scope.forCwd(work);
    expect(scope.check(work, "links/dir-in/new/new.txt", "write")).toBe(path.join(work, "sub", "new", "new.txt"));
    expect(access(scope, "links/dir-out/new.txt")).toBe("none");
    expect(access(scope, "links/dir-out/new-dir/deeper/new.txt")).toBe("none");
    expect(() => scope.check(work, "links/dir-out/new.txt", "write")).toThrow(`(it resolves to ${path.join(outside, "new.txt")})`);
    expect(fs.existsSync(path.join(outside, "new-dir"))).toBe(false);
  });

  it("refuses a symlink into a read-only or denied part of the scope as that part", () => {
    fs.symlinkSync(path.join(work, "protected", "p.txt"), path.join(work, "links", "to-protected"));
    fs.symlinkSync(path.join(work, "secret"), path.join(work, "links", "to-secret"));
    const scope = new Scope({ allow: [rule(work, "write")], deny: [rule(path.join(work, "protected"), "write"), rule(path.join(work, "secret"), "read")] });
    expect(access(scope, "links/to-protected")).toBe("read");
    expect(access(scope, "links/to-secret/s.txt")).toBe("none");
  });

  it("canonicalises rule targets, so a rule given through a symlink covers the real path", () => {
    const scope = new Scope([rule(path.join(work, "links", "dir-out"), "read")]);
    expect(scope.allow[0]?.target).toBe(outside);
    expect(scope.check(work, path.join(outside, "o.txt"), "read")).toBe(path.join(outside, "o.txt"));
  });

  // A dangling symlink must be judged by where it leads: a tool that followed it when writing
  // would otherwise create a file outside the scope.
  it("refuses a dangling symlink that leads outside: it is judged by where it points", () => {
    fs.symlinkSync(path.join(outside, "not-yet.txt"), path.join(work, "links", "dangling-out"));
    expect(access(Scope.forCwd(work), "links/dangling-out")).toBe("none");
  });
});

describe("../ escapes", () => {
  it("refuses paths that climb out of the scope, however they are spelled", () => {
    const scope = Scope.forCwd(work);
    for (const requested of ["..", "../outside/o.txt", "sub/../../outside/o.txt", "sub/deeper/../../../outside", `${work}/../outside/o.txt`, "../work-sibling/w.txt", "./../new.txt"]) {
      expect(access(scope, requested), requested).toBe("none");
    }
  });

  it("allows a path that climbs out and back in, judged as the normalised path", () => {
    const scope = Scope.forCwd(work);
    expect(scope.check(work, "../work/a.txt", "write")).toBe(path.join(work, "a.txt"));
    expect(scope.check(work, "sub/deeper/../../a.txt", "write")).toBe(path.join(work, "a.txt"));
  });

  it("does not let a sibling whose name starts with the scope's name pass as inside", () => {
    const scope = Scope.forCwd(work);
    expect(access(scope, path.join(root, "work-sibling", "w.txt"))).toBe("none");
    expect(access(scope, `${work}-sibling`)).toBe("none");
  });
});

describe("new files", () => {
  it("allows a new file under an allowed dir, and in new subdirectories, at the allowed level", () => {
    const scope = new Scope({ allow: [rule(work, "write"), rule(path.join(root, "reference"), "read")] });
    expect(scope.check(work, "new.txt", "write")).toBe(path.join(work, "new.txt"));
    expect(scope.check(work, "new-dir/deeper/new.txt", "write")).toBe(path.join(work, "new-dir", "deeper", "new.txt"));
    expect(access(scope, path.join(root, "reference", "new-dir", "new.txt"))).toBe("read");
    expect(access(scope, path.join(outside, "new-dir", "new.txt"))).toBe("none");
    expect(fs.existsSync(path.join(work, "new-dir"))).toBe(false);
  });
});

describe("allow and deny", () => {
  it("deny(write) over allow(write) keeps read, for the target and everything below", () => {
    const scope = new Scope({ allow: [rule(work, "write")], deny: [rule(path.join(work, "protected"), "write")] });
    expect(access(scope, "protected")).toBe("read");
    expect(access(scope, "protected/p.txt")).toBe("read");
    expect(access(scope, "protected/inner/q.txt")).toBe("read");
    expect(access(scope, "protected/new.txt")).toBe("read");
    expect(access(scope, "a.txt")).toBe("write");
    expect(() => scope.check(work, "protected/p.txt", "write")).toThrow(/^permission denied: write access to protected\/p\.txt is read-only in this pod's scope/);
  });

  it("deny(read) leaves nothing, even under allow(write)", () => {
    const scope = new Scope({ allow: [rule(work, "write")], deny: [rule(path.join(work, "secret"), "read")] });
    expect(access(scope, "secret")).toBe("none");
    expect(access(scope, "secret/s.txt")).toBe("none");
    expect(access(scope, "secret/new/new.txt")).toBe("none");
    expect(access(scope, "sub/b.txt")).toBe("write");
    expect(scope.permissionFor(path.join(work, "secret", "s.txt"))).toBeUndefined();
  });

  it("deny(write) over allow(read) leaves read; deny(read) over allow(read) leaves nothing", () => {
    const reference = path.join(root, "reference");
    expect(access(new Scope({ allow: [rule(reference, "read")], deny: [rule(reference, "write")] }), path.join(reference, "r.txt"))).toBe("read");
    expect(access(new Scope({ allow: [rule(reference, "read")], deny: [rule(reference, "read")] }), path.join(reference, "r.txt"))).toBe("none");
  });

  it("a deny without a matching allow grants nothing", () => {
    const scope = new Scope({ allow: [rule(work, "write")], deny: [rule(outside, "write")] });
    expect(access(scope, path.join(outside, "o.txt"))).toBe("none");
  });

  it("multiple allows: the highest matching one wins, in any order", () => {
    const reference = path.join(root, "reference");
    for (const allow of [
      [rule(root, "read"), rule(work, "write")],
      [rule(work, "write"), rule(root, "read")],
    ]) {
      const scope = new Scope({ allow });
      expect(access(scope, "a.txt")).toBe("write");
      expect(access(scope, path.join(reference, "r.txt"))).toBe("read");
      expect(access(scope, path.join(outside, "o.txt"))).toBe("read");
    }
    const both = new Scope({ allow: [rule(work, "write"), rule(work, "read")] });
    expect(access(both, "a.txt")).toBe("write");
    expect(both.permissionFor(path.join(work, "a.txt"))).toBe("write");
  });

  it("a deny caps every matching allow, however high", () => {
    const scope = new Scope({ allow: [rule(root, "write"), rule(work, "write")], deny: [rule(path.join(work, "protected"), "write")] });
    expect(access(scope, "protected/p.txt")).toBe("read");
  });
});

describe("non-recursive rules", () => {
  it("an allow covers its target and its direct children only", () => {
    const scope = new Scope([rule(work, "write", false)]);
    expect(access(scope, ".")).toBe("write");
    expect(access(scope, "a.txt")).toBe("write");
    expect(access(scope, "sub")).toBe("write");
    expect(access(scope, "new.txt")).toBe("write");
    expect(access(scope, "sub/b.txt")).toBe("none");
    expect(access(scope, "sub/deeper/c.txt")).toBe("none");
    expect(access(scope, "new-dir/new.txt")).toBe("none");
  });

  it("a deny covers its target and its direct children only", () => {
    const scope = new Scope({ allow: [rule(work, "write")], deny: [rule(path.join(work, "protected"), "write", false)] });
    expect(access(scope, "protected")).toBe("read");
    expect(access(scope, "protected/p.txt")).toBe("read");
    expect(access(scope, "protected/inner")).toBe("read");
    expect(access(scope, "protected/inner/q.txt")).toBe("write");
  });

  it("a recursive read and a non-recursive write combine per depth", () => {
    const scope = new Scope([rule(work, "read"), rule(work, "write", false)]);
    expect(access(scope, "a.txt")).toBe("write");
    expect(access(scope, "sub/b.txt")).toBe("read");
  });
});

describe("unicode and spaces", () => {
  it("matches paths with unicode and spaces exactly", () => {
    const dir = path.join(root, "dossier partagé ☕", "日本 語");
    make(path.join(dir, "fïle näme.txt"));
    make(path.join(root, "dossier partagé ☕", "日本 語 2", "x.txt"));
    fs.symlinkSync(outside, path.join(dir, "lien vers l'extérieur"));
    const scope = new Scope({ allow: [rule(dir, "write")], deny: [rule(path.join(dir, "lecture seule"), "write")] });
    expect(scope.check(dir, "fïle näme.txt", "write")).toBe(path.join(dir, "fïle näme.txt"));
    expect(scope.check(dir, "nouveau dossier/ñ é.txt", "write")).toBe(path.join(dir, "nouveau dossier", "ñ é.txt"));
    expect(scope.check(dir, "lecture seule/x.txt", "read")).toBe(path.join(dir, "lecture seule", "x.txt"));
    expect(() => scope.check(dir, "lecture seule/x.txt", "write")).toThrow(/read-only/);
    expect(() => scope.check(dir, "../日本 語 2/x.txt", "read")).toThrow(/^permission denied/);
    expect(() => scope.check(dir, "lien vers l'extérieur/o.txt", "read")).toThrow(/^permission denied/);
  });
});

describe("summary", () => {
  it("lists allows, non-recursive marks and denies in order", () => {
    const scope = new Scope({
      allow: [rule(work, "write"), rule(path.join(root, "reference"), "read", false)],
      deny: [rule(path.join(work, "protected"), "write"), rule(path.join(work, "secret"), "read", false)],
    });
    expect(scope.summary()).toBe(
      `write ${work}, read ${root}/reference (non-recursive), deny write ${work}/protected, deny read ${work}/secret (non-recursive)`,
    );
    expect(Scope.forCwd(work).summary()).toBe(`write ${work}`);
    expect(new Scope([]).summary()).toBe("(no access)");
    expect(access(new Scope([]), "a.txt")).toBe("none");
  });
});

describe("canonicalPath", () => {
  it("resolves an existing path, and a missing one from its nearest existing ancestor", () => {
    expect(canonicalPath(path.join(work, "links", "dir-in", "b.txt"))).toBe(path.join(work, "sub", "b.txt"));
    expect(canonicalPath(path.join(work, "links", "dir-out", "a", "b"))).toBe(path.join(outside, "a", "b"));
    expect(canonicalPath(path.join(work, "sub", "..", "missing", "x"))).toBe(path.join(work, "missing", "x"));
  });
});
