/**
 * The device half of the connect handshake, as one decision: given the connect params, what the
 * socket looks like (loopback, forwarded, Origin), the shared-secret verdict the caller already
 * reached, this socket's challenge nonce and the pairing store, answer either "accept with this
 * role, these scopes and this `hello-ok.auth`" or the exact refusal (error shape, close code and
 * close reason). Store writes happen here (pairing requests, silent approvals, token issuance),
 * everything else (sending, closing, broadcasting the returned events, rate-limit bookkeeping
 * from the returned hints, presence) is the caller's.
 *
 * Order, as in the original: missing-device policy → device proof (v3 then v2, bound to the
 * nonce; it beats a bad token) → device-token fallback when the shared secret did not pass →
 * auth failure → pairing (not-paired / metadata-upgrade / role-upgrade / scope-upgrade; silent
 * approval for local connections, trusted-CIDR approval for fresh scopeless nodes) → token
 * issuance (the existing token re-sent while it covers the request) → `hello-ok.auth`.
 */
import {
  authFailure,
  CloseCodes,
  ErrorCodes,
  Messages,
  pairingCloseReason,
  pairingRemediationHint,
  pairingRequiredMessage,
  PAIRING_REQUEST_ID_RE,
  RpcError,
  type AuthReason,
  type PairingReason,
} from "../protocol/errors.ts";
import { verifyDevice, type DeviceProof } from "./device-identity.ts";
import { ipInList, isLoopbackIp, isPrivateIp } from "./net.ts";
import {
  approvedAccessScopes,
  approvedRoles,
  effectiveRoles,
  PairingInputError,
  PairingLimitError,
  type ApprovedVia,
  type IssuedToken,
  type PairedDevice,
  type PairingStore,
  type PendingRequest,
} from "./pairing-store.ts";
import { OPERATOR_ROLE, NODE_ROLE, roleScopesAllow, uniqueTrimmed } from "./pairing-scopes.ts";

export type AuthMethod = "token" | "password" | "none" | "trusted-proxy" | "device-token";

export interface ConnectClient {
  id: string;
  mode: string;
  platform?: string;
  deviceFamily?: string;
  displayName?: string;
  version?: string;
}

export interface ConnectAuthParams {
  client: ConnectClient;
  /** Default `operator`. */
  role?: string;
  /** As sent (order kept; it is part of the signed payload). */
  scopes?: string[];
  auth?: { token?: string; password?: string; deviceToken?: string; bootstrapToken?: string };
  device?: DeviceProof;
}

export interface ConnectionFacts {
  /** The client address the gateway attributes the socket to. */
  remoteIp: string;
  /** Loopback peer with no forwarding evidence. */
  directLocal: boolean;
  /** Forwarded / X-Forwarded-* / X-Real-IP (or Tailscale) headers were present. */
  hasForwardingHeaders: boolean;
  /** Browser `Origin` header. */
  origin?: string;
  /** `Host` header. */
  host?: string;
}

/** The shared-secret / trusted-proxy verdict the caller reached (before any device token). */
export type SharedVerdict =
  | { ok: true; method: "token" | "password" | "none" | "trusted-proxy"; user?: string }
  | { ok: false; reason: AuthReason };

export interface DeviceAuthPolicy {
  authMode: "token" | "password" | "none" | "trusted-proxy";
  /** `sharedAuthGeneration(mode, secret)`: binds browser tokens and recovery scopes to the secret. */
  sharedGeneration?: string;
  /** `gateway.nodes.pairing.autoApproveLocal` (default true). */
  autoApproveLocal?: boolean;
  /** `gateway.nodes.pairing.autoApproveCidrs` (default none). */
  autoApproveCidrs?: readonly string[];
  /** The device-token limiter's lockout for this client (ms, 0 = not locked). */
  deviceTokenLockedForMs?: number;
}

