/**
 * The connect decision, rule by rule, with a real store on a temp dir and a real Ed25519 client.
 * (The captured end-to-end scenario is in device-transcript.test.ts.)
 */
import { beforeEach, describe, expect, test } from "bun:test";
import {
  authorizeConnect,
  metadataPinning,
  pairingLocality,
  sharedAuthGeneration,
  type ConnectAuthOutcome,
  type ConnectionFacts,
  type DeviceAuthPolicy,
} from "../../src/auth/device-auth.ts";
import { PairingStore } from "../../src/auth/pairing-store.ts";
import { checkSharedSecret } from "../../src/auth/shared-secret.ts";
import { buildConnectParams, generateDeviceKeys, type ConnectOptions, type DeviceKeys } from "../helpers/device-client.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dirs = useTempDirs("openclaw-device-auth-");
const TOKEN = "reftoken-123456";

const LOCAL: ConnectionFacts = { remoteIp: "127.0.0.1", directLocal: true, hasForwardingHeaders: false, host: "127.0.0.1:18789" };
const REMOTE: ConnectionFacts = { remoteIp: "192.0.2.7", directLocal: false, hasForwardingHeaders: false, host: "192.0.2.2:18789" };
const LINUX_APP = { id: "openclaw-linux", mode: "ui", platform: "linux", deviceFamily: "Linux", displayName: "box" };
const CONTROL_UI = { id: "openclaw-control-ui", mode: "webchat", platform: "web", deviceFamily: "browser" };

let store: PairingStore;
beforeEach(() => {
  store = PairingStore.open(dirs());
});

type Opts = Omit<ConnectOptions, "url"> & { conn?: ConnectionFacts; policy?: Partial<DeviceAuthPolicy>; nonce?: string; authMode?: "token" | "none" };

async function decide(o: Opts): Promise<ConnectAuthOutcome> {
  const challenge = { nonce: crypto.randomUUID(), ts: Date.now() };
  const params = await buildConnectParams({ scopes: ["operator.read"], auth: { token: TOKEN }, ...o }, challenge);
  const mode = o.authMode ?? "token";
  const checked = checkSharedSecret({ mode, token: mode === "token" ? TOKEN : undefined }, params.auth);
  return authorizeConnect(
    {
      params: params as never,
      nonce: o.nonce ?? challenge.nonce,
      conn: o.conn ?? LOCAL,
      shared: checked.ok ? { ok: true, method: checked.method } : { ok: false, reason: checked.reason },
      policy: { authMode: mode, sharedGeneration: sharedAuthGeneration(mode, TOKEN), ...o.policy },
    },
    store,
  );
}

function refused(o: ConnectAuthOutcome) {
  if (o.ok) throw new Error(`expected a refusal, got ${JSON.stringify(o.auth)}`);
  return o;
}

function accepted(o: ConnectAuthOutcome) {
  if (!o.ok) throw new Error(`expected acceptance, got ${JSON.stringify(o.error.toShape())}`);
  return o;
}

async function pairRemote(keys: DeviceKeys, scopes = ["operator.read"], client: ConnectOptions["client"] = LINUX_APP) {
  const r = refused(await decide({ keys, client, scopes, conn: REMOTE }));
  const requestId = (r.error.details as { requestId: string }).requestId;
  const approved = store.approve(requestId, { callerScopes: ["operator.admin"] });
  expect(approved?.status).toBe("approved");
  return accepted(await decide({ keys, client, scopes, conn: REMOTE }));
}

