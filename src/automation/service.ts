/**
 * The scheduler: jobs in memory (mirrored to SQLite on every change), one timer armed for the
 * earliest due job, runs through injected executors, run history, delivery and the `cron`
 * events. It is the core behind `cron.status|list|get|add|update|remove|run|runs` and
 * `cron.scratch.*`; the gateway registers thin method wrappers around it.
 *
 * Rules (docs/automation.md has the full story):
 * - One timer, re-armed after every change for the earliest `nextRunAtMs`; capped at
 *   `maxTimerDelayMs` so a wall-clock jump is noticed (timers run on the monotonic clock).
 * - A job never runs twice at once. A slot that comes due while its previous run is still going
 *   is recorded as a skipped run (overrun); the next slot is computed from the time the run ends.
 * - After a run, or a timer that fires late (suspend/resume, clock jump), each due job runs once
 *   and its next slot is computed from now: missed slots are never replayed in a burst.
 * - Startup catch-up: a job that came due while the gateway was down runs once. Agent work
 *   (agent turns, heartbeats, main-session events that wake) is deferred by
 *   `startupAgentDelayMs` (+ `startupStaggerMs` each); other missed jobs run at once, at most
 *   `maxImmediateCatchup`, the rest `startupStaggerMs` apart. `cron.skipMissedJobs` moves
 *   missed recurring jobs to their next future slot instead. A run cut short by a restart is
 *   recorded as an error ("interrupted by gateway restart").
 * - Recurring errors back off 30 s, 1 m, 5 m, 15 m, 60 m (never earlier than the natural slot);
 *   10 consecutive errors disable the job. One-shots retry transient errors up to 3 times, are
 *   deleted after success (unless `deleteAfterRun: false`) and disabled otherwise.
 */
import { sleepOn, systemClock, type Clock, type TimerHandle } from "./clock.ts";
import {
  RUN_INTERRUPTED_ERROR,
  RUN_OVERRUN_ERROR,
  invalidParams,
  invalidRequest,
  jobNotFound,
  timedOutError,
  unavailable,
} from "./errors.ts";
import type {
  CronAddParams,
  CronIdParams,
  CronListParams,
  CronRunParams,
  CronRunsParams,
  CronScratchSetParams,
  CronUpdateParams,
} from "./params.ts";
import { computeNextRunAtMs, type Schedule } from "./schedule.ts";
import { deliverRunResult, deliveryPreview, failureAlertPolicy, sendNotice, type DeliverFn, type DeliveryOutcome, type DeliveryRequest, type RoutePreviewFn, type WebhookFn } from "./delivery.ts";
import { checkTargetAndPayload, definitionRevision, patchDelivery, patchPayload, payloadFromInput, scheduleFromInput } from "./jobs.ts";
import { AutomationStore, ScratchTooLargeError } from "./store.ts";
import { isValidTimeZone, wallTime } from "./tz.ts";
import { checkDeliveryChannels, checkFailureAlertChannel, type ChannelFacts } from "./channels.ts";
import type {
  AgentTurnPayload,
  CompletionStatus,
  CronJob,
  Delivery,
  DeliveryStatus,
  FailureAlert,
  Payload,
  RunDiagnostics,
  RunLogEntry,
  RunStatus,
  SessionTarget,
  Usage,
  WakeMode,
} from "./types.ts";

// --- injected collaborators -----------------------------------------------------------------

export type { DeliverFn, DeliveryRequest, DeliveryResult, RoutePreviewFn, WebhookFn } from "./delivery.ts";
export { isSilentReply } from "./delivery.ts";

export interface AgentTurnRequest {
  jobId: string;
  jobName: string;
  /** Manual runs only. */
  runId?: string;
  agentId: string;
  sessionTarget: SessionTarget;
  /** `agent:<agentId>:cron:<jobId>:run:<sessionId>` for isolated jobs, the bound key otherwise. */
  sessionKey: string;
  sessionId: string;
  /** True for isolated jobs: a fresh transcript each run. */
  isolated: boolean;
  message: string;
  model?: string;
  fallbacks?: string[];
  thinking?: string;
  lightContext?: boolean;
  toolsAllow?: string[];
  /** Undefined = no scheduler ceiling. */
  timeoutMs?: number;
  signal: AbortSignal;
}

export interface AgentTurnResult {
  text: string;
  model?: string;
  provider?: string;
  usage?: Usage;
  sessionId?: string;
  sessionKey?: string;
  /** The turn did not run (e.g. a local provider is unreachable): recorded as skipped with this reason. */
  skipped?: string;
}

/** Runs one agent turn; throws (or rejects) on failure. Must honour `signal`. */
export type AgentTurnExecutor = (req: AgentTurnRequest) => Promise<AgentTurnResult>;

export interface SystemEventRequest {
  jobId: string;
  agentId: string;
  sessionKey: string;
  text: string;
  wakeMode: WakeMode;
}

export type HeartbeatJobStatus = "sent" | "ok-empty" | "ok-token" | "skipped" | "failed";

export interface HeartbeatJobOutcome {
  status: HeartbeatJobStatus;
  reason?: string;
  preview?: string;
  error?: string;
  /** The alert was produced but could not be sent (a delivery failure, not an execution one). */
  deliveryError?: string;
  model?: string;
  provider?: string;
}

/** The scheduler's private alert bookkeeping in a job's state (never on the wire). */
type AlertState = CronJob["state"] & { lastFailureAlertAtMs?: number; failureIncidentOpen?: boolean; failureIncidentCause?: string };

/** An error text as an incident identity: digits and case do not make a new cause. */
function normalizeCause(text: string | undefined): string {
  return (text ?? "").toLowerCase().replace(/\d+/g, "#").replace(/\s+/g, " ").trim().slice(0, 300);
}

export interface CronRuntimeConfig {
  enabled: boolean;
  skipMissedJobs: boolean;
  /** `agents.defaults.userTimezone`: failure notices show run times in it. */
  userTimezone?: string;
  failureAlert?: { enabled?: boolean; after?: number; cooldownMs?: number; includeSkipped?: boolean; mode?: "announce" | "webhook"; channel?: string; to?: string; accountId?: string };
}

export interface ServiceLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface CronServiceOptions {
  store: AutomationStore;
  clock?: Clock;
  log?: ServiceLog;
  /** Broadcast a `cron` event (operator.read). */
  emit?: (event: "cron", payload: CronEvent) => void;
  config?: () => CronRuntimeConfig;
  defaultAgentId?: () => string;
  /** Unknown agent ids are refused at add/update time when given. */
  isKnownAgent?: (agentId: string) => boolean;
  runAgentTurn?: AgentTurnExecutor;
  deliver?: DeliverFn;
  previewRoute?: RoutePreviewFn;
  postWebhook?: WebhookFn;
  /** The configured chat channels, for checking the channel a job names (absent: not checked). */
  channelFacts?: () => ChannelFacts;
  /** Main-session `systemEvent` jobs hand their text here (queue + optional wake). */
  onSystemEvent?: (req: SystemEventRequest) => void;
  /** `heartbeat` payload jobs run the heartbeat through this. */
  runHeartbeatJob?: (job: CronJob, signal: AbortSignal) => Promise<HeartbeatJobOutcome>;
  maxConcurrentRuns?: number;
  maxTimerDelayMs?: number;
  startupAgentDelayMs?: number;
  startupStaggerMs?: number;
  maxImmediateCatchup?: number;
  /** How long an aborted (timed out) executor gets to settle before its run is recorded. */
  cleanupGraceMs?: number;
  /** Default wall-clock budget of an agent turn without `timeoutSeconds`. */
  agentTurnTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
}

