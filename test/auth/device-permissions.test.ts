import { describe, expect, test } from "bun:test";
import {
  approvalCallScopes,
  approvalGate,
  callerAuthz,
  deniesCrossDevice,
  deniesTokenRoleManagement,
  deviceManagementGate,
  pairingCallScopes,
  rejectionGate,
  tokenManagementCallScopes,
  visibleTo,
} from "../../src/auth/device-permissions.ts";
import { missingRequestedScope, normalizeTokenScopes, operatorScopeSatisfied, scopeOutsideRoles } from "../../src/auth/pairing-scopes.ts";
import type { PairedDevice, PendingRequest } from "../../src/auth/pairing-store.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const pending = (deviceId: string, extra: Partial<PendingRequest> = {}): PendingRequest => ({ requestId: "r", deviceId, publicKey: "k", role: "operator", roles: ["operator"], scopes: ["operator.read"], ts: 0, ...extra });
const device = (deviceId: string, extra: Partial<PairedDevice> = {}): PairedDevice => ({ deviceId, publicKey: "k", role: "operator", roles: ["operator"], scopes: ["operator.read"], createdAtMs: 0, approvedAtMs: 0, tokens: {}, ...extra });

describe("who is self-scoped", () => {
  test("only device-token sessions are tied to their device; admin lifts it", () => {
    const viaToken = callerAuthz({ role: "operator", scopes: ["operator.pairing"], deviceId: A, isDeviceTokenAuth: true });
    const viaShared = callerAuthz({ role: "operator", scopes: ["operator.pairing"], deviceId: A, isDeviceTokenAuth: false });
    const admin = callerAuthz({ role: "operator", scopes: ["operator.admin"], deviceId: A, isDeviceTokenAuth: true });
    expect(viaToken).toEqual({ callerDeviceId: A, callerScopes: ["operator.pairing"], isAdmin: false });
    expect(viaShared.callerDeviceId).toBeNull();
    expect(deniesCrossDevice(viaToken, B)).toBe(true);
    expect(deniesCrossDevice(viaToken, ` ${A} `)).toBe(false);
    expect(deniesCrossDevice(viaShared, B)).toBe(false);
    expect(deniesCrossDevice(admin, B)).toBe(false);
    expect(visibleTo(viaToken, B)).toBe(false);
    expect(visibleTo(viaToken, A)).toBe(true);
    expect(visibleTo(admin, B)).toBe(true);
  });

  test("node tokens are admin business, even on the caller's own device", () => {
    const s = callerAuthz({ role: "operator", scopes: ["operator.pairing"], deviceId: A, isDeviceTokenAuth: true });
    expect(deniesTokenRoleManagement(s, "node")).toBe(true);
    expect(deniesTokenRoleManagement(s, "operator")).toBe(false);
    expect(deniesTokenRoleManagement(callerAuthz({ role: "operator", scopes: ["operator.admin"], isDeviceTokenAuth: false }), "node")).toBe(false);
  });

  test("gates", () => {
    const self = callerAuthz({ role: "operator", scopes: ["operator.pairing"], deviceId: A, isDeviceTokenAuth: true });
    const pairing = callerAuthz({ role: "operator", scopes: ["operator.pairing"], isDeviceTokenAuth: false });
    const admin = callerAuthz({ role: "operator", scopes: ["operator.admin"], isDeviceTokenAuth: false });
    expect(approvalGate(pairing, undefined)).toEqual({ ok: false, reason: "not-found" });
    expect(approvalGate(admin, undefined)).toEqual({ ok: true });
    expect(approvalGate(self, pending(B))).toEqual({ ok: false, reason: "device-ownership-mismatch" });
    expect(approvalGate(pairing, pending(B, { role: "node", roles: ["node"] }))).toEqual({ ok: false, reason: "role-management-requires-admin" });
    expect(approvalGate(pairing, pending(B))).toEqual({ ok: true });
    expect(rejectionGate(pairing, undefined)).toEqual({ ok: true });
    expect(rejectionGate(self, pending(B))).toEqual({ ok: false, reason: "device-ownership-mismatch" });
    expect(deviceManagementGate(self, A, device(A, { tokens: { node: { role: "node", scopes: [], createdAtMs: 0, salt: Buffer.alloc(16), hash: Buffer.alloc(32) } } }))).toEqual({
      ok: false,
      reason: "role-management-requires-admin",
    });
    expect(deviceManagementGate(self, A, device(A))).toEqual({ ok: true });
    expect(deviceManagementGate(pairing, B, undefined)).toEqual({ ok: true });
  });
});

describe("scope arithmetic of pairing grants", () => {
  test("admin covers every operator scope; write covers read, talk and the session scopes", () => {
    expect(operatorScopeSatisfied("operator.pairing", ["operator.admin"])).toBe(true);
    expect(operatorScopeSatisfied("operator.read", ["operator.write"])).toBe(true);
    expect(operatorScopeSatisfied("operator.sessions.read", ["operator.read"])).toBe(true);
    expect(operatorScopeSatisfied("operator.pairing", ["operator.write"])).toBe(false);
    expect(operatorScopeSatisfied("node.x", ["operator.admin"])).toBe(false);
    expect(missingRequestedScope("operator", ["operator.read", "operator.admin"], ["operator.write"])).toBe("operator.admin");
    expect(missingRequestedScope("node", ["node.camera"], ["node.camera"])).toBeNull();
    expect(missingRequestedScope("node", ["operator.read"], ["operator.read"])).toBe("operator.read");
    expect(scopeOutsideRoles(["node"], ["operator.read"])).toBe("operator.read");
    expect(normalizeTokenScopes([" operator.write ", "operator.pairing", "operator.write"])).toEqual(["operator.pairing", "operator.read", "operator.write"]);
    expect(normalizeTokenScopes(["operator.admin"])).toEqual(["operator.admin", "operator.read", "operator.write"]);
  });
});

describe("the scopes a CLI command connects with", () => {
  test("pairing plus the operator scopes at stake; admin for admin, unknown scopes or non-operator roles", () => {
    expect(pairingCallScopes([])).toBeUndefined();
    expect(pairingCallScopes(["operator.read", "operator.write"])).toEqual(["operator.pairing", "operator.read", "operator.write"]);
    expect(pairingCallScopes(["operator.admin"])).toEqual(["operator.admin"]);
    expect(pairingCallScopes(["operator.unknown"])).toEqual(["operator.admin"]);
    expect(approvalCallScopes(pending(A, { role: "node", roles: ["node"], scopes: [] }), undefined)).toBeUndefined();
    // A repair without scopes inherits what the active operator token holds.
    expect(approvalCallScopes(pending(A, { scopes: [] }), { scopes: ["operator.read"], tokens: [{ role: "operator", scopes: ["operator.pairing", "operator.read"] }] })).toEqual([
      "operator.pairing",
      "operator.read",
    ]);
    expect(tokenManagementCallScopes("operator", { scopes: ["operator.read"], tokens: [] }, ["operator.write"])).toEqual(["operator.pairing", "operator.read", "operator.write"]);
  });
});
