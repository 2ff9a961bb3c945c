/**
 * The scheduler with a hand-driven clock and a real SQLite store: schedules, runs, history,
 * overruns, timeouts, errors, backoff, clock jumps, catch-up after downtime, restarts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { CronService, type CronServiceOptions, ERROR_BACKOFF_MS } from "../../src/automation/service.ts";
import { RpcError } from "../../src/protocol/errors.ts";
import { EventLog, FakeAgent, ManualClock, flush, tempStore, type TempStore } from "./helpers.ts";

const T0 = Date.parse("2026-12-06T00:00:00Z");
const MIN = 60_000;
const HOUR = 3_600_000;

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

interface Harness {
  clock: ManualClock;
  tmp: TempStore;
  svc: CronService;
  events: EventLog;
  agent: FakeAgent;
}

function harness(opts: Partial<CronServiceOptions> = {}, start = T0): Harness {
  const clock = new ManualClock(start);
  const tmp = tempStore(() => clock.now());
  const events = new EventLog();
  const agent = new FakeAgent();
  const svc = new CronService({ store: tmp.store, clock, emit: events.emit, runAgentTurn: agent.run, ...opts });
  svc.start();
  cleanup.push(() => {
    svc.stop();
    tmp.close();
  });
  return { clock, tmp, svc, events, agent };
}

function addEvery(h: Harness, everyMs: number, extra: Record<string, unknown> = {}) {
  return h.svc.add({
    name: "every-job",
    enabled: true,
    schedule: { kind: "every", everyMs },
    sessionTarget: "isolated",
    wakeMode: "now",
    payload: { kind: "agentTurn", message: "hello every" },
    delivery: { mode: "none" },
    ...extra,
  } as never) as Record<string, any>;
}

function rpcError(fn: () => unknown): RpcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error("expected an RpcError");
}

describe("every", () => {
  test("first run at creation + interval, then every interval; history and events", async () => {
    const h = harness();
    const job = addEvery(h, 10 * MIN);
    expect(job.schedule).toEqual({ kind: "every", everyMs: 600_000, anchorMs: T0 });
    expect(job.state.nextRunAtMs).toBe(T0 + 10 * MIN);
    expect(job.nextRunAtMs).toBe(T0 + 10 * MIN);
    expect(job.deliveryPreview).toEqual({ label: "not requested", detail: "not requested" });
    expect(job.payload).toEqual({ kind: "agentTurn", message: "hello every", toolsAllow: ["*"] });

    await h.clock.advance(10 * MIN - 1);
    expect(h.agent.calls.length).toBe(0);
    await h.clock.advance(1);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(1);
    const req = h.agent.calls[0];
    expect(req.message).toBe("hello every");
    expect(req.isolated).toBe(true);
    expect(req.sessionKey).toBe(`agent:main:cron:${job.id}:run:${req.sessionId}`);

    expect(h.events.actions(job.id)).toEqual(["added", "started", "finished", "scheduled"]);
    const finished = h.events.finished(job.id)[0];
    expect(finished).toMatchObject({
      status: "ok",
      completionStatus: "succeeded",
      summary: "done: hello every",
      delivered: false,
      deliveryStatus: "not-requested",
      model: "echo",
      provider: "fake",
      runAtMs: T0 + 10 * MIN,
      nextRunAtMs: T0 + 20 * MIN,
    });
    expect(finished.runId).toBeUndefined();

    const runs = h.svc.runs({ id: job.id, limit: 20 }) as any;
    expect(runs.total).toBe(1);
    expect(runs.entries[0]).toMatchObject({ jobId: job.id, action: "finished", status: "ok", jobName: "every-job", durationMs: 0 });

    await h.clock.advance(10 * MIN);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(2);
    expect((h.svc.get({ id: job.id }) as any).state).toMatchObject({
      lastRunStatus: "ok",
      lastStatus: "ok",
      consecutiveErrors: 0,
      nextRunAtMs: T0 + 30 * MIN,
      lastDeliveryStatus: "not-requested",
      lastFailureNotificationDeliveryStatus: "not-requested",
    });
  });

  test("one timer for a thousand jobs", () => {
    const h = harness();
    for (let i = 0; i < 1000; i++) addEvery(h, (i + 1) * MIN);
    expect(h.clock.pending()).toBe(1);
    expect(h.clock.nextTimerAt()).toBe(T0 + MIN);
  });

  test("the timer is capped so a wall-clock change is noticed", () => {
    const h = harness({ maxTimerDelayMs: 60_000 });
    addEvery(h, 24 * HOUR);
    expect(h.clock.nextTimerAt()).toBe(T0 + 60_000);
  });
});

describe("cron schedules", () => {
  test("time zone and top-of-hour stagger", async () => {
    const h = harness();
    const brief = h.svc.add({
      name: "cron-job",
      schedule: { kind: "cron", expr: "0 7 * * *", tz: "Europe/Berlin" },
      sessionTarget: "isolated",
      wakeMode: "now",
      payload: { kind: "agentTurn", message: "morning brief" },
    } as never) as any;
    expect(brief.schedule).toEqual({ kind: "cron", expr: "0 7 * * *", tz: "Europe/Berlin" });
    expect(brief.state.nextRunAtMs).toBe(Date.parse("2026-12-06T06:00:00Z"));
    expect(brief.delivery).toEqual({ mode: "announce" });

    const hourly = h.svc.add({
      name: "hourly",
      schedule: { kind: "cron", expr: "0 * * * *" },
      payload: { kind: "agentTurn", message: "hourly" },
    } as never) as any;
    expect(hourly.schedule.staggerMs).toBe(300_000);
    // The 00:00 slot plus this job's fixed offset is still ahead of T0 (00:00:00).
    const offset = hourly.state.nextRunAtMs - T0;
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(300_000);

    const exact = h.svc.add({
      name: "exact",
      schedule: { kind: "cron", expr: "0 * * * *", staggerMs: 0 },
      payload: { kind: "agentTurn", message: "x" },
    } as never) as any;
    expect(exact.state.nextRunAtMs).toBe(Date.parse("2026-12-06T01:00:00Z"));
  });

  test("a daily Berlin job across the spring-forward night skips only the missing time", async () => {
    const start = Date.parse("2027-03-27T12:00:00Z");
    const h = harness({}, start);
    const job = h.svc.add({
      name: "gap",
      schedule: { kind: "cron", expr: "30 2 * * *", tz: "Europe/Berlin" },
      payload: { kind: "agentTurn", message: "x" },
      delivery: { mode: "none" },
    } as never) as any;
    expect(job.state.nextRunAtMs).toBe(Date.parse("2027-03-29T00:30:00Z"));
    await h.clock.advance(Date.parse("2027-03-29T00:30:00Z") - start);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(1);
    expect((h.svc.get({ id: job.id }) as any).state.nextRunAtMs).toBe(Date.parse("2027-03-30T00:30:00Z"));
  });

  test("a New York job across fall back runs once on the repeated hour", async () => {
    const start = Date.parse("2026-10-31T12:00:00Z");
    const h = harness({}, start);
    h.svc.add({
      name: "overlap",
      schedule: { kind: "cron", expr: "30 1 * * *", tz: "America/New_York" },
      payload: { kind: "agentTurn", message: "x" },
      delivery: { mode: "none" },
    } as never);
    await h.clock.advance(Date.parse("2026-11-02T00:00:00Z") - start);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(1);
    expect(h.events.finished()[0].runAtMs).toBe(Date.parse("2026-11-01T05:30:00Z"));
  });
});

describe("at (one-shot)", () => {
  test("runs once and is deleted after success", async () => {
    const h = harness();
    const job = h.svc.add({
      name: "at-rel",
      schedule: { kind: "at", at: new Date(T0 + 20 * MIN).toISOString() },
      payload: { kind: "agentTurn", message: "in twenty" },
      delivery: { mode: "none", channel: "last" },
    } as never) as any;
    expect(job.deleteAfterRun).toBe(true);
    expect(job.state.nextRunAtMs).toBe(T0 + 20 * MIN);
    await h.clock.advance(20 * MIN);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(1);
    expect(h.events.actions(job.id)).toEqual(["added", "started", "finished", "removed"]);
    expect(() => h.svc.get({ id: job.id })).toThrow(/cron job not found/);
    // History outlives the job.
    expect((h.svc.runs({ id: job.id }) as any).total).toBe(1);
    expect(h.clock.pending()).toBe(0);
  });

  test("deleteAfterRun:false keeps it, disabled", async () => {
    const h = harness();
    const job = h.svc.add({
      name: "keep",
      deleteAfterRun: false,
      schedule: { kind: "at", at: new Date(T0 + MIN).toISOString() },
      payload: { kind: "agentTurn", message: "x" },
    } as never) as any;
    await h.clock.advance(MIN);
    await h.svc.idle();
    const after = h.svc.get({ id: job.id }) as any;
    expect(after.enabled).toBe(false);
    expect(after.state.nextRunAtMs).toBeUndefined();
  });

  test("a transient failure is retried with backoff, a permanent one disables", async () => {
    const h = harness();
    h.agent.mode = "throw";
    h.agent.error = "upstream 429 rate limit";
    const job = h.svc.add({
      name: "retry",
      schedule: { kind: "at", at: new Date(T0 + MIN).toISOString() },
      payload: { kind: "agentTurn", message: "x" },
      delivery: { mode: "none" },
    } as never) as any;
    await h.clock.advance(MIN);
    await h.svc.idle();
    let state = (h.svc.get({ id: job.id }) as any).state;
    expect(state.nextRunAtMs).toBe(T0 + MIN + ERROR_BACKOFF_MS[0]);
    h.agent.error = "invalid api key";
    await h.clock.advance(ERROR_BACKOFF_MS[0]);
    await h.svc.idle();
    const after = h.svc.get({ id: job.id }) as any;
    expect(after.enabled).toBe(false);
    expect(after.state.lastError).toBe("invalid api key");
    expect(h.agent.calls.length).toBe(2);
  });
});

describe("failures and timeouts", () => {
  test("an executor that throws is recorded as error, backs off, and the scheduler keeps going", async () => {
    const h = harness();
    h.agent.mode = "throw";
    const bad = addEvery(h, MIN, { name: "bad" });
    const good = addEvery(h, MIN, { name: "good" });
    await h.clock.advance(MIN);
    await h.svc.idle();
    const runs = h.svc.runs({ id: bad.id }) as any;
    expect(runs.entries[0]).toMatchObject({ status: "error", completionStatus: "failed", error: "provider exploded: 500 internal error" });
    const state = (h.svc.get({ id: bad.id }) as any).state;
    expect(state.consecutiveErrors).toBe(1);
    expect(state.lastError).toBe("provider exploded: 500 internal error");
    // Backoff 30 s < natural next 60 s: the natural slot wins.
    expect(state.nextRunAtMs).toBe(T0 + 2 * MIN);
    h.agent.mode = "reply";
    await h.clock.advance(MIN);
    await h.svc.idle();
    expect((h.svc.get({ id: good.id }) as any).state.lastRunStatus).toBe("ok");
    expect((h.svc.get({ id: bad.id }) as any).state.consecutiveErrors).toBe(0);
  });

  test("backoff grows and ten consecutive failures disable a recurring job", async () => {
    const h = harness();
    h.agent.mode = "throw";
    const job = addEvery(h, 10_000);
    for (let i = 0; i < 10; i++) {
      const next = (h.svc.get({ id: job.id }) as any).state.nextRunAtMs;
      await h.clock.advance(next - h.clock.now());
      await h.svc.idle();
      const s = (h.svc.get({ id: job.id }) as any).state;
      if (i < 9) {
        expect(s.nextRunAtMs - h.clock.now()).toBe(ERROR_BACKOFF_MS[Math.min(i, 4)]);
      }
    }
    const after = h.svc.get({ id: job.id }) as any;
    expect(after.enabled).toBe(false);
    expect(after.state.autoDisabled).toMatchObject({ reason: "consecutive-failures", consecutiveErrors: 10 });
    expect(after.state.nextRunAtMs).toBeUndefined();
    // Re-enabling clears the record and the streak.
    const re = h.svc.update({ id: job.id, patch: { enabled: true } } as never) as any;
    expect(re.state.autoDisabled).toBeUndefined();
    expect(re.state.consecutiveErrors).toBe(0);
    expect(re.state.nextRunAtMs).toBeGreaterThan(h.clock.now());
  });

  test("an executor that hangs is timed out, aborted, recorded as error; others still run", async () => {
    const h = harness({ cleanupGraceMs: 1000 });
    h.agent.mode = "hang";
    const slow = addEvery(h, HOUR, { name: "slow", payload: { kind: "agentTurn", message: "x", timeoutSeconds: 60 } });
    await h.clock.advance(HOUR);
    expect(h.svc.activeRuns().map((r) => r.jobId)).toEqual([slow.id]);
    const running = h.svc.get({ id: slow.id }) as any;
    expect(running.state.runningAtMs).toBe(T0 + HOUR);
    h.agent.mode = "reply";
    const other = addEvery(h, MIN, { name: "other" });
    await h.clock.advance(MIN);
    await h.clock.advance(1000);
    await h.svc.idle();
    expect(h.agent.calls[0].signal.aborted).toBe(true);
    const runs = h.svc.runs({ id: slow.id }) as any;
    expect(runs.entries[0]).toMatchObject({ status: "error", error: "cron: job execution timed out after 60s", durationMs: 60_000 });
    expect((h.svc.get({ id: other.id }) as any).state.lastRunStatus).toBe("ok");
  });

  test("an executor that ignores the abort is released after the grace period", async () => {
    const h = harness({ cleanupGraceMs: 5000 });
    h.agent.mode = "hang-ignore-abort";
    const job = addEvery(h, HOUR, { payload: { kind: "agentTurn", message: "x", timeoutSeconds: 10 } });
    await h.clock.advance(HOUR + 10_000);
    expect(h.svc.activeRuns().length).toBe(1);
    await h.clock.advance(5000);
    await h.svc.idle();
    expect(h.svc.activeRuns().length).toBe(0);
    expect(((h.svc.runs({ id: job.id }) as any).entries[0]).error).toMatch(/timed out/);
    h.agent.releaseAll();
    await flush();
    expect((h.svc.runs({ id: job.id }) as any).total).toBe(1);
  });
});

describe("no two runs at once", () => {
  test("an overrun is recorded, the slot skipped, and the next slot counted from the end", async () => {
    const h = harness();
    h.agent.mode = "hang";
    const job = addEvery(h, MIN, { payload: { kind: "agentTurn", message: "x", timeoutSeconds: 0 } });
    await h.clock.advance(MIN);
    expect(h.agent.calls.length).toBe(1);
    await h.clock.advance(2 * MIN + 30_000);
    expect(h.agent.calls.length).toBe(1);
    const overruns = (h.svc.runs({ id: job.id }) as any).entries;
    expect(overruns.map((e: any) => [e.status, e.runAtMs])).toEqual([
      ["skipped", T0 + 3 * MIN],
      ["skipped", T0 + 2 * MIN],
    ]);
    expect(overruns[0].error).toMatch(/previous run still in progress/);
    h.agent.releaseAll();
    await h.svc.idle();
    const state = (h.svc.get({ id: job.id }) as any).state;
    expect(state.lastRunStatus).toBe("ok");
    expect(state.nextRunAtMs).toBe(T0 + 4 * MIN);
    expect(h.agent.calls.length).toBe(1);
  });

  test("a manual run while running is queued behind it", async () => {
    const h = harness();
    h.agent.mode = "hang";
    const job = addEvery(h, HOUR);
    const first = h.svc.run({ id: job.id }) as any;
    const second = h.svc.run({ id: job.id, mode: "force" }) as any;
    expect(first).toMatchObject({ ok: true, enqueued: true, runId: `manual:${job.id}:${T0}:1` });
    expect(second.runId).toBe(`manual:${job.id}:${T0}:2`);
    expect(h.svc.run({ id: job.id, mode: "due" })).toMatchObject({ ok: true, ran: false, reason: "already-running" });
    await flush();
    expect(h.agent.calls.length).toBe(1);
    h.agent.releaseAll();
    await flush();
    expect(h.agent.calls.length).toBe(2);
    h.agent.releaseAll();
    await h.svc.idle();
    const runs = (h.svc.runs({ id: job.id }) as any).entries;
    expect(runs.map((e: any) => e.runId)).toEqual([second.runId, first.runId]);
    expect((h.svc.runs({ id: job.id, runId: first.runId }) as any).entries.length).toBe(1);
  });
});

describe("manual runs", () => {
  test("force preserves the schedule; a disabled job runs and stays disabled; due/if-enabled", async () => {
    const h = harness();
    const job = addEvery(h, 10 * MIN);
    await h.clock.advance(MIN);
    const res = h.svc.run({ id: job.id }) as any;
    expect(res).toEqual({ ok: true, enqueued: true, runId: `manual:${job.id}:${T0 + MIN}:1`, processInstanceId: h.svc.processInstanceId });
    await h.svc.idle();
    const after = h.svc.get({ id: job.id }) as any;
    expect(after.state.nextRunAtMs).toBe(T0 + 10 * MIN);
    expect(h.events.actions(job.id)).toEqual(["added", "started", "finished"]);
    expect(h.svc.run({ id: job.id, mode: "due" })).toMatchObject({ ran: false, reason: "not-due" });

    h.svc.update({ id: job.id, patch: { enabled: false } } as never);
    expect(h.svc.run({ id: job.id, mode: "if-enabled" })).toMatchObject({ ok: true, ran: false, reason: "disabled" });
    h.svc.run({ jobId: job.id } as never);
    await h.svc.idle();
    expect(h.agent.calls.length).toBe(2);
    expect((h.svc.get({ id: job.id }) as any).enabled).toBe(false);
    expect(() => h.svc.run({ id: "nope" })).toThrow(/Automation not found: nope/);
    const mismatch = rpcError(() => h.svc.run({ id: job.id, expectedProcessInstanceId: "other" }));
    expect(mismatch.code).toBe("UNAVAILABLE");
  });
});

describe("clock jumps", () => {
  test("a suspend/resume far past many slots runs each job once, no burst", async () => {
    const h = harness();
    const a = addEvery(h, MIN, { name: "a" });
    const b = h.svc.add({ name: "b", schedule: { kind: "cron", expr: "*/5 * * * *" }, payload: { kind: "agentTurn", message: "b" }, delivery: { mode: "none" } } as never) as any;
    await h.clock.jump(3 * 24 * HOUR);
    await h.svc.idle();
    expect(h.agent.calls.map((c) => c.jobId).sort()).toEqual([a.id, b.id].sort());
    const now = h.clock.now();
    expect((h.svc.get({ id: a.id }) as any).state.nextRunAtMs).toBe(now + MIN);
    expect((h.svc.get({ id: b.id }) as any).state.nextRunAtMs).toBeGreaterThan(now);
    await h.clock.advance(MIN);
    await h.svc.idle();
    expect(h.agent.calls.filter((c) => c.jobId === a.id).length).toBe(2);
  });

  test("the wall clock moving backwards does not re-run past slots", async () => {
    const h = harness();
    const job = addEvery(h, MIN);
    await h.clock.advance(MIN);
    await h.svc.idle();
    h.clock.t -= HOUR;
    await h.clock.advance(MIN);
    await h.svc.idle();
    expect(h.agent.calls.filter((c) => c.jobId === job.id).length).toBe(1);
  });
});

