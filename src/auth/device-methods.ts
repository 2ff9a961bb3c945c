/**
 * The core of the device pairing and device token RPC methods, transport-free: each takes the
 * calling session and the params and returns the original's result (or its exact error) plus the
 * effects the gateway must carry out — events to broadcast to pairing-scoped operators and
 * sockets to close. Registering them as RPC methods is wiring only.
 *
 *   device.pair.list | approve | reject | remove | rename      operator.pairing
 *   device.token.rotate | revoke                               operator.pairing
 *   device.scopes.requestUpgrade | waitUpgrade                 operator.read
 *
 * The results never carry a token value, except `device.token.rotate` answering a device that
 * rotates its own token over its own device-token session (`tokenDelivery: "in-band"`) and
 * `waitUpgrade` handing the approved token to the device that asked.
 */
import { DeviceMessages, ErrorCodes, Messages, RpcError } from "../protocol/errors.ts";
import { lazy, z } from "../zod.ts";
import type { LogLine, PairingEvent } from "./device-auth.ts";
import {
  approvalGate,
  callerAuthz,
  deniesCrossDevice,
  deniesTokenRoleManagement,
  deviceManagementGate,
  rejectionGate,
  visibleTo,
  type DeviceSession,
} from "./device-permissions.ts";
import {
  PairingInputError,
  PairingLimitError,
  redactDevice,
  type ApprovalResult,
  type PairingStore,
  type PendingRequest,
  type PublicPairedDevice,
} from "./pairing-store.ts";
import { isOperatorScope, normalizeTokenScopes, OPERATOR_ROLE, roleScopesAllow } from "./pairing-scopes.ts";

export const DEVICE_METHOD_SCOPES = {
  "device.pair.list": "operator.pairing",
  "device.pair.approve": "operator.pairing",
  "device.pair.reject": "operator.pairing",
  "device.pair.remove": "operator.pairing",
  "device.pair.rename": "operator.pairing",
  "device.token.rotate": "operator.pairing",
  "device.token.revoke": "operator.pairing",
  "device.scopes.requestUpgrade": "operator.read",
  "device.scopes.waitUpgrade": "operator.read",
} as const;
export type DeviceMethodName = keyof typeof DEVICE_METHOD_SCOPES;

/** Events these methods (and the handshake) emit; advertise them in `hello-ok.features.events`. */
export const DEVICE_EVENTS = ["device.pair.requested", "device.pair.resolved", "device.pair.changed"] as const;

const NonEmpty = z.string().check(z.minLength(1));

/** Built on the first call of a device method (see `lazy`). */
export const deviceParams = lazy(() => ({
  "device.pair.list": z.strictObject({}),
  "device.pair.approve": z.strictObject({ requestId: NonEmpty }),
  "device.pair.reject": z.strictObject({ requestId: NonEmpty }),
  "device.pair.remove": z.strictObject({ deviceId: NonEmpty }),
  "device.pair.rename": z.strictObject({ deviceId: NonEmpty, label: z.string().check(z.minLength(1), z.maxLength(64)) }),
  "device.token.rotate": z.strictObject({ deviceId: NonEmpty, role: NonEmpty, scopes: z.optional(z.array(NonEmpty)) }),
  "device.token.revoke": z.strictObject({ deviceId: NonEmpty, role: NonEmpty }),
  "device.scopes.requestUpgrade": z.strictObject({ scopes: z.array(NonEmpty).check(z.minLength(1), z.maxLength(8)) }),
  "device.scopes.waitUpgrade": z.strictObject({ requestId: NonEmpty }),
}) as const);

export type DeviceParamsOf<M extends DeviceMethodName> = z.infer<ReturnType<typeof deviceParams>[M]>;

/**
 * Validate params of a device method; the error is the original's
 * (`invalid device.pair.approve params: must have required property 'requestId'`).
 */
