import { beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DeviceMethods, parseDeviceParams, type SessionInfo } from "../../src/auth/device-methods.ts";
import { approvalCallScopes, tokenManagementCallScopes } from "../../src/auth/device-permissions.ts";
import { PairingStore, PENDING_TTL_MS, type PairingRequestInput } from "../../src/auth/pairing-store.ts";
import { RpcError } from "../../src/protocol/errors.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dirs = useTempDirs("openclaw-device-methods-");

function id(n: number | string) {
  return new Bun.CryptoHasher("sha256").update(`dev-${n}`).digest("hex");
}

function req(n: number | string, extra: Partial<PairingRequestInput> = {}): PairingRequestInput {
  return { deviceId: id(n), publicKey: `key-${n}`, displayName: `box-${n}`, clientId: "openclaw-linux", clientMode: "ui", role: "operator", scopes: ["operator.read"], ...extra };
}

const shared = (scopes: string[]): SessionInfo => ({ role: "operator", scopes, isDeviceTokenAuth: false });
const deviceSession = (n: number | string, scopes: string[]): SessionInfo => ({ role: "operator", scopes, deviceId: id(n), publicKey: `key-${n}`, isDeviceTokenAuth: true });
const ADMIN = shared(["operator.admin"]);
const PAIRING = shared(["operator.pairing"]);

let now = 1_800_000_000_000;
let store: PairingStore;
let methods: DeviceMethods;
let connected: Set<string>;

beforeEach(() => {
  now = 1_800_000_000_000;
  store = PairingStore.open(dirs(), { now: () => now });
  connected = new Set();
  methods = new DeviceMethods(store, { now: () => now, isConnected: (d) => connected.has(d) });
});

function pair(n: number | string, extra: Partial<PairingRequestInput> = {}) {
  const r = store.requestPairing(req(n, extra));
  const a = store.approve(r.request.requestId, { callerScopes: ["operator.admin"] });
  if (a?.status !== "approved") throw new Error("pairing failed");
  return a.device;
}

function errorOf(o: { ok: boolean; error?: RpcError }) {
  if (o.ok || !o.error) throw new Error("expected an error");
  return o.error.toShape();
}

describe("params", () => {
  test("the original's validation messages", () => {
    const msg = (m: Parameters<typeof parseDeviceParams>[0], p: unknown) => {
      try {
        parseDeviceParams(m, p);
        return "ok";
      } catch (err) {
        return (err as RpcError).message;
      }
    };
    expect(msg("device.pair.approve", {})).toBe("invalid device.pair.approve params: must have required property 'requestId'");
    expect(msg("device.pair.approve", { requestId: "x", extra: 1 })).toBe("invalid device.pair.approve params: at root: unexpected property 'extra'");
    expect(msg("device.pair.rename", { deviceId: "x", label: "y".repeat(65) })).toBe("invalid device.pair.rename params: at /label: must not have more than 64 characters");
    expect(msg("device.pair.list", { a: 1 })).toBe("invalid device.pair.list params: at root: unexpected property 'a'");
    expect(msg("device.pair.list", undefined)).toBe("ok");
    expect(msg("device.token.rotate", { deviceId: "x", role: 5 })).toBe("invalid device.token.rotate params: at /role: must be string");
    expect(msg("device.scopes.requestUpgrade", { scopes: [] })).toBe("invalid device.scopes.requestUpgrade params: at /scopes: must not have fewer than 1 items");
  });
});

describe("device.pair.list", () => {
  test("pending and paired, tokens summarised, connected flag; a device session sees only itself", async () => {
    pair(1);
    pair(2);
    store.requestPairing(req(3));
    connected.add(id(1));
    const all = methods.list(ADMIN);
    if (!all.ok) throw new Error("list failed");
    expect(all.payload.pending.map((p) => p.deviceId)).toEqual([id(3)]);
    expect(all.payload.paired.map((d) => [d.deviceId, d.connected])).toEqual([
      [id(1), true],
      [id(2), false],
    ]);
    expect(JSON.stringify(all.payload)).not.toMatch(/"token"|salt|hash|approvedScopes/);
    const self = methods.list(deviceSession(2, ["operator.pairing", "operator.read"]));
    if (!self.ok) throw new Error("list failed");
    expect(self.payload.paired.map((d) => d.deviceId)).toEqual([id(2)]);
    expect(self.payload.pending).toEqual([]);
    // A shared-secret session is not tied to a device.
    expect((methods.list(PAIRING) as { payload: { paired: unknown[] } }).payload.paired).toHaveLength(2);
  });
});

