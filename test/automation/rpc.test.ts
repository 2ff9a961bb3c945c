/**
 * The RPC core as the gateway will call it: params parsed by the method's schema (the way the
 * dispatcher does, ajv-style messages from protocol/frames.ts), then the handler. Covers the
 * params the official CLI sends, validation errors, CRUD semantics, listing, delivery.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Automation } from "../../src/automation/index.ts";
import type { AutomationMethodDef } from "../../src/automation/rpc.ts";
import type { DeliveryRequest, DeliveryResult } from "../../src/automation/service.ts";
import { NO_CHANNEL_ERROR } from "../../src/automation/errors.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { Messages, RpcError } from "../../src/protocol/errors.ts";
import { describeIssues } from "../../src/protocol/frames.ts";
import { FakeAgent, ManualClock, tempStore } from "./helpers.ts";

const T0 = Date.parse("2026-12-06T00:00:00Z");
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

function setup(opts: { deliver?: (req: DeliveryRequest) => Promise<DeliveryResult>; config?: OpenClawConfig; channels?: () => string[] } = {}) {
  const clock = new ManualClock(T0);
  const tmp = tempStore(() => clock.now());
  const agent = new FakeAgent();
  const emitted: Array<{ event: string; payload: any }> = [];
  const auto = new Automation({
    db: tmp.db,
    stateDir: tmp.dir,
    config: () => opts.config ?? ({ agents: { defaults: { heartbeat: { every: "0m" } } } } as unknown as OpenClawConfig),
    schedulerSeed: "seed",
    workspaceDir: (id) => join(tmp.dir, "workspace"),
    emit: (event, payload) => emitted.push({ event, payload }),
    runAgentTurn: agent.run,
    deliver: opts.deliver,
    channels: opts.channels,
    clock,
  });
  auto.start();
  cleanup.push(() => {
    auto.stop();
    tmp.close();
  });
  const methods = new Map(auto.methods().map((m) => [m.name, m] as [string, AutomationMethodDef]));
  /** Parse like the gateway's dispatcher, then call. */
  const call = (name: string, params: unknown = {}): any => {
    const m = methods.get(name);
    if (!m) throw new Error(`no method ${name}`);
    const checked = m.params.safeParse(params);
    if (!checked.success) throw new RpcError("INVALID_REQUEST", Messages.invalidParams(name, describeIssues(checked.error, params)));
    return m.handler(checked.data);
  };
  const fails = (name: string, params: unknown): RpcError => {
    try {
      call(name, params);
    } catch (err) {
      if (err instanceof RpcError) return err;
      throw err;
    }
    throw new Error(`${name} did not fail`);
  };
  return { auto, clock, agent, call, fails, emitted, methods };
}

/** Exactly what `openclaw cron add --name every-job --every 10m --message "hello every"` sent. */
const CLI_ADD_EVERY = {
  name: "every-job",
  enabled: true,
  schedule: { kind: "every", everyMs: 600000 },
  sessionTarget: "isolated",
  wakeMode: "now",
  payload: { kind: "agentTurn", message: "hello every" },
  delivery: { mode: "announce", channel: "last" },
};

describe("scopes", () => {
  test("as the original's method-scope table", () => {
    const { methods } = setup();
    const scopes = Object.fromEntries([...methods.values()].map((m) => [m.name, [m.scope, m.controlPlaneWrite === true]]));
    expect(scopes).toEqual({
      "cron.status": ["operator.read", false],
      "cron.list": ["operator.read", false],
      "cron.get": ["operator.read", false],
      "cron.runs": ["operator.read", false],
      "cron.add": ["operator.admin", true],
      "cron.update": ["operator.admin", true],
      "cron.remove": ["operator.admin", true],
      "cron.run": ["operator.admin", true],
      "cron.scratch.get": ["operator.admin", false],
      "cron.scratch.set": ["operator.admin", false],
      wake: ["operator.write", false],
      "last-heartbeat": ["operator.read", false],
      "set-heartbeats": ["operator.admin", false],
      "hooks.status": ["operator.read", false],
    });
  });
});

