/**
 * Access policy and routing as pure functions: DM policies, group allowlists, sender lists,
 * mention gating, hostile mention patterns, account config inheritance, session keys, bindings.
 */
import { describe, expect, test } from "bun:test";
import { mergedAccountConfig, listAccountIds, resolveAccess, transportKeyOf } from "../../src/channels/accounts.ts";
import { GroupHistory } from "../../src/channels/history.ts";
import { compileMentionPatterns, decideDirect, decideGroup, isMentioned, normalizeList, senderAllowed } from "../../src/channels/policy.ts";
import { resolveRoute } from "../../src/channels/routing.ts";
import { normalizeTelegramEntry } from "../../src/channels/telegram/plugin.ts";
import { normalizeDiscordEntry } from "../../src/channels/discord/plugin.ts";
import type { AccessConfig, GroupScope, InboundMessage } from "../../src/channels/types.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";

const labels = { channel: "telegram", groupNoun: "group", groupsKey: "channels.telegram.groups" };

function access(over: Partial<AccessConfig> = {}): AccessConfig {
  return { dmPolicy: "pairing", allowFrom: [], groupPolicy: "allowlist", groupAllowFrom: [], mentionPatterns: [], historyLimit: 50, ...over };
}

function msg(over: Partial<InboundMessage> & { senderId?: string; kind?: "direct" | "group" | "channel" } = {}): InboundMessage {
  const kind = over.kind ?? "direct";
  return {
    channel: "telegram",
    accountId: "default",
    eventId: "1",
    chat: { id: kind === "direct" ? (over.senderId ?? "10") : "-100", kind },
    sender: { id: over.senderId ?? "10", username: "alice" },
    text: "hello",
    messageId: "5",
    mentioned: false,
    timestamp: 0,
    ...over,
  } as InboundMessage;
}

const scope = (over: Partial<GroupScope> = {}): GroupScope => ({ allowlistConfigured: true, matched: true, ...over });

describe("DM policy", () => {
  test("pairing: unknown → pairing; config allowFrom or an approval → run", () => {
    expect(decideDirect(access(), [], msg(), labels)).toEqual({ action: "pairing" });
    expect(decideDirect(access({ allowFrom: ["10"] }), [], msg(), labels).action).toBe("run");
    expect(decideDirect(access(), ["10"], msg(), labels).action).toBe("run");
    // `*` is not a wildcard outside `open`
    expect(decideDirect(access({ allowFrom: ["*"] }), [], msg(), labels).action).toBe("pairing");
  });
  test("allowlist: drops with the blocked/allowlist signature; @username entries match", () => {
    const d = decideDirect(access({ dmPolicy: "allowlist", allowFrom: ["99"] }), [], msg(), labels);
    expect(d).toMatchObject({ action: "drop", reason: "dm-not-allowed" });
    expect((d as { log: string }).log).toBe("Blocked telegram DM from 10 (dmPolicy=allowlist, sender not in allowlist)");
    expect(decideDirect(access({ dmPolicy: "allowlist", allowFrom: ["@Alice"] }), [], msg(), labels).action).toBe("run");
  });
  test("open needs * (or a listed sender); disabled drops everything", () => {
    expect(decideDirect(access({ dmPolicy: "open", allowFrom: ["*"] }), [], msg(), labels).action).toBe("run");
    expect(decideDirect(access({ dmPolicy: "open", allowFrom: ["10"] }), [], msg(), labels).action).toBe("run");
    const d = decideDirect(access({ dmPolicy: "open", allowFrom: ["11"] }), ["10"], msg(), labels);
    expect((d as { log: string }).log).toBe("Blocked unauthorized telegram sender 10 (dmPolicy=open)");
    expect(decideDirect(access({ dmPolicy: "disabled", allowFrom: ["10"] }), [], msg(), labels)).toMatchObject({ action: "drop", reason: "dm-disabled" });
  });
});

