/**
 * Automation end to end through the compiled binary: `openclaw gateway` as a child process with
 * the fake model provider, driven by the binary's own `openclaw cron …` and `openclaw system …`
 * and by plain HTTP for hooks. A job added with `cron add` and forced with `cron run` shows an
 * ok run in `cron runs` and the provider got its message; a disabled job never runs; jobs
 * survive a kill -9 and a job due meanwhile catches up once; `system heartbeat last` shows the
 * run and its skip reason; a hook with the right token starts a run, wrong tokens get 401 and
 * then 429. Bad command lines and bad input get the original's errors and exit 1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { useChildGateways } from "../helpers/children.ts";
import { pollUntil } from "../helpers/poll.ts";

const TOKEN = "e2e-cron-token-0123456789abcdef";
const HOOK_TOKEN = "e2e-hook-token-0123456789abcdef";
const fake = new FakeUpstream();
const children = useChildGateways("openclaw-e2e-cron-");
let binary = "";
let stateDir = "";
let port = 0;
let gateway: GatewayChild;

function writeConfig(): void {
  const config = {
    gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${fake.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
    agents: { defaults: { model: "fake/echo" } },
    hooks: { enabled: true, token: HOOK_TOKEN },
  };
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
}

async function startGateway(): Promise<GatewayChild> {
  gateway = await children.start({ command: [binary], port, stateDir, cwd: stateDir });
  return gateway;
}

/** The binary's CLI against the gateway (its config names the port; the token comes from the environment). */
async function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string; json: any }> {
  const r = await runToExit({ command: [binary], args, cwd: stateDir, env: { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_TOKEN: TOKEN, NO_COLOR: "1" }, timeoutMs: 30_000 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.exitCode, out: r.stdout, err: r.stderr, json };
}

const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000) => pollUntil(check, what, { timeoutMs, intervalMs: 50 });

const runs = async (id: string) => (await cli("cron", "runs", "--id", id, "--limit", "20")).json.entries as any[];

beforeAll(async () => {
  fake.start();
  binary = await compiledBinary();
  stateDir = children.tempDir();
  port = await freePort();
  writeConfig();
  await startGateway();
}, 180_000);

afterAll(() => fake.stop());