describe("cron.add", () => {
  test("the CLI's every job: the whole job back with its preview (announce → last fails closed without channels)", () => {
    const { call, emitted } = setup();
    const job = call("cron.add", CLI_ADD_EVERY);
    expect(job).toMatchObject({
      name: "every-job",
      enabled: true,
      createdAtMs: T0,
      updatedAtMs: T0,
      schedule: { kind: "every", everyMs: 600000, anchorMs: T0 },
      sessionTarget: "isolated",
      wakeMode: "now",
      payload: { kind: "agentTurn", message: "hello every", toolsAllow: ["*"] },
      delivery: { mode: "announce", channel: "last" },
      state: { nextRunAtMs: T0 + 600000 },
      scheduledToolPolicy: { version: 1, mode: "trusted" },
      nextRunAtMs: T0 + 600000,
      deliveryPreview: { label: "announce -> last", detail: `last -> no route, will fail-closed: ${NO_CHANNEL_ERROR}` },
    });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.configRevision).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    const added = emitted.find((e) => e.event === "cron" && e.payload.action === "added" && e.payload.jobId === job.id)!.payload;
    expect(added).toMatchObject({ jobId: job.id, action: "added", nextRunAtMs: T0 + 600000 });
    expect(added.job.deliveryPreview).toBeUndefined();
  });

  test("other CLI forms: cron with tz, at one-shot (main systemEvent), no-deliver", () => {
    const { call } = setup();
    const at = call("cron.add", {
      name: "at-iso",
      enabled: true,
      schedule: { kind: "at", at: "2027-02-01T21:00:00.000Z" },
      sessionTarget: "main",
      wakeMode: "now",
      payload: { kind: "systemEvent", text: "Reminder: check" },
    });
    expect(at).toMatchObject({ deleteAfterRun: true, sessionTarget: "main", payload: { kind: "systemEvent", text: "Reminder: check" }, state: { nextRunAtMs: 1801515600000 } });
    expect(at.delivery).toBeUndefined();
    expect(at.deliveryPreview).toEqual({ label: "not requested", detail: "not requested" });
    const none = call("cron.add", { ...CLI_ADD_EVERY, delivery: { mode: "none", channel: "last" } });
    expect(none.deliveryPreview).toEqual({ label: "not requested", detail: "not requested" });
    // Omitted wakeMode and sessionTarget take their defaults; omitted delivery on an isolated turn announces.
    const bare = call("cron.add", { name: "x", schedule: { kind: "every", everyMs: 60000 }, payload: { kind: "agentTurn", message: "x" } });
    expect(bare).toMatchObject({ wakeMode: "now", sessionTarget: "isolated", delivery: { mode: "announce" } });
  });

  test("bad input: clear errors with the original's wording where it has one", () => {
    const { fails } = setup();
    const msg = (p: unknown) => fails("cron.add", p).message;
    expect(msg({})).toStartWith("invalid cron.add params: must have required property 'name'");
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "cron", expr: "61 * * * *" } })).toBe(
      'invalid cron.add params: invalid cron expression "61 * * * *": minute value 61 is out of range (0-59)',
    );
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "cron", expr: "not a cron" } })).toBe(
      'invalid cron.add params: invalid cron expression "not a cron": expected 5, 6 or 7 space-separated fields, got 3',
    );
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "cron", expr: "0 7 * * *", tz: "Mars/Olympus" } })).toBe(
      'invalid cron.add params: unknown time zone "Mars/Olympus" (use an IANA name such as "Europe/Berlin" or "America/New_York")',
    );
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "at", at: "garbage" } })).toBe("Invalid schedule.at: expected ISO-8601 timestamp (got garbage)");
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "at", at: "2020-01-01T00:00:00Z" } })).toMatch(/^schedule\.at is in the past: 2020-01-01T00:00:00\.000Z \(\d+ minutes ago\)/);
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "every", everyMs: 0 } })).toBe("invalid cron.add params: at /schedule/everyMs: must be >= 1");
    expect(msg({ ...CLI_ADD_EVERY, sessionTarget: "main" })).toBe('invalid cron.add params: main cron jobs require payload.kind="systemEvent" or "script"');
    expect(msg({ ...CLI_ADD_EVERY, payload: { kind: "systemEvent", text: "x" } })).toBe(
      'isolated cron jobs require payload.kind="agentTurn", "command", or "script"; script payloads do not support current/session targets',
    );
    expect(msg({ ...CLI_ADD_EVERY, payload: { kind: "command", argv: ["ls"] } })).toMatch(/payload.kind "command" is not supported/);
    expect(msg({ ...CLI_ADD_EVERY, schedule: { kind: "on-exit", command: "./x.sh" } })).toMatch(/schedule.kind "on-exit" is not supported/);
    expect(msg({ ...CLI_ADD_EVERY, agentId: "ghost" })).toBe('invalid cron.add params: unknown agentId "ghost"');
    expect(msg({ ...CLI_ADD_EVERY, bogus: 1 })).toMatch(/^invalid cron.add params: .*bogus/);
    expect(msg({ ...CLI_ADD_EVERY, sessionTarget: "main", payload: { kind: "systemEvent", text: "x" }, delivery: { mode: "announce" } })).toMatch(/main-session jobs/);
    expect(msg({ ...CLI_ADD_EVERY, sessionTarget: "current" })).toBe('invalid cron.add params: sessionTarget "current" requires sessionKey');
    expect(msg({ ...CLI_ADD_EVERY, trigger: { script: "json({fire:true})" } })).toMatch(/triggers are not supported/);
  });

  test("declarationKey converges instead of duplicating", () => {
    const { call } = setup();
    const a = call("cron.add", { ...CLI_ADD_EVERY, declarationKey: "daily-brief" });
    expect(a).toMatchObject({ created: true, job: { declarationKey: "daily-brief" } });
    const b = call("cron.add", { ...CLI_ADD_EVERY, declarationKey: "daily-brief", payload: { kind: "agentTurn", message: "new text" } });
    expect(b).toMatchObject({ created: false, updated: true, job: { id: a.job.id, payload: { message: "new text" } } });
    expect(call("cron.status").jobs).toBe(2); // + the disabled heartbeat monitor
  });
});

