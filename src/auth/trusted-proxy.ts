/**
 * trusted-proxy auth: the request came through one of `gateway.trustedProxies`, carries the
 * required headers, and names an allowed user in `trustedProxy.userHeader`.
 */
import type { AuthSettings } from "../config/runtime.ts";
import type { AuthReason } from "../protocol/errors.ts";
import { ipInList, isLoopbackIp } from "./net.ts";

export type TrustedProxyResult = { ok: true; user: string } | { ok: false; reason: AuthReason };

export function checkTrustedProxy(
  auth: Pick<AuthSettings, "trustedProxy">,
  trustedProxies: readonly string[],
  peerIp: string,
  headers: Headers,
): TrustedProxyResult {
  const tp = auth.trustedProxy;
  if (!tp || trustedProxies.length === 0 || !ipInList(peerIp, trustedProxies)) {
    return { ok: false, reason: "trusted_proxy_untrusted_source" };
  }
  if (isLoopbackIp(peerIp) && !tp.allowLoopback) return { ok: false, reason: "trusted_proxy_loopback_source" };
  for (const name of tp.requiredHeaders) {
    if (!headers.get(name)?.trim()) return { ok: false, reason: `trusted_proxy_missing_header_${name.toLowerCase()}` };
  }
  const user = headers.get(tp.userHeader)?.trim();
  if (!user) return { ok: false, reason: "trusted_proxy_user_missing" };
  if (tp.allowUsers.length > 0 && !tp.allowUsers.includes(user)) return { ok: false, reason: "trusted_proxy_user_not_allowed" };
  return { ok: true, user };
}
