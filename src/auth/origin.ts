/**
 * Browser Origin policy for the control plane (cross-site WebSocket hijacking guard).
 *
 * An Origin is accepted when it is listed in `gateway.controlUi.allowedOrigins` (or `*`), when
 * its host equals the Host header and that host is loopback, a private IP, `*.local` or
 * `*.ts.net` (any host with the dangerous fallback), or when a direct-local client presents a
 * loopback Origin.
 */
import { isLoopbackIp, isPrivateIp } from "./net.ts";

export interface OriginPolicy {
  allowedOrigins: readonly string[];
  allowHostHeaderFallback: boolean;
}

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

function hostOf(value: string): string | undefined {
  try {
    return new URL(value).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return undefined;
  }
}

function hostHeaderName(host: string | null): string | undefined {
  return host ? hostOf(`http://${host}`) : undefined;
}

function isLocalName(host: string): boolean {
  return host === "localhost" || isLoopbackIp(host);
}

export function checkOrigin(
  origin: string,
  host: string | null,
  directLocal: boolean,
  policy: OriginPolicy,
): OriginVerdict {
  const trimmed = origin.trim().replace(/\/+$/, "");
  if (policy.allowedOrigins.includes("*") || policy.allowedOrigins.some((o) => o.replace(/\/+$/, "") === trimmed)) {
    return { ok: true };
  }
  const originHost = hostOf(trimmed);
  if (!originHost) return { ok: false, reason: "origin-unparseable" };
  const requestHost = hostHeaderName(host);
  if (requestHost && originHost === requestHost) {
    if (policy.allowHostHeaderFallback) return { ok: true };
    if (isLocalName(originHost) || isPrivateIp(originHost) || originHost.endsWith(".local") || originHost.endsWith(".ts.net")) {
      return { ok: true };
    }
  }
  if (directLocal && isLocalName(originHost)) return { ok: true };
  return { ok: false, reason: requestHost && originHost === requestHost ? "host-not-private" : "origin-not-allowed" };
}
