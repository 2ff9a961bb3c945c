/**
 * config.set / config.patch / config.apply / secrets.reload over the real protocol, against an
 * in-process gateway with the config lifecycle running.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GatewayClient, GatewayRequestError } from "../../src/protocol/client.ts";
import { REDACTED } from "../../src/config/redact.ts";
import { VERSION } from "../../src/version.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { startTestGateway, TEST_TOKEN } from "../helpers/gateway.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";
import { baseConfig, waitUntil, type TestRuntime } from "../helpers/runtime.ts";

const { start, connect } = useTestRuntimes();

async function rpcError(p: Promise<unknown>): Promise<GatewayRequestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayRequestError);
    return err as GatewayRequestError;
  }
  throw new Error("request unexpectedly succeeded");
}

const fileDoc = (t: TestRuntime) => JSON.parse(readFileSync(t.configPath, "utf8"));

describe("config.set / config.apply / config.patch", () => {
  test("base hash: required when the file exists, must match config.get's hash", async () => {
    const t = await start();
    const c = await connect(t);
    const raw = JSON.stringify(baseConfig({ wizard: { a: 1 } }));
    const missing = await rpcError(c.request("config.set", { raw }));
    expect(missing.error).toEqual({ code: "INVALID_REQUEST", message: "config base hash required; re-run config.get and retry" });
    const stale = await rpcError(c.request("config.set", { raw, baseHash: "sha256:0000" }));
    expect(stale.error).toEqual({ code: "INVALID_REQUEST", message: "config changed since last load; re-run config.get and retry" });
    const before = readFileSync(t.configPath, "utf8");
    expect(before).not.toContain("wizard");
    const { hash } = await c.request<any>("config.get", {});
    const ok = await c.request<any>("config.set", { raw, baseHash: hash });
    expect(ok).toMatchObject({ ok: true, path: t.configPath, changed: ["wizard.a"], reload: { status: "pending" } });
    expect(ok.hash).not.toBe(hash);
    expect((await c.request<any>("config.get", {})).hash).toBe(ok.hash);
    // Using the old hash again is a conflict now.
    const conflict = await rpcError(c.request("config.set", { raw, baseHash: hash }));
    expect(conflict.error.message).toBe("config changed since last load; re-run config.get and retry");
  });

  test("config.set writes through the one writer: stamped, 0600, one .bak, unknown trees and ${VAR} kept", async () => {
    const t = await start();
    const c = await connect(t);
    const { hash } = await c.request<any>("config.get", {});
    const doc = baseConfig({ channels: { matrix: { homeserver: "https://m.example", custom: { deep: [1, 2] } } }, models: { providers: { p: { apiKey: "${SOME_KEY}" } } } });
    await c.request("config.set", { raw: JSON.stringify(doc), baseHash: hash });
    const written = fileDoc(t);
    expect(written.meta.lastTouchedVersion).toBe(VERSION);
    // Only what the original accepts in `meta` (it refuses lastTouchedAt).
    expect(Object.keys(written.meta)).toEqual(["lastTouchedVersion"]);
    expect(written.channels).toEqual({ matrix: { homeserver: "https://m.example", custom: { deep: [1, 2] } } });
    expect(written.models.providers.p.apiKey).toBe("${SOME_KEY}");
    expect(statSync(t.configPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${t.configPath}.bak`, "utf8"))).toEqual(baseConfig());
  });

  test("an invalid document is refused with the key path; the file is untouched", async () => {
    const t = await start();
    const c = await connect(t);
    const before = readFileSync(t.configPath, "utf8");
    const { hash } = await c.request<any>("config.get", {});
    const err = await rpcError(c.request("config.apply", { raw: JSON.stringify({ gateway: { mode: "local", port: 0 } }), baseHash: hash }));
    expect(err.error.code).toBe("INVALID_REQUEST");
    expect(err.error.message).toMatch(/^invalid config: gateway\.port: /);
    expect((err.error.details as any).issues[0].path).toBe("gateway.port");
    const parse = await rpcError(c.request("config.apply", { raw: "{ nope", baseHash: hash }));
    expect(parse.error.message).toMatch(/^invalid config\.apply params: raw: /);
    const notObject = await rpcError(c.request("config.apply", { raw: "[1,2]", baseHash: hash }));
    expect(notObject.error.message).toBe("invalid config.apply params: raw: must be a JSON5 object");
    expect(readFileSync(t.configPath, "utf8")).toBe(before);
  });

  test("config.patch merges (null deletes, arrays replace) and applies at once", async () => {
    const t = await start(baseConfig({ gateway: { ...baseConfig().gateway, trustedProxies: ["10.0.0.1"] }, wizard: { keep: 1, drop: 2 } }));
    const c = await connect(t);
    const { hash } = await c.request<any>("config.get", {});
    const r = await c.request<any>("config.patch", {
      raw: JSON.stringify({ gateway: { trustedProxies: ["10.0.0.2", "10.0.0.3"] }, wizard: { drop: null } }),
      baseHash: hash,
    });
    expect(r.ok).toBe(true);
    expect(r.reload).toMatchObject({ status: "applied", restart: [] });
    expect(r.reload.hot).toContain("gateway.trustedProxies");
    const doc = fileDoc(t);
    expect(doc.gateway.trustedProxies).toEqual(["10.0.0.2", "10.0.0.3"]);
    expect(doc.wizard).toEqual({ keep: 1 });
    expect(doc.gateway.auth.token).toBe(TEST_TOKEN);
    expect(t.runtime.settings.trustedProxies).toEqual(["10.0.0.2", "10.0.0.3"]);
  });

  test("config.patch answers for its own write, even when the watcher sees the file at once (debounce 0)", async () => {
    const t = await start(baseConfig({}, { debounceMs: 0 }));
    const c = await connect(t);
    let { hash } = await c.request<any>("config.get", {});
    for (let i = 0; i < 12; i++) {
      const r = await c.request<any>("config.patch", { raw: JSON.stringify({ gateway: { trustedProxies: [`10.0.1.${i}`] } }), baseHash: hash });
      expect(r.reload.status).toBe("applied");
      // The first reload of this content is the RPC's own; the watcher's (held until then) finds nothing new.
      const outcomes = t.runtime.lifecycle!.history.filter((o) => o.hash === r.hash);
      expect(outcomes[0].trigger).toBe("rpc");
      expect(outcomes.slice(1).every((o) => o.status === "unchanged")).toBe(true);
      expect(t.runtime.settings.trustedProxies).toEqual([`10.0.1.${i}`]);
      hash = r.hash;
    }
  });

  test("a redacted config sent back keeps its secrets; a placeholder with nothing to keep is refused", async () => {
    const t = await start(baseConfig({ models: { providers: { p: { apiKey: "sk-secret-value-123456" } } } }));
    const c = await connect(t);
    const got = await c.request<any>("config.get", {});
    expect(got.raw).not.toContain("sk-secret-value-123456");
    const edited = { ...got.parsed, wizard: { touched: true } };
    expect(edited.gateway.auth.token).toBe(REDACTED);
    const r = await c.request<any>("config.apply", { raw: JSON.stringify(edited), baseHash: got.hash });
    expect(r.changed).toEqual(["wizard.touched"]);
    const doc = fileDoc(t);
    expect(doc.gateway.auth.token).toBe(TEST_TOKEN);
    expect(doc.models.providers.p.apiKey).toBe("sk-secret-value-123456");
    const got2 = await c.request<any>("config.get", {});
    const err = await rpcError(
      c.request("config.apply", { raw: JSON.stringify({ ...got2.parsed, channels: { x: { botToken: REDACTED } } }), baseHash: got2.hash }),
    );
    expect(err.error.message).toContain("channels.x.botToken: holds the redaction placeholder");
    expect(fileDoc(t).channels).toBeUndefined();
  });

  test("no effective change is a no-op: nothing written", async () => {
    const t = await start();
    const c = await connect(t);
    const before = readFileSync(t.configPath, "utf8");
    const { hash, parsed } = await c.request<any>("config.get", {});
    const r = await c.request<any>("config.apply", { raw: JSON.stringify(parsed), baseHash: hash });
    expect(r).toMatchObject({ ok: true, noop: true, changed: [] });
    expect(readFileSync(t.configPath, "utf8")).toBe(before);
  });

  test("config.apply with a restart-class change answers first, then restarts in process", async () => {
    const t = await start();
    const c = await connect(t);
    const { hash } = await c.request<any>("config.get", {});
    const newPort = await freePort();
    const shutdown = c.waitForEvent("shutdown", 5_000);
    const r = await c.request<any>("config.apply", {
      raw: JSON.stringify(baseConfig({ gateway: { ...baseConfig().gateway, port: newPort } })),
      baseHash: hash,
      restartDelayMs: 20,
    });
    expect(r.reload).toMatchObject({ status: "restart-scheduled", restart: ["gateway.port"] });
    expect((await shutdown).payload).toMatchObject({ reason: "gateway restarting" });
    await waitUntil(() => t.runtime.port === newPort, "listener on the new port");
    expect(t.runtime.restarts).toBe(1);
  });

  test("admin only; the 31st write within 60 s is rate limited", async () => {
    const t = await start();
    const reader = await connect(t, { scopes: ["operator.read", "operator.write"] });
    const forbidden = await rpcError(reader.request("config.set", { raw: "{}" }));
    expect(forbidden.error).toMatchObject({ code: "FORBIDDEN", message: "missing scope: operator.admin" });
    const c = await connect(t);
    for (let i = 0; i < 30; i++) {
      const err = await rpcError(c.request("config.patch", { raw: "{}", baseHash: "sha256:x" }));
      expect(err.error.message).toBe("config changed since last load; re-run config.get and retry");
    }
    const limited = await rpcError(c.request("config.patch", { raw: "{}", baseHash: "sha256:x" }));
    expect(limited.error.code).toBe("UNAVAILABLE");
    expect(limited.error.message).toMatch(/^rate limit exceeded for config\.patch; retry after \d+s$/);
    expect(limited.error.retryable).toBe(true);
    expect(limited.error.retryAfterMs).toBeGreaterThan(0);
    expect(limited.error.details).toEqual({ method: "config.patch", limit: "30 per 60s" });
    // Per method: config.set still has its own budget.
    const other = await rpcError(c.request("config.set", { raw: "{}", baseHash: "sha256:x" }));
    expect(other.error.code).toBe("INVALID_REQUEST");
  });

  test("a bare gateway (no lifecycle) still writes and says the change is not applied", async () => {
    const gw = await startTestGateway();
    try {
      const c = await GatewayClient.connect({ url: gw.url, token: TEST_TOKEN, scopes: ["operator.admin"], connectTimeoutMs: 5000 });
      const { hash } = await c.request<any>("config.get", {});
      const r = await c.request<any>("config.apply", { raw: JSON.stringify({ ...baseConfig(), wizard: { x: 1 } }), baseHash: hash });
      expect(r.reload).toEqual({ status: "unavailable" });
      const err = await rpcError(c.request("secrets.reload", {}));
      expect(err.error.code).toBe("UNAVAILABLE");
      await c.close();
    } finally {
      await gw.stop();
    }
  });
});

describe("secrets.reload", () => {
  test("re-resolves ${VAR} from <stateDir>/.env without a restart; a rotated token closes old sockets after the reply", async () => {
    const config = {
      gateway: { mode: "local", auth: { mode: "token", token: "${GW_TOKEN}" }, reload: { mode: "off" } },
      models: { providers: { p: { apiKey: "${PROVIDER_KEY}", baseUrl: "http://127.0.0.1:9/v1" } } },
    };
    const t = await start(config, { files: { ".env": "GW_TOKEN=first-token-0123456789\nPROVIDER_KEY=key-one\n" } });
    expect(t.runtime.snapshot.config.models?.providers?.p.apiKey).toBe("key-one");
    const c = await connect(t, { token: "first-token-0123456789" });
    writeFileSync(join(t.stateDir, ".env"), 'GW_TOKEN="second-token-0123456789"\nPROVIDER_KEY=key-two # rotated\n');
    const r = await c.request<any>("secrets.reload", {});
    expect(r).toMatchObject({ ok: true, status: "applied", restart: [] });
    expect(r.hot.sort()).toEqual(["gateway.auth.token", "models.providers.p.apiKey"]);
    expect(t.runtime.snapshot.config.models?.providers?.p.apiKey).toBe("key-two");
    expect(await c.closed).toEqual({ code: 4001, reason: "gateway auth changed" });
    expect(t.runtime.restarts).toBe(0);
    const again = await connect(t, { token: "second-token-0123456789" });
    expect((await again.request<any>("secrets.reload", {})).status).toBe("unchanged");
  });
});
