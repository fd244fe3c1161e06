/** RunEndReader: where a run ends on the wire and how (src/client/run-end.ts). */
import { describe, expect, it } from "vitest";
import type { Event } from "../../protocol/index.js";
import { RunEndReader, type RunOutcome } from "../../src/client/run-end.js";

const snapshot = (status: "idle" | "running" | "paused"): Event => ({
  event: "snapshot",
  data: { entries: [], status, greeting: { pod_name: "p", cwd: "/", provider: "scripted", model: "m", scope_summary: "", tools: [], context_window: 1, context_tokens: 0 } },
});
const status = (value: "idle" | "running" | "paused"): Event => ({ event: "status", data: { status: value } });
const error = (code: "internal" | "provider_error" | "already_running", message: string): Event => ({ event: "error", data: { code, message } });

/** The outcome each event gives, in order (undefined where the event ends no run). */
function outcomes(events: Event[]): (RunOutcome | undefined)[] {
  const reader = new RunEndReader();
  return events.map((event) => reader.push(event));
}

describe("RunEndReader", () => {
  it("ends a finished, paused, limited or rolled-back run at its run_end, not again at the status after it", () => {
    for (const result of ["finished", "paused", "limit_reached", "rolled_back"] as const) {
      const events: Event[] = [snapshot("idle"), status("running"), { event: "run_end", data: { result } }, status(result === "paused" ? "paused" : "idle")];
      expect(outcomes(events)).toEqual([undefined, undefined, { kind: result }, undefined]);
    }
  });

  it("ends a failed run at the status after its error, and a cancelled one as cancelled", () => {
    expect(outcomes([snapshot("idle"), status("running"), error("provider_error", "boom"), status("idle")])).toEqual([
      undefined, undefined, undefined, { kind: "failed", code: "provider_error", message: "boom" },
    ]);
    expect(outcomes([snapshot("running"), error("internal", "Cancelled"), status("idle")]).at(-1)).toEqual({ kind: "cancelled" });
  });

  it("ends a paused run that a cancel ended; a refusal is not a run end", () => {
    expect(outcomes([snapshot("paused"), { event: "tool_result", data: { id: "t", summary: "x", is_error: true } }, error("internal", "Cancelled"), status("idle")]).at(-1)).toEqual({
      kind: "cancelled",
    });
    expect(outcomes([snapshot("running"), error("already_running", "busy"), { event: "text_delta", data: { text: "a" } }])).toEqual([undefined, undefined, undefined]);
    expect(outcomes([snapshot("idle"), error("internal", "Cancelled"), status("idle")])).toEqual([undefined, undefined, undefined]);
  });
});
