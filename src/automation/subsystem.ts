/**
 * Automation hosted in the gateway: the scheduler, the heartbeat, wake and the hooks ingress as
 * one Subsystem (src/gateway/subsystem.ts).
 *
 *   start        after the first listen: on the runtime's state database connection, build
 *                the Automation over the agent runtime, converge heartbeat jobs, catch up, arm
 *                the timer;
 *   applyConfig  every applied config change (hot reload or in-process restart): heartbeat
 *                jobs follow `agents.*.heartbeat`, the scheduler re-reads `cron.*`; hooks read
 *                `hooks.*` per request. The scheduler itself outlives listeners;
 *   stop         once, before the gateway closes its runtime and database: timers stop, runs in
 *                flight are abandoned (the next start records them as interrupted).
 *
 * Agent turns go through the runtime's lanes (agent-turn.ts). Delivery to chat channels goes
 * through the `channels` seam, which the gateway fills with the channel host's delivery
 * (src/channels/automation-seam.ts): announce routes, `last` conversations, heartbeat targets
 * and the configured channel ids. Without it (a bare test host) every announce route is
 * unresolved with the original's "no configured channels" answer (CHANNELS_NOT_WIRED) and
 * heartbeats have no route.
 */
import { defaultAgentId, listAgents } from "../agents/registry.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import { enforceWriteLimit } from "../gateway/methods/config.ts";
import type { MethodDef } from "../gateway/methods/types.ts";
import type { HeartbeatReport, Subsystem, SubsystemHost } from "../gateway/subsystem.ts";
import { ErrorCodes, RpcError } from "../protocol/errors.ts";
import { agentTurnExecutor, laneFacts } from "./agent-turn.ts";
import type { Clock } from "./clock.ts";
import { NO_CHANNEL_ERROR } from "./errors.ts";
import { heartbeatHealth, heartbeatSessionKey, resolveHeartbeat, type HeartbeatRunnerOptions } from "./heartbeat.ts";
import { hooksStatus, resolveHooks } from "./hooks.ts";
import { Automation, type AutomationDeps } from "./index.ts";
import { createPreflight, type Preflight } from "./preflight.ts";
import { automationMethods } from "./rpc.ts";
import type { DeliverFn, RoutePreviewFn } from "./service.ts";
import { AutomationStore } from "./store.ts";
import { agentWorkspaceDir } from "./workspace.ts";

/** What the channel host lends automation once it is wired in (see automationSubsystem). */
export interface AutomationChannels {
  /** Send a run's output, a failure alert or a recovery notice to a channel target. */
  deliver: DeliverFn;
  /** Resolve an announce route without sending (delivery previews). */
  previewRoute?: RoutePreviewFn;
  /** Send a heartbeat alert to its target (owner / last / a channel). */
  heartbeatDeliver?: HeartbeatRunnerOptions["deliver"];
  /** Whether a heartbeat alert would have somewhere to go. */
  heartbeatHasRoute?: HeartbeatRunnerOptions["hasRoute"];
  /** "typing…" at the heartbeat's target while its turn runs. */
  heartbeatTyping?: HeartbeatRunnerOptions["typing"];
  /** Configured channel ids (the channel a job names must be one; direct hook delivery too). */
  channelIds?: () => string[];
}

/** Channel delivery while no channel host is wired: the route cannot be resolved, as the original says without channels. */
export const CHANNELS_NOT_WIRED: DeliverFn = async () => ({ resolved: false, delivered: false, error: NO_CHANNEL_ERROR });

export interface AutomationSubsystemOptions {
  /** The channel host's delivery, read on every use (undefined = no channel host). */
  channels?: () => AutomationChannels | undefined;
  /** Tests and benchmarks: the scheduler's clock and tuning, the provider preflight. */
  clock?: Clock;
  scheduler?: AutomationDeps["scheduler"];
  preflight?: Preflight;
}

const ROUTED_TARGETS = new Set(["owner", "last"]);

