import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import { deviceIdOf, signaturePayload } from "../../src/auth/device-identity.ts";
import { buildConnectParams, generateDeviceKeys } from "../helpers/device-client.ts";
import { connectParams, connectRaw, RawPeer, startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ limits: { handshakeTimeoutMs: 2000 } });
});
afterAll(async () => {
  await gw.stop();
});

const client = (over: Record<string, string> = {}): Record<string, string> => ({
  id: "cli",
  version: "2026.9.6",
  platform: "linux",
  mode: "cli",
  instanceId: "i1",
  ...over,
});

async function expectRefusal(params: unknown, message: string, closeCode: number, details?: unknown) {
  const peer = new RawPeer(gw.url);
  await peer.opened;
  await peer.frame();
  peer.send({ type: "req", id: "c1", method: "connect", params });
  const res = await peer.frame();
  expect(res.ok).toBe(false);
  expect(res.error.message).toBe(message);
  if (details !== undefined) expect(res.error.details).toEqual(details);
  const closed = await peer.closed();
  expect(closed.code).toBe(closeCode);
  expect(closed.reason).toBe(message.slice(0, 120));
  return res;
}

describe("connect params (closed schema)", () => {
  test("params that are not an object", async () => {
    await expectRefusal("x", "invalid connect params: must be object", 1008);
  });

  test("unknown client id is rejected with its path", async () => {
    await expectRefusal(connectParams({ client: client({ id: "evil" }) }), "invalid connect params: at /client/id: must be equal to one of the allowed values", 1008);
  });

  test("unknown client mode", async () => {
    const res = await expectRefusal(connectParams({ client: client({ mode: "robot" }) }), "invalid connect params: at /client/mode: must be equal to one of the allowed values", 1008);
    expect(res.error.code).toBe("INVALID_REQUEST");
  });

  test("unknown top-level key", async () => {
    await expectRefusal(connectParams({ sneaky: true }), "invalid connect params: must NOT have additional properties (sneaky)", 1008);
  });

  test("missing required field", async () => {
    const params = connectParams();
    delete (params as any).minProtocol;
    await expectRefusal(params, "invalid connect params: must have required property 'minProtocol'", 1008);
  });

  test("a device block must have all five fields", async () => {
    await expectRefusal(connectParams({ device: { id: "x" } }), "invalid connect params: at /device: must have required property 'publicKey'; at /device: must have required property 'signature'; at /device: must have required property 'signedAt'; at /device: must have required property 'nonce'", 1008);
  });

  test("invalid role", async () => {
    const res = await expectRefusal(connectParams({ role: "superuser" }), "invalid role", 1008);
    expect(res.error.code).toBe("INVALID_REQUEST");
  });
});

describe("protocol negotiation", () => {
  test("cli offering only v3 is refused with PROTOCOL_MISMATCH and close 1002", async () => {
    await expectRefusal(connectParams({ minProtocol: 3, maxProtocol: 3 }), "protocol mismatch", 1002, {
      code: "PROTOCOL_MISMATCH",
      clientMinProtocol: 3,
      clientMaxProtocol: 3,
      expectedProtocol: 4,
      minimumProbeProtocol: 3,
    });
  });

  test("a future-only client (5..6) is refused", async () => {
    await expectRefusal(connectParams({ minProtocol: 5, maxProtocol: 6 }), "protocol mismatch", 1002);
  });

  test("probe clients may offer 3..4 and get protocol 4", async () => {
    const { peer, res } = await connectRaw(gw.url, connectParams({ minProtocol: 3, maxProtocol: 4, client: client({ mode: "probe", version: "dev" }) }));
    expect(res.ok).toBe(true);
    expect(res.payload.protocol).toBe(4);
    expect(res.payload.auth.scopes).toEqual([]);
    peer.close();
  });

  test("node-mode nodes may speak v3", async () => {
    // Nodes always present a device (a local one is paired silently).
    const peer = new RawPeer(gw.url);
    await peer.opened;
    const challenge = await peer.frame();
    const params = await buildConnectParams(
      { keys: await generateDeviceKeys(), role: "node", scopes: [], client: { id: "node-host", mode: "node" }, auth: { token: TEST_TOKEN } },
      challenge.payload,
    );
    peer.send({ type: "req", id: "c1", method: "connect", params: { ...params, minProtocol: 3, maxProtocol: 3 } });
    const res = await peer.frame();
    expect(res.ok).toBe(true);
    expect(res.payload.protocol).toBe(4);
    expect(res.payload.auth.role).toBe("node");
    peer.close();
  });
});

