/**
 * Path scope: allow and deny rules `{target, permission, recursive}` and the check every file
 * tool runs before it touches the disk (the reference's ScopedFs).
 *
 * Effective permission of a path = the highest permission of the allow rules that cover it,
 * capped by the deny rules that cover it: a matching deny(write) leaves at most read, a
 * matching deny(read) leaves nothing. A recursive rule covers its target and everything
 * below; a non-recursive rule covers its target and its direct children.
 *
 * Paths are canonicalised with realpath — for a path that does not exist yet, its nearest
 * existing ancestor's realpath with the rest appended — so `..` and symlinks that lead
 * outside the scope are judged by where they really lead.
 */
import fs from "node:fs";
import path from "node:path";
import type { Permission, ScopeRule } from "../../protocol/index.js";
import { ToolFailure } from "./define-tool.js";

export interface ScopeRules {
  allow: readonly ScopeRule[];
  deny?: readonly ScopeRule[];
}

export class Scope {
  readonly allow: readonly ScopeRule[];
  private readonly denyRules: ScopeRule[];
  /** Write access lent to child pods (canonical targets): read-only here until they give it back. */
  private readonly lent = new Map<string, number>();

  constructor(rules: ScopeRules | readonly ScopeRule[]) {
    const { allow, deny = [] } = Array.isArray(rules) ? { allow: rules as readonly ScopeRule[] } : (rules as ScopeRules);
    const canonical = (rule: ScopeRule): ScopeRule => ({ ...rule, target: canonicalPath(rule.target) });
    this.allow = allow.map(canonical);
    this.denyRules = deny.map(canonical);
  }

  /** The deny rules the scope was made with (without lent write access): what a child pod inherits. */
  get configuredDeny(): readonly ScopeRule[] {
    return this.denyRules;
  }

  /** Deny rules: the configured ones, then write access lent to children (`deny write <target>`). */
  get deny(): readonly ScopeRule[] {
    return [...this.denyRules, ...[...this.lent.keys()].map((target): ScopeRule => ({ target, permission: "write", recursive: true }))];
  }

  /**
   * Lend write access to `target` (canonical) to a child pod: this pod keeps read access only
   * until `takeBack`. Counted, so a target lent twice is returned after two take-backs.
   */
  lendWrite(target: string): void {
    this.lent.set(target, (this.lent.get(target) ?? 0) + 1);
  }

  /** Return write access lent with `lendWrite` (a no-op for a target that was not lent). */
  takeBack(target: string): void {
    const count = this.lent.get(target);
    if (count === undefined) return;
    if (count <= 1) this.lent.delete(target);
    else this.lent.set(target, count - 1);
  }

  /** The default scope: read and write on `cwd`, recursively. */
  static forCwd(cwd: string): Scope {
    return new Scope({ allow: [{ target: cwd, permission: "write", recursive: true }] });
  }

  /** Effective permission of a canonical path, or undefined for none. */
  permissionFor(canonical: string): Permission | undefined {
    let granted: Permission | undefined;
    for (const rule of this.allow) {
      if (!covers(rule, canonical)) continue;
      granted = rule.permission === "write" ? "write" : (granted ?? "read");
    }
    if (!granted) return undefined;
    for (const rule of this.deny) {
      if (!covers(rule, canonical)) continue;
      if (rule.permission === "read") return undefined;
      granted = "read";
    }
    return granted;
  }

  /**
   * Resolve `requested` against `cwd`, canonicalise it, and check it has `needed`.
   * Returns the canonical absolute path. Throws ToolFailure(`permission denied: …`).
   */
  check(cwd: string, requested: string, needed: Permission): string {
    const resolved = path.resolve(cwd, requested);
    const canonical = canonicalPath(resolved);
    const has = this.permissionFor(canonical);
    if (has === "write" || (has === "read" && needed === "read")) return canonical;
    const what = has === "read" ? "is read-only in" : "is outside";
    const leadsTo = canonical === resolved ? "" : ` (it resolves to ${canonical})`;
    throw new ToolFailure(`permission denied: ${needed} access to ${requested} ${what} this pod's scope (${this.summary()})${leadsTo}`);
  }

  /** Human-readable summary, e.g. `write /repo; deny write /repo/.git`. */
  summary(): string {
    const describe = (rule: ScopeRule): string => `${rule.permission} ${rule.target}${rule.recursive ? "" : " (non-recursive)"}`;
    const parts = this.allow.map(describe);
    if (parts.length === 0) parts.push("(no access)");
    for (const rule of this.deny) parts.push(`deny ${describe(rule)}`);
    return parts.join(", ");
  }
}

function covers(rule: ScopeRule, canonical: string): boolean {
  if (canonical === rule.target) return true;
  if (rule.recursive) return canonical.startsWith(rule.target.endsWith(path.sep) ? rule.target : rule.target + path.sep);
  return path.dirname(canonical) === rule.target;
}

/** Most symlinks followed while canonicalising one path (a loop ends the walk). */
const MAX_SYMLINK_HOPS = 40;

/**
 * realpath of the path; for a path that does not exist, the realpath of its nearest existing
 * ancestor with the rest appended — and a dangling symlink on the way is followed to where it
 * points (so `link -> /outside/new.txt` is judged as /outside/new.txt, not as the link).
 */
export function canonicalPath(absolute: string, hops = 0): string {
  const missing: string[] = [];
  let current = path.resolve(absolute);
  for (;;) {
    try {
      const real = fs.realpathSync.native(current);
      return missing.length === 0 ? real : path.join(real, ...missing.reverse());
    } catch {
      const target = danglingLinkTarget(current);
      if (target !== undefined && hops < MAX_SYMLINK_HOPS) {
        return canonicalPath(path.join(path.resolve(path.dirname(current), target), ...missing.reverse()), hops + 1);
      }
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(absolute);
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** The target of `file` when it is a symlink (realpath failed on it, so its target is missing or loops). */
function danglingLinkTarget(file: string): string | undefined {
  try {
    return fs.lstatSync(file).isSymbolicLink() ? fs.readlinkSync(file) : undefined;
  } catch {
    return undefined;
  }
}