describe("openclaw cron against the compiled gateway", () => {
  test("add, run, runs, list, edit, disable, enable, rm, status", async () => {
    const added = await cli("cron", "add", "--name", "e2e-job", "--every", "1h", "--message", "hello from e2e", "--no-deliver");
    expect(added.code).toBe(0);
    expect(added.err).toContain("No --agent specified");
    expect(added.json).toMatchObject({ name: "e2e-job", schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: "hello from e2e" }, delivery: { mode: "none" } });
    const id = added.json.id as string;

    fake.reset();
    const forced = await cli("cron", "run", id);
    expect(forced.code).toBe(0);
    expect(forced.json).toMatchObject({ ok: true, enqueued: true });
    expect(forced.json.runId).toStartWith(`manual:${id}:`);
    const [entry] = await until(async () => {
      const e = await runs(id);
      return e.length ? e : undefined;
    }, "the forced run in cron runs");
    expect(entry).toMatchObject({ status: "ok", action: "finished", completionStatus: "succeeded", runId: forced.json.runId, summary: "echo: hello from e2e", provider: "fake", model: "echo" });
    expect(entry.runAtIso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    expect(fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1)).toMatchObject({ role: "user", content: "hello from e2e" });

    const table = await cli("cron", "list");
    expect(table.code).toBe(0);
    expect(table.out.split("\n")[0]).toStartWith("ID ");
    const row = table.out.split("\n").find((l) => l.startsWith(id))!;
    expect(row).toContain("e2e-job");
    expect(row).toContain("every 1h");
    expect(row).toMatch(/ ok +isolated /);
    expect(table.out).toContain("heartbeat:main");

    const edited = await cli("cron", "edit", id, "--message", "edited", "--every", "15m");
    expect(edited.json).toMatchObject({ schedule: { kind: "every", everyMs: 900_000 }, payload: { message: "edited" } });
    expect((await cli("cron", "disable", id)).json.enabled).toBe(false);
    expect((await cli("cron", "list", "--json")).json.jobs.some((j: any) => j.id === id)).toBe(false);
    const all = (await cli("cron", "list", "--all", "--json")).json.jobs.find((j: any) => j.id === id);
    expect(all).toMatchObject({ enabled: false, status: "disabled" });
    expect(all.nextRunAtMs).toBeUndefined();
    expect((await cli("cron", "enable", id)).json.enabled).toBe(true);
    expect((await cli("cron", "rm", id)).json).toEqual({ ok: true, removed: true });
    const status = await cli("cron", "status");
    expect(status.json).toMatchObject({ enabled: true, storage: "sqlite", jobs: 1, sqlitePath: join(stateDir, "openclaw.sqlite") });
  }, 60_000);

  test("a disabled job never runs while an enabled one runs every second", async () => {
    const off = (await cli("cron", "add", "--name", "off", "--every", "1s", "--message", "never", "--no-deliver", "--disabled")).json;
    const on = (await cli("cron", "add", "--name", "on", "--every", "1s", "--message", "tick", "--no-deliver")).json;
    expect(off.enabled).toBe(false);
    await until(async () => (await runs(on.id)).filter((e) => e.status === "ok").length >= 2, "two runs of the enabled job");
    expect(await runs(off.id)).toEqual([]);
    expect(fake.requests.some((r) => r.body.messages?.at(-1)?.content === "never")).toBe(false);
    await cli("cron", "rm", on.id);
    await cli("cron", "rm", off.id);
  }, 60_000);

  test("bad input: the original's errors, exit 1, nothing stored", async () => {
    const badExpr = await cli("cron", "add", "--name", "bad", "--cron", "61 * * * *", "--message", "x");
    expect(badExpr.code).toBe(1);
    expect(badExpr.json.ok).toBe(false);
    expect(badExpr.json.error.type).toBe("cli_error");
    expect(badExpr.json.error.message).toStartWith("invalid cron.add params: ");
    expect(badExpr.err).toContain("invalid cron.add params: ");
    const badTz = await cli("cron", "add", "--name", "bad", "--cron", "0 9 * * *", "--tz", "Mars/Olympus", "--message", "x");
    expect(badTz.code).toBe(1);
    expect(badTz.json.error.message).toContain('unknown time zone "Mars/Olympus"');
    const badEvery = await cli("cron", "add", "--name", "bad", "--every", "soon", "--message", "x");
    expect(badEvery.code).toBe(1);
    expect(badEvery.err).toContain("Invalid --every. Use a duration like 10m, 1h, or 1d.");
    const twoPayloads = await cli("cron", "add", "--name", "bad", "--every", "1h", "--message", "x", "--system-event", "y");
    expect(twoPayloads.err).toContain("Choose exactly one payload");
    const missing = await cli("cron", "rm", "nope");
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toBe("Automation not found: nope. Run `openclaw cron list` to see recent automation ids.");
    const unknownFlag = await cli("cron", "add", "--name", "bad", "--every", "1h", "--message", "x", "--bogus");
    expect(unknownFlag.code).toBe(1);
    expect(unknownFlag.err).toContain('OpenClaw does not recognize option "--bogus"');
    expect((await cli("cron", "status")).json.jobs).toBe(1);
  }, 60_000);

  test("system event wakes the heartbeat; system heartbeat last shows the run and its skip reason", async () => {
    fake.reset();
    const ev = await cli("system", "event", "--text", "check the mail", "--mode", "now");
    expect(ev).toMatchObject({ code: 0 });
    expect(ev.out.trim()).toBe("ok");
    const last = await until(async () => (await cli("system", "heartbeat", "last")).json ?? undefined, "a heartbeat");
    // No chat channel to deliver to: the model ran, the alert had no route.
    expect(last).toMatchObject({ status: "skipped", reason: "no-route", message: "Heartbeat has no delivery route yet. Message your bot once, or set agents.defaults.heartbeat.target." });
    expect(last.preview).toStartWith("echo: ");
    expect(fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1).content).toContain("check the mail");
    expect((await cli("system", "heartbeat", "disable")).json).toEqual({ ok: true, enabled: false });
    expect((await cli("system", "heartbeat", "enable")).json).toEqual({ ok: true, enabled: true });
    const bad = await cli("system", "event", "--text", "x", "--mode", "later");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("--mode must be now or next-heartbeat");
  }, 60_000);

  test("hooks: the right token starts a run; wrong tokens get 401, then 429", async () => {
    fake.reset();
    const url = `http://127.0.0.1:${port}/hooks`;
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const ok = await post("/agent", HOOK_TOKEN, { message: "hook to agent", deliver: false });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).ok).toBe(true);
    expect(await fake.waitFor(() => fake.to("/v1/chat/completions").some((r) => r.body.messages.at(-1).content === "hook to agent"), 10_000)).toBe(true);
    for (let i = 0; i < 20; i++) expect((await post("/wake", "wrong", { text: "x" })).status).toBe(401);
    const limited = await post("/wake", "wrong", { text: "x" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
  }, 60_000);

  test("jobs survive a kill -9; a job due while the gateway was down runs once after restart", async () => {
    const keeper = (await cli("cron", "add", "--name", "keeper", "--cron", "0 9 * * 1", "--tz", "Europe/Berlin", "--message", "weekly", "--no-deliver")).json;
    const dueAt = Date.now() + 1_500;
    const missed = await cli("cron", "add", "--name", "missed", "--at", new Date(dueAt).toISOString(), "--session", "main", "--system-event", "while you were out", "--wake", "next-heartbeat", "--keep-after-run");
    expect(missed.code).toBe(0);
    gateway.proc.kill(9);
    expect(await gateway.proc.exited).not.toBe(0);
    await until(async () => Date.now() > dueAt + 100, "the missed job's time to pass", 5_000);

    await startGateway();
    const kept = (await cli("cron", "list", "--all", "--json")).json.jobs.find((j: any) => j.id === keeper.id);
    expect(kept).toMatchObject({ name: "keeper", schedule: { kind: "cron", expr: "0 9 * * 1", tz: "Europe/Berlin" }, enabled: true });
    const caught = await until(async () => {
      const e = await runs(missed.json.id);
      return e.length ? e : undefined;
    }, "the missed job to catch up");
    expect(caught).toHaveLength(1);
    expect(caught[0]).toMatchObject({ status: "ok", summary: "while you were out" });
  }, 60_000);
});
