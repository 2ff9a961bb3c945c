/**
 * The automation subsystem assembled: job store, system-event queue, scheduler, heartbeat runner
 * and hooks handler over the gateway's SQLite database, with the agent runtime and chat delivery
 * injected. The gateway constructs one `Automation`, starts it after listening, forwards config
 * reloads, registers `methods()` and routes hook requests through `handleHook`.
 */
import type { Database } from "bun:sqlite";
import type { OpenClawConfig } from "../config/schema.ts";
import { defaultAgentId, listAgents } from "../agents/registry.ts";
import { systemClock, type Clock } from "./clock.ts";
import { convergeHeartbeatJobs, heartbeatDeclarationKey, HeartbeatRunner, type HeartbeatDelivery, type HeartbeatEvent, type HeartbeatRunnerOptions, type ResolvedHeartbeat } from "./heartbeat.ts";
import { createHooksHandler, hooksStatus, type HookAgentAdmission, type HookAgentRequest, type HookCompletion, type HooksHandler } from "./hooks.ts";
import { automationMethods, type AutomationMethodDef } from "./rpc.ts";
import {
  CronService,
  isSilentReply,
  type AgentTurnExecutor,
  type CronEvent,
  type CronRuntimeConfig,
  type DeliverFn,
  type RoutePreviewFn,
  type WebhookFn,
} from "./service.ts";
import { AutomationStore } from "./store.ts";
import { SystemEventQueue } from "./system-events.ts";

export interface AutomationLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface AutomationDeps {
  /** The gateway's `openclaw.sqlite` (core migrations already applied). */
  db: Database;
  stateDir: string;
  config: () => OpenClawConfig;
  /** Stable per-gateway seed for heartbeat phases (the device id). */
  schedulerSeed: string;
  /** An agent's workspace directory (hooks.status, HEARTBEAT.md migration). */
  workspaceDir: (agentId: string) => string;
  /** Broadcast `cron` (operator.read) and `heartbeat` (ungated, droppable) events. */
  emit: (event: "cron" | "heartbeat", payload: unknown) => void;
  runAgentTurn?: AgentTurnExecutor;
  /** Chat delivery for job output and failure alerts (absent until channels exist). */
  deliver?: DeliverFn;
  previewRoute?: RoutePreviewFn;
  postWebhook?: WebhookFn;
  /** Heartbeat alert delivery and route check (absent until channels exist). */
  heartbeatDeliver?: HeartbeatRunnerOptions["deliver"];
  heartbeatHasRoute?: HeartbeatRunnerOptions["hasRoute"];
  heartbeatTyping?: HeartbeatRunnerOptions["typing"];
  /** Load probes for the heartbeat skip decision (agent lanes, queues). */
  facts?: HeartbeatRunnerOptions["facts"];
  /** Configured channel ids (job channel checks, hook direct-delivery validation). */
  channels?: () => string[];
  clock?: Clock;
  log?: AutomationLog;
  env?: Record<string, string | undefined>;
  /** Scheduler tuning (tests, benchmarks). */
  scheduler?: { maxTimerDelayMs?: number; maxConcurrentRuns?: number; startupAgentDelayMs?: number };
}

export function cronRuntimeConfig(cfg: OpenClawConfig, env: Record<string, string | undefined> = process.env): CronRuntimeConfig {
  const c = (cfg as { cron?: { enabled?: boolean; skipMissedJobs?: boolean; failureAlert?: CronRuntimeConfig["failureAlert"] } }).cron;
  const skip = env.OPENCLAW_SKIP_CRON;
  const userTimezone = (cfg.agents?.defaults as { userTimezone?: unknown } | undefined)?.userTimezone;
  return {
    enabled: (c?.enabled ?? true) && !(skip === "1" || skip === "true"),
    skipMissedJobs: c?.skipMissedJobs ?? false,
    ...(c?.failureAlert ? { failureAlert: c.failureAlert } : {}),
    ...(typeof userTimezone === "string" && userTimezone ? { userTimezone } : {}),
  };
}

