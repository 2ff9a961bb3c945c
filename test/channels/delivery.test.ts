/**
 * Outbound delivery of the channel host (automation's side of it): `host.send` to arbitrary
 * targets through the fake Telegram and Discord, the per-session last conversation (stored,
 * pinned to the owner, surviving a new store on the same database), and the resolution of cron
 * announce routes and heartbeat targets as the original resolves them.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { NO_CHANNEL_ERROR } from "../../src/automation/errors.ts";
import { HEARTBEAT_PROMPT, type ResolvedHeartbeat } from "../../src/automation/heartbeat.ts";
import { OFFLINE_DELIVERY } from "../../src/channels/automation-seam.ts";
import { hostDelivery, REFUSE_SHARED_MAIN_ROUTE, resolveAnnounce, resolveHeartbeatRoute } from "../../src/channels/delivery.ts";
import { RouteStore } from "../../src/channels/routes.ts";
import { parseTelegramTarget } from "../../src/channels/telegram/targets.ts";
import { parseDiscordTarget } from "../../src/channels/discord/targets.ts";
import { TELEGRAM_TEXT_LIMIT } from "../../src/channels/telegram/format.ts";
import { sentTo, startHarness, until, type Harness } from "./harness.ts";

const ALICE = 555000111;
const BOB = 777000222;
const GROUP = -1001234;

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function hb(over: Partial<ResolvedHeartbeat> = {}): ResolvedHeartbeat {
  return {
    agentId: "main",
    enabled: true,
    every: "30m",
    everyMs: 1_800_000,
    prompt: HEARTBEAT_PROMPT,
    target: "owner",
    implicitTarget: true,
    directPolicy: "allow",
    lightContext: false,
    isolatedSession: false,
    timeoutMs: 600_000,
    ...over,
  };
}

/** Wait until the host has handled a DM (the turn ran and the reply went out). */
async function dmAndWait(harness: Harness, text: string, from: number): Promise<void> {
  const before = sentTo(harness.telegram, from).length;
  harness.telegram.dm(text, { id: from });
  await until(() => sentTo(harness.telegram, from).length > before, 5000, `reply to ${from}`);
}

describe("targets", () => {
  test("Telegram: chat ids, topics (both forms), prefixes, usernames; garbage is refused", () => {
    expect(parseTelegramTarget("123")).toEqual({ ok: true, target: { chatId: "123", kind: "direct" }, to: "123" });
    expect(parseTelegramTarget("telegram:-1001234567890:topic:42")).toEqual({ ok: true, target: { chatId: "-1001234567890", kind: "group", threadId: "42" }, to: "-1001234567890:topic:42" });
    expect(parseTelegramTarget("tg:-1001234567890:7")).toMatchObject({ ok: true, target: { threadId: "7" } });
    expect(parseTelegramTarget("-100999", 5)).toMatchObject({ ok: true, to: "-100999:topic:5" });
    expect(parseTelegramTarget("@my_channel")).toMatchObject({ ok: true, target: { chatId: "@my_channel", kind: "channel" } });
    expect(parseTelegramTarget("t.me/my_channel")).toMatchObject({ ok: true, target: { chatId: "@my_channel" } });
    expect(parseTelegramTarget("not a chat")).toEqual({ ok: false, error: 'Unknown target "not a chat" for Telegram. Hint: <chatId>' });
    expect(parseTelegramTarget("telegram:")).toEqual({ ok: false, error: "Delivering to Telegram requires target <chatId>" });
    expect(parseTelegramTarget("123", "x")).toMatchObject({ ok: false });
  });

  test("Discord: channel:, user:, mentions, bare ids; garbage is refused", () => {
    expect(parseDiscordTarget("channel:300000000000000011")).toEqual({ ok: true, target: { chatId: "300000000000000011", kind: "channel" }, to: "channel:300000000000000011" });
    expect(parseDiscordTarget("discord:user:800000000000000001")).toEqual({ ok: true, target: { chatId: "", kind: "direct", userId: "800000000000000001" }, to: "user:800000000000000001" });
    expect(parseDiscordTarget("<@!800000000000000001>")).toMatchObject({ ok: true, target: { userId: "800000000000000001" } });
    expect(parseDiscordTarget("300000000000000011", "300000000000000099")).toMatchObject({ ok: true, to: "channel:300000000000000099" });
    expect(parseDiscordTarget("#general")).toMatchObject({ ok: false, error: 'Unknown target "#general" for Discord. Hint: channel:<id> or user:<id>' });
  });
});

