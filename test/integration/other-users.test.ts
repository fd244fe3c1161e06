/**
 * Other users (issue 11, part 4), through real pod processes and real sockets: every file and
 * dir a pod tree makes under PODD_HOME and the runtime dir is 0600 / 0700 whatever the umask it
 * was started under, while the model's own files keep the user's umask; a second user (uid
 * 65534, root only) can neither read them nor connect; a peer of another uid that reaches the
 * socket anyway (modes loosened) is refused by its SO_PEERCRED uid before it sees anything;
 * and the dirs a pod uses are refused, never followed, when they were pre-created as symlinks,
 * by another uid or open to others. docs/reliability.md, "Other users", points here.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodeEvent } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { expectExit, killCliProcesses, runCli, runCliIn, trackDaemon, type CliResult } from "../helpers/cli-run.js";
import { describeAsRoot, itAsRoot, OTHER_GID, OTHER_UID, runAsOtherUser, walkTree, type TreeEntry } from "../helpers/other-user.js";
import { cleanupAll, connectWithSnapshot, startPod, tempHome, writeScenario } from "../helpers/pod-process.js";
import { waitForFile } from "../helpers/wait-for-file.js";

type Home = ReturnType<typeof tempHome>;

/**
 * As the other user: for each entry, list it (dir), read it (file) or connect to it (socket);
 * `opened` or the errno code. The script is the whole of what that user does.
 */
const TRY_TO_OPEN = `
import fs from "node:fs";
import net from "node:net";
const results = {};
for (const entry of JSON.parse(process.argv[1])) {
  try {
    if (entry.kind === "dir") fs.readdirSync(entry.path);
    else if (entry.kind === "socket") await new Promise((resolve, reject) => {
      const socket = net.connect(entry.path);
      socket.once("connect", () => { socket.destroy(); resolve(); });
      socket.once("error", reject);
    });
    else fs.readFileSync(entry.path);
    results[entry.path] = "opened";
  } catch (error) {
    results[entry.path] = error.code ?? String(error);
  }
}
console.log(JSON.stringify(results));
`;

/** As the other user: connect, and record every line the pod sends until it closes the connection. */
const CONNECT_AND_READ = `
import net from "node:net";
const socket = net.connect(JSON.parse(process.argv[1]));
let connected = false;
let text = "";
socket.on("connect", () => { connected = true; });
socket.setEncoding("utf8").on("data", (chunk) => { text += chunk; });
socket.on("error", (error) => { console.log(JSON.stringify({ connected, error: error.code, lines: [] })); process.exit(0); });
socket.on("close", () => console.log(JSON.stringify({ connected, lines: text.split("\\n").filter((line) => line !== "") })));
`;

/** Run `start` with the process umask set to `mask` (children inherit it at spawn), then restore it. */
async function withUmask<T>(mask: number, start: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await start();
  } finally {
    process.umask(previous);
  }
}

/** `path: mode` lines of the entries whose mode is not the expected 0700 (dir) / 0600 (file, socket). */
function wrongModes(entries: readonly TreeEntry[]): string[] {
  return entries.flatMap((entry) => {
    const expected = entry.kind === "dir" ? 0o700 : entry.kind === "file" || entry.kind === "socket" ? 0o600 : undefined;
    return entry.mode === expected ? [] : [`${entry.path}: ${entry.kind} ${entry.mode.toString(8)}`];
  });
}

