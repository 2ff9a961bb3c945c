/**
 * Gateway auth for the HTTP APIs (`/v1/*`, `/tools/invoke`), in upstream's order:
 * proxy attribution (403 before auth) → failed-auth lockout (429) → credential for the mode
 * (401, answered after the limiter's slowdown, as on the WebSocket) → Origin in
 * none/trusted-proxy modes (401) → scopes (403 per route). Attribution and the limiter are the
 * gate the WebSocket connect uses too (src/gateway/gate.ts).
 */
import { isDirectLocal } from "../../auth/net.ts";
import { checkOrigin } from "../../auth/origin.ts";
import { bearerFrom, checkBearer, safeEqual } from "../../auth/shared-secret.ts";
import { checkTrustedProxy } from "../../auth/trusted-proxy.ts";
import { Messages } from "../../protocol/errors.ts";
import { ADMIN, hasScope, isScope, type Scope } from "../../protocol/scopes.ts";
import { attribute, checkSecret, limiterSubject, lockedFor } from "../gate.ts";
import type { HttpContext, HttpPrincipal } from "./types.ts";

export type { HttpPrincipal } from "./types.ts";

/** What a shared-secret caller (and a header-less trusted-proxy/none caller) may do. */
export const FULL_HTTP_SCOPES: Scope[] = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.pairing",
  "operator.talk.secrets",
];

const JSON_TYPE = { "Content-Type": "application/json; charset=utf-8" };

export function jsonError(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_TYPE, ...headers } });
}

export const unauthorized = () => jsonError(401, { error: { message: "Unauthorized", type: "unauthorized" } });

export function missingScopeResponse(scope: Scope): Response {
  return jsonError(403, {
    ok: false,
    error: {
      type: "forbidden",
      message: `missing scope: ${scope}`,
      details: { code: "MISSING_SCOPE", missingScope: scope, requiredScopes: [scope] },
    },
  });
}

/** The real client address (see gate.ts `attribute`); undefined: unattributable. */
export function attributeClient(socketIp: string, headers: Headers, trustedProxies: readonly string[], allowRealIp: boolean): string | undefined {
  return attribute(socketIp, headers, trustedProxies, allowRealIp).clientIp;
}

function headerScopes(headers: Headers): string[] {
  const raw = headers.get("x-openclaw-scopes");
  if (raw === null) return [...FULL_HTTP_SCOPES];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s && isScope(s));
}

function bearerSubject(secret: string): string {
  return `bearer:${new Bun.CryptoHasher("sha256").update(secret).digest("hex")}`;
}

/** Authenticate an API request; a Response means "answer this and stop". */
export async function authenticateHttp(ctx: HttpContext, req: Request, socketIp: string): Promise<HttpPrincipal | Response> {
  const settings = ctx.settings;
  const cfg = ctx.snapshot.config;
  const clientIp = attributeClient(socketIp, req.headers, settings.trustedProxies, cfg.gateway?.allowRealIpFallback === true);
  if (clientIp === undefined) {
    return jsonError(403, {
      error: {
        message: Messages.proxyAttributionRequired,
        type: "proxy_attribution_required",
      },
    });
  }
  const auth = settings.auth;
  const subject = limiterSubject(clientIp, req.headers.get("origin") ?? undefined, auth.rateLimit.exemptLoopback);
  const rateLimited = (ms: number) =>
    jsonError(
      429,
      { error: { message: "Too many failed authentication attempts. Please try again later.", type: "rate_limited" } },
      { "Retry-After": String(Math.ceil(ms / 1000)) },
    );
  const locked = lockedFor(ctx, subject);
  if (locked > 0) return rateLimited(locked);
  const directLocal = isDirectLocal(socketIp, req.headers);
  const bearer = bearerFrom(req.headers.get("authorization"));

  let principal: HttpPrincipal;
  if (auth.mode === "token" || auth.mode === "password") {
    if (!bearer) return unauthorized();
    const result = await checkSecret(ctx, subject, () => checkBearer(auth, bearer));
    if (!result.ok) return "retryAfterMs" in result ? rateLimited(result.retryAfterMs) : unauthorized();
    principal = { method: auth.mode, subject: bearerSubject(bearer), scopes: [...FULL_HTTP_SCOPES], owner: true, clientIp };
  } else if (auth.mode === "trusted-proxy") {
    if (directLocal && bearer && auth.password) {
      const password = auth.password;
      const result = await checkSecret(ctx, subject, () =>
        safeEqual(bearer, password) ? { ok: true, method: "password" } : { ok: false, reason: "password_mismatch", provided: true },
      );
      if (!result.ok) return "retryAfterMs" in result ? rateLimited(result.retryAfterMs) : unauthorized();
      principal = { method: "password", subject: bearerSubject(bearer), scopes: [...FULL_HTTP_SCOPES], owner: true, clientIp };
    } else {
      const tp = checkTrustedProxy(auth, settings.trustedProxies, socketIp, req.headers);
      if (!tp.ok) return unauthorized();
      const scopes = headerScopes(req.headers);
      principal = { method: "trusted-proxy", subject: `trusted-proxy:${tp.user}`, scopes, owner: scopes.includes(ADMIN), clientIp };
    }
  } else {
    const scopes = headerScopes(req.headers);
    principal = { method: "none", subject: "gateway-auth:none", scopes, owner: scopes.includes(ADMIN), clientIp };
  }

  if (principal.method === "trusted-proxy" || principal.method === "none") {
    const origin = req.headers.get("origin");
    if (origin) {
      const corsOrigins = cfg.gateway?.http?.cors?.allowedOrigins ?? [];
      const verdict = checkOrigin(origin, req.headers.get("host"), directLocal, {
        allowedOrigins: [...settings.allowedOrigins, ...corsOrigins],
        allowHostHeaderFallback: settings.allowHostHeaderOriginFallback,
      });
      if (!verdict.ok) return unauthorized();
    }
  }
  return principal;
}

export function scopeDenied(p: HttpPrincipal, scope: Scope): Response | undefined {
  return hasScope(p.scopes, scope) ? undefined : missingScopeResponse(scope);
}
