/**
 * The channels inside the gateway: the channels subsystem hosted by a real Gateway (listener,
 * config lifecycle, agent runtime and lanes, session store) against the fake Bot API, the fake
 * Discord and the fake model provider. Replies come from the model provider through the agent
 * lanes and land in the session store; the RPCs answer with the original's shapes and scopes;
 * config edits hot-apply without dropping WebSocket clients; an in-process restart leaves the
 * channels running.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { CHANNELS_CONTRACT } from "../../src/protocol/contract-channels.ts";
import type { GatewayClient } from "../../src/protocol/client.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { readJson, sentTo, startChannelGateway, until, type ChannelGateway } from "./gateway-harness.ts";

let h: ChannelGateway | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ALICE = 555000111;
const BOB = 777000222;
const GROUP = -100777;

type ChannelMethod = keyof typeof CHANNELS_CONTRACT;

/** Call and check the result against the wire contract's result schema. */
async function call(c: GatewayClient, method: ChannelMethod, params: Record<string, unknown> = {}): Promise<any> {
  const value = await c.request(method, params);
  const parsed = CHANNELS_CONTRACT[method].result().safeParse(value);
  if (!parsed.success) throw new Error(`${method} breaks the contract: ${JSON.stringify(parsed.error.issues)}`);
  return value;
}

async function rpcError(p: Promise<unknown>): Promise<{ code: string; message: string; details?: any }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; message: string; details?: any };
    return { code: String(e.code), message: e.message, details: e.details };
  }
  throw new Error("expected the call to fail");
}

async function connected(gw: ChannelGateway, channel = "telegram"): Promise<void> {
  const c = await gw.connect();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await c.request<any>("channels.status", {});
    if (status.channelAccounts[channel]?.[0]?.connected === true) return;
    if (Date.now() > deadline) throw new Error(`${channel} not connected: ${JSON.stringify(status.channelAccounts)}`);
    await Bun.sleep(10);
  }
}

