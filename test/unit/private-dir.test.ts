/**
 * The pieces behind "other users" (test/integration/other-users.test.ts has the real-process
 * tests): private-dir checks, the umask's parse and format, the peer rule and SO_PEERCRED on a
 * real connection, and missingDirs never counting a symlink as missing.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { missingDirs, removeDirs } from "../../src/config/created-dirs.js";
import { checkPrivateDir, ensurePrivateDir, SESSION_DIR } from "../../src/config/private-dir.js";
import { formatUmask, parseUmask } from "../../src/config/umask.js";
import { loadPeerCredentials, peerRefusal } from "../../src/ipc/peer-credentials.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podd-private-"));
  dirs.push(dir);
  return dir;
}

describe("private dirs", () => {
  it("creates a missing dir and its parents 0700, and passes a dir of its own", () => {
    const dir = path.join(tempDir(), "a", "b");
    const previous = process.umask(0o000);
    try {
      ensurePrivateDir(dir, SESSION_DIR);
    } finally {
      process.umask(previous);
    }
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.dirname(dir)).mode & 0o777).toBe(0o700);
    expect(checkPrivateDir(dir, SESSION_DIR)).toBe(true);
    expect(checkPrivateDir(path.join(dir, "missing"), SESSION_DIR)).toBe(false);
  });

  it("makes the parent again when another process removes it between the two mkdirs (a failed start undoing its <home>/pods)", () => {
    const parent = path.join(tempDir(), "pods");
    const dir = path.join(parent, "second");
    const realMkdir = fs.mkdirSync;
    let removed = false;
    // The other process's cleanup, at the worst moment: right after this one made the parent.
    const spy = vi.spyOn(fs, "mkdirSync").mockImplementation(((target: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
      const made = realMkdir(target, options);
      if (!removed && target === parent) {
        removed = true;
        fs.rmdirSync(parent);
      }
      return made;
    }) as typeof fs.mkdirSync);
    try {
      ensurePrivateDir(dir, SESSION_DIR);
    } finally {
      spy.mockRestore();
    }
    expect(removed).toBe(true);
    expect(checkPrivateDir(dir, SESSION_DIR)).toBe(true);
  });

  it("refuses a symlink (dangling or not), a file, and a dir open to group or others, and changes none of them", () => {
    const root = tempDir();
    const target = path.join(root, "target");
    fs.mkdirSync(target, { mode: 0o700 });
    fs.symlinkSync(target, path.join(root, "link"));
    fs.symlinkSync(path.join(root, "nowhere"), path.join(root, "dangling"));
    fs.writeFileSync(path.join(root, "file"), "");
    fs.mkdirSync(path.join(root, "open"));
    fs.chmodSync(path.join(root, "open"), 0o750);
    expect(() => ensurePrivateDir(path.join(root, "link"), SESSION_DIR)).toThrow(`session dir ${path.join(root, "link")} is a symlink (to ${target})`);
    expect(() => ensurePrivateDir(path.join(root, "dangling"), SESSION_DIR)).toThrow("is a symlink");
    expect(fs.existsSync(path.join(root, "nowhere"))).toBe(false);
    expect(() => checkPrivateDir(path.join(root, "file"), SESSION_DIR)).toThrow("is not a directory");
    expect(() => checkPrivateDir(path.join(root, "open"), SESSION_DIR)).toThrow("has mode 0750: its group or others may use it");
    expect(fs.statSync(path.join(root, "open")).mode & 0o777).toBe(0o750);
  });

  it("missingDirs counts a dangling symlink as there, so a failed start never removes it", () => {
    const root = tempDir();
    const link = path.join(root, "link");
    fs.symlinkSync(path.join(root, "nowhere"), link);
    const missing = missingDirs(path.join(link, "child"));
    expect(missing).toEqual([path.join(link, "child")]);
    removeDirs(missing);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe("umask", () => {
  it("parses and formats octal masks; refuses anything else", () => {
    expect(parseUmask("022")).toBe(0o022);
    expect(parseUmask("0077")).toBe(0o077);
    expect(parseUmask("7")).toBe(0o007);
    for (const bad of [undefined, "", "8", "0o22", "-1", "01000", "22 "]) expect(parseUmask(bad)).toBeUndefined();
    expect(formatUmask(0o022)).toBe("022");
    expect(formatUmask(0)).toBe("000");
  });
});

describe("peer credentials", () => {
  it("allows the pod's own uid and root, refuses any other uid", () => {
    expect(peerRefusal({ uid: 1000, gid: 1000 }, 1000)).toBeUndefined();
    expect(peerRefusal({ uid: 0, gid: 0 }, 1000)).toBeUndefined();
    expect(peerRefusal({ uid: 1001, gid: 1000 }, 1000)).toBe(
      "connection refused: this pod accepts connections only from its own user (uid 1000) and root; the connecting process runs as uid 1001",
    );
  });

  it.skipIf(process.platform !== "linux")("reads this process's uid, gid and pid off a real Unix-socket connection (SO_PEERCRED)", async () => {
    const { read, problem } = await loadPeerCredentials();
    expect(problem).toBeUndefined();
    const socketPath = path.join(tempDir(), "s.sock");
    const accepted = new Promise<net.Socket>((resolve) => {
      const server = net.createServer((socket) => {
        server.close();
        resolve(socket);
      });
      server.listen(socketPath, () => net.connect(socketPath).on("error", () => undefined));
    });
    const socket = await accepted;
    try {
      expect(read?.(socket)).toEqual({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    } finally {
      socket.destroy();
    }
  });

  it("says why there is no reader on a platform without peer credentials", async () => {
    expect(await loadPeerCredentials("win32")).toEqual({ problem: "peer credentials are not read on win32" });
  });
});
