/**
 * The `hooks` HTTP ingress (`POST <hooks.path>/wake`, `/agent`, `/<mapping>`) as a function
 * from a Fetch `Request` to a `Response`, independent of the server; `undefined` means "not a
 * hook request" and lets the gateway route it elsewhere (hooks disabled or another path).
 *
 * Order of checks, as the original: path → `?token=` refused (400) → method (405) → token from
 * `Authorization: Bearer` or `x-openclaw-token` (401; 20 failures per client in 60 s → 429 with
 * Retry-After, valid credentials reset the count, loopback not exempt) → body (256 KiB → 413,
 * 30 s → 408, bad JSON → 400) → action. Off by default (`hooks.enabled` and a token required).
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { sleepOn, systemClock, type Clock } from "./clock.ts";
import type { EnqueueOutcome } from "./system-events.ts";

export const HOOK_BODY_MAX_BYTES = 256 * 1024;
export const HOOK_BODY_TIMEOUT_MS = 30_000;
export const HOOK_AUTH_MAX_FAILURES = 20;
export const HOOK_AUTH_WINDOW_MS = 60_000;
export const HOOK_ADMISSION_TIMEOUT_MS = 15_000;
export const HOOK_FANOUT_MAX = 200;
const IDEMPOTENCY_TTL_MS = 300_000;
const IDEMPOTENCY_MAX = 1000;

export interface HookMapping {
  id?: string;
  match?: { path?: string; source?: string };
  action?: "wake" | "agent";
  wakeMode?: "now" | "next-heartbeat";
  name?: string;
  agentId?: string;
  sessionKey?: string;
  sessionMode?: "isolated" | "persistent";
  messageTemplate?: string;
  textTemplate?: string;
  forEach?: string;
  deliver?: boolean;
  allowUnsafeExternalContent?: boolean;
  channel?: string;
  to?: string;
  model?: string;
  thinking?: string;
  timeoutSeconds?: number;
  transform?: { module: string; export?: string };
}

export interface HooksConfigInput {
  enabled?: boolean;
  token?: string;
  path?: string;
  defaultSessionKey?: string;
  allowRequestSessionKey?: boolean;
  allowedSessionKeyPrefixes?: string[];
  allowedAgentIds?: string[];
  presets?: string[];
  transformsDir?: string;
  mappings?: HookMapping[];
}

export interface ResolvedHooks {
  basePath: string;
  token: string;
  defaultSessionKey?: string;
  allowRequestSessionKey: boolean;
  /** Lower-cased, blanks dropped; undefined = no restriction. */
  allowedSessionKeyPrefixes?: string[];
  /** undefined = all agents. */
  allowedAgentIds?: string[];
  mappings: HookMapping[];
}

/** Normalize `hooks.*`; undefined when hooks are off or unusable (no token, path "/"). */
export function resolveHooks(cfg: OpenClawConfig): ResolvedHooks | undefined {
  const h = (cfg as { hooks?: HooksConfigInput }).hooks;
  if (!h?.enabled) return undefined;
  const token = typeof h.token === "string" ? h.token.trim() : "";
  if (!token) return undefined;
  let path = (h.path ?? "/hooks").trim() || "/hooks";
  if (!path.startsWith("/")) path = `/${path}`;
  path = path.replace(/\/+$/, "");
  if (!path) return undefined;
  const prefixes = (h.allowedSessionKeyPrefixes ?? []).map((p) => p.trim().toLowerCase()).filter(Boolean);
  const agents = h.allowedAgentIds;
  return {
    basePath: path,
    token,
    ...(h.defaultSessionKey?.trim() ? { defaultSessionKey: h.defaultSessionKey.trim() } : {}),
    allowRequestSessionKey: h.allowRequestSessionKey === true,
    ...(prefixes.length ? { allowedSessionKeyPrefixes: prefixes } : {}),
    ...(agents && !agents.includes("*") ? { allowedAgentIds: agents } : {}),
    mappings: h.mappings ?? [],
  };
}

// --- failed-auth limiter -----------------------------------------------------------------------

/** 20 failed attempts per client in 60 s lock that client out for 60 s; success resets. */
export class HookAuthLimiter {
  private readonly entries = new Map<string, { failures: number[]; lockedUntil: number }>();

