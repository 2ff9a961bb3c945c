/**
 * Discord end to end at the library level against the fake Discord (gateway WebSocket + REST):
 * identify/READY, DM pairing, guild allowlists and mention gating, threads, chunking, the
 * heartbeat/resume/invalid-session machinery, fatal close codes, REST rate limits.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createDiscordPlugin } from "../../src/channels/discord/plugin.ts";
import { DEFAULT_INTENTS } from "../../src/channels/discord/gateway.ts";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import { channelsStatus } from "../../src/channels/rpc.ts";
import { FAST, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const GUILD = "300000000000000001";
const GENERAL = "300000000000000011";
const RANDOM = "300000000000000012";
const THREAD = "300000000000000013";
const DM_CHANNEL = "300000000000000099";
const ALICE = "800000000000000001";
const BOB = "800000000000000002";

async function discordHarness(discord: Record<string, unknown>, setup?: (h: Harness) => void) {
  const plugins = [createDiscordPlugin({ retry: FAST, invalidSessionDelayMs: [10, 20] })];
  const harness = await startHarness({ telegram: false, discord, plugins, start: false });
  const d = harness.discord!;
  d.addGuild(GUILD, [
    { id: GENERAL, name: "general" },
    { id: RANDOM, name: "random" },
    { id: THREAD, name: "a thread", type: 11, parent_id: GENERAL },
  ]);
  d.addDmChannel(DM_CHANNEL, ALICE);
  setup?.(harness);
  await harness.host.start();
  await until(() => harness.host.supervisor("discord")?.state.connected === true, 5000, "discord connected");
  return harness;
}

describe("gateway connection", () => {
  test("gateway/bot, then IDENTIFY with token, intents and properties; READY marks the account connected", async () => {
    h = await discordHarness({});
    const d = h.discord!;
    expect(d.of("GET", /\/gateway\/bot$/)).toHaveLength(1);
    const [identify] = d.received(2);
    expect(identify.d.token).toBe(d.token);
    expect(identify.d.intents).toBe(DEFAULT_INTENTS);
    expect(identify.d.intents & (1 << 15)).toBe(1 << 15); // MESSAGE_CONTENT
    expect(identify.d.properties).toMatchObject({ browser: "openclaw", device: "openclaw" });
    const status = (await channelsStatus(h.host, { probe: true })) as any;
    const acc = status.channelAccounts.discord[0];
    expect(acc).toMatchObject({ accountId: "default", configured: true, running: true, connected: true, mode: "gateway", tokenSource: "config" });
    expect(acc.probe).toMatchObject({ ok: true, bot: { id: d.bot.id, username: d.bot.username }, application: { intents: { messageContent: "limited" } } });
    // allowlist with no guilds configured is a config warning, as the docs describe
    expect(status.statusIssues[0]).toMatchObject({ channel: "discord", kind: "config" });
  });

  test("heartbeats are ACKed; a missing ACK is a zombie: close, RESUME with session and seq, replayed events arrive", async () => {
    h = await discordHarness({ dmPolicy: "open", allowFrom: ["*"] }, (x) => (x.discord!.heartbeatIntervalMs = 60));
    const d = h.discord!;
    await d.waitFor(() => d.received(1).length >= 2);
    d.ackHeartbeats = false;
    await h.logs.waitFor("no heartbeat ACK", 5000);
    d.ackHeartbeats = true;
    await d.waitFor(() => d.received(6).length === 1, 5000);
    const [resume] = d.received(6);
    expect(resume.d.token).toBe(d.token);
    expect(typeof resume.d.session_id).toBe("string");
    expect(typeof resume.d.seq).toBe("number");
    expect(d.closes.some((c) => c.code === 4900)).toBe(true);
    // Still one IDENTIFY: the session was resumed, not recreated.
    expect(d.received(2)).toHaveLength(1);
    await until(() => h!.host.supervisor("discord")!.state.connected, 5000, "reconnected");
    d.message({ channelId: DM_CHANNEL, content: "after resume" });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: after resume"));
  });

  test("a dropped socket resumes and the events sent meanwhile are replayed; RECONNECT (op 7) also resumes", async () => {
    h = await discordHarness({ dmPolicy: "open", allowFrom: ["*"] });
    const d = h.discord!;
    d.drop(4000, "server restart");
    d.message({ channelId: DM_CHANNEL, content: "sent while away" });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: sent while away"), 5000);
    expect(d.received(6)).toHaveLength(1);
    d.requestReconnect();
    await d.waitFor(() => d.received(6).length === 2, 5000);
    expect(d.received(2)).toHaveLength(1);
  });

  test("INVALID_SESSION (not resumable) and close 4009 lead to a fresh IDENTIFY", async () => {
    h = await discordHarness({});
    const d = h.discord!;
    d.invalidate(false);
    await d.waitFor(() => d.received(2).length === 2, 5000);
    await until(() => h!.host.supervisor("discord")!.state.connected, 5000, "reconnected");
    d.drop(4009, "Session timed out");
    await d.waitFor(() => d.received(2).length === 3, 5000);
    d.invalidate(true);
    await d.waitFor(() => d.received(6).length === 1, 5000);
  });
});

describe("fatal errors", () => {
  test("close 4014 blocks the account with a hint", async () => {
    const harness = await startHarness({ telegram: false, discord: {}, plugins: [createDiscordPlugin({ retry: FAST })], start: false });
    h = harness;
    harness.discord!.disallowedIntents = 1 << 15;
    await harness.host.start();
    const sup = harness.host.supervisor("discord")!;
    await until(() => sup.state.lifecycle === "blocked", 5000, "blocked");
    expect(sup.state.lastError).toContain("Discord gateway closed 4014 (Disallowed intent(s))");
    expect(sup.state.lastError).toContain("Message Content");
    expect(harness.discord!.received(2)).toHaveLength(1);
  });

  test("a bad token (401 on gateway/bot) blocks the account", async () => {
    const harness = await startHarness({ telegram: false, discord: { token: "wrong-token" }, plugins: [createDiscordPlugin({ retry: FAST })] });
    h = harness;
    const sup = harness.host.supervisor("discord")!;
    await until(() => sup.state.lifecycle === "blocked", 5000, "blocked");
    expect(sup.state.lastError).toContain("Discord bot token unauthorized");
    const status = (await channelsStatus(harness.host, { probe: true })) as any;
    expect(status.channelAccounts.discord[0].probe).toMatchObject({ ok: false, status: 401, error: "401: Unauthorized" });
  });
});

describe("messages", () => {
  test("an unknown DM gets the pairing reply (Discord Markdown) and no turn; after approval the DM gets a reply", async () => {
    h = await discordHarness({});
    const d = h.discord!;
    d.message({ channelId: DM_CHANNEL, content: "hello bot", author: { id: ALICE } });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).length === 1);
    const [reply] = d.postedTo(DM_CHANNEL);
    const code = /```\n([A-Z2-9]{8})\n```/.exec(reply)?.[1];
    expect(code).toBeDefined();
    expect(reply).toContain(`Your Discord user id: ${ALICE}`);
    expect(reply).toContain(`openclaw pairing approve discord ${code}`);
    expect(h.turns).toHaveLength(0);
    await h.logs.waitFor(`discord pairing request chatId=${DM_CHANNEL} senderUserId=${ALICE}`);
    const store = new PairingStore(h.stateDir);
    expect(store.approveCode({ channel: "discord", code: code! })?.id).toBe(ALICE);
    store.close();
    d.message({ channelId: DM_CHANNEL, content: "now?", author: { id: ALICE } });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: now?"));
    expect(h.turns[0]).toMatchObject({ sessionKey: "agent:main:main", peer: { kind: "direct", id: ALICE } });
    const post = d.of("POST", new RegExp(`/channels/${DM_CHANNEL}/messages$`)).at(-1)!;
    expect(post.body.allowed_mentions).toEqual({ parse: ["users"], replied_user: false });
    expect(post.body.flags).toBe(4);
  });

  test("guild: unlisted guild blocked; unmentioned message dropped with 'drop guild message (mention required'; a mention gets 👀, typing and a reply", async () => {
    h = await discordHarness({ guilds: { [GUILD]: {} } });
    const d = h.discord!;
    d.message({ channelId: GENERAL, guildId: "399999999999999999", content: "elsewhere", mentionBot: true });
    await h.logs.waitFor("Blocked discord guild message in guild 399999999999999999");
    d.message({ channelId: GENERAL, guildId: GUILD, content: "just chatting" });
    const drop = await h.logs.waitFor("drop guild message (mention required");
    expect(drop.message).toContain(`channel ${GENERAL}`);
    const mid = d.message({ channelId: GENERAL, guildId: GUILD, content: "what now?", mentionBot: true });
    await d.waitFor(() => d.postedTo(GENERAL).length === 1);
    expect(d.postedTo(GENERAL)[0]).toBe("echo: @fake_discord_bot what now?");
    const turn = h.turns[0];
    expect(turn.sessionKey).toBe(`agent:main:discord:channel:${GENERAL}`);
    expect(turn.history.map((e) => e.text)).toEqual(["just chatting"]);
    expect(d.of("POST", new RegExp(`/channels/${GENERAL}/typing$`)).length).toBeGreaterThanOrEqual(1);
    await d.waitFor(() => d.of("PUT", /reactions/).length === 1);
    expect(d.of("PUT", /reactions/)[0].path).toBe(`/api/v10/channels/${GENERAL}/messages/${mid}/reactions/${encodeURIComponent("👀")}/@me`);
    // Reply to the bot counts as a mention.
    d.message({ channelId: GENERAL, guildId: GUILD, content: "and this?", replyToBot: true });
    await d.waitFor(() => d.postedTo(GENERAL).length === 2);
  });

  test("channel maps are allowlists; threads use their parent's entry and their own session; users/roles admit senders", async () => {
    h = await discordHarness({ guilds: { [GUILD]: { users: [ALICE], roles: ["500000000000000001"], channels: { general: { requireMention: false } } } } });
    const d = h.discord!;
    d.message({ channelId: RANDOM, guildId: GUILD, content: "in random", mentionBot: true, author: { id: ALICE } });
    await h.logs.waitFor(`Blocked discord guild message in guild ${GUILD} channel ${RANDOM}`);
    d.message({ channelId: THREAD, guildId: GUILD, content: "in the thread", author: { id: ALICE } });
    await d.waitFor(() => d.postedTo(THREAD).length === 1);
    expect(h.turns[0].sessionKey).toBe(`agent:main:discord:channel:${GENERAL}:thread:${THREAD}`);
    d.message({ channelId: GENERAL, guildId: GUILD, content: "bob speaks", author: { id: BOB } });
    await h.logs.waitFor(`Blocked discord guild sender ${BOB}`);
    d.message({ channelId: GENERAL, guildId: GUILD, content: "bob with role", author: { id: BOB }, roles: ["500000000000000001"] });
    await d.waitFor(() => d.postedTo(GENERAL).includes("echo: bob with role"));
  });

  test("bots are ignored (and our own messages); long replies are split under 2000 chars / 17 lines with code fences kept balanced", async () => {
    h = await discordHarness({ dmPolicy: "open", allowFrom: ["*"] });
    const d = h.discord!;
    d.message({ channelId: DM_CHANNEL, content: "beep", author: { id: "700000000000000001", bot: true } });
    d.message({ channelId: DM_CHANNEL, content: "me myself", author: { id: d.bot.id } });
    h.reply.fn = () => `Intro\n\n\`\`\`ts\n${Array.from({ length: 60 }, (_, i) => `const line${i} = ${i};`).join("\n")}\n\`\`\`\n\n${"Tail words. ".repeat(300)}`;
    d.message({ channelId: DM_CHANNEL, content: "long please" });
    // Every word arrives (a chunk may end between "Tail" and "words.").
    await until(() => d.postedTo(DM_CHANNEL).join(" ").split("Tail").length - 1 === 300 && d.postedTo(DM_CHANNEL).join("\n").includes("const line59"), 8000, "all chunks");
    const posts = d.postedTo(DM_CHANNEL);
    expect(h.turns.map((t) => t.text)).toEqual(["long please"]);
    for (const p of posts) {
      expect(p.length).toBeLessThanOrEqual(2000);
      expect(p.split("\n").length).toBeLessThanOrEqual(17);
      expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    }
    const codeChunks = posts.filter((p) => p.includes("```ts"));
    expect(codeChunks.length).toBeGreaterThanOrEqual(3);
  });

  test("REST rate limits: a 429 is waited out and retried; a 5xx on typing does not stop the reply", async () => {
    h = await discordHarness({ dmPolicy: "open", allowFrom: ["*"] });
    const d = h.discord!;
    d.fail("POST /api/v10/channels/:id/messages", { kind: "status", status: 429, retryAfter: 0.05 }, { kind: "status", status: 429, retryAfter: 0.05, global: true });
    d.fail("POST /api/v10/channels/:id/typing", { kind: "status", status: 502 });
    d.message({ channelId: DM_CHANNEL, content: "rate me" });
    await d.waitFor(() => d.of("POST", new RegExp(`/channels/${DM_CHANNEL}/messages$`)).length === 3);
    await until(() => h!.host.supervisor("discord")!.state.lastOutboundAt !== null, 5000, "delivered");
  });

  test("malformed and hostile dispatches do not break the account", async () => {
    h = await discordHarness({ dmPolicy: "open", allowFrom: ["*"] });
    const d = h.discord!;
    d.dispatch("MESSAGE_CREATE", { id: "1", channel_id: DM_CHANNEL });
    d.dispatch("MESSAGE_CREATE", { id: "310000000000000001", channel_id: DM_CHANNEL, author: { id: ALICE }, content: 42 });
    d.dispatch("MESSAGE_CREATE", null);
    d.dispatch("GUILD_CREATE", { id: GUILD, channels: "nope" });
    d.dispatch("TOTALLY_UNKNOWN", { x: 1 });
    d.message({ channelId: DM_CHANNEL, content: "x".repeat(100_000) });
    d.message({ channelId: DM_CHANNEL, content: "still fine" });
    await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: still fine"), 8000);
    expect(h.turns[0].text.length).toBeLessThanOrEqual(16_001);
    expect(h.host.supervisor("discord")!.state.connected).toBe(true);
  });
});
