import { afterEach, describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { connectDevice, generateDeviceKeys } from "../helpers/device-client.ts";
import { connectParams, connectRaw, RawPeer, startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const cliClient = { id: "cli", version: "2026.9.6", platform: "linux", mode: "cli", instanceId: "i1" };

/** Send a raw HTTP request and return the status line, headers and body. */
function rawHttp(port: number, request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(port, "127.0.0.1");
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("raw http timed out"));
    }, 5000);
    sock.on("data", (d) => {
      buf += d.toString();
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.slice(0, end);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
      if (buf.length - end - 4 < length) return;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: Number(head.split(" ")[1]), headers: head, body: buf.slice(end + 4, end + 4 + length) });
    });
    sock.on("error", reject);
    sock.write(request);
  });
}

function upgradeRequest(port: number, extra: string[] = []): string {
  return [
    "GET / HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
    "",
    "",
  ].join("\r\n");
}

describe("token mode", () => {
  test("no token and no device → NOT_PAIRED device identity required (not counted as a failure)", async () => {
    gw = await startTestGateway();
    const { peer, res } = await connectRaw(gw.url, connectParams({ auth: undefined }));
    expect(res.error).toEqual({ code: "NOT_PAIRED", message: "device identity required", details: { code: "DEVICE_IDENTITY_REQUIRED" } });
    expect(await peer.closed()).toMatchObject({ code: 1008, reason: "device identity required" });
    expect(gw.handle.limiter.lockedFor("shared-secret", "127.0.0.1")).toBe(0);
  });

  test("the token may arrive in auth.password too", async () => {
    gw = await startTestGateway();
    const { peer, res } = await connectRaw(gw.url, connectParams({ auth: { password: TEST_TOKEN } }));
    expect(res.ok).toBe(true);
    expect(res.payload.auth.method).toBe("token");
    peer.close();
  });

  test("a Control UI without device identity gets CONTROL_UI_DEVICE_IDENTITY_REQUIRED", async () => {
    gw = await startTestGateway();
    const origin = `http://127.0.0.1:${gw.port}`;
    const { peer, res } = await connectRaw(
      gw.url,
      connectParams({ auth: undefined, client: { ...cliClient, id: "openclaw-control-ui", mode: "webchat" } }),
      { Origin: origin },
    );
    expect(res.error.message).toBe("control ui requires device identity (use HTTPS or localhost secure context)");
    expect(res.error.details.code).toBe("CONTROL_UI_DEVICE_IDENTITY_REQUIRED");
    peer.close();
  });
});

describe("password mode", () => {
  test("correct password connects; a wrong one is AUTH_PASSWORD_MISMATCH", async () => {
    gw = await startTestGateway({ config: { gateway: { mode: "local", auth: { mode: "password", password: "hunter2-hunter2" } } } });
    const ok = await connectRaw(gw.url, connectParams({ auth: { password: "hunter2-hunter2" } }));
    expect(ok.res.ok).toBe(true);
    expect(ok.res.payload.auth.method).toBe("password");
    ok.peer.close();
    const bad = await connectRaw(gw.url, connectParams({ auth: { password: "nope" } }));
    expect(bad.res.error).toEqual({
      code: "INVALID_REQUEST",
      message: "unauthorized: gateway password mismatch",
      details: { code: "AUTH_PASSWORD_MISMATCH", authReason: "password_mismatch", canRetryWithDeviceToken: false, recommendedNextStep: "update_auth_credentials" },
    });
    expect(await bad.peer.closed()).toMatchObject({ code: 1008, reason: "unauthorized: gateway password mismatch" });
  });
});

describe("none mode", () => {
  test("a direct-local CLI without a device is asked for one (as the original); with one it is paired silently", async () => {
    gw = await startTestGateway({ config: { gateway: { mode: "local", auth: { mode: "none" } } } });
    const bare = await connectRaw(gw.url, connectParams({ auth: undefined }));
    expect(bare.res.error).toEqual({ code: "NOT_PAIRED", message: "device identity required", details: { code: "DEVICE_IDENTITY_REQUIRED" } });
    bare.peer.close();
    const keys = await generateDeviceKeys();
    const paired = await connectDevice({ url: gw.url, keys, scopes: ["operator.read"] });
    expect(paired.response.ok).toBe(true);
    expect(paired.response.payload.auth).toMatchObject({ method: "none", role: "operator", scopes: ["operator.read"], deviceToken: expect.any(String) });
    expect(gw.handle.devices.store.getPaired(keys.deviceId)?.approvedVia).toBe("silent");
    // The local backend helper needs no device.
    const backend = await connectRaw(gw.url, connectParams({ auth: undefined, client: { id: "gateway-client", version: "2026.9.6", platform: "linux", mode: "backend" } }));
    expect(backend.res.payload.auth).toMatchObject({ method: "none", scopes: ["operator.read"] });
    backend.peer.close();
  });

  test("a loopback client behind a trusted proxy is not direct-local and needs a device", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "none" }, trustedProxies: ["127.0.0.1"] } },
    });
    const { peer, res } = await connectRaw(gw.url, connectParams({ auth: undefined }), { "X-Forwarded-For": "203.0.113.9" });
    expect(res.error.code).toBe("NOT_PAIRED");
    expect(res.error.message).toBe("device identity required");
    peer.close();
  });
});