  constructor(private readonly now: () => number) {}

  check(key: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const e = this.entries.get(key);
    if (!e) return { allowed: true };
    const t = this.now();
    if (e.lockedUntil > t) return { allowed: false, retryAfterMs: e.lockedUntil - t };
    return { allowed: true };
  }

  recordFailure(key: string): void {
    const t = this.now();
    const e = this.entries.get(key) ?? { failures: [], lockedUntil: 0 };
    e.failures = e.failures.filter((ts) => t - ts < HOOK_AUTH_WINDOW_MS);
    e.failures.push(t);
    if (e.failures.length >= HOOK_AUTH_MAX_FAILURES) {
      e.lockedUntil = t + HOOK_AUTH_WINDOW_MS;
      e.failures = [];
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > 10_000) this.entries.delete(this.entries.keys().next().value as string);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }
}

// --- templates ------------------------------------------------------------------------------

function lookup(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const seg of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (cur === null || cur === undefined) return undefined;
    const key = seg.startsWith("[") ? Number(seg.slice(1, -1)) : seg;
    if (typeof key === "string" && (key === "__proto__" || key === "constructor" || key === "prototype")) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/**
 * `{{payload.a.b}}` / `{{a.b}}` (payload), `{{messages[0].subject}}`, `{{headers.x-name}}`,
 * `{{query.kind}}`, `{{path}}`, `{{now}}`. Missing values render empty; objects as JSON.
 */
export function renderTemplate(template: string, ctx: { payload: unknown; headers: Record<string, string>; query: Record<string, string>; path: string; now: number }): string {
  return template.replace(/\{\{\s*([^}]+?)\s*\}\}/g, (_m, expr: string) => {
    let value: unknown;
    if (expr === "now") value = new Date(ctx.now).toISOString();
    else if (expr === "path") value = ctx.path;
    else if (expr.startsWith("headers.")) value = ctx.headers[expr.slice(8).toLowerCase()];
    else if (expr.startsWith("query.")) value = ctx.query[expr.slice(6)];
    else if (expr.startsWith("payload.")) value = lookup(ctx.payload, expr.slice(8));
    else value = lookup(ctx.payload, expr);
    if (value === undefined || value === null) return "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  });
}

// --- dispatch contracts -------------------------------------------------------------------------

export interface HookWakeRequest {
  text: string;
  mode: "now" | "next-heartbeat";
  agentId?: string;
  sessionKey?: string;
}

export interface HookAgentRequest {
  message: string;
  name: string;
  agentId: string;
  /** Logical key: request/mapping key, hooks.defaultSessionKey, or a fresh `hook:<uuid>`. */
  sessionKey: string;
  sessionMode: "isolated" | "persistent";
  deliver: boolean;
  channel?: string;
  to?: string;
  accountId?: string;
  model?: string;
  thinking?: string;
  timeoutSeconds?: number;
  wakeMode: "now" | "next-heartbeat";
  allowUnsafeExternalContent: boolean;
  /** The mapping that produced it (`mapping-<index>` when unnamed), or undefined for /agent. */
  mappingId?: string;
}

export interface HookCompletion {
  status: "ok" | "error" | "skipped";
  replyDisposition: "visible" | "silent" | "empty";
  delivered?: boolean;
  deliveryAttempted?: boolean;
  deliveryError?: "delivery-failed";
  deliverySuppressionReason?: "empty" | "silent" | "heartbeat" | "channel_transform";
}

export type HookAgentAdmission =
  | { ok: true; runId: string; completion: Promise<HookCompletion> }
  | { ok: false; status: 409 | 502 | 503; error: string; runId?: string };

export interface HooksHandlerDeps {
  config: () => OpenClawConfig;
  clock?: Clock;
  knownAgents: () => string[];
  defaultAgentId: () => string;
  /** Registered chat channel ids (for direct delivery validation). */
  channels?: () => string[];
  dispatchWake: (req: HookWakeRequest) => { outcome: EnqueueOutcome };
  /** Admit an agent run; resolves once admitted (or refused). */
  dispatchAgent: (req: HookAgentRequest) => Promise<HookAgentAdmission>;
  log?: { warn(m: string): void; info(m: string): void };
  maxBodyBytes?: number;
  bodyTimeoutMs?: number;
  admissionTimeoutMs?: number;
}

// --- responses ------------------------------------------------------------------------------------

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

function sha(value: string): Buffer {
  return new Bun.CryptoHasher("sha256").update(value, "utf8").digest();
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  return crypto.timingSafeEqual(sha(given), sha(expected));
}

function extractToken(req: Request): string | undefined {
  const auth = req.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  if (m && m[1].trim()) return m[1].trim();
  const header = req.headers.get("x-openclaw-token")?.trim();
  return header || undefined;
}

type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 408 | 413; error: string };

async function readJsonBody(req: Request, maxBytes: number, timeoutMs: number, clock: Clock): Promise<BodyResult> {
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) return { ok: false, status: 413, error: "payload too large" };
  if (!req.body) return { ok: true, value: {} };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const timer = sleepOn(clock, timeoutMs);
  const TIMEOUT = Symbol("timeout");
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timer.promise.then(() => TIMEOUT)]);
      if (next === TIMEOUT) {
        void reader.cancel().catch(() => {});
        return { ok: false, status: 408, error: "request body timeout" };
      }
      const { done, value } = next as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      size += value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => {});
        return { ok: false, status: 413, error: "payload too large" };
      }
      chunks.push(value);
    }
  } finally {
    timer.cancel();
  }
  const raw = Buffer.concat(chunks).toString("utf8");
  if (!raw.trim()) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (err) {
    return { ok: false, status: 400, error: (err as Error).message };
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

class HookError {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {}
}

// --- the handler ---------------------------------------------------------------------------------

export interface HooksHandler {
  (req: Request, info: { clientIp: string }): Promise<Response | undefined>;
  limiter: HookAuthLimiter;
}

export function createHooksHandler(deps: HooksHandlerDeps): HooksHandler {
  const clock = deps.clock ?? systemClock;
  const limiter = new HookAuthLimiter(() => clock.now());
  const replay = new Map<string, { runId: string; completion: Promise<HookCompletion>; at: number }>();
  const maxBody = deps.maxBodyBytes ?? HOOK_BODY_MAX_BYTES;

  const pruneReplay = () => {
    const now = clock.now();
    for (const [k, v] of replay) if (now - v.at > IDEMPOTENCY_TTL_MS) replay.delete(k);
    while (replay.size > IDEMPOTENCY_MAX) replay.delete(replay.keys().next().value as string);
  };

  const checkAgent = (hooks: ResolvedHooks, agentId: string | undefined, fromMapping: boolean): string => {
    const known = deps.knownAgents();
    let id = agentId;
    if (id && !known.includes(id)) {
      if (!fromMapping) throw new HookError(400, `unknown agentId "${id}"`);
      id = undefined; // mappings fall back to the default agent
    }
    const effective = id ?? deps.defaultAgentId();
    if (hooks.allowedAgentIds && !hooks.allowedAgentIds.includes(effective)) {
      throw new HookError(400, `agentId "${effective}" is not allowed by hooks.allowedAgentIds`);
    }
    return effective;
  };

  const checkPrefix = (hooks: ResolvedHooks, key: string): void => {
    if (hooks.allowedSessionKeyPrefixes && !hooks.allowedSessionKeyPrefixes.some((p) => key.toLowerCase().startsWith(p))) {
      throw new HookError(400, `sessionKey must start with one of: ${hooks.allowedSessionKeyPrefixes.join(", ")} (hooks.allowedSessionKeyPrefixes)`);
    }
  };

  const callerKey = (hooks: ResolvedHooks, key: string): string => {
    if (!hooks.allowRequestSessionKey) {
      throw new HookError(400, "sessionKey is disabled for externally supplied hook payload values; set hooks.allowRequestSessionKey=true to enable");
    }
    checkPrefix(hooks, key);
    return key;
  };

  const wakeAction = (hooks: ResolvedHooks, p: { text?: string; mode?: unknown; agentId?: string; sessionKey?: string; external: boolean }, fromMapping: boolean) => {
    if (!p.text) throw new HookError(400, "text required");
    const mode = p.mode === "next-heartbeat" ? "next-heartbeat" : "now";
    const agentId = p.agentId ? checkAgent(hooks, p.agentId, fromMapping) : undefined;
    let sessionKey: string | undefined;
    if (p.sessionKey) {
      if (mode !== "now") throw new HookError(400, 'sessionKey requires mode "now" for wake');
      sessionKey = p.external ? callerKey(hooks, p.sessionKey) : (checkPrefix(hooks, p.sessionKey), p.sessionKey);
    }
    return { text: p.text, mode, agentId, sessionKey } as HookWakeRequest;
  };

  const agentAction = (
    hooks: ResolvedHooks,
    p: Record<string, unknown>,
    opts: { mapping?: HookMapping; mappingId?: string; keyIsExternal: boolean },
  ): HookAgentRequest => {
    const message = str(p.message);
    if (!message) throw new HookError(400, "message required");
    const agentId = checkAgent(hooks, str(p.agentId), opts.mapping !== undefined);
    const sessionMode = p.sessionMode === "persistent" ? "persistent" : "isolated";
    const requested = str(p.sessionKey);
    let sessionKey: string;
    if (requested) {
      sessionKey = opts.keyIsExternal ? callerKey(hooks, requested) : (checkPrefix(hooks, requested), requested);
    } else if (sessionMode === "persistent" && !opts.mapping) {
      throw new HookError(400, "persistent hook sessions require sessionKey, hooks.allowRequestSessionKey=true and hooks.allowedSessionKeyPrefixes");
    } else if (hooks.defaultSessionKey) {
      checkPrefix(hooks, hooks.defaultSessionKey);
      sessionKey = hooks.defaultSessionKey;
    } else {
      sessionKey = `hook:${crypto.randomUUID()}`;
      checkPrefix(hooks, sessionKey);
    }
    if (sessionMode === "persistent" && !opts.mapping && (!hooks.allowRequestSessionKey || !hooks.allowedSessionKeyPrefixes)) {
      throw new HookError(400, "persistent hook sessions require sessionKey, hooks.allowRequestSessionKey=true and hooks.allowedSessionKeyPrefixes");
    }
    const deliver = p.deliver !== false;
    let channel = deliver ? str(p.channel) : undefined;
    let to = deliver ? str(p.to) : undefined;
    const accountId = deliver ? str(p.accountId) : undefined;
    if (deliver && !opts.mapping) {
      const registered = deps.channels?.() ?? [];
      if (channel === "last") throw new HookError(400, 'channel "last" is not available for direct hook delivery; supply a concrete channel and to');
      if (channel && !registered.includes(channel)) throw new HookError(400, "channel must be last");
      if ((channel && !to) || (!channel && to)) throw new HookError(400, "direct delivery needs both channel and to");
      if (accountId && !channel) throw new HookError(400, "accountId requires channel and to");
    } else if (opts.mapping) {
      channel = channel ?? "last";
    }
    const timeout = typeof p.timeoutSeconds === "number" && Number.isFinite(p.timeoutSeconds) && p.timeoutSeconds > 0 ? Math.floor(p.timeoutSeconds) : undefined;
    return {
      message,
      name: str(p.name) ?? "Hook",
      agentId,
      sessionKey,
      sessionMode,
      deliver,
      ...(channel ? { channel } : {}),
      ...(to ? { to } : {}),
      ...(accountId ? { accountId } : {}),
      ...(str(p.model) ? { model: str(p.model) } : {}),
      ...(str(p.thinking) ? { thinking: str(p.thinking) } : {}),
      ...(timeout ? { timeoutSeconds: timeout } : {}),
      wakeMode: p.wakeMode === "next-heartbeat" ? "next-heartbeat" : "now",
      allowUnsafeExternalContent: opts.mapping?.allowUnsafeExternalContent === true,
      ...(opts.mappingId ? { mappingId: opts.mappingId } : {}),
    };
  };

  /** Admit with the 15 s deadline and the idempotency replay. */
  const admit = async (req: HookAgentRequest, replayKey: string | undefined): Promise<HookAgentAdmission> => {
    if (replayKey) {
      pruneReplay();
      const hit = replay.get(replayKey);
      if (hit) return { ok: true, runId: hit.runId, completion: hit.completion };
    }
    const deadline = sleepOn(clock, deps.admissionTimeoutMs ?? HOOK_ADMISSION_TIMEOUT_MS);
    const TIMEOUT = Symbol("timeout");
    const first = await Promise.race([deps.dispatchAgent(req), deadline.promise.then(() => TIMEOUT)]);
    deadline.cancel();
    if (first === TIMEOUT) return { ok: false, status: 503, error: "hook admission timed out" };
    const admission = first as HookAgentAdmission;
    if (admission.ok && replayKey) replay.set(replayKey, { runId: admission.runId, completion: admission.completion, at: clock.now() });
    return admission;
  };

  const handler = (async (req: Request, info: { clientIp: string }): Promise<Response | undefined> => {
    const hooks = resolveHooks(deps.config());
    if (!hooks) return undefined;
    const url = new URL(req.url);
    if (url.pathname !== hooks.basePath && !url.pathname.startsWith(`${hooks.basePath}/`)) return undefined;
    if (url.searchParams.has("token")) {
      return text(400, "Hook token must be provided via Authorization: Bearer <token> or X-OpenClaw-Token header (query parameters are not allowed).");
    }
    if (req.method !== "POST") return text(405, "Method Not Allowed", { Allow: "POST" });
    const clientKey = info.clientIp || "unknown";
    if (!tokenMatches(extractToken(req), hooks.token)) {
      const throttle = limiter.check(clientKey);
      if (!throttle.allowed) {
        const retryAfter = throttle.retryAfterMs > 0 ? Math.ceil(throttle.retryAfterMs / 1000) : 1;
        deps.log?.warn(`hooks: auth throttled for ${clientKey}; retry-after=${retryAfter}s`);
        return text(429, "Too Many Requests", { "Retry-After": String(retryAfter) });
      }
      limiter.recordFailure(clientKey);
      return text(401, "Unauthorized");
    }
    limiter.reset(clientKey);
    const subPath = url.pathname.slice(hooks.basePath.length).replace(/^\/+/, "").replace(/\/+$/, "");
    if (!subPath) return text(404, "Not Found");
    const body = await readJsonBody(req, maxBody, deps.bodyTimeoutMs ?? HOOK_BODY_TIMEOUT_MS, clock);
    if (!body.ok) return json(body.status, { ok: false, error: body.error });
    const payload = asRecord(body.value);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
    const idem = [headers["idempotency-key"], headers["x-openclaw-idempotency-key"], typeof payload.idempotencyKey === "string" ? payload.idempotencyKey : undefined]
      .map((v) => v?.trim())
      .find((v) => v && v.length <= 256);
    try {
      if (subPath === "wake") {
        const wake = wakeAction(hooks, { text: str(payload.text), mode: payload.mode, agentId: str(payload.agentId), sessionKey: str(payload.sessionKey), external: true }, false);
        const { outcome } = deps.dispatchWake(wake);
        return json(200, { ok: true, mode: wake.mode, eventOutcome: outcome });
      }
      if (subPath === "agent") {
        const req2 = agentAction(hooks, payload, { keyIsExternal: true });
        const replayKey = idem ? `${sha(hooks.token).toString("hex")}:${subPath}:${JSON.stringify({ ...req2, sessionKey: str(payload.sessionKey) })}:${idem}` : undefined;
        const admission = await admit(req2, replayKey);
        if (!admission.ok) return json(admission.status, { ok: false, error: admission.error, ...(admission.runId ? { runId: admission.runId } : {}) });
        if (payload.waitForCompletion === true) {
          const completion = await admission.completion;
          return json(200, { ok: true, runId: admission.runId, completion });
        }
        return json(200, { ok: true, runId: admission.runId });
      }
      return await mapped(hooks, subPath, payload, headers, url);
    } catch (err) {
      if (err instanceof HookError) return json(err.status, { ok: false, error: err.error });
      throw err;
    }
  }) as HooksHandler;

  const mapped = async (hooks: ResolvedHooks, subPath: string, payload: Record<string, unknown>, headers: Record<string, string>, url: URL): Promise<Response> => {
    const index = hooks.mappings.findIndex((m) => {
      const path = m.match?.path?.replace(/^\/+|\/+$/g, "");
      if (path !== undefined && path !== subPath) return false;
      if (m.match?.source !== undefined && payload.source !== m.match.source) return false;
      return true;
    });
    if (index < 0) return text(404, "Not Found");
    const mapping = hooks.mappings[index];
    const mappingId = mapping.id ?? `mapping-${index}`;
    if (mapping.transform) {
      deps.log?.warn(`hooks: mapping ${mappingId} uses a transform module; transforms are not supported by this gateway`);
      return json(500, { ok: false, error: "hook mapping failed" });
    }
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));
    let items: Record<string, unknown>[] = [payload];
    if (mapping.forEach) {
      const list = payload[mapping.forEach];
      if (!Array.isArray(list) || list.length === 0) return new Response(null, { status: 204 });
      if (list.length > HOOK_FANOUT_MAX) deps.log?.warn(`hooks: ${mappingId} fan-out capped at ${HOOK_FANOUT_MAX} of ${list.length} items`);
      items = list.slice(0, HOOK_FANOUT_MAX).map((item) => ({ ...payload, [mapping.forEach!]: [item] }));
    }
    const action = mapping.action ?? "agent";
    const templatedKey = mapping.sessionKey?.includes("{{") === true;
    if (templatedKey && !hooks.allowedSessionKeyPrefixes) {
      throw new HookError(400, "templated mapping session keys require hooks.allowedSessionKeyPrefixes");
    }
    const now = clock.now();
    const render = (tpl: string | undefined, item: Record<string, unknown>) =>
      tpl === undefined ? undefined : renderTemplate(tpl, { payload: item, headers, query, path: subPath, now });
    const runIds: string[] = [];
    const errors: string[] = [];
    let wakeOutcome: EnqueueOutcome | undefined;
    let failStatus = 0;
    for (const item of items) {
      const sessionKey = render(mapping.sessionKey, item);
      if (mapping.sessionKey !== undefined && !sessionKey) throw new HookError(400, "mapping sessionKey rendered empty");
      if (action === "wake") {
        const wake = wakeAction(hooks, { text: render(mapping.textTemplate, item)?.trim(), mode: mapping.wakeMode, agentId: mapping.agentId, sessionKey, external: templatedKey }, true);
        const { outcome } = deps.dispatchWake(wake);
        wakeOutcome = wakeOutcome === "queued" ? "queued" : outcome;
        continue;
      }
      const req = agentAction(
        hooks,
        {
          message: render(mapping.messageTemplate, item),
          name: render(mapping.name, item),
          agentId: mapping.agentId,
          sessionKey,
          sessionMode: mapping.sessionMode,
          deliver: mapping.deliver,
          channel: mapping.channel,
          to: render(mapping.to, item),
          model: render(mapping.model, item),
          thinking: render(mapping.thinking, item),
          timeoutSeconds: mapping.timeoutSeconds,
          wakeMode: mapping.wakeMode,
        },
        { mapping, mappingId, keyIsExternal: templatedKey },
      );
      const admission = await admit(req, undefined);
      if (admission.ok) runIds.push(admission.runId);
      else {
        errors.push(admission.error);
        failStatus = failStatus || admission.status;
      }
    }
    if (action === "wake") return json(200, { ok: true, mode: mapping.wakeMode ?? "now", eventOutcome: wakeOutcome ?? "queued" });
    if (errors.length) {
      return json(failStatus || 503, {
        ok: false,
        error: `hook fan-out incomplete: ${runIds.length}/${items.length} dispatched, ${errors.length} failed, 0 pending`,
        runIds,
        errors: errors.slice(0, 5),
      });
    }
    if (runIds.length === 1) return json(200, { ok: true, runId: runIds[0] });
    return json(200, { ok: true, runId: runIds[0], runIds, dispatched: runIds.length });
  };

  handler.limiter = limiter;
  return handler;
}

/**
 * `hooks.status`: the internal (HOOK.md) event hooks this gateway has loaded. It ships none and
 * loads none, so the list is empty; the directories are where the original would look.
 */
export function hooksStatus(opts: { workspaceDir: string; stateDir: string }): { workspaceDir: string; managedHooksDir: string; hooks: unknown[] } {
  return { workspaceDir: opts.workspaceDir, managedHooksDir: `${opts.stateDir.replace(/\/+$/, "")}/hooks`, hooks: [] };
}
