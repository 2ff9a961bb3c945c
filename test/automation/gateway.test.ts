/**
 * Automation hosted in a real gateway (in process, real sockets, real SQLite, the fake model
 * provider): the methods and events on the wire, agent turns through the lanes, heartbeat skip
 * reasons from the lanes, config reload and an in-process restart, shutdown with a run in
 * flight, bad input, and the hooks endpoint on the gateway port (auth, rate limit, body limit,
 * proxy attribution, mappings).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../scripts/lib/proc.ts";
import { automationSubsystem } from "../../src/automation/subsystem.ts";
import { GatewayRequestError, type GatewayClient } from "../../src/protocol/client.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { useTestRuntimes } from "../helpers/config-gateway.ts";
import { startTestGateway, TEST_TOKEN, tempDir } from "../helpers/gateway.ts";
import { pollUntil } from "../helpers/poll.ts";

const fake = new FakeUpstream().start();
afterAll(() => fake.stop());
const runtimes = useTestRuntimes();

const HOOK_TOKEN = "hook-token-0123456789abcdef";
const FAST_RETRY = { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10, budgetMs: 1000 };

/** The AI harness config plus a provider with a long timeout (for held and hanging turns). */
function config(extra: Record<string, any> = {}): Record<string, any> {
  const base = aiConfig(fake) as Record<string, any>;
  const { gateway, agents, ...rest } = extra;
  return {
    ...base,
    gateway: { ...base.gateway, reload: { debounceMs: 20 }, ...gateway },
    models: {
      providers: {
        ...base.models.providers,
        slow: { baseUrl: `${fake.url}/v1`, api: "openai-completions", timeoutSeconds: 60, retry: FAST_RETRY, models: [{ id: "held" }, { id: "hang" }] },
      },
    },
    agents: agents ?? base.agents,
    ...rest,
  };
}

async function start(cfg: Record<string, any> = config()) {
  const t = await runtimes.start(cfg, { subsystems: [automationSubsystem()] });
  const admin = await runtimes.connect(t, { scopes: ["operator.admin"] });
  return { t, admin };
}

const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000) => pollUntil(check, what, { timeoutMs, intervalMs: 10 });

async function rpcError(p: Promise<unknown>): Promise<GatewayRequestError> {
  const err = await p.then(
    () => {
      throw new Error("the call unexpectedly succeeded");
    },
    (e) => e,
  );
  expect(err).toBeInstanceOf(GatewayRequestError);
  return err as GatewayRequestError;
}

const job = (name: string, payload: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  name,
  schedule: { kind: "every", everyMs: 3_600_000 },
  sessionTarget: "isolated",
  payload: { kind: "agentTurn", ...payload },
  delivery: { mode: "none" },
  ...over,
});

async function runsOf(c: GatewayClient, id: string): Promise<any[]> {
  return (await c.request<any>("cron.runs", { id, limit: 50 })).entries;
}

/** Force a run and wait for its history entry. */
async function forceRun(c: GatewayClient, id: string, timeoutMs = 10_000): Promise<any> {
  const { runId } = await c.request<any>("cron.run", { id, mode: "force" });
  return until(async () => (await c.request<any>("cron.runs", { id, runId, limit: 1 })).entries[0], `run ${runId}`, timeoutMs);
}

const heartbeatJob = async (c: GatewayClient) => (await c.request<any>("cron.list", { includeDisabled: true })).jobs.find((j: any) => j.declarationKey === "heartbeat:main");

