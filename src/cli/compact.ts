/**
 * `podd compact <pod>`: ask an idle pod to compact its session (the `compact` method) and wait
 * for the outcome: `compact_done` prints the new segment id (exit 0), `compact_failed` its error
 * (exit 1; the pod keeps its old segment and keeps working).
 */
import { CliError, connectTo, request } from "./targets.js";

/** How long the CLI waits for a compaction by default, ms (the pod's own limit is usually lower). */
export const DEFAULT_COMPACT_WAIT_MS = 300_000;

export async function compactCommand(target: string, options: { json?: boolean; timeout?: number }): Promise<void> {
  const client = await connectTo(target);
  // Subscribe before asking: the outcome may arrive right behind the ack.
  const outcome = client.collectUntil((event) => event.event === "compact_done" || event.event === "compact_failed", {
    timeoutMs: options.timeout ?? DEFAULT_COMPACT_WAIT_MS,
  });
  outcome.catch(() => undefined);
  await request(client, { method: "compact" });
  let events;
  try {
    events = await outcome;
  } catch (error) {
    client.destroy();
    throw new CliError(`${(error as Error).message}; the compaction may still be running (see \`podd logs ${target}\`)`);
  }
  await client.close();
  const last = events[events.length - 1];
  if (last?.event === "compact_done") {
    process.stdout.write(options.json ? `${JSON.stringify({ ok: true, new_segment_id: last.data.new_segment_id })}\n` : `compacted: new segment ${last.data.new_segment_id}\n`);
    return;
  }
  const error = last?.event === "compact_failed" ? last.data.error : "no outcome";
  if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
  throw new CliError(`compaction failed: ${error} (the session was kept as it was)`);
}
