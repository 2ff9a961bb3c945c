/**
 * What every agent-backed API request shares (chat completions, responses, embeddings):
 * picking the agent from `model` / `x-openclaw-agent-id`, the admin-only backend override
 * `x-openclaw-model`, the session key, and the request's message channel.
 */
import type { AgentInfo } from "../../agents/registry.ts";
import type { AgentRuntime } from "../../agents/runtime.ts";
import { parseModelRef, type ModelRef } from "../../providers/index.ts";
import { missingScopeResponse } from "./auth.ts";
import { ApiError } from "./reply.ts";
import type { HttpPrincipal } from "./types.ts";

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

/** `openclaw` / `openclaw/default` → default; `openclaw/<id>`, `openclaw:<id>`, `agent:<id>` → id. */
export function agentIdFromModel(model: string): { kind: "default" } | { kind: "agent"; id: string } | undefined {
  const m = model.trim();
  if (m === "" || m === "openclaw" || m === "openclaw/default") return { kind: "default" };
  const match = /^(?:openclaw\/|openclaw:|agent:)(.+)$/i.exec(m);
  if (match && AGENT_ID.test(match[1])) return { kind: "agent", id: match[1] };
  return undefined;
}

export function selectAgent(runtime: AgentRuntime, model: unknown, headers: Headers): AgentInfo {
  const header = (headers.get("x-openclaw-agent-id") ?? headers.get("x-openclaw-agent"))?.trim();
  let id: string | undefined;
  if (header) id = header;
  else if (model !== undefined && model !== null) {
    const parsed = typeof model === "string" ? agentIdFromModel(model) : undefined;
    if (!parsed) throw ApiError.invalid("Invalid `model`. Use `openclaw` or `openclaw/<agentId>`.");
    if (parsed.kind === "agent") id = parsed.id;
  }
  if (id === undefined) return runtime.defaultAgent();
  const agent = runtime.agent(id);
  if (!agent) throw ApiError.invalid(`Unknown agent '${id}'.`);
  return agent;
}

/** `x-openclaw-model` (owner only): `provider/model`, or a bare id on the agent's default provider. */
export function modelOverride(runtime: AgentRuntime, agent: AgentInfo, headers: Headers, principal: HttpPrincipal): ModelRef | undefined {
  const raw = headers.get("x-openclaw-model");
  if (raw === null) return undefined;
  if (!principal.owner) throw new ApiError(missingScopeResponse("operator.admin"));
  const cfg = runtime.config;
  const agentProvider = agent.model ? parseModelRef(cfg, agent.model)?.provider : undefined;
  const ref = parseModelRef(cfg, raw, agentProvider);
  if (!ref) throw ApiError.invalid("Invalid `x-openclaw-model`.");
  return ref;
}

const RESERVED_PREFIXES = ["subagent:", "cron:", "acp:"];

/**
 * The session for this request: `x-openclaw-session-key` as given, else from `user`
 * (`agent:<id>:<prefix>-user:<user>`, lower-cased), else a fresh one per call.
 */
export function sessionKeyFor(runtime: AgentRuntime, agent: AgentInfo, headers: Headers, user: unknown, prefix: "openai" | "openresponses"): { key: string; explicit: boolean } {
  const header = headers.get("x-openclaw-session-key")?.trim();
  let key: string;
  if (header) {
    if (RESERVED_PREFIXES.some((p) => header.toLowerCase().startsWith(p))) {
      throw ApiError.invalid("Invalid `x-openclaw-session-key`: subagent:, cron: and acp: sessions cannot be used over HTTP.");
    }
    if (header.length > 512 || /[\u0000-\u001f]/.test(header)) throw ApiError.invalid("Invalid `x-openclaw-session-key`.");
    key = header;
  } else if (typeof user === "string" && user.trim()) {
    key = `agent:${agent.id}:${prefix}-user:${user.trim()}`.toLowerCase();
  } else {
    return { key: `agent:${agent.id}:${prefix}:${crypto.randomUUID()}`, explicit: false };
  }
  const owner = runtime.store.get(key)?.agentId;
  if (owner !== undefined && owner !== agent.id) throw ApiError.invalid(`Session '${key}' belongs to agent '${owner}'.`);
  return { key, explicit: true };
}

export function messageChannel(headers: Headers): string {
  return headers.get("x-openclaw-message-channel")?.trim() || "webchat";
}