describe("connections without a device", () => {
  test("the local CLI keeps its scopes; a remote one gets none (its recovery scope is the captured one)", async () => {
    const local = accepted(await decide({ sign: "none" }));
    expect(local.scopes).toEqual(["operator.read"]);
    const remote = accepted(await decide({ sign: "none", conn: REMOTE }));
    expect(remote.auth).toEqual({ method: "token", role: "operator", scopes: [], recoveryScope: "4__aKqpnytufUuAbDByWmtM6_c8eeB0RKfeWOTSJVyI" });
    expect(store.list()).toEqual({ pending: [], paired: [] });
  });

  test("other clients without a device get no scopes; the Control UI and TUI must bring one", async () => {
    expect(accepted(await decide({ sign: "none", client: LINUX_APP })).scopes).toEqual([]);
    for (const client of [CONTROL_UI, { id: "openclaw-tui", mode: "ui", platform: "linux" }]) {
      expect(refused(await decide({ sign: "none", client })).error.toShape()).toEqual({
        code: "INVALID_REQUEST",
        message: "control ui requires device identity (use HTTPS or localhost secure context)",
        details: { code: "CONTROL_UI_DEVICE_IDENTITY_REQUIRED" },
      });
    }
  });

  test("no secret at all → device identity required; a wrong secret → the auth error", async () => {
    const none = refused(await decide({ sign: "none", auth: undefined }));
    expect(none.error.toShape()).toEqual({ code: "NOT_PAIRED", message: "device identity required", details: { code: "DEVICE_IDENTITY_REQUIRED" } });
    expect(none.closeReason).toBe("device identity required");
    const wrong = refused(await decide({ sign: "none", auth: { token: "nope" } }));
    expect(wrong.error.toShape().details).toEqual({
      code: "AUTH_TOKEN_MISMATCH",
      authReason: "token_mismatch",
      canRetryWithDeviceToken: false,
      recommendedNextStep: "update_auth_credentials",
    });
    expect(wrong.limiter).toEqual({ sharedSecret: "failure" });
    expect(none.limiter).toEqual({});
    // Nodes always need a device.
    expect(refused(await decide({ sign: "none", role: "node", scopes: [], client: { id: "node-host", mode: "node" } })).error.message).toBe("device identity required");
  });

  test("auth none: only the local backend helper may skip the device", async () => {
    const backend = { id: "gateway-client", mode: "backend", platform: "linux" };
    expect(accepted(await decide({ sign: "none", auth: undefined, authMode: "none", client: backend })).scopes).toEqual(["operator.read"]);
    expect(refused(await decide({ sign: "none", auth: undefined, authMode: "none" })).error.message).toBe("device identity required");
  });
});