describe("device.pair.approve / reject", () => {
  test("pairing plus the request's scopes; the result and the event, never the token", async () => {
    const r = store.requestPairing(req(1, { scopes: ["operator.read", "operator.write"] }));
    expect(errorOf(methods.approve(PAIRING, { requestId: r.request.requestId }))).toEqual({ code: "INVALID_REQUEST", message: "missing scope: operator.read" });
    const ok = methods.approve(shared(["operator.pairing", "operator.write"]), { requestId: r.request.requestId });
    if (!ok.ok) throw new Error(ok.error.message);
    expect(ok.payload.requestId).toBe(r.request.requestId);
    expect(ok.payload.device.tokens).toEqual([{ role: "operator", scopes: ["operator.read", "operator.write"], createdAtMs: now }]);
    expect(ok.payload.device.approvedVia).toBe("owner");
    expect(ok.events).toEqual([{ event: "device.pair.resolved", payload: { requestId: r.request.requestId, deviceId: id(1), decision: "approved", ts: now } }]);
    expect(ok.log).toEqual([{ level: "info", message: `device pairing approved device=${id(1)} role=operator` }]);
    // Twice: non-admins learn nothing about unknown ids, admins get "unknown requestId".
    expect(errorOf(methods.approve(PAIRING, { requestId: r.request.requestId })).message).toBe("device pairing approval denied");
    expect(errorOf(methods.approve(ADMIN, { requestId: r.request.requestId })).message).toBe("unknown requestId");
    expect(errorOf(methods.approve(ADMIN, { requestId: "nope" })).message).toBe("unknown requestId");
  });

  test("non-operator roles need admin; a device session approves only its own request", async () => {
    const node = store.requestPairing(req(1, { role: "node", scopes: [] }));
    const denied = methods.approve(shared(["operator.pairing", "operator.write"]), { requestId: node.request.requestId });
    expect(errorOf(denied).message).toBe("device pairing approval denied");
    expect(denied.log[0].message).toBe(`device pairing approval denied request=${node.request.requestId} reason=role-management-requires-admin`);
    expect(methods.approve(ADMIN, { requestId: node.request.requestId }).ok).toBe(true);

    pair(2, { scopes: ["operator.read", "operator.pairing"] });
    const other = store.requestPairing(req(3));
    const own = store.requestPairing(req(2, { scopes: ["operator.read", "operator.pairing"], displayName: "again" }));
    const session = deviceSession(2, ["operator.read", "operator.pairing"]);
    expect(errorOf(methods.approve(session, { requestId: other.request.requestId })).message).toBe("device pairing approval denied");
    expect(methods.approve(session, { requestId: own.request.requestId }).ok).toBe(true);
  });

  test("reject: the request goes, the event says rejected; unknown ids are errors", () => {
    const r = store.requestPairing(req(1));
    const out = methods.reject(PAIRING, { requestId: r.request.requestId });
    expect(out.ok && out.payload).toEqual({ requestId: r.request.requestId, deviceId: id(1) });
    expect(out.events[0]).toEqual({ event: "device.pair.resolved", payload: { requestId: r.request.requestId, deviceId: id(1), decision: "rejected", ts: now } });
    expect(errorOf(methods.reject(PAIRING, { requestId: r.request.requestId })).message).toBe("unknown requestId");
    pair(2);
    const foreign = store.requestPairing(req(3));
    expect(errorOf(methods.reject(deviceSession(2, ["operator.pairing"]), { requestId: foreign.request.requestId })).message).toBe("device pairing rejection denied");
    expect(store.getPending(foreign.request.requestId)).toBeDefined();
  });
});

describe("device.pair.remove / rename", () => {
  test("remove closes the device's sockets (4001 device removed); device sessions only remove themselves", () => {
    pair(1);
    pair(2, { role: "node", roles: ["operator", "node"], scopes: ["operator.read"] });
    expect(errorOf(methods.remove(deviceSession(1, ["operator.pairing"]), { deviceId: id(2) })).message).toBe("device pairing removal denied");
    // Its own record holds a node role: admin business.
    expect(errorOf(methods.remove(deviceSession(2, ["operator.pairing"]), { deviceId: id(2) })).message).toBe("device pairing removal denied");
    const out = methods.remove(deviceSession(1, ["operator.pairing"]), { deviceId: id(1) });
    expect(out.ok && out.payload).toEqual({ deviceId: id(1) });
    expect(out.disconnect).toEqual([{ deviceId: id(1), code: 4001, reason: "device removed" }]);
    expect(errorOf(methods.remove(ADMIN, { deviceId: id(1) })).message).toBe("unknown deviceId");
    expect(methods.remove(ADMIN, { deviceId: id(2) }).ok).toBe(true);
  });

  test("rename trims the label, announces device.pair.changed, and is self-scoped for device sessions", () => {
    pair(1);
    pair(2);
    const out = methods.rename(PAIRING, { deviceId: id(1), label: "  Kitchen Mac  " });
    expect(out.ok && out.payload).toEqual({ deviceId: id(1), label: "Kitchen Mac" });
    expect(out.events).toEqual([{ event: "device.pair.changed", payload: {} }]);
    expect(store.getPaired(id(1))?.operatorLabel).toBe("Kitchen Mac");
    expect(errorOf(methods.rename(PAIRING, { deviceId: id(1), label: "   " })).message).toBe("label required");
    expect(errorOf(methods.rename(deviceSession(1, ["operator.pairing"]), { deviceId: id(2), label: "x" })).message).toBe("device pairing rename denied");
    expect(errorOf(methods.rename(PAIRING, { deviceId: id(9), label: "x" })).message).toBe("unknown deviceId");
  });
});

