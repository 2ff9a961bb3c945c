/**
 * Test helpers for the automation subsystem: a hand-driven clock, a temp SQLite store, an event
 * recorder with awaitable matches, and a controllable agent-turn executor.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock, TimerHandle } from "../../src/automation/clock.ts";
import { AutomationStore } from "../../src/automation/store.ts";
import type { AgentTurnRequest, AgentTurnResult, CronEvent } from "../../src/automation/service.ts";
import { openDatabase } from "../../src/store/db.ts";

/** Let promise chains and queued callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Time moves only when the test says so. `advance` fires timers in order at their own instants;
 * `jump` moves the wall clock at once (a suspend/resume or a clock change) and then fires
 * whatever is due, once, at the new time.
 */
export class ManualClock implements Clock {
  private timers: ManualTimer[] = [];
  private seq = 0;
  fired = 0;

  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  pending(): number {
    return this.timers.length;
  }

  nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.at < min ? t.at : min), undefined);
  }

  private async fireDue(limit: number): Promise<void> {
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.timers.filter((t) => t.at <= limit).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) return;
      this.timers = this.timers.filter((t) => t !== due);
      if (due.at > this.t) this.t = due.at;
      this.fired++;
      due.fn();
      await flush();
    }
    throw new Error("ManualClock: timer storm (100000 firings)");
  }

  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    await this.fireDue(target);
    this.t = target;
    await flush();
  }

  async jump(ms: number): Promise<void> {
    this.t += ms;
    await flush();
    await this.fireDue(this.t);
    await flush();
  }
}

export interface TempStore {
  dir: string;
  db: Database;
  store: AutomationStore;
  reopen(now?: () => number): TempStore;
  close(): void;
}

export function tempStore(now: () => number = Date.now): TempStore {
  const dir = mkdtempSync(join(tmpdir(), "oc-automation-"));
  const open = (clock: () => number): TempStore => {
    const db = openDatabase(dir);
    const store = new AutomationStore(db, clock);
    return {
      dir,
      db,
      store,
      reopen(next = clock) {
        db.close();
        return open(next);
      },
      close() {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
  return open(now);
}

/** Records `cron` events and lets a test await the next one matching a predicate. */
export class EventLog {
  readonly events: CronEvent[] = [];
  private waiters: Array<{ match: (e: CronEvent) => boolean; resolve: (e: CronEvent) => void }> = [];

  readonly emit = (_name: "cron", payload: CronEvent): void => {
    this.events.push(payload);
    for (const w of [...this.waiters]) {
      if (w.match(payload)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(payload);
      }
    }
  };

  next(match: (e: CronEvent) => boolean): Promise<CronEvent> {
    const hit = this.events.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  actions(jobId?: string): string[] {
    return this.events.filter((e) => !jobId || e.jobId === jobId).map((e) => e.action);
  }

  finished(jobId?: string): CronEvent[] {
    return this.events.filter((e) => e.action === "finished" && (!jobId || e.jobId === jobId));
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * An agent-turn executor whose behaviour the test picks per call: reply, throw, hang (until
 * aborted or released) or skip.
 */
export class FakeAgent {
  readonly calls: AgentTurnRequest[] = [];
  mode: "reply" | "throw" | "hang" | "hang-ignore-abort" | "skip" = "reply";
  reply = (req: AgentTurnRequest) => `done: ${req.message}`;
  error = "provider exploded: 500 internal error";
  private hanging: Array<Deferred<AgentTurnResult>> = [];

  readonly run = (req: AgentTurnRequest): Promise<AgentTurnResult> => {
    this.calls.push(req);
    switch (this.mode) {
      case "reply":
        return Promise.resolve({ text: this.reply(req), model: "echo", provider: "fake", usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } });
      case "throw":
        return Promise.reject(new Error(this.error));
      case "skip":
        return Promise.resolve({ text: "", skipped: "local provider unreachable" });
      case "hang":
      case "hang-ignore-abort": {
        const d = deferred<AgentTurnResult>();
        this.hanging.push(d);
        if (this.mode === "hang") req.signal.addEventListener("abort", () => d.reject(req.signal.reason ?? new Error("aborted")));
        return d.promise;
      }
    }
  };

  /** Finish every hanging call with a reply. */
  releaseAll(text = "late reply"): void {
    for (const d of this.hanging.splice(0)) d.resolve({ text, model: "echo", provider: "fake" });
  }
}
