/**
 * Agent runs over WebSocket: `agent` (two `res` frames with one id: `accepted`, then the final
 * result), `agent.wait`, `chat.send` (one `started` ack; progress as `chat`/`agent` events),
 * `chat.history`, and the aborts `chat.abort` / `sessions.abort`. Runs deduplicate by
 * `idempotencyKey` per method and go through the agent lanes (src/agents/lanes.ts).
 */
import type { Requester } from "../../agents/lanes.ts";
import type { AgentInfo } from "../../agents/registry.ts";
import { QueueFullError, RunRequestError, StoreUnavailableError, type AgentRuntime } from "../../agents/runtime.ts";
import { ChatMessages, ErrorCodes, RpcError } from "../../protocol/errors.ts";
import type { ResultOf } from "../../protocol/contract.ts";
import { ADMIN, hasScope } from "../../protocol/scopes.ts";
import { canonicalKey, CURSOR_RESET, historyPage } from "./session-view.ts";
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

/** Start a run; a refused request or a full queue is the method's error answer. */
function admitRun<T>(start: () => T): T {
  try {
    return start();
  } catch (err) {
    if (err instanceof RunRequestError) throw new RpcError(ErrorCodes.INVALID_REQUEST, err.message);
    if (err instanceof QueueFullError) throw new RpcError(ErrorCodes.UNAVAILABLE, err.message, { reason: "queue_full", scope: err.scope }, { retryable: true, retryAfterMs: 1000 });
    throw err;
  }
}

/** A failed run's final `res` is `ok:false` UNAVAILABLE with the failure text (as captured from the original). */
function finalAnswer(record: { status: string; final?: Record<string, unknown>; error?: string }): ResultOf<"agent"> {
  if (record.status === "error") throw new RpcError(ErrorCodes.UNAVAILABLE, record.error ?? "agent run failed");
  return record.final as unknown as ResultOf<"agent">;
}

function requesterOf(client: { connId: string; scopes: readonly string[] }): Requester {
  return { connId: client.connId, isAdmin: hasScope(client.scopes, ADMIN) };
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
  handler: async (p, { ctx, client, interim }) => {
    const runtime = ctx.agents;
    const existing = runtime.runs.byIdempotencyKey("agent", p.idempotencyKey);
    let record = existing;
    if (!record) {
      const target = resolveRunTarget(runtime, p.agentId, p.sessionKey);
      record = admitRun(() =>
        runtime.startRun({
          method: "agent",
          agent: target.agent,
          sessionKey: target.sessionKey,
          message: p.message,
          idempotencyKey: p.idempotencyKey,
          timeoutMs: p.timeout ? p.timeout * 1000 : undefined,
          channel: p.channel,
          owner: { connId: client.connId },
          requestedModel: { provider: p.provider, model: p.model },
          allowModelOverride: hasScope(client.scopes, ADMIN),
          modelRun: p.modelRun,
          promptMode: p.promptMode,
        }),
      ).record;
    }
    if (record.final) return finalAnswer(record);
    interim(record.accepted);
    await record.done;
    return finalAnswer(record);
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
  handler: (p, { ctx, client }) => {
    const runtime = ctx.agents;
    const existing = runtime.runs.byIdempotencyKey("chat.send", p.idempotencyKey);
    if (existing) return existing.accepted as ResultOf<"chat.send">;
    if (p.attachments?.length) throw new RpcError(ErrorCodes.INVALID_REQUEST, ChatMessages.attachmentsUnsupported);
    if (!p.message.trim()) throw new RpcError(ErrorCodes.INVALID_REQUEST, ChatMessages.messageOrAttachmentRequired);
    const target = resolveRunTarget(runtime, p.agentId, p.sessionKey);
    return admitRun(() =>
      runtime.startRun({
        method: "chat.send",
        agent: target.agent,
        sessionKey: target.sessionKey,
        message: p.message,
        idempotencyKey: p.idempotencyKey,
        timeoutMs: p.timeoutMs || undefined,
        channel: "webchat",
        chatEvents: true,
        owner: { connId: client.connId },
      }),
    ).record.accepted as ResultOf<"chat.send">;
  },
});

