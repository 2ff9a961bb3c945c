/**
 * The API routes' plumbing as Hono middleware, one concern each, composed per endpoint:
 *
 *   endpoint(ctx, spec) = enabled → cors → methods (405) → gatewayAuth → scope
 *   jsonBody(schema, maxBytes)   body size and time limits, JSON, zod validation → `c.var.body`
 *
 * Every refusal is an `ApiError` (Hono `HTTPException` carrying the exact body); `onError`
 * (app.ts) answers it. A disabled endpoint is a plain 404 for every method, before CORS.
 *
 * Request validation is this middleware rather than `@hono/zod-validator`: Hono's `json`
 * target only parses a body whose Content-Type is JSON (a `curl -d` body would be validated as
 * `{}`), and it reads the body without the size and time limits the gateway enforces.
 */
import type { Context, Hono, MiddlewareHandler, Next } from "hono";
import { normalizeIp } from "../../auth/net.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { hasScope, type Scope } from "../../protocol/scopes.ts";
import type { z } from "../../zod.ts";
import { authenticateHttp, missingScopeResponse } from "./auth.ts";
import { BODY_TIMEOUT_MS, readJsonBody } from "./common.ts";
import { ApiError, invalidRequest, textResponse } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

export type EndpointName = "models" | "chatCompletions" | "responses" | "embeddings" | "toolsInvoke";

export interface EndpointSpec {
  /** The `gateway.http.endpoints.<name>.enabled` switch. */
  name: EndpointName;
  methods: string[];
  scope: Scope;
}

type Mw = MiddlewareHandler<HttpEnv>;

/** Enabled by default; `gateway.http.endpoints.<name>.enabled: false` switches one off. */
export function endpointEnabled(cfg: OpenClawConfig, name: EndpointName): boolean {
  return cfg.gateway?.http?.endpoints?.[name]?.enabled !== false;
}

/** A disabled endpoint answers a plain-text 404 for every method. */
export function enabled(ctx: HttpContext, name: EndpointName): Mw {
  return async (c, next) => {
    if (!endpointEnabled(ctx.snapshot.config, name)) return textResponse(404, "Not Found");
    c.set("api", true);
    await next();
  };
}

const CORS_ALLOWED_HEADERS = "authorization, content-type, x-openclaw-agent-id, x-openclaw-agent, x-openclaw-model, x-openclaw-session-key, x-openclaw-message-channel, x-openclaw-scopes, openai-beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";
const TOKEN_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The request's Origin when `gateway.http.cors.allowedOrigins` lists it (or `*`). */
export function corsOrigin(cfg: OpenClawConfig, req: Request): string | undefined {
  const origin = req.headers.get("origin");
  if (!origin) return undefined;
  const allowed = cfg.gateway?.http?.cors?.allowedOrigins ?? [];
  const norm = origin.replace(/\/+$/, "");
  return allowed.some((o) => o === "*" || o.replace(/\/+$/, "") === norm) ? origin : undefined;
}

/**
 * CORS for an allowed Origin: a preflight is answered here (204); every other response, errors
 * included, carries the allow-origin headers.
 */
export function cors(ctx: HttpContext, methods: string[]): Mw {
  return async (c, next) => {
    const req = c.req.raw;
    const origin = corsOrigin(ctx.snapshot.config, req);
    if (!origin) return next();
    const base = { "Access-Control-Allow-Origin": origin, Vary: "Origin", "Access-Control-Expose-Headers": "Retry-After" };
    if (req.method === "OPTIONS" && req.headers.has("access-control-request-method")) {
      const requested = req.headers.get("access-control-request-headers");
      // Echo what the browser asks for when it is a plain header list; otherwise the known set.
      const allowHeaders = requested && TOKEN_LIST.test(requested.trim()) ? requested : CORS_ALLOWED_HEADERS;
      return new Response(null, {
        status: 204,
        headers: {
          ...base,
          "Access-Control-Allow-Methods": [...methods, "OPTIONS"].join(", "),
          "Access-Control-Allow-Headers": allowHeaders,
          "Access-Control-Max-Age": "600",
        },
      });
    }
    await next();
    for (const [k, v] of Object.entries(base)) c.res.headers.set(k, v);
  };
}

/** 405 with `Allow` for a method the route does not serve (HEAD rides on GET). */
export function allowMethods(methods: string[]): Mw {
  return async (c, next) => {
    const m = c.req.method;
    if (!methods.includes(m) && !(m === "HEAD" && methods.includes("GET"))) {
      throw new ApiError(textResponse(405, "Method Not Allowed", { Allow: methods.join(", ") }));
    }
    await next();
  };
}

/** Gateway auth (see auth.ts); the principal goes to `c.var.principal`. */
export function gatewayAuth(ctx: HttpContext): Mw {
  return async (c, next) => {
    const req = c.req.raw;
    const principal = await authenticateHttp(ctx, req, normalizeIp(c.env.server.requestIP(req)?.address ?? ""));
    if (principal instanceof Response) throw new ApiError(principal);
    c.set("principal", principal);
    await next();
  };
}

/** 403 forbidden envelope unless the principal holds `scope`. */
export function requireScope(scope: Scope): Mw {
  return async (c, next) => {
    if (!hasScope(c.var.principal.scopes, scope)) throw new ApiError(missingScopeResponse(scope));
    await next();
  };
}

/** Long requests (model turns, streams): no idle timeout on this request's socket. */
export function noIdleTimeout(): Mw {
  return async (c, next) => {
    c.env.server.timeout(c.req.raw, 0);
    await next();
  };
}

/** Register `path` (every method) with middleware and a final handler. */
export function routeAll(app: Hono<HttpEnv>, path: string, ...handlers: Array<(c: Context<HttpEnv>, next: Next) => Response | void | Promise<Response | void>>): void {
  app.all(path, ...(handlers as [Mw]));
}

/** The whole gate of an API endpoint, in upstream's order. */
export function endpoint(ctx: HttpContext, spec: EndpointSpec): Mw[] {
  return [enabled(ctx, spec.name), cors(ctx, spec.methods), allowMethods(spec.methods), gatewayAuth(ctx), requireScope(spec.scope)];
}

export function issueText(error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request body.";
  let path = "";
  for (const seg of issue.path) path += typeof seg === "number" ? `[${seg}]` : path ? `.${String(seg)}` : String(seg);
  return path ? `Invalid \`${path}\`: ${issue.message}` : `Invalid request body: ${issue.message}`;
}

/**
 * Read the body (empty → `{}`; over `maxBytes` → 413; not complete within the body timeout →
 * 408; not JSON → 400 with the parser's message), then validate it with `schema` (400 naming
 * the first issue). The result is `c.var.body` (typed with `bodyOf`).
 */
export function jsonBody<T>(schema: z.ZodMiniType<T> | undefined, maxBytes: number, timeoutMs = BODY_TIMEOUT_MS): Mw {
  return async (c, next) => {
    const value = await readJsonBody(c.req.raw, maxBytes, timeoutMs);
    if (!schema) c.set("body", value);
    else {
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw new ApiError(invalidRequest(issueText(parsed.error)));
      c.set("body", parsed.data);
    }
    await next();
  };
}

/** The body `jsonBody(schema, …)` validated, typed. */
export function bodyOf<T>(c: Context<HttpEnv>, _schema: z.ZodMiniType<T>): T {
  return c.var.body as T;
}