describe("DM pairing through the gateway", () => {
  test("an unknown DM gets a code and no model call; pairing.approve admits the sender; the next DM gets the model's reply, stored in the session", async () => {
    h = await startChannelGateway();
    const tg = h.telegram;
    await connected(h);
    tg.dm("hello there", { id: ALICE, username: "alice", first_name: "Alice" });
    await tg.waitFor(() => sentTo(tg, ALICE).length === 1);
    expect(sentTo(tg, ALICE)[0]).toContain(`openclaw pairing approve telegram `);
    await h.logs.waitFor(`telegram pairing request chatId=${ALICE} senderUserId=${ALICE} username=alice`);
    expect(h.upstream.requests).toHaveLength(0);

    const pairing = await h.connect(["operator.pairing"]);
    const list = await call(pairing, "channels.pairing.list", { channel: "telegram" });
    expect(list.accounts).toEqual([{ channel: "telegram", channelLabel: "Telegram", accountId: "default", notifySupported: true }]);
    expect(list.requests).toHaveLength(1);
    const req = list.requests[0];
    expect(req).toMatchObject({ channel: "telegram", accountId: "default", senderId: String(ALICE), senderLabel: "telegramUserId", metadata: { username: "alice", firstName: "Alice" } });
    expect(req.code).toBeUndefined();
    expect(list.commandOwnerConfigured).toBe(false);
    expect(list.limits).toEqual({ pendingPerAccount: 3, ttlMs: 3_600_000 });

    // The dynamic scope: bootstrapping a command owner also needs operator.admin.
    const denied = await rpcError(pairing.request("channels.pairing.approve", { channel: "telegram", accountId: "default", requestId: req.requestId, bootstrapCommandOwner: true }));
    expect(denied.code).toBe("FORBIDDEN");
    expect(denied.message).toContain("operator.admin");

    const approved = await call(pairing, "channels.pairing.approve", { channel: "telegram", accountId: "default", requestId: req.requestId });
    expect(approved).toEqual({ requestId: req.requestId, senderId: String(ALICE), notification: "not-requested", commandOwnerBootstrap: "not-requested" });
    const again = await rpcError(pairing.request("channels.pairing.approve", { channel: "telegram", accountId: "default", requestId: req.requestId }));
    expect(again).toMatchObject({ code: "INVALID_REQUEST", message: "pending DM access request no longer exists" });

    tg.dm("what is up", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: what is up"));
    expect(h.upstream.to("/v1/chat/completions")).toHaveLength(1);
    const send = tg.of("sendMessage").at(-1)!;
    expect(send.body).toMatchObject({ chat_id: String(ALICE), text: "echo: what is up", parse_mode: "HTML" });
    expect(tg.of("sendChatAction").some((c) => c.body.chat_id === ALICE && c.body.action === "typing")).toBe(true);
    // The transcript: the admitted turn only (the pairing-code message never reached the agent).
    expect(h.transcript()).toEqual([
      { role: "user", content: "what is up" },
      { role: "assistant", content: "echo: what is up" },
    ]);
    const row = h.gw.agents.store.get("agent:main:main");
    expect(row?.channel).toBe("telegram");

    // The next turn of the session carries the history (one session for all DMs by default).
    tg.dm("and again", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: and again"));
    const body = h.upstream.to("/v1/chat/completions").at(-1)!.body;
    expect(body.messages.map((m: any) => m.content)).toEqual(["what is up", "echo: what is up", "and again"]);
  });

  test("dismiss removes a pending request; unknown channels and accounts answer as the original", async () => {
    h = await startChannelGateway();
    const tg = h.telegram;
    await connected(h);
    tg.dm("hi", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).length === 1);
    const c = await h.connect(["operator.pairing"]);
    const [req] = (await call(c, "channels.pairing.list", {})).requests;
    expect(await call(c, "channels.pairing.dismiss", { channel: "telegram", accountId: "default", requestId: req.requestId })).toEqual({ requestId: req.requestId, senderId: String(BOB) });
    expect((await call(c, "channels.pairing.list", {})).requests).toEqual([]);
    expect(await rpcError(c.request("channels.pairing.list", { channel: "nope" }))).toMatchObject({ code: "INVALID_REQUEST", message: "Error: unknown pairing channel: nope" });
    expect(await rpcError(c.request("channels.pairing.approve", { channel: "telegram", accountId: "work", requestId: "x" }))).toMatchObject({
      code: "INVALID_REQUEST",
      message: "channel account does not use DM pairing: telegram:work",
    });
    // Closed params, like the original's.
    expect((await rpcError(c.request("channels.pairing.list", { channel: "telegram", extra: 1 }))).code).toBe("INVALID_REQUEST");
  });
});

describe("groups through the gateway", () => {
  test("an unmentioned group message is dropped with the signature and kept as context; a mention gets 👀, typing and the model's reply", async () => {
    h = await startChannelGateway({ telegram: { groups: { [String(GROUP)]: { groupPolicy: "open" } } } });
    const tg = h.telegram;
    await connected(h);
    tg.group(GROUP, "just chatting", { from: { id: BOB, first_name: "Bob", username: "bob" } });
    const drop = await h.logs.waitFor("drop group message (mention required)");
    expect(drop.message).toContain(`telegram ${GROUP}`);
    expect(h.upstream.requests).toHaveLength(0);
    const mid = tg.group(GROUP, "what now?", { mention: true, from: { id: ALICE } });
    await tg.waitFor(() => sentTo(tg, GROUP).length === 1);
    expect(sentTo(tg, GROUP)[0]).toContain("what now?");
    const prompt = h.upstream.to("/v1/chat/completions")[0].body.messages.at(-1).content as string;
    expect(prompt).toContain("[Chat messages since your last reply - for context]");
    expect(prompt).toContain("just chatting");
    expect(prompt).toContain("[Current message - respond to this]");
    await tg.waitFor(() => tg.of("setMessageReaction").length === 1);
    expect(tg.of("setMessageReaction")[0].body.chat_id).toBe(GROUP);
    expect(tg.of("getChat").some((c) => c.body.chat_id === GROUP)).toBe(true);
    expect(mid).toBeGreaterThan(0);
    expect(h.transcript(`agent:main:telegram:group:${GROUP}`)).toHaveLength(2);
    // DM pairing never admits anyone in groups, and an unlisted group is blocked.
    tg.group(-100999, "hello?", { mention: true });
    await h.logs.waitFor("Blocked telegram group message in -100999");
  });
});

describe("platform errors and config edits", () => {
  test("a 401 shows in channels.status probe and statusIssues; the gateway and its WebSocket clients keep going; fixing the token hot-applies", async () => {
    h = await startChannelGateway({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    const tg = h.telegram;
    await connected(h);
    const c = await h.connect();
    const events: string[] = [];
    c.onEvent((e) => events.push(e.event));

    await h.edit((doc) => (doc.channels.telegram.botToken = "999:rejected"));
    // The account gives up once getMe answers 401 (the reload, the restart and the call all come
    // first): wait for that event, with room for a machine under load, then read the status.
    await h.logs.waitFor("auto-restart skipped, terminal disconnect", 20_000);
    const status: any = await call(c, "channels.status", { probe: true });
    expect(status.channelAccounts.telegram[0].lifecycle).toBe("blocked");
    const acc = status.channelAccounts.telegram[0];
    expect(acc).toMatchObject({ running: false, connected: false, terminalDisconnect: true, healthState: "terminal-disconnect" });
    expect(acc.probe).toMatchObject({ ok: false, status: 401, error: "Unauthorized" });
    expect(acc.lastError).toContain('Telegram bot token unauthorized for account "default" (getMe returned 401 from Telegram');
    expect(status.channels.telegram.probe).toMatchObject({ ok: false, status: 401 });
    expect(status.statusIssues).toEqual([{ channel: "telegram", accountId: "default", kind: "runtime", message: acc.lastError, fix: "resolve the reported channel error, then restart the channel" }]);
    // The gateway keeps serving, on the same socket.
    const health = await c.request<any>("health");
    expect(health.ok).toBe(true);
    expect(health.channels.telegram.accounts.default).toMatchObject({ running: false, healthState: "terminal-disconnect" });

    await h.edit((doc) => (doc.channels.telegram.botToken = tg.token));
    await connected(h);
    tg.dm("back?", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).includes("echo: back?"));
    // Same client, never closed or told to shut down.
    expect((await c.request<any>("health")).ok).toBe(true);
    expect(events).not.toContain("shutdown");
  });

  test("a policy edit hot-applies to the next message without reconnecting the account or dropping clients", async () => {
    h = await startChannelGateway();
    const tg = h.telegram;
    await connected(h);
    const c = await h.connect();
    const getMe = tg.of("getMe").length;
    tg.dm("first", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).length === 1);
    expect(sentTo(tg, BOB)[0]).toContain("Pairing code");
    await h.edit((doc) => Object.assign(doc.channels.telegram, { dmPolicy: "open", allowFrom: ["*"] }));
    await h.logs.waitFor("config reload: applied without restart");
    tg.dm("second", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).includes("echo: second"));
    expect(tg.of("getMe")).toHaveLength(getMe);
    expect((await call(c, "channels.status", {})).channelAccounts.telegram[0].connected).toBe(true);
  });

  test("an in-process restart (new port) leaves the channel running; a channel block added later starts it; removing it stops it", async () => {
    h = await startChannelGateway({ telegram: false });
    const tg = h.telegram;
    let c = await h.connect();
    expect(await call(c, "channels.status", {})).toMatchObject({ channelOrder: [], channelAccounts: {} });
    // No channel block: no channel code ran, no pairing database exists.
    expect(h.gw.health({ fresh: true }).channelOrder).toEqual([]);

    await h.edit((doc) => (doc.channels = { telegram: { botToken: tg.token, apiRoot: tg.url, dmPolicy: "open", allowFrom: ["*"] } }));
    await connected(h);
    const getMe = tg.of("getMe").length;
    const port = await freePort();
    await h.edit((doc) => (doc.gateway.port = port));
    await until(() => h!.gw.port === port, 10_000, "relistened");
    c = await h.connect();
    tg.dm("after restart", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).includes("echo: after restart"));
    expect(tg.of("getMe")).toHaveLength(getMe);
    expect((await call(c, "channels.status", {})).channelAccounts.telegram[0]).toMatchObject({ running: true, connected: true, reconnectAttempts: 0 });

    await h.edit((doc) => delete doc.channels);
    await until(() => (h!.gw.health({ fresh: true }).channelOrder as string[]).length === 0, 10_000, "channel removed");
    expect((await call(c, "channels.status", {})).channelOrder).toEqual([]);
  });
});

