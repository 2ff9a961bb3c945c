/**
 * Who may manage which device, as pure functions of the calling session.
 *
 *  - A session authenticated with its own device token is self-scoped: it sees and manages only
 *    its own device entry, unless it holds `operator.admin`. Shared-secret (and trusted-proxy)
 *    sessions are not tied to a device and manage any entry their scopes allow.
 *  - Non-operator roles (`node`) are admin business: approving such a request, managing such a
 *    token, or (for a device session) removing/renaming a device that has one.
 *  - Scopes can only be handed on, never widened: approving an operator request needs every scope
 *    it grants; rotating or revoking an operator token needs every scope of the target token.
 *    (Those two checks run inside the store's transaction, against the row they change.)
 *
 * Also here: the scopes the official CLI asks for when it connects to run these methods, so our
 * CLI asks for the same.
 */
import type { PairedDevice, PendingRequest } from "./pairing-store.ts";
import { isOperatorScope, mergeRoles, normalizeTokenScopes, OPERATOR_ROLE } from "./pairing-scopes.ts";

const ADMIN = "operator.admin";
const PAIRING = "operator.pairing";

export interface DeviceSession {
  role: string;
  scopes: readonly string[];
  /** The socket's verified device, if it presented one. */
  deviceId?: string;
  publicKey?: string;
  /** Authenticated by that device's token (not by the shared secret). */
  isDeviceTokenAuth: boolean;
}

export interface CallerAuthz {
  /** Set only for device-token sessions: the device they are confined to. */
  callerDeviceId: string | null;
  callerScopes: readonly string[];
  isAdmin: boolean;
}

export function callerAuthz(session: DeviceSession): CallerAuthz {
  const id = session.isDeviceTokenAuth ? session.deviceId?.trim() : undefined;
  return { callerDeviceId: id ? id : null, callerScopes: session.scopes, isAdmin: session.scopes.includes(ADMIN) };
}

/** A self-scoped session may not touch another device. */
export function deniesCrossDevice(authz: CallerAuthz, targetDeviceId: string): boolean {
  return Boolean(authz.callerDeviceId && authz.callerDeviceId !== targetDeviceId.trim() && !authz.isAdmin);
}

/** Tokens of non-operator roles are managed by admins only (even a device's own node token). */
export function deniesTokenRoleManagement(authz: CallerAuthz, role: string): boolean {
  const r = role.trim();
  if (!r || authz.isAdmin) return false;
  return r !== OPERATOR_ROLE;
}

export function requestsNonOperatorRole(p: Pick<PendingRequest, "role" | "roles">): boolean {
  return (mergeRoles(p.roles, p.role) ?? []).some((r) => r !== OPERATOR_ROLE);
}

export function hasNonOperatorRole(d: PairedDevice): boolean {
  const roles = mergeRoles(d.roles, d.role, Object.values(d.tokens).map((t) => t.role)) ?? [];
  return roles.some((r) => r !== OPERATOR_ROLE);
}

/** What a self-scoped session may see of a list: its own entries only. */
export function visibleTo(authz: CallerAuthz, deviceId: string): boolean {
  return !authz.callerDeviceId || authz.isAdmin || deviceId.trim() === authz.callerDeviceId;
}

export type ApprovalGate = { ok: true } | { ok: false; reason: "not-found" | "device-ownership-mismatch" | "role-management-requires-admin" };

/** The handler-level gate before `approve` (the scope check itself happens in the store). */
export function approvalGate(authz: CallerAuthz, pending: PendingRequest | undefined): ApprovalGate {
  if (authz.isAdmin) return { ok: true };
  if (!pending) return { ok: false, reason: "not-found" };
  if (authz.callerDeviceId && pending.deviceId.trim() !== authz.callerDeviceId) return { ok: false, reason: "device-ownership-mismatch" };
  if (requestsNonOperatorRole(pending)) return { ok: false, reason: "role-management-requires-admin" };
  return { ok: true };
}

/** Reject: a self-scoped session may reject only its own device's request. */
export function rejectionGate(authz: CallerAuthz, pending: PendingRequest | undefined): ApprovalGate {
  if (!authz.callerDeviceId || authz.isAdmin) return { ok: true };
  if (!pending) return { ok: false, reason: "not-found" };
  if (pending.deviceId.trim() !== authz.callerDeviceId) return { ok: false, reason: "device-ownership-mismatch" };
  return { ok: true };
}

/** Remove/rename: self-scoped sessions only on their own device, and not when it holds a non-operator role. */
export function deviceManagementGate(authz: CallerAuthz, targetDeviceId: string, target: PairedDevice | undefined): ApprovalGate {
  if (deniesCrossDevice(authz, targetDeviceId)) return { ok: false, reason: "device-ownership-mismatch" };
  if (authz.callerDeviceId && !authz.isAdmin && target && hasNonOperatorRole(target)) return { ok: false, reason: "role-management-requires-admin" };
  return { ok: true };
}

// ---- what the CLI asks for ----

function operatorScopesOf(scopes: readonly string[] | undefined): string[] {
  return normalizeTokenScopes(scopes).filter((s) => s.startsWith("operator."));
}

/** `operator.pairing` plus the given operator scopes; admin when one of them is admin or unknown. Undefined for none. */
export function pairingCallScopes(operatorScopes: readonly string[]): string[] | undefined {
  if (operatorScopes.length === 0) return undefined;
  const out = new Set<string>([PAIRING]);
  for (const s of operatorScopes) {
    if (s === ADMIN || !isOperatorScope(s)) return [ADMIN];
    out.add(s);
  }
  return [...out];
}

/**
 * The scopes to connect with to approve `pending`: pairing plus what the request grants (for a
 * repair without scopes, what the device's active operator token holds). Undefined means the
 * method's own scope (`operator.pairing`) is enough.
 */
export function approvalCallScopes(
  pending: PendingRequest,
  paired: (Pick<PairedDevice, "scopes"> & { tokens?: { role: string; scopes: string[]; revokedAtMs?: number }[] }) | undefined,
): string[] | undefined {
  const roles = mergeRoles(pending.roles, pending.role) ?? [];
  if (!roles.includes(OPERATOR_ROLE)) return undefined;
  let scopes = operatorScopesOf(pending.scopes);
  if (scopes.length === 0) {
    const active = paired?.tokens?.find((t) => t.role === OPERATOR_ROLE && !t.revokedAtMs);
    scopes = operatorScopesOf(active?.scopes ?? paired?.scopes);
  }
  return pairingCallScopes(scopes);
}

/**
 * The scopes to connect with to rotate/revoke a device token: admin for non-operator roles or an
 * unknown target; otherwise pairing plus the target token's scopes (or the explicit new scopes).
 */
export function tokenManagementCallScopes(
  role: string,
  target: (Pick<PairedDevice, "scopes"> & { tokens?: { role: string; scopes: string[] }[] }) | undefined,
  requestedScopes?: readonly string[],
): string[] | undefined {
  if (role !== OPERATOR_ROLE || !target) return [ADMIN];
  const token = target.tokens?.find((t) => t.role === role);
  return pairingCallScopes(operatorScopesOf(requestedScopes ?? token?.scopes ?? target.scopes));
}
