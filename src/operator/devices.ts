/**
 * What `openclaw devices …` does, as library calls (no printing): each connects as the `cli`
 * client with exactly the scopes the official CLI asks for (captured in
 * test/fixture/transcripts/devices/cli-devices.jsonl), makes its RPCs and returns the results.
 *
 *   list       device.pair.list                                      operator.pairing
 *   approve    device.pair.list, then device.pair.approve            pairing + the request's scopes;
 *                                                                    on "approval denied" once more as admin
 *   latest     device.pair.list (the newest request, to approve explicitly)
 *   reject     device.pair.reject                                    operator.pairing
 *   remove     device.pair.remove                                    operator.pairing
 *   rename     device.pair.rename                                    operator.pairing
 *   rotate     device.pair.list, then device.token.rotate            pairing + the token's scopes
 *   revoke     device.pair.list, then device.token.revoke            pairing + the token's scopes
 *   clear      device.pair.list, remove each, reject each (--pending)
 */
import { approvalCallScopes, tokenManagementCallScopes } from "../auth/device-permissions.ts";
import type { MethodName, ParamsIn, ResultOf } from "../protocol/contract.ts";
import { GatewayRequestError } from "../protocol/client.ts";
import { IDENTITY, withGateway } from "./connect.ts";
import type { GatewayTarget } from "./target.ts";

const PAIRING = "operator.pairing";
const ADMIN = "operator.admin";

export type DevicePairingList = ResultOf<"device.pair.list">;
export type PendingDeviceRequest = DevicePairingList["pending"][number];
export type PairedDeviceEntry = DevicePairingList["paired"][number];

export interface DevicesCallOptions {
  timeoutMs: number;
}

/** One connection, one call, with the given scopes (default: the method's own). */
async function rpc<M extends MethodName>(target: GatewayTarget, method: M, params: ParamsIn<M>, opts: DevicesCallOptions, scopes: string[] = [PAIRING]): Promise<ResultOf<M>> {
  return withGateway(target, { identity: IDENTITY.cli, scopes, timeoutMs: opts.timeoutMs }, (c) => c.call(method, params, { timeoutMs: opts.timeoutMs }));
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).toLowerCase();
const isApprovalDenied = (err: unknown) => err instanceof GatewayRequestError && messageOf(err).includes("device pairing approval denied");
const isUnknownRequest = (err: unknown) => err instanceof GatewayRequestError && err.code === "INVALID_REQUEST" && messageOf(err).includes("unknown requestid");

export function listDevices(target: GatewayTarget, opts: DevicesCallOptions): Promise<DevicePairingList> {
  return rpc(target, "device.pair.list", {}, opts);
}

/** The paired record a pending request belongs to (same id and key). */
export function pairedFor(list: DevicePairingList, request: PendingDeviceRequest): PairedDeviceEntry | undefined {
  const paired = list.paired.find((d) => d.deviceId === request.deviceId);
  return paired && (!paired.publicKey || !request.publicKey || paired.publicKey === request.publicKey) ? paired : undefined;
}

/**
 * Approve `requestId`. Null when no pending request has that id. Connects with the scopes the
 * approval needs (it cannot grant what the approver lacks); a non-admin refused as "approval
 * denied" (a node request, say) tries once more as admin.
 */
export async function approveDevice(target: GatewayTarget, requestId: string, opts: DevicesCallOptions): Promise<ResultOf<"device.pair.approve"> | null> {
  let scopes: string[] | undefined;
  try {
    const list = await listDevices(target, opts);
    const request = list.pending.find((p) => p.requestId === requestId);
    if (request) scopes = approvalCallScopes(request, pairedFor(list, request));
  } catch {
    // The approval itself says what is wrong.
  }
  try {
    return await rpc(target, "device.pair.approve", { requestId }, opts, scopes ?? [PAIRING]);
  } catch (err) {
    if (isApprovalDenied(err) && !scopes?.includes(ADMIN)) {
      try {
        return await rpc(target, "device.pair.approve", { requestId }, opts, [ADMIN]);
      } catch (adminErr) {
        if (isUnknownRequest(adminErr)) return null;
        throw adminErr;
      }
    }
    if (isUnknownRequest(err)) return null;
    throw err;
  }
}

export type ApprovalKind = "new-pairing" | "role-upgrade" | "scope-upgrade" | "re-approval";

export interface ApprovalState {
  kind: ApprovalKind;
  requested: { roles: string[]; scopes: string[] };
  approved: { roles: string[]; scopes: string[] } | null;
}

