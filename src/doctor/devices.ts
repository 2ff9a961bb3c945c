/**
 * `openclaw doctor`'s device pairing check (`core/doctor/device-pairing`), read-only:
 *
 *   - the gateway's pairing store in this state dir (when there is one): pending requests
 *     waiting longer than a minute, paired records that will loop on pairing-required or
 *     device-token-mismatch (src/auth/device-doctor.ts);
 *   - the token drift checklist for this CLI's own device identity: every device token it keeps
 *     is shown to the gateway it belongs to (a connect with the token alone, bounded): a token
 *     the gateway no longer knows (rotated, revoked, the device removed) or whose scopes no
 *     longer hold is reported with what to run. When the gateway is this host's, its store also
 *     answers without a connection (rotation after the token was stored, cached scopes that
 *     differ, a role no longer approved). A gateway that cannot be reached is a skipped check,
 *     not a finding.
 */
import { localTokenFindings, pairedFindings, pendingFindings, type PairingFinding, type PairingSnapshot } from "../auth/device-doctor.ts";
import { ClientIdentityStore, signConnect, type CachedDeviceToken } from "../auth/device-client-identity.ts";
import { redactDevice, PairingStore } from "../auth/pairing-store.ts";
import { tokenMatches } from "../auth/pairing-tokens.ts";
import { GatewayClient, GatewayConnectError } from "../protocol/client.ts";

export interface DevicePairingCheck {
  findings: PairingFinding[];
  skipped: Array<{ checkId: string; reason: string }>;
}

export interface DevicePairingDeps {
  stateDir: string;
  now: number;
  /** Pending requests at least this old are reported (default 60 s). */
  pendingOlderThanMs?: number;
  /** Bound on each gateway connection of the drift check (default 3 s). */
  probeTimeoutMs?: number;
}

function snapshotOf(store: PairingStore): PairingSnapshot {
  const all = store.list();
  return { pending: all.pending, paired: all.paired.map((d) => redactDevice(d)) };
}

/** A cached token shown to its gateway: what the gateway says about it. */
async function probe(identity: ClientIdentityStore, token: CachedDeviceToken, timeoutMs: number): Promise<"ok" | "unknown" | "scope-mismatch" | { unreachable: string }> {
  const id = await identity.load();
  if (!id) return { unreachable: "no identity" };
  try {
    const client = await GatewayClient.connect({
      url: token.gateway,
      client: { id: "cli", mode: "cli" },
      role: token.role === "node" ? "node" : "operator",
      scopes: token.scopes,
      deviceToken: token.token,
      device: (challenge, fields) => signConnect(id, challenge, fields),
      connectTimeoutMs: timeoutMs,
    });
    void client.close();
    return "ok";
  } catch (err) {
    const code = err instanceof GatewayConnectError ? (err.extra.error?.details as { code?: string } | undefined)?.code : undefined;
    if (code === "AUTH_DEVICE_TOKEN_MISMATCH") return "unknown";
    if (code === "AUTH_SCOPE_MISMATCH") return "scope-mismatch";
    return { unreachable: (err as Error).message };
  }
}

function unknownToken(deviceId: string, t: CachedDeviceToken): PairingFinding {
  const rotate = `openclaw devices rotate --device ${deviceId} --role ${t.role}`;
  const fixHint = `Reconnect with the gateway's shared token to get a new one (openclaw gateway call health --url ${t.gateway} --token <token>), or on the gateway host rotate it with ${rotate}.`;
  return {
    checkId: "core/doctor/device-pairing",
    severity: "warning",
    fixable: false,
    path: "devices.local",
    requirement: "local-token-unknown",
    target: `${deviceId}:${t.role}`,
    message: `This CLI's ${t.role} device token for ${t.gateway} is no longer known to that gateway (rotated, revoked, or the device was removed); connecting with it fails with device token mismatch.`,
    fixHint,
  };
}

function scopeDrift(deviceId: string, t: CachedDeviceToken): PairingFinding {
  return {
    checkId: "core/doctor/device-pairing",
    severity: "warning",
    fixable: false,
    path: "devices.local",
    requirement: "local-scopes-mismatch",
    target: `${deviceId}:${t.role}`,
    message: `This CLI's ${t.role} device token for ${t.gateway} no longer covers the scopes it was kept with [${t.scopes.join(", ") || "none"}]; the gateway answers scope mismatch.`,
    fixHint: `Review the device's scopes with openclaw devices list on the gateway host; reconnect with the shared token to refresh the token.`,
  };
}

export async function checkDevicePairing(deps: DevicePairingDeps): Promise<DevicePairingCheck> {
  const findings: PairingFinding[] = [];
  const skipped: DevicePairingCheck["skipped"] = [];
  const store = PairingStore.openReadOnly(deps.stateDir);
  const identity = ClientIdentityStore.openReadOnly(deps.stateDir);
  try {
    let snapshot: PairingSnapshot | undefined;
    if (store) {
      snapshot = snapshotOf(store);
      findings.push(...pendingFindings(snapshot, { now: deps.now, olderThanMs: deps.pendingOlderThanMs }));
      findings.push(...pairedFindings(snapshot));
    }
    const me = identity ? await identity.load().catch(() => undefined) : undefined;
    if (identity && me) {
      const tokens = identity.listTokens(me.deviceId);
      // What this host's store can tell without a connection.
      if (store && snapshot) {
        const isKnown = (deviceId: string, role: string, token: string) => {
          const t = store.getPaired(deviceId)?.tokens[role];
          return Boolean(t && !t.revokedAtMs && tokenMatches(token, t.hash));
        };
        findings.push(...localTokenFindings(snapshot, { deviceId: me.deviceId, tokens }, isKnown));
      }
      // What each gateway says about the token it handed out.
      const reported = new Set(findings.map((f) => f.target));
      const results = await Promise.all(tokens.map(async (t) => ({ t, verdict: await probe(identity, t, deps.probeTimeoutMs ?? 3_000) })));
      for (const { t, verdict } of results) {
        const target = `${me.deviceId}:${t.role}`;
        if (verdict === "unknown" && !reported.has(target)) findings.push(unknownToken(me.deviceId, t));
        else if (verdict === "scope-mismatch" && !reported.has(target)) findings.push(scopeDrift(me.deviceId, t));
        else if (typeof verdict === "object") skipped.push({ checkId: "core/doctor/device-pairing", reason: `${t.gateway} not reachable to check this CLI's ${t.role} device token (${verdict.unreachable})` });
      }
    }
  } finally {
    store?.close();
    identity?.db.close();
  }
  return { findings, skipped };
}