export function parseDeviceParams<M extends DeviceMethodName>(method: M, params: unknown): DeviceParamsOf<M> {
  const value = params ?? {};
  const checked = deviceParams()[method].safeParse(value);
  if (checked.success) return checked.data as DeviceParamsOf<M>;
  const issue = checked.error.issues[0];
  const path = issue.path.map(String);
  let text: string;
  const present = path.length === 0 || (typeof value === "object" && value !== null && path[0] in (value as object));
  if (issue.code === "unrecognized_keys") text = `at ${path.length ? `/${path.join("/")}` : "root"}: unexpected property '${issue.keys[0]}'`;
  else if (!present) text = `must have required property '${path[path.length - 1]}'`;
  else if (issue.code === "too_big") text = `at /${path.join("/")}: must not have more than ${issue.maximum} ${issue.origin === "string" ? "characters" : "items"}`;
  else if (issue.code === "too_small") text = `at /${path.join("/")}: must not have fewer than ${issue.minimum} ${issue.origin === "string" ? "characters" : "items"}`;
  else if (issue.code === "invalid_type") text = `at ${path.length ? `/${path.join("/")}` : "root"}: must be ${issue.expected}`;
  else text = `at ${path.length ? `/${path.join("/")}` : "root"}: ${issue.message}`;
  throw new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidParams(method, text));
}

export type DeviceEvent = PairingEvent | { event: "device.pair.changed"; payload: Record<string, never> };

/** Close these sockets (code 4001, reason `device removed`) after the response went out. */
export interface DisconnectRequest {
  deviceId: string;
  /** Only sockets connected with this role; all roles when absent. */
  role?: string;
  code: 4001;
  reason: string;
}

export interface Effects {
  events: DeviceEvent[];
  disconnect: DisconnectRequest[];
  log: LogLine[];
}

export type MethodOutcome<T> = ({ ok: true; payload: T } | { ok: false; error: RpcError }) & Effects;

export interface SessionInfo extends DeviceSession {
  /** For live scope upgrades: what the socket connected as. */
  client?: { id: string; mode: string; displayName?: string; platform?: string; deviceFamily?: string };
  remoteIp?: string;
}

function forbiddenMessage(r: Extract<ApprovalResult, { status: "forbidden" }>): string {
  switch (r.reason) {
    case "caller-scopes-required":
    case "caller-missing-scope":
      return Messages.missingScope(r.scope ?? "unknown");
    case "scope-outside-requested-roles":
      return DeviceMessages.scopeOutsideRoles(r.scope ?? "unknown");
    case "approval-policy-changed":
      return DeviceMessages.approvalPolicyChanged;
  }
}

const fail = (message: string, details?: unknown): RpcError => new RpcError(ErrorCodes.INVALID_REQUEST, message, details);

type UpgradeResult =
  | { status: "approved"; requestId: string; deviceToken: string; scopes: string[] }
  | { status: "rejected"; requestId: string }
  | { status: "expired"; requestId: string };

interface UpgradeEntry {
  requestId: string;
  owner: { deviceId: string; publicKey: string };
  requestedScopes: string[];
  initialTokenHash?: Buffer;
  initialApprovedAtMs?: number;
  expiresAtMs: number;
  hint?: "approved" | "rejected";
  result?: UpgradeResult;
  wake: Set<() => void>;
  timer?: ReturnType<typeof setTimeout>;
}

/** After a terminal result, the entry is kept this long so a late `waitUpgrade` still gets it. */
const TERMINAL_GRACE_MS = 15_000;
const MAX_UPGRADE_ENTRIES = 256;

/**
 * Live scope-upgrade waiters: `waitUpgrade` sleeps until the request is approved, rejected or
 * expires. Approvals and rejections made through these methods wake it at once; `recheck()`
 * (called from the gateway's tick) catches decisions written by another process.
 */
