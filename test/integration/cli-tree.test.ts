/**
 * Pod trees in the CLI with real pod processes: a root, two children and a grandchild (each
 * started with `--parent <its parent's socket>`, scripted model, idle), then the real `podd`
 * for `ls --tree` (text and --json), `stop --tree` (every pid gone) and `cancel --tree` (the
 * `cascade` flag reaches the pod, which still cancels its own run). Waits are on events or
 * bounded pid polls.
 */
import { afterAll, describe, it } from "vitest";
import { script } from "../../src/model/scripted/script-builder.js";
import { expectExit, isAlive, killCliProcesses, spawnCli, waitForPidExit, runCliIn } from "../helpers/cli-run.js";
import { cleanupAll, connectClient, FakeParent, startPod, tempHome, type PodProcess } from "../helpers/pod-process.js";

afterAll(async () => {
  await killCliProcesses();
  await cleanupAll();
});

type Home = ReturnType<typeof tempHome>;

const podd = runCliIn;

/** root ─ {alpha ─ {grand}, beta}, all in one home. */
async function startTree(home: Home): Promise<Record<"root" | "alpha" | "beta" | "grand", PodProcess>> {
  const root = await startPod({ home, name: "root" });
  const [alpha, beta] = await Promise.all([
    startPod({ home, name: "alpha", parentSocket: root.socket }),
    startPod({ home, name: "beta", parentSocket: root.socket }),
  ]);
  const grand = await startPod({ home, name: "grand", parentSocket: alpha.socket });
  return { root, alpha, beta, grand };
}

interface TreeJson {
  name: string;
  state: string;
  pid: number;
  socket: string;
  parent_socket?: string;
  children: TreeJson[];
  detached?: { reason: string; parent_socket: string };
}

function shape(node: TreeJson): unknown {
  return { name: node.name, children: node.children.map(shape), ...(node.detached ? { detached: node.detached.reason } : {}) };
}