export function automationSubsystem(opts: AutomationSubsystemOptions = {}): Subsystem {
  let host: SubsystemHost | undefined;
  let automation: Automation | undefined;
  let startError: string | undefined;

  const channels = () => opts.channels?.();
  const need = (): Automation => {
    if (automation) return automation;
    throw new RpcError(ErrorCodes.UNAVAILABLE, startError ? `automation is unavailable: ${startError}` : "automation is not running yet; retry");
  };
  const workspace = (agentId: string) => agentWorkspaceDir(host!.snapshot.config, host!.stateDir, agentId);
  const hasRoute: NonNullable<HeartbeatRunnerOptions["hasRoute"]> = (agentId, hb, sessionKey) => channels()?.heartbeatHasRoute?.(agentId, hb, sessionKey) ?? false;
  const protectHookToken = (cfg: OpenClawConfig) => {
    const token = resolveHooks(cfg)?.token;
    if (token) host?.logger("hooks").addSecret(token);
  };

  const methods: MethodDef<any>[] = automationMethods({
    get cron() {
      return need().cron;
    },
    get heartbeat() {
      return need().heartbeat;
    },
    hooksStatus: (p) => {
      need();
      return hooksStatus({ workspaceDir: workspace(p.agentId ?? defaultAgentId(host!.snapshot.config)), stateDir: host!.stateDir });
    },
  }).map((def) => ({
    name: def.name,
    scope: def.scope,
    // A getter: the automation schemas are built on the first call, not at startup.
    get params() {
      return def.params;
    },
    handler: (params: unknown, call) => {
      // The original's 30-per-60-s budget for control-plane writes, per method and client.
      if (def.controlPlaneWrite) enforceWriteLimit(def.name, call);
      return def.handler(params);
    },
  }));

  return {
    name: "automation",
    methods,
    events: ["cron", "heartbeat"],
    ingress: (req, info) => automation?.handleHook(req, info.clientIp),
    reports: {
      heartbeat(config, agentId): HeartbeatReport {
        const h = heartbeatHealth(config, agentId);
        // Nothing beats when the scheduler could not start.
        const enabled = h.enabled && startError === undefined;
        const resolved = enabled ? resolveHeartbeat(config, agentId) : undefined;
        const waitingForRoute = resolved !== undefined && ROUTED_TARGETS.has(resolved.target) && !hasRoute(agentId, resolved, heartbeatSessionKey(resolved));
        return enabled ? { ...h, waitingForRoute } : { ...h, enabled: false, every: "disabled", everyMs: null, waitingForRoute: false };
      },
      // Plain strings, as the original sends them: what waits for each agent's main session.
      queuedSystemEvents: (config) => (automation ? listAgents(config).flatMap((a) => automation!.events.peek(`agent:${a.id}:main`).map((e) => e.text)) : []),
    },

    start(h) {
      host = h;
      const log = h.logger("cron");
      try {
        // The runtime's connection to openclaw.sqlite (opened now if nothing did yet): one
        // connection, one page cache; the runtime closes it after every part has stopped.
        const db = h.agents.store.db;
        automation = new Automation({
          db,
          stateDir: h.stateDir,
          config: () => h.snapshot.config,
          schedulerSeed: new AutomationStore(db).schedulerSeed(),
          workspaceDir: workspace,
          emit: (event, payload) =>
            event === "cron" ? h.broadcast("cron", payload, { scope: "operator.read" }) : h.broadcast("heartbeat", payload, { droppable: true }),
          runAgentTurn: agentTurnExecutor({ agents: h.agents, log, preflight: opts.preflight ?? createPreflight() }),
          deliver: (req) => (channels()?.deliver ?? CHANNELS_NOT_WIRED)(req),
          previewRoute: (req) => channels()?.previewRoute?.(req) ?? { ok: false, error: NO_CHANNEL_ERROR },
          heartbeatDeliver: (req) => channels()?.heartbeatDeliver?.(req) ?? Promise.resolve({ resolved: false, delivered: false }),
          heartbeatHasRoute: hasRoute,
          heartbeatTyping: (req) => channels()?.heartbeatTyping?.(req),
          facts: laneFacts(h.agents),
          channels: () => channels()?.channelIds?.() ?? [],
          clock: opts.clock,
          log,
          scheduler: opts.scheduler,
        });
        automation.start();
        protectHookToken(h.snapshot.config);
        const status = automation.cron.status();
        log.info(`scheduler started: ${status.jobs} job(s)${status.enabled ? "" : " (cron disabled)"}`);
      } catch (err) {
        startError = (err as Error).message;
        // A half-started scheduler must not keep a timer armed.
        automation?.stop();
        automation = undefined;
        throw err;
      }
    },

    applyConfig(next) {
      if (!automation) return;
      protectHookToken(next.config);
      automation.reload();
    },

    stop() {
      automation?.stop();
      automation = undefined;
    },
  };
}
