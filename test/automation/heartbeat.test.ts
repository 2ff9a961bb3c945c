/**
 * Heartbeat: config resolution, monitor jobs, active hours, the skip decision, reply handling,
 * the runner end to end with a fake agent, wake, set-heartbeats, HEARTBEAT.md migration.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { Automation } from "../../src/automation/index.ts";
import {
  HEARTBEAT_PROMPT,
  classifyHeartbeatReply,
  decideHeartbeat,
  heartbeatAgents,
  heartbeatHealth,
  heartbeatPhaseMs,
  isEffectivelyEmptyScratch,
  isWithinActiveHours,
  migrateHeartbeatFile,
  type HeartbeatFacts,
} from "../../src/automation/heartbeat.ts";
import { RpcError } from "../../src/protocol/errors.ts";
import { FakeAgent, ManualClock, flush, tempStore } from "./helpers.ts";

const T0 = Date.parse("2026-12-06T12:00:00Z");
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

describe("config", () => {
  test("defaults: the default agent, 30m, owner, the documented prompt", () => {
    const [hb] = heartbeatAgents({});
    expect(hb).toMatchObject({ agentId: "main", enabled: true, every: "30m", everyMs: 1_800_000, target: "owner", prompt: HEARTBEAT_PROMPT, timeoutMs: 600_000 });
    expect(heartbeatHealth({}, "main")).toEqual({ enabled: true, every: "30m", everyMs: 1_800_000, prompt: HEARTBEAT_PROMPT, target: "owner", ackMaxChars: 300 });
  });
  test("per-agent blocks merge over defaults and select the agents", () => {
    const cfg = {
      agents: {
        defaults: { heartbeat: { every: "45", target: "none", activeHours: { start: "09:00", end: "17:00" } } },
        entries: { main: { default: true }, ops: { heartbeat: { every: "1h", target: "telegram", to: "123", timeoutSeconds: 45 } } },
      },
    } as unknown as OpenClawConfig;
    const all = heartbeatAgents(cfg);
    expect(all.map((h) => h.agentId)).toEqual(["ops"]);
    expect(all[0]).toMatchObject({ every: "1h", everyMs: 3_600_000, target: "telegram", to: "123", timeoutMs: 45_000, activeHours: { start: "09:00", end: "17:00" } });
    // Without per-agent blocks, "45" means minutes.
    const plain = heartbeatAgents({ agents: { defaults: { heartbeat: { every: "45" } } } } as unknown as OpenClawConfig);
    expect(plain[0].everyMs).toBe(45 * 60_000);
  });
  test("0m disables the cadence", () => {
    const [hb] = heartbeatAgents({ agents: { defaults: { heartbeat: { every: "0m" } } } } as unknown as OpenClawConfig);
    expect(hb).toMatchObject({ enabled: false, every: "disabled", everyMs: null });
  });
});

describe("active hours", () => {
  const at = (iso: string) => Date.parse(iso);
  test("window, end exclusive, overnight, empty, 24:00", () => {
    const win = { start: "09:00", end: "17:00", timezone: "UTC" };
    expect(isWithinActiveHours(win, at("2026-12-06T09:00:00Z"))).toBe(true);
    expect(isWithinActiveHours(win, at("2026-12-06T16:59:00Z"))).toBe(true);
    expect(isWithinActiveHours(win, at("2026-12-06T17:00:00Z"))).toBe(false);
    expect(isWithinActiveHours({ start: "22:00", end: "06:00", timezone: "UTC" }, at("2026-12-06T23:30:00Z"))).toBe(true);
    expect(isWithinActiveHours({ start: "22:00", end: "06:00", timezone: "UTC" }, at("2026-12-06T12:00:00Z"))).toBe(false);
    expect(isWithinActiveHours({ start: "08:00", end: "08:00", timezone: "UTC" }, at("2026-12-06T08:00:00Z"))).toBe(false);
    expect(isWithinActiveHours({ start: "00:00", end: "24:00", timezone: "UTC" }, at("2026-12-06T23:59:00Z"))).toBe(true);
  });
  test("time zones: IANA, user, local, unknown falls back to user", () => {
    const win = { start: "09:00", end: "22:00", timezone: "America/New_York" };
    expect(isWithinActiveHours(win, at("2026-12-06T13:59:00Z"))).toBe(false); // 08:59 EST
    expect(isWithinActiveHours(win, at("2026-12-06T14:00:00Z"))).toBe(true); // 09:00 EST
    const user = { start: "09:00", end: "22:00" };
    expect(isWithinActiveHours(user, at("2026-12-06T08:30:00Z"), { userTimezone: "Europe/Berlin", hostTimezone: "UTC" })).toBe(true);
    expect(isWithinActiveHours({ ...user, timezone: "local" }, at("2026-12-06T08:30:00Z"), { userTimezone: "Europe/Berlin", hostTimezone: "UTC" })).toBe(false);
    expect(isWithinActiveHours({ ...user, timezone: "Mars/Olympus" }, at("2026-12-06T08:30:00Z"), { userTimezone: "Europe/Berlin", hostTimezone: "UTC" })).toBe(true);
  });
});

describe("the skip decision", () => {
  const base: HeartbeatFacts = {
    heartbeatsEnabled: true,
    heartbeat: heartbeatAgents({})[0],
    source: "interval",
    nowMs: T0,
    pendingEvents: 0,
    mainQueueSize: 0,
    activeRunsForAgent: 0,
    targetSessionBusy: false,
    cronBusy: false,
    routeAvailable: true,
  };
  const reason = (over: Partial<HeartbeatFacts>) => {
    const d = decideHeartbeat({ ...base, ...over });
    return d.run ? "run" : d.reason;
  };
  test("each reason, in order", () => {
    expect(reason({})).toBe("run");
    expect(reason({ heartbeatsEnabled: false })).toBe("disabled");
    expect(reason({ heartbeat: undefined })).toBe("disabled");
    const quiet = { ...base.heartbeat!, activeHours: { start: "01:00", end: "02:00", timezone: "UTC" } };
    expect(reason({ heartbeat: quiet })).toBe("quiet-hours");
    expect(reason({ heartbeat: quiet, source: "wake" })).toBe("run");
    expect(reason({ scratch: "# Checklist\n\n- [ ]\n<!-- nothing -->\n" })).toBe("empty-heartbeat-file");
    expect(reason({ scratch: "# Checklist\n", pendingEvents: 1 })).toBe("run");
    expect(reason({ scratch: "- check inbox" })).toBe("run");
    expect(reason({ visibility: { showOk: false, showAlerts: false, useIndicator: false } })).toBe("alerts-disabled");
    expect(reason({ mainQueueSize: 2 })).toBe("requests-in-flight");
    expect(reason({ lanesSaturated: true })).toBe("requests-in-flight");
    expect(reason({ cronBusy: true })).toBe("cron-in-progress");
    expect(reason({ mainQueueSize: 1, cronBusy: true })).toBe("requests-in-flight");
    expect(reason({ activeRunsForAgent: 1 })).toBe("requests-in-flight");
    expect(reason({ activeRunsForAgent: 1, source: "wake" })).toBe("run");
    expect(reason({ targetSessionBusy: true, source: "wake" })).toBe("requests-in-flight");
    expect(reason({ routeAvailable: false })).toBe("no-route");
    expect(reason({ routeAvailable: false, pendingEvents: 1 })).toBe("run");
    expect(reason({ routeAvailable: false, source: "wake" })).toBe("run");
  });
});

describe("replies", () => {
  test("acknowledgements and alerts", () => {
    expect(classifyHeartbeatReply("")).toEqual({ kind: "empty" });
    expect(classifyHeartbeatReply("  ")).toEqual({ kind: "empty" });
    expect(classifyHeartbeatReply("NO_REPLY")).toEqual({ kind: "ack" });
    expect(classifyHeartbeatReply("no_reply.")).toEqual({ kind: "ack" });
    expect(classifyHeartbeatReply("HEARTBEAT_OK")).toEqual({ kind: "ack" });
    expect(classifyHeartbeatReply("**HEARTBEAT_OK**")).toEqual({ kind: "ack" });
    expect(classifyHeartbeatReply("HEARTBEAT_OK all quiet here")).toEqual({ kind: "ack" });
    expect(classifyHeartbeatReply("Nothing new. HEARTBEAT_OK!")).toEqual({ kind: "ack" });
    const long = "x".repeat(301);
    expect(classifyHeartbeatReply(`HEARTBEAT_OK ${long}`)).toEqual({ kind: "alert", text: long });
    expect(classifyHeartbeatReply("Server down. HEARTBEAT_OK means nothing here, really.")).toEqual({
      kind: "alert",
      text: "Server down. HEARTBEAT_OK means nothing here, really.",
    });
    expect(classifyHeartbeatReply("Your flight leaves at 9")).toEqual({ kind: "alert", text: "Your flight leaves at 9" });
  });
  test("effectively empty scratch", () => {
    expect(isEffectivelyEmptyScratch("")).toBe(true);
    expect(isEffectivelyEmptyScratch("# H\n## h2\n```md\n```\n- \n* [ ]\n<!--\nmulti\n-->")).toBe(true);
    expect(isEffectivelyEmptyScratch("- [ ] call mom")).toBe(false);
    expect(isEffectivelyEmptyScratch("#hashtag")).toBe(false);
  });
});

interface HB {
  auto: Automation;
  clock: ManualClock;
  agent: FakeAgent;
  events: Array<{ event: string; payload: any }>;
  delivered: Array<{ target: string; text: string }>;
  tmp: ReturnType<typeof tempStore>;
}

function setup(config: OpenClawConfig, opts: { deliver?: boolean | "fail" | "unresolved"; route?: boolean } = {}): HB {
  const clock = new ManualClock(T0);
  const tmp = tempStore(() => clock.now());
  const agent = new FakeAgent();
  const events: HB["events"] = [];
  const delivered: HB["delivered"] = [];
  const auto = new Automation({
    db: tmp.db,
    stateDir: tmp.dir,
    config: () => config,
    schedulerSeed: "device-seed",
    workspaceDir: (id) => join(tmp.dir, "workspace", id),
    emit: (event, payload) => events.push({ event, payload }),
    runAgentTurn: agent.run,
    clock,
    heartbeatHasRoute: opts.route ? () => true : undefined,
    heartbeatDeliver: opts.deliver
      ? async (req) => {
          delivered.push({ target: req.heartbeat.target, text: req.text });
          if (opts.deliver === "unresolved") return { resolved: false, delivered: false, reason: "dm-blocked" };
          if (opts.deliver === "fail") return { resolved: true, delivered: false, channel: "telegram", to: "42", accountId: "default", error: "Telegram send failed (42): sendMessage: 403 Forbidden" };
          return { resolved: true, delivered: true, channel: "telegram", to: "42" };
        }
      : undefined,
  });
  auto.start();
  cleanup.push(() => {
    auto.stop();
    tmp.close();
  });
  return { auto, clock, agent, events, delivered, tmp };
}

describe("monitor jobs", () => {
  test("one system-owned job per heartbeat agent, phased by seed, converged on reload", async () => {
    let cfg: OpenClawConfig = {};
    const h = setup(cfg);
    const jobs = h.auto.cron.list({ includeDisabled: true }).jobs as any[];
    expect(jobs.length).toBe(1);
    const job = jobs[0];
    expect(job).toMatchObject({
      declarationKey: "heartbeat:main",
      displayName: "Heartbeat (main)",
      agentId: "main",
      name: "heartbeat-main",
      enabled: true,
      schedule: { kind: "every", everyMs: 1_800_000, anchorMs: heartbeatPhaseMs("device-seed", "main", 1_800_000) },
      sessionTarget: "main",
      wakeMode: "next-heartbeat",
      payload: { kind: "heartbeat" },
      effectiveAgentId: "main",
    });
    expect(job.nextRunAtMs).toBeGreaterThan(T0);
    expect(job.nextRunAtMs - T0).toBeLessThanOrEqual(1_800_000);
    // Clients cannot edit or remove it.
    expect(() => h.auto.cron.update({ id: job.id, patch: { enabled: false } } as never)).toThrow(RpcError);
    expect(() => h.auto.cron.remove({ id: job.id })).toThrow(/managed by the gateway/);
    expect(() => h.auto.cron.add({ name: "x", declarationKey: "heartbeat:main", schedule: { kind: "every", everyMs: 1000 }, payload: { kind: "systemEvent", text: "x" } } as never)).toThrow(
      /managed by the gateway/,
    );
    // Idempotent.
    h.auto.reload();
    expect((h.auto.cron.list({ includeDisabled: true }).jobs as any[]).map((j) => j.id)).toEqual([job.id]);
  });
});

describe("the runner", () => {
  test("a scheduled heartbeat with target none runs the model, records skipped/target-none with the reply", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none", every: "30m" } } } } as unknown as OpenClawConfig);
    const job = (h.auto.cron.list().jobs as any[])[0];
    await h.clock.advance(job.nextRunAtMs - T0);
    await h.auto.cron.idle();
    expect(h.agent.calls.length).toBe(1);
    expect(h.agent.calls[0].sessionKey).toBe("agent:main:main");
    expect(h.agent.calls[0].message.startsWith(HEARTBEAT_PROMPT)).toBe(true);
    const last = h.auto.heartbeat.last()!;
    expect(last).toMatchObject({ status: "skipped", reason: "target-none", hasMedia: false, message: "Heartbeat delivery is disabled by configuration (target: none)." });
    expect(last.preview).toStartWith("done: ");
    expect(h.events.filter((e) => e.event === "heartbeat").map((e) => e.payload.reason)).toEqual(["target-none"]);
    const runs = h.auto.cron.runs({ id: job.id }) as any;
    expect(runs.entries[0]).toMatchObject({ status: "skipped", completionStatus: "failed", error: "heartbeat skipped: target-none", deliveryStatus: "not-requested" });
    // Persisted: a fresh runner over the same database reads it back.
    const reopened = h.tmp.reopen(() => h.clock.now());
    const { AutomationStore } = await import("../../src/automation/store.ts");
    expect(new AutomationStore(reopened.db).getKv("heartbeat.last")).toEqual(last);
    reopened.db.close();
  });

  test("no route: a scheduled poll skips before any model call", async () => {
    const h = setup({});
    const job = (h.auto.cron.list().jobs as any[])[0];
    await h.clock.advance(job.nextRunAtMs - T0);
    await h.auto.cron.idle();
    expect(h.agent.calls.length).toBe(0);
    expect(h.auto.heartbeat.last()).toMatchObject({
      status: "skipped",
      reason: "no-route",
      message: "Heartbeat has no delivery route yet. Message your bot once, or set agents.defaults.heartbeat.target.",
    });
  });

  test("a failed send is a delivery failure: recorded with the platform's error, the monitor job's run is ok/failed and counts toward no failure streak", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "telegram", to: "42" } } } } as unknown as OpenClawConfig, { deliver: "fail", route: true });
    h.agent.reply = () => "Disk almost full";
    const job = (h.auto.cron.list().jobs as any[])[0];
    for (let i = 0; i < 12; i++) {
      await h.clock.advance(((h.auto.cron.list().jobs as any[])[0].nextRunAtMs as number) - h.clock.now());
      await h.auto.cron.idle();
    }
    expect(h.auto.heartbeat.last()).toMatchObject({
      status: "failed",
      reason: "Telegram send failed (42): sendMessage: 403 Forbidden",
      channel: "telegram",
      to: "42",
      accountId: "default",
      preview: "Disk almost full",
      indicatorType: "error",
    });
    const runs = (h.auto.cron.runs({ id: job.id }) as any).entries;
    expect(runs.length).toBe(12);
    expect(runs[0]).toMatchObject({ status: "ok", completionStatus: "failed", deliveryStatus: "not-delivered", deliveryError: "Telegram send failed (42): sendMessage: 403 Forbidden" });
    const after = (h.auto.cron.list().jobs as any[])[0];
    expect(after).toMatchObject({ enabled: true, state: { consecutiveErrors: 0 } });
    expect(after.state.autoDisabled).toBeUndefined();
  });

  test("an alert with nowhere to go is skipped with the resolver's reason; the implicit owner target's first alert explains itself once", async () => {
    const blocked = setup({ agents: { defaults: { heartbeat: { target: "last", directPolicy: "block" } } } } as unknown as OpenClawConfig, { deliver: "unresolved", route: true });
    blocked.agent.reply = () => "Disk almost full";
    expect(await blocked.auto.heartbeat.run("main", "manual")).toMatchObject({ status: "skipped", reason: "dm-blocked", preview: "Disk almost full" });
    expect(blocked.auto.heartbeat.last()!.message).toBeUndefined();

    const owner = setup({}, { deliver: true, route: true });
    owner.agent.reply = () => "Disk almost full";
    const first = await owner.auto.heartbeat.run("main", "manual");
    expect(first.status).toBe("sent");
    expect(owner.delivered[0].text).toStartWith("Heartbeat: this assistant runs periodic background checks");
    expect(owner.delivered[0].text).toEndWith("\nDisk almost full");
    expect(first.preview).toStartWith("Heartbeat: this assistant");
    await owner.auto.heartbeat.run("main", "manual");
    expect(owner.delivered[1].text).toBe("Disk almost full");
  });

  test("sent, ok-token, ok-empty, failed", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "telegram", to: "42" } } } } as unknown as OpenClawConfig, { deliver: true, route: true });
    h.agent.reply = () => "Your flight leaves at 9";
    expect((await h.auto.heartbeat.run("main", "manual")).status).toBe("sent");
    expect(h.auto.heartbeat.last()).toMatchObject({ status: "sent", to: "42", channel: "telegram", preview: "Your flight leaves at 9", indicatorType: "alert", hasMedia: false });
    expect(h.delivered).toEqual([{ target: "telegram", text: "Your flight leaves at 9" }]);
    h.agent.reply = () => "HEARTBEAT_OK";
    expect((await h.auto.heartbeat.run("main", "manual")).status).toBe("ok-token");
    h.agent.reply = () => "NO_REPLY";
    expect((await h.auto.heartbeat.run("main", "manual")).status).toBe("ok-token");
    h.agent.reply = () => "";
    expect(await h.auto.heartbeat.run("main", "manual")).toMatchObject({ status: "ok-empty", indicatorType: "ok" });
    h.agent.mode = "throw";
    expect(await h.auto.heartbeat.run("main", "manual")).toMatchObject({ status: "failed", reason: "agent-runner-failure", indicatorType: "error" });
    expect(h.delivered.length).toBe(1);
  });

  test("an empty scratch skips without a model call; a checklist goes into the prompt", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig, { route: true });
    const job = (h.auto.cron.list().jobs as any[])[0];
    h.auto.cron.scratchSet({ id: job.id, content: "# Heartbeat checklist\n- [ ]\n" });
    expect(await h.auto.heartbeat.run("main", "interval")).toMatchObject({ status: "skipped", reason: "empty-heartbeat-file" });
    expect(h.agent.calls.length).toBe(0);
    h.auto.cron.scratchSet({ id: job.id, content: "- Check the inbox" });
    await h.auto.heartbeat.run("main", "interval");
    expect(h.agent.calls[0].message).toContain("- Check the inbox");
  });

  test("set-heartbeats: persisted switch; a disabled heartbeat leaves no record; bad params", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig);
    expect(h.auto.heartbeat.setEnabled({ enabled: false })).toEqual({ ok: true, enabled: false });
    expect(await h.auto.heartbeat.run("main", "wake")).toMatchObject({ status: "skipped", reason: "disabled" });
    expect(h.auto.heartbeat.last()).toBeNull();
    expect(h.agent.calls.length).toBe(0);
    expect(h.auto.heartbeat.enabled()).toBe(false);
    expect(() => h.auto.heartbeat.setEnabled({ enabled: "yes" })).toThrow("invalid set-heartbeats params: enabled (boolean) required");
    h.auto.heartbeat.setEnabled({ enabled: true });
    expect(h.auto.heartbeat.enabled()).toBe(true);
  });

  test("busy automation defers a scheduled heartbeat (cron-in-progress)", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig);
    h.agent.mode = "hang";
    const job = h.auto.cron.add({ name: "long", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "x", timeoutSeconds: 0 }, delivery: { mode: "none" } } as never) as any;
    h.auto.cron.run({ id: job.id });
    await flush();
    expect(await h.auto.heartbeat.run("main", "interval")).toMatchObject({ status: "skipped", reason: "cron-in-progress" });
    h.agent.releaseAll();
  });
});

describe("wake", () => {
  test("now: queues the event and runs the heartbeat with it in the prompt", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig);
    const wake = h.auto.methods().find((m) => m.name === "wake")!;
    expect(wake.handler({ mode: "now", text: "Check follow-ups" })).toEqual({ ok: true });
    await flush();
    expect(h.agent.calls.length).toBe(1);
    expect(h.agent.calls[0].message).toMatch(/System: \[2026-12-06 12:00:00 UTC\] Check follow-ups/);
    expect(h.auto.events.size()).toBe(0);
  });
  test("next-heartbeat: queued for the next tick, coalescing repeats", async () => {
    const h = setup({ agents: { defaults: { heartbeat: { target: "none" } } } } as unknown as OpenClawConfig);
    expect(h.auto.heartbeat.wake({ mode: "next-heartbeat", text: "Later" }).outcome).toBe("queued");
    expect(h.auto.heartbeat.wake({ mode: "next-heartbeat", text: "Later" }).outcome).toBe("coalesced");
    await flush();
    expect(h.agent.calls.length).toBe(0);
    expect(h.auto.events.size("agent:main:main")).toBe(1);
    // A heartbeat with pending events runs even without a route and consumes them.
    await h.auto.heartbeat.run("main", "interval");
    expect(h.agent.calls[0].message).toContain("Later");
    expect(h.auto.events.size()).toBe(0);
  });
});

describe("HEARTBEAT.md migration", () => {
  test("imports into the monitor scratch, archives 0600, removes the file, is idempotent", () => {
    const h = setup({});
    const workspace = join(h.tmp.dir, "workspace", "main");
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, "HEARTBEAT.md"), "# Checklist\n- inbox\n");
    const res = migrateHeartbeatFile({ service: h.auto.cron, agentId: "main", workspaceDir: workspace, stateDir: h.tmp.dir, now: T0 });
    expect(res).toMatchObject({ agentId: "main", migrated: true, bytes: 20 });
    expect(existsSync(join(workspace, "HEARTBEAT.md"))).toBe(false);
    expect(readFileSync(res.archivedTo!, "utf8")).toBe("# Checklist\n- inbox\n");
    expect(statSync(res.archivedTo!).mode & 0o777).toBe(0o600);
    expect((h.auto.cron.scratchGet({ id: res.jobId! }) as any).scratch.content).toBe("# Checklist\n- inbox\n");
    expect(migrateHeartbeatFile({ service: h.auto.cron, agentId: "main", workspaceDir: workspace, stateDir: h.tmp.dir })).toEqual({ agentId: "main", migrated: false, reason: "absent" });
    // A scratch already holding other text is not overwritten.
    writeFileSync(join(workspace, "HEARTBEAT.md"), "something else");
    expect(migrateHeartbeatFile({ service: h.auto.cron, agentId: "main", workspaceDir: workspace, stateDir: h.tmp.dir })).toMatchObject({ migrated: false, reason: "scratch-differs" });
    expect(existsSync(join(workspace, "HEARTBEAT.md"))).toBe(true);
    expect(migrateHeartbeatFile({ service: h.auto.cron, agentId: "ghost", workspaceDir: workspace, stateDir: h.tmp.dir })).toMatchObject({ migrated: false, reason: "no-monitor-job" });
  });
});
