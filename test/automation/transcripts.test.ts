/**
 * Our RPC results and events against the shapes the original 2026.9.6 gateway answered to its
 * own CLI (test/fixture/transcripts/cron): the request params it sent must parse with our
 * schemas, and our answers must carry the same fields (names and JSON types).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Automation } from "../../src/automation/index.ts";
import type { AutomationMethodDef } from "../../src/automation/rpc.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { FakeAgent, ManualClock, tempStore } from "./helpers.ts";

const DIR = join(import.meta.dir, "..", "fixture", "transcripts", "cron");

interface Frame {
  dir: "c2s" | "s2c" | "meta";
  data?: any;
}

function frames(name: string): Frame[] {
  return readFileSync(join(DIR, `${name}.jsonl`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** The (method, params, result) pairs of a capture, connect excluded. */
function exchanges(name: string): Array<{ method: string; params: unknown; ok: boolean; payload: any; error?: any }> {
  const fs = frames(name);
  const out: Array<{ method: string; params: unknown; ok: boolean; payload: any; error?: any }> = [];
  for (const f of fs) {
    if (f.dir !== "c2s" || f.data?.type !== "req" || f.data.method === "connect") continue;
    const res = fs.find((r) => r.dir === "s2c" && r.data?.type === "res" && r.data.id === f.data.id);
    if (res) out.push({ method: f.data.method, params: f.data.params, ok: res.data.ok, payload: res.data.payload, error: res.data.error });
  }
  return out;
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** Field name → JSON type, one level deep ("a.b" for nested object fields). */
function shape(value: any, depth = 2, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value || typeof value !== "object" || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    out[prefix + k] = typeOf(v);
    if (depth > 1 && typeOf(v) === "object") Object.assign(out, shape(v, depth - 1, `${prefix}${k}.`));
  }
  return out;
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

function setup() {
  const clock = new ManualClock(Date.parse("2026-12-05T23:58:30Z"));
  const tmp = tempStore(() => clock.now());
  const agent = new FakeAgent();
  const events: Array<{ event: string; payload: any }> = [];
  const auto = new Automation({
    db: tmp.db,
    stateDir: tmp.dir,
    config: () => ({ agents: { defaults: { heartbeat: { target: "none" } } } }) as unknown as OpenClawConfig,
    schedulerSeed: "seed",
    workspaceDir: () => join(tmp.dir, "workspace"),
    emit: (event, payload) => events.push({ event, payload }),
    runAgentTurn: agent.run,
    clock,
  });
  auto.start();
  cleanup.push(() => {
    auto.stop();
    tmp.close();
  });
  const methods = new Map(auto.methods().map((m) => [m.name, m] as [string, AutomationMethodDef]));
  const call = (method: string, params: unknown): any => {
    const m = methods.get(method)!;
    const parsed = m.params.safeParse(params ?? {});
    if (!parsed.success) throw new Error(`${method}: the CLI's params did not parse: ${JSON.stringify(parsed.error.issues)}`);
    return m.handler(parsed.data);
  };
  return { auto, clock, agent, events, call };
}

describe("requests the official CLI sends parse and answer with the original's fields", () => {
  test("cron status / add / list / edit / enable / disable / run / runs / rm", async () => {
    const { call, auto } = setup();
    const want = (name: string, method: string) => exchanges(name).find((e) => e.method === method)!;

    const status = want("cron-status", "cron.status");
    expect(shape(call("cron.status", status.params))).toEqual(shape(status.payload));

    const add = want("cron-add-every", "cron.add");
    const job = call("cron.add", add.params);
    expect(shape(job)).toEqual(shape(add.payload));

    for (const [capture, method] of [
      ["cron-add-cron", "cron.add"],
      ["cron-add-at-rel", "cron.add"],
      ["cron-add-hourly", "cron.add"],
      ["cron-add-6field", "cron.add"],
    ] as const) {
      const ex = want(capture, method);
      const ours = call(method, { ...(ex.params as object), ...(capture === "cron-add-at-rel" ? { schedule: { kind: "at", at: "2026-12-06T00:19:05.267Z" } } : {}) });
      expect(shape(ours)).toEqual(shape(ex.payload));
    }
    const atIso = want("cron-add-at-iso", "cron.add");
    expect(shape(call("cron.add", atIso.params))).toEqual(shape(atIso.payload));

    const list = want("cron-list", "cron.list");
    const ours = call("cron.list", list.params);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(list.payload).sort());
    expect(shape(ours.deliveryPreviews[job.id])).toEqual(shape(Object.values(list.payload.deliveryPreviews)[0]));

    const run = want("cron-run", "cron.run");
    const ran = call("cron.run", { ...(run.params as object), id: job.id });
    expect(Object.keys(ran).sort()).toEqual(Object.keys(run.payload).sort());
    expect(ran.runId).toMatch(new RegExp(`^manual:${job.id}:\\d+:\\d+$`));
    await auto.cron.idle();

    // The same announce→last job without channels fails closed on both gateways.
    const runs = want("cron-runs-every", "cron.runs");
    const ourRuns = call("cron.runs", { ...(runs.params as object), id: job.id });
    expect(Object.keys(ourRuns).sort()).toEqual(Object.keys(runs.payload).sort());
    const theirs = shape(runs.payload.entries[0]);
    const mine = shape(ourRuns.entries[0]);
    // The original also records token usage for its provider; our fake reports it too.
    expect(mine).toEqual(theirs);
    expect(ourRuns.entries[0].status).toBe(runs.payload.entries[0].status);
    expect(ourRuns.entries[0].completionStatus).toBe(runs.payload.entries[0].completionStatus);
    expect(ourRuns.entries[0].error).toBe(runs.payload.entries[0].error);

    const edit = want("cron-edit", "cron.update");
    const edited = call("cron.update", { ...(edit.params as object), id: job.id });
    const editShape = shape(edit.payload);
    for (const [k, v] of Object.entries(shape(edited))) expect([k, editShape[k]]).toEqual([k, v]);

    const disable = want("cron-disable2", "cron.update");
    const off = call("cron.update", { ...(disable.params as object), id: job.id });
    expect(off.enabled).toBe(false);
    const enable = want("cron-enable", "cron.update");
    expect(call("cron.update", { ...(enable.params as object), id: job.id }).enabled).toBe(true);

    const rm = want("cron-rm", "cron.remove");
    expect(call("cron.remove", { ...(rm.params as object), id: job.id })).toEqual(rm.payload);
  });

  test("list job fields (enabled and disabled), paging fields", () => {
    const { call } = setup();
    const page = exchanges("call-cron-list-page").find((e) => e.method === "cron.list")!;
    const theirs = page.payload;
    const job = call("cron.add", exchanges("cron-add-hourly").find((e) => e.method === "cron.add")!.params);
    for (let i = 0; i < 4; i++) call("cron.add", { ...(exchanges("cron-add-every").find((e) => e.method === "cron.add")!.params as object) });
    const ours = call("cron.list", page.params);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(typeOf(ours.nextOffset)).toBe(typeOf(theirs.nextOffset));
    const listed = ours.jobs.find((j: any) => j.id === job.id) ?? call("cron.list", { includeDisabled: true }).jobs.find((j: any) => j.id === job.id);
    for (const key of ["id", "name", "enabled", "createdAtMs", "updatedAtMs", "schedule", "sessionTarget", "wakeMode", "payload", "delivery", "state", "configRevision", "nextRunAtMs", "effectiveAgentId"]) {
      expect(listed).toHaveProperty(key);
    }
  });

  test("errors: not found details and messages", () => {
    const { auto } = setup();
    for (const [capture, method] of [
      ["call-cron-get-missing", "cron.get"],
      ["call-cron-run-missing", "cron.run"],
      ["call-cron-remove-missing", "cron.remove"],
      ["call-cron-update-missing", "cron.update"],
    ] as const) {
      const ex = exchanges(capture).find((e) => e.method === method)!;
      const m = auto.methods().find((d) => d.name === method)!;
      let err: any;
      try {
        m.handler(m.params.parse(ex.params));
      } catch (e) {
        err = e;
      }
      expect(err.code).toBe(ex.error.code);
      expect(err.message).toBe(ex.error.message);
      expect(err.details).toEqual(ex.error.details);
    }
  });

  test("system event, heartbeat last/enable/disable", async () => {
    const { call, auto } = setup();
    const wake = exchanges("sys-event").find((e) => e.method === "wake")!;
    expect(wake.params).toEqual({ mode: "now", text: "Check follow-ups" });
    expect(call("wake", wake.params)).toEqual(wake.payload);
    const wakeJson = exchanges("sys-event-json").find((e) => e.method === "wake")!;
    expect(call("wake", wakeJson.params)).toEqual(wakeJson.payload);
    await Bun.sleep(0);
    await auto.cron.idle();
    const last = exchanges("hb-last-none").find((e) => e.method === "last-heartbeat")!;
    expect(last.params).toBeUndefined();
    const ours = call("last-heartbeat", last.params);
    expect(ours.status).toBe(last.payload.status);
    expect(ours.reason).toBe(last.payload.reason);
    expect(ours.message).toBe(last.payload.message);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(last.payload).sort());
    for (const name of ["hb-disable", "hb-enable"]) {
      const ex = exchanges(name).find((e) => e.method === "set-heartbeats")!;
      expect(call("set-heartbeats", ex.params)).toEqual(ex.payload);
    }
  });
});

