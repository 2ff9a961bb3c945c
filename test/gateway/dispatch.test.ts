import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GatewayClient, GatewayRequestError } from "../../src/protocol/client.ts";
import { deviceSigner, generateDeviceKeys } from "../helpers/device-client.ts";
import { connectParams, connectRaw, startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } },
      models: {
        providers: {
          local: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-provider-secret-value", api: "openai-completions", models: [{ id: "qwen3", name: "Qwen 3" }] },
        },
      },
      agents: { entries: { main: { default: true, model: "local/qwen3" }, helper: { model: "anthropic/claude-x" } } },
    },
    limits: { tickIntervalMs: 150 },
  });
});
afterAll(async () => {
  await gw.stop();
});

const connect = (opts: Partial<Parameters<typeof GatewayClient.connect>[0]> = {}) =>
  GatewayClient.connect({ url: gw.url, token: TEST_TOKEN, connectTimeoutMs: 5000, requestTimeoutMs: 5000, ...opts });

async function rpcError(c: GatewayClient, method: string, params?: unknown): Promise<GatewayRequestError> {
  try {
    await c.request(method, params);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayRequestError);
    return err as GatewayRequestError;
  }
  throw new Error(`${method} unexpectedly succeeded`);
}

describe("device-less scope rules", () => {
  test("cli/cli on loopback with the token keeps operator.read", async () => {
    const c = await connect();
    expect(c.scopes).toEqual(["operator.read"]);
    expect(Array.isArray(await c.request("system-presence"))).toBe(true);
    await c.close();
  });

  test("gateway-client/backend keeps operator.read", async () => {
    const c = await connect({ client: { id: "gateway-client", mode: "backend", displayName: "gateway:status" } });
    expect(c.scopes).toEqual(["operator.read"]);
    expect((await c.request<any>("status")).runtimeVersion).toBe("2026.9.6");
    await c.close();
  });

  test("cli/probe gets no scopes: health works, status is FORBIDDEN missing operator.read", async () => {
    const c = await connect({ client: { id: "cli", mode: "probe", version: "dev" }, minProtocol: 3 });
    expect(c.scopes).toEqual([]);
    expect((await c.request<any>("health")).ok).toBe(true);
    const err = await rpcError(c, "status");
    expect(err.error).toEqual({
      code: "FORBIDDEN",
      message: "missing scope: operator.read",
      details: { code: "MISSING_SCOPE", missingScope: "operator.read", requiredScopes: ["operator.read"] },
    });
    await c.close();
  });

  test("other device-less clients get no scopes", async () => {
    const c = await connect({ client: { id: "openclaw-linux", mode: "ui" }, scopes: ["operator.admin"] });
    expect(c.scopes).toEqual([]);
    await c.close();
  });

  test("unknown scope names are kept as sent (as the original) but grant nothing", async () => {
    const c = await connect({ scopes: ["operator.godmode"] });
    expect(c.scopes).toEqual(["operator.godmode"]);
    expect((await rpcError(c, "status")).message).toBe("missing scope: operator.read");
    await c.close();
  });
});

describe("method authorization", () => {
  test("unknown method: FORBIDDEN missing operator.admin for non-admins", async () => {
    const c = await connect();
    const err = await rpcError(c, "no.such.method", {});
    expect(err.code).toBe("FORBIDDEN");
    expect(err.message).toBe("missing scope: operator.admin");
    await c.close();
  });

  test("unknown method: INVALID_REQUEST unknown method for admins", async () => {
    const c = await connect({ scopes: ["operator.admin"] });
    const err = await rpcError(c, "no.such.method", {});
    expect(err.error).toEqual({ code: "INVALID_REQUEST", message: "unknown method: no.such.method" });
    await c.close();
  });

  test("write implies read", async () => {
    const c = await connect({ scopes: ["operator.write"] });
    expect(Array.isArray(await c.request("system-presence"))).toBe(true);
    await c.close();
  });

  test("nodes may call health but not operator methods; >10 in a row closes the socket", async () => {
    // A node needs a device identity (a local one is paired silently).
    const c = await connect({ role: "node", scopes: [], client: { id: "node-host", mode: "node" }, device: deviceSigner(await generateDeviceKeys()) });
    expect((await c.request<any>("health")).ok).toBe(true);
    for (let i = 0; i < 11; i++) {
      const err = await rpcError(c, "status");
      expect(err.message).toBe("unauthorized role: node");
    }
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1008, reason: "repeated unauthorized calls" });
  });

  test("bad params are INVALID_REQUEST with the method name", async () => {
    const c = await connect();
    const err = await rpcError(c, "models.list", { view: "everything" });
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toStartWith("invalid models.list params: at /view:");
    await c.close();
  });
});