describe("channel RPCs", () => {
  test("scopes, start/stop/logout with the captured shapes, health fields", async () => {
    h = await startChannelGateway();
    await connected(h);
    const read = await h.connect(["operator.read"]);
    const status = await call(read, "channels.status", {});
    expect(status.channelOrder).toEqual(["telegram"]);
    expect(status.channelMeta).toEqual([{ id: "telegram", label: "Telegram", detailLabel: "Telegram Bot", systemImage: "paperplane" }]);
    expect(status.channelAccounts.telegram[0]).toMatchObject({ accountId: "default", enabled: true, configured: true, running: true, connected: true, lifecycle: "ready", mode: "polling", tokenSource: "config", tokenStatus: "available" });
    expect(status.channelAccounts.telegram[0].probe).toBeUndefined();
    for (const m of ["channels.start", "channels.stop", "channels.logout"] as const) {
      const e = await rpcError(read.request(m, { channel: "telegram" }));
      expect(e.code).toBe("FORBIDDEN");
      expect(e.message).toContain("operator.admin");
    }
    expect((await rpcError(read.request("channels.pairing.list", {}))).message).toContain("operator.pairing");
    expect((await rpcError(read.request("channels.status", { probe: "yes" }))).code).toBe("INVALID_REQUEST");

    const probed = await call(read, "channels.status", { probe: true });
    expect(probed.channelAccounts.telegram[0].probe).toMatchObject({ ok: true, bot: { username: "fake_bot" } });
    expect(typeof probed.channelAccounts.telegram[0].lastProbeAt).toBe("number");

    const health = await read.request<any>("health");
    expect(health.channelOrder).toEqual(["telegram"]);
    expect(health.channelLabels).toEqual({ telegram: "Telegram" });
    expect(health.channels.telegram).toMatchObject({ accountId: "default", configured: true, running: true, accounts: { default: { accountId: "default", connected: true } } });

    const admin = await h.connect();
    expect(await call(admin, "channels.stop", { channel: "telegram" })).toEqual({ channel: "telegram", accountId: "default", stopped: true });
    expect((await call(admin, "channels.status", {})).channelAccounts.telegram[0]).toMatchObject({ running: false, lifecycle: "stopped" });
    expect(await call(admin, "channels.start", { channel: "telegram" })).toEqual({ channel: "telegram", accountId: "default", started: true, outcome: { status: "handed-off" } });
    expect(await call(admin, "channels.start", { channel: "telegram" })).toEqual({ channel: "telegram", accountId: "default", started: true, outcome: { status: "retry", reason: "task-owned" } });
    expect(await rpcError(admin.request("channels.start", { channel: "nope" }))).toMatchObject({ code: "INVALID_REQUEST", message: "invalid channels.start channel" });
    expect(await call(admin, "channels.stop", { channel: "telegram", accountId: "other" })).toEqual({ channel: "telegram", accountId: "other", stopped: true });

    expect(await call(admin, "channels.logout", { channel: "telegram" })).toEqual({ channel: "telegram", accountId: "default", cleared: true, envToken: false, loggedOut: true });
    expect(readJson(h.configPath).channels.telegram.botToken).toBeUndefined();
      const deadline = Date.now() + 10_000;
    for (;;) {
      const acc = (await call(admin, "channels.status", {})).channelAccounts.telegram[0];
      if (acc.configured === false) {
        expect(acc.running).toBe(false);
        break;
      }
      if (Date.now() > deadline) throw new Error(`still configured: ${JSON.stringify(acc)}`);
      await Bun.sleep(20);
    }
  });
});

