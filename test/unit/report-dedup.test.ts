/** ReportDedup: a bounded memory of the child reports (sender + report_id) a pod has taken. */
import { describe, expect, it } from "vitest";
import type { PodEvent } from "../../protocol/index.js";
import { DEFAULT_MAX_REMEMBERED_REPORTS, ReportDedup, reportSender } from "../../src/pod/report-dedup.js";

const turnEnded = (podName: string, reportId?: string): PodEvent => ({ kind: "turn_ended", pod_name: podName, report_id: reportId });

describe("ReportDedup", () => {
  it("takes a report once: a second copy with the same sender and report_id is not first time", () => {
    const dedup = new ReportDedup();
    expect(dedup.firstTime(turnEnded("kid", "r-1"))).toBe(true);
    expect(dedup.firstTime(turnEnded("kid", "r-1"))).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-2"))).toBe(true);
  });

  it("keys on the sender too: two children may choose the same report_id", () => {
    const dedup = new ReportDedup();
    expect(dedup.firstTime(turnEnded("kid-a", "r-1"))).toBe(true);
    expect(dedup.firstTime(turnEnded("kid-b", "r-1"))).toBe(true);
    expect(dedup.firstTime({ kind: "errored", pod_name: "kid-a", message: "x", report_id: "r-1" })).toBe(false);
  });

  it("a sender and id that would run together as a plain concatenation stay apart", () => {
    const dedup = new ReportDedup();
    expect(dedup.firstTime(turnEnded("a", "bc"))).toBe(true);
    expect(dedup.firstTime(turnEnded("ab", "c"))).toBe(true);
  });

  it("an event without report_id (a reference child, a hand-written pod_event) is always first time, and not remembered", () => {
    const dedup = new ReportDedup();
    expect(dedup.firstTime(turnEnded("kid"))).toBe(true);
    expect(dedup.firstTime(turnEnded("kid"))).toBe(true);
    expect(dedup.size).toBe(0);
  });

  it("a scope_sub_delegated relay is keyed on parent_pod", () => {
    const event: PodEvent = { kind: "scope_sub_delegated", parent_pod: "kid", sub_pod: "grandkid", sub_socket: "/s.sock", scope: [], report_id: "r-9" };
    expect(reportSender(event)).toBe("kid");
    const dedup = new ReportDedup();
    expect(dedup.firstTime(event)).toBe(true);
    expect(dedup.firstTime({ ...event, sub_pod: "other" })).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-9"))).toBe(false);
  });

  it("is bounded: past maxEntries the oldest key is forgotten first", () => {
    const dedup = new ReportDedup({ maxEntries: 3 });
    for (const id of ["r-1", "r-2", "r-3", "r-4"]) expect(dedup.firstTime(turnEnded("kid", id))).toBe(true);
    expect(dedup.size).toBe(3);
    expect(dedup.firstTime(turnEnded("kid", "r-4"))).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-2"))).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-1"))).toBe(true); // forgotten, taken again (and now newest)
    expect(dedup.size).toBe(3);
    expect(dedup.firstTime(turnEnded("kid", "r-3"))).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-2"))).toBe(true); // r-2 was the oldest left when r-1 came back
  });

  it("remembers 1024 reports by default", () => {
    const dedup = new ReportDedup();
    expect(dedup.maxEntries).toBe(DEFAULT_MAX_REMEMBERED_REPORTS);
    expect(DEFAULT_MAX_REMEMBERED_REPORTS).toBe(1024);
    for (let index = 0; index < 2000; index++) dedup.firstTime(turnEnded("kid", `r-${index}`));
    expect(dedup.size).toBe(1024);
    expect(dedup.firstTime(turnEnded("kid", "r-1999"))).toBe(false);
    expect(dedup.firstTime(turnEnded("kid", "r-0"))).toBe(true);
  });
});
