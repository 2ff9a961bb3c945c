/**
 * Device pairing through the real gateway with real device clients (Ed25519, v2 and v3
 * payloads signed by test/helpers/device-client.ts): remote pairing and its approval, device
 * tokens, upgrades, revocation closing live sockets, the events pairing readers get, the pairing
 * policy (silent local approval, trusted CIDRs), the device-token lockout, the store surviving
 * restarts, the tick waking scope-upgrade waiters, and bad input of every kind: a clear error,
 * nothing stored, the gateway keeps serving.
 *
 * Remote clients come through a relay the gateway trusts as a proxy (test/helpers/relay.ts).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PairingStore } from "../../src/auth/pairing-store.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { buildConnectParams, call, connectDevice, deviceSigner, generateDeviceKeys, type ConnectOptions, type DeviceKeys } from "../helpers/device-client.ts";
import { RawPeer, startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { startRelay, type Relay } from "../helpers/relay.ts";
import { tempDir } from "../helpers/state-dir.ts";

const LINUX = { id: "openclaw-linux", mode: "ui", platform: "linux", deviceFamily: "Linux", displayName: "remote-box" };

let gw: TestGateway | undefined;
let relay: Relay | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close();
  relay?.stop();
  relay = undefined;
  await gw?.stop();
  gw = undefined;
});

async function start(extra: Record<string, unknown> = {}, opts: Parameters<typeof startTestGateway>[0] = {}): Promise<{ gw: TestGateway; remote: string }> {
  gw = await startTestGateway({
    ...opts,
    config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, trustedProxies: ["127.0.0.1"], ...extra } },
  });
  const g = gw;
  relay = startRelay(() => g.port);
  return { gw: g, remote: relay.url };
}

/** A device-less operator on loopback with the shared token (like the CLI on the gateway host). */
async function operator(url: string, scopes: string[]): Promise<WebSocket> {
  const o = await connectDevice({ url, sign: "none", scopes, auth: { token: TEST_TOKEN }, keepOpen: true });
  if (!o.ws) throw new Error(`operator connect failed: ${JSON.stringify(o.response)}`);
  sockets.push(o.ws);
  return o.ws;
}

function events(ws: WebSocket, prefix = "device."): any[] {
  const out: any[] = [];
  ws.addEventListener("message", (ev) => {
    const f = JSON.parse(String(ev.data));
    if (f.type === "event" && String(f.event).startsWith(prefix)) out.push(f);
  });
  return out;
}