describe("host.send", () => {
  test("any chat, a forum topic, a huge text in chunks: the reply path's formatting; the account records the send", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    const sent = await h.host.send({ channel: "telegram", to: String(BOB), text: "**Good morning**", purpose: "test" });
    expect(sent).toMatchObject({ ok: true, channel: "telegram", accountId: "default", to: String(BOB) });
    expect(sent.messageIds.length).toBe(1);
    expect(h.telegram.of("sendMessage").at(-1)!.body).toEqual({ chat_id: String(BOB), text: "<b>Good morning</b>", parse_mode: "HTML" });
    expect(h.host.supervisor("telegram")!.state.lastOutboundAt).toBeNumber();

    await h.host.send({ channel: "telegram", to: `${GROUP}:topic:42`, text: "to the topic", purpose: "test" });
    expect(h.telegram.of("sendMessage").at(-1)!.body).toMatchObject({ chat_id: String(GROUP), message_thread_id: 42 });

    const huge = Array.from({ length: 400 }, (_, i) => `Paragraph ${i}: ${"lorem ipsum ".repeat(8)}`).join("\n\n");
    const before = h.telegram.of("sendMessage").length;
    const big = await h.host.send({ channel: "telegram", to: String(BOB), text: huge, purpose: "test" });
    expect(big.ok).toBe(true);
    const parts = h.telegram.of("sendMessage").slice(before);
    expect(parts.length).toBeGreaterThan(5);
    expect(big.messageIds.length).toBe(parts.length);
    for (const p of parts) expect(String(p.body.text).length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(parts.map((p) => String(p.body.text)).join("\n")).toContain("Paragraph 399:");
  });

  test("a target the platform refuses: a certain failure, in the account's status and log; the next send clears it", async () => {
    h = await startHarness();
    h.telegram.fail("sendMessage", { kind: "status", status: 403, description: "Forbidden: bot was blocked by the user" });
    const refused = await h.host.send({ channel: "telegram", to: String(BOB), text: "hi", purpose: "cron job-1 announce" });
    expect(refused).toMatchObject({ ok: false, uncertain: false, to: String(BOB), messageIds: [] });
    expect(refused.error).toBe(`Telegram send failed (${BOB}): sendMessage: 403 Forbidden: bot was blocked by the user`);
    expect(h.host.supervisor("telegram")!.state.lastError).toContain("cron job-1 announce to 777000222 failed: sendMessage: 403");
    await h.logs.waitFor("cron job-1 announce to 777000222 failed");
    expect((await h.host.send({ channel: "telegram", to: String(BOB), text: "again", purpose: "test" })).ok).toBe(true);
    expect(h.host.supervisor("telegram")!.state.lastError).toBeNull();
  });

  test("a chunked send that fails half way is uncertain (part of it reached the chat)", async () => {
    h = await startHarness();
    const huge = Array.from({ length: 200 }, (_, i) => `Line ${i} ${"x".repeat(60)}`).join("\n\n");
    // The first part goes through, the second is refused.
    h.telegram.fail("sendMessage", { kind: "pass" }, { kind: "status", status: 400, description: "Bad Request: chat not found" });
    const partial = await h.host.send({ channel: "telegram", to: String(BOB), text: huge, purpose: "test" });
    expect(partial).toMatchObject({ ok: false, uncertain: true });
    expect(partial.messageIds.length).toBe(1);
    expect(partial.error).toBe(`Telegram send failed (${BOB}): sendMessage: 400 Bad Request: chat not found (after 1 of the message's parts were sent)`);
    expect(h.telegram.of("sendMessage").length).toBe(2);
  });

  test("bad input: an unknown channel, an unknown or credential-less account, a malformed target — clear errors, nothing sent", async () => {
    h = await startHarness({ telegram: { accounts: { ops: { botToken: "999:ops" }, empty: {} } } });
    const calls = h.telegram.of("sendMessage").length;
    expect(await h.host.send({ channel: "slack", to: "C1", text: "x", purpose: "t" })).toMatchObject({ ok: false, error: "Unsupported channel: slack" });
    expect(await h.host.send({ channel: "telegram", accountId: "nope", to: "1", text: "x", purpose: "t" })).toMatchObject({ ok: false, error: 'Telegram account "nope" is not configured' });
    expect((await h.host.send({ channel: "telegram", accountId: "empty", to: "1", text: "x", purpose: "t" })).error).toStartWith('Telegram bot token missing for account "empty"');
    expect(await h.host.send({ channel: "telegram", to: "<script>", text: "x", purpose: "t" })).toMatchObject({ ok: false, error: 'Unknown target "<script>" for Telegram. Hint: <chatId>' });
    expect(h.telegram.of("sendMessage").length).toBe(calls);
  });

  test("Discord: user:<id> opens the DM channel, channel:<id> posts there", async () => {
    h = await startHarness({ telegram: false, discord: { dmPolicy: "open", allowFrom: ["*"] } });
    const discord = h.discord!;
    discord.addGuild("300000000000000001", [{ id: "300000000000000011", name: "general" }]);
    const dm = await h.host.send({ channel: "discord", to: "user:800000000000000001", text: "hello you", purpose: "t" });
    expect(dm.ok).toBe(true);
    expect(discord.of("POST", /users\/@me\/channels$/).at(-1)!.body).toEqual({ recipient_id: "800000000000000001" });
    const opened = discord.of("POST", /\/channels\/\d+\/messages$/).at(-1)!;
    expect(opened.body.content).toBe("hello you");
    const ch = await h.host.send({ channel: "discord", to: "channel:300000000000000011", text: "hello all", purpose: "t" });
    expect(ch.ok).toBe(true);
    expect(discord.postedTo("300000000000000011")).toEqual(["hello all"]);
    // The DM channel is opened once.
    await h.host.send({ channel: "discord", to: "user:800000000000000001", text: "again", purpose: "t" });
    expect(discord.of("POST", /users\/@me\/channels$/).length).toBe(1);
  });
});

