/**
 * The gate every request passes, HTTP and WebSocket alike: who the client is (proxy
 * attribution) and the failed-auth limiter around a shared-secret check.
 *
 *   attribute()      the client's address: the socket peer, or through a trusted proxy the
 *                    rightmost `X-Forwarded-For` hop that is neither loopback nor a trusted
 *                    proxy (`X-Real-IP` only with `gateway.allowRealIpFallback`). Forwarding
 *                    headers from a socket outside `gateway.trustedProxies` are unattributable:
 *                    HTTP refuses them before auth (403 `proxy_attribution_required`); the
 *                    WebSocket upgrade refuses them from a loopback peer (a local proxy that is
 *                    not configured) and otherwise uses the socket address, as the original.
 *   limiterSubject() what failures are counted against: the client address, or for a browser
 *                    (an `Origin`) on loopback its origin; loopback without an origin is exempt
 *                    from lockout when `gateway.auth.rateLimit.exemptLoopback` (the default).
 *   checkSecret()    lockout → the secret → on a wrong secret, count the failure and wait the
 *                    slowdown the limiter returns before answering; on success, reset.
 */
import { hasForwardingHeaders, ipInList, isLoopbackIp, normalizeIp } from "../auth/net.ts";
import type { FailedAuthLimiter } from "../auth/rate-limit.ts";
import type { SharedAuthResult } from "../auth/shared-secret.ts";
import type { GatewaySettings } from "../config/runtime.ts";

export interface Attribution {
  /** The TCP peer. */
  socketIp: string;
  /** The client's address; undefined when forwarding headers cannot be attributed. */
  clientIp: string | undefined;
  /** The request carries proxy (or Tailscale identity) headers. */
  forwarded: boolean;
  /** A loopback peer without forwarding headers: a process on this machine, talking directly. */
  directLocal: boolean;
}

/** Resolve the client address of a request (see the module comment). */
export function attribute(socketIp: string, headers: Headers, trustedProxies: readonly string[], allowRealIp: boolean): Attribution {
  const forwarded = hasForwardingHeaders(headers);
  if (!forwarded) return { socketIp, clientIp: socketIp, forwarded, directLocal: isLoopbackIp(socketIp) };
  const unattributed: Attribution = { socketIp, clientIp: undefined, forwarded, directLocal: false };
  if (!ipInList(socketIp, trustedProxies)) return unattributed;
  const xff = headers.get("x-forwarded-for");
  if (xff) {
    const hops = xff.split(",").map((h) => normalizeIp(h)).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!isLoopbackIp(hops[i]) && !ipInList(hops[i], trustedProxies)) return { ...unattributed, clientIp: hops[i] };
    }
    return unattributed;
  }
  const real = headers.get("x-real-ip");
  if (real && allowRealIp) return { ...unattributed, clientIp: normalizeIp(real) };
  return unattributed;
}

export interface LimiterSubject {
  key: string;
  /** Failures are counted (for the slowdown) but never lock this subject out. */
  exempt: boolean;
}

export function limiterSubject(clientIp: string, origin: string | undefined, exemptLoopback: boolean): LimiterSubject {
  const loopback = isLoopbackIp(clientIp);
  return {
    key: origin !== undefined && loopback ? `browser-origin:${origin}` : clientIp,
    exempt: loopback && origin === undefined && exemptLoopback,
  };
}

export interface GateDeps {
  readonly limiter: FailedAuthLimiter;
  readonly settings: Pick<GatewaySettings, "auth">;
  /** How the slowdown is waited (default Bun.sleep). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Milliseconds this subject is still locked out (0 = not locked). */
export function lockedFor(deps: GateDeps, subject: LimiterSubject): number {
  return subject.exempt ? 0 : deps.limiter.lockedFor("shared-secret", subject.key);
}

/** Count a failed secret and wait the slowdown the limiter asks for; returns that delay. */
export async function failSecret(deps: GateDeps, subject: LimiterSubject): Promise<number> {
  const delay = deps.limiter.recordFailure("shared-secret", subject.key, subject.exempt);
  if (delay > 0) await (deps.sleep ?? Bun.sleep)(delay);
  return delay;
}

export function passSecret(deps: GateDeps, subject: LimiterSubject): void {
  deps.limiter.recordSuccess("shared-secret", subject.key);
}

export type SecretVerdict = SharedAuthResult | { ok: false; reason: "rate_limited"; provided: boolean; retryAfterMs: number };

/**
 * Lockout, then `verify()`; a wrong secret that was offered is counted and answered after the
 * slowdown. A success is not recorded here when `deferSuccess` (the WebSocket connect records
 * it once every later check has passed).
 */
export async function checkSecret(
  deps: GateDeps,
  subject: LimiterSubject,
  verify: () => SharedAuthResult,
  opts: { deferSuccess?: boolean } = {},
): Promise<SecretVerdict> {
  const locked = lockedFor(deps, subject);
  if (locked > 0) return { ok: false, reason: "rate_limited", provided: true, retryAfterMs: locked };
  const result = verify();
  if (result.ok) {
    if (!opts.deferSuccess) passSecret(deps, subject);
    return result;
  }
  if (result.provided) await failSecret(deps, subject);
  return result;
}