describe("pre-hello limits", () => {
  test("a frame over 64 KiB before hello closes 1009", async () => {
    const peer = new RawPeer(gw.url);
    await peer.opened;
    await peer.frame();
    peer.send({ type: "req", id: "c1", method: "connect", params: { pad: "x".repeat(70_000) } });
    const closed = await peer.closed();
    expect(closed).toMatchObject({ code: 1009, reason: "preauth payload too large", frames: [] });
  });

  test("frames sent while connect runs are answered after hello, in order", async () => {
    const peer = new RawPeer(gw.url);
    await peer.opened;
    await peer.frame();
    peer.send({ type: "req", id: "c1", method: "connect", params: connectParams() });
    peer.send({ type: "req", id: "h1", method: "health" });
    peer.send({ type: "req", id: "s1", method: "status" });
    const hello = await peer.frame();
    expect(hello).toMatchObject({ type: "res", id: "c1", ok: true });
    const ids = [];
    while (ids.length < 2) {
      const f = await peer.frame();
      if (f.type === "res") ids.push(f.id);
    }
    expect(ids).toEqual(["h1", "s1"]);
    peer.close();
  });

  test("15 frames queued during connect close the socket 1008", async () => {
    const own = await startTestGateway();
    try {
      const peer = new RawPeer(own.url);
      await peer.opened;
      await peer.frame();
      // A wrong token holds connect for the failed-auth slowdown (250 ms), long enough to queue.
      peer.send({ type: "req", id: "c1", method: "connect", params: connectParams({ auth: { token: "wrong" } }) });
      for (let i = 0; i < 15; i++) peer.send({ type: "req", id: `q${i}`, method: "health" });
      const closed = await peer.closed();
      expect(closed.code).toBe(1008);
      expect(closed.reason).toBe("too many pending handshake frames");
    } finally {
      await own.stop();
    }
  });

  test("handshake timeout closes 1000 with an empty reason", async () => {
    const own = await startTestGateway({ limits: { handshakeTimeoutMs: 200 } });
    try {
      const peer = new RawPeer(own.url);
      await peer.opened;
      const challenge = await peer.frame();
      expect(challenge.event).toBe("connect.challenge");
      const closed = await peer.closed();
      expect({ code: closed.code, reason: closed.reason }).toEqual({ code: 1000, reason: "" });
    } finally {
      await own.stop();
    }
  });

  test("the default handshake timeout is 15 s and OPENCLAW_HANDSHAKE_TIMEOUT_MS overrides it", async () => {
    const { defaultLimits } = await import("../../src/gateway/limits.ts");
    expect(defaultLimits({}).handshakeTimeoutMs).toBe(15_000);
    expect(defaultLimits({ OPENCLAW_HANDSHAKE_TIMEOUT_MS: "2500" }).handshakeTimeoutMs).toBe(2500);
    expect(defaultLimits({ OPENCLAW_HANDSHAKE_TIMEOUT_MS: "nope" }).handshakeTimeoutMs).toBe(15_000);
  });
});