/** Wait (bounded) until `pred` holds. */
async function until(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

async function remotePair(remote: string, local: string, keys: DeviceKeys, scopes = ["operator.read"]): Promise<{ token: string; requestId: string }> {
  const first = await connectDevice({ url: remote, keys, client: LINUX, scopes, auth: { token: TEST_TOKEN } });
  const requestId = first.response.error?.details?.requestId as string;
  const admin = await operator(local, ["operator.admin"]);
  const approved = await call(admin, "device.pair.approve", { requestId });
  expect(approved.ok).toBe(true);
  const again = await connectDevice({ url: remote, keys, client: LINUX, scopes, auth: { token: TEST_TOKEN } });
  return { token: again.response.payload.auth.deviceToken, requestId };
}

describe("remote pairing through the real gateway", () => {
  test("PAIRING_REQUIRED with a requestId → approval → device token → token-only reconnect → upgrade → revoke closes the socket", async () => {
    const { gw, remote } = await start();
    const pairing = await operator(gw.url, ["operator.pairing"]);
    const reader = await operator(gw.url, ["operator.read"]);
    const pairingEvents = events(pairing);
    const readerEvents = events(reader);
    const keys = await generateDeviceKeys();

    // v2 payloads are accepted as well as v3.
    const first = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN }, sign: "v2" });
    const requestId = first.response.error?.details?.requestId as string;
    expect(first.response.error).toMatchObject({
      code: "NOT_PAIRED",
      message: "pairing required: device is not approved yet",
      details: { code: "PAIRING_REQUIRED", reason: "not-paired", requestId: expect.any(String), deviceId: keys.deviceId, requestedRole: "operator" },
    });
    expect(first.close).toEqual({ code: 1008, reason: `pairing required: device is not approved yet (requestId: ${requestId})` });
    const pending = gw.handle.devices.store.getPending(requestId);
    expect(pending).toMatchObject({ deviceId: keys.deviceId, remoteIp: "192.0.2.77", displayName: "remote-box", isRepair: false, silent: false });
    await until(() => pairingEvents.some((e) => e.event === "device.pair.requested"), "device.pair.requested");
    expect(pairingEvents[0].payload.requestId).toBe(requestId);

    // A pairing reader approves: the approval needs the request's scopes too.
    const denied = await call(pairing, "device.pair.approve", { requestId });
    expect(denied.error).toMatchObject({ code: "INVALID_REQUEST", message: "missing scope: operator.read" });
    const approver = await operator(gw.url, ["operator.pairing", "operator.read"]);
    const approved = await call(approver, "device.pair.approve", { requestId });
    expect(approved.ok).toBe(true);
    expect(approved.payload.device).toMatchObject({ deviceId: keys.deviceId, approvedVia: "owner", tokens: [{ role: "operator", scopes: ["operator.read"] }] });
    expect(JSON.stringify(approved.payload)).not.toContain("\"token\"");
    await until(() => pairingEvents.some((e) => e.event === "device.pair.resolved"), "device.pair.resolved");
    expect(pairingEvents.find((e) => e.event === "device.pair.resolved").payload).toMatchObject({ requestId, decision: "approved" });
    // Pairing events only go to pairing readers.
    expect(readerEvents).toEqual([]);

    // Reconnect with the shared token: the device token, the same one again on the next reconnect.
    const paired = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    const auth = paired.response.payload.auth;
    // (Read before toMatchObject: Bun's toMatchObject writes its matchers into the received object.)
    const deviceToken = auth.deviceToken as string;
    expect(auth).toMatchObject({ method: "token", role: "operator", scopes: ["operator.read"], deviceToken: expect.any(String), recoveryMigrationAllowed: true });
    const again = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    expect(again.response.payload.auth.deviceToken).toBe(deviceToken);

    // The device token alone; `status` reads.
    const live = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken }, keepOpen: true });
    expect(live.response.payload.auth.method).toBe("device-token");
    expect((await call(live.ws!, "status", {})).ok).toBe(true);

    // More scopes with the device token: AUTH_SCOPE_MISMATCH and no request; with the shared token: scope-upgrade.
    const before = gw.handle.devices.store.list().pending.length;
    const mismatch = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read", "operator.admin"], auth: { deviceToken } });
    expect(mismatch.response.error?.details).toMatchObject({ code: "AUTH_SCOPE_MISMATCH" });
    expect(gw.handle.devices.store.list().pending.length).toBe(before);
    const upgrade = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read", "operator.admin"], auth: { token: TEST_TOKEN } });
    expect(upgrade.response.error?.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "scope-upgrade", approvedScopes: ["operator.read"], approvedRoles: ["operator"] });
    expect(gw.handle.devices.store.getPending(upgrade.response.error!.details.requestId)?.isRepair).toBe(true);

    // Revoke: the answer first, then the live socket closes 4001; the token is refused afterwards.
    const revoked = await call(approver, "device.token.revoke", { deviceId: keys.deviceId, role: "operator" });
    expect(revoked.payload).toMatchObject({ deviceId: keys.deviceId, role: "operator", revokedAtMs: expect.any(Number) });
    expect(await live.closed).toEqual({ code: 4001, reason: "device removed" });
    const refused = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken } });
    expect(refused.response.error).toEqual({
      code: "INVALID_REQUEST",
      message: "unauthorized: device token mismatch (rotate/reissue device token)",
      details: { code: "AUTH_DEVICE_TOKEN_MISMATCH", authReason: "device_token_mismatch", canRetryWithDeviceToken: false, recommendedNextStep: "update_auth_credentials" },
    });
    expect(gw.logs.some((r) => r.message.includes(`device token revoked device=${keys.deviceId}`))).toBe(true);
  });

  test("a device-less remote operator with the shared token connects with no scopes (as the original)", async () => {
    const { remote } = await start();
    const o = await connectDevice({ url: remote, sign: "none", scopes: ["operator.read", "operator.admin"], auth: { token: TEST_TOKEN }, keepOpen: true });
    sockets.push(o.ws!);
    expect(o.response.payload.auth).toMatchObject({ method: "token", role: "operator", scopes: [] });
    expect((await call(o.ws!, "status", {})).error).toMatchObject({ code: "FORBIDDEN", message: "missing scope: operator.read" });
    expect((await call(o.ws!, "health", {})).ok).toBe(true);
  });

  test("a paired device with a wrong shared token is told it may retry with its device token", async () => {
    const { gw, remote } = await start();
    const keys = await generateDeviceKeys();
    const { token } = await remotePair(remote, gw.url, keys);
    const wrong = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: "not-the-token" } });
    expect(wrong.response.error?.details).toEqual({
      code: "AUTH_TOKEN_MISMATCH",
      authReason: "token_mismatch",
      canRetryWithDeviceToken: true,
      recommendedNextStep: "retry_with_device_token",
    });
    const retry = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: "not-the-token", deviceToken: token } });
    expect(retry.response.payload.auth.method).toBe("device-token");
  });

  test("removing a device closes all its sockets 4001 after the answer, also the caller's own", async () => {
    const { gw, remote } = await start();
    const keys = await generateDeviceKeys();
    const scopes = ["operator.read", "operator.pairing"];
    const { token } = await remotePair(remote, gw.url, keys, scopes);
    const a = await connectDevice({ url: remote, keys, client: LINUX, scopes, auth: { deviceToken: token }, keepOpen: true });
    const b = await connectDevice({ url: remote, keys, client: LINUX, scopes, auth: { deviceToken: token }, keepOpen: true });
    const removed = await call(a.ws!, "device.pair.remove", { deviceId: keys.deviceId });
    expect(removed.payload).toEqual({ deviceId: keys.deviceId });
    expect(await a.closed).toEqual({ code: 4001, reason: "device removed" });
    expect(await b.closed).toEqual({ code: 4001, reason: "device removed" });
    expect(gw.handle.devices.store.getPaired(keys.deviceId)).toBeUndefined();
  });
});