const sortedUnique = (items: readonly (string | undefined)[]) => [...new Set(items.map((s) => s?.trim()).filter((s): s is string => Boolean(s)))].sort();

/** What a pending request asks for compared with what the device already has. */
export function approvalState(request: PendingDeviceRequest, paired: PairedDeviceEntry | undefined): ApprovalState {
  const requested = { roles: sortedUnique([...(request.roles ?? []), request.role]), scopes: sortedUnique(request.scopes ?? []) };
  if (!paired) return { kind: "new-pairing", requested, approved: null };
  const approvedRoles = sortedUnique([...(paired.roles ?? []), paired.role]);
  const active = paired.tokens ? sortedUnique(paired.tokens.filter((t) => !t.revokedAtMs).map((t) => t.role)).filter((r) => approvedRoles.includes(r)) : approvedRoles;
  const approved = { roles: active, scopes: sortedUnique(paired.scopes ?? []) };
  if (!requested.roles.every((r) => approved.roles.includes(r))) return { kind: "role-upgrade", requested, approved };
  if (!requested.scopes.every((s) => approved.scopes.includes(s))) return { kind: "scope-upgrade", requested, approved };
  return { kind: "re-approval", requested, approved };
}

/** The newest pending request and what it asks for (undefined when nothing is pending). */
export async function latestRequest(target: GatewayTarget, opts: DevicesCallOptions): Promise<{ request: PendingDeviceRequest; state: ApprovalState } | undefined> {
  const list = await listDevices(target, opts);
  if (list.pending.length === 0) return undefined;
  const request = list.pending.reduce((a, b) => ((b.ts ?? 0) > (a.ts ?? 0) ? b : a));
  return { request, state: approvalState(request, pairedFor(list, request)) };
}

export function rejectDevice(target: GatewayTarget, requestId: string, opts: DevicesCallOptions): Promise<ResultOf<"device.pair.reject">> {
  return rpc(target, "device.pair.reject", { requestId }, opts);
}

export function removeDevice(target: GatewayTarget, deviceId: string, opts: DevicesCallOptions): Promise<ResultOf<"device.pair.remove">> {
  return rpc(target, "device.pair.remove", { deviceId }, opts);
}

export function renameDevice(target: GatewayTarget, deviceId: string, label: string, opts: DevicesCallOptions): Promise<ResultOf<"device.pair.rename">> {
  return rpc(target, "device.pair.rename", { deviceId, label }, opts);
}

/** The scopes to connect with to manage `deviceId`'s `role` token (the token's own, or admin). */
async function tokenScopes(target: GatewayTarget, deviceId: string, role: string, opts: DevicesCallOptions, requested?: string[]): Promise<string[]> {
  if (role !== "operator") return [ADMIN];
  const list = await rpc(target, "device.pair.list", {}, opts, [PAIRING]);
  const paired = list.paired.find((d) => d.deviceId === deviceId);
  return tokenManagementCallScopes(role, paired, requested) ?? [PAIRING];
}

export async function rotateDeviceToken(
  target: GatewayTarget,
  params: { deviceId: string; role: string; scopes?: string[] },
  opts: DevicesCallOptions,
): Promise<ResultOf<"device.token.rotate">> {
  const scopes = await tokenScopes(target, params.deviceId, params.role, opts, params.scopes);
  return rpc(target, "device.token.rotate", params, opts, scopes);
}

export async function revokeDeviceToken(target: GatewayTarget, params: { deviceId: string; role: string }, opts: DevicesCallOptions): Promise<ResultOf<"device.token.revoke">> {
  const scopes = await tokenScopes(target, params.deviceId, params.role, opts);
  return rpc(target, "device.token.revoke", params, opts, scopes);
}

/** Remove every paired device (and with `pending`, reject every request). */
export async function clearDevices(target: GatewayTarget, opts: DevicesCallOptions & { pending: boolean }): Promise<{ removedDevices: string[]; rejectedPending: string[] }> {
  const list = await listDevices(target, opts);
  const removedDevices: string[] = [];
  const rejectedPending: string[] = [];
  for (const d of list.paired) {
    const id = d.deviceId.trim();
    if (!id) continue;
    await removeDevice(target, id, opts);
    removedDevices.push(id);
  }
  if (opts.pending) {
    for (const p of list.pending) {
      const id = p.requestId.trim();
      if (!id) continue;
      await rejectDevice(target, id, opts);
      rejectedPending.push(id);
    }
  }
  return { removedDevices, rejectedPending };
}