export interface ConnectAuthInput {
  params: ConnectAuthParams;
  /** This socket's `connect.challenge` nonce. */
  nonce: string;
  conn: ConnectionFacts;
  shared: SharedVerdict;
  policy: DeviceAuthPolicy;
  now?: number;
}

/** What `hello-ok.auth` carries (key order as on the wire). */
export interface HelloAuth {
  method: AuthMethod;
  role: string;
  scopes: string[];
  recoveryScope?: string;
  recoveryMigrationAllowed?: true;
  deviceToken?: string;
  issuedAtMs?: number;
}

export type PairingEvent =
  | { event: "device.pair.requested"; payload: PendingRequest }
  | { event: "device.pair.resolved"; payload: { requestId: string; deviceId: string; decision: "approved" | "rejected"; ts: number } };

export interface LogLine {
  level: "info" | "warn";
  message: string;
}

/** What the caller should tell its failed-auth limiter. */
export interface LimiterHints {
  /** A presented shared secret was wrong and the connect was refused (record a shared-secret failure). */
  sharedSecret?: "failure";
  deviceToken?: "failure" | "success";
}

interface OutcomeBase {
  /** Broadcast to pairing-scoped operators (droppable). */
  events: PairingEvent[];
  limiter: LimiterHints;
  log: LogLine[];
}

export interface ConnectAccepted extends OutcomeBase {
  ok: true;
  role: string;
  /** The socket's live scopes (what RPC dispatch enforces). */
  scopes: string[];
  method: AuthMethod;
  deviceId?: string;
  /** The device's public key, canonical (unpadded base64url of the raw key). */
  publicKey?: string;
  /** Authenticated by its own device token: device management is then self-scoped. */
  isDeviceTokenAuth: boolean;
  /** Client platform after metadata pinning (presence should show this one). */
  platform?: string;
  auth: HelloAuth;
}

export interface ConnectRefused extends OutcomeBase {
  ok: false;
  error: RpcError;
  closeCode: number;
  closeReason: string;
}

export type ConnectAuthOutcome = ConnectAccepted | ConnectRefused;

export type PairingLocality = "direct_local" | "browser_container_local" | "cli_container_local" | "shared_secret_loopback_local" | "remote";

const CONTROL_UI_IDS = new Set(["openclaw-control-ui", "openclaw-tui"]);
const BROWSER_OPERATOR_UI_IDS = new Set(["openclaw-control-ui", "openclaw-browser-copilot"]);
const NATIVE_APP_IDS = new Set(["openclaw-macos", "openclaw-linux", "openclaw-ios", "openclaw-android"]);

/** Control UI or the TUI: operator UIs that must carry a device identity. */
export function isControlUiClient(c: ConnectClient): boolean {
  return CONTROL_UI_IDS.has(c.id);
}

export function isWebchatClient(c: ConnectClient): boolean {
  return c.mode === "webchat" || c.id === "webchat-ui";
}

function isNativeAppUi(c: ConnectClient): boolean {
  return c.mode === "ui" && NATIVE_APP_IDS.has(c.id);
}

function isCliClient(c: ConnectClient): boolean {
  return c.id === "cli" && c.mode === "cli";
}

function isBackendClient(c: ConnectClient): boolean {
  return c.id === "gateway-client" && c.mode === "backend";
}

function sha256b64url(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("base64url");
}

/** The shared-secret generation: changes when the token/password changes, reveals nothing. */
export function sharedAuthGeneration(mode: string, secret: string | undefined): string | undefined {
  if ((mode !== "token" && mode !== "password") || !secret?.trim()) return undefined;
  return sha256b64url(`${mode}\0${secret}`);
}

function hostName(host: string | undefined): string {
  const h = (host ?? "").trim().toLowerCase();
  if (!h) return "";
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.indexOf(":");
  return colon >= 0 && h.indexOf(":", colon + 1) < 0 ? h.slice(0, colon) : h;
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || isLoopbackIp(host);
}

