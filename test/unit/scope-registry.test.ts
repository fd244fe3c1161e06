/**
 * The write-scope allocation registry (src/spawn/scope-registry.ts) on a real file in a temp
 * runtime dir: overlap by path segments, nested delegation and its carve-outs, the two-step
 * claim → setPid, stale claims of dead processes (real processes, killed), concurrent claims
 * from several processes (exactly one wins), a lock left by a crashed holder, and a corrupted
 * registry file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PoddError } from "../../src/errors.js";
import { pathContains, pathsOverlap, ScopeConflictError, ScopeRegistry, SCOPE_REGISTRY_FILE, type ScopeClaim } from "../../src/spawn/scope-registry.js";
import { REPO_ROOT } from "../helpers/pod-process.js";

/** A pid that is alive for the whole test: this process. */
const LIVE = process.pid;
/** A user-started pod: it delegates but holds no claim. */
const ROOT = { pod: "root", pid: LIVE };

let runtime: string;
let warnings: string[];
let registry: ScopeRegistry;
const children: ChildProcess[] = [];

beforeEach(() => {
  runtime = fs.mkdtempSync(path.join(os.tmpdir(), "podd-scope-registry-"));
  warnings = [];
  registry = new ScopeRegistry(runtime, { onWarning: (message) => warnings.push(message) });
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  fs.rmSync(runtime, { recursive: true, force: true });
});

/** A real process that idles until killed. */
async function startIdleProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(child);
  await once(child, "spawn");
  return child as ChildProcess & { pid: number };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

function byPod(claims: readonly ScopeClaim[]): Record<string, ScopeClaim> {
  return Object.fromEntries(claims.map((claim) => [claim.pod, claim]));
}

describe("pathContains / pathsOverlap", () => {
  it("compare path segments, not string prefixes", () => {
    expect(pathContains("/a/b", "/a/b")).toBe(true);
    expect(pathContains("/a/b", "/a/b/c")).toBe(true);
    expect(pathContains("/a/b/c", "/a/b")).toBe(false);
    expect(pathContains("/a/b", "/a/bc")).toBe(false);
    expect(pathContains("/", "/a")).toBe(true);
    expect(pathsOverlap("/a/b/c", "/a/b")).toBe(true);
    expect(pathsOverlap("/a/b", "/a/bc")).toBe(false);
    expect(pathsOverlap("/a/b", "/a/c")).toBe(false);
  });
});