export const chatHistoryMethod = defineMethod("chat.history", {
  scope: "operator.read",
  handler: (p, { ctx }) => {
    if (p.cursor !== undefined) return CURSOR_RESET;
    const store = runtimeStore(ctx.agents);
    return historyPage(ctx.agents, store, canonicalKey(ctx.agents, p.sessionKey), p.limit ?? 200, p.maxBytes);
  },
});

/** `main` → the default agent's main session; `agent:<id>:…` must match an explicit `agentId`. */
function abortTarget(runtime: AgentRuntime, key: string, agentId: string | undefined): string {
  const trimmed = key.trim();
  const named = /^agent:([^:]+):/.exec(trimmed)?.[1];
  if (agentId && named && named.toLowerCase() !== agentId.toLowerCase()) {
    throw new RpcError(ErrorCodes.INVALID_REQUEST, `agentId "${agentId}" does not match session key "${key}"`);
  }
  if (trimmed === "main") return `agent:${(agentId ? runtime.agent(agentId)?.id : undefined) ?? runtime.defaultAgent().id}:main`;
  return trimmed;
}

/**
 * `chat.abort {sessionKey, runId?}` → `{ok, aborted, runIds}`. With `runId`: that run, waiting or
 * running (it must belong to the session unless its owner or an admin asks). Without: the
 * session's waiting runs first, then its running one. Others' runs need `operator.admin`.
 */
export const chatAbortMethod = defineMethod("chat.abort", {
  scope: "operator.write",
  handler: (p, { ctx, client }) => {
    const runtime = ctx.agents;
    const key = abortTarget(runtime, p.sessionKey, p.agentId);
    const requester = requesterOf(client);
    if (p.runId) {
      const ticket = runtime.lanes.get(p.runId);
      if (!ticket) return { ok: true, aborted: false, runIds: [] };
      if (ticket.sessionKey !== key && !(requester.isAdmin || ticket.owner?.connId === requester.connId)) {
        throw new RpcError(ErrorCodes.INVALID_REQUEST, "runId does not match sessionKey");
      }
      const r = runtime.abortRun(p.runId, requester);
      if (!r.allowed) throw new RpcError(ErrorCodes.INVALID_REQUEST, "unauthorized");
      return { ok: true, aborted: true, runIds: [p.runId] };
    }
    const r = runtime.abortSession(key, { requester });
    if (r.runIds.length === 0 && r.unauthorized > 0) throw new RpcError(ErrorCodes.INVALID_REQUEST, "unauthorized");
    return { ok: true, aborted: r.runIds.length > 0, runIds: r.runIds };
  },
});

/**
 * `sessions.abort {key?, runId?, clearQueued?}` → `{ok, abortedRunId, status}`. With `runId`:
 * that run. With `key` only: the session's running run, and its waiting runs too when
 * `clearQueued: true` (omitted keeps them, as in the original).
 */
export const sessionsAbortMethod = defineMethod("sessions.abort", {
  scope: "operator.write",
  handler: (p, { ctx, client }) => {
    const runtime = ctx.agents;
    const requester = requesterOf(client);
    const none = { ok: true, abortedRunId: null, status: "no-active-run" };
    if (p.runId) {
      const ticket = runtime.lanes.get(p.runId);
      if (!ticket) return none;
      if (p.key && abortTarget(runtime, p.key, p.agentId) !== ticket.sessionKey) throw new RpcError(ErrorCodes.INVALID_REQUEST, "runId does not match session");
      const r = runtime.abortRun(p.runId, requester);
      if (!r.allowed) throw new RpcError(ErrorCodes.INVALID_REQUEST, "unauthorized");
      return { ok: true, abortedRunId: p.runId, status: "aborted" };
    }
    if (!p.key) throw new RpcError(ErrorCodes.INVALID_REQUEST, "key required");
    const key = abortTarget(runtime, p.key, p.agentId);
    const running = runtime.lanes.tickets(key).find((t) => t.state === "running")?.runId;
    const r = runtime.abortSession(key, { requester, waiting: p.clearQueued === true });
    if (r.runIds.length === 0 && r.unauthorized > 0) throw new RpcError(ErrorCodes.INVALID_REQUEST, "unauthorized");
    if (r.runIds.length === 0) return none;
    return { ok: true, abortedRunId: running && r.runIds.includes(running) ? running : r.runIds[0], status: "aborted" };
  },
});
