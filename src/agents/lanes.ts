/**
 * Agent lanes: admission for every agent run, whatever started it (WebSocket `agent` and
 * `chat.send`, the HTTP `/v1/chat/completions` and `/v1/responses`, channels, cron).
 *
 *   - one run at a time per session: later runs of the same session wait behind it, in order;
 *   - at most `maxConcurrent` runs across sessions (`agents.defaults.maxConcurrent`, default
 *     `max(8, CPUs × 4)` like the original's `main` lane), so a client that starts 300 runs
 *     against a provider that never answers holds at most that many upstream connections;
 *   - bounded waiting: at most `messages.queue.cap` (default 20) runs wait per session and at
 *     most MAX_QUEUED_RUNS across the gateway; a run beyond either is refused at once with
 *     QueueFullError (the original's text for a full session queue), never queued unbounded;
 *   - aborts by run id and by session, of waiting and running runs alike: a waiting run is
 *     removed and its waiter rejected, a running one has its signal aborted (which cancels its
 *     upstream request) and frees its slot when it settles.
 *
 * The original's queue also has steer/collect/summarize modes for chat channels; here every
 * surface gets plain FIFO followups and the `drop: "new"` behaviour (the newest is refused).
 */
import { availableParallelism, cpus } from "node:os";
import type { OpenClawConfig } from "../config/schema.ts";
import { ProviderError } from "../providers/errors.ts";

/** The original's `messages.queue.cap` default. */
export const DEFAULT_SESSION_QUEUE_CAP = 20;
/** Runs waiting across the whole gateway (our own bound: waiting runs hold their prompt in memory). */
export const MAX_QUEUED_RUNS = 1000;

export const SESSION_QUEUE_FULL_MESSAGE =
  "This message was not queued because the session queue is full. Please try again after the current response finishes.";
export const GATEWAY_QUEUE_FULL_MESSAGE = (waiting: number) =>
  `This message was not queued because the gateway run queue is full (${waiting} runs waiting). Please try again after current responses finish.`;

/** `max(8, CPUs × 4)`: 32 runs on 8 CPUs, 8 on a Raspberry Pi's 2. */
export function defaultMaxConcurrent(parallelism = hostParallelism()): number {
  return Math.max(8, parallelism * 4);
}