describe("last conversation", () => {
  test("an admitted DM becomes the main session's route; a group its own; stored across a new store", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"], groups: { [String(GROUP)]: { groupPolicy: "open", requireMention: false } } } });
    await dmAndWait(h, "hi", ALICE);
    expect(h.host.routes.get("agent:main:main")).toMatchObject({ channel: "telegram", accountId: "default", chatId: String(ALICE), kind: "direct", peerId: String(ALICE) });
    h.telegram.group(GROUP, "in the group", { from: { id: BOB }, threadId: 9, forum: true });
    await until(() => h!.host.routes.get(`agent:main:telegram:group:${GROUP}:topic:9`) !== undefined, 5000, "group route");
    expect(h.host.routes.get(`agent:main:telegram:group:${GROUP}:topic:9`)).toMatchObject({ chatId: String(GROUP), kind: "group", threadId: "9" });
    // The main session still points at Alice.
    expect(h.host.routes.get("agent:main:main")!.chatId).toBe(String(ALICE));
    // Another store on the same database (a restart) reads them back.
    expect(new RouteStore(h.db).get("AGENT:MAIN:MAIN")).toMatchObject({ chatId: String(ALICE) });
  });

  test("with one allowlisted owner, another sender's DM does not move the main session's route", async () => {
    h = await startHarness({ telegram: { dmPolicy: "pairing", allowFrom: [String(ALICE)] } });
    h.host.pairing.addAllowEntry("telegram", "default", String(BOB));
    await dmAndWait(h, "owner here", ALICE);
    expect(h.host.routes.get("agent:main:main")!.chatId).toBe(String(ALICE));
    await dmAndWait(h, "not the owner", BOB);
    expect(sentTo(h.telegram, BOB)).toEqual(["echo: not the owner"]);
    expect(h.host.routes.get("agent:main:main")!.chatId).toBe(String(ALICE));
  });
});