function isPrivateOrLoopbackHost(host: string): boolean {
  return isLoopbackHost(host) || isPrivateIp(host);
}

function originHost(origin: string | undefined): string {
  try {
    return origin ? new URL(origin.trim()).hostname.replace(/^\[|\]$/g, "").toLowerCase() : "";
  } catch {
    return "";
  }
}

/** Where pairing considers the client to be (what decides silent approval). */
export function pairingLocality(params: {
  client: ConnectClient;
  conn: ConnectionFacts;
  sharedAuthOk: boolean;
  method: AuthMethod;
}): PairingLocality {
  const { client, conn, sharedAuthOk, method } = params;
  if (conn.directLocal) return "direct_local";
  const secret = sharedAuthOk && (method === "token" || method === "password");
  const hasOrigin = Boolean(conn.origin?.trim());
  if (
    client.id === "openclaw-control-ui" &&
    client.mode === "webchat" &&
    secret &&
    !conn.hasForwardingHeaders &&
    hasOrigin &&
    isPrivateIp(conn.remoteIp) &&
    isLoopbackHost(hostName(conn.host)) &&
    isLoopbackHost(originHost(conn.origin))
  ) {
    return "browser_container_local";
  }
  if (secret && !conn.hasForwardingHeaders && !hasOrigin && isLoopbackIp(conn.remoteIp) && isPrivateOrLoopbackHost(hostName(conn.host))) {
    return isCliClient(client) ? "cli_container_local" : "shared_secret_loopback_local";
  }
  return "remote";
}

/** Whether a pairing step may be approved without an operator (the original's local rule). */
export function silentLocalApprovalAllowed(p: {
  locality: PairingLocality;
  reason: PairingReason;
  hasBrowserOrigin: boolean;
  client: ConnectClient;
  method: AuthMethod;
  autoApproveLocal?: boolean;
}): boolean {
  if (p.locality === "remote") return false;
  const controlUi = isControlUiClient(p.client);
  const webchat = isWebchatClient(p.client);
  if (p.hasBrowserOrigin && !controlUi && !webchat) return false;
  if (p.reason === "metadata-upgrade") {
    return (
      !p.hasBrowserOrigin &&
      !controlUi &&
      !webchat &&
      ((p.locality === "direct_local" && isNativeAppUi(p.client)) || p.locality === "cli_container_local" || p.locality === "shared_secret_loopback_local")
    );
  }
  if (p.autoApproveLocal === false) return false;
  if (p.reason === "scope-upgrade") return p.method === "none" || p.method === "token" || p.method === "password";
  return true;
}

/** Trusted-CIDR approval: only a fresh, scopeless, non-browser node request from a listed address. */
export function trustedCidrApprovalAllowed(p: {
  existing: boolean;
  role: string;
  reason: PairingReason;
  scopes: readonly string[];
  hasBrowserOrigin: boolean;
  client: ConnectClient;
  reportedIp: string | undefined;
  loopbackProxied: boolean;
  cidrs: readonly string[] | undefined;
}): boolean {
  if (p.existing || p.role !== NODE_ROLE || p.reason !== "not-paired" || p.scopes.length > 0) return false;
  if (p.hasBrowserOrigin || isControlUiClient(p.client) || isWebchatClient(p.client)) return false;
  if (!p.reportedIp || p.loopbackProxied) return false;
  const cidrs = (p.cidrs ?? []).map((c) => c.trim()).filter(Boolean);
  return cidrs.length > 0 && ipInList(p.reportedIp, cidrs);
}

