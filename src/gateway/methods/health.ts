/** `health`: the snapshot `openclaw health` prints (agents[].sessions.* are always present). */
import { listAgents } from "../../agents/registry.ts";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import type { ConfigSnapshot } from "../../config/snapshot.ts";
import type { ConfigLifecycleHooks } from "../config-hooks.ts";
import type { HeartbeatReport, SubsystemReports } from "../reports.ts";
import { defineMethod, type HealthSnapshot } from "./types.ts";

export type { HealthSnapshot } from "./types.ts";

export interface SessionsSummary {
  path: string;
  count: number;
  recent: Array<{ key: string; updatedAt: number | null; age: number | null }>;
}

/** What a health snapshot is built from. */
export interface HealthSources {
  readonly snapshot: ConfigSnapshot;
  readonly agents: AgentRuntime;
  readonly lifecycle?: ConfigLifecycleHooks;
  /** Heartbeats come from the part that runs them; none runs without it. */
  readonly reports?: SubsystemReports;
}

const HEARTBEAT_PROMPT = "If nothing needs attention, reply NO_REPLY.";

/** An agent's heartbeat as reported, or "disabled" when no hosted part runs heartbeats. */
export function heartbeatReport(reports: SubsystemReports | undefined, config: OpenClawConfig, agentId: string): HeartbeatReport {
  return (
    reports?.heartbeat?.(config, agentId) ?? { enabled: false, every: "disabled", everyMs: null, prompt: HEARTBEAT_PROMPT, target: "owner", ackMaxChars: 300, waitingForRoute: false }
  );
}

const RECENT = 5;

/** Session counts and the most recent keys from the state database (zeros while it is closed). */
export function sessionsSummary(agents: AgentRuntime, agentId: string | undefined, now = Date.now()): SessionsSummary {
  const store = agents.peekStore();
  const path = agents.dbPath;
  if (!store) return { path, count: 0, recent: [] };
  return {
    path,
    count: store.count(agentId),
    recent: store.list({ agentId, limit: RECENT }).map((r) => ({ key: r.key, updatedAt: r.updatedAt, age: Math.max(0, now - r.updatedAt) })),
  };
}

export function buildHealth(ctx: HealthSources, now = Date.now()): HealthSnapshot {
  const agents = listAgents(ctx.snapshot.config);
  const rows = agents.map((a) => {
    const { waitingForRoute: _w, ...heartbeat } = heartbeatReport(ctx.reports, ctx.snapshot.config, a.id);
    return {
      agentId: a.id,
      ...(a.name ? { name: a.name } : {}),
      isDefault: a.isDefault,
      heartbeat,
      sessions: sessionsSummary(ctx.agents, a.id, now),
    };
  });
  const def = rows.find((r) => r.isDefault) ?? rows[0];
  // The heartbeat owner named in config, else the first agent with a heartbeat, else the default.
  const owner = (ctx.snapshot.config.agents?.defaults as { heartbeat?: { agentId?: string } } | undefined)?.heartbeat?.agentId;
  const beating = rows.find((r) => r.heartbeat.enabled && r.agentId === owner) ?? rows.find((r) => r.heartbeat.enabled) ?? def;
  return {
    ok: true,
    ts: now,
    durationMs: 0,
    plugins: { loaded: [], errors: [], unavailable: [] },
    configReload: {
      hotReloadStatus: ctx.lifecycle?.hotReloadStatus ?? (ctx.snapshot.config.gateway?.reload?.mode === "off" ? "disabled" : "inactive"),
    },
    channels: {},
    channelOrder: [],
    channelLabels: {},
    heartbeatSeconds: beating.heartbeat.everyMs ? Math.round(beating.heartbeat.everyMs / 1000) : 0,
    modelRuntime: { degraded: false, pendingAgents: [] },
    defaultAgentId: def.agentId,
    agents: rows,
    sessions: def.sessions,
  };
}

export const healthMethod = defineMethod("health", {
  scope: "bypass",
  roles: ["operator", "node"],
  handler: (params, { ctx }) => ctx.health({ fresh: params.probe === true }),
});