describe("cron announce routes", () => {
  test("last: from the job's session; the shared main session is refused without one; explicit targets; the fallbacks", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    // No conversation yet, one configured channel, no target.
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last" })).toEqual({
      ok: false,
      channel: "telegram",
      error: "Delivering to Telegram requires target <chatId>",
    });
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "telegram", to: String(BOB) })).toEqual({
      ok: true,
      channel: "telegram",
      to: String(BOB),
      accountId: "default",
      source: "explicit",
    });
    await dmAndWait(h, "hello", ALICE);
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last", sessionKey: "agent:main:main" })).toEqual({
      ok: true,
      channel: "telegram",
      to: String(ALICE),
      accountId: "default",
      source: "last",
    });
    // `main` alone is the agent's main session too.
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last", sessionKey: "main" })).toMatchObject({ ok: true, to: String(ALICE) });
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last" })).toEqual({ ok: false, channel: "telegram", accountId: "default", error: REFUSE_SHARED_MAIN_ROUTE });
    // An explicit recipient is fine; a provider prefix picks the channel of `last`.
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last", to: `telegram:${BOB}` })).toMatchObject({ ok: true, channel: "telegram", to: String(BOB), source: "last" });
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "telegram", to: `discord:${BOB}` })).toMatchObject({ ok: false });
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "slack", to: "C1" })).toEqual({ ok: false, channel: "slack", error: "Unsupported channel: slack" });
  });

  test("several configured channels and no conversation: the original's 'Channel is required' answer", async () => {
    h = await startHarness({ discord: {} });
    expect(resolveAnnounce(h.host, { agentId: "main", channel: "last", sessionKey: "agent:main:main" })).toEqual({
      ok: false,
      error:
        "Channel is required when multiple channels are configured: discord, telegram. Pass --channel <channel> to choose one. Set delivery.channel explicitly or use a main session with a previous channel.",
    });
  });

  test("the seam: a delivered announce reports where it went; previews do not send", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    await dmAndWait(h, "hello", ALICE);
    const seam = hostDelivery(h.host);
    const calls = h.telegram.of("sendMessage").length;
    expect(seam.previewRoute({ agentId: "main", channel: "last", sessionKey: "agent:main:main" })).toEqual({ ok: true, channel: "telegram", to: String(ALICE), accountId: "default", source: "last" });
    expect(h.telegram.of("sendMessage").length).toBe(calls);
    const res = await seam.deliver({ jobId: "j1", agentId: "main", channel: "last", sessionKey: "agent:main:main", text: "scheduled hello", purpose: "result" });
    expect(res).toEqual({ resolved: true, delivered: true, channel: "telegram", to: String(ALICE), accountId: "default" });
    expect(sentTo(h.telegram, ALICE).at(-1)).toBe("scheduled hello");
    expect(await seam.deliver({ jobId: "j1", agentId: "main", channel: "last", text: "x", purpose: "result" })).toEqual({
      resolved: false,
      delivered: false,
      channel: "telegram",
      error: REFUSE_SHARED_MAIN_ROUTE,
    });
    expect(seam.channelIds()).toEqual(["telegram"]);
  });

  test("without a channel host: the original's no-channel answers", async () => {
    expect(OFFLINE_DELIVERY.previewRoute({ agentId: "main", channel: "last" })).toEqual({ ok: false, error: NO_CHANNEL_ERROR });
    expect(OFFLINE_DELIVERY.previewRoute({ agentId: "main", channel: "telegram", to: "123" })).toEqual({ ok: true, channel: "telegram", to: "123", source: "explicit" });
    expect(await OFFLINE_DELIVERY.deliver({ jobId: "j", agentId: "main", channel: "telegram", to: "123", text: "x", purpose: "result" })).toEqual({
      resolved: true,
      delivered: false,
      channel: "telegram",
      to: "123",
      error: 'Telegram bot token missing for account "default" (set channels.telegram.botToken, channels.telegram.tokenFile or TELEGRAM_BOT_TOKEN).',
    });
    expect(await OFFLINE_DELIVERY.deliver({ jobId: "j", agentId: "main", channel: "last", text: "x", purpose: "result" })).toEqual({ resolved: false, delivered: false, error: NO_CHANNEL_ERROR });
    expect(OFFLINE_DELIVERY.heartbeatHasRoute("main", hb(), "agent:main:main")).toBe(false);
  });
});

