/**
 * Path scope, first cut: a list of rules `{target, permission, recursive}` and the check
 * every file tool runs before it touches the disk. Paths are canonicalised with realpath
 * (for a path that does not exist yet, its nearest existing ancestor), so `..` and symlinks
 * that lead outside the scope are refused. Deny lists and per-tool permission rules come
 * with the builtin-tools issue.
 */
import fs from "node:fs";
import path from "node:path";
import type { Permission, ScopeRule } from "../../protocol/index.js";
import { ToolFailure } from "./define-tool.js";

export class Scope {
  readonly rules: readonly ScopeRule[];

  constructor(rules: readonly ScopeRule[]) {
    this.rules = rules.map((rule) => ({ ...rule, target: canonicalPath(rule.target) }));
  }

  /** The default scope: read and write on `cwd`, recursively. */
  static forCwd(cwd: string): Scope {
    return new Scope([{ target: cwd, permission: "write", recursive: true }]);
  }

  /** Highest permission a canonical path has, or undefined. */
  permissionFor(canonical: string): Permission | undefined {
    let best: Permission | undefined;
    for (const rule of this.rules) {
      const covers = rule.recursive
        ? canonical === rule.target || canonical.startsWith(rule.target.endsWith(path.sep) ? rule.target : rule.target + path.sep)
        : canonical === rule.target || path.dirname(canonical) === rule.target;
      if (!covers) continue;
      if (rule.permission === "write") return "write";
      best = "read";
    }
    return best;
  }

  /**
   * Resolve `requested` against `cwd`, canonicalise it, and check it has `needed`.
   * Returns the canonical absolute path. Throws ToolFailure(`permission denied: …`).
   */
  check(cwd: string, requested: string, needed: Permission): string {
    const canonical = canonicalPath(path.resolve(cwd, requested));
    const has = this.permissionFor(canonical);
    if (has === "write" || (has === "read" && needed === "read")) return canonical;
    throw new ToolFailure(`permission denied: ${needed} access to ${requested} is outside this pod's scope (${this.summary()})`);
  }

  /** Human-readable summary, e.g. `write /repo`. */
  summary(): string {
    if (this.rules.length === 0) return "(no access)";
    return this.rules.map((rule) => `${rule.permission} ${rule.target}${rule.recursive ? "" : " (non-recursive)"}`).join(", ");
  }
}

/** realpath of the path, or of its nearest existing ancestor with the rest appended. */
export function canonicalPath(absolute: string): string {
  const missing: string[] = [];
  let current = path.resolve(absolute);
  for (;;) {
    try {
      const real = fs.realpathSync.native(current);
      return missing.length === 0 ? real : path.join(real, ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(absolute);
      missing.push(path.basename(current));
      current = parent;
    }
  }
}