export class Automation {
  readonly store: AutomationStore;
  readonly events = new SystemEventQueue();
  readonly cron: CronService;
  readonly heartbeat: HeartbeatRunner;
  readonly hooks: HooksHandler;
  readonly clock: Clock;

  constructor(private readonly deps: AutomationDeps) {
    this.clock = deps.clock ?? systemClock;
    this.store = new AutomationStore(deps.db, () => this.clock.now());
    const env = deps.env ?? process.env;
    const cfg = () => deps.config();
    this.heartbeat = new HeartbeatRunner({
      store: this.store,
      events: this.events,
      config: cfg,
      clock: this.clock,
      runAgentTurn: deps.runAgentTurn,
      deliver: deps.heartbeatDeliver,
      hasRoute: deps.heartbeatHasRoute,
      typing: deps.heartbeatTyping,
      facts: { ...deps.facts, cronBusy: deps.facts?.cronBusy ?? (() => this.cronBusyExceptHeartbeat()) },
      emit: (_e, payload: HeartbeatEvent) => deps.emit("heartbeat", payload),
      scratchFor: (agentId) => this.scratchFor(agentId),
      log: deps.log,
    });
    this.cron = new CronService({
      store: this.store,
      clock: this.clock,
      log: deps.log,
      emit: (_e, payload: CronEvent) => deps.emit("cron", payload),
      config: () => cronRuntimeConfig(cfg(), env),
      defaultAgentId: () => defaultAgentId(cfg()),
      isKnownAgent: (id) => listAgents(cfg()).some((a) => a.id === id),
      runAgentTurn: deps.runAgentTurn,
      deliver: deps.deliver,
      previewRoute: deps.previewRoute,
      postWebhook: deps.postWebhook,
      channelFacts: () => ({ configured: deps.channels?.() ?? [], config: cfg() }),
      onSystemEvent: (e) => {
        this.events.enqueue(e.sessionKey, e.text, this.clock.now());
        if (e.wakeMode === "now") {
          void this.heartbeat.run(e.agentId, "cron", { sessionKey: e.sessionKey }).catch((err) => deps.log?.error(`heartbeat: cron wake failed: ${(err as Error).message}`));
        }
      },
      runHeartbeatJob: (job, signal) => this.heartbeat.runJob(job, signal),
      ...deps.scheduler,
    });
    this.hooks = createHooksHandler({
      config: cfg,
      clock: this.clock,
      knownAgents: () => listAgents(cfg()).map((a) => a.id),
      defaultAgentId: () => defaultAgentId(cfg()),
      channels: deps.channels,
      dispatchWake: (req) => this.heartbeat.wake(req),
      dispatchAgent: (req) => this.dispatchHookAgent(req),
      log: deps.log,
    });
  }

  /** The heartbeat waits for other automation work, not for its own monitor job. */
  private cronBusyExceptHeartbeat(): boolean {
    return this.cron.activeRuns().some((r) => this.cron.getJob(r.jobId)?.payload.kind !== "heartbeat");
  }

  private scratchFor(agentId: string): string | null | undefined {
    const job = this.cron.allJobs().find((j) => j.declarationKey === heartbeatDeclarationKey(agentId));
    if (!job) return undefined;
    // A cleared scratch counts as none: the model decides what to do.
    return this.store.getScratch(job.id).scratch?.content;
  }

  /** Converge heartbeat monitors, load jobs, catch up, arm the timer. */
  start(): void {
    this.cron.start();
    convergeHeartbeatJobs(this.cron, this.deps.config(), this.deps.schedulerSeed);
  }

  /** Stop timers and abandon work in flight; call before closing the database. */
  stop(): void {
    this.cron.stop();
    this.heartbeat.stop();
  }

  /** After a config reload: heartbeat monitors follow `agents.*.heartbeat`; cron re-arms. */
  reload(): void {
    convergeHeartbeatJobs(this.cron, this.deps.config(), this.deps.schedulerSeed);
    this.cron.reconfigure();
  }