describe("a pod tree's files", () => {
  const pids: number[] = [];
  let home: Home;
  let work: string;
  let tree: TreeEntry[];

  // One pod tree for the tests below: started by the CLI under umask 000, a parent pod whose model
  // writes a file (write_file) and runs bash, and spawns a child whose bash writes a file too; a
  // queued notification makes the parent's inbox.
  beforeAll(async () => {
    home = tempHome();
    const workHome = tempHome();
    work = workHome.home;
    fs.mkdirSync(path.join(work, "area"));
    const child = script().toolCall("bash", { command: `touch ${path.join(work, "area", "by-child.txt")}` }).finish().text("touched").finish().build();
    const parent = script()
      .toolCall("write_file", { path: "made/by/write-file.txt", content: "x\n" })
      .toolCall("bash", { command: "touch by-bash.txt && mkdir by-bash-dir" })
      .toolCall("spawn_pod", { name: "kid", task: "touch a file", scope: [{ path: "area", permission: "write" }], model: `scripted:${writeScenario(workHome, child)}` })
      .finish()
      .text("done")
      .finish()
      .whenExhausted("reply")
      .build();
    const started = await withUmask(0o000, () =>
      runCliIn(home, ["start", "tree", "--cwd", work, "--model", `scripted:${writeScenario(workHome, parent)}`, "--json"]),
    );
    expectExit(started, 0, ["start"]);
    const { pid } = JSON.parse(started.stdout) as { pid: number };
    trackDaemon(pid);
    expectExit(await runCliIn(home, ["send", "tree", "go"]), 0, ["send"]);
    const children = JSON.parse(fs.readFileSync(path.join(home.home, "pods", "tree", "children.json"), "utf8")) as { children: { pid: number }[] };
    for (const record of children.children) {
      pids.push(record.pid);
      trackDaemon(record.pid);
    }
    await waitForFile(path.join(work, "area", "by-child.txt"));
    expectExit(await runCliIn(home, ["notify", "tree", "--no-wake", "later"]), 0, ["notify"]);
    tree = walkTree(home.home);
  });

  afterAll(async () => {
    await killCliProcesses();
    await cleanupAll();
  });

  it("are 0700 (dirs) and 0600 (files, sockets) although the pods were started under umask 000", () => {
    const names = tree.map((entry) => path.relative(home.home, entry.path));
    // What the walk saw: both pods' data and runtime dirs, logs, metadata, inbox, session, socket.
    for (const expected of ["pods/tree/metadata.json", "pods/tree/pod.log", "pods/tree/stderr.log", "pods/tree/inbox.jsonl", "pods/tree/children.json", "pods/kid/metadata.json", "run/tree/sock", "run/kid/sock", "run/tree/status.json", "run/tree/pid", "run/tree/tool-output"]) {
      expect(names).toContain(expected);
    }
    expect(names.filter((name) => /^sessions\/[^/]+\/[^/]+\.jsonl$/.test(name))).toHaveLength(2);
    expect(tree.filter((entry) => entry.kind === "symlink" || entry.kind === "other")).toEqual([]);
    expect(wrongModes(tree)).toEqual([]);
  });

  it("the model's own files keep the user's umask (000 here), in the parent and in its child", () => {
    const mode = (file: string): string => (fs.statSync(path.join(work, file)).mode & 0o777).toString(8);
    expect({
      "made": mode("made"),
      "made/by": mode("made/by"),
      "made/by/write-file.txt": mode("made/by/write-file.txt"),
      "by-bash.txt": mode("by-bash.txt"),
      "by-bash-dir": mode("by-bash-dir"),
      "area/by-child.txt": mode("area/by-child.txt"),
    }).toEqual({
      "made": "777",
      "made/by": "777",
      "made/by/write-file.txt": "666",
      "by-bash.txt": "666",
      "by-bash-dir": "777",
      "area/by-child.txt": "666",
    });
  });

  describeAsRoot("as another user (uid 65534)", () => {
    it("none of them can be listed, read or connected to", async () => {
      const results = await runAsOtherUser<Record<string, string>>(TRY_TO_OPEN, tree);
      expect(Object.keys(results)).toHaveLength(tree.length);
      expect(Object.entries(results).filter(([, result]) => result !== "EACCES")).toEqual([]);
    });

    it("with every dir made traversable (0711), each file and socket still refuses on its own mode", async () => {
      const dirs = tree.filter((entry) => entry.kind === "dir");
      for (const dir of dirs) fs.chmodSync(dir.path, 0o711);
      try {
        const results = await runAsOtherUser<Record<string, string>>(TRY_TO_OPEN, tree);
        expect(Object.entries(results).filter(([, result]) => result !== "EACCES")).toEqual([]);
      } finally {
        for (const dir of dirs) fs.chmodSync(dir.path, dir.mode);
      }
    });

    it("the CLI says permission denied, not that the pod is unknown", async () => {
      const env = { PATH: process.env.PATH, PODD_HOME: home.home, PODD_RUNTIME_DIR: home.runtime };
      const [notify, status] = await Promise.all(
        [["notify", "tree", "hello"], ["status", "tree"]].map((args) => runCli(args, { env, cwd: "/", uid: OTHER_UID, gid: OTHER_GID })),
      );
      expectExit(notify as CliResult, 1, ["notify"]);
      expect(notify?.stderr).toBe(`podd: cannot connect to ${path.join(home.runtime, "tree", "sock")}: permission denied (a pod's socket is open to its own user only)\n`);
      expectExit(status as CliResult, 1, ["status"]);
      expect(status?.stderr).toBe(`podd: cannot look up pod tree: ${home.runtime} is not yours to read (permission denied); it belongs to another user\n`);
    });
  });
});