export class ScopeUpgradeWaiters {
  private entries = new Map<string, UpgradeEntry>();
  constructor(
    private readonly store: PairingStore,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** `wait` calls asleep right now (waiting for a decision). */
  get sleeping(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.wake.size;
    return n;
  }

  register(e: Omit<UpgradeEntry, "wake" | "timer" | "hint" | "result">): boolean {
    const existing = this.entries.get(e.requestId);
    if (existing && (existing.owner.deviceId !== e.owner.deviceId || existing.owner.publicKey !== e.owner.publicKey)) return false;
    if (!existing && this.entries.size >= MAX_UPGRADE_ENTRIES) return false;
    const entry: UpgradeEntry = existing ?? { ...e, wake: new Set() };
    entry.requestedScopes = [...e.requestedScopes];
    entry.expiresAtMs = e.expiresAtMs;
    this.arm(entry, Math.max(0, e.expiresAtMs - this.now()));
    this.entries.set(e.requestId, entry);
    return true;
  }

  notify(requestId: string, hint: "approved" | "rejected"): void {
    const entry = this.entries.get(requestId);
    if (!entry) return;
    entry.hint = hint;
    this.wakeAll(entry);
  }

  /** Re-read every open wait from the store (another process may have decided). */
  recheck(): void {
    for (const entry of this.entries.values()) if (!entry.result) this.wakeAll(entry);
  }

  async wait(requestId: string, owner: { deviceId: string; publicKey: string }, signal?: AbortSignal): Promise<UpgradeResult | null> {
    const entry = this.entries.get(requestId);
    if (!entry || entry.owner.deviceId !== owner.deviceId || entry.owner.publicKey !== owner.publicKey) return null;
    while (!entry.result) {
      if (signal?.aborted) return null;
      const result = this.now() >= entry.expiresAtMs ? ({ status: "expired", requestId } as const) : this.readDurable(entry);
      if (result) {
        entry.result = result;
        this.arm(entry, TERMINAL_GRACE_MS, true);
        break;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          entry.wake.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        entry.wake.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
    return entry.result;
  }

  close(): void {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      this.wakeAll(entry);
    }
    this.entries.clear();
  }

  private wakeAll(entry: UpgradeEntry): void {
    for (const fn of [...entry.wake]) fn();
  }

  private arm(entry: UpgradeEntry, delayMs: number, terminal = false): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (terminal || entry.result) {
        this.entries.delete(entry.requestId);
        this.wakeAll(entry);
      } else {
        this.wakeAll(entry);
        this.arm(entry, TERMINAL_GRACE_MS, true);
      }
    }, delayMs);
    entry.timer.unref?.();
  }

  private readDurable(entry: UpgradeEntry): UpgradeResult | null {
    if (this.store.getPending(entry.requestId)) return null;
    if (entry.hint === "rejected") return { status: "rejected", requestId: entry.requestId };
    const paired = this.store.getPaired(entry.owner.deviceId);
    const token = paired?.tokens[OPERATOR_ROLE];
    const changed =
      entry.hint === "approved" ||
      (token !== undefined && (!entry.initialTokenHash || !token.hash.equals(entry.initialTokenHash)) && paired?.approvedAtMs !== entry.initialApprovedAtMs);
    if (paired?.publicKey === entry.owner.publicKey && token && !token.revokedAtMs && changed && roleScopesAllow(OPERATOR_ROLE, entry.requestedScopes, token.scopes)) {
      const issued = this.store.currentToken(entry.owner.deviceId, OPERATOR_ROLE);
      if (issued) return { status: "approved", requestId: entry.requestId, deviceToken: issued.token, scopes: token.scopes };
    }
    return { status: "rejected", requestId: entry.requestId };
  }
}

export interface DeviceMethodsOptions {
  /** Whether a device has live sockets (`connected` in `device.pair.list`). */
  isConnected?: (deviceId: string) => boolean;
  now?: () => number;
}

export class DeviceMethods {
  readonly upgrades: ScopeUpgradeWaiters;
  private readonly now: () => number;

  constructor(
    readonly store: PairingStore,
    private readonly opts: DeviceMethodsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.upgrades = new ScopeUpgradeWaiters(store, this.now);
  }

  /** Dispatch by name (params validated here too). */
  async call(method: DeviceMethodName, session: SessionInfo, params: unknown, signal?: AbortSignal): Promise<MethodOutcome<unknown>> {
    const fx = effects();
    let p: unknown;
    try {
      p = parseDeviceParams(method, params);
    } catch (err) {
      return { ok: false, error: err as RpcError, ...fx };
    }
    switch (method) {
      case "device.pair.list":
        return this.list(session);
      case "device.pair.approve":
        return this.approve(session, p as DeviceParamsOf<"device.pair.approve">);
      case "device.pair.reject":
        return this.reject(session, p as DeviceParamsOf<"device.pair.reject">);
      case "device.pair.remove":
        return this.remove(session, p as DeviceParamsOf<"device.pair.remove">);
      case "device.pair.rename":
        return this.rename(session, p as DeviceParamsOf<"device.pair.rename">);
      case "device.token.rotate":
        return this.rotate(session, p as DeviceParamsOf<"device.token.rotate">);
      case "device.token.revoke":
        return this.revoke(session, p as DeviceParamsOf<"device.token.revoke">);
      case "device.scopes.requestUpgrade":
        return this.requestUpgrade(session, p as DeviceParamsOf<"device.scopes.requestUpgrade">);
      case "device.scopes.waitUpgrade":
        return this.waitUpgrade(session, p as DeviceParamsOf<"device.scopes.waitUpgrade">, signal);
    }
  }

