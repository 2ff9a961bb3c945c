/** `sessions.list`: sessions from the state database, newest first. */
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import { runtimeStore } from "./agent.ts";
import { defineMethod } from "./types.ts";

export const sessionsListMethod = defineMethod("sessions.list", {
  scope: "operator.read",
  handler: (p, { ctx }) => {
    const runtime = ctx.agents;
    const store = runtimeStore(runtime);
    const agentId = p.agentId ? runtime.agent(p.agentId)?.id : undefined;
    if (p.agentId && !agentId) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${p.agentId}"`);
    const rows = store.list({ agentId, limit: p.limit ?? 100, offset: p.offset ?? 0 });
    return {
      ts: Date.now(),
      path: runtime.dbPath,
      count: store.count(agentId),
      defaults: { model: runtime.defaultAgent().model ?? null, contextTokens: null },
      sessions: rows.map((r) => ({
        key: r.key,
        agentId: r.agentId,
        sessionId: r.sessionId,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        messageCount: r.messageCount,
        model: r.model,
        channel: r.channel,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        totalTokens: r.inputTokens + r.outputTokens,
      })),
    };
  },
});