test("every request the official CLI sent in the captures parses with our schemas", () => {
  const { auto } = setup();
  const defs = new Map(auto.methods().map((m) => [m.name, m] as [string, AutomationMethodDef]));
  let checked = 0;
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".jsonl"))) {
    for (const f of frames(file.replace(/\.jsonl$/, ""))) {
      if (f.dir !== "c2s" || f.data?.type !== "req") continue;
      const def = defs.get(f.data.method);
      if (!def) continue;
      const parsed = def.params.safeParse(f.data.params ?? {});
      expect([file, f.data.method, parsed.success]).toEqual([file, f.data.method, true]);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(40);
});

describe("events", () => {
  test("cron event payloads carry the original's fields per action", async () => {
    const theirs = frames("events").map((f) => f.data).filter((d) => d.event === "cron").map((d) => d.payload);
    const { call, auto, events } = setup();
    const job = call("cron.add", { ...(exchanges("cron-add-every").find((e) => e.method === "cron.add")!.params as object), delivery: { mode: "none", channel: "last" } });
    call("cron.update", { id: job.id, patch: { enabled: true, name: "renamed" } });
    call("cron.run", { id: job.id });
    await auto.cron.idle();
    const due = job.nextRunAtMs;
    await (auto.clock as ManualClock).advance(due - auto.clock.now());
    await auto.cron.idle();
    call("cron.remove", { id: job.id });
    const ours = events.filter((e) => e.event === "cron" && e.payload.jobId === job.id).map((e) => e.payload);
    for (const action of ["added", "started", "finished", "scheduled", "removed"]) {
      const a = theirs.find((p) => p.action === action && (action !== "finished" || !p.error))!;
      const b = ours.find((p) => p.action === action && (action !== "finished" || !p.runId))!;
      expect([action, Object.keys(b).sort()]).toEqual([action, Object.keys(a).sort()]);
    }
    const updated = ours.find((p) => p.action === "updated")!;
    expect(Object.keys(updated).sort()).toEqual(["action", "job", "jobId", "nextRunAtMs"]);
  });

  test("heartbeat event payload", async () => {
    const theirs = frames("events").map((f) => f.data).filter((d) => d.event === "heartbeat").map((d) => d.payload);
    const { auto, events } = setup();
    await auto.heartbeat.run("main", "wake");
    const ours = events.filter((e) => e.event === "heartbeat").map((e) => e.payload);
    const targetNone = theirs.find((p) => p.reason === "target-none")!;
    expect(Object.keys(ours[0]).sort()).toEqual(Object.keys(targetNone).sort());
    expect(ours[0]).toMatchObject({ status: "skipped", reason: "target-none", hasMedia: false, message: targetNone.message });
  });
});
