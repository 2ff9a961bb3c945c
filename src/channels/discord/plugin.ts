/**
 * Discord: the channel plugin (accounts, gateway loop, decoding, guild matching).
 *
 * Accounts: `channels.discord.token` (or `DISCORD_BOT_TOKEN` for the default account, only
 * when the `channels.discord` block exists), `accounts.<id>.token`; the legacy `dm.policy` /
 * `dm.allowFrom` are read when `dmPolicy` / `allowFrom` are unset; `dm.enabled: false`
 * disables DMs; group DMs are ignored unless `dm.groupEnabled`.
 *
 * Guilds: `groupPolicy` (default allowlist) with `guilds.<id|slug|*>` as the allowlist; a
 * guild's `channels` map (ids or names, `*`) turns into a channel allowlist; a thread falls back
 * to its parent channel's entry; `users`/`roles` admit senders (either matches); mention
 * required unless `requireMention: false`.
 *
 * Sessions: DMs follow `session.dmScope`; guild channels are `…:discord:channel:<id>`, threads
 * `…:discord:channel:<parentId>:thread:<threadId>`.
 *
 * Base URLs: `DISCORD_API_URL` (the versioned REST root) moves REST and gateway discovery.
 */
import type { OpenClawConfig } from "../../config/schema.ts";
import { accountEntry, channelRoot, DEFAULT_ACCOUNT_ID, defaultAccountId, listAccountIds, mergedAccountConfig, resolveAccess, transportKeyOf } from "../accounts.ts";
import { normalizeList } from "../policy.ts";
import { FatalChannelError, type AccountContext, type ChannelPlugin, type Env, type GroupScope, type InboundMessage, type ResolvedAccount, type TokenSource } from "../types.ts";
import { describeError, type BackoffPolicy } from "../util.ts";
import { DiscordClient, type ChannelInfo, type DiscordUser } from "./client.ts";
import { DEFAULT_INTENTS, runGateway } from "./gateway.ts";
import { DEFAULT_DISCORD_API, DiscordApiError, DiscordRest } from "./rest.ts";
import { DISCORD_TARGET_HINT, DISCORD_TARGET_PREFIXES, discordOwnerTarget, discordTargetOf, parseDiscordTarget } from "./targets.ts";

const RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 };
const DEFAULT_GATEWAY = "wss://gateway.discord.gg";
const MAX_TEXT = 16_000;
/** Events accepted from the socket but not yet committed (Discord has no flow control). */
const MAX_UNCOMMITTED = 1000;
/** Channel types: DM, group DM, threads. */
const DM = 1;
const GROUP_DM = 3;
const THREAD_TYPES = new Set([10, 11, 12]);

export const DISCORD_META = {
  id: "discord",
  label: "Discord",
  detailLabel: "Discord Bot",
  systemImage: "bubble.left.and.bubble.right",
  docsPath: "/channels/discord",
  idLabel: "discordUserId",
  groupNoun: "guild",
  groupsKey: "channels.discord.guilds",
  historyLimitDefault: 20,
};

/** `discord:123`, `user:123`, `<@123>`, `<@!123>` → `123`. */
export function normalizeDiscordEntry(entry: string): string {
  let s = entry.trim().replace(/^(discord|user):/i, "").trim();
  const mention = /^<@!?(\d+)>$/.exec(s);
  if (mention) s = mention[1];
  return s;
}

function resolveSecretValue(value: unknown, env: Env): string | undefined {
  if (typeof value === "string") return value.trim() || undefined;
  if (value && typeof value === "object" && (value as { source?: unknown }).source === "env") {
    const id = (value as { id?: unknown }).id;
    return typeof id === "string" ? env[id]?.trim() || undefined : undefined;
  }
  return undefined;
}

export function apiBase(env: Env): string {
  return env.DISCORD_API_URL?.trim() || DEFAULT_DISCORD_API;
}