describe("hosted in the gateway", () => {
  test("methods, events, a forced run through the provider, heartbeat fields in health and status", async () => {
    const { t, admin } = await start();
    const reader = await runtimes.connect(t, { scopes: ["operator.read"] });
    expect(reader.hello.features.events).toEqual(expect.arrayContaining(["cron", "heartbeat"]));
    expect(reader.hello.features.methods).toEqual(expect.arrayContaining(["cron.add", "cron.runs", "wake", "last-heartbeat", "set-heartbeats", "hooks.status"]));

    const status = await reader.request<any>("cron.status", {});
    expect(status).toMatchObject({ enabled: true, storage: "sqlite", jobs: 1 });
    expect((await heartbeatJob(reader)).schedule.everyMs).toBe(1_800_000);

    const added = reader.waitForEvent("cron");
    const created = await admin.request<any>("cron.add", job("greeter", { message: "hello from cron" }));
    expect((await added).payload).toMatchObject({ jobId: created.id, action: "added" });
    // A reader may look but not change.
    expect((await rpcError(reader.request("cron.add", job("nope", { message: "x" })))).message).toContain("missing scope: operator.admin");

    fake.reset();
    const finished = new Promise<any>((resolve) => {
      const off = reader.onEvent((e) => {
        if (e.event === "cron" && (e.payload as any).action === "finished" && (e.payload as any).jobId === created.id) {
          off();
          resolve(e.payload);
        }
      });
    });
    const run = await forceRun(admin, created.id);
    expect(run).toMatchObject({ status: "ok", completionStatus: "succeeded", summary: "echo: hello from cron", provider: "oai", model: "echo" });
    expect((await finished).status).toBe("ok");
    const sent = fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1);
    expect(sent).toMatchObject({ role: "user", content: "hello from cron" });

    const health = await reader.request<any>("health", { probe: true });
    expect(health.agents.find((a: any) => a.agentId === "main").heartbeat).toMatchObject({ enabled: true, every: "30m", everyMs: 1_800_000 });
    expect(health.heartbeatSeconds).toBe(1800);
    await admin.request("wake", { mode: "next-heartbeat", text: "remember the milk" });
    const st = await reader.request<any>("status", {});
    expect(st.heartbeat.agents.find((a: any) => a.agentId === "main")).toMatchObject({ enabled: true, every: "30m", waitingForRoute: true });
    // Plain strings, as the original sends them.
    expect(st.queuedSystemEvents).toContain("remember the milk");
    expect(await admin.request("hooks.status", {})).toMatchObject({ hooks: [], managedHooksDir: `${t.stateDir}/hooks` });
  });

  test("a disabled job never runs; a failing and a hanging provider end as error runs and the scheduler keeps going", async () => {
    const { admin } = await start();
    const disabled = await admin.request<any>("cron.add", job("off", { message: "never" }, { enabled: false, schedule: { kind: "every", everyMs: 50 } }));
    const failing = await admin.request<any>("cron.add", job("failing", { message: "fail", model: "oai/status-500" }));
    const hanging = await admin.request<any>("cron.add", job("hanging", { message: "hang", model: "slow/hang", timeoutSeconds: 1 }));

    const failed = await forceRun(admin, failing.id);
    expect(failed.status).toBe("error");
    expect(failed.error).toContain("500");

    fake.reset();
    const hung = await forceRun(admin, hanging.id);
    expect(hung).toMatchObject({ status: "error", error: "cron: job execution timed out after 1s" });
    // The abort reached the provider request.
    expect(await fake.waitFor(() => fake.requests.some((r) => r.body.model === "hang" && r.aborted))).toBe(true);

    // The scheduler still runs jobs on its own: a job due every 50 ms runs again and again.
    const ticking = await admin.request<any>("cron.add", job("ticking", { message: "tick" }, { schedule: { kind: "every", everyMs: 50 } }));
    await until(async () => (await runsOf(admin, ticking.id)).filter((r) => r.status === "ok").length >= 2 || undefined, "two scheduled runs");
    expect(await runsOf(admin, disabled.id)).toEqual([]);
    expect((await admin.request<any>("cron.get", { id: disabled.id })).state.lastRunAtMs).toBeUndefined();
  });

  test("bad input gets the original's errors; cron writes have the control-plane budget", async () => {
    const { admin } = await start();
    const badExpr = await rpcError(admin.request("cron.add", job("x", { message: "m" }, { schedule: { kind: "cron", expr: "61 * * * *" } })));
    expect(badExpr.code).toBe("INVALID_REQUEST");
    expect(badExpr.message).toStartWith("invalid cron.add params: ");
    expect(badExpr.message).toContain("61");
    const badTz = await rpcError(admin.request("cron.add", job("x", { message: "m" }, { schedule: { kind: "cron", expr: "0 9 * * *", tz: "Mars/Olympus" } })));
    expect(badTz.message).toContain('unknown time zone "Mars/Olympus"');
    expect((await rpcError(admin.request("cron.add", { name: "x", schedule: { kind: "every" }, payload: { kind: "agentTurn", message: "m" } }))).code).toBe("INVALID_REQUEST");
    const missing = await rpcError(admin.request("cron.remove", { id: "nope" }));
    expect(missing.message).toStartWith("Automation not found: nope.");
    expect(missing.details).toEqual({ code: "CRON_JOB_NOT_FOUND", jobId: "nope" });
    const hb = await heartbeatJob(admin);
    expect((await rpcError(admin.request("cron.remove", { id: hb.id }))).message).toContain("managed by the gateway");

    const created = await admin.request<any>("cron.add", job("scratchy", { message: "m" }));
    const tooBig = await rpcError(admin.request("cron.scratch.set", { id: created.id, content: "x".repeat(262_145) }));
    expect(tooBig.message).toStartWith("invalid cron.scratch.set params: ");
    expect((await admin.request<any>("cron.scratch.get", { id: created.id })).scratch).toBeNull();
    expect((await rpcError(admin.request("set-heartbeats", { enabled: "yes" }))).message).toContain("enabled (boolean) required");

    // 30 control-plane writes per minute per method and client, refused ones included (three above).
    for (let i = 3; i < 30; i++) await admin.request("cron.add", job(`n${i}`, { message: "m" }));
    const limited = await rpcError(admin.request("cron.add", job("n30", { message: "m" })));
    expect(limited.code).toBe("UNAVAILABLE");
    expect(limited.message).toMatch(/^rate limit exceeded for cron\.add; retry after \d+s$/);
    // Another method has its own budget; reads have none.
    expect(await admin.request<any>("cron.update", { id: created.id, patch: { enabled: false } })).toMatchObject({ enabled: false });
    expect((await admin.request<any>("cron.status", {})).jobs).toBe(29);
  });
});