export type CronEvent = Record<string, unknown> & { jobId: string; action: "added" | "updated" | "removed" | "started" | "finished" | "scheduled" };

// --- constants ------------------------------------------------------------------------------

export const ERROR_BACKOFF_MS = [30_000, 60_000, 300_000, 900_000, 3_600_000];
export const MAX_CONSECUTIVE_FAILURES = 10;
export const MAX_TRANSIENT_RETRIES = 3;
export const MAX_MANUAL_QUEUE = 16;
const SUMMARY_MAX_CHARS = 4000;

const TRANSIENT_PATTERNS = [
  /rate.?limit|too many requests|\b429\b|quota/i,
  /overload|\b529\b|\b503\b|unavailable/i,
  /network|fetch failed|socket|econnreset|econnrefused|eai_again|enetdown|ehostunreach|enetunreach|epipe/i,
  /timeout|timed out|etimedout/i,
  /\b5\d\d\b|server error|internal error|bad gateway/i,
];

export function isTransientError(message: string): boolean {
  return TRANSIENT_PATTERNS.some((p) => p.test(message));
}


function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}


function isRecurring(job: CronJob): boolean {
  return job.schedule.kind !== "at";
}

function isSystemOwned(job: CronJob): boolean {
  return job.payload.kind === "heartbeat";
}

function resolveId(method: string, params: { id?: string; jobId?: string }): string {
  const id = params.id ?? params.jobId;
  if (!id) throw invalidParams(method, "must have required property 'id'");
  return id;
}

interface QueuedRun {
  jobId: string;
  trigger: "schedule" | "manual";
  runId?: string;
  queuedAt: number;
}

interface ActiveRun {
  jobId: string;
  runId?: string;
  trigger: "schedule" | "manual";
  startedAt: number;
  controller: AbortController;
  /** The slot after the one running (scheduled runs): passing it while running is an overrun. */
  nextSlot?: number;
}

interface Outcome {
  status: RunStatus;
  completion: CompletionStatus;
  error?: string;
  summary?: string;
  model?: string;
  provider?: string;
  usage?: Usage;
  sessionId?: string;
  sessionKey?: string;
  delivery?: DeliveryOutcome;
  diagnostics?: RunDiagnostics;
  transient?: boolean;
}

class StoppedSignal {}

// --- the service ----------------------------------------------------------------------------

export class CronService {
  readonly processInstanceId = crypto.randomUUID();
  private readonly jobs = new Map<string, CronJob>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly manualQueue = new Map<string, QueuedRun[]>();
  private waiting: QueuedRun[] = [];
  private readonly waitingIds = new Set<string>();
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  private manualCounter = 0;
  private started = false;
  private stopped = false;
  private stopSignal!: Promise<StoppedSignal>;
  private resolveStop!: (s: StoppedSignal) => void;
  private readonly settling = new Set<Promise<void>>();
  readonly clock: Clock;

  constructor(private readonly opts: CronServiceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.stopSignal = new Promise((resolve) => (this.resolveStop = resolve));
  }

  private get store(): AutomationStore {
    return this.opts.store;
  }

  private cfg(): CronRuntimeConfig {
    return this.opts.config?.() ?? { enabled: true, skipMissedJobs: false };
  }

  private defaultAgentId(): string {
    return this.opts.defaultAgentId?.() ?? "main";
  }

  private effectiveAgentId(job: CronJob): string {
    return job.agentId ?? this.defaultAgentId();
  }

  private emit(payload: CronEvent): void {
    try {
      this.opts.emit?.("cron", payload);
    } catch (err) {
      this.opts.log?.warn(`cron: event listener failed: ${errorMessage(err)}`);
    }
  }

  private persist(job: CronJob): void {
    this.store.putJob(job);
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Load jobs, record interrupted runs, plan startup catch-up, arm the timer. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.clock.now();
    for (const job of this.store.loadJobs()) this.jobs.set(job.id, job);
    for (const job of this.jobs.values()) {
      if (job.state.runningAtMs !== undefined) this.recordInterrupted(job, now);
    }
    const cfg = this.cfg();
    for (const job of this.jobs.values()) {
      if (job.enabled && job.state.nextRunAtMs === undefined) {
        const next = this.naturalNext(job, now);
        if (next !== undefined) {
          job.state.nextRunAtMs = next;
          this.persist(job);
        }
      }
    }
    if (cfg.enabled) this.planCatchup(now, cfg);
    this.arm();
  }

  /** Load the stored jobs without scheduling or running anything (offline tools: doctor). */
  load(): void {
    if (this.started) return;
    this.jobs.clear();
    for (const job of this.store.loadJobs()) this.jobs.set(job.id, job);
  }

  /**
   * Stop timers and abandon running work: executors get an abort, nothing more is written, and
   * the next start records the abandoned runs as interrupted.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.resolveStop(new StoppedSignal());
    this.clearTimer();
    for (const run of this.active.values()) run.controller.abort(new Error("gateway stopping"));
  }

  /** Config changed (enabled, skipMissedJobs): re-arm. */
  reconfigure(): void {
    this.arm();
  }

  /** True while any job runs or waits for a slot (heartbeat `cron-in-progress`). */
  isBusy(): boolean {
    return this.active.size > 0 || this.waiting.length > 0;
  }

  activeRuns(): Array<{ jobId: string; runId?: string; startedAt: number }> {
    return [...this.active.values()].map((r) => ({ jobId: r.jobId, runId: r.runId, startedAt: r.startedAt }));
  }

  /** Resolves once no run is active or waiting (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.settling.size) await Promise.all([...this.settling]);
  }

  private recordInterrupted(job: CronJob, now: number): void {
    const runAt = job.state.runningAtMs!;
    delete job.state.runningAtMs;
    job.state.lastRunAtMs = runAt;
    job.state.lastRunStatus = job.state.lastStatus = "error";
    job.state.lastError = RUN_INTERRUPTED_ERROR;
    job.state.consecutiveErrors = (job.state.consecutiveErrors ?? 0) + 1;
    job.updatedAtMs = Math.max(job.updatedAtMs, now);
    this.persist(job);
    this.store.appendRun({
      ts: now,
      jobId: job.id,
      action: "finished",
      status: "error",
      completionStatus: "unknown",
      error: RUN_INTERRUPTED_ERROR,
      runAtMs: runAt,
      nextRunAtMs: job.state.nextRunAtMs,
      deliveryStatus: "unknown",
      jobName: job.name,
    });
    this.opts.log?.warn(`cron: job ${job.id} (${job.name}) was interrupted by a restart`);
  }

  private planCatchup(now: number, cfg: CronRuntimeConfig): void {
    const missed = [...this.jobs.values()]
      .filter((j) => j.enabled && j.state.nextRunAtMs !== undefined && j.state.nextRunAtMs <= now)
      .sort((a, b) => a.state.nextRunAtMs! - b.state.nextRunAtMs!);
    if (!missed.length) return;
    const agentDelay = this.opts.startupAgentDelayMs ?? 120_000;
    const stagger = this.opts.startupStaggerMs ?? 5_000;
    const maxImmediate = this.opts.maxImmediateCatchup ?? 5;
    let agentIndex = 0;
    let otherIndex = 0;
    for (const job of missed) {
      if (cfg.skipMissedJobs && isRecurring(job)) {
        job.state.nextRunAtMs = this.naturalNext(job, now);
        this.persist(job);
        continue;
      }
      const waitsForAgent =
        job.payload.kind === "agentTurn" ||
        job.payload.kind === "heartbeat" ||
        (job.sessionTarget === "main" && job.payload.kind === "systemEvent" && job.wakeMode === "now");
      if (waitsForAgent) {
        job.state.nextRunAtMs = now + agentDelay + agentIndex++ * stagger;
      } else if (otherIndex < maxImmediate) {
        otherIndex++;
        continue; // stays due: the first tick runs it
      } else {
        job.state.nextRunAtMs = now + (otherIndex++ - maxImmediate + 1) * stagger;
      }
      this.persist(job);
    }
    this.opts.log?.info(`cron: ${missed.length} job(s) missed while the gateway was down; catching up once each`);
  }

  // --- timer ----------------------------------------------------------------------------------

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  /** Earliest instant the scheduler must look again (due job or overrun check). */
  private nextWake(): number | undefined {
    let next = Infinity;
    for (const job of this.jobs.values()) {
      if (!job.enabled || this.active.has(job.id) || this.waitingIds.has(job.id)) continue;
      const at = job.state.nextRunAtMs;
      if (at !== undefined && at < next) next = at;
    }
    for (const run of this.active.values()) if (run.nextSlot !== undefined && run.nextSlot < next) next = run.nextSlot;
    return next === Infinity ? undefined : next;
  }