function hostParallelism(): number {
  try {
    return availableParallelism();
  } catch {
    return Math.max(1, cpus().length);
  }
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** `agents.defaults.maxConcurrent` (a positive integer; the original has no per-agent key). */
export function maxConcurrentFrom(cfg: OpenClawConfig): number {
  return positiveInt(cfg.agents?.defaults?.maxConcurrent) ?? defaultMaxConcurrent();
}

/** `messages.queue.cap` (the schema refuses values below 1, as the original does). */
export function sessionQueueCapFrom(cfg: OpenClawConfig): number {
  return positiveInt(cfg.messages?.queue?.cap) ?? DEFAULT_SESSION_QUEUE_CAP;
}

export interface LaneLimits {
  maxConcurrent: number;
  sessionQueueCap: number;
  maxQueued: number;
}

export function laneLimitsFrom(cfg: OpenClawConfig): LaneLimits {
  return { maxConcurrent: maxConcurrentFrom(cfg), sessionQueueCap: sessionQueueCapFrom(cfg), maxQueued: MAX_QUEUED_RUNS };
}

/** Refused admission. A ProviderError so the HTTP surfaces map it (429 `queue_full`) like any failure. */
export class QueueFullError extends ProviderError {
  override name = "QueueFullError";
  constructor(
    readonly scope: "session" | "gateway",
    message: string,
  ) {
    super("queue_full", message, { retryAfterMs: 1000 });
  }
}

/** Who started a run (the original lets its owner, or an admin, abort it). */
export interface RunOwner {
  connId?: string;
  deviceId?: string;
}

export interface Requester extends RunOwner {
  isAdmin: boolean;
}

/** Admins abort anything; others their own runs (same device or connection) and ownerless ones. */
export function mayAbort(owner: RunOwner | undefined, requester: Requester | undefined, requireOwnerMatch = false): boolean {
  if (!requester || requester.isAdmin) return true;
  const ownerDevice = owner?.deviceId;
  const ownerConn = owner?.connId;
  if (!ownerDevice && !ownerConn) return !requireOwnerMatch;
  return Boolean((ownerDevice && requester.deviceId === ownerDevice) || (ownerConn && requester.connId === ownerConn));
}

export type TicketState = "queued" | "running" | "done";

/** One admitted run. `ready` settles when it may start (or rejects when aborted while waiting). */
export class LaneTicket {
  state: TicketState = "queued";
  /** It had to wait behind another run (its caller's view of the session may be stale). */
  waited = false;
  readonly enqueuedAt = Date.now();
  startedAt?: number;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: unknown) => void;
  private unlink?: () => void;

  constructor(
    private readonly lanes: AgentLanes,
    readonly runId: string,
    readonly sessionKey: string,
    readonly agentId: string,
    readonly owner: RunOwner | undefined,
    readonly controller: AbortController,
    outer?: AbortSignal,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Unobserved rejections (a waiter that went away) must not crash the process.
    this.ready.catch(() => {});
    if (outer) {
      const onAbort = () => this.abort(outer.reason ?? "aborted");
      if (outer.aborted) queueMicrotask(onAbort);
      else {
        outer.addEventListener("abort", onAbort, { once: true });
        this.unlink = () => outer.removeEventListener("abort", onAbort);
      }
    }
  }

  /** Aborts when the run is aborted, waiting or running. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Abort: a waiting run leaves the queue at once; a running one is signalled and ends on its own. */
  abort(reason: unknown = "aborted"): void {
    if (this.state === "done") return;
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    if (this.state === "queued") this.lanes.dequeue(this);
  }

  /** The run settled: free its slot (idempotent). */
  release(): void {
    this.lanes.finish(this);
  }

  /** @internal */ started(): void {
    this.state = "running";
    this.startedAt = Date.now();
    this.resolveReady();
  }

  /** @internal */ ended(waiting: boolean): void {
    this.state = "done";
    this.unlink?.();
    this.unlink = undefined;
    if (waiting) this.rejectReady(new ProviderError("aborted", "run aborted while queued"));
  }
}

export interface AdmitInit {
  runId: string;
  sessionKey: string;
  agentId: string;
  owner?: RunOwner;
  /** Aborts the run too (an HTTP client that went away). */
  signal?: AbortSignal;
  /** Use this controller as the run's (callers that already hand its signal around). */
  controller?: AbortController;
}

export interface LaneStats {
  running: number;
  queued: number;
  maxConcurrent: number;
  sessionQueueCap: number;
  maxQueued: number;
  /** Sessions with a running or waiting run. */
  sessions: number;
}

export class AgentLanes {
  private readonly byRun = new Map<string, LaneTicket>();
  /** Per session: its running ticket (if any) first, then waiting ones in order. */
  private readonly bySession = new Map<string, LaneTicket[]>();
  /** Every waiting ticket, in arrival order. */
  private waiting: LaneTicket[] = [];
  private runningCount = 0;

  constructor(private readonly limits: () => LaneLimits) {}

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get(runId: string): LaneTicket | undefined {
    return this.byRun.get(runId);
  }

  /** Running and waiting tickets of a session (running first), or of every session. */
  tickets(sessionKey?: string): LaneTicket[] {
    if (sessionKey !== undefined) return [...(this.bySession.get(sessionKey) ?? [])];
    return [...this.byRun.values()];
  }

  stats(): LaneStats {
    const l = this.limits();
    return { running: this.runningCount, queued: this.waiting.length, ...l, sessions: this.bySession.size };
  }