describe("lifecycle", () => {
  test("config reload converges the heartbeat and cron.enabled; the scheduler survives an in-process restart", async () => {
    const { t, admin } = await start();
    const first = await admin.request<any>("cron.add", job("keeper", { message: "keep" }));
    const before = await admin.request<any>("cron.run", { id: first.id });

    const cadence = config({ agents: { ...aiConfig(fake).agents, defaults: { model: "oai/echo", heartbeat: { every: "10m" } } } });
    expect((await t.processed(t.write(cadence))).status).toBe("applied");
    await until(async () => (await heartbeatJob(admin))?.schedule.everyMs === 600_000, "the heartbeat to follow the config");

    const port = await freePort();
    expect((await t.processed(t.write({ ...cadence, gateway: { ...cadence.gateway, port } }))).status).toBe("restarted");
    const again = await runtimes.connect(t, { scopes: ["operator.admin"] });
    // The same scheduler (not a new one): its process instance id did not change, and it still runs jobs.
    const after = await again.request<any>("cron.run", { id: first.id });
    expect(after.processInstanceId).toBe(before.processInstanceId);
    await until(async () => (await runsOf(again, first.id)).length >= 2, "both forced runs");

    expect((await t.processed(t.write({ ...cadence, gateway: { ...cadence.gateway, port }, cron: { enabled: false } }))).status).toBe("applied");
    expect(await again.request<any>("cron.status", {})).toMatchObject({ enabled: false, nextWakeAtMs: null });
  });

  test("stopping with a run in flight closes cleanly; the next start records the run as interrupted", async () => {
    const stateDir = tempDir("openclaw-automation-restart-");
    const cfg = config();
    const one = await startTestGateway({ config: cfg as any, stateDir, subsystems: [automationSubsystem()] });
    const { GatewayClient } = await import("../../src/protocol/client.ts");
    const c1 = await GatewayClient.connect({ url: one.url, token: TEST_TOKEN, scopes: ["operator.admin"] });
    const created = await c1.request<any>("cron.add", job("cut short", { message: "held", model: "slow/held" }));
    await c1.request("cron.run", { id: created.id });
    expect(await fake.waitFor(() => fake.requests.some((r) => r.body.model === "held" && !r.completed), 10_000)).toBe(true);
    await c1.close();
    await one.stop();
    expect(one.logs.filter((r) => r.level === "error").map((r) => r.message)).toEqual([]);

    const two = await startTestGateway({ config: cfg as any, stateDir, subsystems: [automationSubsystem()] });
    try {
      const c2 = await GatewayClient.connect({ url: two.url, token: TEST_TOKEN, scopes: ["operator.read"] });
      const [entry] = await runsOf(c2, created.id);
      expect(entry).toMatchObject({ status: "error", error: "cron: job interrupted by gateway restart" });
      expect((await c2.request<any>("cron.get", { id: created.id })).state.runningAtMs).toBeUndefined();
      await c2.close();
    } finally {
      await two.stop();
    }
  });
});

