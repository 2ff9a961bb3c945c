/**
 * The heartbeat: periodic main-session agent turns, owned by the scheduler as one gateway-managed
 * job per heartbeat-enabled agent (`declarationKey: "heartbeat:<agentId>"`, payload
 * `{kind:"heartbeat"}`), whose instructions live in that job's scratch.
 *
 * - Config (`agents.defaults.heartbeat`, `agents.entries.<id>.heartbeat`): resolution, the
 *   monitor jobs it converges to, and the `health` summary.
 * - The skip decision as a pure function of injected facts (queue sizes, active runs, busy
 *   automation), in the original's order.
 * - Reply handling: `NO_REPLY` / `HEARTBEAT_OK` acknowledgements, `ok-empty` / `ok-token` /
 *   `sent` / `skipped` / `failed` outcomes, the persisted `last-heartbeat` and the `heartbeat`
 *   event.
 * - `wake`, `set-heartbeats`, and the `HEARTBEAT.md` → scratch migration `doctor --fix` runs.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { defaultAgentId, listAgents } from "../agents/registry.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { invalidParams } from "./errors.ts";
import { parseDurationMs } from "./schedule.ts";
import type { AgentTurnExecutor, CronService, HeartbeatJobOutcome } from "./service.ts";
import { isSilentReply } from "./service.ts";
import type { AutomationStore } from "./store.ts";
import { formatSystemEvents, type EnqueueOutcome, type SystemEventQueue } from "./system-events.ts";
import { hostTimeZone, isValidTimeZone, wallTime } from "./tz.ts";
import type { CronJob } from "./types.ts";

// --- config -------------------------------------------------------------------------------------

export interface HeartbeatConfigInput {
  every?: string;
  activeHours?: { start?: string; end?: string; timezone?: string };
  model?: string;
  session?: string;
  target?: string;
  directPolicy?: "allow" | "block";
  to?: string;
  accountId?: string;
  prompt?: string;
  timeoutSeconds?: number;
  lightContext?: boolean;
  isolatedSession?: boolean;
  /** Defaults only: the ambient heartbeat owner. */
  agentId?: string;
}

export const HEARTBEAT_PROMPT =
  "Follow the heartbeat monitor scratch context when provided. Recurring tasks are automations; create or change their schedules with the automations tool, not heartbeat scratch. Do not infer or repeat old tasks from prior chats. If nothing needs attention, reply NO_REPLY.";
export const DEFAULT_EVERY = "30m";
export const ACK_MAX_CHARS = 300;
export const PREVIEW_MAX_CHARS = 200;
export const HEARTBEAT_TOKEN = "HEARTBEAT_OK";

export interface ResolvedHeartbeat {
  agentId: string;
  /** Recurring cadence on (every > 0). */
  enabled: boolean;
  every: string;
  everyMs: number | null;
  prompt: string;
  target: string;
  /** No `target` was configured: the default `owner` route (its first alert explains itself). */
  implicitTarget: boolean;
  to?: string;
  accountId?: string;
  model?: string;
  session?: string;
  activeHours?: { start?: string; end?: string; timezone?: string };
  directPolicy: "allow" | "block";
  lightContext: boolean;
  isolatedSession: boolean;
  timeoutMs: number;
}

type AgentsConfig = {
  defaults?: { heartbeat?: HeartbeatConfigInput; userTimezone?: string; timeoutSeconds?: number };
  entries?: Record<string, { heartbeat?: HeartbeatConfigInput }>;
  list?: Array<{ id: string; heartbeat?: HeartbeatConfigInput }>;
};

function agentsConfig(cfg: OpenClawConfig): AgentsConfig {
  return (cfg.agents ?? {}) as AgentsConfig;
}

