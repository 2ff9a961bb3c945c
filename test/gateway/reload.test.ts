/**
 * Hot reload with sockets connected, one test per behaviour: every reload mode, rename-over
 * edits, invalid edits, shared-secret rotation, and the in-process restart on a new port.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { GatewayClient, GatewayConnectError } from "../../src/protocol/client.ts";
import { freePort, tryConnect } from "../../scripts/lib/proc.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";
import { baseConfig, waitUntil } from "../helpers/runtime.ts";

const { start, connect } = useTestRuntimes();

function closeInfo(c: GatewayClient): { code: number; reason: string } | undefined {
  return (c as unknown as { closeInfo?: { code: number; reason: string } }).closeInfo;
}

const models = (ids: string[]) => ({
  models: { providers: { local: { baseUrl: "http://127.0.0.1:9/v1", api: "openai-completions", models: ids.map((id) => ({ id })) } } },
});

async function modelIds(c: GatewayClient): Promise<string[]> {
  const r = await c.request<{ models: Array<{ id: string }> }>("models.list", { view: "provider-config" });
  return r.models.map((m) => m.id).sort();
}

describe("hybrid (default)", () => {
  test("a hot-safe edit applies in place and every socket stays connected", async () => {
    const t = await start(baseConfig(models(["a"])));
    const admin = await connect(t);
    const reader = await connect(t, { scopes: ["operator.read"] });
    const changed = reader.waitForEvent("config.changed", 5_000);
    const hash = t.write(baseConfig({ ...models(["a", "b"]), agents: { defaults: { model: "local/b" } } }));
    const outcome = await t.processed(hash);
    expect(outcome.status).toBe("applied");
    expect(outcome.hot).toEqual(expect.arrayContaining(["models.providers.local.models", "agents.defaults.model"]));
    expect(outcome.restart).toEqual([]);
    expect((await changed).payload).toMatchObject({ path: t.configPath, hash });
    expect(await modelIds(admin)).toEqual(["a", "b"]);
    expect(await modelIds(reader)).toEqual(["a", "b"]);
    expect(closeInfo(admin)).toBeUndefined();
    expect(closeInfo(reader)).toBeUndefined();
    expect(t.runtime.restarts).toBe(0);
    const health = await admin.request<any>("health");
    expect(health.configReload.hotReloadStatus).toBe("active");
    expect(t.messages()).toContain("config reload: applied without restart: models.providers.local.models, agents.defaults.model");
  });

  test("a port change re-listens on the new port in process: shutdown with restartExpectedMs, close 1012", async () => {
    const listens: Array<[number, boolean]> = [];
    const t = await start(baseConfig(), { onListening: (h, restart) => void listens.push([h.port, restart]) });
    const oldPort = t.runtime.port;
    const c = await connect(t);
    const shutdown = c.waitForEvent("shutdown", 5_000);
    const newPort = await freePort();
    const hash = t.write(baseConfig({ gateway: { ...baseConfig().gateway, port: newPort } }));
    const outcome = await t.processed(hash);
    expect(outcome.status).toBe("restarted");
    expect(outcome.restart).toEqual(["gateway.port"]);
    expect((await shutdown).payload).toEqual({ reason: "gateway restarting", restartExpectedMs: 500 });
    expect(await c.closed).toEqual({ code: 1012, reason: "service restart" });
    expect(t.runtime.port).toBe(newPort);
    expect(t.runtime.restarts).toBe(1);
    const again = await connect(t);
    expect((await again.request<any>("health")).ok).toBe(true);
    expect(again.hello.server.bootId).not.toBe(c.hello.server.bootId);
    expect(await tryConnect(oldPort)).toBe(false);
    // The hook the instance lock uses to record the port: once at start, once after the restart.
    expect(listens).toEqual([
      [oldPort, false],
      [newPort, true],
    ]);
  });

  test("an invalid edit keeps serving the running snapshot and logs the key path and reason", async () => {
    const t = await start(baseConfig(models(["a"])));
    const c = await connect(t);
    const bad = t.write(baseConfig({ ...models(["zzz"]), gateway: { ...baseConfig().gateway, port: "not-a-port" } }));
    expect((await t.processed(bad)).status).toBe("rejected");
    expect(t.messages().some((m) => /^config reload rejected: gateway\.port: /.test(m))).toBe(true);
    expect(await modelIds(c)).toEqual(["a"]);

    const unparseable = t.write("{ gateway: { mode: 'local', ");
    expect((await t.processed(unparseable)).status).toBe("rejected");
    expect(t.messages().some((m) => m.startsWith("config reload rejected: <file>: "))).toBe(true);

    const unknownKey = t.write(baseConfig({ gateway: { ...baseConfig().gateway, tokn: "x" } }));
    expect((await t.processed(unknownKey)).status).toBe("rejected");
    expect(t.messages()).toContain("config reload rejected: gateway.tokn: Unknown key");

    // A config the runtime would refuse (non-loopback bind without auth) is rejected too.
    const noAuth = t.write({ gateway: { mode: "local", bind: "lan", auth: { mode: "token" }, reload: { debounceMs: 20 } } });
    expect((await t.processed(noAuth)).status).toBe("rejected");
    expect(t.messages().some((m) => m.startsWith("config reload rejected: gateway.bind: Refusing to bind gateway to lan without auth."))).toBe(true);

    expect(closeInfo(c)).toBeUndefined();
    expect((await c.request<any>("health")).ok).toBe(true);
    expect(t.runtime.restarts).toBe(0);

    // Fixing the file applies again.
    const fixed = t.write(baseConfig(models(["a", "fixed"])));
    expect((await t.processed(fixed)).status).toBe("applied");
    expect(await modelIds(c)).toEqual(["a", "fixed"]);
  });

  test("a changed token closes sockets that used the old one with 4001 and keeps the listener", async () => {
    const t = await start();
    const a = await connect(t);
    const b = await connect(t, { scopes: ["operator.read"] });
    const port = t.runtime.port;
    const hash = t.write({ gateway: { mode: "local", auth: { mode: "token", token: "rotated-token-0123456789" }, reload: { debounceMs: 20 } } });
    const outcome = await t.processed(hash);
    expect(outcome.status).toBe("applied");
    expect(outcome.hot).toEqual(["gateway.auth.token"]);
    expect(await a.closed).toEqual({ code: 4001, reason: "gateway auth changed" });
    expect(await b.closed).toEqual({ code: 4001, reason: "gateway auth changed" });
    expect(t.runtime.restarts).toBe(0);
    expect(t.runtime.port).toBe(port);
    const fresh = await connect(t, { token: "rotated-token-0123456789" });
    expect((await fresh.request<any>("health")).ok).toBe(true);
    const stale = await GatewayClient.connect({ url: t.url(), token: TEST_TOKEN, connectTimeoutMs: 5_000 }).catch((e) => e);
    expect(stale).toBeInstanceOf(GatewayConnectError);
    expect((stale as GatewayConnectError).message).toContain("gateway token mismatch");
  });

  test("an editor's rename-over is picked up like an in-place write", async () => {
    const t = await start(baseConfig(models(["a"])));
    const c = await connect(t);
    const hash = t.renameOver(baseConfig(models(["renamed"])));
    expect((await t.processed(hash)).status).toBe("applied");
    expect(await modelIds(c)).toEqual(["renamed"]);
    // and a second one (the watch survives the inode change)
    const again = t.renameOver(baseConfig(models(["renamed", "twice"])));
    expect((await t.processed(again)).status).toBe("applied");
    expect(await modelIds(c)).toEqual(["renamed", "twice"]);
  });

  test("a burst of writes inside the debounce window is one reload", async () => {
    const t = await start(baseConfig(models(["a"]), { debounceMs: 80 }));
    const c = await connect(t);
    const before = t.runtime.lifecycle!.history.length;
    let last = "";
    for (let i = 0; i < 10; i++) last = t.write(baseConfig(models([`m${i}`]), { debounceMs: 80 }));
    await t.processed(last);
    expect(t.runtime.lifecycle!.history.length - before).toBe(1);
    expect(await modelIds(c)).toEqual(["m9"]);
  });

  test("a deleted config file is rejected; the running config stays", async () => {
    const t = await start(baseConfig(models(["a"])));
    const c = await connect(t);
    const { rmSync } = await import("node:fs");
    rmSync(t.configPath);
    await waitUntil(() => t.messages().some((m) => m.includes("was removed; keeping the running config")), "removal rejection");
    expect(await modelIds(c)).toEqual(["a"]);
  });
});

describe("last-known-good", () => {
  test("the startup config is kept once the gateway has served on it; a hot edit before that is what is kept", async () => {
    const t = await start(baseConfig(models(["a"])));
    const lastGood = `${t.configPath}.last-good`;
    const lifecycle = t.runtime.lifecycle!;
    const hash = t.write(baseConfig(models(["a", "c"])));
    expect((await t.processed(hash)).status).toBe("applied");
    await waitUntil(() => !lifecycle.startupPromotionPending, "the startup promotion to settle", 10_000);
    // Whichever came first, the edited config is the copy (the startup's promotion never
    // overwrites a later reload's).
    expect(readFileSync(lastGood, "utf8")).toBe(readFileSync(t.configPath, "utf8"));
    expect((Bun.JSON5.parse(readFileSync(lastGood, "utf8")) as ReturnType<typeof models>).models.providers.local.models).toEqual([{ id: "a" }, { id: "c" }]);
  });

  test("without edits the startup config becomes the copy", async () => {
    const t = await start(baseConfig(models(["a"])));
    await waitUntil(() => !t.runtime.lifecycle!.startupPromotionPending, "the startup promotion", 10_000);
    expect(readFileSync(`${t.configPath}.last-good`, "utf8")).toBe(readFileSync(t.configPath, "utf8"));
  });
});

describe("gateway.reload.mode", () => {
  test("off: edits are ignored (not even read)", async () => {
    const t = await start(baseConfig(models(["a"]), { mode: "off" }));
    const c = await connect(t);
    expect((await c.request<any>("health")).configReload.hotReloadStatus).toBe("disabled");
    t.write(baseConfig(models(["b"]), { mode: "off" }));
    await Bun.sleep(150);
    expect(await modelIds(c)).toEqual(["a"]);
    expect(t.runtime.lifecycle!.history.length).toBe(0);
    expect(closeInfo(c)).toBeUndefined();
  });

  test("hot: hot-safe keys apply, restart-required keys are skipped and named", async () => {
    const t = await start(baseConfig(models(["a"]), { mode: "hot" }));
    const port = t.runtime.port;
    const c = await connect(t);
    const newPort = await freePort();
    const hash = t.write(baseConfig({ ...models(["b"]), gateway: { ...baseConfig({}, { mode: "hot" }).gateway, port: newPort } }));
    const outcome = await t.processed(hash);
    expect(outcome.status).toBe("applied");
    expect(outcome.skipped).toEqual(["gateway.port"]);
    expect(t.messages()).toContain("config reload: restart required for gateway.port; not applied (gateway.reload.mode=hot)");
    expect(await modelIds(c)).toEqual(["b"]);
    expect(t.runtime.port).toBe(port);
    expect(t.runtime.restarts).toBe(0);
    expect(t.runtime.snapshot.config.gateway?.port).not.toBe(newPort);
    expect(closeInfo(c)).toBeUndefined();
  });

  test("restart: even a hot-safe change restarts the listener in process (same port)", async () => {
    const t = await start(baseConfig(models(["a"]), { mode: "restart" }));
    const port = t.runtime.port;
    const c = await connect(t);
    const hash = t.write(baseConfig(models(["b"]), { mode: "restart" }));
    expect((await t.processed(hash)).status).toBe("restarted");
    expect((await c.closed).code).toBe(1012);
    expect(t.runtime.port).toBe(port);
    const again = await connect(t);
    expect(await modelIds(again)).toEqual(["b"]);
    // A `none`-class change (logging) only swaps the snapshot.
    const quiet = t.write(baseConfig({ ...models(["b"]), logging: { level: "debug" } }, { mode: "restart" }));
    expect((await t.processed(quiet)).status).toBe("applied");
    expect(t.runtime.restarts).toBe(1);
    expect(closeInfo(again)).toBeUndefined();
  });

  test("switching to off stops watching", async () => {
    const t = await start(baseConfig(models(["a"])));
    const c = await connect(t);
    const hash = t.write(baseConfig(models(["a"]), { mode: "off" }));
    await t.processed(hash);
    expect(t.runtime.lifecycle!.hotReloadStatus).toBe("disabled");
    t.write(baseConfig(models(["ignored"]), { mode: "off" }));
    await Bun.sleep(150);
    expect(await modelIds(c)).toEqual(["a"]);
  });
});

describe("restart failures", () => {
  test("a new port that is taken: the previous listener comes back and the edit is rejected", async () => {
    const t = await start();
    const port = t.runtime.port;
    const blocker = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("busy") });
    try {
      const hash = t.write(baseConfig({ gateway: { ...baseConfig().gateway, port: blocker.port } }));
      const outcome = await t.processed(hash, 10_000);
      expect(outcome.status).toBe("rejected");
      expect(outcome.issues[0].message).toContain("restart failed");
      expect(t.runtime.port).toBe(port);
      const c = await connect(t);
      expect((await c.request<any>("health")).ok).toBe(true);
    } finally {
      blocker.stop(true);
    }
  });
});