describe.concurrent("podd ls --tree, stop --tree, cancel --tree", () => {
  it("ls --tree indents children under their parent and shows a pod whose parent is not running at the top level", async ({ expect }) => {
    const home = tempHome();
    const pods = await startTree(home);
    const gone = await FakeParent.listen(home.home);
    const orphan = await startPod({ home, name: "orphan", parentSocket: gone.socket });

    const ls = await podd(home, ["ls", "--tree"]);
    expectExit(ls, 0, ["ls", "--tree"]);
    const rows = ls.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME\s+STATUS\s+PID\s+AGE\s+MODEL\s+SOCKET$/);
    const names = rows.slice(1).map((row) => /^(\S.*?\S|\S)\s{2,}/.exec(row)?.[1]);
    expect(names).toEqual(["orphan", "root", "├─ alpha", "│  └─ grand", "└─ beta"]);
    for (const [name, pod] of Object.entries(pods)) expect(ls.stdout).toMatch(new RegExp(`${name}\\s+idle\\s+${pod.pid}\\s`));
    expect(rows[1]).toContain(`${orphan.socket}  (parent ${gone.socket} not running)`);
    expect(rows.slice(2).join("\n")).not.toContain("not running");

    const json = await podd(home, ["ls", "--tree", "--json"]);
    expectExit(json, 0, ["ls", "--tree", "--json"]);
    const roots = JSON.parse(json.stdout) as TreeJson[];
    expect(roots.map(shape)).toEqual([
      { name: "orphan", children: [], detached: "parent_not_running" },
      {
        name: "root",
        children: [
          { name: "alpha", children: [{ name: "grand", children: [] }] },
          { name: "beta", children: [] },
        ],
      },
    ]);
    expect(roots[0]?.detached).toEqual({ reason: "parent_not_running", parent_socket: gone.socket });
    const [rootJson] = roots.slice(1);
    expect(rootJson).toMatchObject({ state: "alive", pid: pods.root.pid, socket: pods.root.socket });
    expect(rootJson?.children[0]).toMatchObject({ pid: pods.alpha.pid, parent_socket: pods.root.socket });

    // Plain ls and ls --json are as before (flat, by name).
    const flat = await podd(home, ["ls", "--json"]);
    expectExit(flat, 0, ["ls", "--json"]);
    expect((JSON.parse(flat.stdout) as { name: string }[]).map((pod) => pod.name)).toEqual(["alpha", "beta", "grand", "orphan", "root"]);
  });

  it("stop --tree stops the pod and every descendant, deepest first, and leaves other pods running", async ({ expect }) => {
    const home = tempHome();
    const pods = await startTree(home);
    const bystander = await startPod({ home, name: "bystander" });

    const stop = await podd(home, ["stop", "root", "--tree"], { timeoutMs: 30_000 });
    expectExit(stop, 0, ["stop", "root", "--tree"]);
    const lines = stop.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("pod grand stopped");
    expect(lines.slice(1, 3).sort()).toEqual(["pod alpha stopped", "pod beta stopped"]);
    expect(lines[3]).toBe("pod root stopped");
    expect(lines).toHaveLength(4);
    for (const pod of Object.values(pods)) {
      expect(await waitForPidExit(pod.pid, { timeoutMs: 1_000 }), `${pod.name} (pid ${pod.pid})`).toBe(true);
      expect((await pod.exited).code, pod.name).toBe(0);
    }
    expect(isAlive(bystander.pid)).toBe(true);

    const ls = await podd(home, ["ls", "--tree"]);
    expectExit(ls, 0, ["ls", "--tree"]);
    expect(ls.stdout).toMatch(/^bystander\s+idle\s/m);
    expect(ls.stdout).not.toMatch(/root|alpha|beta|grand/);
  });

  it("stop --tree of a middle pod stops only its subtree; stop --tree of an unknown pod exits 1", async ({ expect }) => {
    const home = tempHome();
    const pods = await startTree(home);
    const stop = await podd(home, ["stop", "alpha", "--tree"]);
    expectExit(stop, 0, ["stop", "alpha", "--tree"]);
    expect(stop.stdout).toBe("pod grand stopped\npod alpha stopped\n");
    expect(isAlive(pods.alpha.pid) || isAlive(pods.grand.pid)).toBe(false);
    expect(isAlive(pods.root.pid) && isAlive(pods.beta.pid)).toBe(true);

    const unknown = await podd(home, ["stop", "nobody", "--tree"]);
    expectExit(unknown, 1, ["stop", "nobody", "--tree"]);
    expect(unknown.stderr).toMatch(/unknown pod nobody/);
  });

  it("cancel --tree sends cancel{cascade:true}, which cancels the pod's run like a plain cancel", async ({ expect }) => {
    const home = tempHome();
    const pod = await startPod({ home, name: "busy", scenario: script().text("partial").hang().build() });
    const client = await connectClient(pod.socket);
    await client.waitFor("snapshot");
    const send = spawnCli(["send", "busy", "hello"], { env: home.env, cwd: home.home });
    await client.waitFor("text_done", { where: (event) => event.data.text === "partial" });

    const cancel = await podd(home, ["cancel", "busy", "--tree"]);
    expectExit(cancel, 0, ["cancel", "busy", "--tree"]);
    expect(cancel.stdout).toBe("idle\n");
    const sent = await send.result;
    expect(sent.stdout).toBe("partial\n");
    expect(sent.stderr).toMatch(/run cancelled/); // as after a plain cancel
  });
});

describe("podd stop --tree with a pod that does not exit", () => {
  it("stops the rest of the tree, leaves the survivor running and exits 1 naming it", async ({ expect }) => {
    const home = tempHome();
    const pods = await startTree(home);
    process.kill(pods.grand.pid, "SIGSTOP"); // accepts connections (backlog) but never answers
    try {
      const args = ["stop", "root", "--tree", "--timeout", "1000"];
      const stop = await podd(home, args, { timeoutMs: 20_000 });
      expectExit(stop, 1, args);
      expect(stop.stderr).toContain(`podd: pod still running after 1000 ms: grand (pid ${pods.grand.pid})`);
      expect(stop.stdout.trimEnd().split("\n").sort()).toEqual(["pod alpha stopped", "pod beta stopped", "pod root stopped"]);
      for (const pod of [pods.root, pods.alpha, pods.beta]) expect(await waitForPidExit(pod.pid, { timeoutMs: 1_000 }), pod.name).toBe(true);
      expect(isAlive(pods.grand.pid)).toBe(true);
    } finally {
      process.kill(pods.grand.pid, "SIGKILL");
    }
  });
});
