/**
 * The wire contract (src/protocol/contract.ts) is what both ends use: every method the gateway
 * serves is in it with the same params schema, and every real result parses against its result
 * schema.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildRegistry } from "../../src/gateway/methods/index.ts";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { CONTRACT, isContractMethod, type MethodName } from "../../src/protocol/contract.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-contract-test-");

const runtimes = useTestRuntimes();
const fake = new FakeUpstream().start();
afterAll(() => fake.stop());

describe("wire contract", () => {
  test("every served method is in the contract, with the contract's params schema", () => {
    const registry = buildRegistry(gatewayParts().flatMap((s) => [...(s.methods ?? [])]));
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
    const t = await runtimes.start({ ...cfg, gateway: { ...cfg.gateway, reload: { debounceMs: 20 } } }, { logFile, subsystems: gatewayParts() });
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
    await call("channels.status", {});
    await call("set-heartbeats", { enabled: true });
    await call("wake", { mode: "next-heartbeat", text: "contract" });
    await call("last-heartbeat", {});
    await call("hooks.status", {});
    await call("cron.status", {});
    const job = await call("cron.add", {
      name: "contract",
      schedule: { kind: "every", everyMs: 600_000 },
      sessionTarget: "isolated",
      payload: { kind: "agentTurn", message: "contract job" },
      delivery: { mode: "none" },
    });
    await call("cron.get", { id: job.id });
    await call("cron.list", { includeDisabled: true });
    await call("cron.update", { id: job.id, patch: { enabled: false } });
    await call("cron.scratch.set", { id: job.id, content: "notes" });
    await call("cron.scratch.get", { id: job.id });
    await call("cron.run", { id: job.id, mode: "force" });
    for (let i = 0; i < 200; i++) {
      const runs = await c.request<{ total: number }>("cron.runs", { id: job.id });
      if (runs.total > 0) break;
      await Bun.sleep(10);
    }
    expect((await call("cron.runs", { id: job.id, limit: 5 })).entries[0].status).toBe("ok");
    await call("cron.remove", { id: job.id });
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

    const missing = Object.keys(CONTRACT).filter((m) => !results.has(m as MethodName));
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
