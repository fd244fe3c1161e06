/** WriteFaults: one error alert when a file's writes start failing, one warn alert when they work again (docs/reliability.md, "Disk faults"). */
import { describe, expect, it } from "vitest";
import { WriteFaults } from "../../src/pod/write-faults.js";

describe("WriteFaults", () => {
  it("alerts once per fault and once on recovery, per file", () => {
    const alerts: string[] = [];
    const faults = new WriteFaults((level, message) => alerts.push(`${level} ${message}`));
    faults.succeeded("session log", () => "never built");
    expect(faults.failed("session log", "session: full")).toBe(true);
    expect(faults.failed("session log", "session: still full")).toBe(false);
    expect(faults.failed("status.json", "pod: status.json full")).toBe(true);
    expect(faults.isFailing("session log")).toBe(true);
    faults.succeeded("session log", () => "session: writable again");
    faults.succeeded("session log", () => "never built either");
    expect(faults.isFailing("session log")).toBe(false);
    expect(faults.failed("session log", "session: full again")).toBe(true);
    expect(alerts).toEqual(["error session: full", "error pod: status.json full", "warn session: writable again", "error session: full again"]);
  });
});