describe("failed-auth slowdown and lockout", () => {
  test("each failure from the same client waits longer: 250, 500, 1000 ms", async () => {
    gw = await startTestGateway();
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const { peer, res } = await connectRaw(gw.url, connectParams({ auth: { token: "wrong" } }));
      waits.push(performance.now() - started);
      expect(res.error.details.code).toBe("AUTH_TOKEN_MISMATCH");
      peer.close();
    }
    // The slowdown is a deliberate minimum delay (a functional property, not a performance bound).
    expect(waits[0]).toBeGreaterThanOrEqual(240);
    expect(waits[1]).toBeGreaterThanOrEqual(490);
    expect(waits[2]).toBeGreaterThanOrEqual(990);
  });

  test("a success resets the slowdown", async () => {
    gw = await startTestGateway();
    const bad = await connectRaw(gw.url, connectParams({ auth: { token: "wrong" } }));
    bad.peer.close();
    const good = await connectRaw(gw.url);
    expect(good.res.ok).toBe(true);
    good.peer.close();
    // The next failure counts as the first again: a 250 ms slowdown, not 500 ms.
    expect(gw.handle.limiter.recordFailure("shared-secret", "127.0.0.1", true)).toBe(250);
  });

  test("maxAttempts failures lock the client out (AUTH_RATE_LIMITED) even with the right token", async () => {
    gw = await startTestGateway({
      config: {
        gateway: {
          mode: "local",
          auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 2, windowMs: 60_000, lockoutMs: 60_000, exemptLoopback: false } },
        },
      },
    });
    for (let i = 0; i < 2; i++) {
      const { peer } = await connectRaw(gw.url, connectParams({ auth: { token: "wrong" } }));
      peer.close();
    }
    const { peer, res } = await connectRaw(gw.url);
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe("INVALID_REQUEST");
    expect(res.error.message).toBe("unauthorized: too many failed authentication attempts (retry later)");
    expect(res.error.details).toMatchObject({ code: "AUTH_RATE_LIMITED", authReason: "rate_limited", recommendedNextStep: "wait_then_retry" });
    expect(res.error.retryable).toBe(true);
    expect(res.error.retryAfterMs).toBeGreaterThan(0);
    expect((await peer.closed()).code).toBe(1008);
  });

  test("loopback is exempt from the lockout by default", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 2 } } } },
    });
    for (let i = 0; i < 2; i++) {
      const { peer } = await connectRaw(gw.url, connectParams({ auth: { token: "wrong" } }));
      peer.close();
    }
    const { peer, res } = await connectRaw(gw.url);
    expect(res.ok).toBe(true);
    peer.close();
  });
});

describe("browser Origin", () => {
  test("a foreign Origin is refused at connect with CONTROL_UI_ORIGIN_NOT_ALLOWED", async () => {
    gw = await startTestGateway();
    const { peer, res } = await connectRaw(gw.url, connectParams(), { Origin: "https://evil.example" });
    expect(res.error.code).toBe("INVALID_REQUEST");
    expect(res.error.message).toBe(
      "origin not allowed (open the Control UI from the gateway host or allow it in gateway.controlUi.allowedOrigins)",
    );
    expect(res.error.details.code).toBe("CONTROL_UI_ORIGIN_NOT_ALLOWED");
    const closed = await peer.closed();
    expect(closed.code).toBe(1008);
    expect(closed.reason.length).toBeLessThanOrEqual(120);
  });

  test("same-host loopback Origin and listed origins are accepted", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, controlUi: { allowedOrigins: ["https://ui.example"] } } },
    });
    for (const origin of [`http://127.0.0.1:${gw.port}`, "https://ui.example"]) {
      const { peer, res } = await connectRaw(gw.url, connectParams(), { Origin: origin });
      expect(res.ok).toBe(true);
      peer.close();
    }
  });

  test("browser-origin failures are never loopback-exempt", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN, rateLimit: { maxAttempts: 1 } } } },
    });
    const origin = `http://127.0.0.1:${gw.port}`;
    const first = await connectRaw(gw.url, connectParams({ auth: { token: "wrong" } }), { Origin: origin });
    first.peer.close();
    const second = await connectRaw(gw.url, connectParams(), { Origin: origin });
    expect(second.res.error.details.code).toBe("AUTH_RATE_LIMITED");
    second.peer.close();
    // A plain local CLI (no Origin) is a different key and is not locked out.
    const cli = await connectRaw(gw.url);
    expect(cli.res.ok).toBe(true);
    cli.peer.close();
  });
});

describe("upgrade checks", () => {
  test("loopback peer with forwarding headers from an untrusted proxy → 403 proxy_attribution_required", async () => {
    gw = await startTestGateway();
    const res = await rawHttp(gw.port, upgradeRequest(gw.port, ["X-Forwarded-For: 203.0.113.7"]));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.type).toBe("proxy_attribution_required");
  });

  test("a non-WebSocket Upgrade is a 400", async () => {
    gw = await startTestGateway();
    const res = await rawHttp(gw.port, `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n`);
    expect(res.status).toBe(400);
  });

  test("more than 32 unauthenticated sockets from one IP → 503", async () => {
    gw = await startTestGateway();
    const peers: RawPeer[] = [];
    try {
      for (let i = 0; i < 32; i++) {
        const p = new RawPeer(gw.url);
        await p.opened;
        peers.push(p);
      }
      const res = await rawHttp(gw.port, upgradeRequest(gw.port));
      expect(res.status).toBe(503);
      expect(res.body).toBe("Too many unauthenticated sockets");
      // Authenticating one frees a slot.
      const first = peers[0];
      await first.frame();
      first.send({ type: "req", id: "c1", method: "connect", params: connectParams() });
      expect((await first.frame()).ok).toBe(true);
      const again = new RawPeer(gw.url);
      await again.opened;
      expect((await again.frame()).event).toBe("connect.challenge");
      peers.push(again);
    } finally {
      for (const p of peers) p.close();
    }
  });
});