describe("Discord through the gateway", () => {
  test("a DM and a guild mention get the model's replies through the fake gateway WebSocket and REST", async () => {
    const GUILD = "300000000000000001";
    const GENERAL = "300000000000000011";
    const DM_CHANNEL = "300000000000000099";
    const USER = "800000000000000001";
    h = await startChannelGateway({ telegram: false, discord: { dmPolicy: "open", allowFrom: ["*"], guilds: { [GUILD]: {} } } });
    const d = h.discord!;
    d.addGuild(GUILD, [{ id: GENERAL, name: "general" }]);
    d.addDmChannel(DM_CHANNEL, USER);
    await connected(h, "discord");
    d.message({ channelId: DM_CHANNEL, content: "hello from discord", author: { id: USER } });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: hello from discord"));
    d.message({ channelId: GENERAL, guildId: GUILD, content: "no mention", author: { id: USER } });
    await h.logs.waitFor("drop guild message (mention required");
    d.message({ channelId: GENERAL, guildId: GUILD, content: "with mention", mentionBot: true, author: { id: USER } });
    await d.waitFor(() => d.postedTo(GENERAL).length === 1);
    expect(d.postedTo(GENERAL)[0]).toContain("with mention");
    expect(h.transcript()).toEqual([
      { role: "user", content: "hello from discord" },
      { role: "assistant", content: "echo: hello from discord" },
    ]);
    expect(h.transcript(`agent:main:discord:channel:${GENERAL}`)).toHaveLength(2);
  });
});
