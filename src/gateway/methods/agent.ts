/**
 * Agent runs over WebSocket: `agent` (two `res` frames with one id: `accepted`, then the final
 * result), `agent.wait`, `chat.send` (one `started` ack; progress as `chat`/`agent` events) and
 * `chat.history`. Runs deduplicate by `idempotencyKey` per method.
 */
import type { AgentInfo } from "../../agents/registry.ts";
import { StoreUnavailableError, type AgentRuntime } from "../../agents/runtime.ts";
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import type { ResultOf } from "../../protocol/contract.ts";
import { defineMethod } from "./types.ts";

/** The sessions store, or UNAVAILABLE (retryable) while the state database cannot be opened. */
export function runtimeStore(runtime: AgentRuntime) {
  try {
    return runtime.store;
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw new RpcError(ErrorCodes.UNAVAILABLE, err.message, undefined, { retryable: true, retryAfterMs: 1000 });
    throw err;
  }
}

/** `main` → `agent:<default>:main`; `agent:<id>:…` names its agent. */
export function resolveRunTarget(runtime: AgentRuntime, agentId: string | undefined, sessionKey: string | undefined): { agent: AgentInfo; sessionKey: string } {
  let agent: AgentInfo | undefined;
  if (agentId) {
    agent = runtime.agent(agentId);
    if (!agent) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${agentId}"`);
  }
  let key = sessionKey?.trim();
  if (key === "main") key = undefined;
  if (!agent && key) {
    const m = /^agent:([^:]+):/.exec(key);
    if (m) agent = runtime.agent(m[1]);
  }
  agent ??= runtime.defaultAgent();
  key ??= `agent:${agent.id}:main`;
  const owner = runtimeStore(runtime).get(key)?.agentId;
  if (owner !== undefined && owner !== agent.id) {
    throw new RpcError(ErrorCodes.INVALID_REQUEST, `session ${key} belongs to agent ${owner}`);
  }
  return { agent, sessionKey: key };
}

export const agentMethod = defineMethod("agent", {
  scope: "operator.write",
  handler: async (p, { ctx, interim }) => {
    const runtime = ctx.agents;
    const existing = runtime.runs.byIdempotencyKey("agent", p.idempotencyKey);
    let record = existing;
    if (!record) {
      const target = resolveRunTarget(runtime, p.agentId, p.sessionKey);
      record = runtime.startRun({
        method: "agent",
        agent: target.agent,
        sessionKey: target.sessionKey,
        message: p.message,
        idempotencyKey: p.idempotencyKey,
        timeoutMs: p.timeout ? p.timeout * 1000 : undefined,
        channel: p.channel,
      }).record;
    }
    if (record.final) return record.final as unknown as ResultOf<"agent">;
    interim(record.accepted);
    await record.done;
    return record.final as unknown as ResultOf<"agent">;
  },
});

export const agentWaitMethod = defineMethod("agent.wait", {
  scope: "operator.write",
  handler: async (p, { ctx }) => {
    const record = ctx.agents.runs.get(p.runId);
    if (!record) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown runId: ${p.runId}`);
    const ended = await ctx.agents.runs.wait(record, Math.min(p.timeoutMs ?? 30_000, 600_000));
    const out: ResultOf<"agent.wait"> = { runId: record.runId, status: ended ? (record.status === "aborted" ? "error" : record.status) : "timeout", startedAt: record.startedAt };
    if (ended) out.endedAt = record.endedAt;
    if (ended && record.error) out.error = record.error;
    return out;
  },
});

export const chatSendMethod = defineMethod("chat.send", {
  scope: "operator.write",
  handler: (p, { ctx }) => {
    const runtime = ctx.agents;
    const existing = runtime.runs.byIdempotencyKey("chat.send", p.idempotencyKey);
    if (existing) return existing.accepted as ResultOf<"chat.send">;
    const target = resolveRunTarget(runtime, p.agentId, p.sessionKey);
    return runtime.startRun({
      method: "chat.send",
      agent: target.agent,
      sessionKey: target.sessionKey,
      message: p.message,
      idempotencyKey: p.idempotencyKey,
      timeoutMs: p.timeoutMs || undefined,
      channel: "webchat",
      chatEvents: true,
    }).record.accepted as ResultOf<"chat.send">;
  },
});

export const chatHistoryMethod = defineMethod("chat.history", {
  scope: "operator.read",
  handler: (p, { ctx }) => {
    const store = runtimeStore(ctx.agents);
    const key = p.sessionKey === "main" ? `agent:${ctx.agents.defaultAgent().id}:main` : p.sessionKey;
    const row = store.get(key);
    const messages = store.transcript(key, p.limit ?? 200).map(({ message: m, createdAt, runId }) => {
      if (m.role === "tool") {
        return { role: "toolResult", toolCallId: m.toolCallId, ...(m.name ? { toolName: m.name } : {}), content: [{ type: "text", text: m.content }], timestamp: createdAt };
      }
      const content: unknown[] = m.content ? [{ type: "text", text: m.content }] : [];
      if (m.role === "assistant") {
        for (const t of m.toolCalls ?? []) {
          let args: unknown = t.arguments;
          try {
            args = JSON.parse(t.arguments);
          } catch {
            // keep the raw text
          }
          content.push({ type: "toolCall", id: t.id, name: t.name, arguments: args });
        }
      }
      return { role: m.role, content, timestamp: createdAt, ...(runId ? { runId } : {}) };
    });
    return { sessionKey: key, sessionId: row?.sessionId ?? null, messages };
  },
});