describe("cron.list / get / status", () => {
  test("paging, disabled jobs only with includeDisabled, no next run when disabled, previews per job", () => {
    const { call, clock } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.t = T0 + i;
      ids.push(call("cron.add", { ...CLI_ADD_EVERY, name: `job-${i}`, schedule: { kind: "every", everyMs: (5 - i) * 60000 } }).id);
    }
    call("cron.update", { id: ids[0], patch: { enabled: false } });
    const page = call("cron.list", { includeDisabled: false, limit: 200, offset: 0 });
    expect(page).toMatchObject({ total: 4, offset: 0, limit: 200, hasMore: false, nextOffset: null });
    expect(page.jobs.map((j: any) => j.name)).toEqual(["job-4", "job-3", "job-2", "job-1"]);
    expect(Object.keys(page.deliveryPreviews).sort()).toEqual(ids.slice(1).sort());
    expect(page.jobs[0]).toMatchObject({ effectiveAgentId: "main", nextRunAtMs: expect.any(Number) });
    const all = call("cron.list", { includeDisabled: true, limit: 2, offset: 1 });
    expect(all).toMatchObject({ total: 6, offset: 1, limit: 2, hasMore: true, nextOffset: 3 });
    const full = call("cron.list", { includeDisabled: true, limit: 200, offset: 0 });
    const disabled = full.jobs.find((j: any) => j.id === ids[0]);
    expect(full.jobs.slice(-2).map((j: any) => j.enabled)).toEqual([false, false]);
    expect(disabled.nextRunAtMs).toBeUndefined();
    expect(disabled.state.nextRunAtMs).toBeUndefined();
    expect(call("cron.list", { query: "job-3" }).jobs.map((j: any) => j.name)).toEqual(["job-3"]);
    expect(call("cron.list", { compact: true, limit: 1 }).jobs[0]).toEqual({
      id: ids[4],
      name: "job-4",
      enabled: true,
      effectiveAgentId: "main",
      scheduleKind: "every",
      schedule: { kind: "every", everyMs: 60000, anchorMs: T0 + 4 },
      nextRunAtMs: T0 + 4 + 60000,
      nextRunAt: new Date(T0 + 4 + 60000).toISOString(),
      lastRunAtMs: null,
      lastRunAt: null,
      lastRunStatus: null,
    });
    expect(() => call("cron.list", { limit: 0 })).toThrow("invalid cron.list params: at /limit: must be >= 1");
    expect(() => call("cron.list", { limit: 201 })).toThrow("invalid cron.list params: at /limit: must be <= 200");
  });

  test("status and get", () => {
    const { call, fails } = setup();
    const job = call("cron.add", CLI_ADD_EVERY);
    const status = call("cron.status", {});
    expect(Object.keys(status).sort()).toEqual(["enabled", "jobs", "nextWakeAtMs", "sqlitePath", "storage", "storePath", "triggersEnabled"]);
    expect(status).toMatchObject({ enabled: true, storage: "sqlite", jobs: 2, nextWakeAtMs: T0 + 600000 });
    expect(status.sqlitePath).toEndWith("openclaw.sqlite");
    expect(call("cron.get", { id: job.id }).id).toBe(job.id);
    expect(call("cron.get", { jobId: job.id }).id).toBe(job.id);
    const missing = fails("cron.get", { id: "nope" });
    expect(missing.code).toBe("INVALID_REQUEST");
    expect(missing.message).toStartWith("cron job not found: nope. List automations and retry with a current job id.");
    expect(missing.details).toEqual({ code: "CRON_JOB_NOT_FOUND", jobId: "nope" });
    expect(fails("cron.get", {}).message).toBe("invalid cron.get params: must have required property 'id'");
    expect(fails("cron.status", { bogus: 1 }).message).toMatch(/^invalid cron.status params/);
  });
});

