/**
 * `podd sessions`, `podd history` and `podd export` through the real CLI, over the session files
 * of real pod processes on the scripted model: while the pod runs and after it stopped, across
 * two sessions of one pod (`--new`), and the refusals (unknown pod, missing --format).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LogEntry } from "../../protocol/index.js";
import { script } from "../../src/model/scripted/script-builder.js";
import { describeResult, runCli, type CliResult } from "../helpers/cli-run.js";
import { cleanupAll, isIdleStatus, type PodProcess, runText, startPod, tempHome } from "../helpers/pod-process.js";

afterEach(cleanupAll);

interface SessionRow {
  session_id: string;
  pod_name: string;
  segments: number;
  entries: number;
  live: boolean;
  active: boolean;
}

async function podd(home: ReturnType<typeof tempHome>, args: string[], expectedCode = 0): Promise<CliResult> {
  const result = await runCli(args, { env: home.env });
  expect(result.code, describeResult(args, result)).toBe(expectedCode);
  return result;
}

function currentSegment(pod: PodProcess): { sessionId: string; file: string } {
  const metadata = JSON.parse(fs.readFileSync(path.join(pod.home, "pods", pod.name, "metadata.json"), "utf8")) as { session_id: string; segment_id: string };
  return { sessionId: metadata.session_id, file: path.join(pod.home, "sessions", metadata.session_id, `${metadata.segment_id}.jsonl`) };
}

async function runTurn(pod: PodProcess, text: string): Promise<void> {
  const client = await pod.connect();
  await client.waitFor("snapshot");
  client.send(runText(text));
  await client.collectUntil(isIdleStatus);
  client.destroy();
}

describe("podd sessions / history / export", () => {
  it("shows a pod's session from its files while it runs and after it stopped, and exports it faithfully", async () => {
    const home = tempHome();
    const cwd = path.join(home.home, "work");
    fs.mkdirSync(cwd);
    fs.writeFileSync(path.join(cwd, "a.txt"), "hello from a.txt\n");
    const scenario = script().text("Reading it.").toolCall("read_file", { path: "a.txt" }).finish().text("It says hello.").finish().text("second answer").finish().build();
    const pod = await startPod({ home, name: "hist", cwd, scenario });
    await runTurn(pod, "what is in a.txt?");
    const first = currentSegment(pod);

    // The commands that read the same state run together: each is a process start, and the test stays short on a loaded machine.
    const [liveJson, liveTable, liveHistory] = await Promise.all([podd(home, ["sessions", "--json"]), podd(home, ["sessions"]), podd(home, ["history", "hist"])]);
    const live = JSON.parse(liveJson.stdout) as SessionRow[];
    expect(live).toEqual([expect.objectContaining({ session_id: first.sessionId, pod_name: "hist", segments: 1, live: true, active: true })]);
    const table = liveTable.stdout;
    expect(table).toMatch(new RegExp(`^${first.sessionId}\\s+hist\\s+1\\s+\\d+\\s+\\d+s ago\\s+live\\s+active`, "m"));

    const history = liveHistory.stdout;
    const shown = history.split("\n").map((line) => line.replace(/^\d\d:\d\d:\d\d /, ""));
    expect(shown[0]).toBe(`pod hist · session ${first.sessionId} · 1 segment · live`);
    expect(shown).toEqual(
      expect.arrayContaining(["user: what is in a.txt?", "assistant: Reading it.", '  → read_file({"path":"a.txt"})', "assistant: It says hello."]),
    );
    expect(shown.some((line) => line.startsWith("  ← ") && line.includes("a.txt"))).toBe(true);
    expect(history.indexOf("user: what is in a.txt?")).toBeLessThan(history.indexOf("→ read_file"));
    expect(history.indexOf("→ read_file")).toBeLessThan(history.indexOf("It says hello."));

    // A second session of the same pod: the old one stays listed, the new one is active.
    await pod.stop();
    const again = await startPod({ home, name: "hist", cwd, scenario: script().text("fresh answer").finish().build(), extraArgs: ["--new"] });
    await runTurn(again, "a new start");
    const second = currentSegment(again);
    expect(second.sessionId).not.toBe(first.sessionId);
    await again.stop();

    const output = path.join(home.home, "export.md");
    const [rowsJson, otherPod, currentHistory, oldHistory, jsonlExport, markdownToFile, currentMarkdown] = await Promise.all([
      podd(home, ["sessions", "--json", "--pod", "hist"]),
      podd(home, ["sessions", "--pod", "other"]),
      podd(home, ["history", "hist"]),
      podd(home, ["history", "hist", "--session", first.sessionId]),
      podd(home, ["export", "hist", "--format", "jsonl", "--session", first.sessionId]),
      podd(home, ["export", "hist", "--format", "markdown", "--session", first.sessionId, "-o", output]),
      podd(home, ["export", "hist", "--format", "markdown"]),
    ]);
    const rows = JSON.parse(rowsJson.stdout) as SessionRow[];
    expect(rows.map((row) => [row.session_id, row.live, row.active])).toEqual([
      [second.sessionId, false, true],
      [first.sessionId, false, false],
    ]);
    expect(otherPod.stdout).toMatch(/^no sessions of pod other in /);
    expect(currentHistory.stdout).toContain("user: a new start");
    const old = oldHistory.stdout;
    expect(old).toContain("user: what is in a.txt?");
    expect(old).not.toContain("a new start");
    expect(old).not.toContain("· live");

    // jsonl: every line is a LogEntry, and the export is the session file byte for byte.
    const jsonl = jsonlExport.stdout;
    expect(jsonl).toBe(fs.readFileSync(first.file, "utf8"));
    const entries = jsonl.trimEnd().split("\n").map((line) => LogEntry.parse(JSON.parse(line)));
    expect(entries[0]).toMatchObject({ kind: "segment_start", session_id: first.sessionId, pod_name: "hist" });
    expect(entries.some((entry) => entry.kind === "tool_result" && entry.item.output?.includes("hello from a.txt"))).toBe(true);

    // markdown, written atomically to a file.
    expect(markdownToFile.stdout).toBe("");
    const markdown = fs.readFileSync(output, "utf8");
    expect(markdown.startsWith(`# hist: session ${first.sessionId}\n`)).toBe(true);
    expect(markdown).toMatch(/^## User\n\n\*[\d-]+ [\d:]+\*\n\nwhat is in a\.txt\?$/m);
    expect(markdown).toContain("## Assistant");
    expect(markdown).toContain('**Tool call** `read_file`\n\n```json\n{\n  "path": "a.txt"\n}\n```');
    expect(markdown).toMatch(/\*\*Tool result\*\* `read_file`: .*\n\n```\n[^`]*hello from a\.txt/);
    // The current session's export carries the pod's model and cwd from its metadata.
    expect(currentMarkdown.stdout).toContain(`- **Working directory:** \`${cwd}\``);
  });

  it("refuses clearly: no sessions, an unknown pod, a session of another pod, a missing or unknown --format", async () => {
    const home = tempHome();
    // Independent commands run together (each is a process start): the test stays short on a loaded machine.
    const [none, history, exported, noFormat, badFormat] = await Promise.all([
      podd(home, ["sessions"]),
      podd(home, ["history", "ghost"], 1),
      podd(home, ["export", "ghost", "--format", "jsonl"], 1),
      podd(home, ["export", "ghost"], 2),
      podd(home, ["export", "ghost", "--format", "csv"], 2),
    ]);
    expect(none.stdout).toBe(`no sessions in ${path.join(home.home, "sessions")}\n`);
    expect(history.stderr).toBe(
      "podd: unknown pod ghost (`podd ls --all` lists the pods; `podd start ghost` starts a new one); `podd sessions` lists the sessions there are\n",
    );
    expect(exported.stderr).toContain("unknown pod ghost");
    expect(noFormat.stderr).toContain("error: required option '--format <jsonl|markdown>' not specified");
    expect(badFormat.stderr).toContain("Allowed choices are jsonl, markdown");

    const pod = await startPod({ home, name: "one", scenario: script().build() });
    const { sessionId } = currentSegment(pod);
    const [empty, otherPod, badId] = await Promise.all([
      podd(home, ["history", "one"]),
      podd(home, ["history", "two", "--session", sessionId], 1),
      podd(home, ["history", "one", "--session", "../one"], 2),
    ]);
    expect(empty.stdout).toContain("(no entries yet)");
    expect(otherPod.stderr).toBe(`podd: session ${sessionId} belongs to pod one, not two\n`);
    expect(badId.stderr).toContain("invalid session id");
  });
});
