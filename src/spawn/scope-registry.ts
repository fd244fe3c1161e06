/**
 * The machine-wide write-scope allocation registry: which live pod holds which *delegated*
 * write scope, so that two live pods never hold overlapping delegated write scope. It owns the
 * file `<runtime>/scope-allocations.json` (mode 0600) and its rules; it does not launch pods,
 * check tool calls (that is src/tools/scope.ts) or canonicalise paths (callers pass canonical
 * absolute paths, e.g. from `canonicalPath`).
 *
 * podd's decisions:
 * - **Only delegated write scope is claimed.** A root pod started by a user has no claim (two
 *   user-started pods in one directory are the user's choice). A pod that spawns a child with
 *   write scope claims it for the child: `claim({pod: child, pid, targets, delegatedBy: parent})`.
 * - **One claim per pod name, owned by a pid.** The child's pid is known only after the spawn,
 *   so the parent claims with its own pid as a placeholder owner, spawns, then `setPid(child,
 *   childPid)`; if the spawn fails it calls `release(child)`. A claim lives as long as its
 *   owner pid does. Claims are found by pod name (pod names are unique among live pods).
 * - **No overlap.** Two paths overlap when they are equal or one is inside the other, compared
 *   by path segments (`/a/b` does not contain `/a/bc`). A new claim's target may not overlap a
 *   target of another pod's live claim, except:
 *   - **nested delegation**: a target inside a claim of the delegating pod is taken out of that
 *     claim and listed in its `carved_out` (a child hands a subdir of its own claim to a
 *     grandchild; handing over the whole claim is allowed too);
 *   - a target inside another pod's carve-out is not that pod's any more: it is judged against
 *     the claim the carve-out belongs to (a conflict names that pod).
 *   A delegated claim whose delegator has no claim (a root parent) is fine.
 * - **`carved_out` is derived**: on every read it is recomputed as the outermost targets of the
 *   other live claims that lie inside the pod's own targets (for two equal targets, the later
 *   claim — the delegatee — is the one carved out). Claims only ever nest through delegation
 *   (anything else is a conflict), so in the usual case these are the targets the pod delegated.
 *   `release` and the reclaiming of a stale claim therefore return its scope to its delegator,
 *   except the parts its own delegatees still hold: those stay carved out of the delegator.
 * - **Stale claims are reclaimed** by pid liveness (`isProcessAlive`) on every
 *   read-modify-write, and left out of `list`/`holder`. `release(pod)` releases that pod's own
 *   claim only; descendants release their own (or are reclaimed when they exit).
 * - **Concurrency**: every change is a read-modify-write under a `proper-lockfile` lock
 *   (`<file>.lock`, a directory), written atomically with `write-file-atomic` (rename, no
 *   fsync: runtime state, meaningless after a reboot since every pid is dead). The lock is held
 *   only for the synchronous read-modify-write; a holder that crashed leaves a lock that is
 *   stale after `LOCK_STALE_MS` and is then taken over. Reads (`list`, `holder`) take no lock:
 *   the atomic rename means they always see a whole file.
 * - **A corrupted file** (not JSON, or not the schema) is treated as empty and reported through
 *   `onWarning`; the next change overwrites it.
 */
import fs from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { isProcessAlive } from "../client/pod-directory.js";
import { PoddError } from "../errors.js";

/** The registry's file name inside the runtime dir. */
export const SCOPE_REGISTRY_FILE = "scope-allocations.json";

/** A lock whose directory mtime is older than this is taken over (its holder crashed), ms. The holder refreshes it every half of this. */
export const LOCK_STALE_MS = 5_000;

/**
 * How long and how often to retry a held lock: exponential from 5 ms to 250 ms between
 * attempts, randomised, 60 retries — about 13–26 s in all, well past LOCK_STALE_MS.
 */
const LOCK_RETRIES = { retries: 60, factor: 1.5, minTimeout: 5, maxTimeout: 250, randomize: true };

export const PodRef = z.object({
  pod: z.string().min(1).describe("pod name"),
  pid: z.number().int().positive().describe("process id"),
});
export type PodRef = z.infer<typeof PodRef>;

export const ScopeClaim = z.object({
  pod: z.string().min(1).describe("the pod holding the delegated write scope"),
  pid: z.number().int().positive().describe("owner pid: the claim lives while it runs (the delegator's pid until setPid)"),
  targets: z.array(z.string()).min(1).describe("canonical absolute paths, each covered recursively"),
  delegated_by: PodRef.optional().describe("the pod that delegated the scope"),
  carved_out: z.array(z.string()).describe("outermost targets of other live claims inside this claim's targets (derived on every read)"),
});
export type ScopeClaim = z.infer<typeof ScopeClaim>;

const RegistryFile = z.object({ version: z.literal(1), claims: z.array(ScopeClaim) });
type RegistryFile = z.infer<typeof RegistryFile>;