describe("cron.update / remove", () => {
  test("the CLI's edit, enable, disable and rm", () => {
    const { call, clock, fails } = setup();
    const job = call("cron.add", CLI_ADD_EVERY);
    clock.t = T0 + 5000;
    const edited = call("cron.update", { id: job.id, patch: { schedule: { kind: "every", everyMs: 900000 }, payload: { kind: "agentTurn", message: "edited" } } });
    expect(edited).toMatchObject({
      schedule: { kind: "every", everyMs: 900000, anchorMs: T0 + 5000 },
      payload: { kind: "agentTurn", message: "edited", toolsAllow: ["*"] },
      state: { nextRunAtMs: T0 + 5000 + 900000, scheduleActivatedAtMs: T0 + 5000 },
      updatedAtMs: T0 + 5000,
    });
    expect(edited.deliveryPreview).toBeUndefined();
    const off = call("cron.update", { id: job.id, patch: { enabled: false } });
    expect(off.enabled).toBe(false);
    expect(off.nextRunAtMs).toBeUndefined();
    const on = call("cron.update", { id: job.id, patch: { enabled: true } });
    expect(on.nextRunAtMs).toBeGreaterThan(clock.t);
    // Delivery patches merge; null clears a field.
    const d = call("cron.update", { id: job.id, patch: { delivery: { mode: "announce", channel: "telegram", to: "123" } } });
    expect(d.delivery).toEqual({ mode: "announce", channel: "telegram", to: "123" });
    expect(call("cron.update", { id: job.id, patch: { delivery: { to: null } } }).delivery).toEqual({ mode: "announce", channel: "telegram" });
    expect(call("cron.update", { id: job.id, patch: { payload: { kind: "agentTurn", model: "fake/echo" } } }).payload.model).toBe("fake/echo");
    expect(call("cron.update", { id: job.id, patch: { payload: { kind: "agentTurn", model: null } } }).payload.model).toBeUndefined();
    // Optimistic concurrency.
    expect(fails("cron.update", { id: job.id, patch: { name: "x" }, expectedConfigRevision: "sha256:stale" }).details).toMatchObject({ code: "CRON_CONFIG_REVISION_CONFLICT" });
    expect(fails("cron.update", { id: "nope", patch: { enabled: true } }).message).toStartWith("Automation not found: nope.");
    expect(fails("cron.update", { id: job.id, patch: { state: { nextRunAtMs: 1 } } }).message).toMatch(/state patches are not supported/);
    expect(call("cron.remove", { id: job.id })).toEqual({ ok: true, removed: true });
    expect(fails("cron.remove", { id: job.id }).details).toEqual({ code: "CRON_JOB_NOT_FOUND", jobId: job.id });
  });
});

