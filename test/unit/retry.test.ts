/** The shared retry policy and idle watchdog (src/model/retry.ts, src/model/idle-watchdog.ts), in process. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProviderError } from "../../src/errors.js";
import { withIdleWatchdog } from "../../src/model/idle-watchdog.js";
import { backoffMs, DEFAULT_RETRY_POLICY, isRetryableStatus, retryAfterMs, withRetry } from "../../src/model/retry.js";
import type { StreamPart } from "../../src/model/types.js";

const FAST = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 4 };
const FINISH: StreamPart = { type: "finish", reason: "stop", usage: {} };

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

/** An attempt function that plays one script per call. */
function attempts(...scripts: (StreamPart[] | Error)[]) {
  let call = 0;
  const fn = async function* (): AsyncIterable<StreamPart> {
    const script = scripts[call++];
    if (script instanceof Error) throw script;
    for (const part of script ?? []) yield part;
  };
  return { fn, calls: () => call };
}

describe("retry classification and backoff", () => {
  it("retries timeouts, conflicts, rate limits and server errors, not client errors", () => {
    expect([408, 409, 429, 500, 502, 503, 529].map(isRetryableStatus)).toEqual([true, true, true, true, true, true, true]);
    expect([400, 401, 403, 404, 413, 422].map(isRetryableStatus)).toEqual([false, false, false, false, false, false]);
  });

  it("reads retry-after-ms first, then retry-after in seconds or as an HTTP date", () => {
    const headers = (entries: Record<string, string>) => new Headers(entries);
    expect(retryAfterMs(headers({ "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    expect(retryAfterMs(headers({ "retry-after": "2" }))).toBe(2000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs(headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now)).toBe(5000);
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(headers({ "retry-after": "soon" }))).toBeUndefined();
  });

  it("backs off exponentially with equal jitter, capped, and honours the provider's hint up to its cap", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, policy, undefined, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, policy, undefined, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(1, policy, 1234)).toBe(1234);
    expect(backoffMs(1, policy, 99_000)).toBe(5000);
  });
});

describe("withRetry", () => {
  it("retries a retryable failure before any output, announcing each wait, then passes the stream through", async () => {
    const { fn, calls } = attempts(
      [{ type: "error", error: new ProviderError("slow down", { status: 429, retryable: true, retryAfterMs: 3 }) }],
      new ProviderError("reset", { retryable: true }),
      [{ type: "text-start" }, { type: "text-delta", text: "hi" }, { type: "text-end" }, FINISH],
    );
    const parts = await collect(withRetry(fn, { policy: FAST, signal: new AbortController().signal }));
    expect(calls()).toBe(3);
    expect(parts.slice(0, 2)).toEqual([
      { type: "retry", failedAttempt: 1, maxAttempts: 5, waitMs: 3, elapsedMs: expect.any(Number), status: 429, error: "slow down" },
      { type: "retry", failedAttempt: 2, maxAttempts: 5, waitMs: expect.any(Number), elapsedMs: expect.any(Number), status: undefined, error: "reset" },
    ]);
    expect(parts.slice(2).map((part) => part.type)).toEqual(["text-start", "text-delta", "text-end", "finish"]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const failing = new ProviderError("server error", { status: 500, retryable: true });
    const { fn, calls } = attempts(failing, failing, failing, failing, failing, failing);
    const parts = await collect(withRetry(fn, { policy: FAST, signal: new AbortController().signal }));
    expect(calls()).toBe(5);
    expect(parts.filter((part) => part.type === "retry")).toHaveLength(4);
    const last = parts[parts.length - 1];
    expect(last?.type === "error" && last.error.message).toBe("gave up after 5 attempts: server error");
    expect(last?.type === "error" && last.error.status).toBe(500);
  });

  it("does not retry a terminal failure, nor one after output was yielded", async () => {
    const terminal = attempts(new ProviderError("bad key", { status: 401 }));
    const terminalParts = await collect(withRetry(terminal.fn, { policy: FAST, signal: new AbortController().signal }));
    expect(terminal.calls()).toBe(1);
    expect(terminalParts).toEqual([{ type: "error", error: expect.objectContaining({ message: "bad key" }) }]);
    const midStream = attempts([{ type: "text-start" }, { type: "text-delta", text: "par" }, { type: "error", error: new ProviderError("reset", { retryable: true }) }]);
    const midParts = await collect(withRetry(midStream.fn, { policy: FAST, signal: new AbortController().signal }));
    expect(midStream.calls()).toBe(1);
    expect(midParts.map((part) => part.type)).toEqual(["text-start", "text-delta", "error"]);
  });

  it("ends a backoff at once when the signal aborts, without another attempt", async () => {
    const controller = new AbortController();
    const { fn, calls } = attempts(new ProviderError("slow down", { status: 429, retryable: true, retryAfterMs: 60_000 }), [FINISH]);
    const parts: StreamPart[] = [];
    const started = Date.now();
    for await (const part of withRetry(fn, { policy: DEFAULT_RETRY_POLICY, signal: controller.signal })) {
      parts.push(part);
      if (part.type === "retry") controller.abort("cancel");
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls()).toBe(1);
    expect(parts.map((part) => part.type)).toEqual(["retry"]);
  });
});

describe("withIdleWatchdog", () => {
  it("passes items through while they keep coming", async () => {
    async function* steady() {
      for (let index = 0; index < 5; index += 1) yield index;
    }
    const out: number[] = [];
    for await (const value of withIdleWatchdog(steady(), { idleMs: 1000, onStall: () => undefined })) out.push(value);
    expect(out).toEqual([0, 1, 2, 3, 4]);
  });

  it("calls onStall and throws a retryable 'stalled' error when the source goes quiet", async () => {
    let stalled = false;
    let release: () => void = () => undefined;
    async function* trickleThenStall() {
      yield 1;
      await new Promise<void>((resolve) => (release = resolve));
      yield 2;
    }
    const out: number[] = [];
    const run = (async () => {
      for await (const value of withIdleWatchdog(trickleThenStall(), { idleMs: 30, onStall: () => (stalled = true) })) out.push(value);
    })();
    await expect(run).rejects.toMatchObject({ name: "ProviderError", retryable: true, message: expect.stringContaining("stalled") });
    expect(stalled).toBe(true);
    expect(out).toEqual([1]);
    release();
  });
});

describe("withIdleWatchdog's first item", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("allows the first item its own, longer limit, then holds later gaps to idleMs", async () => {
    // The watchdog's clock and timers are faked, so the test moves time itself instead of sleeping.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let sendFirst: () => void = () => undefined;
    let release: () => void = () => undefined;
    async function* slowStartThenGap() {
      await new Promise<void>((resolve) => (sendFirst = resolve));
      yield "first";
      await new Promise<void>((resolve) => (release = resolve));
      yield "never";
    }
    let stalls = 0;
    let firstSeen: () => void = () => undefined;
    const sawFirst = new Promise<void>((resolve) => (firstSeen = resolve));
    const out: string[] = [];
    const run = (async () => {
      for await (const value of withIdleWatchdog(slowStartThenGap(), { idleMs: 20, firstItemMs: 2_000, onStall: () => (stalls += 1) })) {
        out.push(value);
        firstSeen();
      }
    })();
    const failure = run.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Far past idleMs but within firstItemMs: the wait for the first item is not a stall.
    await vi.advanceTimersByTimeAsync(1_999);
    expect(stalls).toBe(0);
    sendFirst();
    await sawFirst;
    expect(out).toEqual(["first"]);
    // From the first item on, a gap of idleMs is a stall, and not a moment sooner.
    await vi.advanceTimersByTimeAsync(19);
    expect(stalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await failure).toMatchObject({ name: "ProviderError", retryable: true, message: "the model stream stalled: no data for 20 ms" });
    expect(stalls).toBe(1);
    expect(out).toEqual(["first"]);
    release();
  });
});