export interface ClaimRequest {
  /** The pod that gets the write scope. */
  pod: string;
  /** Owner pid: the child's once known, else the delegator's as a placeholder (then `setPid`). */
  pid: number;
  /** Canonical absolute paths (no trailing slash, no `.`/`..`). Duplicates and targets inside another target are dropped. */
  targets: readonly string[];
  /** The pod delegating the scope (absent: no delegator, no carve-out). */
  delegatedBy?: PodRef;
}

export interface ScopeRegistryOptions {
  /** A problem that did not stop the operation (a corrupted file treated as empty, a lock lost or not removed). */
  onWarning?: (message: string) => void;
}

/** A claimed target overlaps one held by another live pod. Wire code `invalid_request`. */
export class ScopeConflictError extends PoddError {
  readonly target: string;
  readonly heldTarget: string;
  readonly holder: PodRef;
  constructor(target: string, heldTarget: string, holder: PodRef) {
    super("invalid_request", `write scope ${target} overlaps ${heldTarget} held by pod ${holder.pod} (pid ${holder.pid})`);
    this.name = "ScopeConflictError";
    this.target = target;
    this.heldTarget = heldTarget;
    this.holder = holder;
  }
}

/** Whether `inner` is `outer` or lies below it, by path segments (`/a/b` contains `/a/b/c`, not `/a/bc`). */
export function pathContains(outer: string, inner: string): boolean {
  if (inner === outer) return true;
  const prefix = outer.endsWith(path.sep) ? outer : outer + path.sep;
  return inner.startsWith(prefix);
}

/** Whether two paths are equal or one lies inside the other. */
export function pathsOverlap(a: string, b: string): boolean {
  return pathContains(a, b) || pathContains(b, a);
}

export class ScopeRegistry {
  readonly file: string;
  private readonly runtime: string;
  private readonly warn: (message: string) => void;

  /** `runtime`: the runtime dir (PODD_RUNTIME_DIR's rules, see config/paths.ts); created 0700 on the first change. */
  constructor(runtime: string, options: ScopeRegistryOptions = {}) {
    this.runtime = runtime;
    this.file = path.join(runtime, SCOPE_REGISTRY_FILE);
    this.warn = options.onWarning ?? (() => {});
  }

  /**
   * Record a delegated write claim. Returns the stored claim.
   * Throws ScopeConflictError when a target overlaps another live pod's claim (see the module
   * rules), PoddError(invalid_request) for a target that is not canonical absolute, a bad pod
   * name or pid, or when the pod already has a live claim (release it first); PoddError(internal)
   * when the registry stays locked (LOCK_RETRIES) or cannot be read or written.
   */
  async claim(request: ClaimRequest): Promise<ScopeClaim> {
    const targets = normaliseTargets(request.targets);
    assertPodRef(request.pod, request.pid);
    if (request.delegatedBy) assertPodRef(request.delegatedBy.pod, request.delegatedBy.pid);
    if (request.delegatedBy?.pod === request.pod) throw new PoddError("invalid_request", `pod ${request.pod} cannot delegate write scope to itself`);
    return this.update((claims) => {
      const existing = claims.find((claim) => claim.pod === request.pod);
      if (existing) {
        throw new PoddError(
          "invalid_request",
          `pod ${request.pod} already holds write scope ${existing.targets.join(", ")} (pid ${existing.pid}); release it first`,
        );
      }
      for (const target of targets) {
        const conflict = findConflict(claims, target, request.delegatedBy?.pod);
        if (conflict) throw new ScopeConflictError(target, conflict.heldTarget, { pod: conflict.claim.pod, pid: conflict.claim.pid });
      }
      const claim: ScopeClaim = { pod: request.pod, pid: request.pid, targets, carved_out: [] };
      if (request.delegatedBy) claim.delegated_by = { pod: request.delegatedBy.pod, pid: request.delegatedBy.pid };
      claims.push(claim);
      return claim;
    });
  }

  /** Hand the pod's claim to a new owner pid (the child's, once spawned). Throws PoddError(invalid_request) when the pod has no live claim. */
  async setPid(pod: string, pid: number): Promise<ScopeClaim> {
    assertPodRef(pod, pid);
    return this.update((claims) => {
      const claim = claims.find((candidate) => candidate.pod === pod);
      if (!claim) throw new PoddError("invalid_request", `pod ${pod} holds no write scope claim`);
      claim.pid = pid;
      return claim;
    });
  }

  /** Remove the pod's own claim (its scope returns to its delegator, minus what its delegatees still hold). Resolves to whether there was one. */
  async release(pod: string): Promise<boolean> {
    return this.update((claims) => {
      const index = claims.findIndex((claim) => claim.pod === pod);
      if (index >= 0) claims.splice(index, 1);
      return index >= 0;
    });
  }

  /** The live claims (no lock taken, nothing written). */
  list(): ScopeClaim[] {
    return withCarveOuts(this.read().claims.filter((claim) => isProcessAlive(claim.pid)));
  }

