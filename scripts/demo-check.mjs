// How far the demo's root got, from its session (`podd export <root> --format jsonl --active`
// on stdin, one log entry a line). Prints one line: `failed: <what>` for the first failed step
// (a tool call of the root that failed, e.g. a refused spawn_pod; a child's errored report; a
// failed run of the root), else `done` once the root's summary is there, else `waiting`.
import { readFileSync } from "node:fs";

const entries = readFileSync(0, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return []; // a line still being written
    }
  });
for (const entry of entries) {
  if (entry.kind === "tool_result" && entry.item?.is_error) {
    console.log(`failed: a tool call of the root failed: ${entry.item.output ?? entry.item.summary}`);
    process.exit(0);
  }
  const event = entry.kind === "system_item" && entry.item?.kind === "pod_event" ? entry.item.event : undefined;
  if (event?.kind === "errored") {
    console.log(`failed: child pod ${event.pod_name} errored: ${event.message}`);
    process.exit(0);
  }
  if (entry.kind === "run_errored") {
    console.log(`failed: a run of the root failed: ${entry.message}`);
    process.exit(0);
  }
}
const summarised = entries.some((entry) => entry.kind === "assistant_item" && entry.item?.kind === "message" && entry.item.content.includes("Summary: two child pods"));
console.log(summarised ? "done" : "waiting");