describe("the pod's checks", () => {
  afterEach(async () => {
    await killCliProcesses();
    await cleanupAll();
  });

  itAsRoot("a peer of another uid that reaches the socket (modes loosened) gets one refusal line, never the session", async () => {
    const pod = await startPod({ name: "peer" });
    const { client: owner } = await connectWithSnapshot(pod);
    // Let uid 65534 reach the socket through the file system: only the pod's uid check is left.
    for (const dir of [pod.home, pod.runtime, path.dirname(pod.socket)]) fs.chmodSync(dir, 0o711);
    fs.chmodSync(pod.socket, 0o666);

    const other = await runAsOtherUser<{ connected: boolean; error?: string; lines: string[] }>(CONNECT_AND_READ, pod.socket);
    expect(other.connected).toBe(true);
    expect(other.lines).toHaveLength(1);
    const refusal = decodeEvent(other.lines[0] as string);
    expect(refusal.ok && refusal.value).toMatchObject({
      event: "error",
      data: { code: "invalid_request", message: expect.stringMatching(/^ipc: connection refused: this pod accepts connections only from its own user \(uid 0\) and root; the connecting process runs as uid 65534$/) },
    });

    // The owner's clients hear of it; the pod goes on serving them (a new connection gets its snapshot).
    const alert = await owner.waitFor("alert", { where: (event) => event.data.message.includes("uid 65534") });
    expect(alert.data.message).toMatch(/^ipc: refused a connection from uid 65534 \(pid \d+\): only this pod's user and root may connect$/);
    const { client: again } = await connectWithSnapshot(pod);
    again.destroy();

    // The other user's CLI prints the pod's reason.
    const cli = await runCli(["notify", pod.socket, "hello"], { env: { PATH: process.env.PATH }, cwd: "/", uid: OTHER_UID, gid: OTHER_GID });
    expectExit(cli, 1, ["notify"]);
    expect(cli.stderr).toContain("ipc: connection refused: this pod accepts connections only from its own user (uid 0) and root");
    owner.destroy();
  });

  it("a pod runtime dir pre-created as a symlink is refused and not followed", async () => {
    const home = tempHome();
    const elsewhere = tempHome().home;
    fs.mkdirSync(home.runtime, { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.join(home.runtime, "sym"));
    await expect(startPod({ home, name: "sym" })).rejects.toThrow(`pod runtime dir ${path.join(home.runtime, "sym")} is a symlink (to ${elsewhere}); podd does not follow symlinks`);
    expect(fs.lstatSync(path.join(home.runtime, "sym")).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    // Refused before anything was created: no data dir either.
    expect(fs.existsSync(path.join(home.home, "pods", "sym"))).toBe(false);
  });

  it("a runtime dir (PODD_RUNTIME_DIR) that is a symlink is refused, through the CLI too", async () => {
    const home = tempHome();
    const elsewhere = tempHome().home;
    fs.symlinkSync(elsewhere, home.runtime);
    const result = await runCliIn(home, ["start", "p", "--cwd", home.home]);
    expectExit(result, 1, ["start"]);
    expect(result.stderr).toContain(`runtime dir ${home.runtime} is a symlink (to ${elsewhere})`);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(fs.existsSync(path.join(home.home, "pods"))).toBe(false);
  });

  it("a socket path pre-created as a symlink is refused: the pod neither connects through it nor removes it", async () => {
    const home = tempHome();
    // Someone else's live socket, which the symlink points at.
    const elsewhere = tempHome().home;
    const target = path.join(elsewhere, "theirs.sock");
    let connections = 0;
    const theirs = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => theirs.listen(target, resolve));
    try {
      fs.mkdirSync(path.join(home.runtime, "s"), { recursive: true, mode: 0o700 });
      const socket = path.join(home.runtime, "s", "sock");
      fs.symlinkSync(target, socket);
      await expect(startPod({ home, name: "s" })).rejects.toThrow(`socket path ${socket} is a symlink (to ${target}); podd neither follows nor replaces it`);
      expect(fs.readlinkSync(socket)).toBe(target);
      expect(fs.lstatSync(target).isSocket()).toBe(true);
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => theirs.close(() => resolve()));
    }
  });

  it("a runtime dir open to group or others is refused with a clear message (like ssh's StrictModes)", async () => {
    const home = tempHome();
    fs.mkdirSync(path.join(home.runtime, "open"), { recursive: true, mode: 0o700 });
    fs.chmodSync(path.join(home.runtime, "open"), 0o755);
    await expect(startPod({ home, name: "open" })).rejects.toThrow(
      `pod runtime dir ${path.join(home.runtime, "open")} has mode 0755: its group or others may use it, and podd keeps its dirs private (0700): chmod 700 ${path.join(home.runtime, "open")} if it is yours`,
    );
    fs.chmodSync(home.runtime, 0o770);
    await expect(startPod({ home, name: "other" })).rejects.toThrow(`runtime dir ${home.runtime} has mode 0770`);
    // Left as found: podd repairs nothing it did not make.
    expect(fs.statSync(home.runtime).mode & 0o777).toBe(0o770);
  });

  itAsRoot("a runtime dir owned by another uid is refused", async () => {
    const home = tempHome();
    const dir = path.join(home.runtime, "theirs");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chownSync(dir, OTHER_UID, OTHER_GID);
    await expect(startPod({ home, name: "theirs" })).rejects.toThrow(`pod runtime dir ${dir} is owned by uid 65534, not by you (uid 0)`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a pod data dir (pods/<name>) pre-created as a symlink is refused by podd start before it writes anything there", async () => {
    const home = tempHome();
    const elsewhere = tempHome().home;
    fs.mkdirSync(path.join(home.home, "pods"), { mode: 0o700 });
    fs.symlinkSync(elsewhere, path.join(home.home, "pods", "d"));
    const result = await runCliIn(home, ["start", "d", "--cwd", home.home]);
    expectExit(result, 1, ["start"]);
    expect(result.stderr).toContain(`pod data dir ${path.join(home.home, "pods", "d")} is a symlink (to ${elsewhere})`);
    // No stderr.log, metadata or log written through the link.
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it("a session dir (sessions/<id>) replaced by a symlink is refused on restore, its target untouched", async () => {
    const home = tempHome();
    const first = await startPod({ home, name: "r" });
    const { entries } = await connectWithSnapshot(first);
    const sessionId = (entries[0] as Extract<(typeof entries)[number], { kind: "segment_start" }>).session_id;
    await first.stop();
    const dir = path.join(home.home, "sessions", sessionId);
    const moved = path.join(tempHome().home, sessionId);
    fs.renameSync(dir, moved);
    fs.symlinkSync(moved, dir);
    const before = fs.readdirSync(moved).sort();
    await expect(startPod({ home, name: "r" })).rejects.toThrow(`session dir ${dir} is a symlink (to ${moved})`);
    expect(fs.readdirSync(moved).sort()).toEqual(before);
  });
});