describe("ScopeRegistry", () => {
  it("refuses an overlapping claim of another pod with a clear message, and writes nothing", async () => {
    await registry.claim({ pod: "alpha", pid: LIVE, targets: ["/w/repo"], delegatedBy: ROOT });
    const before = fs.readFileSync(registry.file, "utf8");

    const inside = registry.claim({ pod: "beta", pid: LIVE, targets: ["/w/repo/src"], delegatedBy: ROOT });
    await expect(inside).rejects.toThrow(ScopeConflictError);
    await expect(inside).rejects.toThrow(`write scope /w/repo/src overlaps /w/repo held by pod alpha (pid ${LIVE})`);
    await expect(registry.claim({ pod: "beta", pid: LIVE, targets: ["/w/other", "/w"], delegatedBy: ROOT })).rejects.toThrow(
      `write scope /w overlaps /w/repo held by pod alpha (pid ${LIVE})`,
    );
    await expect(registry.claim({ pod: "beta", pid: LIVE, targets: ["/w/repo"] })).rejects.toMatchObject({
      code: "invalid_request",
      target: "/w/repo",
      heldTarget: "/w/repo",
      holder: { pod: "alpha", pid: LIVE },
    });

    expect(fs.readFileSync(registry.file, "utf8")).toBe(before);
    expect(registry.list().map((claim) => claim.pod)).toEqual(["alpha"]);
  });

  it("allows sibling dirs and names sharing a prefix, and writes the file 0600", async () => {
    await registry.claim({ pod: "alpha", pid: LIVE, targets: ["/w/b"], delegatedBy: ROOT });
    await registry.claim({ pod: "beta", pid: LIVE, targets: ["/w/bc"], delegatedBy: ROOT });
    await registry.claim({ pod: "gamma", pid: LIVE, targets: ["/w/c", "/x"] });

    expect(registry.list().map((claim) => [claim.pod, claim.targets])).toEqual([
      ["alpha", ["/w/b"]],
      ["beta", ["/w/bc"]],
      ["gamma", ["/w/c", "/x"]],
    ]);
    expect(registry.holder("/w/bc/file")?.pod).toBe("beta");
    expect(registry.holder("/w/b/file")?.pod).toBe("alpha");
    expect(registry.holder("/w")).toBeUndefined();
    expect(fs.statSync(registry.file).mode & 0o777).toBe(0o600);
    expect(path.basename(registry.file)).toBe(SCOPE_REGISTRY_FILE);
    const onDisk = JSON.parse(fs.readFileSync(registry.file, "utf8")) as { version: number; claims: ScopeClaim[] };
    expect(onDisk.version).toBe(1);
    expect(onDisk.claims[0]).toEqual({ pod: "alpha", pid: LIVE, targets: ["/w/b"], delegated_by: ROOT, carved_out: [] });
    expect(warnings).toEqual([]);
  });

  it("carves a nested delegation out of the delegator's claim and returns it on release", async () => {
    await registry.claim({ pod: "parent", pid: LIVE, targets: ["/w"], delegatedBy: ROOT });
    await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/sub"], delegatedBy: { pod: "parent", pid: LIVE } });
    await registry.claim({ pod: "grandchild", pid: LIVE, targets: ["/w/sub/x"], delegatedBy: { pod: "child", pid: LIVE } });

    let claims = byPod(registry.list());
    expect(claims.parent?.carved_out).toEqual(["/w/sub"]);
    expect(claims.child?.carved_out).toEqual(["/w/sub/x"]);
    expect(claims.grandchild?.carved_out).toEqual([]);
    expect(registry.holder("/w/file")?.pod).toBe("parent");
    expect(registry.holder("/w/sub/file")?.pod).toBe("child");
    expect(registry.holder("/w/sub/x/file")?.pod).toBe("grandchild");

    // Inside the parent's carve-out: judged against the child, which holds it.
    await expect(registry.claim({ pod: "other", pid: LIVE, targets: ["/w/sub/y"], delegatedBy: { pod: "parent", pid: LIVE } })).rejects.toThrow(
      `write scope /w/sub/y overlaps /w/sub held by pod child (pid ${LIVE})`,
    );
    // The delegator may not hand out what its own delegatee holds.
    await expect(registry.claim({ pod: "other", pid: LIVE, targets: ["/w/sub/x/deeper"], delegatedBy: { pod: "child", pid: LIVE } })).rejects.toThrow(
      `write scope /w/sub/x/deeper overlaps /w/sub/x held by pod grandchild (pid ${LIVE})`,
    );
    // Wider than the delegator's claim: a conflict (here first with the child, which holds /w/sub).
    await expect(registry.claim({ pod: "other", pid: LIVE, targets: ["/w/sub/x/.."], delegatedBy: { pod: "grandchild", pid: LIVE } })).rejects.toThrow(
      "is not a canonical absolute path",
    );
    await expect(registry.claim({ pod: "other", pid: LIVE, targets: ["/w/sub/x", "/w/sub"], delegatedBy: { pod: "grandchild", pid: LIVE } })).rejects.toThrow(
      `write scope /w/sub overlaps /w/sub held by pod child (pid ${LIVE})`,
    );
    await registry.claim({ pod: "sibling", pid: LIVE, targets: ["/w/other"], delegatedBy: { pod: "parent", pid: LIVE } });
    expect(byPod(registry.list()).parent?.carved_out).toEqual(["/w/other", "/w/sub"]);

    expect(await registry.release("grandchild")).toBe(true);
    expect(byPod(registry.list()).child?.carved_out).toEqual([]);
    expect(registry.holder("/w/sub/x/file")?.pod).toBe("child");

    expect(await registry.release("child")).toBe(true);
    expect(await registry.release("child")).toBe(false);
    claims = byPod(registry.list());
    expect(Object.keys(claims)).toEqual(["parent", "sibling"]);
    expect(claims.parent?.carved_out).toEqual(["/w/other"]);
    expect(registry.holder("/w/sub/file")?.pod).toBe("parent");
    expect(warnings).toEqual([]);
  });

  it("keeps what a delegatee still holds carved out of the delegator's delegator when the middle pod releases", async () => {
    await registry.claim({ pod: "parent", pid: LIVE, targets: ["/w"], delegatedBy: ROOT });
    await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/sub"], delegatedBy: { pod: "parent", pid: LIVE } });
    await registry.claim({ pod: "grandchild", pid: LIVE, targets: ["/w/sub/x"], delegatedBy: { pod: "child", pid: LIVE } });
    await registry.release("child");

    expect(byPod(registry.list()).parent?.carved_out).toEqual(["/w/sub/x"]);
    expect(registry.holder("/w/sub/x/file")?.pod).toBe("grandchild");
    expect(registry.holder("/w/sub/file")?.pod).toBe("parent");
    await expect(registry.claim({ pod: "child", pid: LIVE, targets: ["/w/sub"], delegatedBy: { pod: "parent", pid: LIVE } })).rejects.toThrow(
      `write scope /w/sub overlaps /w/sub/x held by pod grandchild (pid ${LIVE})`,
    );
  });

  it("lets a pod delegate its whole claim: the delegatee holds it", async () => {
    await registry.claim({ pod: "parent", pid: LIVE, targets: ["/w/x"], delegatedBy: ROOT });
    await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/x"], delegatedBy: { pod: "parent", pid: LIVE } });

    const claims = byPod(registry.list());
    expect(claims.parent?.carved_out).toEqual(["/w/x"]);
    expect(claims.child?.carved_out).toEqual([]);
    expect(registry.holder("/w/x/file")?.pod).toBe("child");
    await expect(registry.claim({ pod: "other", pid: LIVE, targets: ["/w/x/y"], delegatedBy: { pod: "parent", pid: LIVE } })).rejects.toThrow(
      `write scope /w/x/y overlaps /w/x held by pod child (pid ${LIVE})`,
    );
  });

  it("reclaims the claim of a dead process, returning its carve-out to its delegator", async () => {
    const idle = await startIdleProcess();
    await registry.claim({ pod: "parent", pid: LIVE, targets: ["/w"], delegatedBy: ROOT });
    await registry.claim({ pod: "child", pid: idle.pid, targets: ["/w/sub"], delegatedBy: { pod: "parent", pid: LIVE } });
    expect(byPod(registry.list()).parent?.carved_out).toEqual(["/w/sub"]);

    await kill(idle);
    expect(registry.list().map((claim) => [claim.pod, claim.carved_out])).toEqual([["parent", []]]);
    expect(registry.holder("/w/sub/file")?.pod).toBe("parent");

    await registry.claim({ pod: "replacement", pid: LIVE, targets: ["/w/sub/deeper"], delegatedBy: { pod: "parent", pid: LIVE } });
    const onDisk = JSON.parse(fs.readFileSync(registry.file, "utf8")) as { claims: ScopeClaim[] };
    expect(onDisk.claims.map((claim) => [claim.pod, claim.carved_out])).toEqual([
      ["parent", ["/w/sub/deeper"]],
      ["replacement", []],
    ]);
  });

  it("claims with the delegator's pid before the spawn and hands the claim to the child's pid after it", async () => {
    await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/sub"], delegatedBy: ROOT });
    const idle = await startIdleProcess();
    const claim = await registry.setPid("child", idle.pid);
    expect(claim).toMatchObject({ pod: "child", pid: idle.pid, targets: ["/w/sub"] });
    expect(registry.holder("/w/sub")?.pid).toBe(idle.pid);

    await kill(idle);
    expect(registry.list()).toEqual([]);
    await expect(registry.setPid("child", LIVE)).rejects.toThrow("pod child holds no write scope claim");
  });

  it("refuses a second claim for a live pod, self-delegation, non-canonical targets and bad pids", async () => {
    await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/a"], delegatedBy: ROOT });
    await expect(registry.claim({ pod: "child", pid: LIVE, targets: ["/w/b"], delegatedBy: ROOT })).rejects.toThrow(
      `pod child already holds write scope /w/a (pid ${LIVE}); release it first`,
    );
    await expect(registry.claim({ pod: "self", pid: LIVE, targets: ["/w/c"], delegatedBy: { pod: "self", pid: LIVE } })).rejects.toThrow(PoddError);
    for (const target of ["relative/dir", "/w/c/", "/w/c/../d", "/w/./c"]) {
      await expect(registry.claim({ pod: "bad", pid: LIVE, targets: [target] })).rejects.toThrow("is not a canonical absolute path");
    }
    await expect(registry.claim({ pod: "bad", pid: LIVE, targets: [] })).rejects.toThrow("at least one target");
    await expect(registry.claim({ pod: "bad", pid: 0, targets: ["/w/c"] })).rejects.toThrow("not a pod and pid");
    await expect(registry.setPid("child", 1.5)).rejects.toThrow("not a pod and pid");
    expect(registry.list().map((claim) => claim.pod)).toEqual(["child"]);
  });

  it("drops duplicate and nested targets within one claim", async () => {
    const claim = await registry.claim({ pod: "child", pid: LIVE, targets: ["/w/a/b", "/w/a", "/w/a", "/w/c"], delegatedBy: ROOT });
    expect(claim.targets).toEqual(["/w/a", "/w/c"]);
  });

  it("lets exactly one of several processes win overlapping claims made at once", async () => {
    const script = path.join(runtime, "claim.mjs");
    fs.writeFileSync(
      script,
      [
        "const [moduleUrl, runtime, pod, target, ownerPid] = process.argv.slice(2);",
        "const { ScopeRegistry } = await import(moduleUrl);",
        "const registry = new ScopeRegistry(runtime);",
        "process.stdout.write('ready\\n');",
        "await new Promise((resolve) => process.stdin.once('data', resolve));",
        "try {",
        "  await registry.claim({ pod, pid: Number(ownerPid), targets: [target], delegatedBy: { pod: 'root', pid: Number(ownerPid) } });",
        "  process.stdout.write('won\\n');",
        "} catch (error) {",
        "  process.stdout.write(`lost ${error.name}: ${error.message}\\n`);",
        "}",
        "process.exit(0);",
      ].join("\n"),
    );
    const moduleUrl = pathToFileURL(path.join(REPO_ROOT, "src", "spawn", "scope-registry.ts")).href;
    const targets = ["/w", "/w/repo", "/w/repo/src", "/w/repo/src/x"];
    const contenders = targets.map((target, index) => {
      const child = spawn(process.execPath, ["--import", "tsx", script, moduleUrl, runtime, `pod-${index}`, target, String(LIVE)], {
        cwd: REPO_ROOT,
        stdio: ["pipe", "pipe", "inherit"],
      });
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      const output: string[] = [];
      const ready = new Promise<void>((resolve) => lines.on("line", (line) => (line === "ready" ? resolve() : output.push(line))));
      return { child, output, ready, exited: once(child, "exit") };
    });
    await Promise.all(contenders.map((contender) => contender.ready));
    for (const contender of contenders) contender.child.stdin!.end("go\n");
    await Promise.all(contenders.map((contender) => contender.exited));

    const results = contenders.map((contender) => contender.output.join("\n"));
    expect(results.filter((result) => result === "won")).toHaveLength(1);
    expect(results.filter((result) => result.startsWith("lost ScopeConflictError: write scope /w"))).toHaveLength(targets.length - 1);
    const winner = `pod-${results.indexOf("won")}`;
    expect(registry.list().map((claim) => claim.pod)).toEqual([winner]);
    expect(fs.existsSync(`${registry.file}.lock`)).toBe(false);
  });

  it("serialises concurrent claims within one process too", async () => {
    const other = new ScopeRegistry(runtime);
    const results = await Promise.allSettled([
      registry.claim({ pod: "alpha", pid: LIVE, targets: ["/w/repo"], delegatedBy: ROOT }),
      other.claim({ pod: "beta", pid: LIVE, targets: ["/w/repo/src"], delegatedBy: ROOT }),
      registry.claim({ pod: "gamma", pid: LIVE, targets: ["/w/elsewhere"], delegatedBy: ROOT }),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(registry.list().map((claim) => claim.pod)).toContain("gamma");
    expect(registry.list()).toHaveLength(2);
  });

  it("takes over a lock left by a crashed holder", async () => {
    fs.mkdirSync(`${registry.file}.lock`);
    const longAgo = new Date(Date.now() - 60_000);
    fs.utimesSync(`${registry.file}.lock`, longAgo, longAgo);

    await registry.claim({ pod: "alpha", pid: LIVE, targets: ["/w/repo"], delegatedBy: ROOT });
    expect(registry.list().map((claim) => claim.pod)).toEqual(["alpha"]);
    expect(fs.existsSync(`${registry.file}.lock`)).toBe(false);
  });

  it("treats a corrupted registry file as empty, reports it, and replaces it on the next change", async () => {
    fs.writeFileSync(registry.file, '{"version": 1, "claims": [{"pod": "alp');
    expect(registry.list()).toEqual([]);
    expect(registry.holder("/w/repo")).toBeUndefined();
    expect(warnings.at(-1)).toMatch(/scope-allocations\.json is not JSON .*; treating it as empty/);

    await registry.claim({ pod: "alpha", pid: LIVE, targets: ["/w/repo"], delegatedBy: ROOT });
    expect(registry.list().map((claim) => claim.pod)).toEqual(["alpha"]);

    warnings = [];
    fs.writeFileSync(registry.file, JSON.stringify({ version: 1, claims: [{ pod: 7, targets: "/w" }] }));
    expect(registry.list()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is not a valid registry \(.*\); treating it as empty/);
  });

  it("lists nothing when there is no registry file yet", () => {
    expect(registry.list()).toEqual([]);
    expect(fs.existsSync(registry.file)).toBe(false);
    expect(warnings).toEqual([]);
  });
});
