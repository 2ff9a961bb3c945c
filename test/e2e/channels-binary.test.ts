/**
 * Chat channels end to end through the compiled binary: `openclaw gateway` as a child process
 * with the fake Telegram Bot API, the fake Discord (gateway WebSocket + REST) and the fake model
 * provider on loopback in this process, and our CLI (the same binary) and the official 2026.9.6
 * CLI (OPENCLAW_REF_CLI; those steps are skipped when it is not set) as child processes on the
 * same state dir.
 *
 * The steps share one gateway and run in order: pairing code and no model call; approval by
 * our CLI and by the official CLI; replies from the model provider; group mention gating;
 * Discord DM and guild mention; a channel config edit hot-applied while a WebSocket client stays
 * connected; a 401 in `channels status --probe` (ours and the official CLI's) while the gateway
 * keeps serving; the config-only summary once the gateway is down.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runToExit, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { dbPath } from "../../src/store/db.ts";
import { FakeDiscord } from "../fixture/fake-discord.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { compiledBinary } from "../helpers/binary.ts";
import { useChildGateways } from "../helpers/children.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const TOKEN = "e2e-channels-token-0123456789abcdef";
const ALICE = 555000111;
const BOB = 777000222;
const CAROL = 888000333;
const GROUP = -100777;
const GUILD = "300000000000000001";
const GENERAL = "300000000000000011";
const DM_CHANNEL = "300000000000000099";
const DISCORD_USER = "800000000000000001";

const gateways = useChildGateways("openclaw-e2e-channels-");
const telegram = new FakeTelegram();
const discord = new FakeDiscord();
const upstream = new FakeUpstream();
let binary = "";
let stateDir = "";
let home = "";
let configPath = "";
let gw: GatewayChild;
let client: GatewayClient | undefined;

function env(): Record<string, string> {
  return { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: configPath, HOME: home, DISCORD_API_URL: `${discord.url}/api/v10` };
}

/** Our CLI (the compiled binary). */
function ours(...args: string[]) {
  return runToExit({ command: [binary], args, env: env(), cwd: stateDir, timeoutMs: 30_000 });
}

/** The official CLI. */
function official(...args: string[]) {
  return runToExit({ command: [REF!], args, env: { ...env(), NO_COLOR: "1" }, cwd: stateDir, timeoutMs: 90_000 });
}

function sentTo(chatId: number): string[] {
  return telegram.of("sendMessage").filter((c) => String(c.body.chat_id) === String(chatId)).map((c) => String(c.body.text));
}

function codeIn(text: string): string {
  const code = /openclaw pairing approve telegram ([A-Z2-9]{8})/.exec(text)?.[1];
  if (!code) throw new Error(`no pairing code in ${JSON.stringify(text)}`);
  return code;
}

async function waitTrue(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  if (!(await telegram.waitFor(pred, timeoutMs))) throw new Error(`${what} not reached within ${timeoutMs} ms\n--- gateway output ---\n${gw.output().slice(-4000)}`);
}

/** Rewrite the config file and wait until the gateway logs that it applied it. */
async function editConfig(mutate: (doc: Record<string, any>) => void): Promise<void> {
  const before = (gw.stdout.text.match(/config reload: applied/g) ?? []).length;
  // From the file as it is now: the CLIs write it too (the owner bootstrap).
  const doc = JSON.parse(readFileSync(configPath, "utf8"));
  mutate(doc);
  writeFileSync(configPath, `${JSON.stringify(doc, null, 2)}\n`);
  const deadline = Date.now() + 15_000;
  while ((gw.stdout.text.match(/config reload: applied/g) ?? []).length <= before) {
    if (Date.now() > deadline) throw new Error(`config edit not applied\n${gw.output().slice(-3000)}`);
    await Bun.sleep(20);
  }
}

