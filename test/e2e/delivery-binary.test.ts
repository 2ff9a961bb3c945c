/**
 * Automation delivery to chat channels end to end through the compiled binary: `openclaw
 * gateway` as a child process with the fake Telegram Bot API and the fake model provider on
 * loopback in this process, driven by the binary's own CLI (and by the official 2026.9.6 CLI,
 * OPENCLAW_REF_CLI; those steps are skipped when it is not set).
 *
 * The steps share one gateway and run in order:
 *   - `cron add --announce --channel telegram --to <chat>` + `cron run`: the chat gets the
 *     model's reply through sendMessage; `cron runs` shows the delivery;
 *   - `channel: "last"`: after a DM exchange a job with the agent's session delivers to that
 *     chat, also after a gateway restart; without a session it is refused as the original does;
 *   - a heartbeat with `target: "last"` delivers; a failing platform (403) is recorded as the
 *     failed delivery, for the heartbeat and for a job, and the scheduler keeps running;
 *   - bad input: an unknown or unconfigured channel, a huge reply (chunked);
 *   - `status.queuedSystemEvents` are plain strings;
 *   - the official CLI's `cron add --announce --channel telegram --to … / run / runs`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { TELEGRAM_TEXT_LIMIT } from "../../src/channels/telegram/format.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { useChildGateways } from "../helpers/children.ts";
import { pollUntil } from "../helpers/poll.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const TOKEN = "e2e-delivery-token-0123456789abcdef";
const ALICE = 555000111;
const BOB = 777000222;
const CAROL = 888000333;
const REFUSE =
  "Refusing implicit isolated cron delivery: the target would be inherited from the shared agent-main session bucket's last recipient, which is ambiguous across conversations and can deliver to the wrong room (and replay there after a restart). Set delivery.channel and delivery.to explicitly, or run the cron from a session that carries its own delivery context.";

const children = useChildGateways("openclaw-e2e-delivery-");
const telegram = new FakeTelegram();
const upstream = new FakeUpstream();
let binary = "";
let stateDir = "";
let configPath = "";
let port = 0;
let gw: GatewayChild;

function env(): Record<string, string> {
  return { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: configPath, OPENCLAW_GATEWAY_TOKEN: TOKEN, NO_COLOR: "1" };
}

/** Our CLI (the compiled binary); stdout parsed as JSON when it is JSON. */
async function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string; json: any }> {
  const r = await runToExit({ command: [binary], args, env: env(), cwd: stateDir, timeoutMs: 30_000 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.exitCode, out: r.stdout, err: r.stderr, json };
}

function sentTo(chatId: number): string[] {
  return telegram.of("sendMessage").filter((c) => String(c.body.chat_id) === String(chatId)).map((c) => String(c.body.text));
}

async function waitTrue(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (!(await telegram.waitFor(pred, timeoutMs))) throw new Error(`${what} not reached within ${timeoutMs} ms\n--- gateway output ---\n${gw.output().slice(-4000)}`);
}

const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000) => pollUntil(check, what, { timeoutMs, intervalMs: 50, context: () => `--- gateway output ---\n${gw.output().slice(-4000)}` });

/** `cron run <id>`, then the finished entry of that run from `cron runs`. */
async function forceRun(id: string): Promise<any> {
  const forced = await cli("cron", "run", id);
  expect(forced.code).toBe(0);
  const runId = forced.json.runId as string;
  return until(async () => ((await cli("cron", "runs", "--id", id, "--limit", "20")).json?.entries as any[] | undefined)?.find((e) => e.runId === runId), `run ${runId}`);
}

/** Rewrite the config file and wait until the gateway applied it. */
async function editConfig(mutate: (doc: Record<string, any>) => void): Promise<void> {
  const before = (gw.stdout.text.match(/config reload: applied/g) ?? []).length;
  const doc = JSON.parse(readFileSync(configPath, "utf8"));
  mutate(doc);
  writeFileSync(configPath, `${JSON.stringify(doc, null, 2)}\n`);
  await until(async () => (gw.stdout.text.match(/config reload: applied/g) ?? []).length > before, "config reload");
}

async function startGateway(): Promise<void> {
  const polls = telegram.of("getUpdates").length;
  gw = await children.start({ command: [binary], port, stateDir, cwd: stateDir, env: env() });
  await waitTrue(() => telegram.of("getUpdates").length >= polls + 2, "telegram polling");
}

