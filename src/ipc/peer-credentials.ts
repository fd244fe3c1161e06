/**
 * Who is at the other end of a connection to the pod's socket: the peer's uid (and gid, pid)
 * as the kernel recorded it when the peer called connect() — `getsockopt(fd, SOL_SOCKET,
 * SO_PEERCRED)` on Linux, `getpeereid(3)` on macOS and the BSDs — read on the accepted socket's
 * fd. The socket server (src/ipc/socket-server.ts) refuses a peer that is neither this
 * process's user nor root (`peerRefusal`). This is the second wall: the first is the file
 * modes (runtime dir 0700, socket 0600), which already keep other users from connecting; the
 * uid check still holds when those are loosened, or when a connected fd is passed on (the
 * credentials are the connecting process's, taken at connect(), not whoever holds the fd now).
 *
 * How the syscall is reached: Node has no API for peer credentials (libuv has none either:
 * libuv/libuv#2255), so it goes through koffi, a maintained FFI addon (Node-API, so one binary
 * serves every Node version) whose prebuilt binaries are npm packages of their own, installed
 * by `npm ci` as optional dependencies for the platform at hand — no compiler, no install
 * script, no download outside the registry. Weighed and not taken:
 * - the addons written for this (`peercred`, `unix-socket-credentials`) are unmaintained and
 *   need nan or ffi 1.x, which do not build on Node 20;
 * - `sockopt` (Node-API, prebuilt) reads int-sized options only; with a 4-byte buffer the
 *   kernel returns the first field of `struct ucred`, the pid, and a pid is no identity (the
 *   process may exit and its pid be reused by another user's);
 * - an addon of our own (40 lines of C) needs a C compiler and Node's headers on every machine
 *   that installs podd;
 * - `/proc/net/unix` and the socket's inode: the file has no peer column (the peer's inode is
 *   only in sock_diag netlink, which Node cannot open), and finding the process behind an inode
 *   means scanning every `/proc/<pid>/fd/` per connection, which names who holds the socket
 *   *now* — a client that wrote and closed, exited, forked or passed its fd is missed or
 *   misnamed — and cannot see other users' processes at all unless the pod is root.
 *
 * The fd is `socket._handle.fd`, libuv's pipe handle of the accepted socket: not a documented
 * API, but present on every Unix build of Node since 0.x and what every such addon uses; a
 * socket without one is refused (fail closed). When koffi cannot be loaded (a platform it has
 * no binary for) `loadPeerCredentials` says why and the pod runs on the file modes alone, with
 * an alert.
 */
import type net from "node:net";
import type Koffi from "koffi";
import os from "node:os";

export interface PeerCredentials {
  uid: number;
  gid: number;
  /** Linux only (SO_PEERCRED); 0 when the peer is in another pid namespace. */
  pid?: number;
}

/** Reads an accepted connection's peer credentials; throws an Error when they cannot be read. */
export type PeerCredentialReader = (socket: net.Socket) => PeerCredentials;

/** Linux `SOL_SOCKET` / `SO_PEERCRED` (asm-generic/socket.h; the same on x86, arm and riscv). */
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** The socket's file descriptor (see the module comment), or an Error. */
function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) throw new Error("the connection has no file descriptor");
  return fd;
}

/**
 * The reader for this platform, or why there is none (`problem`): a platform without peer
 * credentials, or koffi not installed for it.
 */
export async function loadPeerCredentials(platform: NodeJS.Platform = process.platform): Promise<{ read?: PeerCredentialReader; problem?: string }> {
  const isBsd = platform === "darwin" || platform === "freebsd" || platform === "openbsd";
  if (platform !== "linux" && !isBsd) return { problem: `peer credentials are not read on ${platform}` };
  let koffi: typeof Koffi;
  try {
    koffi = (await import("koffi")).default;
  } catch (error) {
    return { problem: `the koffi addon could not be loaded (${(error as Error).message.split("\n")[0]})` };
  }
  // The process's own symbols: libc's, whichever libc node was linked with (glibc, musl, libSystem).
  const libc = koffi.load(null);
  const errno = (): string => {
    const code = koffi.errno();
    const name = Object.entries(os.constants.errno).find(([, value]) => value === code)?.[0];
    return name ?? `errno ${code}`;
  };
  if (platform === "linux") {
    const ucred = koffi.struct({ pid: "int32_t", uid: "uint32_t", gid: "uint32_t" });
    const getsockopt = libc.func("getsockopt", "int", ["int", "int", "int", koffi.out(koffi.pointer(ucred)), koffi.inout(koffi.pointer("uint32_t"))]);
    return {
      read: (socket) => {
        const credentials = { pid: 0, uid: 0, gid: 0 };
        const length = [12];
        if (getsockopt(socketFd(socket), SOL_SOCKET, SO_PEERCRED, credentials, length) !== 0) throw new Error(`getsockopt(SO_PEERCRED) failed: ${errno()}`);
        if (length[0] !== 12) throw new Error(`getsockopt(SO_PEERCRED) returned ${length[0]} bytes, not a struct ucred`);
        return credentials;
      },
    };
  }
  const getpeereid = libc.func("getpeereid", "int", ["int", koffi.out(koffi.pointer("uint32_t")), koffi.out(koffi.pointer("uint32_t"))]);
  return {
    read: (socket) => {
      const uid = [0];
      const gid = [0];
      if (getpeereid(socketFd(socket), uid, gid) !== 0) throw new Error(`getpeereid failed: ${errno()}`);
      return { uid: uid[0] as number, gid: gid[0] as number };
    },
  };
}

/**
 * Why a peer may not connect, or undefined when it may: the pod's own user (its effective uid)
 * and root (who can read the pod's files and trace it anyway, as ssh-agent allows) may;
 * anyone else is refused.
 */
export function peerRefusal(peer: PeerCredentials, ownUid: number): string | undefined {
  if (peer.uid === ownUid || peer.uid === 0) return undefined;
  return `connection refused: this pod accepts connections only from its own user (uid ${ownUid}) and root; the connecting process runs as uid ${peer.uid}`;
}
