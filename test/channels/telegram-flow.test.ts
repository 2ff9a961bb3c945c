/**
 * Telegram end to end at the library level: the channel host with the Telegram plugin against
 * the fake Bot API, a scripted agent turn, real SQLite (gateway DB and the pairing store).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import { ALLOWED_UPDATES } from "../../src/channels/telegram/common.ts";
import { sentTo, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ALICE = 555000111;
const BOB = 777000222;

describe("telegram start-up", () => {
  test("the call sequence of the original: getMe, deleteWebhook, commands, then getUpdates timeout 0 → 30 with the offset", async () => {
    h = await startHarness();
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const methods = tg.calls.map((c) => c.method);
    expect(methods.slice(0, 7)).toEqual(["getMe", "deleteWebhook", "deleteMyCommands", "deleteMyCommands", "setMyCommands", "setMyCommands", "getUpdates"]);
    expect(tg.of("deleteWebhook")[0].body).toEqual({ drop_pending_updates: false });
    expect(tg.of("deleteMyCommands").map((c) => c.body)).toEqual([{}, { scope: { type: "all_group_chats" } }]);
    const set = tg.of("setMyCommands");
    expect(set[0].body.scope).toBeUndefined();
    expect(set[1].body.scope).toEqual({ type: "all_group_chats" });
    expect(set[0].body.commands).toEqual(set[1].body.commands);
    expect(set[0].body.commands.map((c: any) => c.command)).toContain("whoami");
    const [first, second] = tg.of("getUpdates");
    expect(first.body).toEqual({ timeout: 0, limit: 100, allowed_updates: ALLOWED_UPDATES });
    expect(second.body.timeout).toBe(30);
    expect(second.body.limit).toBe(100);
    expect(second.body.offset).toBeUndefined();

    const id = tg.dm("hello", { id: ALICE });
    const confirm = await tg.waitFor(() => tg.of("getUpdates").some((c) => c.body.offset === id + 1));
    expect(confirm).toBe(true);
    // The offset that confirms the update was stored before it was sent.
    const row = h.db.query("SELECT event_id FROM channel_ingress WHERE event_id = ?").get(String(id));
    expect(row).not.toBeNull();
  });
});

describe("DM pairing", () => {
  test("an unknown DM gets the pairing reply and no turn; approval lets the sender in; the next DM gets the agent's reply", async () => {
    h = await startHarness();
    const tg = h.telegram;
    tg.dm("hello there", { id: ALICE, username: "alice", first_name: "Alice" });
    await tg.nth("sendMessage", 1);
    const [reply] = sentTo(tg, ALICE);
    const code = /<pre><code>([A-Z2-9]{8})\n<\/code><\/pre>/.exec(reply)?.[1];
    expect(code).toBeDefined();
    expect(reply).toBe(
      `OpenClaw: access not configured.\n\nYour Telegram user id: ${ALICE}\nPairing code:\n\n<pre><code>${code}\n</code></pre>\nAsk the bot owner to approve with:\n\n<pre><code>openclaw pairing approve telegram ${code}\n</code></pre>`,
    );
    expect(tg.of("sendMessage")[0].body.parse_mode).toBe("HTML");
    expect(h.turns).toHaveLength(0);
    await h.logs.waitFor(`telegram pairing request chatId=${ALICE} senderUserId=${ALICE} username=alice`);

    // A second message while pending: no second reply, still no turn.
    tg.dm("are you there?", { id: ALICE });
    await h.logs.waitFor("pairing request"); // already there
    await tg.waitFor(() => tg.of("getUpdates").some((c) => typeof c.body.offset === "number" && c.body.offset > 1001));

    // Approve through the state files (what `openclaw pairing approve` does).
    const store = new PairingStore(h.stateDir);
    const approved = store.approveCode({ channel: "telegram", code: code!.toLowerCase() });
    store.close();
    expect(approved?.id).toBe(String(ALICE));

    tg.dm("what is up", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: what is up"));
    expect(h.turns).toHaveLength(1);
    const turn = h.turns[0];
    expect(turn.sessionKey).toBe("agent:main:main");
    expect(turn.agentId).toBe("main");
    expect(turn.peer).toEqual({ kind: "direct", id: String(ALICE) });
    expect(turn.text).toBe("what is up");
    // Typing during the turn, no 👀 in DMs (default ack scope is group mentions).
    expect(tg.of("sendChatAction").some((c) => c.body.chat_id === ALICE && c.body.action === "typing")).toBe(true);
    expect(tg.of("setMessageReaction")).toHaveLength(0);
    expect(tg.of("editMessageText")).toHaveLength(0);
    const status = h.host.supervisor("telegram")!.state;
    expect(status.lastInboundAt).not.toBeNull();
    await until(() => status.lastOutboundAt !== null, 5000, "lastOutboundAt");
  });

  test("dmPolicy allowlist drops unknown senders with the blocked/allowlist signature; open with * admits anyone; disabled drops", async () => {
    h = await startHarness({ telegram: { dmPolicy: "allowlist", allowFrom: [`tg:${ALICE}`] } });
    const tg = h.telegram;
    tg.dm("let me in", { id: BOB });
    await h.logs.waitFor(`Blocked telegram DM from ${BOB} (dmPolicy=allowlist, sender not in allowlist)`);
    tg.dm("hi", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: hi"));
    expect(sentTo(tg, BOB)).toEqual([]);

    await h.apply({ channels: { telegram: { botToken: tg.token, apiRoot: tg.url, dmPolicy: "open", allowFrom: ["*"] } } });
    tg.dm("now?", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).includes("echo: now?"));

    await h.apply({ channels: { telegram: { botToken: tg.token, apiRoot: tg.url, dmPolicy: "disabled" } } });
    tg.dm("and now?", { id: BOB });
    await h.logs.waitFor(`Blocked telegram DM from ${BOB} (dmPolicy=disabled)`);
    expect(sentTo(tg, BOB)).toEqual(["echo: now?"]);
  });

  test("policy edits apply without reconnecting the transport", async () => {
    h = await startHarness({ telegram: { dmPolicy: "allowlist", allowFrom: [String(ALICE)] } });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const getMes = tg.of("getMe").length;
    await h.apply({ channels: { telegram: { botToken: tg.token, apiRoot: tg.url, dmPolicy: "allowlist", allowFrom: [String(ALICE), String(BOB)] } } });
    tg.dm("hello", { id: BOB });
    await tg.waitFor(() => sentTo(tg, BOB).includes("echo: hello"));
    expect(tg.of("getMe").length).toBe(getMes);
    expect(tg.of("deleteWebhook")).toHaveLength(1);
  });
});

describe("groups", () => {
  const GROUP = -100777;
  test("a group message without a mention is dropped with the logged signature and kept as context; a mention gets a reply", async () => {
    h = await startHarness({ telegram: { groups: { [String(GROUP)]: { groupPolicy: "open" } } } });
    const tg = h.telegram;
    tg.group(GROUP, "unmentioned chatter one");
    await h.logs.waitFor(/drop group message \(mention required\) telegram -100777/);
    expect(h.turns).toHaveLength(0);
    expect(tg.of("getChat").map((c) => c.body.chat_id)).toEqual([GROUP]);

    tg.group(GROUP, "please answer", { mention: true });
    await tg.waitFor(() => sentTo(tg, GROUP).length === 1);
    expect(sentTo(tg, GROUP)[0]).toBe("echo: @fake_bot please answer");
    const turn = h.turns[0];
    expect(turn.sessionKey).toBe(`agent:main:telegram:group:${GROUP}`);
    expect(turn.history.map((e) => e.text)).toEqual(["unmentioned chatter one"]);
    expect(turn.wasMentioned).toBe(true);
    // Typing, then the 👀 ack on the mention.
    const order = tg.calls.filter((c) => ["sendChatAction", "setMessageReaction", "sendMessage"].includes(c.method) && String(c.body.chat_id) === String(GROUP)).map((c) => c.method);
    expect(order[0]).toBe("sendChatAction");
    expect(order).toContain("setMessageReaction");
    expect(order.at(-1)).toBe("sendMessage");
    const reaction = tg.of("setMessageReaction")[0].body;
    expect(reaction.reaction).toEqual([{ type: "emoji", emoji: "👀" }]);
    // getChat is cached per chat.
    expect(tg.of("getChat")).toHaveLength(1);

    // The context window was cleared by the turn.
    tg.group(GROUP, "again", { mention: true });
    await tg.waitFor(() => sentTo(tg, GROUP).length === 2);
    expect(h.turns[1].history).toEqual([]);
  });

  test("groups default to an allowlist: an unlisted group is skipped; DM pairing does not admit a sender in groups", async () => {
    h = await startHarness({ telegram: { allowFrom: [String(ALICE)], groupAllowFrom: [String(ALICE)], groups: { "-100888": {} } } });
    const tg = h.telegram;
    // Bob is approved for DMs through pairing…
    const store = new PairingStore(h.stateDir);
    store.addAllowEntry("telegram", "default", String(BOB));
    store.close();
    tg.group(-100999, "hello unlisted", { mention: true });
    await h.logs.waitFor("Blocked telegram group message in -100999");
    expect((await h.logs.waitFor("-100999")).message).toContain("not in channels.telegram.groups allowlist");
    // …but in a listed group with a sender allowlist he is blocked.
    tg.group(-100888, "hello listed", { mention: true, from: { id: BOB } });
    await h.logs.waitFor(`Blocked telegram group message from ${BOB}`);
    expect((await h.logs.waitFor(`Blocked telegram group message from ${BOB}`)).message).toContain("(groupPolicy: allowlist)");
    tg.group(-100888, "owner here", { mention: true, from: { id: ALICE } });
    await tg.waitFor(() => sentTo(tg, -100888).length === 1);
    expect(h.turns.map((t) => t.sender.id)).toEqual([String(ALICE)]);
  });

  test("forum topics get their own session, replies and typing target the topic, topic agentId routes", async () => {
    h = await startHarness({
      config: { agents: { entries: { main: { default: true }, zu: {} } } },
      telegram: { groups: { "-100500": { groupPolicy: "open", topics: { "3": { agentId: "zu", requireMention: false } } } } },
    });
    const tg = h.telegram;
    tg.group(-100500, "in topic three", { threadId: 3, forum: true });
    await tg.waitFor(() => sentTo(tg, -100500).length === 1);
    expect(h.turns[0].sessionKey).toBe("agent:zu:telegram:group:-100500:topic:3");
    const send = tg.of("sendMessage").find((c) => String(c.body.chat_id) === "-100500")!;
    expect(send.body.message_thread_id).toBe(3);
    expect(tg.of("sendChatAction").find((c) => c.body.chat_id === -100500)!.body.message_thread_id).toBe(3);
  });
});