describe("bad input: a clear error, nothing stored, the gateway keeps serving", () => {
  test("forged, replayed, stale and oversized proofs; unknown ids; approving twice", async () => {
    const { gw, remote } = await start();
    const store = gw.handle.devices.store;
    const admin = await operator(gw.url, ["operator.admin"]);
    const pairing = await operator(gw.url, ["operator.pairing"]);
    const keys = await generateDeviceKeys();
    const base: ConnectOptions = { url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } };
    const snapshot = () => JSON.stringify(store.list());
    const empty = snapshot();

    const zeros = Buffer.alloc(64).toString("base64url");
    const cases: Array<[string, ConnectOptions, string, string]> = [
      ["forged signature", { ...base, tamper: { signature: zeros } }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID"],
      ["signed by another key", { ...base, tamper: { publicKey: (await generateDeviceKeys()).publicKey } }, "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"],
      ["signed other scopes", { ...base, tamper: { signedFields: { scopes: ["operator.admin"] } } }, "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID"],
      ["stale signedAt", { ...base, tamper: { signedAt: Date.now() - 600_000 } }, "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"],
      ["signedAt in the future", { ...base, tamper: { signedAt: Date.now() + 600_000 } }, "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"],
      ["no nonce", { ...base, tamper: { nonce: "" } }, "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED"],
      ["another socket's nonce", { ...base, tamper: { nonce: crypto.randomUUID() } }, "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH"],
    ];
    for (const [name, opts, message, code] of cases) {
      const o = await connectDevice(opts);
      expect({ name, error: o.response.error }).toEqual({ name, error: { code: "INVALID_REQUEST", message, details: expect.objectContaining({ code }) } });
      expect(o.close).toEqual({ code: 1008, reason: message });
    }

    // A whole connect frame replayed on a fresh socket: its nonce belongs to the first socket.
    const first = new RawPeer(remote);
    await first.opened;
    const challenge = await first.frame();
    const captured = await buildConnectParams({ keys, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } }, challenge.payload);
    first.close();
    const second = new RawPeer(remote);
    await second.opened;
    await second.frame();
    second.send({ type: "req", id: "replay", method: "connect", params: captured });
    expect((await second.frame()).error).toMatchObject({ message: "device nonce mismatch", details: { code: "DEVICE_AUTH_NONCE_MISMATCH" } });
    expect(await second.closed()).toMatchObject({ code: 1008 });

    // Oversized metadata is refused before anything is written.
    const oversized: Array<[Partial<typeof LINUX>, string[] | undefined, string]> = [
      [{ displayName: "x".repeat(300) }, undefined, "invalid connect params: device metadata too large: displayName exceeds 256 characters"],
      [{ platform: "p".repeat(200) }, undefined, "invalid connect params: device metadata too large: platform exceeds 128 characters"],
      [{}, Array.from({ length: 40 }, (_, i) => `operator.custom${i}`), "invalid connect params: device metadata too large: more than 32 scopes"],
    ];
    for (const [client, scopes, message] of oversized) {
      const o = await connectDevice({ ...base, client: { ...LINUX, ...client }, scopes: scopes ?? base.scopes });
      expect(o.response.error?.message).toBe(message);
      expect(o.close?.code).toBe(1008);
    }
    expect(snapshot()).toBe(empty);

    // Unknown ids and bad params.
    expect((await call(pairing, "device.pair.approve", { requestId: "nope" })).error).toMatchObject({ message: "device pairing approval denied" });
    expect((await call(admin, "device.pair.approve", { requestId: "nope" })).error).toMatchObject({ message: "unknown requestId" });
    expect((await call(pairing, "device.pair.reject", { requestId: "nope" })).error).toMatchObject({ message: "unknown requestId" });
    expect((await call(pairing, "device.pair.remove", { deviceId: "nope" })).error).toMatchObject({ message: "unknown deviceId" });
    expect((await call(pairing, "device.pair.approve", {})).error).toMatchObject({ message: "invalid device.pair.approve params: must have required property 'requestId'" });
    expect((await call(pairing, "device.pair.rename", { deviceId: "x", label: "y".repeat(65) })).error?.message).toStartWith("invalid device.pair.rename params:");
    expect((await call(pairing, "device.pair.list", { extra: 1 })).error).toMatchObject({ message: "invalid device.pair.list params: at root: unexpected property 'extra'" });
    expect(snapshot()).toBe(empty);

    // Approving twice: the second is refused and changes nothing.
    const pend = await connectDevice(base);
    const requestId = pend.response.error!.details.requestId;
    expect((await call(admin, "device.pair.approve", { requestId })).ok).toBe(true);
    const afterFirst = snapshot();
    expect((await call(admin, "device.pair.approve", { requestId })).error).toMatchObject({ message: "unknown requestId" });
    expect((await call(pairing, "device.pair.approve", { requestId })).error).toMatchObject({ message: "device pairing approval denied" });
    expect(snapshot()).toBe(afterFirst);

    // Still serving: the sockets that saw all this, and a new one.
    expect((await call(admin, "health", {})).ok).toBe(true);
    const fresh = await connectDevice({ ...base });
    expect(fresh.response.ok).toBe(true);
    expect(gw.logs.some((r) => r.message.startsWith("device auth rejected: device nonce mismatch (device-nonce-mismatch)"))).toBe(true);
    expect(gw.logs.some((r) => r.message.startsWith("device auth rejected: device signature invalid (device-signature)"))).toBe(true);
  });

  test("bad device tokens from one client lock it out (AUTH_RATE_LIMITED) without touching other clients", async () => {
    const { gw, remote } = await start({ auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 3, windowMs: 600_000, lockoutMs: 600_000 } } });
    const keys = await generateDeviceKeys();
    const { token } = await remotePair(remote, gw.url, keys);
    for (let i = 0; i < 3; i++) {
      const bad = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: `bad-${i}` } });
      expect(bad.response.error?.details?.code).toBe("AUTH_DEVICE_TOKEN_MISMATCH");
    }
    const locked = await connectDevice({ url: remote, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: token } });
    expect(locked.response.error).toMatchObject({ details: { code: "AUTH_RATE_LIMITED" }, retryable: true });
    // Another client (a second relay address) is not affected.
    const other = startRelay(() => gw.port, "192.0.2.78");
    try {
      const ok = await connectDevice({ url: other.url, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: token } });
      expect(ok.response.payload.auth.method).toBe("device-token");
    } finally {
      other.stop();
    }
  });
});

