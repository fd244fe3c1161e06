/**
 * The import boundaries of architecture.md ("Rules of the house"): the CLI and TUI are pure
 * clients (protocol/, src/client/, src/config/ only), protocol/ depends on zod only, and
 * dependencies point down (pod/ never imports ipc/, tools/ never imports pod/, nothing imports
 * cli/). Imports are read with TypeScript's own pre-processor (static imports, `export … from`,
 * `import type`, and `import("…")` with a literal, never text in comments or strings), and
 * relative specifiers are resolved to files.
 */
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/pod-process.js";

interface ImportRef {
  /** File containing the import, relative to the repo root. */
  file: string;
  specifier: string;
  /** For a relative specifier: the target relative to the repo root (`.js` mapped to `.ts`). */
  target?: string;
}

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** Every .ts file under `dir` (relative to the repo root), sorted; [] when the dir does not exist. */
function tsFiles(dir: string): string[] {
  const absolute = path.join(REPO_ROOT, dir);
  if (!fs.existsSync(absolute)) return [];
  return (fs.readdirSync(absolute, { recursive: true, encoding: "utf8" }) as string[])
    .filter((entry) => /\.tsx?$/.test(entry) && !entry.endsWith(".d.ts"))
    .map((entry) => path.posix.join(dir, entry.split(path.sep).join("/")))
    .sort();
}

/** Resolve a relative specifier the way NodeNext does for our sources (`./x.js` is `./x.ts` in src). */
function resolveRelative(fromFile: string, specifier: string): string {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  const candidates = [joined, joined.replace(/\.js$/, ".ts"), joined.replace(/\.jsx$/, ".tsx"), `${joined}.ts`, path.posix.join(joined, "index.ts")];
  return candidates.find((candidate) => fs.existsSync(path.join(REPO_ROOT, candidate)) && fs.statSync(path.join(REPO_ROOT, candidate)).isFile()) ?? joined;
}

/** The imports of a source text. */
function importsOf(file: string, text: string): ImportRef[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: specifier }) =>
    specifier.startsWith(".") ? { file, specifier, target: resolveRelative(file, specifier) } : { file, specifier },
  );
}

function importsOfFile(file: string): ImportRef[] {
  return importsOf(file, fs.readFileSync(path.join(REPO_ROOT, file), "utf8"));
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || BUILTINS.has(specifier) || BUILTINS.has(specifier.split("/")[0] ?? "");
}

function within(target: string, prefix: string): boolean {
  return prefix.endsWith("/") ? target.startsWith(prefix) : target === prefix;
}

/** Layers a pure client may not reach (architecture.md: the CLI and TUI never import src/pod/ …). */
const SERVER_SIDE = ["src/pod/", "src/ipc/", "src/agent/", "src/session/", "src/tools/", "src/model/"];
function isServerSide(target: string): boolean {
  return SERVER_SIDE.some((prefix) => within(target, prefix)) || /^src\/daemon[^/]*\.ts$/.test(target);
}

/** What a CLI or TUI file may import relatively (the CLI may launch the TUI; the TUI never imports the CLI). */
function clientMayImport(fromFile: string, target: string): boolean {
  const own = fromFile.startsWith("src/tui/") ? ["src/tui/"] : ["src/cli/", "src/tui/"];
  return ["protocol/", "src/client/", "src/config/", ...own].some((prefix) => within(target, prefix));
}

function describeViolations(violations: readonly ImportRef[]): string {
  return violations.map((ref) => `${ref.file}: import "${ref.specifier}"${ref.target ? ` (→ ${ref.target})` : ""}`).join("\n");
}

/** CLI / TUI imports that leave protocol/, src/client/, src/config/ and the client's own folder. */
function clientViolations(refs: readonly ImportRef[]): ImportRef[] {
  return refs.filter((ref) => (ref.target === undefined ? false : isServerSide(ref.target) || !clientMayImport(ref.file, ref.target)));
}

const CLIENT_FILES = [...tsFiles("src/cli"), ...tsFiles("src/tui")];
const SRC_FILES = tsFiles("src");

