/**
 * Pod trees: which pod is whose child, from the pods' status files alone (pure: no file or
 * socket access). A child pod's `status.json` records `parent_socket` (the `--parent` it was
 * started with); its parent is the running pod whose `socket` is that path. Used by
 * `podd ls --tree` and `podd stop --tree`. It does not find pods (src/client/pod-directory.ts
 * does) and never talks to one.
 */
import path from "node:path";
import type { PodListing } from "./pod-directory.js";

/**
 * Why a pod that names a parent is nevertheless a root of the forest:
 * - `parent_not_running`: no running pod listens on `parent_socket` (it stopped, was killed and
 *   left a dead runtime dir, or lives in another runtime dir);
 * - `parent_cycle`: following parents leads back to this pod (a status file naming its own
 *   socket, or pods naming each other); the cycle is cut at this pod.
 */
export type DetachedReason = "parent_not_running" | "parent_cycle";

export interface PodTreeNode {
  listing: PodListing;
  /** Children sorted by name (the order of the listings given). */
  children: PodTreeNode[];
  /** Set on a root whose status file names a parent it could not be attached to. */
  detached?: { reason: DetachedReason; parentSocket: string };
}

/** The parent socket a pod names: its status.json's `parent_socket`, or a stopped pod's metadata's. */
function namedParentSocket(listing: PodListing): string | undefined {
  return listing.status?.parent_socket ?? listing.stopped?.metadata?.parent_socket;
}

/** A pod's parent socket, made absolute against its cwd (`--parent` may have been relative). */
function parentSocketOf(listing: PodListing): string | undefined {
  const parent = namedParentSocket(listing);
  if (!parent) return undefined;
  return path.resolve(listing.status?.cwd ?? listing.stopped?.metadata?.cwd ?? "/", parent);
}

/** The socket a pod listens on (a stopped pod: the one it would listen on again). */
function socketOf(listing: PodListing): string | undefined {
  return listing.status?.socket ?? listing.stopped?.socket;
}

/**
 * Arrange pods as a forest. A pod is placed under the **alive** pod whose `socket` equals its
 * `parent_socket` (a dead pod's socket is not served, so it adopts no one; a dead pod is still
 * placed under its live parent). With `adoptByNotRunning` (`podd ls --tree --all`), a pod whose
 * parent is not alive is placed under that parent's dead or stopped listing instead, so a stopped
 * tree shows as a tree; a stopped pod names its parent in its metadata.json. Every other pod is a root; a root that names a parent gets
 * `detached`. Every listing appears exactly once, whatever the status files say: a cycle
 * (including a pod naming itself) is cut at the first of its pods in input order, which becomes
 * a root with `detached.reason = "parent_cycle"`. Roots and children keep the input order
 * (listPods sorts by name). O(n) plus the cycle checks, O(n · depth).
 */
export function buildPodTree(listings: readonly PodListing[], options: { adoptByNotRunning?: boolean } = {}): PodTreeNode[] {
  const bySocket = new Map<string, PodListing>();
  const adopters = options.adoptByNotRunning ? [...listings.filter((listing) => listing.state === "alive"), ...listings.filter((listing) => listing.state !== "alive")] : listings.filter((listing) => listing.state === "alive");
  for (const listing of adopters) {
    const socket = socketOf(listing);
    if (socket !== undefined && !bySocket.has(path.resolve(socket))) bySocket.set(path.resolve(socket), listing);
  }
  const parentOf = new Map<PodListing, PodListing>();
  for (const listing of listings) {
    const socket = parentSocketOf(listing);
    const parent = socket === undefined ? undefined : bySocket.get(socket);
    if (parent) parentOf.set(listing, parent);
  }
  // Cut cycles: walk up from each pod; reaching a pod already on this walk means a cycle.
  const cut = new Set<PodListing>();
  const settled = new Set<PodListing>();
  for (const listing of listings) {
    const walk: PodListing[] = [];
    const onWalk = new Set<PodListing>();
    let current: PodListing | undefined = listing;
    while (current !== undefined && !settled.has(current) && !onWalk.has(current)) {
      walk.push(current);
      onWalk.add(current);
      current = parentOf.get(current);
    }
    if (current !== undefined && onWalk.has(current)) {
      // The cycle is walk[index of current …]; cut it at its first pod in input order.
      const cycle = walk.slice(walk.indexOf(current));
      const first = listings.find((candidate) => cycle.includes(candidate));
      if (first) {
        parentOf.delete(first);
        cut.add(first);
      }
    }
    for (const visited of walk) settled.add(visited);
  }
  const nodes = new Map<PodListing, PodTreeNode>(listings.map((listing) => [listing, { listing, children: [] }]));
  const roots: PodTreeNode[] = [];
  for (const listing of listings) {
    const node = nodes.get(listing) as PodTreeNode;
    const parent = parentOf.get(listing);
    if (parent) {
      nodes.get(parent)?.children.push(node);
      continue;
    }
    const parentSocket = namedParentSocket(listing);
    if (parentSocket) node.detached = { reason: cut.has(listing) ? "parent_cycle" : "parent_not_running", parentSocket };
    roots.push(node);
  }
  return roots;
}

/** One row of a flattened forest. */
export interface PodTreeRow {
  node: PodTreeNode;
  /** 0 for a root. */
  depth: number;
  /** Whether this node is the last of its siblings (roots: the last root). */
  isLastChild: boolean;
  /** `isLastChild` of each ancestor from depth 1 to depth − 1 (for drawing the tree's guide lines). */
  ancestorsLast: boolean[];
}

/** Every node of a forest, depth first, each parent before its children: the `podd ls --tree` order. */
export function flattenPodTree(roots: readonly PodTreeNode[]): PodTreeRow[] {
  const rows: PodTreeRow[] = [];
  const visit = (node: PodTreeNode, depth: number, isLastChild: boolean, ancestorsLast: boolean[]): void => {
    rows.push({ node, depth, isLastChild, ancestorsLast });
    const childAncestorsLast = depth === 0 ? [] : [...ancestorsLast, isLastChild];
    node.children.forEach((child, index) => visit(child, depth + 1, index === node.children.length - 1, childAncestorsLast));
  };
  roots.forEach((root, index) => visit(root, 0, index === roots.length - 1, []));
  return rows;
}

/**
 * The pods of the subtree at `root`, grouped by depth, deepest first and `root` last:
 * `[[grandchildren…], [children…], [root]]`. The `podd stop --tree` order: every pod is stopped
 * before its parent, so its `shut_down` report reaches a parent that is still running.
 */
export function podTreeLevelsDeepestFirst(root: PodTreeNode): PodListing[][] {
  const levels: PodListing[][] = [];
  let level: PodTreeNode[] = [root];
  while (level.length > 0) {
    levels.push(level.map((node) => node.listing));
    level = level.flatMap((node) => node.children);
  }
  return levels.reverse();
}

/** The node of the pod named `name`, or listening on socket `name` (a path), anywhere in the forest. */
export function findPodTreeNode(roots: readonly PodTreeNode[], name: string): PodTreeNode | undefined {
  for (const { node } of flattenPodTree(roots)) {
    if (node.listing.name === name) return node;
    if (name.includes("/") && node.listing.status?.socket !== undefined && path.resolve(node.listing.status.socket) === path.resolve(name)) return node;
  }
  return undefined;
}