  methods(): AutomationMethodDef[] {
    return automationMethods({
      cron: this.cron,
      heartbeat: this.heartbeat,
      hooksStatus: (p) => hooksStatus({ workspaceDir: this.deps.workspaceDir(p.agentId ?? defaultAgentId(this.deps.config())), stateDir: this.deps.stateDir }),
    });
  }

  /** Route a request through the hooks endpoint; undefined = not a hook request. */
  handleHook(req: Request, clientIp: string): Promise<Response | undefined> {
    return this.hooks(req, { clientIp });
  }

  /**
   * A hook agent run: admitted at once (agent lanes, when wired, admit inside `runAgentTurn`),
   * isolated by default; its output goes to the named channel target, or with no destination
   * becomes a system event on the agent's main session.
   */
  private async dispatchHookAgent(req: HookAgentRequest): Promise<HookAgentAdmission> {
    const run = this.deps.runAgentTurn;
    if (!run) return { ok: false, status: 502, error: "agent runtime unavailable" };
    const runId = crypto.randomUUID();
    const sessionId = crypto.randomUUID();
    const sessionKey =
      req.sessionMode === "persistent"
        ? req.sessionKey.startsWith("agent:")
          ? req.sessionKey
          : `agent:${req.agentId}:${req.sessionKey}`
        : `agent:${req.agentId}:hook:${runId}`;
    const controller = new AbortController();
    const completion = (async (): Promise<HookCompletion> => {
      try {
        const result = await run({
          jobId: `hook:${req.mappingId ?? "agent"}`,
          jobName: req.name,
          runId,
          agentId: req.agentId,
          sessionTarget: "isolated",
          sessionKey,
          sessionId,
          isolated: req.sessionMode !== "persistent",
          message: req.message,
          model: req.model,
          thinking: req.thinking,
          timeoutMs: req.timeoutSeconds ? req.timeoutSeconds * 1000 : undefined,
          signal: controller.signal,
        });
        if (result.skipped) return { status: "skipped", replyDisposition: "empty" };
        const text = result.text ?? "";
        const disposition = !text.trim() ? "empty" : isSilentReply(text) ? "silent" : "visible";
        if (!req.deliver) return { status: "ok", replyDisposition: disposition, delivered: false, deliveryAttempted: false };
        if (disposition !== "visible") return { status: "ok", replyDisposition: disposition, delivered: false, deliveryAttempted: true, deliverySuppressionReason: disposition };
        if (req.channel && req.to && this.deps.deliver) {
          const sent = await this.deps
            .deliver({ jobId: `hook:${req.name}`, runId, agentId: req.agentId, channel: req.channel, to: req.to, accountId: req.accountId, text, purpose: "result" })
            .catch(() => ({ resolved: true, delivered: false }));
          return sent.delivered
            ? { status: "ok", replyDisposition: "visible", delivered: true, deliveryAttempted: true }
            : { status: "ok", replyDisposition: "visible", delivered: false, deliveryAttempted: true, deliveryError: "delivery-failed" };
        }
        this.heartbeat.wake({ mode: req.wakeMode, text: `Hook ${req.name} completed: ${text}`, agentId: req.agentId });
        return { status: "ok", replyDisposition: "visible", delivered: false, deliveryAttempted: true };
      } catch (err) {
        this.events.enqueue(`agent:${req.agentId}:main`, `Hook ${req.name} failed: ${(err as Error).message}`, this.clock.now());
        return { status: "error", replyDisposition: "empty", delivered: false, deliveryAttempted: false };
      }
    })();
    return { ok: true, runId, completion };
  }
}

export { CronService } from "./service.ts";
export { createPreflight, probeUrl, type Preflight, type ProviderEndpoint } from "./preflight.ts";
export { HeartbeatRunner, migrateHeartbeatFile, heartbeatHealth, heartbeatAgents } from "./heartbeat.ts";
export type { AgentTurnExecutor, AgentTurnRequest, AgentTurnResult, DeliverFn, DeliveryRequest, DeliveryResult } from "./service.ts";
export type { AutomationMethodDef } from "./rpc.ts";
export type { HeartbeatDelivery };