describe("hello-ok", () => {
  test("carries every required field and the generated method list", async () => {
    const { peer, res } = await connectRaw(gw.url);
    const hello = res.payload;
    expect(hello.type).toBe("hello-ok");
    expect(hello.server).toMatchObject({ version: "2026.9.6", connId: expect.any(String), bootId: expect.any(String) });
    expect(hello.features.methods.sort()).toEqual([...gw.handle.methods.keys()].sort());
    expect(hello.features.events).toEqual([
      "connect.challenge",
      "tick",
      "presence",
      "health",
      "shutdown",
      "config.changed",
      "agent",
      "chat",
      "device.pair.requested",
      "device.pair.resolved",
      "device.pair.changed",
    ]);
    expect(hello.snapshot.presence[0].text).toMatch(/^Gateway: .+ \(.+\) · app 2026\.9\.6 · mode gateway · reason self$/);
    expect(hello.policy).toEqual({
      maxPayload: 26214400,
      maxBufferedBytes: 52428800,
      tickIntervalMs: 30000,
      attachments: { maxBytes: 20971520, maxImageBytes: 6291456 },
    });
    // recoveryScope: SHA-256 of the shared-secret generation (as the original sends it).
    expect(hello.auth).toEqual({ method: "token", role: "operator", scopes: ["operator.read"], recoveryScope: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(hello.snapshot.configPath).toBeUndefined();
    peer.close();
  });

  test("admin sockets also get configPath, stateDir and authMode", async () => {
    const { peer, res } = await connectRaw(gw.url, connectParams({ scopes: ["operator.admin"] }));
    expect(res.payload.snapshot.configPath).toBe(`${gw.stateDir}/openclaw.json`);
    expect(res.payload.snapshot.stateDir).toBe(gw.stateDir);
    expect(res.payload.snapshot.authMode).toBe("token");
    peer.close();
  });

  test("each connection gets its own challenge nonce and connId", async () => {
    const a = await connectRaw(gw.url);
    const b = await connectRaw(gw.url);
    expect(a.challenge.payload.nonce).not.toBe(b.challenge.payload.nonce);
    expect(a.res.payload.server.connId).not.toBe(b.res.payload.server.connId);
    a.peer.close();
    b.peer.close();
  });
});

describe("device identity", () => {
  const keys = generateKeyPairSync("ed25519");
  const raw = Buffer.from((keys.publicKey.export({ format: "jwk" }) as { x: string }).x, "base64url");
  const deviceId = deviceIdOf(raw);

  async function connectWithDevice(mutate: (d: any, nonce: string) => void = () => {}, version: "v3" | "v2" = "v3") {
    const peer = new RawPeer(gw.url);
    await peer.opened;
    const challenge = await peer.frame();
    const nonce = challenge.payload.nonce;
    const scopes = ["operator.read", "operator.write"];
    const c = client({ id: "openclaw-macos", mode: "ui", platform: "Darwin", deviceFamily: "Mac" });
    const device: any = { id: deviceId, publicKey: raw.toString("base64url"), signedAt: Date.now(), nonce };
    const payload = signaturePayload(version, device, {
      clientId: c.id,
      clientMode: c.mode,
      role: "operator",
      scopes,
      token: TEST_TOKEN,
      platform: c.platform,
      deviceFamily: c.deviceFamily,
    });
    device.signature = sign(null, Buffer.from(payload), keys.privateKey).toString("base64url");
    mutate(device, nonce);
    peer.send({ type: "req", id: "c1", method: "connect", params: connectParams({ client: c, scopes, device }) });
    const res = await peer.frame();
    return { peer, res };
  }

  test("a valid v3 signature from a local client is accepted with the requested scopes", async () => {
    const { peer, res } = await connectWithDevice();
    expect(res.ok).toBe(true);
    expect(res.payload.auth.scopes).toEqual(["operator.read", "operator.write"]);
    peer.close();
  });

  test("v2 signatures (Control UI) verify too", async () => {
    const { peer, res } = await connectWithDevice(() => {}, "v2");
    expect(res.ok).toBe(true);
    peer.close();
  });

  const failures: Array<[string, (d: any) => void, string, string]> = [
    ["bad signature", (d) => (d.signature = Buffer.alloc(64, 1).toString("base64url")), "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID"],
    ["wrong nonce", (d) => (d.nonce = "00000000-0000-0000-0000-000000000000"), "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH"],
    ["blank nonce", (d) => (d.nonce = " "), "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED"],
    ["stale signature", (d) => (d.signedAt = Date.now() - 10 * 60_000), "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"],
    ["id not derived from the key", (d) => (d.id = "ab".repeat(32)), "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"],
    // The reference answers a key that does not decode as an identity mismatch (captured).
    ["unusable key", (d) => (d.publicKey = "AAAA"), "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"],
  ];
  for (const [name, mutate, message, code] of failures) {
    test(`${name} → ${code}`, async () => {
      const { peer, res } = await connectWithDevice(mutate);
      expect(res.ok).toBe(false);
      expect(res.error.code).toBe("INVALID_REQUEST");
      expect(res.error.message).toBe(message);
      expect(res.error.details.code).toBe(code);
      const closed = await peer.closed();
      expect(closed.code).toBe(1008);
      expect(closed.reason).toBe(message);
    });
  }
});
