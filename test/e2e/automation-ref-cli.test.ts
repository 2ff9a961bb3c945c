/**
 * The official 2026.9.6 CLI's automation commands against our compiled gateway: `cron status`,
 * `cron add`, `cron list`, `cron run`, `cron runs`, `cron rm`, `system event`, `system
 * heartbeat last`. Needs the official CLI: OPENCLAW_REF_CLI=/path/to/openclaw (skipped otherwise).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../scripts/lib/proc.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { useChildGateways } from "../helpers/children.ts";
import { pollUntil } from "../helpers/poll.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const TOKEN = "ref-cron-token-0123456789abcdef";
const fake = new FakeUpstream();
const children = useChildGateways("openclaw-ref-cron-");
let port = 0;
let refEnv: Record<string, string | undefined> = {};

async function ref(...args: string[]): Promise<{ code: number; out: string; err: string; json: any }> {
  const proc = Bun.spawn([REF!, ...args, "--url", `ws://127.0.0.1:${port}`, "--token", TOKEN], { env: refEnv, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  let json: any;
  try {
    json = JSON.parse(out);
  } catch {
    json = undefined;
  }
  return { code, out, err, json };
}

const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000) => pollUntil(check, what, { timeoutMs, intervalMs: 100 });

describe.skipIf(!REF)("official CLI: cron and system commands against this gateway (set OPENCLAW_REF_CLI to run)", () => {
  beforeAll(async () => {
    fake.start();
    const binary = await compiledBinary();
    const stateDir = children.tempDir();
    port = await freePort();
    const config = {
      gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
      models: { providers: { fake: { api: "openai-completions", baseUrl: `${fake.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
      agents: { defaults: { model: "fake/echo" } },
    };
    writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
    await children.start({ command: [binary], port, stateDir, cwd: stateDir });
    // The official CLI gets a home and state of its own: it talks to us only through --url.
    const home = children.tempDir("openclaw-ref-cron-home-");
    const state = join(home, ".openclaw");
    mkdirSync(state, { recursive: true });
    refEnv = { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: join(state, "openclaw.json"), NO_COLOR: "1" };
  }, 180_000);
  afterAll(() => fake.stop());

  test("cron status, add, list, run, runs, rm", async () => {
    const status = await ref("cron", "status");
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({ enabled: true, storage: "sqlite", jobs: 1 });

    const added = await ref("cron", "add", "--name", "from-ref", "--every", "1h", "--message", "hello from the official cli", "--no-deliver");
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ name: "from-ref", enabled: true, schedule: { kind: "every", everyMs: 3_600_000 }, deliveryPreview: { label: "not requested" } });
    const id = added.json.id as string;

    const list = await ref("cron", "list");
    expect(list.code).toBe(0);
    expect(list.out.split("\n").find((l) => l.startsWith(id))).toContain("from-ref");

    fake.reset();
    const run = await ref("cron", "run", id);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ ok: true, enqueued: true });
    const entries = await until(async () => {
      const r = await ref("cron", "runs", "--id", id, "--limit", "20");
      return r.json?.entries?.length ? r.json.entries : undefined;
    }, "the run in the official CLI's cron runs");
    expect(entries[0]).toMatchObject({ status: "ok", completionStatus: "succeeded", runId: run.json.runId, summary: "echo: hello from the official cli" });
    expect(entries[0].tsIso).toBeString();
    expect(fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1).content).toBe("hello from the official cli");

    const rm = await ref("cron", "rm", id);
    expect(rm.code).toBe(0);
    expect(rm.json).toEqual({ ok: true, removed: true });
    expect((await ref("cron", "status")).json.jobs).toBe(1);
  }, 180_000);

  test("system event --mode now, then system heartbeat last", async () => {
    fake.reset();
    const ev = await ref("system", "event", "--text", "from the official cli", "--mode", "now");
    expect(ev.code).toBe(0);
    expect(ev.out.trim()).toBe("ok");
    const last = await until(async () => (await ref("system", "heartbeat", "last")).json ?? undefined, "a heartbeat");
    expect(last).toMatchObject({ status: "skipped", reason: "no-route" });
    // The model ran (its reply is the preview); the event text was in the heartbeat's prompt.
    expect(last.preview).toStartWith("echo: ");
    expect(fake.to("/v1/chat/completions").at(-1)!.body.messages.at(-1).content).toContain("from the official cli");
  }, 180_000);
});