describe("frames after hello", () => {
  test("invalid JSON is ignored and the socket stays usable; a malformed req gets INVALID_REQUEST", async () => {
    const { peer, res } = await connectRaw(gw.url);
    expect(res.ok).toBe(true);
    peer.send("{not json");
    peer.send({ type: "req", id: "bad1" });
    peer.send({ type: "req", id: "h1", method: "health" });
    const got: any[] = [];
    while (got.length < 2) {
      const f = await peer.frame();
      if (f.type === "res") got.push(f);
    }
    expect(got[0]).toEqual({ type: "res", id: "bad1", ok: false, error: { code: "INVALID_REQUEST", message: "invalid request frame" } });
    expect(got[1]).toMatchObject({ id: "h1", ok: true });
    peer.close();
  });

  test("params may be omitted", async () => {
    const { peer } = await connectRaw(gw.url);
    peer.send({ type: "req", id: "s", method: "status" });
    let f;
    do f = await peer.frame();
    while (f.type !== "res");
    expect(f.ok).toBe(true);
    peer.close();
  });

  test("a second connect is refused without closing", async () => {
    const c = await connect();
    const err = await rpcError(c, "connect", connectParams());
    expect(err.message).toBe("already connected");
    expect((await c.request<any>("health")).ok).toBe(true);
    await c.close();
  });
});

describe("methods", () => {
  test("config.get redacts secrets everywhere, including raw text", async () => {
    const c = await connect();
    const cfg = await c.request<any>("config.get", {});
    const text = JSON.stringify(cfg);
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toContain("sk-provider-secret-value");
    expect(cfg.parsed.gateway.auth.token).toBe("__OPENCLAW_REDACTED__");
    expect(cfg.config.models.providers.local.apiKey).toBe("__OPENCLAW_REDACTED__");
    expect(cfg.raw).toContain("__OPENCLAW_REDACTED__");
    expect(cfg).toMatchObject({ path: `${gw.stateDir}/openclaw.json`, exists: true, valid: true, issues: [], legacyIssues: [] });
    expect(cfg.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    await c.close();
  });

  test("models.list lists configured provider models and agent model refs", async () => {
    const c = await connect();
    const { models } = await c.request<any>("models.list", {});
    expect(models).toEqual([
      { id: "qwen3", name: "Qwen 3", provider: "local", available: true, tags: ["default"] },
      { id: "claude-x", name: "claude-x", provider: "anthropic", available: true },
    ]);
    const forMain = await c.request<any>("models.list", { agentId: "main" });
    expect(forMain.models.map((m: any) => m.id)).toEqual(["qwen3"]);
    await c.close();
  });

  test("health lists every agent with its sessions block", async () => {
    const c = await connect();
    const h = await c.request<any>("health");
    expect(h.defaultAgentId).toBe("main");
    expect(h.agents.map((a: any) => a.agentId)).toEqual(["main", "helper"]);
    for (const a of h.agents) expect(a.sessions).toEqual({ path: expect.stringMatching(/\/openclaw\.sqlite$/), count: 0, recent: [] });
    await c.close();
  });
});

describe("events", () => {
  test("tick every tickIntervalMs with a per-socket seq starting at 1", async () => {
    const c = await connect();
    expect(c.hello.policy.tickIntervalMs).toBe(150);
    const a = await c.waitForEvent("tick", 3000);
    const b = await c.waitForEvent("tick", 3000);
    expect(a.seq).toBeGreaterThanOrEqual(1);
    expect(b.seq).toBe(a.seq! + 1);
    expect(typeof (a.payload as any).ts).toBe("number");
    await c.close();
  });

  test("presence is broadcast on join and leave of a non-ephemeral client", async () => {
    const watcher = await connect();
    const before = watcher.hello.snapshot.stateVersion as { presence: number };
    const joined = watcher.waitForEvent("presence", 3000);
    const app = await connect({ client: { id: "openclaw-macos", mode: "ui", displayName: "laptop" } });
    const join = await joined;
    expect(join.stateVersion!.presence).toBeGreaterThan(before.presence);
    const entries = (join.payload as any).presence;
    expect(entries[0].reason).toBe("self");
    expect(entries.find((e: any) => e.clientId === "openclaw-macos")).toMatchObject({ reason: "connect", host: "laptop", mode: "ui" });
    const left = watcher.waitForEvent("presence", 3000);
    await app.close();
    const leave = await left;
    expect((leave.payload as any).presence.find((e: any) => e.clientId === "openclaw-macos").reason).toBe("disconnect");
    expect(leave.stateVersion!.presence).toBe(join.stateVersion!.presence + 1);
    await watcher.close();
  });

  test("presence is not sent to sockets without operator.read", async () => {
    const probe = await connect({ client: { id: "cli", mode: "probe" }, minProtocol: 3 });
    const seen: string[] = [];
    probe.onEvent((e) => seen.push(e.event));
    const app = await connect({ client: { id: "openclaw-ios", mode: "ui" } });
    await app.close();
    await probe.waitForEvent("tick", 3000);
    await probe.waitForEvent("tick", 3000);
    expect(seen).not.toContain("presence");
    await probe.close();
  });

  test("a fresh health snapshot is broadcast with a bumped stateVersion.health", async () => {
    const watcher = await connect();
    const caller = await connect();
    const before = (watcher.hello.snapshot.stateVersion as any).health;
    const ev = watcher.waitForEvent("health", 3000);
    await caller.request("health", { probe: true });
    const got = await ev;
    expect((got.payload as any).ok).toBe(true);
    expect(got.stateVersion!.health).toBeGreaterThan(before);
    await watcher.close();
    await caller.close();
  });
});
