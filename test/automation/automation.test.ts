/**
 * The assembled `Automation`: hook requests reaching the agent executor and the heartbeat,
 * config reloads converging heartbeat monitors, stop() leaving the database alone.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Automation } from "../../src/automation/index.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { FakeAgent, ManualClock, flush, tempStore } from "./helpers.ts";

const TOKEN = "hook-secret-0123456789";
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

function setup(config: OpenClawConfig) {
  let cfg = config;
  const clock = new ManualClock(Date.parse("2026-12-06T12:00:00Z"));
  const tmp = tempStore(() => clock.now());
  const agent = new FakeAgent();
  const auto = new Automation({
    db: tmp.db,
    stateDir: tmp.dir,
    config: () => cfg,
    schedulerSeed: "seed",
    workspaceDir: () => join(tmp.dir, "workspace"),
    emit: () => {},
    runAgentTurn: agent.run,
    clock,
  });
  auto.start();
  cleanup.push(() => {
    auto.stop();
    tmp.close();
  });
  return { auto, clock, agent, tmp, setConfig: (c: OpenClawConfig) => (cfg = c) };
}

const post = (auto: Automation, path: string, body: unknown, token = TOKEN) =>
  auto.handleHook(new Request(`http://127.0.0.1:18789${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify(body) }), "127.0.0.1");

describe("hooks through the assembled subsystem", () => {
  const config = { hooks: { enabled: true, token: TOKEN }, agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig;

  test("/hooks/agent runs an isolated agent turn and reports its completion", async () => {
    const { auto, agent } = setup(config);
    const res = await post(auto, "/hooks/agent", { message: "Summarize this.", name: "Smoke", deliver: false, waitForCompletion: true });
    expect(res!.status).toBe(200);
    const body = (await res!.json()) as any;
    expect(body).toMatchObject({ ok: true, completion: { status: "ok", replyDisposition: "visible", delivered: false, deliveryAttempted: false } });
    expect(agent.calls[0]).toMatchObject({ message: "Summarize this.", agentId: "main", isolated: true, runId: body.runId });
    expect(agent.calls[0].sessionKey).toBe(`agent:main:hook:${body.runId}`);
  });

  test("with no destination the result becomes a main-session event; a failure too", async () => {
    const { auto, agent } = setup(config);
    await post(auto, "/hooks/agent", { message: "x", name: "Import", wakeMode: "next-heartbeat", waitForCompletion: true });
    expect(auto.events.peek("agent:main:main").map((e) => e.text)).toEqual(["Hook Import completed: done: x"]);
    agent.mode = "throw";
    const res = (await (await post(auto, "/hooks/agent", { message: "y", name: "Broken", waitForCompletion: true }))!.json()) as any;
    expect(res.completion.status).toBe("error");
    expect(auto.events.peek("agent:main:main").map((e) => e.text)).toContain("Hook Broken failed: provider exploded: 500 internal error");
  });

  test("/hooks/wake queues and (mode now) runs the heartbeat", async () => {
    const { auto, agent } = setup(config);
    const res = await post(auto, "/hooks/wake", { text: "The sample import completed", mode: "now" });
    expect(await res!.json()).toEqual({ ok: true, mode: "now", eventOutcome: "queued" });
    await flush();
    expect(agent.calls.length).toBe(1);
    expect(agent.calls[0].message).toContain("The sample import completed");
    expect(auto.heartbeat.last()).toMatchObject({ status: "skipped", reason: "target-none" });
  });

  test("hooks off: requests fall through to the rest of the gateway", async () => {
    const { auto } = setup({});
    expect(await post(auto, "/hooks/wake", { text: "x" })).toBeUndefined();
  });
});

describe("lifecycle", () => {
  test("config reload converges heartbeat monitors", () => {
    const { auto, setConfig } = setup({});
    const names = () => auto.cron.allJobs().filter((j) => j.payload.kind === "heartbeat").map((j) => [j.name, j.enabled]);
    expect(names()).toEqual([["heartbeat-main", true]]);
    setConfig({ agents: { entries: { main: { default: true }, ops: { heartbeat: { every: "1h" } } } } } as unknown as OpenClawConfig);
    auto.reload();
    expect(names()).toEqual([["heartbeat-ops", true]]);
    setConfig({ agents: { entries: { main: { default: true }, ops: { heartbeat: { every: "0m" } } } } } as unknown as OpenClawConfig);
    auto.reload();
    expect(names()).toEqual([["heartbeat-ops", false]]);
  });

  test("after stop nothing more is written", async () => {
    const { auto, agent, tmp } = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig);
    agent.mode = "hang";
    auto.heartbeat.wake({ mode: "now", text: "late" });
    await flush();
    expect(agent.calls.length).toBe(1);
    auto.stop();
    await flush();
    expect(agent.calls[0].signal.aborted).toBe(true);
    expect(auto.heartbeat.last()).toBeNull();
    tmp.db.close();
    // A wake after stop does nothing (and touches no closed database).
    expect(await auto.heartbeat.run("main", "wake")).toMatchObject({ status: "skipped" });
    tmp.reopen().db.close();
  });
});
