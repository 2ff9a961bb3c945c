/**
 * `POST /tools/invoke`: run one gateway tool directly. This gateway ships read-only tools
 * over its own state (sessions and agents); everything else is "not available". The HTTP deny
 * list of upstream plus `gateway.tools.deny` (minus `gateway.tools.allow`) always applies.
 */
import { Hono, type Context } from "hono";
import type { AgentRuntime } from "../../agents/runtime.ts";
import { BODY_LIMITS } from "./common.ts";
import { endpoint, jsonBody, routeAll } from "./middleware.ts";
import { json } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

/** Tools never reachable over HTTP (upstream's list). */
export const HTTP_DENIED_TOOLS = [
  "exec", "spawn", "shell", "fs_write", "fs_delete", "fs_move", "apply_patch", "terminal", "portal",
  "sessions_spawn", "sessions_send", "conversations_list", "conversations_send", "conversations_turn",
  "automations", "cron", "gateway", "plugins", "nodes", "computer", "mobile_ui", "openclaw",
];

class ToolInputError extends Error {}

interface ToolCallContext {
  runtime: AgentRuntime;
  agentId: string;
  sessionKey: string;
}

type Args = Record<string, unknown>;

function int(args: Args, key: string, def: number, max: number): number {
  const v = args[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) throw new ToolInputError(`\`${key}\` must be an integer from 1 to ${max}`);
  return v;
}

function str(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !v.trim()) throw new ToolInputError(`\`${key}\` must be a non-empty string`);
  return v.trim();
}

function mainKey(agentId: string, key: string | undefined): string {
  return !key || key === "main" ? `agent:${agentId}:main` : key;
}

export const BUILTIN_TOOLS: Record<string, (args: Args, ctx: ToolCallContext) => unknown> = {
  agents_list: (_args, { runtime }) => ({
    agents: runtime.agents().map((a) => ({ id: a.id, name: a.name ?? null, default: a.isDefault, model: a.model ?? null })),
  }),
  sessions_list: (args, { runtime }) => {
    const limit = int(args, "limit", 50, 500);
    const agentId = str(args, "agentId");
    const sessions = runtime.store.list({ agentId, limit });
    return { count: runtime.store.count(agentId), sessions };
  },
  sessions_history: (args, { runtime, agentId, sessionKey }) => {
    const key = mainKey(agentId, str(args, "sessionKey") ?? sessionKey);
    const limit = int(args, "limit", 50, 500);
    return { sessionKey: key, messages: runtime.store.transcript(key, limit).map((m) => ({ seq: m.seq, ...m.message, createdAt: m.createdAt })) };
  },
  session_status: (args, { runtime, agentId, sessionKey }) => {
    const key = mainKey(agentId, str(args, "sessionKey") ?? sessionKey);
    const row = runtime.store.get(key);
    return row ? { exists: true, ...row } : { exists: false, key };
  },
};

function toolAvailable(ctx: HttpContext, name: string): boolean {
  if (!Object.hasOwn(BUILTIN_TOOLS, name)) return false;
  const cfg = (ctx.snapshot.config.gateway?.tools ?? {}) as { deny?: unknown; allow?: unknown };
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const allow = new Set(list(cfg.allow));
  const denied = new Set([...HTTP_DENIED_TOOLS.filter((t) => !allow.has(t)), ...list(cfg.deny)]);
  return !denied.has(name);
}

const fail = (status: number, type: string, message: string) => json(status, { ok: false, error: { type, message } });

async function invoke(ctx: HttpContext, c: Context<HttpEnv>): Promise<Response> {
  const body = c.var.body;
  if (!body || typeof body !== "object" || Array.isArray(body)) return fail(400, "invalid_request", "request body must be a JSON object");
  const b = body as Record<string, unknown>;
  const name = typeof b.name === "string" && b.name ? b.name : typeof b.tool === "string" ? b.tool : "";
  if (!name) return fail(400, "invalid_request", "`tool` (or `name`) is required");
  if (b.args !== undefined && (typeof b.args !== "object" || b.args === null || Array.isArray(b.args))) {
    return fail(400, "invalid_request", "`args` must be an object");
  }
  if (b.sessionKey !== undefined && typeof b.sessionKey !== "string") return fail(400, "invalid_request", "`sessionKey` must be a string");
  if (!toolAvailable(ctx, name)) return fail(404, "not_found", `Tool not available: ${name}`);
  const runtime = ctx.agents;
  let agentId = runtime.defaultAgent().id;
  if (b.agentId !== undefined) {
    const agent = typeof b.agentId === "string" ? runtime.agent(b.agentId) : undefined;
    if (!agent) return fail(400, "invalid_request", `unknown agent: ${String(b.agentId)}`);
    agentId = agent.id;
  }
  try {
    const result = BUILTIN_TOOLS[name]((b.args ?? {}) as Args, { runtime, agentId, sessionKey: mainKey(agentId, b.sessionKey as string | undefined) });
    return json(200, { ok: true, result });
  } catch (err) {
    if (err instanceof ToolInputError) return fail(400, "tool_error", err.message);
    ctx.log.error(`tool ${name} failed: ${(err as Error).stack ?? err}`);
    return fail(500, "tool_error", "tool execution failed");
  }
}

export function toolsRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  // The body is read with the limits but shaped here: /tools/invoke answers its own error envelope.
  routeAll(
    app,
    "/tools/invoke",
    ...endpoint(ctx, { name: "toolsInvoke", methods: ["POST"], scope: "operator.write" }),
    jsonBody(undefined, BODY_LIMITS.tools),
    (c) => invoke(ctx, c),
  );
  return app;
}