export function resolveDiscordAccount(cfg: OpenClawConfig, accountId: string, env: Env): ResolvedAccount {
  const root = channelRoot(cfg, "discord");
  const merged = mergedAccountConfig(root, accountId);
  const own = accountEntry(root, accountId);
  const isDefault = accountId === DEFAULT_ACCOUNT_ID;
  const holder = own ?? (isDefault ? root : undefined) ?? {};
  let token = resolveSecretValue(holder.token, env);
  let tokenSource: TokenSource = token ? "config" : "none";
  if (!token && isDefault && root && env.DISCORD_BOT_TOKEN?.trim()) {
    token = env.DISCORD_BOT_TOKEN.trim();
    tokenSource = "env";
  }
  const dm = merged.dm && typeof merged.dm === "object" ? merged.dm : {};
  const access = resolveAccess(cfg, merged, normalizeDiscordEntry, { dmPolicyFallback: dm.policy, allowFromFallback: dm.allowFrom, historyDefault: DISCORD_META.historyLimitDefault });
  if (dm.enabled === false) access.dmPolicy = "disabled";
  const intents = typeof merged.intents === "number" ? merged.intents : DEFAULT_INTENTS;
  return {
    channel: "discord",
    accountId,
    name: typeof merged.name === "string" ? merged.name : undefined,
    enabled: merged.enabled !== false && root?.enabled !== false,
    configured: Boolean(token),
    token,
    tokenSource,
    config: { ...merged, intents },
    access,
    transportKey: transportKeyOf({ token, base: apiBase(env), intents, textChunkLimit: merged.textChunkLimit, maxLines: merged.maxLinesPerMessage, suppressEmbeds: merged.suppressEmbeds }),
    mode: "gateway",
  };
}

export function createDiscordPlugin(opts: { retry?: BackoffPolicy; invalidSessionDelayMs?: [number, number] } = {}): ChannelPlugin {
  const retry = opts.retry ?? RETRY;
  const hasRootToken = (root: Record<string, any> | undefined, env: Env) => Boolean(root && (root.token !== undefined || env.DISCORD_BOT_TOKEN));
  return {
    meta: DISCORD_META,
    typingIntervalMs: 8_000,
    normalizeAllowEntry: normalizeDiscordEntry,
    pairingIdLine: (id) => `Your Discord user id: ${id}`,
    parseTarget: parseDiscordTarget,
    targetOf: discordTargetOf,
    ownerTarget: discordOwnerTarget,
    targetPrefixes: DISCORD_TARGET_PREFIXES,
    targetHint: DISCORD_TARGET_HINT,

    listAccountIds(cfg, env) {
      const root = channelRoot(cfg, "discord");
      return listAccountIds(root, hasRootToken(root, env));
    },

    defaultAccountId(cfg, env) {
      const root = channelRoot(cfg, "discord");
      return defaultAccountId(root, listAccountIds(root, hasRootToken(root, env)));
    },

    resolveAccount: resolveDiscordAccount,

    createClient(account, deps) {
      const limit = typeof account.config.textChunkLimit === "number" ? Math.min(account.config.textChunkLimit, 2000) : undefined;
      return new DiscordClient(new DiscordRest(account.token ?? "", apiBase(deps.env), deps.fetch), deps.log, {
        textLimit: limit,
        maxLines: typeof account.config.maxLinesPerMessage === "number" ? account.config.maxLinesPerMessage : undefined,
        suppressEmbeds: account.config.suppressEmbeds !== false,
      });
    },

    async run(ctx) {
      await runDiscord(ctx, retry, opts.invalidSessionDelayMs);
    },

    async decode(payload, { account, client }) {
      return decodeDispatch(payload, account, client as DiscordClient);
    },

    groupScope(account, msg) {
      return discordGroupScope(account, msg);
    },

    describe(account) {
      const guilds = account.config.guilds && typeof account.config.guilds === "object" ? Object.values(account.config.guilds as Record<string, any>) : [];
      return {
        tokenSource: account.tokenSource,
        tokenStatus: account.token ? "available" : "missing",
        mode: account.mode,
        allowUnmentionedGroups: guilds.some((g) => g && (g.requireMention === false || Object.values(g.channels ?? {}).some((c: any) => c?.requireMention === false))),
      };
    },

    logout(doc, accountId, env) {
      const root = doc.channels?.discord;
      let cleared = false;
      const strip = (obj: Record<string, any> | undefined) => {
        if (obj && "token" in obj) {
          delete obj.token;
          cleared = true;
        }
      };
      if (root && typeof root === "object") {
        const own = root.accounts?.[accountId];
        if (own && typeof own === "object") strip(own);
        else if (accountId === DEFAULT_ACCOUNT_ID) strip(root);
      }
      return { cleared, envToken: accountId === DEFAULT_ACCOUNT_ID && Boolean(env.DISCORD_BOT_TOKEN) };
    },
  };
}

