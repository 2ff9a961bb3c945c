/** `health`: the snapshot `openclaw health` prints (agents[].sessions.* are always present). */
import { z } from "../../zod.ts";
import { listAgents } from "../../agents/registry.ts";
import type { GatewayContext } from "../context.ts";
import { defineMethod } from "./types.ts";

export interface SessionsSummary {
  path: string;
  count: number;
  recent: Array<{ key: string; updatedAt: number | null; age: number | null }>;
}

export interface HealthSnapshot {
  ok: true;
  ts: number;
  durationMs: number;
  plugins: { loaded: string[]; errors: string[]; unavailable: string[] };
  configReload: { hotReloadStatus: string };
  channels: Record<string, unknown>;
  channelOrder: string[];
  channelLabels: Record<string, string>;
  heartbeatSeconds: number;
  modelRuntime: { degraded: boolean; pendingAgents: string[] };
  defaultAgentId: string;
  agents: Array<{
    agentId: string;
    name?: string;
    isDefault: boolean;
    heartbeat: { enabled: boolean; every: string; everyMs: number | null; prompt: string; target: string; ackMaxChars: number };
    sessions: SessionsSummary;
  }>;
  sessions: SessionsSummary;
}

const HEARTBEAT_PROMPT = "If nothing needs attention, reply NO_REPLY.";

const RECENT = 5;

/** Session counts and the most recent keys from the state database (zeros while it is closed). */
export function sessionsSummary(ctx: GatewayContext, agentId: string | undefined, now = Date.now()): SessionsSummary {
  const store = ctx.runtime.peekStore();
  const path = ctx.runtime.dbPath;
  if (!store) return { path, count: 0, recent: [] };
  return {
    path,
    count: store.count(agentId),
    recent: store.list({ agentId, limit: RECENT }).map((r) => ({ key: r.key, updatedAt: r.updatedAt, age: Math.max(0, now - r.updatedAt) })),
  };
}

export function buildHealth(ctx: GatewayContext, now = Date.now()): HealthSnapshot {
  const agents = listAgents(ctx.loaded.config);
  const rows = agents.map((a) => ({
    agentId: a.id,
    ...(a.name ? { name: a.name } : {}),
    isDefault: a.isDefault,
    heartbeat: { enabled: false, every: "disabled", everyMs: null, prompt: HEARTBEAT_PROMPT, target: "owner", ackMaxChars: 300 },
    sessions: sessionsSummary(ctx, a.id, now),
  }));
  const def = rows.find((r) => r.isDefault) ?? rows[0];
  return {
    ok: true,
    ts: now,
    durationMs: 0,
    plugins: { loaded: [], errors: [], unavailable: [] },
    configReload: {
      hotReloadStatus: ctx.lifecycle?.hotReloadStatus ?? (ctx.loaded.config.gateway?.reload?.mode === "off" ? "disabled" : "inactive"),
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

export const healthMethod = defineMethod({
  name: "health",
  scope: "bypass",
  roles: ["operator", "node"],
  params: z.looseObject({ probe: z.optional(z.boolean()) }),
  handler: (params, { ctx }) => ctx.health({ fresh: params.probe === true }),
});