  list(session: SessionInfo): MethodOutcome<{ pending: PendingRequest[]; paired: PublicPairedDevice[] }> {
    const authz = callerAuthz(session);
    const all = this.store.list();
    const pending = all.pending.filter((p) => visibleTo(authz, p.deviceId));
    const paired = all.paired.filter((d) => visibleTo(authz, d.deviceId)).map((d) => redactDevice(d, this.opts.isConnected?.(d.deviceId) ?? false));
    return { ok: true, payload: { pending, paired }, ...effects() };
  }

  approve(session: SessionInfo, params: { requestId: string }): MethodOutcome<{ requestId: string; device: PublicPairedDevice }> {
    const fx = effects();
    const requestId = params.requestId.trim();
    const authz = callerAuthz(session);
    const gate = approvalGate(authz, authz.isAdmin ? undefined : this.store.getPending(requestId));
    if (!gate.ok) {
      if (gate.reason !== "not-found") fx.log.push({ level: "warn", message: `device pairing approval denied request=${requestId} reason=${gate.reason}` });
      return { ok: false, error: fail(DeviceMessages.approvalDenied), ...fx };
    }
    let approved: ApprovalResult | null;
    try {
      approved = this.store.approve(requestId, { callerScopes: authz.callerScopes });
    } catch (err) {
      if (err instanceof PairingLimitError || err instanceof PairingInputError) return { ok: false, error: fail(err.message), ...fx };
      throw err;
    }
    if (!approved) return { ok: false, error: fail(DeviceMessages.unknownRequestId), ...fx };
    if (approved.status === "forbidden") return { ok: false, error: fail(forbiddenMessage(approved)), ...fx };
    this.upgrades.notify(requestId, "approved");
    const device = approved.device;
    fx.log.push({ level: "info", message: `device pairing approved device=${device.deviceId} role=${device.role ?? "unknown"}` });
    fx.events.push({ event: "device.pair.resolved", payload: { requestId, deviceId: device.deviceId, decision: "approved", ts: this.now() } });
    return { ok: true, payload: { requestId, device: redactDevice(device) }, ...fx };
  }

  reject(session: SessionInfo, params: { requestId: string }): MethodOutcome<{ requestId: string; deviceId: string }> {
    const fx = effects();
    const requestId = params.requestId.trim();
    const authz = callerAuthz(session);
    const gate = rejectionGate(authz, authz.callerDeviceId && !authz.isAdmin ? this.store.getPending(requestId) : undefined);
    if (!gate.ok) {
      if (gate.reason !== "not-found") fx.log.push({ level: "warn", message: `device pairing rejection denied request=${requestId} reason=${gate.reason}` });
      return { ok: false, error: fail(DeviceMessages.rejectionDenied), ...fx };
    }
    const rejected = this.store.reject(requestId);
    if (!rejected) return { ok: false, error: fail(DeviceMessages.unknownRequestId), ...fx };
    this.upgrades.notify(requestId, "rejected");
    fx.events.push({ event: "device.pair.resolved", payload: { requestId, deviceId: rejected.deviceId, decision: "rejected", ts: this.now() } });
    return { ok: true, payload: rejected, ...fx };
  }

  remove(session: SessionInfo, params: { deviceId: string }): MethodOutcome<{ deviceId: string }> {
    const fx = effects();
    const authz = callerAuthz(session);
    const target = authz.callerDeviceId && !authz.isAdmin ? this.store.getPaired(params.deviceId) : undefined;
    const gate = deviceManagementGate(authz, params.deviceId, target);
    if (!gate.ok) {
      fx.log.push({ level: "warn", message: `device pairing removal denied device=${params.deviceId} reason=${gate.reason}` });
      return { ok: false, error: fail(DeviceMessages.removalDenied), ...fx };
    }
    const removed = this.store.remove(params.deviceId);
    if (!removed) return { ok: false, error: fail(DeviceMessages.unknownDeviceId), ...fx };
    fx.log.push({ level: "info", message: `device pairing removed device=${removed.deviceId}` });
    fx.disconnect.push({ deviceId: removed.deviceId, code: 4001, reason: DeviceMessages.deviceRemoved });
    return { ok: true, payload: removed, ...fx };
  }