function normMeta(v: string | undefined): string {
  return (v ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function nativePlatformFamily(clientId: string, platform: string): string | undefined {
  if (clientId === "openclaw-ios" && /^(?:ios|ipados)(?:\s|$)/.test(platform)) return "ios-family";
  if (clientId === "openclaw-android" && /^android(?:\s|$)/.test(platform)) return "android";
  if (clientId === "openclaw-watchos" && /^watchos \d+(?:\.\d+){0,2}$/.test(platform)) return "watchos";
  if (clientId === "openclaw-macos" && /^macos \d+(?:\.\d+){0,2}$/.test(platform)) return "macos";
  return undefined;
}

/**
 * Platform and device family are pinned by pairing: a change needs re-approval, except a native
 * app reporting a new OS version of the same platform (that one refreshes the record).
 */
export function metadataPinning(client: ConnectClient, paired: Pick<PairedDevice, "platform" | "deviceFamily">): {
  platformMismatch: boolean;
  deviceFamilyMismatch: boolean;
  refreshPlatform?: string;
} {
  const claimedP = normMeta(client.platform);
  const claimedF = normMeta(client.deviceFamily);
  const pairedP = normMeta(paired.platform);
  const pairedF = normMeta(paired.deviceFamily);
  const claimedFamily = nativePlatformFamily(client.id, claimedP);
  const pairedFamily = nativePlatformFamily(client.id, pairedP);
  const versionRefresh =
    pairedP !== "" &&
    claimedP !== "" &&
    claimedP !== pairedP &&
    ((claimedFamily !== undefined && claimedFamily === pairedFamily) ||
      (client.id === "openclaw-macos" && claimedFamily === "macos" && (pairedP === "darwin" || pairedP === "macos")));
  return {
    platformMismatch: pairedP !== "" && claimedP !== pairedP && !versionRefresh,
    deviceFamilyMismatch: pairedF !== "" && claimedF !== pairedF,
    ...(versionRefresh ? { refreshPlatform: client.platform } : {}),
  };
}

function refusal(base: OutcomeBase, error: RpcError, closeReason: string = error.message, closeCode: number = CloseCodes.POLICY): ConnectRefused {
  return { ...base, ok: false, error, closeCode, closeReason };
}

function trimmed(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/**
 * Decide a connect for its device part. Never throws for bad input; store failures other than
 * refused input or caps propagate.
 */
export async function authorizeConnect(input: ConnectAuthInput, store: PairingStore): Promise<ConnectAuthOutcome> {
  const outcome = await decide(input, store);
  // A presented shared secret that was wrong counts as a failure unless a device token
  // authenticated the socket instead.
  const wrongSecret = !input.shared.ok && (input.shared.reason === "token_mismatch" || input.shared.reason === "password_mismatch");
  if (!outcome.ok && wrongSecret) outcome.limiter.sharedSecret = "failure";
  return outcome;
}

async function decide(input: ConnectAuthInput, store: PairingStore): Promise<ConnectAuthOutcome> {
  const { params, conn, policy } = input;
  const now = input.now ?? Date.now();
  const base: OutcomeBase = { events: [], limiter: {}, log: [] };
  const client = params.client;
  const role = params.role ?? OPERATOR_ROLE;
  let scopes = Array.isArray(params.scopes) ? [...params.scopes] : [];
  const auth = params.auth ?? {};
  const device = params.device;
  const controlUi = isControlUiClient(client);
  const browserOperatorUi = BROWSER_OPERATOR_UI_IDS.has(client.id);
  const webchat = isWebchatClient(client);
  const hasBrowserOrigin = Boolean(conn.origin?.trim());
  const hasSharedAuth = Boolean(auth.token || auth.password);

  let authOk = input.shared.ok;
  let method: AuthMethod = input.shared.ok ? input.shared.method : policy.authMode === "password" ? "password" : "token";
  let failure: AuthReason | undefined = input.shared.ok ? undefined : input.shared.reason;
  const sharedAuthOk = input.shared.ok && (input.shared.method === "token" || input.shared.method === "password" || input.shared.method === "trusted-proxy");
  const principal = input.shared.ok && input.shared.method === "trusted-proxy" ? trimmed(input.shared.user) : undefined;

  const explicitDeviceToken = device ? trimmed(auth.deviceToken) : undefined;
  const candidate = device ? (explicitDeviceToken ?? trimmed(auth.token)) : undefined;
  const candidateSource = explicitDeviceToken ? "explicit" : "shared-fallback";

  const localFacts = () => {
    const locality = pairingLocality({ client, conn, sharedAuthOk, method });
    const local = locality === "direct_local" || locality === "shared_secret_loopback_local";
    const skipBackendPairing =
      isBackendClient(client) &&
      local &&
      !hasBrowserOrigin &&
      (method === "none" || method === "device-token" || (sharedAuthOk && (method === "token" || method === "password")));
    const preserveCliScopes =
      isCliClient(client) &&
      (locality === "direct_local" || locality === "cli_container_local") &&
      !hasBrowserOrigin &&
      sharedAuthOk &&
      (method === "token" || method === "password");
    return { locality, skipBackendPairing, preserveCliScopes };
  };
  let facts = localFacts();

  // ---- connections without a device identity ----
  if (!device) {
    const trustedProxyUi = controlUi && role === OPERATOR_ROLE && policy.authMode === "trusted-proxy" && authOk && method === "trusted-proxy";
    let decision: "allow" | "control-ui" | "unauthorized" | "device-required";
    if (trustedProxyUi) decision = "allow";
    else if (facts.skipBackendPairing && role === OPERATOR_ROLE) decision = "allow";
    else if (controlUi) decision = "control-ui";
    else if (role === OPERATOR_ROLE && sharedAuthOk) decision = "allow";
    else if (!authOk && hasSharedAuth) decision = "unauthorized";
    else decision = "device-required";
    // Self-declared scopes bind to nothing without a device: cleared, except for the local CLI
    // and the local backend helper.
    if (!facts.skipBackendPairing && !facts.preserveCliScopes && (decision !== "allow" || method === "token" || method === "password" || method === "trusted-proxy")) {
      scopes = [];
    }
    if (decision === "control-ui") {
      return refusal(base, new RpcError(ErrorCodes.INVALID_REQUEST, Messages.controlUiDeviceRequired, { code: "CONTROL_UI_DEVICE_IDENTITY_REQUIRED" }));
    }
    if (decision === "unauthorized") return refusal(base, unauthorized(failure ?? "unauthorized", auth, false));
    if (decision === "device-required") {
      return refusal(base, new RpcError(ErrorCodes.NOT_PAIRED, Messages.deviceIdentityRequired, { code: "DEVICE_IDENTITY_REQUIRED" }));
    }
    const generation = sharedAuthOk ? policy.sharedGeneration : undefined;
    return {
      ...base,
      ok: true,
      role,
      scopes,
      method,
      isDeviceTokenAuth: false,
      platform: client.platform,
      auth: helloAuth({ method, role, scopes, principal, generation }),
    };
  }

  // ---- device proof ----
  const check = await verifyDevice(
    device,
    {
      clientId: client.id,
      clientMode: client.mode,
      role,
      scopes,
      token: auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? "",
      platform: client.platform,
      deviceFamily: client.deviceFamily,
    },
    input.nonce,
    now,
  );
  if (!check.ok) {
    return refusal(base, new RpcError(ErrorCodes.INVALID_REQUEST, check.message, { code: check.code, reason: check.reason }));
  }
  const publicKey = check.publicKey;
  try {
    store.assertRequestWithinLimits({
      deviceId: device.id,
      publicKey,
      displayName: client.displayName,
      platform: client.platform,
      deviceFamily: client.deviceFamily,
      clientId: client.id,
      clientMode: client.mode,
      role,
      scopes,
    });
  } catch (err) {
    if (err instanceof PairingInputError) {
        return refusal(base, new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidConnectParams(err.message)));
    }
    throw err;
  }

  // ---- device-token fallback ----
  let deviceTokenIssuer: string | undefined;
  if (!authOk && candidate) {
    const locked = policy.deviceTokenLockedForMs ?? 0;
    if (locked > 0) {
      failure = "rate_limited";
        return refusal(base, authFailure("rate_limited", { retryAfterMs: locked }));
    }
    const verdict = store.verifyToken({ deviceId: device.id, role, token: candidate, scopes, issuer: policy.sharedGeneration });
    if (verdict.ok) {
      authOk = true;
      method = "device-token";
      deviceTokenIssuer = verdict.issuer;
      base.limiter.deviceToken = "success";
    } else {
      base.limiter.deviceToken = "failure";
      failure = verdict.reason === "scope-mismatch" ? "scope_mismatch" : candidateSource === "explicit" ? "device_token_mismatch" : (failure ?? "device_token_mismatch");
    }
  }
  if (!authOk) {
    return refusal(base, unauthorized(failure ?? "unauthorized", auth, true));
  }
  facts = localFacts();

  // ---- pairing ----
  const usesSharedAuth = method === "token" || method === "password" || method === "trusted-proxy";
  const sessionGeneration = usesSharedAuth ? policy.sharedGeneration : deviceTokenIssuer;
  const reportedIp = conn.directLocal ? undefined : !isLoopbackIp(conn.remoteIp) ? conn.remoteIp : undefined;
  const accessMetadata = { displayName: client.displayName, remoteIp: reportedIp, lastSeenAtMs: now, lastSeenReason: "connect" };
  const controlUiAuthNone = controlUi && role === OPERATOR_ROLE && policy.authMode === "none";
  let platform = client.platform;

  const requirePairing = (reason: PairingReason, existing: PairedDevice | undefined): ConnectRefused | undefined => {
    const silentKind = localApprovalKind(reason, existing);
    if (reason === "role-upgrade" || reason === "scope-upgrade") {
      const list = (items: readonly string[]) => uniqueTrimmed(items).sort().join(",") || "<none>";
      base.log.push({
        level: "warn",
        message: `security audit: device access upgrade requested reason=${reason} device=${device.id} ip=${reportedIp ?? "unknown-ip"} auth=${method} roleFrom=${list(existing ? effectiveRoles(existing) : [])} roleTo=${role} scopesFrom=${list(approvedAccessScopes(existing))} scopesTo=${list(scopes)} client=${client.id}`,
      });
    } else if (reason === "metadata-upgrade" && !silentKind) {
      base.log.push({
        level: "warn",
        message: `security audit: device metadata upgrade requested reason=metadata-upgrade device=${device.id} ip=${reportedIp ?? "unknown-ip"} auth=${method} payload=${check.version} claimedPlatform=${client.platform ?? "<none>"} pinnedPlatform=${existing?.platform ?? "<none>"} claimedDeviceFamily=${client.deviceFamily ?? "<none>"} pinnedDeviceFamily=${existing?.deviceFamily ?? "<none>"} client=${client.id}`,
      });
    }
    const pairing = store.requestPairing({
      deviceId: device.id,
      publicKey,
      displayName: client.displayName,
      platform: client.platform,
      deviceFamily: client.deviceFamily,
      clientId: client.id,
      clientMode: client.mode,
      role,
      scopes,
      remoteIp: reportedIp,
      silent: silentKind !== null,
    });
    for (const old of pairing.superseded ?? []) {
      base.events.push({ event: "device.pair.resolved", payload: { requestId: old.requestId, deviceId: old.deviceId, decision: "rejected", ts: now } });
    }
    const inline = pairing.request.silent === true && silentKind !== null;
    if (inline) {
      const approved = store.approve(pairing.request.requestId, {
        callerScopes: uniqueTrimmed([...scopes, ...approvedAccessScopes(existing)]),
        accessMetadata,
        approvedVia: silentKind,
        isApprovalCurrent: (pending) =>
          pending.deviceId === device.id && pending.publicKey === publicKey && (silentKind !== "trusted-cidr" || isScopelessNodeRequest(pending)),
      });
      if (approved?.status === "approved") {
        base.log.push({ level: "info", message: `device pairing auto-approved device=${approved.device.deviceId} role=${approved.device.role ?? "unknown"}` });
        base.events.push({ event: "device.pair.resolved", payload: { requestId: pairing.request.requestId, deviceId: device.id, decision: "approved", ts: now } });
      }
    } else if (pairing.created) {
      base.events.push({ event: "device.pair.requested", payload: pairing.request });
    }
    const live = store.list().pending;
    const requestId =
      live.find((p) => p.requestId === pairing.request.requestId)?.requestId ?? live.find((p) => p.deviceId === device.id && p.publicKey === publicKey)?.requestId;
    const livePaired = store.getPaired(device.id);
    const pin = livePaired ? metadataPinning(client, livePaired) : undefined;
    const allowed =
      livePaired !== undefined &&
      !pin?.platformMismatch &&
      !pin?.deviceFamilyMismatch &&
      livePaired.publicKey === publicKey &&
      effectiveRoles(livePaired).includes(role) &&
      roleScopesAllow(role, scopes, approvedAccessScopes(livePaired));
    if (allowed) return undefined;
    if (inline && requestId === pairing.request.requestId) base.events.push({ event: "device.pair.requested", payload: pairing.request });
    const expose = existing?.publicKey === publicKey;
    const approvedRoleList = expose && existing ? approvedRoles(existing) : [];
    const approvedScopeList = expose ? approvedAccessScopes(existing) : [];
    const waitForApproval = controlUi && role === OPERATOR_ROLE && Boolean(requestId);
    const id = requestId && PAIRING_REQUEST_ID_RE.test(requestId) ? requestId : undefined;
    const requestedScopes = uniqueTrimmed(scopes);
    const details: Record<string, unknown> = {
      code: "PAIRING_REQUIRED",
      reason,
      ...(id ? { requestId: id } : {}),
      remediationHint: pairingRemediationHint(reason),
      ...(waitForApproval ? { recommendedNextStep: "wait_then_retry", retryable: true, pauseReconnect: false } : {}),
      deviceId: device.id,
      requestedRole: role,
      ...(requestedScopes.length > 0 ? { requestedScopes } : {}),
      ...(approvedRoleList.length > 0 ? { approvedRoles: approvedRoleList } : {}),
      ...(approvedScopeList.length > 0 ? { approvedScopes: approvedScopeList } : {}),
    };
    return refusal(base, new RpcError(ErrorCodes.NOT_PAIRED, pairingRequiredMessage(reason), details), pairingCloseReason(reason, id));
  };

  const localApprovalKind = (reason: PairingReason, existing: PairedDevice | undefined): ApprovedVia | null => {
    const silentOk =
      !(existing && role !== OPERATOR_ROLE) &&
      silentLocalApprovalAllowed({ locality: facts.locality, reason, hasBrowserOrigin, client, method, autoApproveLocal: policy.autoApproveLocal });
    if (silentOk) return "silent";
    const cidrOk = trustedCidrApprovalAllowed({
      existing: Boolean(existing),
      role,
      reason,
      scopes,
      hasBrowserOrigin,
      client,
      reportedIp,
      loopbackProxied: conn.hasForwardingHeaders && isLoopbackIp(conn.remoteIp),
      cidrs: policy.autoApproveCidrs,
    });
    return cidrOk ? "trusted-cidr" : null;
  };

  let baselineApproved = false;
  try {
    const paired = store.getPaired(device.id);
    const isPaired = paired?.publicKey === publicKey;
    if (facts.skipBackendPairing || controlUiAuthNone) {
      if (isPaired) {
        baselineApproved = true;
        store.updateMetadata(device.id, accessMetadata);
      } else if (controlUiAuthNone || method !== "device-token") {
        baselineApproved = true;
      }
    } else if (!isPaired) {
      const refused = requirePairing("not-paired", paired);
      if (refused) return refused;
      baselineApproved = true;
    } else {
      baselineApproved = true;
      const pin = metadataPinning(client, paired);
      if (pin.platformMismatch || pin.deviceFamilyMismatch) {
        const refused = requirePairing("metadata-upgrade", paired);
        if (refused) return refused;
      } else if (paired.platform) {
        platform = paired.platform;
      }
      if (!effectiveRoles(paired).includes(role)) {
        const refused = requirePairing("role-upgrade", paired);
        if (refused) return refused;
      }
      if (scopes.length > 0) {
        const approved = approvedAccessScopes(paired);
        if (!(approved.length > 0 && roleScopesAllow(role, scopes, approved))) {
          const refused = requirePairing("scope-upgrade", paired);
          if (refused) return refused;
        }
      }
      store.updateMetadata(device.id, { ...accessMetadata, ...(pin.refreshPlatform ? { platform: pin.refreshPlatform } : {}) });
      if (pin.refreshPlatform) platform = pin.refreshPlatform;
    }
  } catch (err) {
    if (err instanceof PairingInputError) {
      return refusal(base, new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidConnectParams(err.message)));
    }
    if (err instanceof PairingLimitError) {
      return refusal(
        base,
        new RpcError(ErrorCodes.UNAVAILABLE, err.message, { code: "PAIRING_LIMIT" }, { retryable: true, retryAfterMs: 60_000 }),
        err.message,
        CloseCodes.TRY_AGAIN_LATER,
      );
    }
    throw err;
  }

  // ---- token issuance ----
  const trustedProxyUi = controlUi && role === OPERATOR_ROLE && policy.authMode === "trusted-proxy" && method === "trusted-proxy";
  const issuer = sessionGeneration && (deviceTokenIssuer !== undefined || (usesSharedAuth && (browserOperatorUi || webchat))) ? sessionGeneration : undefined;
  const issued = !trustedProxyUi && baselineApproved ? store.ensureToken({ deviceId: device.id, role, scopes, issuer }) : null;
  return {
    ...base,
    ok: true,
    role,
    scopes,
    method,
    deviceId: device.id,
    publicKey,
    isDeviceTokenAuth: method === "device-token",
    platform,
    auth: helloAuth({ method, role, scopes, principal, generation: sessionGeneration, deviceId: device.id, issued }),
  };
}

function isScopelessNodeRequest(p: PendingRequest): boolean {
  return p.isRepair !== true && (p.scopes ?? []).length === 0 && (p.role === undefined || p.role === NODE_ROLE) && (p.roles ?? []).every((r) => r === NODE_ROLE);
}

function unauthorized(reason: AuthReason, auth: NonNullable<ConnectAuthParams["auth"]>, hasDevice: boolean): RpcError {
  const tokenProvided = !auth.password && Boolean(auth.token);
  return authFailure(reason, { canRetryWithDeviceToken: hasDevice && tokenProvided && !auth.deviceToken });
}

function helloAuth(p: {
  method: AuthMethod;
  role: string;
  scopes: string[];
  principal?: string;
  generation?: string;
  deviceId?: string;
  issued?: IssuedToken | null;
}): HelloAuth {
  const material = p.principal
    ? ["principal", p.principal, p.deviceId ?? ""]
    : p.issued
      ? ["device-token", p.issued.token]
      : p.generation
        ? ["shared-auth", p.generation, p.deviceId ?? ""]
        : p.deviceId
          ? ["device", p.deviceId]
          : undefined;
  const out: HelloAuth = { method: p.method, role: p.role, scopes: p.scopes };
  if (p.role === OPERATOR_ROLE && material) out.recoveryScope = sha256b64url(JSON.stringify(material));
  if (p.role === OPERATOR_ROLE && !p.principal && p.issued) out.recoveryMigrationAllowed = true;
  if (p.issued) {
    out.deviceToken = p.issued.token;
    out.issuedAtMs = p.issued.rotatedAtMs ?? p.issued.createdAtMs;
  }
  return out;
}
