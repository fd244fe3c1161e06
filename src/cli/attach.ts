/**
 * `podd attach [pod]`: the terminal UI (src/tui/, loaded only here). With a pod name or socket
 * path it attaches at once; without one it attaches to the only running pod, or offers the
 * running pods to pick from. Needs a terminal on stdin and stdout; `--json` is the script bridge.
 */
import { listPods, listStoppedPods, socketAnswers } from "../client/pod-directory.js";
import { CliError, notRunningMessage, poddPaths, socketFor } from "./targets.js";

export async function attachTuiCommand(target: string | undefined, options: { socket?: string }): Promise<void> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new CliError("podd attach needs a terminal; for scripts use `podd attach <pod> --json`", 2);
  }
  const tui = await import("../tui/main.js");
  let socket = options.socket ?? (target ? socketFor(target) : undefined);
  if (!socket) {
    const pods = listPods(poddPaths()).filter((pod) => pod.state === "alive" && pod.status);
    if (pods.length === 0) {
      const stopped = listStoppedPods(poddPaths()).map((pod) => pod.name);
      const hint = stopped.length === 0 ? "start one with `podd start <name>`" : `stopped: ${stopped.slice(0, 5).join(", ")}${stopped.length > 5 ? ", …" : ""}; start one again with \`podd start <name>\``;
      throw new CliError(`no running pods to attach to (${hint})`);
    }
    if (pods.length === 1) socket = pods[0]?.status?.socket;
    else {
      socket = await tui.pickPod(
        pods.map((pod) => ({ name: pod.name, socket: pod.status?.socket ?? "", detail: `${pod.status?.status ?? "?"} · ${pod.status?.model ?? ""}` })),
      );
      if (!socket) return;
    }
  }
  if (!socket) throw new CliError("no socket to attach to");
  // A pod that is not there is an error now, not a reconnect loop (the TUI reconnects only to a pod it reached).
  if (!(await socketAnswers(socket))) throw new CliError(target && !target.includes("/") && !options.socket ? notRunningMessage(target) : `no pod is running at ${socket}`);
  await tui.runTui(socket);
}