  rename(session: SessionInfo, params: { deviceId: string; label: string }): MethodOutcome<{ deviceId: string; label: string }> {
    const fx = effects();
    const label = params.label.trim();
    if (!label) return { ok: false, error: fail(DeviceMessages.labelRequired), ...fx };
    const authz = callerAuthz(session);
    const target = authz.callerDeviceId && !authz.isAdmin ? this.store.getPaired(params.deviceId) : undefined;
    const gate = deviceManagementGate(authz, params.deviceId, target);
    if (!gate.ok) {
      fx.log.push({ level: "warn", message: `device pairing rename denied device=${params.deviceId} reason=${gate.reason}` });
      return { ok: false, error: fail(DeviceMessages.renameDenied), ...fx };
    }
    if (!this.store.rename(params.deviceId, label)) return { ok: false, error: fail(DeviceMessages.unknownDeviceId), ...fx };
    fx.log.push({ level: "info", message: `device pairing renamed device=${params.deviceId} label=${label}` });
    fx.events.push({ event: "device.pair.changed", payload: {} });
    return { ok: true, payload: { deviceId: params.deviceId, label }, ...fx };
  }

  rotate(
    session: SessionInfo,
    params: { deviceId: string; role: string; scopes?: string[] },
  ): MethodOutcome<{ deviceId: string; role: string; token?: string; scopes: string[]; rotatedAtMs: number; tokenDelivery: "in-band" | "withheld-cross-device" }> {
    const fx = effects();
    const authz = callerAuthz(session);
    const deny = (reason: string, scope?: string) => {
      fx.log.push({ level: "warn", message: `device token rotation denied device=${params.deviceId} role=${params.role} reason=${reason}${scope ? ` scope=${scope}` : ""}` });
      return { ok: false as const, error: fail(DeviceMessages.rotationDenied), ...fx };
    };
    if (deniesCrossDevice(authz, params.deviceId)) return deny("device-ownership-mismatch");
    if (deniesTokenRoleManagement(authz, params.role)) return deny("role-management-requires-admin");
    let rotated;
    try {
      rotated = this.store.rotateToken({
        deviceId: params.deviceId,
        role: params.role,
        scopes: params.scopes,
        callerScopes: params.role.trim() === OPERATOR_ROLE ? authz.callerScopes : undefined,
      });
    } catch (err) {
      if (err instanceof PairingInputError) return { ok: false, error: fail(err.message), ...fx };
      throw err;
    }
    if (!rotated.ok) return deny(rotated.reason, rotated.scope);
    const entry = rotated.entry;
    const deviceId = params.deviceId.trim();
    fx.log.push({ level: "info", message: `device token rotated device=${params.deviceId} role=${entry.role} scopes=${entry.scopes.join(",")}` });
    fx.disconnect.push({ deviceId, role: entry.role, code: 4001, reason: DeviceMessages.deviceRemoved });
    const inBand = Boolean(authz.callerDeviceId && authz.callerDeviceId === deviceId);
    return {
      ok: true,
      payload: {
        deviceId: params.deviceId,
        role: entry.role,
        ...(inBand ? { token: entry.token } : {}),
        scopes: entry.scopes,
        rotatedAtMs: entry.rotatedAtMs ?? entry.createdAtMs,
        tokenDelivery: inBand ? "in-band" : "withheld-cross-device",
      },
      ...fx,
    };
  }

  revoke(session: SessionInfo, params: { deviceId: string; role: string }): MethodOutcome<{ deviceId: string; role: string; revokedAtMs: number }> {
    const fx = effects();
    const authz = callerAuthz(session);
    const deny = (reason: string, scope?: string) => {
      fx.log.push({ level: "warn", message: `device token revocation denied device=${params.deviceId} role=${params.role} reason=${reason}${scope ? ` scope=${scope}` : ""}` });
      return { ok: false as const, error: fail(DeviceMessages.revocationDenied), ...fx };
    };
    if (deniesCrossDevice(authz, params.deviceId)) return deny("device-ownership-mismatch");
    if (deniesTokenRoleManagement(authz, params.role)) return deny("role-management-requires-admin");
    const revoked = this.store.revokeToken({
      deviceId: params.deviceId,
      role: params.role,
      callerScopes: params.role.trim() === OPERATOR_ROLE ? authz.callerScopes : undefined,
    });
    if (!revoked.ok) return deny(revoked.reason, revoked.scope);
    const deviceId = params.deviceId.trim();
    fx.log.push({ level: "info", message: `device token revoked device=${deviceId} role=${revoked.entry.role}` });
    fx.disconnect.push({ deviceId, role: revoked.entry.role, code: 4001, reason: DeviceMessages.deviceRemoved });
    return { ok: true, payload: { deviceId, role: revoked.entry.role, revokedAtMs: revoked.entry.revokedAtMs }, ...fx };
  }

