/** `status`: runtime summary (the minimal upstream shape plus process memory and pid). */
import { listAgents } from "../../agents/registry.ts";
import { VERSION } from "../../version.ts";
import { heartbeatReport, sessionsSummary } from "./health.ts";
import { defineMethod } from "./types.ts";

export const statusMethod = defineMethod("status", {
  scope: "operator.read",
  handler: (params, { ctx }) => {
    const agents = listAgents(ctx.snapshot.config);
    const defaultAgent = agents.find((a) => a.isDefault)!;
    const defaultId = defaultAgent.id;
    const all = sessionsSummary(ctx.agents, undefined);
    const payload = {
      runtimeVersion: VERSION,
      heartbeat: {
        defaultAgentId: defaultId,
        agents: agents.map((a) => {
          const hb = heartbeatReport(ctx.reports, ctx.snapshot.config, a.id);
          return { agentId: a.id, enabled: hb.enabled, every: hb.every, everyMs: hb.everyMs, waitingForRoute: hb.waitingForRoute };
        }),
      },
      hostDesktop: { enabled: false, state: "disabled" },
      channelSummary: [],
      // Plain strings, as the original sends them (its CLI and TUI print them as they are).
      queuedSystemEvents: [...ctx.systemEvents.map((e) => e.text), ...(ctx.reports?.queuedSystemEvents?.(ctx.snapshot.config) ?? [])],
      degradedSecretOwners: [],
      degradedPlugins: [],
      // Paths stay redacted in `status` as upstream does; `health` carries the real path.
      sessions: {
        paths: [],
        count: all.count,
        defaults: { model: defaultAgent.model ?? null, contextTokens: null },
        recent: all.recent,
        byAgent: agents.map((a) => {
          const s = sessionsSummary(ctx.agents, a.id);
          return { agentId: a.id, path: "[redacted]", count: s.count, recent: s.recent };
        }),
      },
      // No task runner or model runtime yet: truthful zeros in the upstream shape.
      tasks: {
        total: 0,
        active: 0,
        terminal: 0,
        failures: 0,
        byStatus: { queued: 0, running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0, lost: 0 },
        byRuntime: { subagent: 0, acp: 0, cli: 0, cron: 0 },
      },
      modelRuntime: { degraded: false, pendingAgents: [] },
      processMemory: processMemory(),
      pid: process.pid,
      uptimeMs: ctx.uptimeMs(),
      ...(params.includeCliProjection
        ? {
            cliProjection: {
              agents: { defaultId, ownership: "sole", selectionRequired: false, rows: agents.map((a) => ({ id: a.id })) },
              updateChannel: null,
            },
          }
        : {}),
    };
    return payload;
  },
});

/** The gateway process's memory, as `status` and `system.info` report it. */
export function processMemory() {
  const mem = process.memoryUsage();
  return {
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
  };
}