describe("local devices", () => {
  test("direct-local devices are approved silently and get a token at once", async () => {
    const keys = await generateDeviceKeys();
    const o = accepted(await decide({ keys }));
    expect(o.method).toBe("token");
    expect(o.auth.deviceToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(o.auth.recoveryMigrationAllowed).toBe(true);
    expect(o.auth.recoveryScope).toBe(new Bun.CryptoHasher("sha256").update(JSON.stringify(["device-token", o.auth.deviceToken])).digest("base64url"));
    expect(o.events.map((e) => `${e.event}:${"decision" in e.payload ? e.payload.decision : ""}`)).toEqual(["device.pair.resolved:approved"]);
    expect(o.log).toContainEqual({ level: "info", message: `device pairing auto-approved device=${keys.deviceId} role=operator` });
    expect(store.getPaired(keys.deviceId)?.approvedVia).toBe("silent");
    // Local scope upgrades with the shared token are silent too, and mint a wider token.
    const up = accepted(await decide({ keys, scopes: ["operator.read", "operator.admin"] }));
    expect(up.auth.deviceToken).not.toBe(o.auth.deviceToken);
    expect(up.scopes).toEqual(["operator.read", "operator.admin"]);
  });

  test("autoApproveLocal: false → even local devices wait for an operator", async () => {
    const keys = await generateDeviceKeys();
    const r = refused(await decide({ keys, policy: { autoApproveLocal: false } }));
    expect(r.error.code).toBe("NOT_PAIRED");
    expect(r.events.map((e) => e.event)).toEqual(["device.pair.requested"]);
    expect(store.list().pending[0].silent).toBe(false);
  });

  test("forwarding headers on a loopback socket disqualify locality", async () => {
    const keys = await generateDeviceKeys();
    const forwarded = { remoteIp: "127.0.0.1", directLocal: false, hasForwardingHeaders: true, host: "127.0.0.1:18789" };
    expect(refused(await decide({ keys, conn: forwarded })).error.message).toBe("pairing required: device is not approved yet");
    // The request does not record a loopback address.
    expect(store.list().pending[0].remoteIp).toBeUndefined();
  });

  test("locality: direct, CLI container, shared-secret loopback, browser container, remote", () => {
    const cli = { id: "cli", mode: "cli" };
    const app = LINUX_APP;
    const container = { remoteIp: "127.0.0.1", directLocal: false, hasForwardingHeaders: false, host: "172.17.0.2:18789" };
    expect(pairingLocality({ client: cli, conn: LOCAL, sharedAuthOk: false, method: "none" })).toBe("direct_local");
    expect(pairingLocality({ client: cli, conn: container, sharedAuthOk: true, method: "token" })).toBe("cli_container_local");
    expect(pairingLocality({ client: app, conn: container, sharedAuthOk: true, method: "password" })).toBe("shared_secret_loopback_local");
    expect(pairingLocality({ client: app, conn: container, sharedAuthOk: true, method: "device-token" })).toBe("remote");
    expect(pairingLocality({ client: app, conn: { ...container, origin: "http://localhost:18789" }, sharedAuthOk: true, method: "token" })).toBe("remote");
    const browser = { remoteIp: "172.17.0.1", directLocal: false, hasForwardingHeaders: false, host: "localhost:18789", origin: "http://localhost:18789" };
    expect(pairingLocality({ client: CONTROL_UI, conn: browser, sharedAuthOk: true, method: "token" })).toBe("browser_container_local");
    expect(pairingLocality({ client: CONTROL_UI, conn: { ...browser, origin: "http://evil.example" }, sharedAuthOk: true, method: "token" })).toBe("remote");
    expect(pairingLocality({ client: cli, conn: REMOTE, sharedAuthOk: true, method: "token" })).toBe("remote");
  });

  test("the local backend helper does not create pairing records", async () => {
    const keys = await generateDeviceKeys();
    const o = accepted(await decide({ keys, client: { id: "gateway-client", mode: "backend", platform: "linux" } }));
    expect(o.auth.deviceToken).toBeUndefined();
    expect(store.list()).toEqual({ pending: [], paired: [] });
  });
});

describe("remote devices", () => {
  test("pairing required with the original's details; retries keep the requestId", async () => {
    const keys = await generateDeviceKeys();
    const r = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE }));
    const details = r.error.details as Record<string, unknown>;
    expect(Object.keys(details)).toEqual(["code", "reason", "requestId", "remediationHint", "deviceId", "requestedRole", "requestedScopes"]);
    expect(details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "not-paired", deviceId: keys.deviceId, requestedRole: "operator", requestedScopes: ["operator.read"] });
    expect(r.closeCode).toBe(1008);
    expect(r.closeReason).toBe(`pairing required: device is not approved yet (requestId: ${details.requestId})`);
    expect(store.list().pending[0]).toMatchObject({ requestId: details.requestId, remoteIp: "192.0.2.7", displayName: "box", isRepair: false, silent: false });
    const again = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE }));
    expect((again.error.details as Record<string, unknown>).requestId).toBe(details.requestId);
    expect(again.events).toEqual([]);
  });

  test("after approval: token on connect, the same token again, then the token alone", async () => {
    const keys = await generateDeviceKeys();
    const first = await pairRemote(keys);
    const token = first.auth.deviceToken!;
    const second = accepted(await decide({ keys, client: LINUX_APP, conn: REMOTE }));
    expect(second.auth.deviceToken).toBe(token);
    expect(second.auth.issuedAtMs).toBe(first.auth.issuedAtMs!);
    const byToken = accepted(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { deviceToken: token } }));
    expect(byToken.method).toBe("device-token");
    expect(byToken.isDeviceTokenAuth).toBe(true);
    expect(byToken.limiter).toEqual({ deviceToken: "success" });
    // A stored device token sent as auth.token works too (the fallback candidate).
    expect(accepted(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { token } })).method).toBe("device-token");
  });

  test("more scopes with the shared token → scope-upgrade repair request; with the token alone → AUTH_SCOPE_MISMATCH and no request", async () => {
    const keys = await generateDeviceKeys();
    const token = (await pairRemote(keys)).auth.deviceToken!;
    const up = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, scopes: ["operator.read", "operator.admin"] }));
    expect(up.error.details).toMatchObject({ reason: "scope-upgrade", approvedRoles: ["operator"], approvedScopes: ["operator.read"], requestedScopes: ["operator.read", "operator.admin"] });
    expect(up.log[0].message).toStartWith(`security audit: device access upgrade requested reason=scope-upgrade device=${keys.deviceId} ip=192.0.2.7 auth=token roleFrom=operator roleTo=operator scopesFrom=operator.read scopesTo=operator.admin,operator.read`);
    expect(store.list().pending).toHaveLength(1);
    expect(store.list().pending[0].isRepair).toBe(true);
    store.reject(store.list().pending[0].requestId);
    const mismatch = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, scopes: ["operator.read", "operator.admin"], auth: { deviceToken: token } }));
    expect(mismatch.error.toShape()).toEqual({
      code: "INVALID_REQUEST",
      message: "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)",
      details: { code: "AUTH_SCOPE_MISMATCH", authReason: "scope_mismatch", canRetryWithDeviceToken: false, recommendedNextStep: "review_auth_configuration" },
    });
    expect(store.list().pending).toEqual([]);
  });

  test("a wrong shared token from a paired device may retry with its device token; a stale device token may not", async () => {
    const keys = await generateDeviceKeys();
    const token = (await pairRemote(keys)).auth.deviceToken!;
    const wrong = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { token: "nope" } }));
    expect(wrong.error.details).toMatchObject({ code: "AUTH_TOKEN_MISMATCH", canRetryWithDeviceToken: true, recommendedNextStep: "retry_with_device_token" });
    expect(wrong.limiter).toEqual({ sharedSecret: "failure", deviceToken: "failure" });
    expect(store.revokeToken({ deviceId: keys.deviceId, role: "operator" }).ok).toBe(true);
    const stale = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { deviceToken: token } }));
    expect(stale.error.details).toEqual({
      code: "AUTH_DEVICE_TOKEN_MISMATCH",
      authReason: "device_token_mismatch",
      canRetryWithDeviceToken: false,
      recommendedNextStep: "update_auth_credentials",
    });
    // With the shared token the revoked device is asked to re-pair (a role upgrade: no active token).
    const again = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE }));
    expect(again.error.details).toMatchObject({ reason: "role-upgrade", approvedRoles: ["operator"], approvedScopes: ["operator.read"] });
  });

  test("a locked-out client is told to wait before its device token is even checked", async () => {
    const keys = await generateDeviceKeys();
    const token = (await pairRemote(keys)).auth.deviceToken!;
    const r = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { deviceToken: token }, policy: { deviceTokenLockedForMs: 4200 } }));
    expect(r.error.toShape()).toMatchObject({ retryable: true, retryAfterMs: 4200, details: { code: "AUTH_RATE_LIMITED" } });
    expect(store.getPaired(keys.deviceId)?.tokens.operator.lastUsedAtMs).toBeUndefined();
  });

  test("role upgrade and metadata changes need approval; a native app's OS update does not", async () => {
    const keys = await generateDeviceKeys();
    await pairRemote(keys);
    expect((refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, role: "node" })).error.details as { reason: string }).reason).toBe("role-upgrade");
    const moved = refused(await decide({ keys, client: { ...LINUX_APP, platform: "windows" }, conn: REMOTE }));
    expect(moved.error.message).toBe("pairing required: device identity changed and must be re-approved");
    expect(moved.log[0].message).toContain("security audit: device metadata upgrade requested reason=metadata-upgrade");

    const phone = await generateDeviceKeys();
    const ios = { id: "openclaw-ios", mode: "ui", platform: "iOS 17.5", deviceFamily: "iPhone" };
    await pairRemote(phone, ["operator.read"], ios);
    accepted(await decide({ keys: phone, client: { ...ios, platform: "iOS 18.0" }, conn: REMOTE }));
    expect(store.getPaired(phone.deviceId)?.platform).toBe("iOS 18.0");
    expect((refused(await decide({ keys: phone, client: { ...ios, deviceFamily: "iPad" }, conn: REMOTE })).error.details as { reason: string }).reason).toBe(
      "metadata-upgrade",
    );
  });

  test("metadata pinning rules", () => {
    expect(metadataPinning({ id: "cli", mode: "cli", platform: "Linux", deviceFamily: " linux " }, { platform: "linux", deviceFamily: "Linux" })).toEqual({
      platformMismatch: false,
      deviceFamilyMismatch: false,
    });
    expect(metadataPinning({ id: "cli", mode: "cli", platform: "darwin" }, { platform: "linux" }).platformMismatch).toBe(true);
    expect(metadataPinning({ id: "cli", mode: "cli", platform: "darwin" }, {}).platformMismatch).toBe(false);
    expect(metadataPinning({ id: "openclaw-macos", mode: "ui", platform: "macOS 15.1" }, { platform: "darwin" })).toEqual({
      platformMismatch: false,
      deviceFamilyMismatch: false,
      refreshPlatform: "macOS 15.1",
    });
    expect(metadataPinning({ id: "openclaw-android", mode: "ui", platform: "iOS 18" }, { platform: "Android 14" }).platformMismatch).toBe(true);
  });

  test("the Control UI waiting for approval is told to keep retrying", async () => {
    const keys = await generateDeviceKeys();
    const r = refused(await decide({ keys, client: CONTROL_UI, conn: { ...REMOTE, origin: "https://gw.example" }, sign: "v2" }));
    expect(r.error.details).toMatchObject({ recommendedNextStep: "wait_then_retry", retryable: true, pauseReconnect: false });
    expect(Object.keys(r.error.details as object).slice(0, 7)).toEqual(["code", "reason", "requestId", "remediationHint", "recommendedNextStep", "retryable", "pauseReconnect"]);
  });

  test("the close reason is cut to the close-reason limit without breaking the request id pattern", async () => {
    const keys = await generateDeviceKeys();
    await pairRemote(keys);
    const r = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, scopes: ["operator.read", "operator.admin"] }));
    const id = (r.error.details as { requestId: string }).requestId;
    const full = `pairing required: device is asking for more scopes than currently approved (requestId: ${id})`;
    expect(new TextEncoder().encode(r.closeReason).length).toBe(120);
    expect(full.startsWith(r.closeReason)).toBe(true);
    // Captured: `... (requestId: fc9b3ae0-f4d8-43dc-9b2b-0f29144ea924` cut after 34 id characters.
    expect(r.closeReason).toBe(full.slice(0, 120));
  });

  test("oversized client metadata is refused before anything is stored", async () => {
    const keys = await generateDeviceKeys();
    const r = refused(await decide({ keys, client: { ...LINUX_APP, displayName: "x".repeat(300) }, conn: REMOTE }));
    expect(r.error.toShape()).toEqual({
      code: "INVALID_REQUEST",
      message: "invalid connect params: device metadata too large: displayName exceeds 256 characters",
    });
    expect(store.list()).toEqual({ pending: [], paired: [] });
  });

  test("a full pending table answers UNAVAILABLE (retry later) and closes 1013", async () => {
    store = PairingStore.open(dirs(), { limits: { maxPending: 1 } });
    refused(await decide({ keys: await generateDeviceKeys(), client: LINUX_APP, conn: REMOTE }));
    const full = refused(await decide({ keys: await generateDeviceKeys(), client: LINUX_APP, conn: REMOTE }));
    expect(full.error.toShape()).toMatchObject({ code: "UNAVAILABLE", retryable: true, retryAfterMs: 60000 });
    expect(full.closeCode).toBe(1013);
    expect(store.list().pending).toHaveLength(1);
  });

  test("forged proofs are refused before the store is touched, and count a wrong shared secret", async () => {
    const keys = await generateDeviceKeys();
    const r = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, auth: { token: "nope" }, tamper: { signature: Buffer.alloc(64).toString("base64url") } }));
    expect(r.error.message).toBe("device signature invalid");
    expect(r.limiter).toEqual({ sharedSecret: "failure" });
    const replay = refused(await decide({ keys, client: LINUX_APP, conn: REMOTE, nonce: crypto.randomUUID() }));
    expect(replay.error.details).toEqual({ code: "DEVICE_AUTH_NONCE_MISMATCH", reason: "device-nonce-mismatch" });
    expect(store.list()).toEqual({ pending: [], paired: [] });
  });
});