  /**
   * Admit a run: it starts now when its session is idle and a slot is free, else it waits.
   * Throws QueueFullError (nothing admitted) when its session's queue or the gateway's is full.
   */
  admit(init: AdmitInit): LaneTicket {
    if (this.byRun.has(init.runId)) throw new Error(`run ${init.runId} is already admitted`);
    const limits = this.limits();
    const session = this.bySession.get(init.sessionKey) ?? [];
    const sessionWaiting = session.filter((t) => t.state === "queued").length;
    const mustWait = session.length > 0 || this.runningCount >= limits.maxConcurrent;
    if (mustWait) {
      if (session.length > 0 && sessionWaiting >= limits.sessionQueueCap) throw new QueueFullError("session", SESSION_QUEUE_FULL_MESSAGE);
      if (this.waiting.length >= limits.maxQueued) throw new QueueFullError("gateway", GATEWAY_QUEUE_FULL_MESSAGE(this.waiting.length));
    }
    const ticket = new LaneTicket(this, init.runId, init.sessionKey, init.agentId, init.owner, init.controller ?? new AbortController(), init.signal);
    this.byRun.set(ticket.runId, ticket);
    session.push(ticket);
    this.bySession.set(ticket.sessionKey, session);
    this.waiting.push(ticket);
    this.pump();
    if (ticket.state === "queued") ticket.waited = true;
    return ticket;
  }

  /** Abort one run by id; undefined when no such run is waiting or running. */
  abort(runId: string, reason: unknown = "aborted"): LaneTicket | undefined {
    const t = this.byRun.get(runId);
    t?.abort(reason);
    return t;
  }

  /**
   * Abort a session's runs the requester may abort: waiting ones first (so the queue cannot
   * promote one into the half-stopped session), then the running one. Returns the aborted run
   * ids and how many runs the requester was not allowed to touch.
   */
  abortSession(
    sessionKey: string,
    opts: { waiting?: boolean; running?: boolean; requester?: Requester; reason?: unknown } = {},
  ): { runIds: string[]; unauthorized: number } {
    const runIds: string[] = [];
    let unauthorized = 0;
    const tickets = this.tickets(sessionKey);
    const ordered = [...tickets.filter((t) => t.state === "queued"), ...tickets.filter((t) => t.state === "running")];
    for (const t of ordered) {
      if (t.state === "queued" ? opts.waiting === false : opts.running === false) continue;
      if (!mayAbort(t.owner, opts.requester)) {
        unauthorized++;
        continue;
      }
      t.abort(opts.reason ?? "aborted");
      runIds.push(t.runId);
    }
    return { runIds, unauthorized };
  }

  /** Abort everything (gateway stopping). */
  abortAll(reason: unknown): void {
    for (const t of [...this.byRun.values()]) t.abort(reason);
  }

  /** @internal A waiting ticket leaves the queue (aborted). */
  dequeue(t: LaneTicket): void {
    if (t.state !== "queued") return;
    this.waiting = this.waiting.filter((w) => w !== t);
    this.forget(t);
    t.ended(true);
    this.pump();
  }

  /** @internal A running ticket settled (or a waiting one was released unstarted). */
  finish(t: LaneTicket): void {
    if (t.state === "done") return;
    if (t.state === "queued") return this.dequeue(t);
    this.runningCount--;
    this.forget(t);
    t.ended(false);
    this.pump();
  }

  private forget(t: LaneTicket): void {
    this.byRun.delete(t.runId);
    const session = this.bySession.get(t.sessionKey);
    if (!session) return;
    const rest = session.filter((s) => s !== t);
    if (rest.length) this.bySession.set(t.sessionKey, rest);
    else this.bySession.delete(t.sessionKey);
  }

  /** Start waiting runs, oldest first, while slots are free and their sessions are idle. */
  private pump(): void {
    const max = this.limits().maxConcurrent;
    if (this.runningCount >= max || this.waiting.length === 0) return;
    const still: LaneTicket[] = [];
    for (let i = 0; i < this.waiting.length; i++) {
      const t = this.waiting[i];
      if (this.runningCount >= max) {
        still.push(...this.waiting.slice(i));
        break;
      }
      const session = this.bySession.get(t.sessionKey)!;
      if (session[0] !== t) {
        still.push(t);
        continue;
      }
      this.runningCount++;
      t.started();
    }
    this.waiting = still;
  }
}
