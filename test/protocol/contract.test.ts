/**
 * The wire contract (src/protocol/contract.ts) is what both ends use: every method the gateway
 * serves is in it with the same params schema, and every real result parses against its result
 * schema.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GatewayClient, GatewayConnectError } from "../../src/protocol/client.ts";
import { buildRegistry } from "../../src/gateway/methods/index.ts";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { CONTRACT, isContractMethod, type MethodName } from "../../src/protocol/contract.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { deviceSigner, generateDeviceKeys } from "../helpers/device-client.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-contract-test-");

const runtimes = useTestRuntimes();
const fake = new FakeUpstream().start();
afterAll(() => fake.stop());

describe("wire contract", () => {
  test("every served method is in the contract, with the contract's params schema", async () => {
    const t = await runtimes.start(undefined, { subsystems: gatewayParts() });
    const registry = t.runtime.methods;
    expect(registry.size).toBe(Object.keys(CONTRACT).length);
    for (const [name, def] of registry) {
      expect(isContractMethod(name)).toBe(true);
      expect(def.params).toBe(CONTRACT[name as MethodName].params);
    }
  });

  test("real results of every method parse against their result schemas", async () => {
    const cfg = aiConfig(fake);
    const logFile = join(tempDir(), "gateway.log");
    writeFileSync(logFile, `${JSON.stringify({ time: "t", level: "info", subsystem: "gateway", message: "one" })}\n`);
    // Local devices wait for approval here, so the pairing methods have requests to act on.
    const t = await runtimes.start({ ...cfg, gateway: { ...cfg.gateway, reload: { debounceMs: 20 }, nodes: { pairing: { autoApproveLocal: false } } } }, { logFile });
    const c = await runtimes.connect(t, { scopes: ["operator.admin"] });
    const results = new Map<MethodName, unknown>();
    const call = async <M extends MethodName>(m: M, params?: unknown) => {
      const value = await c.request(m, params, { expectFinal: m === "agent" });
      results.set(m, value);
      return value as any;
    };
    await call("health", { probe: true });
    await call("status", { includeCliProjection: true });
    await call("system-presence");
    const got = await call("config.get", {});
    await call("models.list", {});
    expect((await call("logs.tail", {})).lines).toHaveLength(1);
    const run = await call("agent", { message: "contract", idempotencyKey: "contract-1" });
    expect(run.status).toBe("ok");
    await call("agent.wait", { runId: "contract-1", timeoutMs: 5_000 });
    await call("chat.send", { sessionKey: "main", message: "again", idempotencyKey: "contract-2" });
    await c.request("agent.wait", { runId: "contract-2", timeoutMs: 5_000 });
    await call("chat.history", { sessionKey: "main" });
    await call("chat.abort", { sessionKey: "main" });
    await call("sessions.abort", { key: "main" });
    await call("sessions.list", {});
    const set = await call("config.set", { raw: got.raw, baseHash: got.hash });
    const patch = await call("config.patch", { raw: JSON.stringify({ wizard: { contract: true } }), baseHash: set.hash });
    await call("config.apply", { raw: JSON.stringify({ ...JSON.parse(got.raw), wizard: { contract: 2 } }), baseHash: patch.hash });
    await call("secrets.reload", {});

    // Device pairing: a request, its approval, a token rotation and revocation, a live upgrade.
    const keys = await generateDeviceKeys();
    const device = (scopes: string[], deviceToken?: string) =>
      GatewayClient.connect({ url: t.url(), token: deviceToken ? undefined : TEST_TOKEN, deviceToken, scopes, device: deviceSigner(keys), connectTimeoutMs: 5_000 });
    const refused = await device(["operator.read"]).catch((e) => e as GatewayConnectError);
    const requestId = ((refused as GatewayConnectError).extra.error?.details as { requestId: string }).requestId;
    expect((await call("device.pair.list", {})).pending.map((p: any) => p.requestId)).toEqual([requestId]);
    await call("device.pair.approve", { requestId });
    const first = await device(["operator.read"]);
    const token = first.hello.auth.deviceToken!;
    await first.close();
    await call("device.pair.rename", { deviceId: keys.deviceId, label: "contract" });
    const own = await device(["operator.read"], token);
    const upgrade = await own.call("device.scopes.requestUpgrade", { scopes: ["operator.read", "operator.write"] });
    results.set("device.scopes.requestUpgrade", upgrade);
    const waiting = own.call("device.scopes.waitUpgrade", { requestId: upgrade.requestId });
    await call("device.pair.approve", { requestId: upgrade.requestId });
    results.set("device.scopes.waitUpgrade", await waiting);
    await own.close();
    await call("device.token.rotate", { deviceId: keys.deviceId, role: "operator" });
    await call("device.token.revoke", { deviceId: keys.deviceId, role: "operator" });
    const other = await generateDeviceKeys();
    const second = await GatewayClient.connect({ url: t.url(), token: TEST_TOKEN, scopes: ["operator.read"], device: deviceSigner(other), connectTimeoutMs: 5_000 }).catch(
      (e) => e as GatewayConnectError,
    );
    await call("device.pair.reject", { requestId: ((second as GatewayConnectError).extra.error?.details as { requestId: string }).requestId });
    await call("device.pair.remove", { deviceId: keys.deviceId });

    // The core registry's methods and the devices family; the parts' methods are checked by their own tests.
    const missing = [...t.runtime.methods.keys()].filter((m) => !results.has(m as MethodName));
    expect(missing).toEqual([]);
    for (const [m, value] of results) {
      const parsed = CONTRACT[m].result().safeParse(value);
      if (!parsed.success) throw new Error(`${m}: ${JSON.stringify(parsed.error.issues)}`);
    }
  });

  test("a result that breaks the contract does not parse", () => {
    expect(CONTRACT.health.result().safeParse({ ok: true }).success).toBe(false);
    expect(CONTRACT["sessions.list"].result().safeParse({ ts: 1, path: "x", count: -1, sessions: [] }).success).toBe(false);
  });
});