describe("restarts", () => {
  test("jobs and state survive a restart; missed agent jobs catch up once after the startup delay", async () => {
    const clock = new ManualClock(T0);
    let tmp = tempStore(() => clock.now());
    const agent = new FakeAgent();
    const svc1 = new CronService({ store: tmp.store, clock, runAgentTurn: agent.run });
    svc1.start();
    const every = svc1.add({ name: "every", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "agentTurn", message: "e" }, delivery: { mode: "none" } } as never) as any;
    const wake = svc1.add({
      name: "remind",
      schedule: { kind: "every", everyMs: MIN },
      sessionTarget: "main",
      wakeMode: "next-heartbeat",
      payload: { kind: "systemEvent", text: "Reminder" },
    } as never) as any;
    svc1.stop();

    // Down for three hours.
    clock.t += 3 * HOUR;
    tmp = tmp.reopen(() => clock.now());
    const events = new EventLog();
    const systemEvents: string[] = [];
    const svc2 = new CronService({
      store: tmp.store,
      clock,
      emit: events.emit,
      runAgentTurn: agent.run,
      onSystemEvent: (e) => systemEvents.push(e.text),
    });
    svc2.start();
    cleanup.push(() => {
      svc2.stop();
      tmp.close();
    });
    expect(svc2.allJobs().map((j) => j.name).sort()).toEqual(["every", "remind"]);
    expect((svc2.get({ id: every.id }) as any).state.nextRunAtMs).toBe(clock.now() + 120_000);
    await clock.advance(0);
    await svc2.idle();
    // The non-agent job ran at once, once.
    expect(systemEvents).toEqual(["Reminder"]);
    expect(agent.calls.length).toBe(0);
    await clock.advance(120_000);
    await svc2.idle();
    expect(agent.calls.length).toBe(1);
    expect(events.finished(every.id).length).toBe(1);
    expect(events.finished(wake.id).length).toBe(3);
  });

  test("skipMissedJobs moves recurring jobs to their next future slot", async () => {
    const clock = new ManualClock(T0);
    let tmp = tempStore(() => clock.now());
    const agent = new FakeAgent();
    const svc1 = new CronService({ store: tmp.store, clock, runAgentTurn: agent.run });
    svc1.start();
    const job = svc1.add({ name: "hourly", schedule: { kind: "cron", expr: "0 * * * *", staggerMs: 0 }, payload: { kind: "agentTurn", message: "x" }, delivery: { mode: "none" } } as never) as any;
    svc1.stop();
    clock.t += 5 * HOUR + 30 * MIN;
    tmp = tmp.reopen(() => clock.now());
    const svc2 = new CronService({ store: tmp.store, clock, runAgentTurn: agent.run, config: () => ({ enabled: true, skipMissedJobs: true }) });
    svc2.start();
    cleanup.push(() => {
      svc2.stop();
      tmp.close();
    });
    expect((svc2.get({ id: job.id }) as any).state.nextRunAtMs).toBe(T0 + 6 * HOUR);
    await clock.advance(10 * MIN);
    await svc2.idle();
    expect(agent.calls.length).toBe(0);
  });

  test("a run cut short by a stop is recorded as interrupted on the next start", async () => {
    const clock = new ManualClock(T0);
    let tmp = tempStore(() => clock.now());
    const agent = new FakeAgent();
    agent.mode = "hang";
    const svc1 = new CronService({ store: tmp.store, clock, runAgentTurn: agent.run });
    svc1.start();
    const job = svc1.add({ name: "long", schedule: { kind: "every", everyMs: MIN }, payload: { kind: "agentTurn", message: "x" }, delivery: { mode: "none" } } as never) as any;
    await clock.advance(MIN);
    expect(svc1.activeRuns().length).toBe(1);
    svc1.stop();
    expect(agent.calls[0].signal.aborted).toBe(true);
    await flush();
    tmp = tmp.reopen(() => clock.now());
    const svc2 = new CronService({ store: tmp.store, clock, runAgentTurn: new FakeAgent().run });
    svc2.start();
    cleanup.push(() => {
      svc2.stop();
      tmp.close();
    });
    const runs = svc2.runs({ id: job.id }) as any;
    expect(runs.entries[0]).toMatchObject({ status: "error", error: "cron: job interrupted by gateway restart", runAtMs: T0 + MIN });
    const state = (svc2.get({ id: job.id }) as any).state;
    expect(state.runningAtMs).toBeUndefined();
    expect(state.consecutiveErrors).toBe(1);
  });

  test("cron.enabled:false keeps jobs but arms no timer", () => {
    const h = harness({ config: () => ({ enabled: false, skipMissedJobs: false }) });
    addEvery(h, MIN);
    expect(h.clock.pending()).toBe(0);
    expect(h.svc.status()).toMatchObject({ enabled: false, jobs: 1, nextWakeAtMs: null, storage: "sqlite" });
  });
});