async function runDiscord(ctx: AccountContext, retry: BackoffPolicy, invalidSessionDelayMs?: [number, number]): Promise<void> {
  const { account, log, signal } = ctx;
  const client = ctx.client as DiscordClient;
  const rest = client.rest;
  const overridden = Boolean(ctx.env.DISCORD_API_URL?.trim());
  const discover = async (): Promise<string> => {
    try {
      const info = await rest.request<{ url?: string }>("GET", "/gateway/bot", undefined, { signal, attempts: 2 });
      if (info && typeof info.url === "string" && info.url) return info.url;
      throw new Error("gateway/bot returned no url");
    } catch (err) {
      if (err instanceof DiscordApiError && err.status === 401) {
        throw new FatalChannelError(`Discord bot token unauthorized for account "${account.accountId}" (GET /gateway/bot returned 401). Update channels.discord.token or DISCORD_BOT_TOKEN.`, 401);
      }
      if (overridden || signal.aborted) throw err;
      log.warn(`[${account.accountId}] gateway metadata lookup failed (${describeError(err)}); using ${DEFAULT_GATEWAY}`);
      return DEFAULT_GATEWAY;
    }
  };
  let chain: Promise<void> = Promise.resolve();
  let uncommitted = 0;
  const ingest = (id: string, lane: string, payload: unknown) => {
    if (uncommitted >= MAX_UNCOMMITTED) {
      log.warn(`[${account.accountId}] inbound backlog full; dropping Discord message ${id}`);
      return;
    }
    uncommitted += 1;
    chain = chain
      .then(() => ctx.ingest([{ id, lane, payload }]))
      .catch((err) => {
        if (!signal.aborted) log.warn(`[${account.accountId}] could not store Discord message ${id}: ${describeError(err)}`);
      })
      .finally(() => {
        uncommitted -= 1;
      });
  };
  await runGateway({
    token: account.token ?? "",
    intents: Number(account.config.intents ?? DEFAULT_INTENTS),
    url: discover,
    signal,
    log,
    retry,
    invalidSessionDelayMs,
    accountLabel: account.accountId,
    status: (patch) => ctx.status(patch),
    onReady: (d) => {
      if (d?.user && typeof d.user.id === "string") {
        client.rememberMe(d.user as DiscordUser);
        log.info(`[${account.accountId}] connected as ${d.user.username ?? d.user.id}`);
      }
    },
    onDispatch: (t, d) => {
      if (!d || typeof d !== "object") return;
      switch (t) {
        case "MESSAGE_CREATE":
          if (typeof d.id === "string" && typeof d.channel_id === "string") ingest(d.id, d.channel_id, { t, d });
          return;
        case "GUILD_CREATE":
          for (const c of [...(Array.isArray(d.channels) ? d.channels : []), ...(Array.isArray(d.threads) ? d.threads : [])].slice(0, 5000)) {
            if (c && typeof c.id === "string") client.rememberChannel({ ...c, guild_id: c.guild_id ?? d.id } as ChannelInfo);
          }
          return;
        case "CHANNEL_CREATE":
        case "CHANNEL_UPDATE":
        case "THREAD_CREATE":
        case "THREAD_UPDATE":
          if (typeof d.id === "string") client.rememberChannel(d as ChannelInfo);
          return;
        default:
          return;
      }
    },
  });
  await chain;
}