  /** A connected operator device asks for more scopes without reconnecting (Control UI "Request admin"). */
  requestUpgrade(session: SessionInfo, params: { scopes: string[] }): MethodOutcome<{ requestId: string }> {
    const fx = effects();
    const deviceRequired = () => ({
      ok: false as const,
      error: fail(DeviceMessages.scopeUpgradeDeviceRequired, { code: "DEVICE_IDENTITY_REQUIRED", recommendedNextStep: "reopen_control_ui_securely" }),
      ...fx,
    });
    const owner = upgradeOwner(session);
    if (!owner) return deviceRequired();
    const paired = this.store.getPaired(owner.deviceId);
    if (!paired || paired.publicKey !== owner.publicKey) return deviceRequired();
    const requested = normalizeTokenScopes(params.scopes);
    if (!requested.every(isOperatorScope)) return { ok: false, error: fail(DeviceMessages.scopeUpgradeUnknownScope), ...fx };
    if (!roleScopesAllow(OPERATOR_ROLE, session.scopes, requested)) return { ok: false, error: fail(DeviceMessages.scopeUpgradeMustKeepCurrent), ...fx };
    let pairing;
    try {
      pairing = this.store.requestPairing({
        deviceId: owner.deviceId,
        publicKey: owner.publicKey,
        displayName: session.client?.displayName,
        platform: session.client?.platform,
        deviceFamily: session.client?.deviceFamily,
        clientId: session.client?.id,
        clientMode: session.client?.mode,
        role: OPERATOR_ROLE,
        scopes: requested,
        remoteIp: session.remoteIp,
        silent: false,
      });
    } catch (err) {
      if (err instanceof PairingLimitError || err instanceof PairingInputError) return { ok: false, error: fail(err.message), ...fx };
      throw err;
    }
    const token = paired.tokens[OPERATOR_ROLE];
    const registered = this.upgrades.register({
      requestId: pairing.request.requestId,
      owner,
      requestedScopes: requested,
      initialTokenHash: token?.hash,
      initialApprovedAtMs: paired.approvedAtMs,
      expiresAtMs: pairing.expiresAtMs,
    });
    if (!registered) {
      return { ok: false, error: new RpcError(ErrorCodes.UNAVAILABLE, DeviceMessages.scopeUpgradeUnavailable, undefined, { retryable: true }), ...fx };
    }
    const ts = this.now();
    for (const old of pairing.superseded ?? []) {
      this.upgrades.notify(old.requestId, "rejected");
      fx.events.push({ event: "device.pair.resolved", payload: { requestId: old.requestId, deviceId: old.deviceId, decision: "rejected", ts } });
    }
    if (pairing.created) fx.events.push({ event: "device.pair.requested", payload: pairing.request });
    fx.log.push({
      level: "warn",
      message: `security audit: live device scope upgrade requested device=${owner.deviceId} scopesFrom=${session.scopes.join(",")} scopesTo=${requested.join(",")}`,
    });
    return { ok: true, payload: { requestId: pairing.request.requestId }, ...fx };
  }

  async waitUpgrade(session: SessionInfo, params: { requestId: string }, signal?: AbortSignal): Promise<MethodOutcome<UpgradeResult>> {
    const fx = effects();
    const owner = upgradeOwner(session);
    if (!owner) {
      return {
        ok: false,
        error: fail(DeviceMessages.scopeUpgradeDeviceRequired, { code: "DEVICE_IDENTITY_REQUIRED", recommendedNextStep: "reopen_control_ui_securely" }),
        ...fx,
      };
    }
    const result = await this.upgrades.wait(params.requestId, owner, signal);
    if (!result) return { ok: false, error: fail(DeviceMessages.scopeUpgradeNotFound), ...fx };
    return { ok: true, payload: result, ...fx };
  }

  close(): void {
    this.upgrades.close();
  }
}

function effects(): Effects {
  return { events: [], disconnect: [], log: [] };
}

function upgradeOwner(session: SessionInfo): { deviceId: string; publicKey: string } | null {
  const deviceId = session.deviceId?.trim();
  const publicKey = session.publicKey?.trim();
  return session.role === OPERATOR_ROLE && deviceId && publicKey ? { deviceId, publicKey } : null;
}