  /** The live claim whose write scope holds the canonical path `target` (inside one of its targets and none of its carve-outs). */
  holder(target: string): ScopeClaim | undefined {
    return this.list().find(
      (claim) => claim.targets.some((held) => pathContains(held, target)) && !claim.carved_out.some((region) => pathContains(region, target)),
    );
  }

  /**
   * Lock, read, drop stale claims, recompute carve-outs, apply `change` (which may mutate the
   * list and the claims in it; what it returns is the caller's, carve-outs recomputed), write
   * when the text changed, unlock. A throw from `change` writes nothing.
   */
  private async update<T>(change: (claims: ScopeClaim[]) => T): Promise<T> {
    fs.mkdirSync(this.runtime, { recursive: true, mode: 0o700 });
    let unlock: () => Promise<void>;
    try {
      unlock = await lockfile.lock(this.file, {
        realpath: false,
        stale: LOCK_STALE_MS,
        retries: LOCK_RETRIES,
        onCompromised: (error) => this.warn(`scope registry lock ${this.file}.lock was lost: ${error.message}`),
      });
    } catch (error) {
      const problem = (error as NodeJS.ErrnoException).code === "ELOCKED" ? "stayed locked by another process" : "could not be locked";
      throw new PoddError("internal", `scope registry ${this.file} ${problem}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const { claims, text } = this.read();
      const live = withCarveOuts(claims.filter((claim) => isProcessAlive(claim.pid)));
      const result = change(live);
      const next = serialise({ version: 1, claims: withCarveOuts(live) });
      if (next !== text) writeFileAtomic.sync(this.file, next, { mode: 0o600, fsync: false });
      return result;
    } finally {
      await unlock().catch((error: Error) => this.warn(`scope registry lock ${this.file}.lock was not removed: ${error.message}`));
    }
  }

  /** The file's claims (all, live or not) and its text; a missing file is empty, a corrupted one is empty with a warning. */
  private read(): { claims: ScopeClaim[]; text: string | undefined } {
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { claims: [], text: undefined };
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.warn(`scope registry ${this.file} is not JSON (${(error as Error).message}); treating it as empty`);
      return { claims: [], text };
    }
    const parsed = RegistryFile.safeParse(json);
    if (!parsed.success) {
      this.warn(`scope registry ${this.file} is not a valid registry (${z.prettifyError(parsed.error).replaceAll("\n", "; ")}); treating it as empty`);
      return { claims: [], text };
    }
    return { claims: parsed.data.claims, text };
  }
}

function serialise(registry: RegistryFile): string {
  return `${JSON.stringify(registry, null, 2)}\n`;
}

/** A pod name and a pid the file's schema accepts (a bad one would make the whole file unreadable). Throws PoddError(invalid_request). */
function assertPodRef(pod: string, pid: number): void {
  if (!PodRef.safeParse({ pod, pid }).success) throw new PoddError("invalid_request", `not a pod and pid: ${JSON.stringify({ pod, pid })}`);
}

/** Check each target is canonical absolute; drop duplicates and targets inside another. Throws PoddError(invalid_request). */
function normaliseTargets(targets: readonly string[]): string[] {
  if (targets.length === 0) throw new PoddError("invalid_request", "a write scope claim needs at least one target");
  for (const target of targets) {
    const isCanonical = path.isAbsolute(target) && path.normalize(target) === target && (target === path.sep || !target.endsWith(path.sep));
    if (!isCanonical) throw new PoddError("invalid_request", `write scope target ${JSON.stringify(target)} is not a canonical absolute path`);
  }
  const unique = [...new Set(targets)];
  return unique.filter((target) => !unique.some((other) => other !== target && pathContains(other, target)));
}

/** Every claim with `carved_out` recomputed: the outermost targets of the other claims inside its targets (an equal target counts when its claim is later). */
function withCarveOuts(claims: ScopeClaim[]): ScopeClaim[] {
  claims.forEach((claim, index) => {
    const inside = claims.flatMap((other, otherIndex) =>
      otherIndex === index ? [] : other.targets.filter((target) => claim.targets.some((held) => (held === target ? otherIndex > index : pathContains(held, target)))),
    );
    const unique = [...new Set(inside)];
    claim.carved_out = unique.filter((target) => !unique.some((other) => other !== target && pathContains(other, target))).sort();
  });
  return claims;
}

/**
 * The first live claim that `target` conflicts with: a held target overlapping it, unless the
 * target lies in one of that claim's carve-outs (judged against the carve-out's own claim), or
 * the claim is the delegator's and contains the target (nested delegation).
 */
function findConflict(claims: readonly ScopeClaim[], target: string, delegator: string | undefined): { claim: ScopeClaim; heldTarget: string } | undefined {
  for (const claim of claims) {
    if (claim.carved_out.some((region) => pathContains(region, target))) continue;
    for (const heldTarget of claim.targets) {
      if (!pathsOverlap(heldTarget, target)) continue;
      if (claim.pod === delegator && pathContains(heldTarget, target)) continue;
      return { claim, heldTarget };
    }
  }
  return undefined;
}