beforeAll(async () => {
  telegram.start();
  telegram.maxPollMs = 2_000;
  upstream.start();
  binary = await compiledBinary();
  stateDir = children.tempDir();
  configPath = join(stateDir, "openclaw.json");
  port = await freePort();
  const config = {
    gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${upstream.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
    agents: { defaults: { model: "fake/echo" } },
    channels: { telegram: { botToken: telegram.token, apiRoot: telegram.url, dmPolicy: "allowlist", allowFrom: [String(ALICE)] } },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await startGateway();
}, 180_000);

afterAll(async () => {
  await Promise.all([telegram.stop(), upstream.stop()]);
});

describe.serial("automation delivery through the compiled gateway", () => {
  test("cron add --announce --channel telegram --to <chat> + cron run: the chat gets the model's reply; cron runs shows the delivery", async () => {
    const added = await cli("cron", "add", "--name", "announce", "--every", "1h", "--message", "good morning", "--announce", "--channel", "telegram", "--to", String(BOB));
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ delivery: { mode: "announce", channel: "telegram", to: String(BOB) }, deliveryPreview: { label: `announce -> telegram:${BOB}`, detail: "explicit" } });
    const entry = await forceRun(added.json.id);
    expect(sentTo(BOB)).toEqual(["echo: good morning"]);
    expect(entry.delivery.resolved.accountId).toBeUndefined();
    expect(telegram.of("sendMessage").at(-1)!.body).toEqual({ chat_id: String(BOB), text: "echo: good morning", parse_mode: "HTML" });
    expect(entry).toMatchObject({
      status: "ok",
      completionStatus: "succeeded",
      summary: "echo: good morning",
      delivered: true,
      deliveryStatus: "delivered",
      delivery: {
        intended: { channel: "telegram", to: String(BOB), source: "explicit" },
        resolved: { ok: true, channel: "telegram", to: String(BOB), source: "explicit" },
        fallbackUsed: true,
        delivered: true,
      },
    });
    const job = (await cli("cron", "list", "--json")).json.jobs.find((j: any) => j.id === added.json.id);
    expect(job).toMatchObject({ lastDeliveryStatus: "delivered", lastDelivered: true });
  }, 60_000);

  test('channel "last": after a DM exchange a job with the agent\'s session delivers to that chat; one without is refused as the original does', async () => {
    telegram.dm("hello bot", { id: ALICE });
    await waitTrue(() => sentTo(ALICE).includes("echo: hello bot"), "the DM reply");
    const withSession = await cli("cron", "add", "--name", "to-last", "--every", "1h", "--message", "your daily summary", "--announce", "--session-key", "agent:main:main");
    expect(withSession.code).toBe(0);
    expect(withSession.json).toMatchObject({
      delivery: { mode: "announce" },
      deliveryPreview: { label: `announce -> telegram:${ALICE}`, detail: "resolved from last, session agent:main:main" },
    });
    const entry = await forceRun(withSession.json.id);
    expect(sentTo(ALICE).at(-1)).toBe("echo: your daily summary");
    expect(entry).toMatchObject({
      status: "ok",
      deliveryStatus: "delivered",
      delivery: { intended: { channel: "last", to: null, source: "last" }, resolved: { ok: true, channel: "telegram", to: String(ALICE), accountId: "default", source: "last" } },
    });

    const shared = await cli("cron", "add", "--name", "shared-last", "--every", "1h", "--message", "nobody's", "--announce");
    expect(shared.json.deliveryPreview).toEqual({ label: "announce -> last", detail: `last -> no route, will fail-closed: ${REFUSE}` });
    const refused = await forceRun(shared.json.id);
    expect(refused).toMatchObject({ status: "error", completionStatus: "failed", deliveryStatus: "not-delivered", error: REFUSE });
    expect(sentTo(ALICE).filter((t) => t.includes("nobody's"))).toEqual([]);
    (globalThis as any).lastJobId = withSession.json.id;
  }, 60_000);

  test('the "last" route survives a gateway restart', async () => {
    await gw.stop(10_000);
    await startGateway();
    const id = (globalThis as any).lastJobId as string;
    const listed = (await cli("cron", "list", "--json")).json;
    expect(listed.deliveryPreviews[id]).toEqual({ label: `announce -> telegram:${ALICE}`, detail: "resolved from last, session agent:main:main" });
    const before = sentTo(ALICE).length;
    const entry = await forceRun(id);
    expect(entry).toMatchObject({ status: "ok", deliveryStatus: "delivered" });
    expect(sentTo(ALICE).length).toBe(before + 1);
    expect(sentTo(ALICE).at(-1)).toBe("echo: your daily summary");
  }, 90_000);

  test("a heartbeat with target last delivers to the chat; queued system events show in status as plain strings", async () => {
    await editConfig((doc) => (doc.agents.defaults.heartbeat = { target: "last" }));
    const queued = await cli("system", "event", "--text", "remember the milk", "--mode", "next-heartbeat");
    expect(queued.code).toBe(0);
    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ["operator.read"], connectTimeoutMs: 10_000 });
    try {
      const status = await client.request<any>("status");
      expect(status.queuedSystemEvents).toEqual(["remember the milk"]);
      expect(status.heartbeat.agents[0]).toMatchObject({ agentId: "main", waitingForRoute: false });
    } finally {
      await client.close();
    }
    const before = sentTo(ALICE).length;
    const typing = telegram.of("sendChatAction").length;
    expect((await cli("system", "event", "--text", "check the mail", "--mode", "now")).code).toBe(0);
    await waitTrue(() => sentTo(ALICE).length > before, "the heartbeat alert");
    const alert = sentTo(ALICE).at(-1)!;
    expect(alert).toContain("check the mail");
    expect(alert).toContain("remember the milk");
    expect(telegram.of("sendChatAction").length).toBeGreaterThan(typing);
    const last = await until(async () => {
      const r = await cli("system", "heartbeat", "last", "--json");
      return r.json?.status === "sent" ? r.json : undefined;
    }, "last-heartbeat sent");
    expect(last).toMatchObject({ status: "sent", channel: "telegram", to: `telegram:${ALICE}`, accountId: "default", indicatorType: "alert", hasMedia: false });
  }, 60_000);

  test("a platform that refuses (403): the heartbeat and the job record the failed delivery; the scheduler keeps running", async () => {
    telegram.fail("sendMessage", ...Array.from({ length: 4 }, () => ({ kind: "status" as const, status: 403, description: "Forbidden: bot was blocked by the user" })));
    expect((await cli("system", "event", "--text", "blocked?", "--mode", "now")).code).toBe(0);
    const failed = await until(async () => {
      const r = await cli("system", "heartbeat", "last", "--json");
      return r.json?.status === "failed" ? r.json : undefined;
    }, "last-heartbeat failed");
    expect(failed).toMatchObject({ status: "failed", channel: "telegram", to: `telegram:${ALICE}`, indicatorType: "error" });
    expect(failed.reason).toBe(`Telegram send failed (${ALICE}): sendMessage: 403 Forbidden: bot was blocked by the user`);

    const job = (await cli("cron", "list", "--json")).json.jobs.find((j: any) => j.name === "announce");
    const entry = await forceRun(job.id);
    expect(entry).toMatchObject({
      status: "ok",
      completionStatus: "failed",
      delivered: false,
      deliveryStatus: "not-delivered",
      deliveryError: `Telegram send failed (${BOB}): sendMessage: 403 Forbidden: bot was blocked by the user`,
      delivery: { resolved: { ok: true, channel: "telegram", to: String(BOB) }, fallbackUsed: true, delivered: false },
    });
    expect(entry.diagnostics.entries[0]).toMatchObject({ source: "delivery", severity: "error" });
    await gw.stdout.waitFor(/cron \S+ announce to 777000222 failed: sendMessage: 403/, 5_000);
    // The account shows it; the gateway and the scheduler go on.
    const probe = await cli("channels", "status", "--json");
    expect(JSON.stringify(probe.json)).toContain("403 Forbidden: bot was blocked by the user");
    telegram.reset();
    const again = await forceRun(job.id);
    expect(again).toMatchObject({ status: "ok", deliveryStatus: "delivered" });
    expect((await cli("cron", "status")).json).toMatchObject({ enabled: true });
    expect(gw.proc.exitCode).toBeNull();
  }, 90_000);

  test("bad input: an unknown or unconfigured channel is refused at add time; a huge reply goes out in chunks", async () => {
    const unknown = await cli("cron", "add", "--name", "bad", "--every", "1h", "--message", "x", "--announce", "--channel", "nosuch", "--to", "1");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("invalid cron.add params: delivery.channel must be one of: telegram");
    const discord = await cli("cron", "add", "--name", "bad", "--every", "1h", "--message", "x", "--announce", "--channel", "discord", "--to", "1");
    expect(discord.code).toBe(1);
    expect(discord.err).toContain("invalid cron.add params: delivery.channel must be one of: telegram");
    const wrongPrefix = await cli("cron", "add", "--name", "bad", "--every", "1h", "--message", "x", "--announce", "--channel", "telegram", "--to", "discord:1");
    expect(wrongPrefix.code).toBe(1);
    expect(wrongPrefix.err).toContain("invalid cron.add params: delivery.channel:");
    expect((await cli("cron", "list", "--json")).json.jobs.some((j: any) => j.name === "bad")).toBe(false);

    const words = Array.from({ length: 1_500 }, (_, i) => `word${i}`).join(" ");
    const huge = await cli("cron", "add", "--name", "huge", "--every", "1h", "--message", words, "--announce", "--channel", "telegram", "--to", String(CAROL));
    expect(huge.code).toBe(0);
    const entry = await forceRun(huge.json.id);
    expect(entry).toMatchObject({ status: "ok", deliveryStatus: "delivered" });
    const parts = sentTo(CAROL);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(parts.join(" ").replace(/\s+/g, " ")).toBe(`echo: ${words}`);
  }, 60_000);

  test.skipIf(!REF)("the official CLI: cron add --announce --channel telegram --to …, cron run, cron runs", async () => {
    const home = children.tempDir("openclaw-e2e-delivery-ref-");
    const state = join(home, ".openclaw");
    mkdirSync(state, { recursive: true });
    const refEnv = { PATH: process.env.PATH ?? "", HOME: home, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: join(state, "openclaw.json"), NO_COLOR: "1" };
    const ref = async (...args: string[]) => {
      const r = await runToExit({ command: [REF!], args: [...args, "--url", `ws://127.0.0.1:${port}`, "--token", TOKEN], env: refEnv, cwd: home, timeoutMs: 90_000 });
      const start = r.stdout.indexOf("{");
      let json: any;
      try {
        json = JSON.parse(r.stdout.slice(start));
      } catch {
        json = undefined;
      }
      return { code: r.exitCode, out: r.stdout, err: r.stderr, json };
    };
    const added = await ref("cron", "add", "--name", "from-ref", "--every", "1h", "--message", "hello from the official cli", "--announce", "--channel", "telegram", "--to", String(BOB), "--json");
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ delivery: { mode: "announce", channel: "telegram", to: String(BOB) }, deliveryPreview: { label: `announce -> telegram:${BOB}`, detail: "explicit" } });
    const forced = await ref("cron", "run", added.json.id);
    expect(forced.code).toBe(0);
    expect(forced.json).toMatchObject({ ok: true, enqueued: true });
    await waitTrue(() => sentTo(BOB).includes("echo: hello from the official cli"), "the official CLI's job delivered");
    const runs = await until(async () => {
      const r = await ref("cron", "runs", "--id", added.json.id, "--limit", "5");
      return r.json?.entries?.find((e: any) => e.runId === forced.json.runId) ? r : undefined;
    }, "the official CLI's cron runs");
    expect(runs.code).toBe(0);
    expect(runs.json.entries[0]).toMatchObject({ status: "ok", deliveryStatus: "delivered", delivered: true, delivery: { resolved: { channel: "telegram", to: String(BOB) } } });
    const bad = await ref("cron", "add", "--name", "ref-bad", "--every", "1h", "--message", "x", "--announce", "--channel", "nosuch", "--to", "1");
    expect(bad.code).not.toBe(0);
    expect(bad.out + bad.err).toContain("delivery.channel must be one of: telegram");

    // Its `status --json` lists our queued system events (plain strings, as it expects them).
    expect((await ref("system", "event", "--text", "queued for later", "--mode", "next-heartbeat")).code).toBe(0);
    // `status` finds the gateway through its own config (local mode, our port and token).
    writeFileSync(refEnv.OPENCLAW_CONFIG_PATH, JSON.stringify({ gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } } }));
    const status = await runToExit({ command: [REF!], args: ["status", "--json"], env: refEnv, cwd: home, timeoutMs: 90_000 });
    expect(status.exitCode).toBe(0);
    const report = JSON.parse(status.stdout.slice(status.stdout.indexOf("{")));
    expect(report.queuedSystemEvents).toEqual(["queued for later"]);
    expect(report.heartbeat.agents[0]).toMatchObject({ agentId: "main", waitingForRoute: false });
  }, 180_000);
});