function resolveOne(cfg: OpenClawConfig, agentId: string, own: HeartbeatConfigInput | undefined): ResolvedHeartbeat {
  const ac = agentsConfig(cfg);
  const merged: HeartbeatConfigInput = { ...(ac.defaults?.heartbeat ?? {}), ...(own ?? {}) };
  const every = merged.every?.trim() || DEFAULT_EVERY;
  let everyMs: number | null;
  try {
    everyMs = parseDurationMs(every, { defaultUnit: "m" });
  } catch {
    everyMs = parseDurationMs(DEFAULT_EVERY);
  }
  const enabled = everyMs > 0;
  const defaultTimeout = ac.defaults?.timeoutSeconds;
  const timeoutMs =
    merged.timeoutSeconds !== undefined
      ? merged.timeoutSeconds * 1000
      : defaultTimeout !== undefined && defaultTimeout > 0
        ? defaultTimeout * 1000
        : Math.min(everyMs > 0 ? everyMs : 600_000, 600_000);
  return {
    agentId,
    enabled,
    every: enabled ? every : "disabled",
    everyMs: enabled ? everyMs : null,
    prompt: merged.prompt?.trim() || HEARTBEAT_PROMPT,
    target: merged.target?.trim() || "owner",
    implicitTarget: !merged.target?.trim(),
    ...(merged.to ? { to: merged.to } : {}),
    ...(merged.accountId ? { accountId: merged.accountId } : {}),
    ...(merged.model ? { model: merged.model } : {}),
    ...(merged.session ? { session: merged.session } : {}),
    ...(merged.activeHours ? { activeHours: merged.activeHours } : {}),
    directPolicy: merged.directPolicy ?? "allow",
    lightContext: merged.lightContext ?? false,
    isolatedSession: merged.isolatedSession ?? false,
    timeoutMs,
  };
}

/**
 * The agents that run heartbeats: those with their own `heartbeat` block when any has one,
 * otherwise the ambient owner (`agents.defaults.heartbeat.agentId`, else the default agent).
 */
export function heartbeatAgents(cfg: OpenClawConfig): ResolvedHeartbeat[] {
  const ac = agentsConfig(cfg);
  const own = new Map<string, HeartbeatConfigInput>();
  for (const [id, entry] of Object.entries(ac.entries ?? {})) if (entry?.heartbeat) own.set(id, entry.heartbeat);
  for (const entry of ac.list ?? []) if (entry.heartbeat && !own.has(entry.id)) own.set(entry.id, entry.heartbeat);
  if (own.size) return [...own].map(([id, hb]) => resolveOne(cfg, id, hb));
  const known = listAgents(cfg).map((a) => a.id);
  const ambient = ac.defaults?.heartbeat?.agentId;
  const owner = ambient && known.includes(ambient) ? ambient : defaultAgentId(cfg);
  return [resolveOne(cfg, owner, undefined)];
}

/** The session a heartbeat runs in: its `session` setting, else the agent's main session. */
export function heartbeatSessionKey(hb: Pick<ResolvedHeartbeat, "agentId" | "session">): string {
  if (hb.session && hb.session !== "main") return hb.session.startsWith("agent:") ? hb.session : `agent:${hb.agentId}:${hb.session}`;
  return `agent:${hb.agentId}:main`;
}

export function resolveHeartbeat(cfg: OpenClawConfig, agentId: string): ResolvedHeartbeat | undefined {
  return heartbeatAgents(cfg).find((h) => h.agentId === agentId);
}

/** `health.agents[].heartbeat` and `heartbeatSeconds` for one agent. */
export function heartbeatHealth(cfg: OpenClawConfig, agentId: string): { enabled: boolean; every: string; everyMs: number | null; prompt: string; target: string; ackMaxChars: number } {
  const hb = resolveHeartbeat(cfg, agentId);
  if (!hb) return { enabled: false, every: "disabled", everyMs: null, prompt: HEARTBEAT_PROMPT, target: "owner", ackMaxChars: ACK_MAX_CHARS };
  return { enabled: hb.enabled, every: hb.every, everyMs: hb.everyMs, prompt: hb.prompt, target: hb.target, ackMaxChars: ACK_MAX_CHARS };
}

/** The monitor's fixed phase within its interval, from the gateway's identity and the agent. */
export function heartbeatPhaseMs(seed: string, agentId: string, everyMs: number): number {
  return new Bun.CryptoHasher("sha256").update(`${seed}:${agentId}`).digest().readUInt32BE(0) % Math.max(1, everyMs);
}

export const heartbeatDeclarationKey = (agentId: string) => `heartbeat:${agentId}`;

/**
 * Make the scheduler's monitor jobs match config: one per heartbeat agent (disabled when its
 * cadence is `0m`), none for agents that lost their heartbeat. `seed` is the gateway's stable
 * identity (its device id), so phases survive restarts and differ between gateways.
 */
