/**
 * Every line a pod sends a client that has not opted in to podd's extensions (it sent no `id`),
 * and every line a pod sends a parent, must decode with the reference's types
 * (test/helpers/reference-shapes.ts). The integration helpers report what they read here
 * (`watchClient`, `checkParentLine`); test/setup/reference-wire.ts fails the test that saw a bad line.
 */
import type { PodClient } from "../../src/client/pod-client.js";
import { referenceEventProblem, referenceMethodProblem } from "./reference-shapes.js";

export interface WireViolation {
  direction: "pod → client" | "child → parent";
  problem: string;
  line: string;
}

const violations: WireViolation[] = [];

/** The violations seen since the last call, and forget them. */
export function takeWireViolations(): WireViolation[] {
  return violations.splice(0, violations.length);
}

function record(direction: WireViolation["direction"], problem: string | undefined, line: string): void {
  if (problem !== undefined) violations.push({ direction, problem, line: line.length > 300 ? `${line.slice(0, 300)}…` : line });
}

/**
 * Check each event line `client` receives until it sends a line with an `id` (a podd client, from
 * then on sent podd's extensions). Wraps the client's senders to see that: `request` always sends
 * an id, `send` and `writeRaw` when their method or bytes carry one.
 */
export function watchClient(client: PodClient): void {
  let optedIn = false;
  const { request, send, writeRaw } = client;
  client.request = (method, options) => {
    optedIn = true;
    return request.call(client, method, options);
  };
  client.send = (method) => {
    if (method.id !== undefined) optedIn = true;
    send.call(client, method);
  };
  client.writeRaw = (data) => {
    if (String(data).includes('"id"')) optedIn = true;
    writeRaw.call(client, data);
  };
  client.onEvent((_event, line) => {
    if (!optedIn) record("pod → client", referenceEventProblem(line), line);
  });
}

/** Check a line a child pod sent its parent: a reference parent decodes it as a `protocol::Method`. */
export function checkParentLine(line: string): void {
  record("child → parent", referenceMethodProblem(line), line);
}