describe("device.token.rotate / revoke", () => {
  test("rotate: in-band only for the device's own token session; cross-device withheld; sockets of that role closed", () => {
    pair(1, { scopes: ["operator.read", "operator.pairing"] });
    now += 10;
    const own = methods.rotate(deviceSession(1, ["operator.read", "operator.pairing"]), { deviceId: id(1), role: "operator" });
    if (!own.ok) throw new Error(own.error.message);
    expect(own.payload).toMatchObject({ deviceId: id(1), role: "operator", scopes: ["operator.pairing", "operator.read"], rotatedAtMs: now, tokenDelivery: "in-band" });
    expect(store.verifyToken({ deviceId: id(1), role: "operator", token: own.payload.token!, scopes: [] }).ok).toBe(true);
    expect(own.disconnect).toEqual([{ deviceId: id(1), role: "operator", code: 4001, reason: "device removed" }]);
    const cross = methods.rotate(ADMIN, { deviceId: id(1), role: "operator", scopes: ["operator.read"] });
    if (!cross.ok) throw new Error(cross.error.message);
    expect(cross.payload).toEqual({ deviceId: id(1), role: "operator", scopes: ["operator.read"], rotatedAtMs: now, tokenDelivery: "withheld-cross-device" });
  });

  test("rotate cannot widen beyond the caller, touch other devices, or manage node tokens without admin", () => {
    pair(1, { scopes: ["operator.read", "operator.pairing"] });
    pair(2);
    const session = deviceSession(1, ["operator.read", "operator.pairing"]);
    const cases: [SessionInfo, { deviceId: string; role: string; scopes?: string[] }, string][] = [
      [session, { deviceId: id(2), role: "operator" }, "device-ownership-mismatch"],
      [session, { deviceId: id(1), role: "node" }, "role-management-requires-admin"],
      [session, { deviceId: id(1), role: "operator", scopes: ["operator.admin"] }, "scope-outside-approved-baseline"],
      [PAIRING, { deviceId: id(2), role: "operator" }, "caller-missing-scope scope=operator.read"],
      [ADMIN, { deviceId: id(9), role: "operator" }, "unknown-device-or-role"],
    ];
    for (const [who, params, reason] of cases) {
      const out = methods.rotate(who, params);
      expect(errorOf(out)).toEqual({ code: "INVALID_REQUEST", message: "device token rotation denied" });
      expect(out.log[0].message).toEndWith(`reason=${reason}`);
      expect(out.disconnect).toEqual([]);
    }
  });

  test("revoke: pairing plus the target token's scopes; result keeps revokedAtMs", () => {
    pair(1, { scopes: ["operator.read", "operator.write"] });
    const denied = methods.revoke(PAIRING, { deviceId: id(1), role: "operator" });
    expect(errorOf(denied).message).toBe("device token revocation denied");
    expect(denied.log[0].message).toEndWith("reason=caller-missing-scope scope=operator.read");
    now += 5;
    const out = methods.revoke(shared(["operator.pairing", "operator.write"]), { deviceId: id(1), role: "operator" });
    expect(out.ok && out.payload).toEqual({ deviceId: id(1), role: "operator", revokedAtMs: now });
    expect(out.disconnect).toEqual([{ deviceId: id(1), role: "operator", code: 4001, reason: "device removed" }]);
    expect(store.getPaired(id(1))?.tokens.operator.revokedAtMs).toBe(now);
    expect(errorOf(methods.revoke(ADMIN, { deviceId: id(1), role: "node" })).message).toBe("device token revocation denied");
  });
});

