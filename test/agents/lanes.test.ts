/** Agent lanes: admission order, limits, refusals and aborts, without a gateway. */
import { describe, expect, test } from "bun:test";
import {
  AgentLanes,
  defaultMaxConcurrent,
  DEFAULT_SESSION_QUEUE_CAP,
  GATEWAY_QUEUE_FULL_MESSAGE,
  laneLimitsFrom,
  mayAbort,
  maxConcurrentFrom,
  QueueFullError,
  SESSION_QUEUE_FULL_MESSAGE,
  sessionQueueCapFrom,
  type LaneLimits,
} from "../../src/agents/lanes.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { ProviderError, toHttpFailure } from "../../src/providers/errors.ts";

function lanes(limits: Partial<LaneLimits> = {}): AgentLanes {
  const l: LaneLimits = { maxConcurrent: 2, sessionQueueCap: 3, maxQueued: 10, ...limits };
  return new AgentLanes(() => l);
}

const states = (l: AgentLanes) => Object.fromEntries(l.tickets().map((t) => [t.runId, t.state]));

describe("limits from config", () => {
  test("maxConcurrent defaults to max(8, CPUs × 4), an explicit positive integer wins", () => {
    expect(defaultMaxConcurrent(1)).toBe(8);
    expect(defaultMaxConcurrent(2)).toBe(8);
    expect(defaultMaxConcurrent(8)).toBe(32);
    expect(defaultMaxConcurrent(48)).toBe(192);
    const cfg = (v: unknown) => ({ agents: { defaults: { maxConcurrent: v } } }) as unknown as OpenClawConfig;
    expect(maxConcurrentFrom(cfg(3))).toBe(3);
    for (const bad of [0, -1, 1.5, "4", null]) expect(maxConcurrentFrom(cfg(bad))).toBe(defaultMaxConcurrent());
    expect(maxConcurrentFrom({})).toBe(defaultMaxConcurrent());
  });

  test("the session queue cap is messages.queue.cap (values below 1 ignored), default 20", () => {
    const cfg = (v: unknown) => ({ messages: { queue: { cap: v } } }) as unknown as OpenClawConfig;
    expect(DEFAULT_SESSION_QUEUE_CAP).toBe(20);
    expect(sessionQueueCapFrom(cfg(5))).toBe(5);
    expect(sessionQueueCapFrom(cfg(0))).toBe(20);
    expect(sessionQueueCapFrom({})).toBe(20);
    expect(laneLimitsFrom(cfg(7))).toMatchObject({ sessionQueueCap: 7, maxQueued: 1000 });
  });
});

describe("admission", () => {
  test("one run at a time per session, in order", async () => {
    const l = lanes();
    const a = l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    const b = l.admit({ runId: "b", sessionKey: "s1", agentId: "main" });
    const c = l.admit({ runId: "c", sessionKey: "s1", agentId: "main" });
    expect(states(l)).toEqual({ a: "running", b: "queued", c: "queued" });
    expect(a.waited).toBe(false);
    expect(b.waited).toBe(true);
    await a.ready;
    a.release();
    await b.ready;
    expect(states(l)).toEqual({ b: "running", c: "queued" });
    b.release();
    await c.ready;
    c.release();
    expect(l.stats()).toMatchObject({ running: 0, queued: 0, sessions: 0 });
  });

  test("at most maxConcurrent across sessions; a busy session does not hold up the others behind it", () => {
    const l = lanes({ maxConcurrent: 2 });
    const a = l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "b", sessionKey: "s2", agentId: "main" });
    l.admit({ runId: "a2", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "c", sessionKey: "s3", agentId: "main" });
    expect(states(l)).toEqual({ a: "running", b: "running", a2: "queued", c: "queued" });
    // s1 frees its slot: a2 (older) starts before c.
    a.release();
    expect(states(l)).toEqual({ b: "running", a2: "running", c: "queued" });
    expect(l.stats()).toMatchObject({ running: 2, queued: 1, maxConcurrent: 2 });
  });

  test("a raised limit (config reload) starts waiting runs on the next decision", () => {
    const limits: LaneLimits = { maxConcurrent: 1, sessionQueueCap: 3, maxQueued: 10 };
    const l = new AgentLanes(() => limits);
    const a = l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "b", sessionKey: "s2", agentId: "main" });
    l.admit({ runId: "c", sessionKey: "s3", agentId: "main" });
    limits.maxConcurrent = 3;
    a.release();
    expect(states(l)).toEqual({ b: "running", c: "running" });
  });

  test("a full session queue refuses the newest with the original's text; the gateway queue has its own bound", () => {
    const l = lanes({ maxConcurrent: 1, sessionQueueCap: 2, maxQueued: 3 });
    l.admit({ runId: "r", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "q1", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "q2", sessionKey: "s1", agentId: "main" });
    let err: unknown;
    try {
      l.admit({ runId: "q3", sessionKey: "s1", agentId: "main" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as QueueFullError).scope).toBe("session");
    expect((err as Error).message).toBe(SESSION_QUEUE_FULL_MESSAGE);
    expect(l.get("q3")).toBeUndefined();
    l.admit({ runId: "o1", sessionKey: "s2", agentId: "main" });
    expect(() => l.admit({ runId: "o2", sessionKey: "s3", agentId: "main" })).toThrow(GATEWAY_QUEUE_FULL_MESSAGE(3));
    expect(l.stats()).toMatchObject({ running: 1, queued: 3 });
  });

  test("queue_full maps to HTTP 429 rate_limit_error with code queue_full", () => {
    expect(toHttpFailure(new QueueFullError("session", SESSION_QUEUE_FULL_MESSAGE))).toEqual({
      status: 429,
      type: "rate_limit_error",
      message: SESSION_QUEUE_FULL_MESSAGE,
      code: "queue_full",
    });
  });

  test("a run id is admitted once", () => {
    const l = lanes();
    l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    expect(() => l.admit({ runId: "a", sessionKey: "s2", agentId: "main" })).toThrow("already admitted");
  });
});