test("a state database that cannot be opened: the gateway runs, automation answers UNAVAILABLE with the reason", async () => {
  const stateDir = tempDir("openclaw-automation-broken-");
  mkdirSync(join(stateDir, "openclaw.sqlite"));
  const gw = await startTestGateway({ config: config({ hooks: { enabled: true, token: HOOK_TOKEN } }) as any, stateDir, subsystems: [automationSubsystem()] });
  try {
    const { GatewayClient } = await import("../../src/protocol/client.ts");
    const c = await GatewayClient.connect({ url: gw.url, token: TEST_TOKEN, scopes: ["operator.admin"] });
    const err = await rpcError(c.request("cron.status", {}));
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.message).toStartWith("automation is unavailable: ");
    expect((await rpcError(c.request("cron.add", job("x", { message: "m" })))).code).toBe("UNAVAILABLE");
    const health = await c.request<any>("health", { probe: true });
    expect(health.agents[0].heartbeat).toMatchObject({ enabled: false, every: "disabled" });
    expect(gw.logs.some((r) => r.level === "error" && r.message.startsWith("automation: start failed"))).toBe(true);
    // Hooks are not served either (nothing to run them), and nothing crashed.
    expect((await fetch(`http://127.0.0.1:${gw.port}/hooks/wake`, { method: "POST", headers: { authorization: `Bearer ${HOOK_TOKEN}` }, body: "{}" })).status).toBe(404);
    await c.close();
  } finally {
    await gw.stop();
  }
});