describe("group policy", () => {
  const g = (over: Partial<InboundMessage> = {}) => msg({ kind: "group", mentioned: true, ...over });
  test("unlisted chat under allowlist (or any configured map) → not-allowed; listed with no sender list → run", () => {
    expect(decideGroup(access(), { allowlistConfigured: false, matched: false }, g(), labels)).toMatchObject({ reason: "group-chat-not-allowed" });
    expect(decideGroup(access({ groupPolicy: "open" }), { allowlistConfigured: false, matched: false }, g(), labels).action).toBe("run");
    expect(decideGroup(access({ groupPolicy: "open" }), { allowlistConfigured: true, matched: false }, g(), labels)).toMatchObject({ reason: "group-chat-not-allowed" });
    expect(decideGroup(access(), scope(), g(), labels).action).toBe("run");
  });
  test("sender allowlists: groupAllowFrom, per-group override (with roles), disabled groups and policies", () => {
    const blocked = decideGroup(access({ groupAllowFrom: ["99"] }), scope(), g(), labels);
    expect(blocked).toMatchObject({ action: "drop", reason: "group-policy-allowlist-unauthorized" });
    expect((blocked as { log: string }).log).toBe("Blocked telegram group message from 10 in -100 (groupPolicy: allowlist)");
    expect(decideGroup(access({ groupAllowFrom: ["10"] }), scope(), g(), labels).action).toBe("run");
    expect(decideGroup(access({ groupPolicy: "open" }), scope({ allowFrom: ["99"] }), g(), labels)).toMatchObject({ reason: "group-override-unauthorized" });
    expect(decideGroup(access(), scope({ allowFrom: ["99"], roles: ["r1"] }), g({ sender: { id: "10", roles: ["r1"] } }), labels).action).toBe("run");
    expect(decideGroup(access(), scope({ enabled: false }), g(), labels)).toMatchObject({ reason: "group-disabled" });
    expect(decideGroup(access(), scope({ groupPolicy: "disabled" }), g(), labels)).toMatchObject({ reason: "group-policy-disabled" });
    expect(decideGroup(access({ groupPolicy: "disabled" }), scope({ groupPolicy: "open" }), g(), labels).action).toBe("run");
  });
  test("mention gating: unmentioned → context with the mention-required signature; patterns and requireMention:false admit", () => {
    const d = decideGroup(access(), scope(), g({ mentioned: false }), { channel: "discord", groupNoun: "guild", groupsKey: "channels.discord.guilds" });
    expect(d.action).toBe("context");
    expect((d as { log: string }).log).toStartWith("drop guild message (mention required");
    expect(decideGroup(access({ mentionPatterns: compileMentionPatterns(["\\bclaw\\b"]) }), scope(), g({ mentioned: false, text: "hey Claw, hi" }), labels).action).toBe("run");
    expect(decideGroup(access(), scope({ requireMention: false }), g({ mentioned: false }), labels).action).toBe("run");
  });
});

describe("mention patterns", () => {
  test("invalid and catastrophic patterns are ignored; matching is bounded", () => {
    const res = compileMentionPatterns(["(a+)+$", "[", "ok", 42, "x".repeat(500)]);
    expect(res.map((r) => r.source)).toEqual(["ok"]);
    const hostile = "a".repeat(100_000);
    expect(isMentioned({ mentioned: false, text: hostile }, compileMentionPatterns(["a{2,}b"]))).toBe(false);
  });
  test("senderAllowed and list normalization", () => {
    expect(senderAllowed(["*"], { id: "1" })).toBe(true);
    expect(senderAllowed([], { id: "1" })).toBe(false);
    expect(normalizeList(["tg:123", 456, "telegram:789", "", null, "*", "@Name"], normalizeTelegramEntry)).toEqual(["123", "456", "789", "*", "@name"]);
    expect(normalizeList(["discord:1", "<@!2>", "user:3", "<@4>"], normalizeDiscordEntry)).toEqual(["1", "2", "3", "4"]);
  });
});

