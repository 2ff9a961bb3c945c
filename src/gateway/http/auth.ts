/**
 * Gateway auth for the HTTP APIs (`/v1/*`, `/tools/invoke`), in upstream's order:
 * proxy attribution (403 before auth) → failed-auth lockout (429) → credential for the mode
 * (401) → Origin in none/trusted-proxy modes (401) → scopes (403 per route).
 */
import { hasForwardingHeaders, ipInList, isDirectLocal, isLoopbackIp, normalizeIp } from "../../auth/net.ts";
import { checkOrigin } from "../../auth/origin.ts";
import { bearerFrom, checkBearer, safeEqual } from "../../auth/shared-secret.ts";
import { checkTrustedProxy } from "../../auth/trusted-proxy.ts";
import { Messages } from "../../protocol/errors.ts";
import { ADMIN, hasScope, isScope, type Scope } from "../../protocol/scopes.ts";
import type { GatewayContext } from "../context.ts";

/** What a shared-secret caller (and a header-less trusted-proxy/none caller) may do. */
export const FULL_HTTP_SCOPES: Scope[] = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.approvals",
  "operator.pairing",
  "operator.talk.secrets",
];

export interface HttpPrincipal {
  method: "token" | "password" | "trusted-proxy" | "none";
  /** Stable identity for `previous_response_id` ownership. */
  subject: string;
  scopes: string[];
  /** Holds operator.admin (may use `x-openclaw-model`). */
  owner: boolean;
  clientIp: string;
}

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

/**
 * The real client address. Without forwarding headers it is the socket peer. Through a trusted
 * proxy it is the rightmost `X-Forwarded-For` hop that is neither loopback nor a trusted proxy
 * (`X-Real-IP` only with `gateway.allowRealIpFallback` and no XFF). Undefined: unattributable.
 */
export function attributeClient(socketIp: string, headers: Headers, trustedProxies: readonly string[], allowRealIp: boolean): string | undefined {
  if (!hasForwardingHeaders(headers)) return socketIp;
  if (!ipInList(socketIp, trustedProxies)) return undefined;
  const xff = headers.get("x-forwarded-for");
  if (xff) {
    const hops = xff.split(",").map((h) => normalizeIp(h)).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!isLoopbackIp(hops[i]) && !ipInList(hops[i], trustedProxies)) return hops[i];
    }
    return undefined;
  }
  const real = headers.get("x-real-ip");
  if (real && allowRealIp) return normalizeIp(real);
  return undefined;
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
export function authenticateHttp(ctx: GatewayContext, req: Request, socketIp: string): HttpPrincipal | Response {
  const settings = ctx.settings;
  const cfg = ctx.loaded.config;
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
  const exempt = isLoopbackIp(clientIp) && auth.rateLimit.exemptLoopback;
  if (!exempt) {
    const locked = ctx.limiter.lockedFor("shared-secret", clientIp);
    if (locked > 0) {
      return jsonError(
        429,
        { error: { message: "Too many failed authentication attempts. Please try again later.", type: "rate_limited" } },
        { "Retry-After": String(Math.ceil(locked / 1000)) },
      );
    }
  }
  const directLocal = isDirectLocal(socketIp, req.headers);
  const bearer = bearerFrom(req.headers.get("authorization"));

  let principal: HttpPrincipal;
  if (auth.mode === "token" || auth.mode === "password") {
    if (!bearer) return unauthorized();
    const result = checkBearer(auth, bearer);
    if (!result.ok) {
      ctx.limiter.recordFailure("shared-secret", clientIp, exempt);
      return unauthorized();
    }
    ctx.limiter.recordSuccess("shared-secret", clientIp);
    principal = { method: auth.mode, subject: bearerSubject(bearer), scopes: [...FULL_HTTP_SCOPES], owner: true, clientIp };
  } else if (auth.mode === "trusted-proxy") {
    if (directLocal && bearer && auth.password) {
      if (!safeEqual(bearer, auth.password)) {
        ctx.limiter.recordFailure("shared-secret", clientIp, exempt);
        return unauthorized();
      }
      ctx.limiter.recordSuccess("shared-secret", clientIp);
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