describe("cron.run / cron.runs and delivery", () => {
  test("force run, then runs with the CLI's params", async () => {
    const { call, auto } = setup();
    const job = call("cron.add", { ...CLI_ADD_EVERY, delivery: { mode: "none", channel: "last" } });
    const res = call("cron.run", { id: job.id, mode: "force" });
    expect(res).toEqual({ ok: true, enqueued: true, runId: `manual:${job.id}:${T0}:1`, processInstanceId: auto.cron.processInstanceId });
    await auto.cron.idle();
    const runs = call("cron.runs", { id: job.id, limit: 20 });
    expect(runs).toMatchObject({ total: 1, offset: 0, limit: 20, hasMore: false, nextOffset: null });
    expect(runs.entries[0]).toMatchObject({
      jobId: job.id,
      action: "finished",
      status: "ok",
      completionStatus: "succeeded",
      summary: "done: hello every",
      runId: res.runId,
      model: "echo",
      provider: "fake",
      delivered: false,
      deliveryStatus: "not-requested",
      delivery: { intended: { channel: "last", to: null, source: "last" }, fallbackUsed: false, delivered: false },
      jobName: "every-job",
    });
    expect(call("cron.runs", { id: job.id, runId: res.runId }).total).toBe(1);
    expect(call("cron.runs", { id: job.id, status: "error" }).total).toBe(0);
    expect(call("cron.runs", { id: job.id, statuses: ["ok"] }).total).toBe(1);
    expect(call("cron.runs", { id: job.id, query: "HELLO" }).total).toBe(1);
    expect(call("cron.runs", { scope: "all" }).total).toBe(1);
    expect(() => call("cron.runs", { id: "x", limit: 500 })).toThrow("invalid cron.runs params: at /limit: must be <= 200");
    expect(() => call("cron.runs", { id: "../etc" })).toThrow(/invalid cron.runs params/);
  });

  test("announce without channels fails closed: status error, completion failed (as the original)", async () => {
    const { call, auto } = setup();
    const job = call("cron.add", CLI_ADD_EVERY);
    call("cron.run", { id: job.id });
    await auto.cron.idle();
    const entry = call("cron.runs", { id: job.id }).entries[0];
    expect(entry).toMatchObject({
      status: "error",
      completionStatus: "failed",
      error: NO_CHANNEL_ERROR,
      delivered: false,
      deliveryStatus: "not-delivered",
      deliveryError: NO_CHANNEL_ERROR,
      delivery: { intended: { channel: "last", to: null, source: "last" }, resolved: { ok: false, to: null, source: "last", error: NO_CHANNEL_ERROR }, fallbackUsed: false, delivered: false },
      diagnostics: { summary: NO_CHANNEL_ERROR, entries: [{ source: "delivery", severity: "error", message: NO_CHANNEL_ERROR }] },
    });
    expect(call("cron.get", { id: job.id })).toMatchObject({ lastRunStatus: "error", lastRunError: NO_CHANNEL_ERROR, lastDelivered: false, lastDeliveryStatus: "not-delivered" });
  });

  test("with a delivery function: delivered, send failure, silence, best effort", async () => {
    const sent: DeliveryRequest[] = [];
    let behaviour: "ok" | "fail" | "unresolved" = "ok";
    const { call, auto, agent } = setup({
      deliver: async (req) => {
        sent.push(req);
        if (behaviour === "unresolved") return { resolved: false, delivered: false, error: "no such chat" };
        if (behaviour === "fail") return { resolved: true, delivered: false, channel: "telegram", to: "123", error: "403 forbidden" };
        return { resolved: true, delivered: true, channel: "telegram", to: "123" };
      },
    });
    const job = call("cron.add", { ...CLI_ADD_EVERY, delivery: { mode: "announce", channel: "telegram", to: "123" } });
    const run = async () => {
      call("cron.run", { id: job.id });
      await auto.cron.idle();
      return call("cron.runs", { id: job.id, limit: 1 }).entries[0];
    };
    expect(await run()).toMatchObject({ status: "ok", completionStatus: "succeeded", delivered: true, deliveryStatus: "delivered" });
    expect(sent[0]).toMatchObject({ channel: "telegram", to: "123", text: "done: hello every", purpose: "result" });
    behaviour = "fail";
    expect(await run()).toMatchObject({ status: "ok", completionStatus: "failed", delivered: false, deliveryStatus: "not-delivered", deliveryError: "403 forbidden" });
    behaviour = "unresolved";
    expect(await run()).toMatchObject({ status: "error", completionStatus: "failed", deliveryError: "no such chat" });
    behaviour = "ok";
    agent.reply = () => "NO_REPLY";
    const before = sent.length;
    expect(await run()).toMatchObject({ status: "ok", completionStatus: "succeeded", deliveryStatus: "not-delivered", deliverySuppressionReason: "silent" });
    expect(sent.length).toBe(before);
    agent.reply = () => "hi";
    behaviour = "unresolved";
    call("cron.update", { id: job.id, patch: { delivery: { bestEffort: true } } });
    expect(await run()).toMatchObject({ status: "ok", completionStatus: "succeeded", deliveryStatus: "not-delivered" });
  });

  test("failure alerts: one per incident after two consecutive errors, a changed cause after the cooldown, then one recovery notice", async () => {
    const sent: DeliveryRequest[] = [];
    const { call, auto, agent, clock } = setup({ deliver: async (req) => (sent.push(req), { resolved: true, delivered: true }) });
    const job = call("cron.add", { ...CLI_ADD_EVERY, schedule: { kind: "every", everyMs: 3_600_000 }, delivery: { mode: "announce", channel: "telegram", to: "123" } });
    const alerts = () => sent.filter((s) => s.purpose === "failure-alert");
    const runOnce = async () => {
      call("cron.run", { id: job.id });
      await auto.cron.idle();
    };
    agent.mode = "throw";
    for (let i = 0; i < 3; i++) await runOnce();
    expect(alerts().length).toBe(1);
    expect(alerts()[0]).toMatchObject({ channel: "telegram", to: "123" });
    expect(alerts()[0].text).toContain(`Automation "every-job" failed 2 times in a row (last run started `);
    expect(alerts()[0].text).toContain("UTC). Details: openclaw cron runs --id");
    // A changed cause inside the cooldown waits.
    agent.error = "provider exploded: 401 bad key";
    await runOnce();
    expect(alerts().length).toBe(1);
    // After it, the changed cause alerts; the same cause again stays one incident, even past the cooldown.
    clock.t += 3_600_000;
    await runOnce();
    expect(alerts().length).toBe(2);
    clock.t += 3_600_000;
    await runOnce();
    expect(alerts().length).toBe(2);
    agent.mode = "reply";
    await runOnce();
    expect(sent.filter((s) => s.purpose === "recovery").length).toBe(1);
    await runOnce();
    expect(sent.filter((s) => s.purpose === "recovery").length).toBe(1);
    // failureAlert:false silences it.
    call("cron.update", { id: job.id, patch: { failureAlert: false } });
    agent.mode = "throw";
    for (let i = 0; i < 3; i++) await runOnce();
    expect(alerts().length).toBe(2);
  });

  test("a failed delivery alerts at once through an alternate destination, never through the failing route", async () => {
    const sent: DeliveryRequest[] = [];
    const { call, auto } = setup({
      deliver: async (req) => {
        sent.push(req);
        return req.to === "123" ? { resolved: true, delivered: false, error: "Telegram send failed (123): 403 Forbidden" } : { resolved: true, delivered: true };
      },
    });
    const runOnce = async (id: string) => {
      call("cron.run", { id });
      await auto.cron.idle();
      return call("cron.runs", { id, limit: 1 }).entries[0];
    };
    const plain = call("cron.add", { ...CLI_ADD_EVERY, name: "plain", delivery: { mode: "announce", channel: "telegram", to: "123" } });
    expect(await runOnce(plain.id)).toMatchObject({ status: "ok", completionStatus: "failed", deliveryStatus: "not-delivered" });
    expect(sent.filter((s) => s.purpose === "failure-alert")).toEqual([]);
    const routed = call("cron.add", {
      ...CLI_ADD_EVERY,
      name: "routed",
      delivery: { mode: "announce", channel: "telegram", to: "123", failureDestination: { channel: "telegram", to: "999" } },
    });
    expect(await runOnce(routed.id)).toMatchObject({ status: "ok", completionStatus: "failed", deliveryStatus: "not-delivered" });
    const alerts = sent.filter((s) => s.purpose === "failure-alert");
    expect(alerts.length).toBe(1);
    expect(alerts[0]).toMatchObject({ channel: "telegram", to: "999" });
    expect(alerts[0].text).toContain(`Automation "routed" ran (started `);
    await auto.cron.idle();
    expect(call("cron.get", { id: routed.id }).lastFailureNotificationDeliveryStatus).toBe("delivered");
    // The same delivery failure again: one incident.
    await runOnce(routed.id);
    expect(sent.filter((s) => s.purpose === "failure-alert").length).toBe(1);
  });
});