describe("accounts", () => {
  test("accounts overlay the root; named accounts and the default; policies inherit the root", () => {
    const root = { botToken: "t", dmPolicy: "allowlist", allowFrom: ["1"], groups: { a: {} }, accounts: { work: { botToken: "w", groups: {} } } };
    expect(listAccountIds(root, true)).toEqual(["default", "work"]);
    expect(listAccountIds({ accounts: { b: {}, a: {} } }, false)).toEqual(["a", "b"]);
    expect(listAccountIds({ botToken: "x" }, true)).toEqual(["default"]);
    const merged = mergedAccountConfig(root, "work");
    expect(merged.groups).toEqual({});
    expect(merged.dmPolicy).toBe("allowlist");
    const acc = resolveAccess({ channels: { defaults: { groupPolicy: "open" } } } as OpenClawConfig, merged, normalizeTelegramEntry, { historyDefault: 50 });
    expect(acc).toMatchObject({ dmPolicy: "allowlist", allowFrom: ["1"], groupPolicy: "open", groupAllowFrom: ["1"], historyLimit: 50 });
    expect(transportKeyOf({ b: 1, a: { y: 2, x: 1 } })).toBe(transportKeyOf({ a: { x: 1, y: 2 }, b: 1 }));
  });
  test("group history is bounded per chat and per entry, and cleared when taken", () => {
    const h = new GroupHistory(2);
    for (let i = 0; i < 10; i++) h.add("c1", { senderId: "1", sender: "a", text: `m${i}`, messageId: String(i), timestamp: i }, 3);
    h.add("c2", { senderId: "1", sender: "a", text: "x".repeat(10_000), messageId: "x", timestamp: 0 }, 3);
    h.add("c3", { senderId: "1", sender: "a", text: "y", messageId: "y", timestamp: 0 }, 3);
    expect(h.size).toBe(2);
    expect(h.peek("c1")).toEqual([]);
    expect(h.peek("c2")[0].text.length).toBeLessThan(2100);
    expect(h.take("c3").map((e) => e.text)).toEqual(["y"]);
    expect(h.take("c3")).toEqual([]);
    h.add("c4", { senderId: "1", sender: "a", text: "z", messageId: "z", timestamp: 0 }, 0);
    expect(h.peek("c4")).toEqual([]);
  });
});

describe("routing", () => {
  const cfg = (extra: Record<string, unknown> = {}) => ({ agents: { entries: { main: { default: true }, ops: {}, zu: {} } }, ...extra }) as OpenClawConfig;
  test("DM session keys follow session.dmScope", () => {
    const m = msg({ senderId: "ABC" });
    expect(resolveRoute(cfg(), m, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:main");
    expect(resolveRoute(cfg({ session: { dmScope: "per-peer" } }), m, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:direct:abc");
    expect(resolveRoute(cfg({ session: { dmScope: "per-channel-peer" } }), m, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:telegram:direct:abc");
    expect(resolveRoute(cfg({ session: { dmScope: "per-account-channel-peer" } }), m, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:telegram:default:direct:abc");
    expect(resolveRoute(cfg({ session: { mainKey: "Home" } }), m, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:home");
  });
  test("group, topic, guild channel and thread keys; groupScope main", () => {
    const g = msg({ kind: "group", chat: { id: "-100", kind: "group", threadId: "42" } });
    expect(resolveRoute(cfg(), g, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:telegram:group:-100:topic:42");
    const d = { ...msg({ kind: "channel" }), channel: "discord", chat: { id: "987", kind: "channel" as const, parentId: "123", guildId: "g" } };
    expect(resolveRoute(cfg(), d, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:discord:channel:123:thread:987");
    expect(resolveRoute(cfg({ session: { groupScope: "main" } }), g, { defaultAccountId: "default" }).sessionKey).toBe("agent:main:main");
  });
  test("bindings: peer beats account beats channel; accountless bindings match the default account only; unknown agents ignored", () => {
    const bindings = [
      { agentId: "zu", match: { channel: "telegram" } },
      { agentId: "ops", match: { channel: "telegram", accountId: "work" } },
      { agentId: "main", match: { channel: "telegram", peer: { kind: "group", id: "-100" } } },
      { agentId: "ghost", match: { channel: "telegram", accountId: "*" } },
    ];
    const c = cfg({ bindings });
    expect(resolveRoute(c, msg(), { defaultAccountId: "default" })).toMatchObject({ agentId: "zu", matchedBy: "channel" });
    expect(resolveRoute(c, { ...msg(), accountId: "work" }, { defaultAccountId: "default" })).toMatchObject({ agentId: "ops", matchedBy: "account" });
    expect(resolveRoute(c, msg({ kind: "group" }), { defaultAccountId: "default" })).toMatchObject({ agentId: "main", matchedBy: "peer" });
    // The peer binding names no account: on another account the account binding wins.
    expect(resolveRoute(c, { ...msg({ kind: "group" }), accountId: "work" }, { defaultAccountId: "default" })).toMatchObject({ agentId: "ops", matchedBy: "account" });
    expect(resolveRoute(c, { ...msg(), accountId: "other" }, { defaultAccountId: "default" })).toMatchObject({ agentId: "main", matchedBy: "default" });
  });
});
