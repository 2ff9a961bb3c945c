/**
 * `openclaw doctor` findings for device pairing (check id `core/doctor/device-pairing`), as pure
 * functions of a pairing snapshot (from `device.pair.list` or the local store) and, for the token
 * drift checklist, of this CLI's own identity and cached tokens:
 *
 *  - pending requests waiting longer than a threshold (each says what kind of request it is and
 *    prints the exact approve command);
 *  - paired records that will loop on pairing-required or device-token-mismatch: an operator role
 *    without an approved scope baseline, an approved role without an active token, a token wider
 *    than the baseline;
 *  - the CLI's cached device tokens: a role no longer approved, a token older than the gateway's
 *    last rotation, cached scopes that differ from the gateway's, and (when the store can be
 *    asked) a token the gateway no longer knows at all.
 *
 * Findings have the shape of src/doctor's `Finding` (read-only: none is fixable automatically).
 */
import { normalizeTokenScopes, roleScopesAllow, uniqueTrimmed } from "./pairing-scopes.ts";
import { approvedRoles, type PendingRequest, type PublicPairedDevice, type TokenSummary } from "./pairing-store.ts";
import type { CachedDeviceToken } from "./device-client-identity.ts";

export const DEVICE_PAIRING_CHECK_ID = "core/doctor/device-pairing";
/** A pending request older than this is reported (they expire after 5 minutes). */
export const DEFAULT_PENDING_AGE_MS = 60_000;

export interface PairingFinding {
  checkId: typeof DEVICE_PAIRING_CHECK_ID;
  severity: "warning";
  message: string;
  path: string;
  /** Which kind of problem (stable, for scripts). */
  requirement: string;
  target?: string;
  fixHint: string;
  fixable: false;
}

export interface PairingSnapshot {
  pending: PendingRequest[];
  paired: PublicPairedDevice[];
}