describe("aborts", () => {
  test("a waiting run leaves the queue and its waiter is rejected; a running one is signalled and frees its slot on release", async () => {
    const l = lanes({ maxConcurrent: 1 });
    const a = l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    const b = l.admit({ runId: "b", sessionKey: "s2", agentId: "main" });
    const c = l.admit({ runId: "c", sessionKey: "s3", agentId: "main" });
    expect(l.abort("b")).toBe(b);
    const rejected = await b.ready.then(() => undefined, (e) => e);
    expect(rejected).toBeInstanceOf(ProviderError);
    expect((rejected as ProviderError).reason).toBe("aborted");
    expect(states(l)).toEqual({ a: "running", c: "queued" });
    l.abort("a");
    expect(a.signal.aborted).toBe(true);
    expect(a.state).toBe("running"); // still holds the slot until its work settles
    a.release();
    await c.ready;
    expect(states(l)).toEqual({ c: "running" });
    expect(l.abort("nope")).toBeUndefined();
  });

  test("the caller's signal aborts a waiting run (an HTTP client that went away)", async () => {
    const l = lanes({ maxConcurrent: 1 });
    l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    const gone = new AbortController();
    const b = l.admit({ runId: "b", sessionKey: "s2", agentId: "main", signal: gone.signal });
    gone.abort("client disconnected");
    await expect(b.ready).rejects.toBeInstanceOf(ProviderError);
    expect(l.get("b")).toBeUndefined();
    expect(b.signal.aborted).toBe(true);
  });

  test("by session: waiting runs first, then the running one; only what the requester may abort", () => {
    const l = lanes({ maxConcurrent: 4, sessionQueueCap: 5 });
    l.admit({ runId: "r", sessionKey: "s1", agentId: "main", owner: { connId: "c1" } });
    l.admit({ runId: "w1", sessionKey: "s1", agentId: "main", owner: { connId: "c1" } });
    l.admit({ runId: "w2", sessionKey: "s1", agentId: "main", owner: { connId: "c2" } });
    const other = l.abortSession("s1", { requester: { connId: "c1", isAdmin: false } });
    expect(other).toEqual({ runIds: ["w1", "r"], unauthorized: 1 });
    expect(l.get("w2")?.state).toBe("queued");
    expect(l.abortSession("s1", { requester: { connId: "zz", isAdmin: true } }).runIds).toEqual(["w2", "r"]);
  });

  test("by session, keeping the queue (sessions.abort without clearQueued)", () => {
    const l = lanes({ maxConcurrent: 4 });
    l.admit({ runId: "r", sessionKey: "s1", agentId: "main" });
    l.admit({ runId: "w", sessionKey: "s1", agentId: "main" });
    expect(l.abortSession("s1", { waiting: false }).runIds).toEqual(["r"]);
    expect(l.get("w")?.state).toBe("queued");
  });

  test("abort rules: admin anything; owner by connection or device; ownerless runs unless the owner must match", () => {
    expect(mayAbort({ connId: "a" }, { isAdmin: true })).toBe(true);
    expect(mayAbort({ connId: "a" }, { connId: "a", isAdmin: false })).toBe(true);
    expect(mayAbort({ deviceId: "d" }, { deviceId: "d", isAdmin: false })).toBe(true);
    expect(mayAbort({ connId: "a" }, { connId: "b", isAdmin: false })).toBe(false);
    expect(mayAbort(undefined, { connId: "b", isAdmin: false })).toBe(true);
    expect(mayAbort(undefined, { connId: "b", isAdmin: false }, true)).toBe(false);
  });

  test("abortAll empties the lanes", async () => {
    const l = lanes({ maxConcurrent: 1 });
    const a = l.admit({ runId: "a", sessionKey: "s1", agentId: "main" });
    const b = l.admit({ runId: "b", sessionKey: "s1", agentId: "main" });
    l.abortAll("gateway stopping");
    await expect(b.ready).rejects.toBeInstanceOf(ProviderError);
    expect(a.signal.reason).toBe("gateway stopping");
    a.release();
    expect(l.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