describe("the channel a job names", () => {
  const announce = (channel: string, to = "1", extra: Record<string, unknown> = {}) => ({ ...CLI_ADD_EVERY, delivery: { mode: "announce", channel, to, ...extra } });

  test("no channel config: a known channel is accepted, an unknown one refused", () => {
    const { call, fails } = setup();
    expect(call("cron.add", announce("telegram")).delivery).toMatchObject({ channel: "telegram" });
    expect(call("cron.add", announce("Slack")).delivery).toMatchObject({ channel: "Slack" });
    expect(fails("cron.add", announce("nosuch")).message).toBe("invalid cron.add params: delivery.channel is not a known channel: nosuch");
    expect(fails("cron.add", announce("telegram", "discord:1")).message).toBe('invalid cron.add params: delivery.channel: target "discord:1" names channel discord, not telegram');
  });

  test("channels configured: the channel must be one of them; a channel block without credentials is not configured", () => {
    const configured = setup({ channels: () => ["telegram"], config: { channels: { telegram: { botToken: "1:x", accounts: { off: { botToken: "2:y", enabled: false } } } } } as unknown as OpenClawConfig });
    expect(configured.fails("cron.add", announce("discord")).message).toBe("invalid cron.add params: delivery.channel must be one of: telegram");
    expect(configured.fails("cron.add", announce("last", "discord:1")).message).toBe("invalid cron.add params: delivery.channel must be one of: telegram");
    expect(configured.fails("cron.add", announce("telegram", "1", { accountId: "off" })).message).toBe('invalid cron.add params: delivery.accountId: account "off" is disabled for channel telegram');
    expect(configured.fails("cron.add", announce("telegram", "1", { failureDestination: { channel: "discord", to: "2" } })).message).toBe(
      "invalid cron.add params: delivery.failureDestination.channel must be one of: telegram",
    );
    expect(configured.fails("cron.add", { ...announce("telegram"), failureAlert: { channel: "slack", to: "C1" } }).message).toBe("invalid cron.add params: failureAlert.channel must be one of: telegram");
    const job = configured.call("cron.add", announce("telegram", "-100123:topic:4"));
    expect(configured.fails("cron.update", { id: job.id, patch: { delivery: { channel: "discord" } } }).message).toBe("invalid cron.update params: delivery.channel must be one of: telegram");
    expect(configured.call("cron.get", { id: job.id }).delivery).toMatchObject({ channel: "telegram" });
    // `last` and no channel are always fine.
    expect(configured.call("cron.add", { ...CLI_ADD_EVERY, delivery: { mode: "announce" } }).delivery).toEqual({ mode: "announce" });

    const unconfigured = setup({ channels: () => [], config: { channels: { discord: { enabled: true } } } as unknown as OpenClawConfig });
    expect(unconfigured.fails("cron.add", announce("discord")).message).toBe("invalid cron.add params: delivery.channel is not configured: discord");
  });
});