describe("heartbeat", () => {
  test("skip reasons come from the lanes and the config: requests-in-flight, cron-in-progress, quiet-hours, target-none", async () => {
    const agents = { defaults: { model: "oai/echo" }, list: [{ id: "main", default: true }] };
    const { admin } = await start(config({ agents }));
    const hb = await heartbeatJob(admin);
    const last = () => admin.request<any>("last-heartbeat", {});
    expect(await last()).toBeNull();

    // A chat run waiting on its provider in the main session: the scheduled heartbeat steps aside.
    const held = await admin.request<any>("agent", { message: "busy", idempotencyKey: "busy-main", model: "held", provider: "slow" });
    expect(held.status).toBe("accepted");
    expect(await fake.waitFor(() => fake.requests.some((r) => r.body.model === "held" && !r.completed), 10_000)).toBe(true);
    expect(await forceRun(admin, hb.id)).toMatchObject({ status: "skipped", error: "heartbeat skipped: requests-in-flight" });
    expect(await last()).toMatchObject({ status: "skipped", reason: "requests-in-flight" });
    fake.release();
    expect((await admin.request<any>("agent.wait", { runId: "busy-main", timeoutMs: 10_000 })).status).toBe("ok");

    // Another automation run in progress.
    const busy = await admin.request<any>("cron.add", job("busy", { message: "slow one", model: "slow/hang", timeoutSeconds: 30 }));
    await admin.request("cron.run", { id: busy.id });
    expect(await fake.waitFor(() => fake.requests.some((r) => r.body.model === "hang" && !r.completed), 10_000)).toBe(true);
    expect(await forceRun(admin, hb.id)).toMatchObject({ status: "skipped", error: "heartbeat skipped: cron-in-progress" });
    await admin.request("cron.remove", { id: busy.id });

    // Outside active hours.
    const h = new Date().getUTCHours();
    const hh = (n: number) => `${String(n % 24).padStart(2, "0")}:00`;
    const quiet = config({ agents: { ...agents, defaults: { model: "oai/echo", heartbeat: { activeHours: { start: hh(h + 2), end: hh(h + 3), timezone: "UTC" } } } } });
    const t = (await runtimes.start(quiet, { subsystems: [automationSubsystem()] }));
    const c = await runtimes.connect(t, { scopes: ["operator.admin"] });
    expect(await forceRun(c, (await heartbeatJob(c)).id)).toMatchObject({ status: "skipped", error: "heartbeat skipped: quiet-hours" });

    // target: none runs the model and records the reply as skipped.
    fake.reset();
    expect((await t.processed(t.write(config({ agents: { ...agents, defaults: { model: "oai/echo", heartbeat: { target: "none" } } } })))).status).toBe("applied");
    const heartbeat = c.waitForEvent("heartbeat", 10_000);
    await c.request("wake", { mode: "now", text: "check the oven" });
    expect((await heartbeat).payload).toMatchObject({ status: "skipped", reason: "target-none" });
    const recorded = await c.request<any>("last-heartbeat", {});
    expect(recorded).toMatchObject({ status: "skipped", reason: "target-none", message: "Heartbeat delivery is disabled by configuration (target: none)." });
    expect(recorded.preview).toStartWith("echo: ");
    expect(fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1).content).toContain("check the oven");

    // Switched off: nothing runs and nothing is recorded.
    expect(await c.request("set-heartbeats", { enabled: false })).toEqual({ ok: true, enabled: false });
    expect(await forceRun(c, (await heartbeatJob(c)).id)).toMatchObject({ status: "skipped" });
    expect((await c.request<any>("last-heartbeat", {})).ts).toBe(recorded.ts);
  });

  test("an isolated run against an unreachable local provider is recorded as skipped", async () => {
    const closed = await freePort();
    const cfg = config();
    cfg.models.providers.down = { baseUrl: `http://127.0.0.1:${closed}/v1`, api: "openai-completions", models: [{ id: "echo" }] };
    const { admin } = await start(cfg);
    const created = await admin.request<any>("cron.add", job("local", { message: "hi", model: "down/echo" }));
    const run = await forceRun(admin, created.id);
    expect(run.status).toBe("skipped");
    expect(run.error).toBe(`local model provider unreachable: down (http://127.0.0.1:${closed})`);
  });
});

