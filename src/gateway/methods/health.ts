/** `health`: the snapshot `openclaw health` prints (agents[].sessions.* are always present). */
import { listAgents } from "../../agents/registry.ts";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { ConfigSnapshot } from "../../config/snapshot.ts";
import type { ConfigLifecycleHooks } from "../config-hooks.ts";
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
}

const HEARTBEAT_PROMPT = "If nothing needs attention, reply NO_REPLY.";

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
  const rows = agents.map((a) => ({
    agentId: a.id,
    ...(a.name ? { name: a.name } : {}),
    isDefault: a.isDefault,
    heartbeat: { enabled: false, every: "disabled", everyMs: null, prompt: HEARTBEAT_PROMPT, target: "owner", ackMaxChars: 300 },
    sessions: sessionsSummary(ctx.agents, a.id, now),
  }));
  const def = rows.find((r) => r.isDefault) ?? rows[0];
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
    heartbeatSeconds: 0,
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