describe("heartbeat targets", () => {
  test("owner from allowFrom, reusing the owner's own chat; from commands.ownerAllowFrom; never a group", async () => {
    h = await startHarness({ telegram: { dmPolicy: "allowlist", allowFrom: [String(ALICE)] } });
    const req = { agentId: "main", sessionKey: "agent:main:main" };
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb() })).toEqual({ ok: true, channel: "telegram", accountId: "default", to: String(ALICE), address: String(ALICE), kind: "direct" });
    await dmAndWait(h, "hi", ALICE);
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb() })).toEqual({
      ok: true,
      channel: "telegram",
      accountId: "default",
      to: String(ALICE),
      address: `telegram:${ALICE}`,
      kind: "direct",
    });
    await h.apply({ ...h.config, commands: { ownerAllowFrom: [`telegram:${BOB}`] } } as any);
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb() })).toMatchObject({ ok: true, to: String(BOB), address: `telegram:${BOB}` });
    await h.apply({ ...h.config, commands: { ownerAllowFrom: [String(GROUP)] }, channels: { telegram: { ...(h.config.channels as any).telegram, allowFrom: [String(GROUP)] } } } as any);
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb() })).toEqual({ ok: false, reason: "no-route" });
  });

  test("last, a channel with or without to, none, dm-blocked, unknown-account", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    const req = { agentId: "main", sessionKey: "agent:main:main" };
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "last" }) })).toEqual({ ok: false, reason: "no-route" });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "telegram" }) })).toEqual({ ok: false, reason: "no-target" });
    await dmAndWait(h, "hi", ALICE);
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "last" }) })).toMatchObject({ ok: true, to: String(ALICE), address: `telegram:${ALICE}` });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "telegram" }) })).toMatchObject({ ok: true, to: String(ALICE) });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "telegram", to: `${GROUP}:topic:3` }) })).toEqual({
      ok: true,
      channel: "telegram",
      accountId: "default",
      to: `${GROUP}:topic:3`,
      address: `${GROUP}:topic:3`,
      kind: "group",
    });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "none" }) })).toEqual({ ok: false, reason: "target-none" });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "last", directPolicy: "block" }) })).toEqual({ ok: false, reason: "dm-blocked" });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "last", accountId: "ghost" }) })).toEqual({ ok: false, reason: "unknown-account" });
    expect(resolveHeartbeatRoute(h.host, { ...req, heartbeat: hb({ target: "nosuch", to: "1" }) })).toEqual({ ok: false, reason: "no-target" });
  });

  test("delivery and typing at the target; a refused send is a failed delivery with the platform's error", async () => {
    h = await startHarness({ telegram: { dmPolicy: "open", allowFrom: ["*"] } });
    await dmAndWait(h, "hi", ALICE);
    const seam = hostDelivery(h.host);
    const req = { agentId: "main", sessionKey: "agent:main:main", heartbeat: hb({ target: "last", implicitTarget: false }) };
    const typingBefore = h.telegram.of("sendChatAction").length;
    const stop = seam.heartbeatTyping(req)!;
    await h.telegram.waitFor(() => h!.telegram.of("sendChatAction").length > typingBefore);
    stop();
    expect(h.telegram.of("sendChatAction").at(-1)!.body).toMatchObject({ chat_id: ALICE, action: "typing" });
    expect(await seam.heartbeatDeliver({ ...req, text: "your flight leaves at 9" })).toEqual({
      resolved: true,
      delivered: true,
      channel: "telegram",
      to: `telegram:${ALICE}`,
      accountId: "default",
    });
    h.telegram.fail("sendMessage", { kind: "status", status: 403, description: "Forbidden: bot was blocked by the user" });
    expect(await seam.heartbeatDeliver({ ...req, text: "again" })).toMatchObject({
      resolved: true,
      delivered: false,
      error: `Telegram send failed (${ALICE}): sendMessage: 403 Forbidden: bot was blocked by the user`,
    });
    expect(await seam.heartbeatDeliver({ ...req, heartbeat: hb({ target: "none" }), text: "x" })).toEqual({ resolved: false, delivered: false, reason: "target-none" });
  });
});