  private arm(): void {
    if (this.stopped || !this.started) return;
    if (!this.cfg().enabled) {
      this.clearTimer();
      return;
    }
    const next = this.nextWake();
    if (next === undefined) {
      this.clearTimer();
      return;
    }
    const now = this.clock.now();
    const cap = this.opts.maxTimerDelayMs ?? 60_000;
    const delay = Math.min(Math.max(0, next - now), cap);
    const at = now + delay;
    if (this.timer !== undefined && this.timerAt === at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      try {
        this.tick();
      } catch (err) {
        this.opts.log?.error(`cron: timer tick failed: ${errorMessage(err)}`);
        this.arm();
      }
    }, delay);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const run of this.active.values()) {
      if (run.nextSlot !== undefined && run.nextSlot <= now) {
        this.recordOverrun(run, run.nextSlot, now);
        const job = this.jobs.get(run.jobId);
        run.nextSlot = job ? this.naturalNext(job, now) : undefined;
      }
    }
    const due = [...this.jobs.values()]
      .filter((j) => j.enabled && !this.active.has(j.id) && !this.waitingIds.has(j.id) && j.state.nextRunAtMs !== undefined && j.state.nextRunAtMs <= now)
      .sort((a, b) => a.state.nextRunAtMs! - b.state.nextRunAtMs!);
    for (const job of due) this.admit({ jobId: job.id, trigger: "schedule", queuedAt: now });
    this.arm();
  }

  private recordOverrun(run: ActiveRun, slot: number, now: number): void {
    const job = this.jobs.get(run.jobId);
    if (!job) return;
    const entry: RunLogEntry = {
      ts: now,
      jobId: job.id,
      action: "finished",
      status: "skipped",
      completionStatus: "unknown",
      error: RUN_OVERRUN_ERROR,
      runAtMs: slot,
      durationMs: 0,
      deliveryStatus: "not-requested",
      jobName: job.name,
    };
    this.store.appendRun(entry);
    this.opts.log?.warn(`cron: job ${job.id} (${job.name}) overran its schedule; slot ${new Date(slot).toISOString()} skipped`);
    const { ts: _ts, jobName: _n, action: _a, ...rest } = entry;
    this.emit({ ...rest, jobId: job.id, action: "finished", job: this.wireJob(job) });
  }

  // --- admission ------------------------------------------------------------------------------

  private maxConcurrent(): number {
    return Math.max(1, this.opts.maxConcurrentRuns ?? 8);
  }

  private admit(q: QueuedRun): void {
    if (this.active.has(q.jobId)) {
      const list = this.manualQueue.get(q.jobId) ?? [];
      list.push(q);
      this.manualQueue.set(q.jobId, list);
      return;
    }
    if (this.active.size >= this.maxConcurrent() || this.waitingIds.has(q.jobId)) {
      this.waiting.push(q);
      this.waitingIds.add(q.jobId);
      return;
    }
    this.launch(q);
  }

  /** Start what the freed slot allows: the same job's queued manual run first, then waiters. */
  private pump(freedJobId: string): void {
    if (this.stopped) return;
    const queued = this.manualQueue.get(freedJobId);
    if (queued?.length) {
      const next = queued.shift()!;
      if (!queued.length) this.manualQueue.delete(freedJobId);
      this.admit(next);
    }
    while (this.active.size < this.maxConcurrent()) {
      const idx = this.waiting.findIndex((w) => !this.active.has(w.jobId));
      if (idx < 0) break;
      const [next] = this.waiting.splice(idx, 1);
      if (!this.waiting.some((w) => w.jobId === next.jobId)) this.waitingIds.delete(next.jobId);
      this.launch(next);
    }
  }

  private launch(q: QueuedRun): void {
    const job = this.jobs.get(q.jobId);
    if (!job || this.stopped) return;
    if (q.trigger === "schedule" && !job.enabled) return;
    const startedAt = this.clock.now();
    const run: ActiveRun = {
      jobId: job.id,
      runId: q.runId,
      trigger: q.trigger,
      startedAt,
      controller: new AbortController(),
    };
    if (q.trigger === "schedule" && isRecurring(job)) run.nextSlot = this.naturalNext(job, startedAt);
    this.active.set(job.id, run);
    job.state.runningAtMs = startedAt;
    this.persist(job);
    this.emit({ jobId: job.id, action: "started", job: this.wireJob(job), runAtMs: startedAt });
    const done = this.execute(job, run)
      .catch((err) => this.opts.log?.error(`cron: run of ${job.id} failed unexpectedly: ${errorMessage(err)}`))
      .finally(() => {
        this.settling.delete(done);
        this.active.delete(job.id);
        this.pump(job.id);
        this.arm();
      });
    this.settling.add(done);
  }

  // --- running --------------------------------------------------------------------------------

  private async execute(job: CronJob, run: ActiveRun): Promise<void> {
    const work = this.runPayload(job, run).catch(
      (err): Outcome => ({
        status: "error",
        completion: "failed",
        error: errorMessage(err),
        transient: isTransientError(errorMessage(err)),
      }),
    );
    const first = await Promise.race([work, this.stopSignal]);
    if (first instanceof StoppedSignal) return; // the next start records it as interrupted
    const outcome = first;
    const endedAt = this.clock.now();
    const current = this.jobs.get(job.id);
    const target = current ?? job;
    this.applyOutcome(target, run, outcome, endedAt, current !== undefined);
  }

  private async runPayload(job: CronJob, run: ActiveRun): Promise<Outcome> {
    const payload = job.payload;
    const agentId = this.effectiveAgentId(job);
    if (payload.kind === "systemEvent") {
      const sessionKey = this.sessionKeyFor(job, agentId, undefined);
      if (!this.opts.onSystemEvent) throw new Error("system events are not available on this gateway");
      this.opts.onSystemEvent({ jobId: job.id, agentId, sessionKey, text: payload.text, wakeMode: job.wakeMode });
      return { status: "ok", completion: "succeeded", summary: truncate(payload.text, SUMMARY_MAX_CHARS), sessionKey };
    }
    if (payload.kind === "heartbeat") {
      if (!this.opts.runHeartbeatJob) throw new Error("the heartbeat runner is not available on this gateway");
      const res = await this.withTimeout(this.opts.runHeartbeatJob(job, run.controller.signal), this.opts.heartbeatTimeoutMs ?? 600_000, run);
      return heartbeatOutcome(res, this.clock.now());
    }
    return this.runAgentTurn(job, payload, agentId, run);
  }

  private sessionKeyFor(job: CronJob, agentId: string, sessionId: string | undefined): string {
    const target = job.sessionTarget;
    if (target === "isolated") return `agent:${agentId}:cron:${job.id}:run:${sessionId}`;
    if (target === "main") return `agent:${agentId}:main`;
    if (target === "current") return job.sessionKey ?? `agent:${agentId}:main`;
    const key = target.slice("session:".length);
    return key.startsWith("agent:") ? key : `agent:${agentId}:${key}`;
  }

  private async runAgentTurn(job: CronJob, payload: AgentTurnPayload, agentId: string, run: ActiveRun): Promise<Outcome> {
    if (!this.opts.runAgentTurn) throw new Error("the agent runtime is not available on this gateway");
    const sessionId = crypto.randomUUID();
    const sessionKey = this.sessionKeyFor(job, agentId, sessionId);
    const timeoutMs =
      payload.timeoutSeconds === 0 ? undefined : payload.timeoutSeconds !== undefined ? payload.timeoutSeconds * 1000 : (this.opts.agentTurnTimeoutMs ?? 3_600_000);
    const result = await this.withTimeout(
      this.opts.runAgentTurn({
        jobId: job.id,
        jobName: job.name,
        runId: run.runId,
        agentId,
        sessionTarget: job.sessionTarget,
        sessionKey,
        sessionId,
        isolated: job.sessionTarget === "isolated",
        message: payload.message,
        model: payload.model,
        fallbacks: payload.fallbacks,
        thinking: payload.thinking,
        lightContext: payload.lightContext,
        toolsAllow: payload.toolsAllow,
        timeoutMs,
        signal: run.controller.signal,
      }),
      timeoutMs,
      run,
    );
    const base = {
      model: result.model,
      provider: result.provider,
      usage: result.usage,
      sessionId: result.sessionId ?? sessionId,
      sessionKey: result.sessionKey ?? sessionKey,
    };
    if (result.skipped) return { status: "skipped", completion: "unknown", error: result.skipped, ...base };
    const text = typeof result.text === "string" ? result.text : "";
    const delivery = await deliverRunResult(this.opts, { job, agentId, text, runId: run.runId });
    const failed = delivery.failsRun === true;
    return {
      status: failed ? "error" : "ok",
      completion: delivery.completion,
      summary: text ? truncate(text, SUMMARY_MAX_CHARS) : undefined,
      error: failed ? delivery.deliveryError : undefined,
      delivery,
      diagnostics: delivery.deliveryError
        ? { summary: delivery.deliveryError, entries: [{ ts: this.clock.now(), source: "delivery", severity: "error", message: delivery.deliveryError }] }
        : undefined,
      ...base,
    };
  }

  /**
   * Race the executor against the run's budget. On expiry the executor is aborted and given
   * `cleanupGraceMs` to settle; the run is then recorded as timed out either way.
   */
  private async withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined, run: ActiveRun): Promise<T> {
    if (timeoutMs === undefined) return work;
    const timer = sleepOn(this.clock, timeoutMs);
    const TIMEOUT = Symbol("timeout");
    const settled = work.then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    const first = await Promise.race([settled, timer.promise.then(() => TIMEOUT)]);
    if (first !== TIMEOUT) {
      timer.cancel();
      const r = first as { value?: T; error?: unknown };
      if ("error" in r) throw r.error;
      return r.value as T;
    }
    const message = timedOutError(timeoutMs);
    run.controller.abort(new Error(message));
    const grace = sleepOn(this.clock, this.opts.cleanupGraceMs ?? 20_000);
    await Promise.race([settled, grace.promise]);
    grace.cancel();
    throw new Error(message);
  }

  private naturalNext(job: CronJob, now: number): number | undefined {
    try {
      return computeNextRunAtMs({ id: job.id, schedule: job.schedule, createdAtMs: job.createdAtMs, lastRunAtMs: job.state.lastRunAtMs }, now);
    } catch (err) {
      this.opts.log?.warn(`cron: cannot compute the next run of ${job.id}: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private applyOutcome(job: CronJob, run: ActiveRun, outcome: Outcome, endedAt: number, stillExists: boolean): void {
    const s = job.state;
    const manual = run.trigger === "manual";
    delete s.runningAtMs;
    s.lastRunAtMs = run.startedAt;
    s.lastRunStatus = s.lastStatus = outcome.status;
    s.lastDurationMs = Math.max(0, endedAt - run.startedAt);
    const del = outcome.delivery;
    if (del && job.delivery) s.lastDelivered = del.delivered;
    else delete s.lastDelivered;
    s.lastDeliveryStatus = del?.deliveryStatus ?? "not-requested";
    if (del?.deliveryError) s.lastDeliveryError = del.deliveryError;
    else delete s.lastDeliveryError;
    if (del?.suppression) s.deliverySuppressionReason = del.suppression;
    else delete s.deliverySuppressionReason;
    if (outcome.error) s.lastError = outcome.error;
    else delete s.lastError;
    if (outcome.diagnostics) {
      s.lastDiagnostics = outcome.diagnostics;
      s.lastDiagnosticSummary = outcome.diagnostics.summary;
    } else {
      delete s.lastDiagnostics;
      delete s.lastDiagnosticSummary;
    }
    if (outcome.status === "error") {
      s.consecutiveErrors = (s.consecutiveErrors ?? 0) + 1;
    } else if (outcome.status === "ok") {
      s.consecutiveErrors = 0;
      s.consecutiveSkipped = 0;
    }
    if (outcome.status === "skipped") s.consecutiveSkipped = (s.consecutiveSkipped ?? 0) + 1;
    s.consecutiveErrors ??= 0;
    s.consecutiveSkipped ??= 0;

    let removed = false;
    if (stillExists && !manual) removed = this.scheduleAfterRun(job, outcome, endedAt);
    const alert = stillExists ? this.maybeAlert(job, outcome, run, endedAt) : undefined;
    s.lastFailureNotificationDeliveryStatus = alert ?? s.lastFailureNotificationDeliveryStatus ?? "not-requested";

    const entry: RunLogEntry = {
      ts: endedAt,
      jobId: job.id,
      action: "finished",
      status: outcome.status,
      completionStatus: outcome.completion,
    };
    if (outcome.error) entry.error = outcome.error;
    if (outcome.summary) entry.summary = outcome.summary;
    if (run.runId) entry.runId = run.runId;
    if (outcome.diagnostics) entry.diagnostics = outcome.diagnostics;
    entry.runAtMs = run.startedAt;
    entry.durationMs = s.lastDurationMs;
    if (s.nextRunAtMs !== undefined && !removed) entry.nextRunAtMs = s.nextRunAtMs;
    if (outcome.model) entry.model = outcome.model;
    if (outcome.provider) entry.provider = outcome.provider;
    if (outcome.usage) entry.usage = outcome.usage;
    if (del && job.delivery) entry.delivered = del.delivered;
    entry.deliveryStatus = del?.deliveryStatus ?? "not-requested";
    if (del?.deliveryError) entry.deliveryError = del.deliveryError;
    if (del?.suppression) entry.deliverySuppressionReason = del.suppression;
    if (del?.trace) entry.delivery = del.trace;
    if (outcome.sessionId) entry.sessionId = outcome.sessionId;
    if (outcome.sessionKey) entry.sessionKey = outcome.sessionKey;
    entry.jobName = job.name;

    job.updatedAtMs = Math.max(job.updatedAtMs, endedAt);
    if (stillExists && !removed) this.persist(job);
    this.store.appendRun(entry);

    const { ts: _ts, jobName: _jn, action: _a, ...eventFields } = entry;
    this.emit({ ...eventFields, jobId: job.id, action: "finished", job: this.wireJob(job) });
    if (removed) {
      this.emit({ jobId: job.id, action: "removed", job: this.wireJob(job) });
    } else if (stillExists && !manual && job.enabled && s.nextRunAtMs !== undefined) {
      this.emit({ jobId: job.id, action: "scheduled", job: this.wireJob(job), nextRunAtMs: s.nextRunAtMs });
    }
  }

  /** Next slot, backoff, one-shot retirement. Returns true when the job was deleted. */
  private scheduleAfterRun(job: CronJob, outcome: Outcome, endedAt: number): boolean {
    const s = job.state;
    if (!isRecurring(job)) {
      if (outcome.status === "error") {
        const retries = s.consecutiveErrors ?? 1;
        if (outcome.transient && retries <= MAX_TRANSIENT_RETRIES) {
          s.nextRunAtMs = endedAt + ERROR_BACKOFF_MS[Math.min(retries - 1, ERROR_BACKOFF_MS.length - 1)];
          return false;
        }
        job.enabled = false;
        delete s.nextRunAtMs;
        return false;
      }
      if (job.deleteAfterRun !== false && outcome.completion === "succeeded") {
        this.jobs.delete(job.id);
        this.store.deleteJob(job.id);
        return true;
      }
      job.enabled = false;
      delete s.nextRunAtMs;
      return false;
    }
    if (!job.enabled) {
      delete s.nextRunAtMs;
      return false;
    }
    const natural = this.naturalNext(job, endedAt);
    if (outcome.status === "error") {
      const n = s.consecutiveErrors ?? 1;
      if (n >= MAX_CONSECUTIVE_FAILURES) {
        job.enabled = false;
        s.autoDisabled = { reason: "consecutive-failures", atMs: endedAt, consecutiveErrors: n };
        delete s.nextRunAtMs;
        this.opts.log?.error(`cron: job ${job.id} (${job.name}) disabled after ${n} consecutive failures`);
        return false;
      }
      const backoffAt = endedAt + ERROR_BACKOFF_MS[Math.min(n - 1, ERROR_BACKOFF_MS.length - 1)];
      s.nextRunAtMs = natural === undefined ? undefined : Math.max(natural, backoffAt);
      if (s.nextRunAtMs !== undefined && job.schedule.kind === "cron" && s.nextRunAtMs > natural!) {
        // Land back on a schedule slot at or after the backoff.
        s.nextRunAtMs = this.naturalNext(job, backoffAt - 1) ?? s.nextRunAtMs;
      }
    } else {
      s.nextRunAtMs = natural;
    }
    if (s.nextRunAtMs === undefined) delete s.nextRunAtMs;
    return false;
  }

  // --- failure alerts -------------------------------------------------------------------------

  /**
   * Failure notifications, one per incident: an execution failure alerts once `after`
   * consecutive errors are reached; a failed delivery of a successful run alerts at once, but
   * only through an alternate destination (the failing primary route is never retried for an
   * alert). The same cause again is the same incident (no new alert, even after the cooldown or
   * a restart); a changed cause alerts again once the cooldown has passed. The next successful,
   * delivered run sends one recovery notice and closes the incident; skipped runs and unknown
   * delivery outcomes do not. Sends are fire-and-forget; the status recorded with the run is
   * what is known when it is written ("unknown" while the send is in flight).
   */
  private maybeAlert(job: CronJob, outcome: Outcome, run: ActiveRun, now: number): DeliveryStatus | undefined {
    const policy = failureAlertPolicy(job, this.cfg().failureAlert);
    const s = job.state as AlertState;
    if (!policy) return undefined;
    const executionFailed = outcome.status === "error" || (policy.includeSkipped && outcome.status === "skipped");
    const deliveryFailed = outcome.status === "ok" && outcome.completion === "failed" && outcome.delivery?.deliveryError !== undefined;
    const streak = outcome.status === "error" ? (s.consecutiveErrors ?? 0) : (s.consecutiveSkipped ?? 0);
    let text: string | undefined;
    let purpose: DeliveryRequest["purpose"] = "failure-alert";
    const started = this.formatRunStart(run.startedAt);
    if ((executionFailed && streak >= policy.after) || (deliveryFailed && policy.alternate)) {
      const cause = executionFailed ? `run:${outcome.status}:${normalizeCause(outcome.error)}` : `delivery:${normalizeCause(outcome.delivery?.deliveryError)}`;
      if (s.failureIncidentOpen && s.failureIncidentCause === cause) return undefined;
      if (s.lastFailureAlertAtMs !== undefined && now - s.lastFailureAlertAtMs < policy.cooldownMs) return undefined;
      if (executionFailed) {
        const disabled = s.autoDisabled ? ` It was disabled after ${s.consecutiveErrors} consecutive failures; re-enable it with: openclaw cron enable ${job.id}` : "";
        const what = outcome.status === "skipped" ? "was skipped" : "failed";
        text = `Automation "${job.name}" ${what} ${streak} time${streak === 1 ? "" : "s"} in a row (last run started ${started}).${disabled} Details: openclaw cron runs --id ${job.id}`;
      } else {
        text = `Automation "${job.name}" ran (started ${started}) but its result could not be delivered. Details: openclaw cron runs --id ${job.id}`;
      }
      s.lastFailureAlertAtMs = now;
      s.failureIncidentOpen = true;
      s.failureIncidentCause = cause;
    } else if (outcome.status === "ok" && outcome.completion === "succeeded" && s.failureIncidentOpen) {
      text = `Automation "${job.name}" recovered: the run started ${started} succeeded.`;
      purpose = "recovery";
      s.failureIncidentOpen = false;
      delete s.failureIncidentCause;
    }
    if (!text || !policy.route) return text ? "not-delivered" : undefined;
    const send = sendNotice(this.opts, { job, agentId: this.effectiveAgentId(job), route: policy.route, text, purpose });
    send
      .then((ok) => {
        const current = this.jobs.get(job.id);
        if (!current || this.stopped) return;
        current.state.lastFailureNotificationDeliveryStatus = ok ? "delivered" : "not-delivered";
        this.persist(current);
      })
      .catch((err) => this.opts.log?.warn(`cron: failure alert for ${job.id} failed: ${errorMessage(err)}`));
    return "unknown";
  }

  /** A run's start as chat notices show it: the agent's user time zone, else UTC. */
  private formatRunStart(ms: number): string {
    const tz = this.cfg().userTimezone;
    const zone = tz && isValidTimeZone(tz) ? tz : "UTC";
    const w = wallTime(ms, zone);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${w.y}-${p(w.mo)}-${p(w.d)} ${p(w.h)}:${p(w.mi)} ${zone}`;
  }

  // --- wire views -----------------------------------------------------------------------------

  /** The job as the protocol shows it: definition, state, revision (internal fields dropped). */
  wireJob(job: CronJob): Record<string, unknown> {
    const { state, ...rest } = job;
    const { lastFailureAlertAtMs: _a, failureIncidentOpen: _b, failureIncidentCause: _c, ...publicState } = state as AlertState;
    return { ...rest, state: publicState, configRevision: definitionRevision(job) };
  }

  /** wireJob plus the top-level mirrors of the latest state `cron.get|add|update|list` carry. */
  private jobView(job: CronJob, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const s = job.state;
    const out: Record<string, unknown> = { ...this.wireJob(job) };
    if (s.nextRunAtMs !== undefined) out.nextRunAtMs = s.nextRunAtMs;
    if (s.lastRunAtMs !== undefined) out.lastRunAtMs = s.lastRunAtMs;
    if (s.lastRunStatus !== undefined) out.lastRunStatus = s.lastRunStatus;
    if (s.lastError !== undefined) out.lastRunError = s.lastError;
    if (s.lastDelivered !== undefined) out.lastDelivered = s.lastDelivered;
    if (s.lastDeliveryStatus !== undefined) out.lastDeliveryStatus = s.lastDeliveryStatus;
    if (s.lastDeliveryError !== undefined) out.lastDeliveryError = s.lastDeliveryError;
    if (s.deliverySuppressionReason !== undefined) out.deliverySuppressionReason = s.deliverySuppressionReason;
    if (s.lastFailureNotificationDeliveryStatus !== undefined) out.lastFailureNotificationDeliveryStatus = s.lastFailureNotificationDeliveryStatus;
    return { ...out, ...extra };
  }

  /** Dry-run delivery route (`deliveryPreview`): where a run's output would go. */
  deliveryPreview(job: CronJob): { label: string; detail: string } {
    return deliveryPreview(this.opts, job, this.effectiveAgentId(job));
  }

  private requireJob(id: string, method: "get" | "other" = "other"): CronJob {
    const job = this.jobs.get(id);
    if (!job) throw jobNotFound(id, method);
    return job;
  }

  /** `cron.status`. */
  status(): Record<string, unknown> {
    const cfg = this.cfg();
    let next: number | undefined;
    if (cfg.enabled) {
      for (const job of this.jobs.values()) {
        const at = job.enabled ? job.state.nextRunAtMs : undefined;
        if (at !== undefined && (next === undefined || at < next)) next = at;
      }
    }
    return {
      enabled: cfg.enabled,
      // Condition triggers, stream schedules and script payloads do not exist in this gateway.
      triggersEnabled: false,
      storePath: this.store.path,
      storage: "sqlite",
      sqlitePath: this.store.path,
      jobs: this.jobs.size,
      nextWakeAtMs: next ?? null,
    };
  }

  /** All jobs (internal: heartbeat convergence, tests). */
  allJobs(): CronJob[] {
    return [...this.jobs.values()];
  }

  getJob(id: string): CronJob | undefined {
    return this.jobs.get(id);
  }

  /** `cron.get`. */
  get(params: CronIdParams): Record<string, unknown> {
    return this.jobView(this.requireJob(resolveId("cron.get", params), "get"));
  }

  /** `cron.list`: filters, sort (next run ascending, disabled last), paging, delivery previews. */
  list(params: CronListParams = {}): Record<string, unknown> {
    const enabledFilter = params.enabled ?? (params.includeDisabled ? "all" : "enabled");
    const query = params.query?.trim().toLowerCase();
    let jobs = [...this.jobs.values()].filter((job) => {
      if (enabledFilter === "enabled" && !job.enabled) return false;
      if (enabledFilter === "disabled" && job.enabled) return false;
      if (params.scheduleKind && params.scheduleKind !== "all" && job.schedule.kind !== params.scheduleKind) return false;
      if (params.lastRunStatus && params.lastRunStatus !== "all") {
        const status = job.state.lastRunStatus ?? "unknown";
        if (status !== params.lastRunStatus) return false;
      }
      if (params.trigger === "conditional") return false;
      if (params.agentId && this.effectiveAgentId(job) !== params.agentId) return false;
      if (params.sessionKey && job.sessionKey !== params.sessionKey) return false;
      if (query && !`${job.name}\n${job.displayName ?? ""}\n${job.description ?? ""}\n${job.id}`.toLowerCase().includes(query)) return false;
      return true;
    });
    const dir = params.sortDir === "desc" ? -1 : 1;
    const sortBy = params.sortBy ?? "nextRunAtMs";
    jobs.sort((a, b) => {
      if (sortBy === "name") return dir * a.name.localeCompare(b.name);
      if (sortBy === "updatedAtMs") return dir * (a.updatedAtMs - b.updatedAtMs);
      const an = a.enabled ? a.state.nextRunAtMs : undefined;
      const bn = b.enabled ? b.state.nextRunAtMs : undefined;
      if (an === undefined && bn === undefined) return a.createdAtMs - b.createdAtMs;
      if (an === undefined) return 1;
      if (bn === undefined) return -1;
      return dir * (an - bn);
    });
    const total = jobs.length;
    const offset = params.offset ?? 0;
    const limit = params.limit ?? total;
    jobs = jobs.slice(offset, offset + limit);
    const views = jobs.map((job) =>
      params.compact
        ? {
            id: job.id,
            name: job.name,
            enabled: job.enabled,
            effectiveAgentId: this.effectiveAgentId(job),
            scheduleKind: job.schedule.kind,
            schedule: job.schedule,
            nextRunAtMs: job.enabled ? (job.state.nextRunAtMs ?? null) : null,
            nextRunAt: job.enabled && job.state.nextRunAtMs !== undefined ? new Date(job.state.nextRunAtMs).toISOString() : null,
            lastRunAtMs: job.state.lastRunAtMs ?? null,
            lastRunAt: job.state.lastRunAtMs !== undefined ? new Date(job.state.lastRunAtMs).toISOString() : null,
            lastRunStatus: job.state.lastRunStatus ?? null,
          }
        : this.jobView(job, { effectiveAgentId: this.effectiveAgentId(job) }),
    );
    const hasMore = offset + jobs.length < total;
    const result: Record<string, unknown> = {
      jobs: views,
      snapshotRevision: `sha256:${new Bun.CryptoHasher("sha256").update(JSON.stringify(jobs.map((j) => [j.id, j.updatedAtMs, j.state]))).digest("base64url")}`,
      total,
      offset,
      limit,
      hasMore,
      nextOffset: hasMore ? offset + jobs.length : null,
    };
    if (!params.compact && params.includeDeliveryPreviews !== false) {
      const previews: Record<string, unknown> = {};
      for (const job of jobs) previews[job.id] = this.deliveryPreview(job);
      result.deliveryPreviews = previews;
    }
    return result;
  }

  private checkAgent(method: string, agentId: string | null | undefined): void {
    if (agentId && this.opts.isKnownAgent && !this.opts.isKnownAgent(agentId)) {
      throw invalidParams(method, `unknown agentId "${agentId}"`);
    }
  }

  /** `cron.add`; with a `declarationKey` it converges an existing job instead of duplicating it. */
  add(params: CronAddParams): Record<string, unknown> {
    const method = "cron.add";
    const now = this.clock.now();
    if (params.trigger) throw invalidRequest("condition triggers are not supported by this gateway");
    if (params.pacing) throw invalidRequest("pacing is not supported by this gateway");
    if (params.declarationKey?.startsWith("heartbeat:")) throw invalidRequest("heartbeat monitor jobs are managed by the gateway; edit agents.*.heartbeat instead");
    this.checkAgent(method, params.agentId);
    const payload = payloadFromInput(params.payload);
    const schedule = scheduleFromInput(method, params.schedule, now);
    const sessionKey = params.sessionKey ?? undefined;
    const target: SessionTarget =
      (params.sessionTarget as SessionTarget | undefined) ?? (payload.kind === "systemEvent" ? "main" : sessionKey ? "current" : "isolated");
    let delivery: Delivery | undefined = params.delivery ? ({ ...params.delivery } as Delivery) : undefined;
    if (!delivery && target !== "main" && payload.kind === "agentTurn") delivery = { mode: "announce" };
    checkTargetAndPayload(method, target, payload, delivery, sessionKey);
    const facts = this.opts.channelFacts?.();
    if (facts) {
      checkDeliveryChannels(method, delivery, facts);
      checkFailureAlertChannel(method, params.failureAlert as false | FailureAlert | undefined, facts);
    }

    if (params.declarationKey) {
      const existing = [...this.jobs.values()].find((j) => j.declarationKey === params.declarationKey);
      if (existing) {
        const before = definitionRevision(existing);
        this.update({ id: existing.id, patch: { ...params, declarationKey: undefined } as never });
        const job = this.jobs.get(existing.id)!;
        return { created: false, updated: definitionRevision(job) !== before, job: this.jobView(job), deliveryPreview: this.deliveryPreview(job) };
      }
    }

    const job: CronJob = {
      id: crypto.randomUUID(),
      ...(params.declarationKey ? { declarationKey: params.declarationKey } : {}),
      ...(params.displayName ? { displayName: params.displayName } : {}),
      ...(params.agentId ? { agentId: params.agentId } : {}),
      ...(sessionKey ? { sessionKey } : {}),
      name: params.name,
      ...(params.description !== undefined ? { description: params.description } : {}),
      enabled: params.enabled ?? true,
      ...(schedule.kind === "at" || params.deleteAfterRun !== undefined ? { deleteAfterRun: params.deleteAfterRun ?? true } : {}),
      createdAtMs: now,
      updatedAtMs: now,
      schedule,
      sessionTarget: target,
      wakeMode: params.wakeMode ?? "now",
      payload,
      ...(delivery ? { delivery } : {}),
      ...(params.failureAlert !== undefined ? { failureAlert: params.failureAlert as false | FailureAlert } : {}),
      ...(payload.kind === "agentTurn" ? { scheduledToolPolicy: { version: 1 as const, mode: "trusted" as const } } : {}),
      state: {},
    };
    if (job.enabled) {
      const next = this.naturalNext(job, now);
      if (next !== undefined) job.state.nextRunAtMs = next;
    }
    this.jobs.set(job.id, job);
    this.persist(job);
    this.emit({ jobId: job.id, action: "added", job: this.wireJob(job), ...(job.state.nextRunAtMs !== undefined ? { nextRunAtMs: job.state.nextRunAtMs } : {}) });
    this.arm();
    const view = this.jobView(job, { deliveryPreview: this.deliveryPreview(job) });
    if (params.declarationKey) return { created: true, job: this.jobView(job), deliveryPreview: this.deliveryPreview(job) };
    return view;
  }

  /** `cron.update`. */
  update(params: CronUpdateParams): Record<string, unknown> {
    const method = "cron.update";
    const id = resolveId(method, params);
    const job = this.requireJob(id);
    if (isSystemOwned(job)) throw invalidRequest("heartbeat monitor jobs are managed by the gateway; edit agents.*.heartbeat instead");
    if (params.expectedConfigRevision !== undefined && params.expectedConfigRevision !== definitionRevision(job)) {
      throw invalidRequest("cron job changed since it was read; reload it and retry", {
        code: "CRON_CONFIG_REVISION_CONFLICT",
        jobId: id,
        currentConfigRevision: definitionRevision(job),
      });
    }
    const patch = params.patch;
    if (patch.state !== undefined) throw invalidRequest("state patches are not supported; the scheduler owns job state");
    if (patch.trigger) throw invalidRequest("condition triggers are not supported by this gateway");
    if (patch.pacing) throw invalidRequest("pacing is not supported by this gateway");
    const now = this.clock.now();
    this.checkAgent(method, patch.agentId);
    const next: CronJob = structuredClone(job);
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.displayName === null) delete next.displayName;
    else if (patch.displayName !== undefined) next.displayName = patch.displayName;
    if (patch.agentId === null) delete next.agentId;
    else if (patch.agentId !== undefined) next.agentId = patch.agentId;
    if (patch.sessionKey === null) delete next.sessionKey;
    else if (patch.sessionKey !== undefined) next.sessionKey = patch.sessionKey;
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.deleteAfterRun !== undefined) next.deleteAfterRun = patch.deleteAfterRun;
    if (patch.wakeMode !== undefined) next.wakeMode = patch.wakeMode;
    if (patch.sessionTarget !== undefined) next.sessionTarget = patch.sessionTarget as SessionTarget;
    if (patch.payload !== undefined) next.payload = patchPayload(next.payload, patch.payload);
    if (patch.delivery !== undefined) next.delivery = patchDelivery(next.delivery, patch.delivery);
    if (patch.failureAlert === null) delete next.failureAlert;
    else if (patch.failureAlert !== undefined) {
      if (patch.failureAlert === false) next.failureAlert = false;
      else {
        const merged: Record<string, unknown> = { ...(typeof next.failureAlert === "object" ? next.failureAlert : {}) };
        for (const [k, v] of Object.entries(patch.failureAlert)) {
          if (v === null) delete merged[k];
          else if (v !== undefined) merged[k] = v;
        }
        next.failureAlert = merged as FailureAlert;
      }
    }
    let scheduleChanged = false;
    if (patch.schedule !== undefined) {
      next.schedule = scheduleFromInput(method, patch.schedule, now);
      scheduleChanged = true;
      next.state.scheduleActivatedAtMs = now;
      if (next.schedule.kind === "at" && next.deleteAfterRun === undefined) next.deleteAfterRun = true;
    }
    if (next.payload.kind === "agentTurn") next.scheduledToolPolicy ??= { version: 1, mode: "trusted" };
    else delete next.scheduledToolPolicy;
    checkTargetAndPayload(method, next.sessionTarget, next.payload, next.delivery, next.sessionKey);
    const facts = this.opts.channelFacts?.();
    if (facts) {
      if (patch.delivery !== undefined) checkDeliveryChannels(method, next.delivery, facts);
      const alertPatch = patch.failureAlert;
      if (alertPatch && ("channel" in alertPatch || "to" in alertPatch || "mode" in alertPatch)) checkFailureAlertChannel(method, next.failureAlert, facts);
    }
    const wasEnabled = job.enabled;
    if (patch.enabled !== undefined) next.enabled = patch.enabled;
    if (next.enabled && !wasEnabled) {
      // Re-enabling clears the auto-disable record and the failure streaks.
      delete next.state.autoDisabled;
      next.state.consecutiveErrors = 0;
      next.state.consecutiveSkipped = 0;
    }
    if (!next.enabled) {
      delete next.state.nextRunAtMs;
    } else if (scheduleChanged || !wasEnabled || next.state.nextRunAtMs === undefined) {
      const n = this.naturalNext(scheduleChanged ? { ...next, state: { ...next.state, lastRunAtMs: undefined } } : next, now);
      if (n !== undefined) next.state.nextRunAtMs = n;
      else delete next.state.nextRunAtMs;
    }
    next.updatedAtMs = now;
    this.jobs.set(id, next);
    this.persist(next);
    this.emit({ jobId: id, action: "updated", job: this.wireJob(next), ...(next.state.nextRunAtMs !== undefined ? { nextRunAtMs: next.state.nextRunAtMs } : {}) });
    this.arm();
    return this.jobView(next);
  }

  /** `cron.remove`: future runs stop; a run in progress is aborted; history is kept. */
  remove(params: CronIdParams): Record<string, unknown> {
    const id = resolveId("cron.remove", params);
    const job = this.requireJob(id);
    if (isSystemOwned(job)) throw invalidRequest("heartbeat monitor jobs are managed by the gateway; edit agents.*.heartbeat instead");
    return this.removeJob(job);
  }

  private removeJob(job: CronJob): Record<string, unknown> {
    this.jobs.delete(job.id);
    this.store.deleteJob(job.id);
    this.manualQueue.delete(job.id);
    this.waiting = this.waiting.filter((w) => w.jobId !== job.id);
    this.waitingIds.delete(job.id);
    const run = this.active.get(job.id);
    run?.controller.abort(new Error("cron job removed"));
    this.emit({ jobId: job.id, action: "removed", job: this.wireJob(job) });
    this.arm();
    return run ? { ok: true, removed: true, sessionCleanup: "pending" } : { ok: true, removed: true };
  }

  /**
   * `cron.run`: `force` (default) enqueues a run even when the job is disabled or not due and
   * answers at once with the run id; `due` runs only a due job; `if-enabled` skips a disabled
   * one. The run lands in history under that run id.
   */
  run(params: CronRunParams): Record<string, unknown> {
    const id = resolveId("cron.run", params);
    const job = this.requireJob(id);
    if (params.expectedProcessInstanceId !== undefined && params.expectedProcessInstanceId !== this.processInstanceId) {
      throw unavailable("the gateway restarted since this run was prepared; retry", {
        code: "CRON_PROCESS_INSTANCE_MISMATCH",
        processInstanceId: this.processInstanceId,
      });
    }
    const mode = params.mode ?? "force";
    const now = this.clock.now();
    const notRun = (reason: string) => ({ ok: true, ran: false, reason, processInstanceId: this.processInstanceId });
    if (mode !== "force") {
      if (!job.enabled) return notRun("disabled");
      if (this.active.has(id)) return notRun("already-running");
      if (mode === "due" && !(job.state.nextRunAtMs !== undefined && job.state.nextRunAtMs <= now)) return notRun("not-due");
    }
    const queued = this.manualQueue.get(id)?.length ?? 0;
    if (queued >= MAX_MANUAL_QUEUE) throw unavailable(`too many queued runs for ${id}; wait for them to finish`);
    const runId = `manual:${id}:${now}:${++this.manualCounter}`;
    this.admit({ jobId: id, trigger: "manual", runId, queuedAt: now });
    return { ok: true, enqueued: true, runId, processInstanceId: this.processInstanceId };
  }

  /** `cron.runs`: newest first by default; filters run in the store before paging. */
  runs(params: CronRunsParams = {}): Record<string, unknown> {
    const jobId = params.id ?? params.jobId;
    const statuses = params.statuses ?? (params.status && params.status !== "all" ? [params.status] : undefined);
    const deliveryStatuses = params.deliveryStatuses ?? (params.deliveryStatus ? [params.deliveryStatus] : undefined);
    const limit = params.limit ?? 50;
    const offset = params.offset ?? 0;
    const scopeAll = params.scope === "all" || jobId === undefined;
    const { entries, total } = this.store.queryRuns({
      jobId: scopeAll ? undefined : jobId,
      runId: params.runId,
      statuses,
      deliveryStatuses,
      query: params.query,
      sortDir: params.sortDir,
      limit,
      offset,
    });
    let rows = entries;
    if (params.agentId) rows = rows.filter((e) => { const j = this.jobs.get(e.jobId); return !j || this.effectiveAgentId(j) === params.agentId; });
    const decorated = rows.map((e) => {
      const out: Record<string, unknown> = { ...e };
      // The CLI adds tsIso/runAtIso/nextRunAtIso itself; the gateway sends the job name.
      const job = this.jobs.get(e.jobId);
      if (job) out.jobName = job.name;
      return out;
    });
    const hasMore = offset + entries.length < total;
    return { entries: decorated, total, offset, limit, hasMore, nextOffset: hasMore ? offset + entries.length : null };
  }

  /** `cron.scratch.get`. */
  scratchGet(params: CronIdParams): Record<string, unknown> {
    const id = resolveId("cron.scratch.get", params);
    this.requireJob(id);
    return this.store.getScratch(id);
  }

  /** `cron.scratch.set`: compare-and-swap on `expectedRevision`; `content: null` clears. */
  scratchSet(params: CronScratchSetParams): Record<string, unknown> {
    const id = resolveId("cron.scratch.set", params);
    this.requireJob(id);
    try {
      return this.store.setScratch(id, params.content, params.expectedRevision);
    } catch (err) {
      if (err instanceof ScratchTooLargeError) throw invalidParams("cron.scratch.set", err.message);
      throw err;
    }
  }

  // --- system-owned jobs (heartbeat monitors) -------------------------------------------------

  /**
   * Create or converge a gateway-owned job identified by its declaration key. The schedule is
   * replaced only when it changed (its next slot is kept otherwise); returns the job.
   */
  upsertSystemJob(spec: {
    declarationKey: string;
    name: string;
    displayName: string;
    agentId: string;
    enabled: boolean;
    schedule: Schedule;
    payload: Payload;
    sessionTarget: SessionTarget;
    wakeMode: WakeMode;
  }): CronJob {
    const now = this.clock.now();
    const existing = [...this.jobs.values()].find((j) => j.declarationKey === spec.declarationKey);
    if (existing) {
      const sameSchedule = JSON.stringify(existing.schedule) === JSON.stringify(spec.schedule);
      const changed =
        !sameSchedule ||
        existing.enabled !== spec.enabled ||
        existing.name !== spec.name ||
        existing.displayName !== spec.displayName ||
        existing.agentId !== spec.agentId;
      if (!changed) return existing;
      const next: CronJob = { ...structuredClone(existing), ...spec, updatedAtMs: now };
      if (!next.enabled) delete next.state.nextRunAtMs;
      else if (!sameSchedule || !existing.enabled || next.state.nextRunAtMs === undefined) {
        const n = this.naturalNext({ ...next, state: { ...next.state, lastRunAtMs: sameSchedule ? next.state.lastRunAtMs : undefined } }, now);
        if (n !== undefined) next.state.nextRunAtMs = n;
      }
      this.jobs.set(next.id, next);
      this.persist(next);
      this.emit({ jobId: next.id, action: "updated", job: this.wireJob(next), ...(next.state.nextRunAtMs !== undefined ? { nextRunAtMs: next.state.nextRunAtMs } : {}) });
      this.arm();
      return next;
    }
    const job: CronJob = { id: crypto.randomUUID(), ...spec, createdAtMs: now, updatedAtMs: now, state: {} };
    if (job.enabled) {
      const n = this.naturalNext(job, now);
      if (n !== undefined) job.state.nextRunAtMs = n;
    }
    this.jobs.set(job.id, job);
    this.persist(job);
    this.emit({ jobId: job.id, action: "added", job: this.wireJob(job), ...(job.state.nextRunAtMs !== undefined ? { nextRunAtMs: job.state.nextRunAtMs } : {}) });
    this.arm();
    return job;
  }

  /** Remove a gateway-owned job (its agent lost its heartbeat block). */
  removeSystemJob(id: string): void {
    const job = this.jobs.get(id);
    if (job) this.removeJob(job);
  }
}

function heartbeatOutcome(res: HeartbeatJobOutcome, now: number): Outcome {
  switch (res.status) {
    case "sent":
    case "ok-empty":
    case "ok-token":
      return { status: "ok", completion: "succeeded", summary: res.preview, model: res.model, provider: res.provider };
    case "skipped":
      return { status: "skipped", completion: "failed", error: `heartbeat skipped: ${res.reason ?? "unknown"}`, model: res.model, provider: res.provider };
    case "failed":
      // A failed send is a delivery failure: the run itself succeeded and counts toward no
      // failure streak (a blocked bot must not get the heartbeat auto-disabled).
      if (res.deliveryError !== undefined) {
        return {
          status: "ok",
          completion: "failed",
          summary: res.preview,
          delivery: { delivered: false, deliveryStatus: "not-delivered", completion: "failed", deliveryError: res.deliveryError },
          diagnostics: { summary: res.deliveryError, entries: [{ ts: now, source: "delivery", severity: "error", message: res.deliveryError }] },
        };
      }
      return { status: "error", completion: "failed", error: res.error ?? `heartbeat failed: ${res.reason ?? "unknown"}` };
  }
}