export function convergeHeartbeatJobs(service: CronService, cfg: OpenClawConfig, seed: string): CronJob[] {
  const wanted = heartbeatAgents(cfg);
  const existing = service.allJobs().filter((j) => j.payload.kind === "heartbeat");
  const out: CronJob[] = [];
  for (const hb of wanted) {
    const key = heartbeatDeclarationKey(hb.agentId);
    const current = existing.find((j) => j.declarationKey === key);
    const everyMs = hb.everyMs ?? (current?.schedule.kind === "every" ? current.schedule.everyMs : parseDurationMs(DEFAULT_EVERY));
    out.push(
      service.upsertSystemJob({
        declarationKey: key,
        name: `heartbeat-${hb.agentId}`,
        displayName: `Heartbeat (${hb.agentId})`,
        agentId: hb.agentId,
        enabled: hb.enabled,
        schedule: { kind: "every", everyMs, anchorMs: heartbeatPhaseMs(seed, hb.agentId, everyMs) },
        payload: { kind: "heartbeat" },
        sessionTarget: "main",
        wakeMode: "next-heartbeat",
      }),
    );
  }
  for (const job of existing) {
    if (!wanted.some((hb) => job.declarationKey === heartbeatDeclarationKey(hb.agentId))) service.removeSystemJob(job.id);
  }
  return out;
}

// --- active hours ---------------------------------------------------------------------------------

function minutesOf(hhmm: string | undefined, fallback: number): number {
  if (!hhmm) return fallback;
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm.trim());
  if (!m) return fallback;
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * Inside `activeHours`? start inclusive, end exclusive (`24:00` = end of day), overnight windows
 * wrap, equal start and end is an empty window. Zone: IANA name, `local` (host), or omitted /
 * `user` (userTimezone, else host); an unknown name falls back to `user`.
 */
export function isWithinActiveHours(
  active: ResolvedHeartbeat["activeHours"],
  nowMs: number,
  opts: { userTimezone?: string; hostTimezone?: string } = {},
): boolean {
  if (!active) return true;
  const host = opts.hostTimezone ?? hostTimeZone();
  const user = opts.userTimezone && isValidTimeZone(opts.userTimezone) ? opts.userTimezone : host;
  const tzRaw = active.timezone?.trim();
  const tz = !tzRaw || tzRaw === "user" ? user : tzRaw === "local" ? host : isValidTimeZone(tzRaw) ? tzRaw : user;
  const start = minutesOf(active.start, 0);
  const end = minutesOf(active.end, 24 * 60);
  if (start === end) return false;
  const w = wallTime(nowMs, tz);
  const m = w.h * 60 + w.mi;
  return start < end ? m >= start && m < end : m >= start || m < end;
}

// --- scratch and replies ----------------------------------------------------------------------------