describe("trusted-CIDR auto-approval", () => {
  const node = { id: "node-host", mode: "node", platform: "linux", deviceFamily: "Linux" };
  const lan = { remoteIp: "192.168.1.5", directLocal: false, hasForwardingHeaders: false, host: "192.168.1.2:18789" };
  const cidrs = { autoApproveCidrs: ["192.168.1.0/24"] };

  test("a fresh scopeless node from a listed network is approved", async () => {
    const keys = await generateDeviceKeys();
    const o = accepted(await decide({ keys, client: node, role: "node", scopes: [], conn: lan, policy: cidrs }));
    expect(o.auth.deviceToken).toBeDefined();
    expect(o.auth.recoveryScope).toBeUndefined();
    expect(store.getPaired(keys.deviceId)?.approvedVia).toBe("trusted-cidr");
  });

  test("operators, nodes with scopes, other networks and proxied loopback stay manual", async () => {
    const cases: Opts[] = [
      { client: LINUX_APP, conn: lan },
      { client: node, role: "node", scopes: ["node.x"], conn: lan },
      { client: node, role: "node", scopes: [], conn: { ...lan, remoteIp: "10.0.0.5" } },
      { client: node, role: "node", scopes: [], conn: { remoteIp: "127.0.0.1", directLocal: false, hasForwardingHeaders: true } },
    ];
    for (const c of cases) {
      const r = refused(await decide({ keys: await generateDeviceKeys(), ...c, policy: cidrs }));
      expect(r.error.code).toBe("NOT_PAIRED");
    }
    expect(store.list().paired).toEqual([]);
  });
});
