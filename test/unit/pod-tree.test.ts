/** buildPodTree and friends (src/client/pod-tree.ts): pure, on hand-made listings. */
import { describe, expect, it } from "vitest";
import type { PodListing } from "../../src/client/pod-directory.js";
import { buildPodTree, findPodTreeNode, flattenPodTree, podTreeLevelsDeepestFirst, type PodTreeNode } from "../../src/client/pod-tree.js";

const RUN = "/run/podd";

function pod(name: string, parent?: string, state: PodListing["state"] = "alive"): PodListing {
  return {
    name,
    state,
    status: {
      pod_name: name,
      pid: 1000 + name.length,
      status: "idle",
      socket: `${RUN}/${name}/sock`,
      cwd: "/work",
      provider: "scripted",
      model: "scripted",
      session_id: "s",
      segment_id: "g",
      parent_socket: parent === undefined ? undefined : parent.startsWith("/") || parent.startsWith(".") ? parent : `${RUN}/${parent}/sock`,
      started_at_ms: 0,
      updated_at_ms: 0,
    },
  };
}

/** A forest as nested names, with a root's detached reason: `["a", [["b", []]]]`. */
type Shape = [string, Shape[]] | [string, Shape[], string];
function shape(node: PodTreeNode): Shape {
  const children = node.children.map(shape);
  return node.detached ? [node.listing.name, children, node.detached.reason] : [node.listing.name, children];
}

describe("buildPodTree", () => {
  it("nests children under the pod listening on their parent_socket, keeping the input order", () => {
    const roots = buildPodTree([pod("a", "root"), pod("b", "root"), pod("g", "a"), pod("other"), pod("root")]);
    expect(roots.map(shape)).toEqual([
      ["other", []],
      ["root", [["a", [["g", []]]], ["b", []]]],
    ]);
  });

  it("makes a pod whose parent is not running a detached root; a dead pod adopts no one but sits under its live parent", () => {
    const roots = buildPodTree([pod("gone", "root", "dead"), pod("orphan", "/elsewhere/sock"), pod("root"), pod("under-dead", "gone")]);
    expect(roots.map(shape)).toEqual([
      ["orphan", [], "parent_not_running"],
      ["root", [["gone", []]]],
      ["under-dead", [], "parent_not_running"],
    ]);
    expect(roots[0]?.detached).toEqual({ reason: "parent_not_running", parentSocket: "/elsewhere/sock" });
  });

  it("resolves a relative parent_socket against the pod's cwd", () => {
    const child = pod("child", "../run/podd/root/sock");
    expect(buildPodTree([child, pod("root")]).map(shape)).toEqual([["root", [["child", []]]]]);
  });

  it("terminates on a pod naming itself as its parent, listing it once as a root", () => {
    const roots = buildPodTree([pod("self", "self"), pod("kid", "self")]);
    expect(roots.map(shape)).toEqual([["self", [["kid", []]], "parent_cycle"]]);
    expect(flattenPodTree(roots).map((row) => row.node.listing.name)).toEqual(["self", "kid"]);
  });

  it("cuts a longer cycle at its first pod and keeps every pod exactly once", () => {
    const roots = buildPodTree([pod("x", "c"), pod("c", "b"), pod("b", "a"), pod("a", "c")]);
    expect(roots.map(shape)).toEqual([["c", [["x", []], ["a", [["b", []]]]], "parent_cycle"]]);
    expect(flattenPodTree(roots).length).toBe(4);
  });

  it("lists a pod without a status file as a root", () => {
    expect(buildPodTree([{ name: "bare", state: "dead" }]).map(shape)).toEqual([["bare", []]]);
  });
});

describe("flattenPodTree, podTreeLevelsDeepestFirst, findPodTreeNode", () => {
  const roots = buildPodTree([pod("a", "root"), pod("b", "root"), pod("g", "a"), pod("h", "b"), pod("root")]);

  it("flattens depth first with depth and guide-line flags", () => {
    expect(flattenPodTree(roots).map(({ node, depth, isLastChild, ancestorsLast }) => [node.listing.name, depth, isLastChild, ancestorsLast])).toEqual([
      ["root", 0, true, []],
      ["a", 1, false, []],
      ["g", 2, true, [false]],
      ["b", 1, true, []],
      ["h", 2, true, [true]],
    ]);
  });

  it("groups a subtree by level, deepest first, the root last", () => {
    const root = findPodTreeNode(roots, "root");
    expect(root && podTreeLevelsDeepestFirst(root).map((level) => level.map((listing) => listing.name))).toEqual([["g", "h"], ["a", "b"], ["root"]]);
    const a = findPodTreeNode(roots, `${RUN}/a/sock`);
    expect(a && podTreeLevelsDeepestFirst(a).map((level) => level.map((listing) => listing.name))).toEqual([["g"], ["a"]]);
    expect(findPodTreeNode(roots, "nope")).toBeUndefined();
  });
});