describe("the import checker", () => {
  it("finds static, type-only, re-exported and dynamic imports, and resolves .js to .ts", () => {
    const refs = importsOf(
      "src/cli/example.ts",
      [
        'import { PodController } from "../pod/controller.js";',
        'import type { SessionLog } from "../session/session-log.js";',
        'export { SocketServer } from "../ipc/socket-server.js";',
        'const model = await import("../model/resolve-model.js");',
        '// import("../agent/drive-turns.js") in a comment is not an import',
        'import { resolvePaths } from "../config/paths.js";',
        'import fs from "node:fs";',
        'import { Command } from "commander";',
      ].join("\n"),
    );
    expect(refs.map((ref) => ref.target ?? ref.specifier)).toEqual([
      "src/pod/controller.ts",
      "src/session/session-log.ts",
      "src/ipc/socket-server.ts",
      "src/model/resolve-model.ts",
      "src/config/paths.ts",
      "node:fs",
      "commander",
    ]);
    expect(clientViolations(refs).map((ref) => ref.target)).toEqual([
      "src/pod/controller.ts",
      "src/session/session-log.ts",
      "src/ipc/socket-server.ts",
      "src/model/resolve-model.ts",
    ]);
    expect(describeViolations(clientViolations(refs))).toContain('src/cli/example.ts: import "../pod/controller.js" (→ src/pod/controller.ts)');
    expect(isServerSide("src/daemon.ts") && isServerSide("src/daemon-main.ts")).toBe(true);
    expect(isBuiltin("node:fs") && isBuiltin("fs/promises") && !isBuiltin("zod")).toBe(true);
  });
});

describe("import boundaries (architecture.md)", () => {
  it("scans the CLI sources", () => {
    expect(CLIENT_FILES).toContain("src/cli/main.ts");
    expect(CLIENT_FILES.flatMap(importsOfFile).some((ref) => ref.target?.startsWith("src/client/"))).toBe(true);
  });

  it("the CLI and TUI import only protocol/, src/client/, src/config/, their own folder, builtins and packages", () => {
    const violations = clientViolations(CLIENT_FILES.flatMap(importsOfFile));
    expect(violations, `CLI/TUI files import outside their boundary:\n${describeViolations(violations)}`).toEqual([]);
  });

  it("nothing the CLI or TUI loads, directly or through other modules, is server-side code", () => {
    const seen = new Map<string, ImportRef | undefined>();
    const queue = CLIENT_FILES.map((file) => {
      seen.set(file, undefined);
      return file;
    });
    while (queue.length > 0) {
      const file = queue.shift() as string;
      if (!/\.tsx?$/.test(file) || !fs.existsSync(path.join(REPO_ROOT, file))) continue;
      for (const ref of importsOfFile(file)) {
        if (ref.target && !seen.has(ref.target)) {
          seen.set(ref.target, ref);
          queue.push(ref.target);
        }
      }
    }
    const chain = (target: string): string => {
      const parts = [target];
      for (let ref = seen.get(target); ref; ref = seen.get(ref.file)) parts.unshift(ref.file);
      return parts.join(" → ");
    };
    const reached = [...seen.keys()].filter(isServerSide);
    expect(reached, `the CLI/TUI reach server-side modules:\n${reached.map(chain).join("\n")}`).toEqual([]);
    expect(seen.has("src/client/pod-client.ts")).toBe(true);
  });

  it("protocol/ imports only zod and itself", () => {
    const files = tsFiles("protocol");
    expect(files).toContain("protocol/index.ts");
    const violations = files
      .flatMap(importsOfFile)
      .filter((ref) => (ref.target === undefined ? ref.specifier !== "zod" && !ref.specifier.startsWith("zod/") : !ref.target.startsWith("protocol/")));
    expect(violations, `protocol/ imports beyond zod and itself:\n${describeViolations(violations)}`).toEqual([]);
  });

  it("src/pod/ never imports src/ipc/", () => {
    const files = tsFiles("src/pod");
    expect(files.length).toBeGreaterThan(0);
    const violations = files.flatMap(importsOfFile).filter((ref) => ref.target?.startsWith("src/ipc/"));
    expect(violations, `src/pod/ imports src/ipc/:\n${describeViolations(violations)}`).toEqual([]);
  });

  it("src/tools/ never imports src/pod/", () => {
    const files = tsFiles("src/tools");
    expect(files.length).toBeGreaterThan(0);
    const violations = files.flatMap(importsOfFile).filter((ref) => ref.target?.startsWith("src/pod/"));
    expect(violations, `src/tools/ imports src/pod/:\n${describeViolations(violations)}`).toEqual([]);
  });

  it("nothing outside src/cli/ imports src/cli/", () => {
    const files = SRC_FILES.filter((file) => !file.startsWith("src/cli/"));
    expect(files).toContain("src/daemon.ts");
    const violations = files.flatMap(importsOfFile).filter((ref) => ref.target?.startsWith("src/cli/"));
    expect(violations, `modules import src/cli/:\n${describeViolations(violations)}`).toEqual([]);
  });
});