describe("live scope upgrades", () => {
  const upgrader = (n: number) => ({ ...deviceSession(n, ["operator.read"]), client: { id: "openclaw-control-ui", mode: "webchat", displayName: "browser" } });

  test("request, approve, and the waiting device receives the new token", async () => {
    pair(1);
    const s = upgrader(1);
    const asked = methods.requestUpgrade(s, { scopes: ["operator.read", "operator.admin"] });
    if (!asked.ok) throw new Error(asked.error.message);
    expect(asked.events.map((e) => e.event)).toEqual(["device.pair.requested"]);
    expect(store.getPending(asked.payload.requestId)).toMatchObject({ scopes: ["operator.admin", "operator.read", "operator.write"], isRepair: true, silent: false });
    const waiting = methods.waitUpgrade(s, { requestId: asked.payload.requestId });
    expect(methods.approve(ADMIN, { requestId: asked.payload.requestId }).ok).toBe(true);
    const done = await waiting;
    if (!done.ok) throw new Error(done.error.message);
    if (done.payload.status !== "approved") throw new Error(`not approved: ${done.payload.status}`);
    expect(done.payload.scopes).toEqual(["operator.admin", "operator.read", "operator.write"]);
    expect(store.verifyToken({ deviceId: id(1), role: "operator", token: done.payload.deviceToken, scopes: ["operator.admin"] }).ok).toBe(true);
  });

  test("rejected and expired upgrades, and waits by someone else", async () => {
    pair(1);
    pair(2);
    const s = upgrader(1);
    const a = methods.requestUpgrade(s, { scopes: ["operator.write"] });
    if (!a.ok) throw new Error(a.error.message);
    expect(errorOf(await methods.waitUpgrade(upgrader(2), { requestId: a.payload.requestId })).message).toBe("scope upgrade expired or not found");
    const waiting = methods.waitUpgrade(s, { requestId: a.payload.requestId });
    methods.reject(ADMIN, { requestId: a.payload.requestId });
    expect((await waiting).ok && (await waiting)).toMatchObject({ payload: { status: "rejected", requestId: a.payload.requestId } });

    const b = methods.requestUpgrade(s, { scopes: ["operator.pairing", "operator.read"] });
    if (!b.ok) throw new Error(b.error.message);
    const late = methods.waitUpgrade(s, { requestId: b.payload.requestId });
    now += PENDING_TTL_MS + 1;
    methods.upgrades.recheck();
    expect(await late).toMatchObject({ ok: true, payload: { status: "expired", requestId: b.payload.requestId } });
  });

  test("refusals: no device, unknown scopes, dropping current scopes", () => {
    pair(1);
    expect(errorOf(methods.requestUpgrade(PAIRING, { scopes: ["operator.admin"] }))).toEqual({
      code: "INVALID_REQUEST",
      message: "device scope upgrade requires a paired browser identity; reopen the Control UI over HTTPS or localhost, then retry",
      details: { code: "DEVICE_IDENTITY_REQUIRED", recommendedNextStep: "reopen_control_ui_securely" },
    });
    expect(errorOf(methods.requestUpgrade(upgrader(1), { scopes: ["operator.everything"] })).message).toBe("requested scopes contain an unknown operator scope");
    expect(errorOf(methods.requestUpgrade({ ...upgrader(1), scopes: ["operator.pairing"] }, { scopes: ["operator.read"] })).message).toBe(
      "requested scopes must include the connection's current scopes",
    );
    expect(errorOf(methods.requestUpgrade(upgrader(7), { scopes: ["operator.read"] })).message).toStartWith("device scope upgrade requires a paired browser identity");
    expect(store.list().pending).toEqual([]);
  });
});

describe("the scopes the official CLI connects with (captured)", () => {
  const lines = readFileSync(join(import.meta.dir, "../fixture/transcripts/devices/cli-devices.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const connScopes = (conn: number) => lines.find((l) => l.conn === conn && l.dir === "c2s" && l.data.method === "connect").data.params.scopes;
  const listOf = (conn: number) => lines.find((l) => l.conn === conn && l.dir === "s2c" && l.data.payload?.pending).data.payload;

  test("approve: pairing plus the request's scopes", () => {
    const list = listOf(1);
    const approve = lines.find((l) => l.dir === "c2s" && l.data.method === "device.pair.approve");
    const pending = list.pending.find((p: { requestId: string }) => p.requestId === approve.data.params.requestId);
    expect(approvalCallScopes(pending, undefined)).toEqual(connScopes(approve.conn));
  });

  test("revoke: pairing plus the target token's scopes", () => {
    const revoke = lines.find((l) => l.dir === "c2s" && l.data.method === "device.token.revoke");
    const target = listOf(4).paired.find((d: { deviceId: string }) => d.deviceId === revoke.data.params.deviceId);
    expect(tokenManagementCallScopes("operator", target)).toEqual(connScopes(revoke.conn));
    expect(tokenManagementCallScopes("node", target)).toEqual(["operator.admin"]);
    expect(tokenManagementCallScopes("operator", undefined)).toEqual(["operator.admin"]);
  });
});