describe("hooks endpoint", () => {
  const post = (port: number, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test("off by default; enabled by a hot reload, it starts runs with its own token, ahead of the gateway's auth", async () => {
    const { t, admin } = await start();
    const port = t.runtime.port;
    expect((await post(port, "/hooks/agent", { message: "x" }, bearer(HOOK_TOKEN))).status).toBe(404);

    const hooks = {
      enabled: true,
      token: HOOK_TOKEN,
      path: "/inbound",
      mappings: [{ id: "gh", match: { path: "github" }, action: "agent", messageTemplate: "PR {{payload.title}} by {{headers.x-author}}", deliver: false }],
    };
    expect((await t.processed(t.write(config({ hooks })))).status).toBe("applied");
    fake.reset();
    const res = await post(port, "/inbound/agent", { message: "from a hook", deliver: false }, bearer(HOOK_TOKEN));
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ ok: true });
    expect(typeof body.runId).toBe("string");
    expect(await fake.waitFor(() => fake.to("/v1/chat/completions").some((r) => r.body.messages.at(-1).content === "from a hook"))).toBe(true);

    const mapped = await post(port, "/inbound/github", { title: "Fix it" }, { "x-openclaw-token": HOOK_TOKEN, "x-author": "ada" });
    expect(mapped.status).toBe(200);
    expect(await fake.waitFor(() => fake.to("/v1/chat/completions").some((r) => r.body.messages.at(-1).content === "PR Fix it by ada"))).toBe(true);

    const woke = await post(port, "/inbound/wake", { text: "hook says hi", mode: "next-heartbeat" }, bearer(HOOK_TOKEN));
    expect(await woke.json()).toEqual({ ok: true, mode: "next-heartbeat", eventOutcome: "queued" });
    expect((await admin.request<any>("status", {})).queuedSystemEvents).toContain("hook says hi");

    // The hook token is not a gateway credential, and the gateway token is not a hook token.
    expect((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: bearer(HOOK_TOKEN) })).status).toBe(401);
    expect((await post(port, "/inbound/agent", { message: "x" }, bearer(TEST_TOKEN))).status).toBe(401);
  });

  test("401 for a wrong token, 429 with Retry-After after 20 failures; the body limit is 256 KiB", async () => {
    const { t } = await start(config({ hooks: { enabled: true, token: HOOK_TOKEN } }));
    const port = t.runtime.port;
    for (let i = 0; i < 20; i++) {
      const r = await post(port, "/hooks/wake", { text: "x" }, bearer(`wrong-${i}`));
      expect(r.status).toBe(401);
      expect(await r.text()).toBe("Unauthorized");
    }
    const limited = await post(port, "/hooks/wake", { text: "x" }, bearer("wrong-again"));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Valid credentials still pass, and reset the count.
    expect((await post(port, "/hooks/wake", { text: "ok" }, bearer(HOOK_TOKEN))).status).toBe(200);
    expect((await post(port, "/hooks/wake", { text: "x" }, bearer("wrong"))).status).toBe(401);

    const big = await post(port, "/hooks/agent", JSON.stringify({ message: "m".repeat(256 * 1024) }), bearer(HOOK_TOKEN));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ ok: false, error: "payload too large" });
    expect((await post(port, "/hooks/agent", "{not json", bearer(HOOK_TOKEN))).status).toBe(400);
    expect((await post(port, "/hooks/agent?token=x", { message: "m" }, bearer(HOOK_TOKEN))).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${port}/hooks/agent`, { headers: bearer(HOOK_TOKEN) })).status).toBe(405);
  });

  test("failures are counted per client: through a trusted proxy by X-Forwarded-For, otherwise by the socket address", async () => {
    const spoof = (ip: string) => ({ ...bearer("wrong"), "x-forwarded-for": ip });
    const direct = await start(config({ hooks: { enabled: true, token: HOOK_TOKEN } }));
    // Not behind a configured proxy: a forged header does not buy a fresh budget.
    for (let i = 0; i < 20; i++) expect((await post(direct.t.runtime.port, "/hooks/wake", { text: "x" }, spoof(`203.0.113.${i}`))).status).toBe(401);
    expect((await post(direct.t.runtime.port, "/hooks/wake", { text: "x" }, spoof("203.0.113.99"))).status).toBe(429);

    const proxied = await start(config({ gateway: { trustedProxies: ["127.0.0.1"] }, hooks: { enabled: true, token: HOOK_TOKEN } }));
    const port = proxied.t.runtime.port;
    for (let i = 0; i < 20; i++) expect((await post(port, "/hooks/wake", { text: "x" }, spoof("198.51.100.7"))).status).toBe(401);
    expect((await post(port, "/hooks/wake", { text: "x" }, spoof("198.51.100.7"))).status).toBe(429);
    expect((await post(port, "/hooks/wake", { text: "x" }, spoof("198.51.100.8"))).status).toBe(401);
  });
});