/** A stored MESSAGE_CREATE → a message for the host (null: not one we answer). */
export async function decodeDispatch(payload: unknown, account: ResolvedAccount, client: DiscordClient): Promise<InboundMessage | null> {
  if (!payload || typeof payload !== "object") return null;
  const { t, d } = payload as { t?: unknown; d?: any };
  if (t !== "MESSAGE_CREATE" || !d || typeof d !== "object") return null;
  const author = d.author;
  if (!author || typeof author.id !== "string" || typeof d.channel_id !== "string" || typeof d.id !== "string") return null;
  if (d.type !== undefined && d.type !== 0 && d.type !== 19) return null; // joins, pins, … are not messages
  const me = await client.me();
  if (author.id === me.id) return null;
  const content = typeof d.content === "string" ? d.content : "";
  if (!content.trim()) return null;
  const guildId = typeof d.guild_id === "string" ? d.guild_id : undefined;
  let kind: InboundMessage["chat"]["kind"] = "channel";
  let parentId: string | undefined;
  let parentTitle: string | undefined;
  let title: string | undefined;
  if (!guildId) {
    const info = await client.channel(d.channel_id);
    if (info?.type === GROUP_DM) {
      if (account.config.dm?.groupEnabled !== true) return null;
      const allowed = normalizeList(account.config.dm?.groupChannels, (s) => s);
      if (allowed.length && !allowed.includes(d.channel_id)) return null;
      kind = "group";
    } else {
      kind = "direct";
    }
  } else {
    const info = await client.channel(d.channel_id);
    if (info) {
      title = info.name;
      if (THREAD_TYPES.has(info.type) && typeof info.parent_id === "string") {
        parentId = info.parent_id;
        parentTitle = (await client.channel(parentId))?.name;
      }
    }
  }
  const mentionIds = Array.isArray(d.mentions) ? d.mentions.map((m: any) => String(m?.id ?? "")) : [];
  const mentioned =
    mentionIds.includes(me.id) ||
    content.includes(`<@${me.id}>`) ||
    content.includes(`<@!${me.id}>`) ||
    (d.referenced_message && d.referenced_message.author && String(d.referenced_message.author.id) === me.id);
  let text = content.replaceAll(`<@!${me.id}>`, `@${me.username ?? "bot"}`).replaceAll(`<@${me.id}>`, `@${me.username ?? "bot"}`);
  if (text.length > MAX_TEXT) text = `${text.slice(0, MAX_TEXT)}…`;
  return {
    channel: "discord",
    accountId: account.accountId,
    eventId: d.id,
    chat: { id: d.channel_id, kind, title, parentId, parentTitle, guildId },
    sender: {
      id: author.id,
      username: typeof author.username === "string" ? author.username : undefined,
      name: (typeof d.member?.nick === "string" && d.member.nick) || (typeof author.global_name === "string" && author.global_name) || author.username,
      isBot: author.bot === true || typeof d.webhook_id === "string",
      roles: Array.isArray(d.member?.roles) ? d.member.roles.map(String).slice(0, 250) : undefined,
    },
    text,
    messageId: d.id,
    mentioned: Boolean(mentioned),
    timestamp: Date.parse(d.timestamp) || Date.now(),
  };
}

function slug(s: string): string {
  return s.trim().toLowerCase().replace(/^#/, "").replace(/\s+/g, "-");
}

/** How a guild channel (or thread) matches `guilds` (id, slug or `*`) and its `channels` map. */
export function discordGroupScope(account: ResolvedAccount, msg: InboundMessage): GroupScope {
  const guilds = account.config.guilds;
  const guildId = msg.chat.guildId ?? "";
  const label = `guild ${guildId} channel ${msg.chat.parentId ? `${msg.chat.parentId} thread ${msg.chat.id}` : msg.chat.id}`;
  if (msg.chat.kind === "group") return { allowlistConfigured: false, matched: true, groupPolicy: "open", label: `group DM ${msg.chat.id}` };
  if (!guilds || typeof guilds !== "object" || Array.isArray(guilds)) return { allowlistConfigured: false, matched: false, label };
  const map = guilds as Record<string, any>;
  const entry =
    map[guildId] ??
    Object.entries(map).find(([k, v]) => k !== "*" && v && typeof v === "object" && typeof v.slug === "string" && slug(v.slug) === slug(guildId))?.[1] ??
    map["*"];
  if (!entry || typeof entry !== "object") return { allowlistConfigured: true, matched: false, label };
  const channels = entry.channels && typeof entry.channels === "object" && Object.keys(entry.channels).length > 0 ? (entry.channels as Record<string, any>) : undefined;
  let ch: Record<string, any> | undefined;
  if (channels) {
    // Own entry first (id, then name), then the parent's for a thread.
    const names = [msg.chat.id, msg.chat.title ? slug(msg.chat.title) : undefined, msg.chat.parentId, msg.chat.parentTitle ? slug(msg.chat.parentTitle) : undefined].filter(
      (v): v is string => Boolean(v),
    );
    ch = names.map((n) => channels[n]).find((v) => v && typeof v === "object") ?? channels["*"];
    if (!ch) return { allowlistConfigured: true, matched: false, label };
  }
  const users = ch?.users ?? entry.users;
  const roles = ch?.roles ?? entry.roles;
  return {
    allowlistConfigured: true,
    matched: true,
    enabled: ch?.enabled ?? entry.enabled,
    requireMention: ch?.requireMention ?? entry.requireMention,
    allowFrom: users === undefined ? undefined : normalizeList(users, normalizeDiscordEntry),
    roles: roles === undefined ? undefined : normalizeList(roles, (s) => s),
    systemPrompt: ch?.systemPrompt ?? entry.systemPrompt,
    errorPolicy: ch?.errorPolicy ?? entry.errorPolicy,
    label,
  };
}