describe("scratch", () => {
  test("compare-and-swap, clear, cap", () => {
    const { call, fails } = setup();
    const job = call("cron.add", CLI_ADD_EVERY);
    expect(call("cron.scratch.get", { id: job.id })).toEqual({ scratch: null, currentRevision: 0, maxBytes: 262144 });
    const w1 = call("cron.scratch.set", { id: job.id, content: "- inbox", expectedRevision: 0 });
    expect(w1).toMatchObject({ ok: true, currentRevision: 1, scratch: { content: "- inbox", revision: 1 } });
    expect(call("cron.scratch.set", { id: job.id, content: "stale", expectedRevision: 0 })).toEqual({ ok: false, reason: "revision-conflict", currentRevision: 1 });
    expect(call("cron.scratch.set", { id: job.id, content: null })).toMatchObject({ ok: true, scratch: null, currentRevision: 2 });
    expect(call("cron.scratch.get", { id: job.id })).toEqual({ scratch: null, currentRevision: 2, maxBytes: 262144 });
    expect(fails("cron.scratch.set", { id: job.id, content: "x".repeat(262145) }).message).toMatch(/invalid cron.scratch.set params/);
    expect(fails("cron.scratch.set", { id: job.id, content: "é".repeat(131073) }).message).toMatch(/larger than 262144 bytes/);
  });
});

describe("wake and heartbeat methods", () => {
  test("params as the CLI sends them; errors as the original words them", () => {
    const { call, fails } = setup();
    expect(call("wake", { mode: "next-heartbeat", text: "Later" })).toEqual({ ok: true });
    expect(fails("wake", { mode: "now" }).message).toBe("invalid wake params: must have required property 'text'");
    expect(fails("wake", { mode: "soon", text: "x" }).message).toMatch(/^invalid wake params: at \/mode/);
    expect(call("last-heartbeat", undefined)).toBeNull();
    expect(call("set-heartbeats", { enabled: false })).toEqual({ ok: true, enabled: false });
    expect(() => call("set-heartbeats", { enabled: "yes" })).toThrow("invalid set-heartbeats params: enabled (boolean) required");
    expect(call("hooks.status", {})).toMatchObject({ hooks: [] });
  });
});
