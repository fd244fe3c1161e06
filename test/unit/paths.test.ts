/** Where podd keeps things: environment precedence and per-pod paths with their checks. */
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_SOCKET_PATH_BYTES, podPaths, resolvePaths, sessionDir } from "../../src/config/paths.js";
import { PoddError } from "../../src/errors.js";

describe("resolvePaths", () => {
  it("takes PODD_RUNTIME_DIR first", () => {
    expect(resolvePaths({ PODD_HOME: "/h/home", PODD_RUNTIME_DIR: "/h/runtime", XDG_RUNTIME_DIR: "/run/user/1000" })).toEqual({
      home: "/h/home",
      runtime: "/h/runtime",
    });
  });

  it("falls back to $XDG_RUNTIME_DIR/podd", () => {
    expect(resolvePaths({ PODD_HOME: "/h/home", XDG_RUNTIME_DIR: "/run/user/1000" })).toEqual({ home: "/h/home", runtime: "/run/user/1000/podd" });
  });

  it("falls back to $PODD_HOME/run", () => {
    expect(resolvePaths({ PODD_HOME: "/h/home" })).toEqual({ home: "/h/home", runtime: "/h/home/run" });
  });

  it("defaults PODD_HOME to ~/.podd", () => {
    const home = path.join(os.homedir(), ".podd");
    expect(resolvePaths({})).toEqual({ home, runtime: path.join(home, "run") });
  });

  it("treats empty variables as unset", () => {
    const home = path.join(os.homedir(), ".podd");
    expect(resolvePaths({ PODD_HOME: "", PODD_RUNTIME_DIR: "", XDG_RUNTIME_DIR: "" })).toEqual({ home, runtime: path.join(home, "run") });
  });

  it("makes relative directories absolute", () => {
    const paths = resolvePaths({ PODD_HOME: "rel/home", PODD_RUNTIME_DIR: "rel/run" });
    expect(paths).toEqual({ home: path.resolve("rel/home"), runtime: path.resolve("rel/run") });
  });

  it("reads process.env by default", () => {
    const { home, runtime } = resolvePaths();
    expect(path.isAbsolute(home) && path.isAbsolute(runtime)).toBe(true);
  });
});

describe("podPaths", () => {
  const base = { home: "/h/home", runtime: "/h/run" };

  it("lays out a pod's runtime and data files", () => {
    expect(podPaths(base, "my-pod_1.x")).toEqual({
      runtimeDir: "/h/run/my-pod_1.x",
      socket: "/h/run/my-pod_1.x/sock",
      pidFile: "/h/run/my-pod_1.x/pid",
      statusFile: "/h/run/my-pod_1.x/status.json",
      memoryFile: "/h/run/my-pod_1.x/memory.json",
      dataDir: "/h/home/pods/my-pod_1.x",
      logFile: "/h/home/pods/my-pod_1.x/pod.log",
      stderrFile: "/h/home/pods/my-pod_1.x/stderr.log",
    });
    expect(sessionDir(base, "S1")).toBe("/h/home/sessions/S1");
  });

  it("accepts names of 1 to 64 characters of [A-Za-z0-9._-]", () => {
    for (const name of ["a", "x".repeat(64), ".hidden", "-dash", "A.b_c-9", "..."]) expect(() => podPaths(base, name)).not.toThrow();
  });

  it.each([
    ["", /invalid pod name ""/],
    ["a/b", /invalid pod name "a\/b": pod names use only A-Z a-z 0-9 \. _ -/],
    ["bad name", /invalid pod name "bad name"/],
    ["..", /invalid pod name "\.\.": pod name cannot be \. or \.\./],
    [".", /cannot be \. or \.\./],
    ["x".repeat(65), /invalid pod name "x{65}"/],
    ["caf\u00e9", /invalid pod name/],
    ["nul\u0000", /invalid pod name/],
  ])("refuses the name %j with invalid_request", (name, message) => {
    let thrown: unknown;
    try {
      podPaths(base, name);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PoddError);
    expect((thrown as PoddError).code).toBe("invalid_request");
    expect((thrown as PoddError).message).toMatch(message);
  });

  it("accepts a socket path of exactly 107 bytes and refuses 108, saying what to do", () => {
    const fixed = "/p/sock".length;
    const runtime107 = "/" + "r".repeat(MAX_SOCKET_PATH_BYTES - fixed - 1);
    expect(Buffer.byteLength(podPaths({ home: "/h", runtime: runtime107 }, "p").socket)).toBe(107);
    const runtime108 = runtime107 + "r";
    expect(() => podPaths({ home: "/h", runtime: runtime108 }, "p")).toThrow(
      `socket path too long: ${runtime108}/p/sock is 108 bytes, the limit is 107; use a shorter pod name or set PODD_RUNTIME_DIR to a shorter directory`,
    );
    expect(MAX_SOCKET_PATH_BYTES).toBe(107);
  });

  it("counts the socket path in bytes, not characters", () => {
    const runtime = "/" + "\u00e9".repeat(50);
    const socket = `${runtime}/p/sock`;
    expect(socket.length).toBeLessThanOrEqual(107);
    expect(() => podPaths({ home: "/h", runtime }, "p")).toThrow(/socket path too long: .* is 108 bytes/);
  });

  it("checks the name before the socket path", () => {
    expect(() => podPaths({ home: "/h", runtime: "/" + "r".repeat(200) }, "a/b")).toThrow(/invalid pod name/);
  });
});