describe("pairing policy", () => {
  test("local devices are approved silently; autoApproveLocal:false makes them wait", async () => {
    const first = await start();
    const keys = await generateDeviceKeys();
    const local = await connectDevice({ url: first.gw.url, keys, scopes: ["operator.read", "operator.write"], auth: { token: TEST_TOKEN } });
    expect(local.response.payload.auth.deviceToken).toEqual(expect.any(String));
    expect(first.gw.handle.devices.store.getPaired(keys.deviceId)?.approvedVia).toBe("silent");
    relay?.stop();
    await first.gw.stop();
    gw = undefined;
    const strict = await start({ nodes: { pairing: { autoApproveLocal: false } } });
    const other = await generateDeviceKeys();
    const waiting = await connectDevice({ url: strict.gw.url, keys: other, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    expect(waiting.response.error?.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "not-paired" });
  });

  test("trusted CIDRs approve a fresh scopeless node from a listed address, never an operator", async () => {
    const { gw, remote } = await start({ nodes: { pairing: { autoApproveCidrs: ["192.0.2.0/24"] } } });
    const node = await generateDeviceKeys();
    const n = await connectDevice({ url: remote, keys: node, role: "node", scopes: [], client: { id: "node-host", mode: "node", platform: "linux", deviceFamily: "Linux" }, auth: { token: TEST_TOKEN } });
    expect(n.response.ok).toBe(true);
    expect(n.response.payload.auth).toMatchObject({ role: "node", deviceToken: expect.any(String) });
    expect(gw.handle.devices.store.getPaired(node.deviceId)?.approvedVia).toBe("trusted-cidr");
    const op = await connectDevice({ url: remote, keys: await generateDeviceKeys(), client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    expect(op.response.error?.details).toMatchObject({ code: "PAIRING_REQUIRED", reason: "not-paired" });
  });
});

describe("the store belongs to the gateway", () => {
  test("pending requests, paired devices and tokens survive a full restart on the same state dir", async () => {
    const stateDir = tempDir();
    const first = await start({}, { stateDir });
    const keys = await generateDeviceKeys();
    const { token } = await remotePair(first.remote, first.gw.url, keys);
    const other = await generateDeviceKeys();
    const waiting = await connectDevice({ url: first.remote, keys: other, client: LINUX, scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    const requestId = waiting.response.error!.details.requestId;
    relay?.stop();
    await first.gw.stop();
    gw = undefined;
    const second = await start({}, { stateDir });
    expect(second.gw.handle.devices.store.getPending(requestId)?.deviceId).toBe(other.deviceId);
    const back = await connectDevice({ url: second.remote, keys, client: LINUX, scopes: ["operator.read"], auth: { deviceToken: token } });
    expect(back.response.payload.auth.method).toBe("device-token");
  });

  test("a device store that cannot be opened refuses device connects (1013) and device-less ones still work", async () => {
    const stateDir = tempDir();
    // The state database path is taken by a directory: SQLite cannot open it.
    mkdirSync(join(stateDir, "openclaw.sqlite"), { recursive: true });
    const { gw } = await start({}, { stateDir });
    const o = await connectDevice({ url: gw.url, keys: await generateDeviceKeys(), scopes: ["operator.read"], auth: { token: TEST_TOKEN } });
    expect(o.response.error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
    expect(o.close?.code).toBe(1013);
    const plain = await operator(gw.url, ["operator.read"]);
    expect((await call(plain, "health", {})).ok).toBe(true);
  });

  test("the tick wakes a scope-upgrade wait decided by another process", async () => {
    const { gw, remote } = await start({}, { limits: { tickIntervalMs: 100 } });
    const keys = await generateDeviceKeys();
    const { token } = await remotePair(remote, gw.url, keys);
    const device = await GatewayClient.connect({ url: remote, deviceToken: token, scopes: ["operator.read"], device: deviceSigner(keys), client: { id: "openclaw-linux", mode: "ui", platform: "linux", deviceFamily: "Linux" } });
    try {
      const { requestId } = await device.call("device.scopes.requestUpgrade", { scopes: ["operator.read", "operator.write"] });
      let ticksAfterApproval = 0;
      let approvedOutside = false;
      device.onEvent((e) => {
        if (e.event === "tick" && approvedOutside) ticksAfterApproval++;
      });
      const waiting = device.call("device.scopes.waitUpgrade", { requestId }).then((r) => ({ r, ticks: ticksAfterApproval }));
      await until(() => gw.handle.devices.upgradeWaits > 0, "the wait to be asleep");
      // Another process (a CLI holding the same database) approves; nothing tells this gateway
      // but its tick.
      const outside = PairingStore.open(gw.stateDir);
      try {
        expect(outside.approve(requestId, { callerScopes: ["operator.admin"] })?.status).toBe("approved");
        approvedOutside = true;
      } finally {
        outside.close();
      }
      const { r: result, ticks } = await waiting;
      expect(ticks).toBeGreaterThan(0);
      expect(result).toMatchObject({ status: "approved", requestId, scopes: ["operator.read", "operator.write"], deviceToken: expect.any(String) });
    } finally {
      await device.close();
    }
  });
});
