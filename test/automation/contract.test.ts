/**
 * The automation family against the wire contract (src/protocol/contract-automation.ts): each
 * method the subsystem serves is in it with the same params schema, and a real result of each,
 * from a gateway hosting the subsystem, parses against its result schema.
 */
import { afterAll, expect, test } from "bun:test";
import { automationSubsystem } from "../../src/automation/subsystem.ts";
import { AUTOMATION_CONTRACT } from "../../src/protocol/contract-automation.ts";
import { CONTRACT, type MethodName } from "../../src/protocol/contract.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";

const runtimes = useTestRuntimes();
const fake = new FakeUpstream().start();
afterAll(() => fake.stop());

test("every automation method is in the contract and its real result parses", async () => {
  const part = automationSubsystem();
  const served = (part.methods ?? []).map((m) => m.name).sort();
  expect(served).toEqual(Object.keys(AUTOMATION_CONTRACT).sort());
  for (const m of part.methods ?? []) expect(m.params).toBe(CONTRACT[m.name as MethodName].params);

  const cfg = aiConfig(fake);
  const t = await runtimes.start({ ...cfg, gateway: { ...cfg.gateway, reload: { debounceMs: 20 } } }, { subsystems: [part] });
  const c = await runtimes.connect(t, { scopes: ["operator.admin"] });
  const results = new Map<string, unknown>();
  const call = async (m: MethodName, params: unknown) => {
    const value = await c.request<any>(m, params);
    results.set(m, value);
    return value;
  };
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
  const { runId } = await call("cron.run", { id: job.id, mode: "force" });
  const deadline = Date.now() + 10_000;
  while ((await c.request<any>("cron.runs", { id: job.id, runId })).total === 0 && Date.now() < deadline) await Bun.sleep(10);
  expect((await call("cron.runs", { id: job.id, limit: 5 })).entries[0].status).toBe("ok");
  await call("cron.remove", { id: job.id });
  await call("set-heartbeats", { enabled: true });
  await call("wake", { mode: "next-heartbeat", text: "contract" });
  expect(await call("last-heartbeat", {})).toBeNull();
  await call("hooks.status", {});

  expect([...results.keys()].sort()).toEqual(served);
  for (const [m, value] of results) {
    const parsed = CONTRACT[m as MethodName].result().safeParse(value);
    if (!parsed.success) throw new Error(`${m}: ${JSON.stringify(parsed.error.issues)}`);
  }
  // The last heartbeat once there is one.
  const heartbeat = c.waitForEvent("heartbeat", 10_000);
  await c.request("wake", { mode: "now", text: "now" });
  await heartbeat;
  expect(CONTRACT["last-heartbeat"].result().safeParse(await c.request("last-heartbeat", {})).success).toBe(true);
});