/** Scratch with only blank lines, comments, headings, fences or empty checklist stubs. */
export function isEffectivelyEmptyScratch(content: string): boolean {
  let inComment = false;
  for (const rawLine of content.split("\n")) {
    let line = rawLine;
    // Strip HTML comments, including ones spanning lines.
    for (;;) {
      if (inComment) {
        const end = line.indexOf("-->");
        if (end < 0) {
          line = "";
          break;
        }
        line = line.slice(end + 3);
        inComment = false;
        continue;
      }
      const start = line.indexOf("<!--");
      if (start < 0 || line.slice(0, start).trim()) break;
      inComment = true;
      line = line.slice(start + 4);
    }
    const t = line.trim();
    if (!t || /^#+(\s|$)/.test(t) || /^[-*+]\s*(\[[\sxX]?\]\s*)?$/.test(t) || /^```[A-Za-z0-9_-]*$/.test(t)) continue;
    return false;
  }
  return true;
}

function stripTokenAtEdges(raw: string): { text: string; stripped: boolean } {
  let text = raw.trim();
  if (!text.includes(HEARTBEAT_TOKEN)) return { text, stripped: false };
  let stripped = false;
  const tail = new RegExp(`${HEARTBEAT_TOKEN}[^\\w]{0,4}$`);
  for (let guard = 0; guard < 100; guard++) {
    const t = text.trim();
    if (t.startsWith(HEARTBEAT_TOKEN)) {
      text = t.slice(HEARTBEAT_TOKEN.length).trimStart();
      stripped = true;
      continue;
    }
    if (tail.test(t)) {
      const idx = t.lastIndexOf(HEARTBEAT_TOKEN);
      const before = t.slice(0, idx).trimEnd();
      text = before ? `${before}${t.slice(idx + HEARTBEAT_TOKEN.length).trimStart()}`.trimEnd() : "";
      stripped = true;
      continue;
    }
    break;
  }
  return { text: text.replace(/\s+/g, " ").trim(), stripped };
}

export type ReplyClass = { kind: "empty" } | { kind: "ack" } | { kind: "alert"; text: string };

/**
 * Classify a heartbeat reply: nothing (`ok-empty`), an acknowledgement (`NO_REPLY`, or
 * `HEARTBEAT_OK` at the start or end with at most 300 characters left: `ok-token`), or alert
 * text. A token in the middle of a reply is ordinary text; light markup around it is ignored.
 */
export function classifyHeartbeatReply(raw: string | undefined, maxAckChars = ACK_MAX_CHARS): ReplyClass {
  const text = (raw ?? "").trim();
  if (!text) return { kind: "empty" };
  if (isSilentReply(text)) return { kind: "ack" };
  if (!text.includes(HEARTBEAT_TOKEN)) return { kind: "alert", text };
  const unmarked = text.replace(/<[^>]*>/g, " ").replace(/&nbsp;/gi, " ").replace(/^[*`~_]+/, "").replace(/[*`~_]+$/, "");
  const a = stripTokenAtEdges(text);
  const b = stripTokenAtEdges(unmarked);
  const picked = a.stripped && a.text ? a : b;
  if (!picked.stripped) return { kind: "alert", text };
  if (!picked.text || picked.text.length <= maxAckChars) return { kind: "ack" };
  return { kind: "alert", text: picked.text };
}

// --- the skip decision -------------------------------------------------------------------------------

export type HeartbeatSkipReason =
  | "disabled"
  | "quiet-hours"
  | "empty-heartbeat-file"
  | "alerts-disabled"
  | "requests-in-flight"
  | "cron-in-progress"
  | "no-route"
  | "target-none";

export type HeartbeatSource = "interval" | "manual" | "wake" | "hook" | "cron";

/** What the runtime knows when a heartbeat is due; injected so the decision is a pure function. */
export interface HeartbeatFacts {
  /** Heartbeats switched on (`set-heartbeats`). */
  heartbeatsEnabled: boolean;
  /** The agent's resolved heartbeat, or undefined when it has none. */
  heartbeat: ResolvedHeartbeat | undefined;
  source: HeartbeatSource;
  nowMs: number;
  userTimezone?: string;
  /** The monitor scratch: undefined when no scratch row exists. */
  scratch?: string | null;
  /** System events waiting for this session. */
  pendingEvents: number;
  /** Requests queued on the agent's main lane. */
  mainQueueSize: number;
  /** Chat/agent runs in progress for this agent. */
  activeRunsForAgent: number;
  /** The heartbeat's session has work in progress or queued. */
  targetSessionBusy: boolean;
  /** All of the agent's lanes are occupied (maxConcurrent reached). */
  lanesSaturated?: boolean;
  /** Another automation run is in progress or waiting. */
  cronBusy: boolean;
  /** Channel visibility: all three off means nobody would see anything. */
  visibility?: { showOk: boolean; showAlerts: boolean; useIndicator: boolean };
  /** A delivery route exists for the target (undefined = unknown, decided after the turn). */
  routeAvailable?: boolean;
}

/**
 * Run or skip, in the original's order: off → outside active hours (scheduled only) → empty
 * scratch → nobody would see it → busy main queue → automation in progress → the agent busy
 * (scheduled only) → the target session busy → no delivery route (scheduled, nothing pending).
 * Manual wakes skip the quiet-hours and agent-busy checks. `target: "none"` is not a skip
 * here: the turn runs and its result is recorded as skipped (`target-none`) afterwards.
 * Saturated agent lanes count as requests in flight (2026.9.6 has no separate reason).
 */
export function decideHeartbeat(f: HeartbeatFacts): { run: true } | { run: false; reason: HeartbeatSkipReason } {
  const skip = (reason: HeartbeatSkipReason) => ({ run: false as const, reason });
  if (!f.heartbeatsEnabled || !f.heartbeat) return skip("disabled");
  const scheduled = f.source === "interval";
  if (scheduled && !f.heartbeat.enabled) return skip("disabled");
  if (scheduled && !isWithinActiveHours(f.heartbeat.activeHours, f.nowMs, { userTimezone: f.userTimezone })) return skip("quiet-hours");
  if (typeof f.scratch === "string" && isEffectivelyEmptyScratch(f.scratch) && f.pendingEvents === 0) return skip("empty-heartbeat-file");
  if (f.visibility && !f.visibility.showOk && !f.visibility.showAlerts && !f.visibility.useIndicator) return skip("alerts-disabled");
  if (f.mainQueueSize > 0 || f.lanesSaturated) return skip("requests-in-flight");
  if (f.cronBusy) return skip("cron-in-progress");
  if (scheduled && f.activeRunsForAgent > 0) return skip("requests-in-flight");
  if (f.targetSessionBusy) return skip("requests-in-flight");
  if (scheduled && f.pendingEvents === 0 && f.routeAvailable === false && f.heartbeat.target !== "none") return skip("no-route");
  return { run: true };
}

// --- the runner -------------------------------------------------------------------------------------

export type HeartbeatStatus = "sent" | "ok-empty" | "ok-token" | "skipped" | "failed";

/** The `heartbeat` event and `last-heartbeat` payload. */
export interface HeartbeatEvent {
  ts: number;
  status: HeartbeatStatus;
  reason?: string;
  to?: string;
  preview?: string;
  durationMs?: number;
  hasMedia?: boolean;
  channel?: string;
  accountId?: string;
  indicatorType?: "ok" | "alert" | "error";
  message?: string;
}

export const NO_ROUTE_MESSAGE = "Heartbeat has no delivery route yet. Message your bot once, or set agents.defaults.heartbeat.target.";
export const TARGET_NONE_MESSAGE = "Heartbeat delivery is disabled by configuration (target: none).";

export interface HeartbeatDelivery {
  resolved: boolean;
  delivered: boolean;
  /** Why an unresolved alert had nowhere to go: `no-route`, `no-target`, `unknown-account`, `dm-blocked`. */
  reason?: string;
  channel?: string;
  to?: string;
  accountId?: string;
  error?: string;
}

export interface HeartbeatDeliveryRequest {
  agentId: string;
  /** The heartbeat's session: its last conversation is where `last` (and the owner's thread) come from. */
  sessionKey: string;
  heartbeat: ResolvedHeartbeat;
  text: string;
}

/** Prepended to the first alert the default `owner` route delivers (once per agent). */
export const OWNER_NOTICE =
  'Heartbeat: this assistant runs periodic background checks and writes to you only when one needs your attention. To keep them internal, run `openclaw config set agents.defaults.heartbeat.target "none"`.';

export interface HeartbeatRunnerOptions {
  store: AutomationStore;
  events: SystemEventQueue;
  config: () => OpenClawConfig;
  clock?: Clock;
  runAgentTurn?: AgentTurnExecutor;
  /** Whether a heartbeat alert would have somewhere to go (owner / last / channel), without sending. */
  hasRoute?: (agentId: string, hb: ResolvedHeartbeat, sessionKey: string) => boolean;
  /** Send an alert to the heartbeat's target; absent while the gateway has no channels. */
  deliver?: (req: HeartbeatDeliveryRequest) => Promise<HeartbeatDelivery>;
  /** Show "typing…" at the heartbeat's target while its turn runs; returns the stop function. */
  typing?: (req: Omit<HeartbeatDeliveryRequest, "text">) => (() => void) | undefined;
  /** Facts about load; each absent probe reads as idle. */
  facts?: {
    mainQueueSize?: (agentId: string) => number;
    activeRunsForAgent?: (agentId: string) => number;
    sessionBusy?: (sessionKey: string) => boolean;
    lanesSaturated?: (agentId: string) => boolean;
    cronBusy?: () => boolean;
  };
  /** Broadcast the `heartbeat` event. */
  emit?: (event: "heartbeat", payload: HeartbeatEvent) => void;
  /** The scratch of an agent's monitor job (the runner reads it before each turn). */
  scratchFor?: (agentId: string) => string | null | undefined;
  log?: { warn(m: string): void; error(m: string): void };
}

const KV_LAST = "heartbeat.last";
const KV_ENABLED = "heartbeat.enabled";
const KV_OWNER_NOTICE = "heartbeat.ownerNotice.";

function truncatePreview(text: string | undefined): string | undefined {
  if (!text) return undefined;
  return text.length <= PREVIEW_MAX_CHARS ? text : text.slice(0, PREVIEW_MAX_CHARS);
}

export class HeartbeatRunner {
  readonly clock: Clock;
  private readonly running = new Set<string>();
  private readonly controllers = new Set<AbortController>();
  private stopped = false;

  constructor(private readonly opts: HeartbeatRunnerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** `last-heartbeat`: the latest recorded outcome (persisted), or null. */
  last(): HeartbeatEvent | null {
    return this.opts.store.getKv<HeartbeatEvent>(KV_LAST) ?? null;
  }

  enabled(): boolean {
    return this.opts.store.getKv<boolean>(KV_ENABLED) ?? true;
  }

  /** `set-heartbeats` (persisted across restarts). */
  setEnabled(params: { enabled?: unknown }): { ok: true; enabled: boolean } {
    if (typeof params.enabled !== "boolean") throw invalidParams("set-heartbeats", "enabled (boolean) required");
    this.opts.store.setKv(KV_ENABLED, params.enabled);
    return { ok: true, enabled: params.enabled };
  }

  private sessionKeyFor(hb: ResolvedHeartbeat, explicit?: string): string {
    return explicit || heartbeatSessionKey(hb);
  }

  /** Abort heartbeat turns in flight; nothing is recorded after this (the database may close). */
  stop(): void {
    this.stopped = true;
    for (const c of this.controllers) c.abort(new Error("gateway stopping"));
  }

  private record(event: HeartbeatEvent): HeartbeatEvent {
    if (this.stopped) return event;
    this.opts.store.setKv(KV_LAST, event);
    try {
      this.opts.emit?.("heartbeat", event);
    } catch (err) {
      this.opts.log?.warn(`heartbeat: event listener failed: ${(err as Error).message}`);
    }
    return event;
  }

  /**
   * One heartbeat for an agent. Skips (except `disabled`) and outcomes are recorded as the
   * latest heartbeat and broadcast. Concurrent heartbeats for the same agent collapse: the
   * second reports `requests-in-flight` without recording.
   */
  async run(agentId: string, source: HeartbeatSource, opts: { sessionKey?: string; signal?: AbortSignal } = {}): Promise<HeartbeatEvent> {
    const started = this.clock.now();
    if (this.stopped) return { ts: started, status: "skipped", reason: "disabled" };
    const cfg = this.opts.config();
    const hb = resolveHeartbeat(cfg, agentId) ?? (source !== "interval" ? resolveOneForWake(cfg, agentId) : undefined);
    const sessionKey = hb ? this.sessionKeyFor(hb, opts.sessionKey) : `agent:${agentId}:main`;
    if (this.running.has(agentId)) return { ts: started, status: "skipped", reason: "requests-in-flight" };
    const f = this.opts.facts ?? {};
    const decision = decideHeartbeat({
      heartbeatsEnabled: this.enabled(),
      heartbeat: hb,
      source,
      nowMs: started,
      userTimezone: (agentsConfig(cfg).defaults as { userTimezone?: string } | undefined)?.userTimezone,
      scratch: this.opts.scratchFor?.(agentId),
      pendingEvents: this.opts.events.size(sessionKey),
      mainQueueSize: f.mainQueueSize?.(agentId) ?? 0,
      activeRunsForAgent: f.activeRunsForAgent?.(agentId) ?? 0,
      targetSessionBusy: f.sessionBusy?.(sessionKey) ?? false,
      lanesSaturated: f.lanesSaturated?.(agentId) ?? false,
      cronBusy: f.cronBusy?.() ?? false,
      routeAvailable: hb && hb.target !== "none" ? (this.opts.hasRoute?.(agentId, hb, sessionKey) ?? false) : undefined,
    });
    if (!decision.run) {
      const event: HeartbeatEvent = { ts: this.clock.now(), status: "skipped", reason: decision.reason, durationMs: this.clock.now() - started };
      if (decision.reason === "no-route") event.message = NO_ROUTE_MESSAGE;
      // Switched-off heartbeats leave no trace (the original records nothing either).
      return decision.reason === "disabled" ? event : this.record(event);
    }
    this.running.add(agentId);
    const pending = this.opts.events.drain(sessionKey);
    try {
      return await this.turn(hb!, sessionKey, pending, started, opts.signal);
    } catch (err) {
      this.opts.events.restore(sessionKey, pending);
      return this.record({
        ts: this.clock.now(),
        status: "failed",
        reason: "agent-runner-failure",
        durationMs: this.clock.now() - started,
        indicatorType: "error",
        message: (err as Error).message,
      });
    } finally {
      this.running.delete(agentId);
    }
  }

  private async turn(hb: ResolvedHeartbeat, sessionKey: string, pending: ReturnType<SystemEventQueue["drain"]>, started: number, signal?: AbortSignal): Promise<HeartbeatEvent> {
    if (!this.opts.runAgentTurn) throw new Error("the agent runtime is not available on this gateway");
    const scratch = this.opts.scratchFor?.(hb.agentId);
    const parts = [hb.prompt];
    if (scratch && scratch.trim()) parts.push(`Heartbeat monitor scratch:\n${scratch.trim()}`);
    if (pending.length) parts.push(formatSystemEvents(pending));
    const controller = new AbortController();
    this.controllers.add(controller);
    const relay = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", relay);
    const sessionId = crypto.randomUUID();
    let stopTyping: (() => void) | undefined;
    if (hb.target !== "none") {
      try {
        stopTyping = this.opts.typing?.({ agentId: hb.agentId, sessionKey, heartbeat: hb });
      } catch (err) {
        this.opts.log?.warn(`heartbeat: typing indicator failed: ${(err as Error).message}`);
      }
    }
    let result;
    try {
      result = await this.opts.runAgentTurn({
        jobId: `heartbeat:${hb.agentId}`,
        jobName: `heartbeat-${hb.agentId}`,
        agentId: hb.agentId,
        sessionTarget: "main",
        sessionKey: hb.isolatedSession ? `agent:${hb.agentId}:heartbeat:run:${sessionId}` : sessionKey,
        sessionId,
        isolated: hb.isolatedSession,
        message: parts.join("\n\n"),
        model: hb.model,
        lightContext: hb.lightContext,
        timeoutMs: hb.timeoutMs,
        signal: controller.signal,
      });
    } finally {
      stopTyping?.();
      signal?.removeEventListener("abort", relay);
      this.controllers.delete(controller);
    }
    const durationMs = this.clock.now() - started;
    const base = { ts: this.clock.now(), durationMs };
    if (result.skipped) return this.record({ ...base, status: "skipped", reason: result.skipped });
    const reply = classifyHeartbeatReply(result.text);
    if (reply.kind === "empty") return this.record({ ...base, status: "ok-empty", indicatorType: "ok" });
    if (reply.kind === "ack") return this.record({ ...base, status: "ok-token", indicatorType: "ok" });
    if (hb.target === "none") {
      return this.record({ ...base, status: "skipped", preview: truncatePreview(reply.text), reason: "target-none", hasMedia: false, message: TARGET_NONE_MESSAGE });
    }
    const noticeKey = `${KV_OWNER_NOTICE}${hb.agentId}`;
    const withNotice = hb.implicitTarget && this.opts.store.getKv<boolean>(noticeKey) !== true;
    const text = withNotice ? `${OWNER_NOTICE}\n${reply.text}` : reply.text;
    const preview = truncatePreview(text);
    const sent = this.opts.deliver
      ? await this.opts
          .deliver({ agentId: hb.agentId, sessionKey, heartbeat: hb, text })
          .catch((err): HeartbeatDelivery => ({ resolved: true, delivered: false, error: (err as Error).message }))
      : { resolved: false, delivered: false };
    const where = { ...(sent.channel ? { channel: sent.channel } : {}), ...(sent.to ? { to: sent.to } : {}), ...(sent.accountId ? { accountId: sent.accountId } : {}) };
    if (!sent.resolved) {
      const reason = sent.reason ?? "no-route";
      return this.record({
        ...base,
        status: "skipped",
        // Nothing went out: the reply as the model wrote it, without the owner notice.
        preview: truncatePreview(reply.text),
        reason,
        hasMedia: false,
        ...(reason === "no-route" ? { message: NO_ROUTE_MESSAGE } : {}),
        ...where,
      });
    }
    if (!sent.delivered) {
      // As the original: the platform's error is the reason.
      return this.record({ ...base, status: "failed", preview, ...where, indicatorType: "error", reason: sent.error ?? "delivery failed", hasMedia: false });
    }
    if (withNotice) this.opts.store.setKv(noticeKey, true);
    return this.record({ ...base, status: "sent", preview, ...where, indicatorType: "alert", hasMedia: false });
  }

  /** The runner behind a `{kind:"heartbeat"}` job. */
  async runJob(job: CronJob, signal: AbortSignal): Promise<HeartbeatJobOutcome> {
    const event = await this.run(job.agentId ?? defaultAgentId(this.opts.config()), "interval", { signal });
    const deliveryFailed = event.status === "failed" && event.reason !== "agent-runner-failure";
    return {
      status: event.status,
      reason: event.reason,
      preview: event.preview,
      error: event.status === "failed" && !deliveryFailed ? event.message : undefined,
      ...(deliveryFailed ? { deliveryError: event.reason } : {}),
    };
  }

  /**
   * `wake {mode, text, sessionKey?, agentId?}` and `/hooks/wake`: queue the text as a system
   * event for the session (the agent's main session by default) and, with `now` (or any
   * targeted wake), run the heartbeat at once in the background. Without a target, `now` runs
   * every heartbeat agent.
   */
  wake(params: { mode: "now" | "next-heartbeat"; text: string; sessionKey?: string; agentId?: string }): { outcome: EnqueueOutcome } {
    const cfg = this.opts.config();
    const fromKey = params.sessionKey ? /^agent:([^:]+):/.exec(params.sessionKey)?.[1] : undefined;
    const agentId = params.agentId ?? fromKey ?? heartbeatAgents(cfg)[0]?.agentId ?? defaultAgentId(cfg);
    const hb = resolveHeartbeat(cfg, agentId) ?? resolveOneForWake(cfg, agentId);
    const sessionKey = params.sessionKey ?? this.sessionKeyFor(hb);
    const outcome = this.opts.events.enqueue(sessionKey, params.text, this.clock.now());
    const immediate = params.mode === "now" || params.sessionKey !== undefined;
    if (immediate) {
      const targets = params.sessionKey || params.agentId ? [agentId] : heartbeatAgents(cfg).map((h) => h.agentId);
      for (const id of targets) {
        void this.run(id, "wake", { sessionKey: params.sessionKey }).catch((err) => this.opts.log?.error(`heartbeat: wake failed: ${(err as Error).message}`));
      }
    }
    return { outcome };
  }
}

function resolveOneForWake(cfg: OpenClawConfig, agentId: string): ResolvedHeartbeat {
  return resolveOne(cfg, agentId, undefined);
}

// --- HEARTBEAT.md migration (doctor --fix) --------------------------------------------------------

export interface HeartbeatMigrationResult {
  agentId: string;
  migrated: boolean;
  reason?: "absent" | "no-monitor-job" | "scratch-differs" | "too-large";
  jobId?: string;
  archivedTo?: string;
  bytes?: number;
}

/**
 * Move an agent's workspace `HEARTBEAT.md` into its monitor job's scratch: the file is copied to
 * `<stateDir>/backups/heartbeat-migration/` (0600) and removed. Idempotent: an absent file is
 * a no-op; a scratch that already holds other text is left alone and reported, and the file
 * stays for the operator to reconcile.
 */
export function migrateHeartbeatFile(opts: {
  service: CronService;
  agentId: string;
  workspaceDir: string;
  stateDir: string;
  now?: number;
}): HeartbeatMigrationResult {
  const { agentId } = opts;
  const file = join(opts.workspaceDir, "HEARTBEAT.md");
  if (!existsSync(file)) return { agentId, migrated: false, reason: "absent" };
  const job = opts.service.allJobs().find((j) => j.declarationKey === heartbeatDeclarationKey(agentId));
  if (!job) return { agentId, migrated: false, reason: "no-monitor-job" };
  const content = readFileSync(file, "utf8");
  const bytes = Buffer.byteLength(content, "utf8");
  const current = opts.service.scratchGet({ id: job.id }) as { scratch: { content: string } | null; currentRevision: number };
  if (current.scratch && current.scratch.content.trim() && current.scratch.content !== content) {
    return { agentId, migrated: false, reason: "scratch-differs", jobId: job.id };
  }
  if (!current.scratch || current.scratch.content !== content) {
    try {
      opts.service.scratchSet({ id: job.id, content, expectedRevision: current.currentRevision });
    } catch {
      return { agentId, migrated: false, reason: "too-large", jobId: job.id, bytes };
    }
  }
  const dir = join(opts.stateDir, "backups", "heartbeat-migration");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date(opts.now ?? Date.now()).toISOString().replace(/[:.]/g, "-");
  const archivedTo = join(dir, `${agentId}-${stamp}-HEARTBEAT.md`);
  copyFileSync(file, archivedTo);
  chmodSync(archivedTo, 0o600);
  unlinkSync(file);
  return { agentId, migrated: true, jobId: job.id, archivedTo, bytes };
}