const SAFE = /^[A-Za-z0-9._:/@=+-]+$/;
const quote = (arg: string) => (SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
const cmd = (...args: string[]) => args.map(quote).join(" ");

/** Printable label: display name or client id, then the id; control characters dropped. */
function label(d: { deviceId: string; displayName?: string; clientId?: string }): string {
  const clean = (s: string | undefined) => (s ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
  const name = clean(d.displayName) || clean(d.clientId);
  return name ? `${name} (${d.deviceId})` : d.deviceId;
}

const fmt = (list: readonly string[]) => (list.length > 0 ? list.join(", ") : "none");

function finding(f: Omit<PairingFinding, "checkId" | "severity" | "fixable">): PairingFinding {
  return { checkId: DEVICE_PAIRING_CHECK_ID, severity: "warning", fixable: false, ...f };
}

function activeToken(d: PublicPairedDevice, role: string): TokenSummary | undefined {
  return d.tokens?.find((t) => t.role === role && !t.revokedAtMs);
}

/** Pending requests that have waited at least `olderThanMs`. */
export function pendingFindings(snapshot: PairingSnapshot, opts: { now: number; olderThanMs?: number }): PairingFinding[] {
  const minAge = opts.olderThanMs ?? DEFAULT_PENDING_AGE_MS;
  const paired = new Map(snapshot.paired.map((d) => [d.deviceId, d]));
  const out: PairingFinding[] = [];
  for (const p of snapshot.pending) {
    const age = opts.now - p.ts;
    if (age < minAge) continue;
    const who = label(p);
    const approve = cmd("openclaw", "devices", "approve", p.requestId);
    const inspect = cmd("openclaw", "devices", "list");
    const review = `Review with ${inspect}, then approve with ${approve}.`;
    const waited = `waiting ${Math.floor(age / 1000)}s`;
    const existing = paired.get(p.deviceId);
    const requestedRoles = uniqueTrimmed([...(p.roles ?? []), p.role]);
    let requirement: string;
    let message: string;
    let fixHint = review;
    if (!existing) {
      requirement = "first-time";
      message = `Pending device pairing request ${p.requestId} for ${who} (${waited}). ${review}`;
    } else if (existing.publicKey !== p.publicKey) {
      requirement = "public-key-repair";
      const remove = cmd("openclaw", "devices", "remove", p.deviceId);
      fixHint = `Remove the stale record with ${remove}, then rerun ${inspect} and approve with ${approve}.`;
      message = `Pending device repair ${p.requestId} for ${who} (${waited}): the current device identity no longer matches the approved pairing record. ${fixHint}`;
    } else {
      const roles = approvedRoles({ ...existing, tokens: {} });
      const baseline = normalizeTokenScopes(existing.scopes);
      const requested = normalizeTokenScopes(p.scopes);
      if (requestedRoles.some((r) => !roles.includes(r))) {
        requirement = "role-upgrade";
        message = `Pending role upgrade ${p.requestId} for ${who} (${waited}): approved roles [${fmt(roles)}], requested roles [${fmt(requestedRoles)}]. ${review}`;
      } else if (requestedRoles.some((r) => roles.includes(r) && !roleScopesAllow(r, requested.filter((s) => (r === "operator") === s.startsWith("operator.")), baseline))) {
        requirement = "scope-upgrade";
        message = `Pending scope upgrade ${p.requestId} for ${who} (${waited}): approved scopes [${fmt(baseline)}], requested scopes [${fmt(requested)}]. ${review}`;
      } else {
        requirement = "repair";
        message = `Pending device repair ${p.requestId} for ${who} (${waited}): the device is already paired, but a new approval is still required before the requested auth can be used. ${review}`;
      }
    }
    out.push(finding({ message, path: "devices.pending", requirement, target: `${p.deviceId}:${p.requestId}`, fixHint }));
  }
  return out;
}

/** Paired records that will keep failing: no scope baseline, no active token, token wider than the baseline. */
export function pairedFindings(snapshot: PairingSnapshot): PairingFinding[] {
  const out: PairingFinding[] = [];
  for (const d of snapshot.paired) {
    const who = label(d);
    const roles = approvedRoles({ ...d, tokens: {} });
    const baseline = normalizeTokenScopes(d.scopes);
    if (roles.includes("operator") && baseline.length === 0) {
      out.push(
        finding({
          message: `Paired device ${who} is missing its approved operator scope baseline. Scope upgrades can get stuck in pairing-required until the device repairs or is re-approved.`,
          path: "devices.paired",
          requirement: "missing-operator-scope-baseline",
          target: d.deviceId,
          fixHint: `Remove it with ${cmd("openclaw", "devices", "remove", d.deviceId)} and approve it again.`,
        }),
      );
    }
    for (const role of roles) {
      const rotate = cmd("openclaw", "devices", "rotate", "--device", d.deviceId, "--role", role);
      const token = activeToken(d, role);
      if (!token) {
        out.push(
          finding({
            message: `Paired device ${who} has no active ${role} device token even though the role is approved. This commonly ends in pairing-required or device-token-mismatch. Rotate a fresh token with ${rotate}.`,
            path: "devices.paired",
            requirement: "missing-active-role-token",
            target: `${d.deviceId}:${role}`,
            fixHint: `Rotate a fresh token with ${rotate}.`,
          }),
        );
        continue;
      }
      if (token.scopes.length > 0 && !roleScopesAllow(role, token.scopes, baseline)) {
        const fix = role === "node" ? `${rotate} --no-scopes` : rotate;
        out.push(
          finding({
            message: `Paired device ${who} has a ${role} token outside the approved scope baseline [${fmt(baseline)}]. Rotate it with ${fix}.`,
            path: "devices.paired",
            requirement: "token-outside-approved-scope",
            target: `${d.deviceId}:${role}`,
            fixHint: `Rotate it with ${fix}.`,
          }),
        );
      }
    }
  }
  return out;
}

/**
 * The token drift checklist for this CLI's own identity: its cached tokens against the gateway's
 * record of the same device. `isKnown` (available when the gateway's store is local) says whether
 * a cached token is the gateway's current one; without it only the metadata is compared.
 */
export function localTokenFindings(
  snapshot: PairingSnapshot,
  local: { deviceId: string; tokens: CachedDeviceToken[] },
  isKnown?: (deviceId: string, role: string, token: string) => boolean,
): PairingFinding[] {
  const paired = snapshot.paired.find((d) => d.deviceId === local.deviceId);
  if (!paired) return [];
  const who = label(paired);
  const roles = approvedRoles({ ...paired, tokens: {} });
  const out: PairingFinding[] = [];
  for (const cached of local.tokens) {
    const role = cached.role.trim();
    if (!role) continue;
    const rotate = cmd("openclaw", "devices", "rotate", "--device", paired.deviceId, "--role", role);
    const refresh = "Reconnect with shared gateway auth to refresh it";
    const gatewayToken = activeToken(paired, role);
    if (!gatewayToken) {
      if (roles.includes(role)) continue;
      out.push(
        finding({
          message: `Local cached ${role} device auth for ${who} no longer has a matching active gateway token, and that role is no longer approved for this device. ${refresh}, or remove the stale cached ${role} auth entry.`,
          path: "devices.local",
          requirement: "local-role-no-longer-approved",
          target: `${paired.deviceId}:${role}`,
          fixHint: `${refresh}, or remove the stale cached ${role} auth entry.`,
        }),
      );
      continue;
    }
    if (isKnown && !isKnown(paired.deviceId, role, cached.token)) {
      out.push(
        finding({
          message: `Local cached ${role} device token for ${who} is not the gateway's current token (it was rotated, revoked or re-issued); connecting with it fails with device token mismatch. ${refresh}, or rotate with ${rotate}.`,
          path: "devices.local",
          requirement: "local-token-unknown",
          target: `${paired.deviceId}:${role}`,
          fixHint: `${refresh}, or rotate with ${rotate}.`,
        }),
      );
      continue;
    }
    const issuedAt = gatewayToken.rotatedAtMs ?? gatewayToken.createdAtMs;
    if (cached.updatedAtMs < issuedAt) {
      out.push(
        finding({
          message: `Local cached ${role} device token for ${who} predates the gateway rotation. This is a stale device-token pattern and can fail with device token mismatch. ${refresh}, or rotate again with ${rotate}.`,
          path: "devices.local",
          requirement: "local-token-stale",
          target: `${paired.deviceId}:${role}`,
          fixHint: `${refresh}, or rotate again with ${rotate}.`,
        }),
      );
      continue;
    }
    const mine = normalizeTokenScopes(cached.scopes);
    const theirs = normalizeTokenScopes(gatewayToken.scopes);
    if (mine.join("\n") !== theirs.join("\n")) {
      out.push(
        finding({
          message: `Local cached ${role} device scopes for ${who} differ from the gateway record. Cached scopes [${fmt(mine)}], gateway scopes [${fmt(theirs)}]. ${refresh}, or rotate with ${rotate}.`,
          path: "devices.local",
          requirement: "local-scopes-mismatch",
          target: `${paired.deviceId}:${role}`,
          fixHint: `${refresh}, or rotate with ${rotate}.`,
        }),
      );
    }
  }
  return out;
}