beforeAll(async () => {
  telegram.start();
  telegram.maxPollMs = 2_000;
  discord.start();
  discord.addGuild(GUILD, [{ id: GENERAL, name: "general" }]);
  discord.addDmChannel(DM_CHANNEL, DISCORD_USER);
  upstream.start();
  binary = await compiledBinary();
  stateDir = gateways.tempDir();
  home = gateways.tempDir("openclaw-e2e-channels-home-");
  configPath = join(stateDir, "openclaw.json");
  const port = await freePort();
  // A config the official CLI accepts too (it refuses to run on one it considers invalid).
  const config = {
    // The port in the file too: the CLIs find the gateway through it.
    gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${upstream.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
    agents: { defaults: { model: "fake/echo" } },
    channels: {
      telegram: { botToken: telegram.token, apiRoot: telegram.url, groups: { [String(GROUP)]: { groupPolicy: "open" } } },
      discord: { token: discord.token, dmPolicy: "open", allowFrom: ["*"], guilds: { [GUILD]: {} } },
    },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  gw = await gateways.start({ command: [binary], port, stateDir, cwd: stateDir, env: env() });
  // Both accounts connect once the gateway listens.
  await waitTrue(() => telegram.of("getUpdates").length >= 2, "telegram polling");
  if (!(await discord.waitFor(() => discord.received(2).length === 1, 15_000))) throw new Error(`discord did not identify\n${gw.output()}`);
}, 180_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await Promise.all([telegram.stop(), discord.stop(), upstream.stop()]);
});

describe.serial("chat channels through the compiled gateway", () => {
  test("an unknown Telegram DM gets a pairing code and no model call; our `pairing approve` lets the sender in; the next DM gets the model's reply", async () => {
    telegram.dm("hello bot", { id: ALICE, username: "alice", first_name: "Alice" });
    await waitTrue(() => sentTo(ALICE).length === 1, "pairing reply");
    const code = codeIn(sentTo(ALICE)[0]);
    await gw.stdout.waitFor(/telegram pairing request chatId=555000111 senderUserId=555000111 username=alice/, 5_000);
    expect(upstream.requests).toHaveLength(0);

    const list = await ours("pairing", "list", "telegram", "--json");
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(list.stdout).requests).toMatchObject([{ id: String(ALICE), code, meta: { username: "alice", accountId: "default" } }]);
    const approved = await ours("pairing", "approve", "telegram", code);
    expect(approved.stderr).toBe("");
    expect(approved.stdout).toBe(`Approved telegram sender ${ALICE}.\nCommand owner configured telegram:${ALICE} (commands.ownerAllowFrom was empty).\n`);
    expect(approved.exitCode).toBe(0);

    telegram.dm("what is up", { id: ALICE });
    await waitTrue(() => sentTo(ALICE).includes("echo: what is up"), "model reply");
    expect(upstream.to("/v1/chat/completions")).toHaveLength(1);
    const bad = await ours("pairing", "approve", "telegram", "ZZZZZZZZ");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('No pending pairing request found for code "ZZZZZZZZ". Run openclaw pairing list --channel telegram to list pending requests.');
  }, 60_000);

  test.skipIf(!REF)("the official CLI lists and approves a request our gateway created; the sender then gets replies", async () => {
    telegram.dm("hi from bob", { id: BOB, username: "bob", first_name: "Bob" });
    await waitTrue(() => sentTo(BOB).length === 1, "pairing reply to bob");
    const code = codeIn(sentTo(BOB)[0]);
    const list = await official("pairing", "list", "--channel", "telegram", "--json");
    expect(list.exitCode).toBe(0);
    expect(JSON.parse(list.stdout).requests.map((r: any) => r.code)).toEqual([code]);
    const approved = await official("pairing", "approve", "telegram", code);
    expect(approved.exitCode).toBe(0);
    expect(approved.stdout).toContain(`Approved telegram sender ${BOB}.`);
    telegram.dm("now?", { id: BOB });
    await waitTrue(() => sentTo(BOB).includes("echo: now?"), "reply to bob");
  }, 120_000);

  test("a group message without a mention is dropped with the logged signature; a mention gets a reply", async () => {
    telegram.group(GROUP, "just chatting", { from: { id: ALICE } });
    await gw.stdout.waitFor(/drop group message \(mention required\) telegram -100777/, 10_000);
    telegram.group(GROUP, "over to you", { mention: true, from: { id: ALICE } });
    await waitTrue(() => sentTo(GROUP).length === 1, "group reply");
    expect(sentTo(GROUP)[0]).toContain("over to you");
    expect(telegram.of("setMessageReaction").at(-1)!.body.chat_id).toBe(GROUP);
  }, 30_000);

  test("Discord: a DM and a guild mention get replies through the fake gateway and REST", async () => {
    discord.message({ channelId: DM_CHANNEL, content: "hello from discord", author: { id: DISCORD_USER } });
    await discord.waitFor(() => discord.postedTo(DM_CHANNEL).includes("echo: hello from discord"), 15_000);
    discord.message({ channelId: GENERAL, guildId: GUILD, content: "unmentioned", author: { id: DISCORD_USER } });
    await gw.stdout.waitFor(/drop guild message \(mention required/, 10_000);
    discord.message({ channelId: GENERAL, guildId: GUILD, content: "mentioned", mentionBot: true, author: { id: DISCORD_USER } });
    expect(await discord.waitFor(() => discord.postedTo(GENERAL).length === 1, 15_000)).toBe(true);
    expect(discord.postedTo(GENERAL)[0]).toContain("mentioned");
  }, 30_000);

  test("a channel config edit hot-applies while a WebSocket client stays connected", async () => {
    client = await GatewayClient.connect({ url: `ws://127.0.0.1:${gw.port}`, token: TOKEN, scopes: ["operator.admin"], connectTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    const events: string[] = [];
    client.onEvent((e) => events.push(e.event));
    telegram.dm("anyone?", { id: CAROL });
    await waitTrue(() => sentTo(CAROL).length === 1, "pairing reply to carol");
    expect(sentTo(CAROL)[0]).toContain("Pairing code");
    const getMe = telegram.of("getMe").length;
    await editConfig((doc) => Object.assign(doc.channels.telegram, { dmPolicy: "open", allowFrom: ["*"] }));
    telegram.dm("and now?", { id: CAROL });
    await waitTrue(() => sentTo(CAROL).includes("echo: and now?"), "reply after the edit");
    // The account was not reconnected, the client not dropped.
    expect(telegram.of("getMe")).toHaveLength(getMe);
    expect((await client.request<any>("health")).ok).toBe(true);
    expect(events).not.toContain("shutdown");
  }, 30_000);

  test("bad input from the platform (garbage, huge updates, a failing Bot API, a flood): the gateway keeps serving, its queue stays bounded, every message is answered and stored", async () => {
    // dmPolicy is open since the previous step.
    telegram.fail("getUpdates", { kind: "status", status: 502 }, { kind: "malformed" });
    telegram.push({ message: "not an object" });
    telegram.push({ message: { chat: null, from: { id: CAROL }, text: "bad chat" } });
    telegram.push({ edited_message: { chat: { id: CAROL, type: "private" }, text: 42 } });
    telegram.push({ message: telegram.message({ chat: { id: CAROL, type: "private" }, from: { id: CAROL }, text: "y".repeat(600_000) }) });
    telegram.dm(`${"long ".repeat(5_000)}end`, { id: CAROL });
    const flood = 1500;
    const chats = 50;
    for (let i = 0; i < flood; i++) telegram.dm(`flood ${i}`, { id: 20_000 + (i % chats) });
    const db = new Database(dbPath(stateDir), { readonly: true });
    let peak = 0;
    let backlog = false;
    try {
      const pendingRows = db.query("SELECT count(*) AS n FROM channel_ingress WHERE state = 0");
      const deadline = Date.now() + 120_000;
      const answered = () => telegram.of("sendMessage").filter((c) => Number(c.body.chat_id) >= 20_000 && Number(c.body.chat_id) < 20_000 + chats).length;
      while (answered() < flood) {
        if (Date.now() > deadline || gw.proc.exitCode !== null) throw new Error(`flood: ${answered()} of ${flood} answered\n${gw.output().slice(-3000)}`);
        const n = (pendingRows.get() as { n: number }).n;
        peak = Math.max(peak, n);
        if (n >= 1000 && telegram.pending() > 0) backlog = true;
        await Bun.sleep(5);
      }
    } finally {
      db.close();
    }
    // The durable queue holds at most 1000 events per account (plus one getUpdates batch); the
    // rest waited, unconfirmed, at the Bot API.
    expect(peak).toBeLessThanOrEqual(1100);
    expect(backlog).toBe(true);
    for (let c = 0; c < chats; c++) {
      expect(sentTo(20_000 + c)).toEqual(Array.from({ length: flood / chats }, (_, k) => `echo: flood ${c + k * chats}`));
    }
    const carol = sentTo(CAROL);
    expect(carol.some((t) => t.startsWith("echo: long long"))).toBe(true);
    await gw.stdout.waitFor(/getUpdates failed \(getUpdates: 502/, 5_000);
    await gw.stdout.waitFor(/stored without its payload/, 5_000);
    expect((await client!.request<any>("health")).ok).toBe(true);
    expect(gw.proc.exitCode).toBeNull();
  }, 180_000);

  test("a 401 from the platform shows in `channels status --probe` (ours and the official CLI's); the gateway keeps serving", async () => {
    await editConfig((doc) => (doc.channels.telegram.botToken = "999999:revoked-token"));
    await gw.stdout.waitFor(/auto-restart skipped, terminal disconnect/, 15_000);
    const probe = await ours("channels", "status", "--probe", "--json");
    expect(probe.exitCode).toBe(0);
    const acc = JSON.parse(probe.stdout).channelAccounts?.telegram?.[0];
    if (!acc) throw new Error(`unexpected channels status: ${probe.stdout}\n${probe.stderr}`);
    expect(acc).toMatchObject({ lifecycle: "blocked", running: false, probe: { ok: false, status: 401, error: "Unauthorized" } });
    expect(acc.lastError).toContain("Telegram bot token unauthorized");
    const text = await ours("channels", "status", "--probe");
    expect(text.stdout).toContain("Gateway reachable.");
    expect(text.stdout).toMatch(/- Telegram default: enabled, configured, error:Telegram bot token unauthorized.*, stopped, disconnected, .*health:terminal-disconnect, probe failed/);
    expect(text.stdout).toMatch(/- Discord default: enabled, configured, running, connected.*works\n- Telegram default/);
    expect(text.stdout).toContain("Warnings:");
    if (REF) {
      const off = await official("channels", "status", "--probe");
      expect(off.exitCode).toBe(0);
      expect(off.stdout).toContain("Gateway reachable.");
      expect(off.stdout).toMatch(/- Telegram default: .*error:Telegram bot token unauthorized.*probe failed/);
      expect(off.stdout).toMatch(/- Discord default: .*running, connected.*works\n- Telegram default/);
      // Line for line what our CLI prints (the times are relative, both "just now").
      expect(off.stdout).toBe(text.stdout);
    }
    // Same WebSocket client, still served.
    const health = await client!.request<any>("health");
    expect(health.ok).toBe(true);
    expect(health.channels.telegram.accounts.default.healthState).toBe("terminal-disconnect");
    expect(telegram.of("getMe").length).toBeGreaterThan(0);
  }, 150_000);

  test("with the gateway down, `channels status` prints the config-only summary and exits 0", async () => {
    await client?.close().catch(() => {});
    client = undefined;
    expect(await gw.stop(5_000)).toBe(0);
    const r = await ours("channels", "status");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Gateway not reachable; showing config-only status.");
    expect(r.stdout).toContain(`Config: ${configPath}`);
    expect(r.stdout).toContain("- Telegram default: enabled, configured, mode:polling, token:***");
    expect(r.stdout).toContain("- Discord default: enabled, configured, mode:gateway, token:***");
    expect(r.stderr).toContain("Gateway not reachable at ws://127.0.0.1:");
    const j = JSON.parse((await ours("channels", "status", "--json")).stdout);
    expect(j).toMatchObject({ gatewayReachable: false, configOnly: true, configuredChannels: ["telegram", "discord"] });
    // Every admitted DM reached the session store (all DMs share the main session by default).
    const db = new Database(dbPath(stateDir), { readonly: true });
    try {
      const users = db.query("SELECT content FROM messages WHERE session_key = 'agent:main:main' AND role = 'user' ORDER BY seq").all() as Array<{ content: string }>;
      const contents = users.map((u) => u.content);
      expect(contents.slice(0, REF ? 4 : 3)).toEqual(["what is up", ...(REF ? ["now?"] : []), "hello from discord", "and now?"]);
      // Then the long one (truncated for the agent) and the whole flood.
      expect(contents.filter((c) => c.startsWith("long long") && c.length <= 16_001)).toHaveLength(1);
      expect(contents.filter((c) => c.startsWith("flood ")).length).toBe(1500);
      expect(contents).toHaveLength((REF ? 5 : 4) + 1500);
    } finally {
      db.close();
    }
    // Our approval recorded the first command owner.
    expect(JSON.parse(readFileSync(configPath, "utf8")).commands.ownerAllowFrom).toEqual([`telegram:${ALICE}`]);
  }, 60_000);
});
