/**
 * Telegram: the channel plugin (accounts, inbound loop, decoding, group matching).
 *
 * Start-up, as the original does it: `getMe` (401 stops the account: a bad token), then in
 * polling mode `deleteWebhook {drop_pending_updates:false}`, the command menu (`deleteMyCommands`
 * and `setMyCommands`, default and `all_group_chats` scopes), then `getUpdates`: first
 * `{timeout:0, limit:100, allowed_updates}`, then `{timeout:30, limit:100, offset}`. The offset
 * that confirms updates to Telegram is only sent after the updates are committed to the
 * durable queue. Webhook mode (`webhookUrl` + `webhookSecret`) listens on its own port instead
 * (see webhook.ts) and registers with `setWebhook`.
 *
 * Sessions: DMs follow `session.dmScope`; groups are `…:telegram:group:<chatId>`, forum topics
 * `…:group:<chatId>:topic:<threadId>`; topic config is `groups.<chatId>.topics.<threadId>`
 * (`"*"` for every topic), inheriting the group's settings; `agentId` is topic-only.
 */
import { lstatSync, readFileSync } from "node:fs";
import type { OpenClawConfig } from "../../config/schema.ts";
import {
  accountEntry,
  channelRoot,
  DEFAULT_ACCOUNT_ID,
  defaultAccountId,
  listAccountIds,
  mergedAccountConfig,
  resolveAccess,
  transportKeyOf,
} from "../accounts.ts";
import { normalizeList } from "../policy.ts";
import { FatalChannelError, type AccountContext, type ChannelPlugin, type Env, type GroupScope, type InboundMessage, type ResolvedAccount, type TokenSource } from "../types.ts";
import { backoffMs, describeError, isAbortError, sleep, type BackoffPolicy } from "../util.ts";
import { GET_UPDATES_TIMEOUT_MS, normalizeApiRoot, TelegramApi, TelegramApiError, TelegramNetworkError } from "./api.ts";
import { TelegramClient, type TelegramUser } from "./client.ts";
import { ALLOWED_UPDATES, laneOf, unauthorized } from "./common.ts";
import { parseTelegramTarget, TELEGRAM_TARGET_HINT, TELEGRAM_TARGET_PREFIXES, telegramOwnerTarget, telegramTargetOf } from "./targets.ts";
import { serveWebhook } from "./webhook.ts";

/** The command menu: what the host answers itself. Custom commands are appended. */
export const NATIVE_COMMANDS = [
  { command: "help", description: "Show available commands." },
  { command: "whoami", description: "Show your sender id." },
];

export const POLL_LIMIT = 100;
export const LONG_POLL_SECONDS = 30;
const RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0 };
const EMPTY_POLL: BackoffPolicy = { initialMs: 50, maxMs: 1_000, factor: 2, jitter: 0 };
const MAX_TEXT = 16_000;

export const TELEGRAM_META = {
  id: "telegram",
  label: "Telegram",
  detailLabel: "Telegram Bot",
  systemImage: "paperplane",
  docsPath: "/channels/telegram",
  idLabel: "telegramUserId",
  groupNoun: "group",
  groupsKey: "channels.telegram.groups",
  historyLimitDefault: 50,
};

/** `telegram:123` / `tg:123` → `123`; `@name` kept for username entries; others as given. */
export function normalizeTelegramEntry(entry: string): string {
  const s = entry.trim().replace(/^(telegram|tg):/i, "").trim();
  if (!s) return "";
  if (/^-?\d+$/.test(s)) return s;
  if (s.startsWith("@")) return s.toLowerCase();
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

function readTokenFile(path: string): { token?: string; error?: string } {
  try {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return { error: `tokenFile ${path} is a symlink (refused)` };
    if (!info.isFile()) return { error: `tokenFile ${path} is not a regular file` };
    return { token: readFileSync(path, "utf8").trim() || undefined };
  } catch (err) {
    return { error: `tokenFile ${path}: ${describeError(err)}` };
  }
}

function normalizeCommandName(value: unknown): string {
  return String(value ?? "").trim().replace(/^\//, "").toLowerCase();
}

export function commandMenu(config: Record<string, any>): Array<{ command: string; description: string }> {
  const out = [...NATIVE_COMMANDS];
  const custom = Array.isArray(config.customCommands) ? config.customCommands : [];
  for (const c of custom) {
    const command = normalizeCommandName(c?.command);
    const description = String(c?.description ?? "").trim().slice(0, 256);
    if (!/^[a-z0-9_]{1,32}$/.test(command) || !description || out.some((o) => o.command === command)) continue;
    out.push({ command, description });
  }
  return out.slice(0, 100);
}

export interface TelegramPluginOptions {
  /** Backoff between failed polls (default 1 s doubling to 30 s; 429 uses Telegram's retry_after). */
  retry?: BackoffPolicy;
  /** Deadline of one getUpdates request (default 45 s). */
  getUpdatesTimeoutMs?: number;
  /** Long-poll `timeout` after the first poll (default 30 s). */
  longPollSeconds?: number;
}

export function createTelegramPlugin(opts: TelegramPluginOptions = {}): ChannelPlugin {
  const retryPolicy = opts.retry ?? RETRY;
  const pollOpts = { timeoutMs: opts.getUpdatesTimeoutMs ?? GET_UPDATES_TIMEOUT_MS, longPollSeconds: opts.longPollSeconds ?? LONG_POLL_SECONDS };

  const rootHasToken = (root: Record<string, any> | undefined, env: Env) =>
    Boolean(root && (root.botToken !== undefined || root.tokenFile !== undefined || env.TELEGRAM_BOT_TOKEN));

  const plugin: ChannelPlugin = {
    meta: TELEGRAM_META,
    typingIntervalMs: 4_000,
    normalizeAllowEntry: normalizeTelegramEntry,
    pairingIdLine: (id) => `Your Telegram user id: ${id}`,
    parseTarget: parseTelegramTarget,
    targetOf: telegramTargetOf,
    ownerTarget: telegramOwnerTarget,
    targetPrefixes: TELEGRAM_TARGET_PREFIXES,
    targetHint: TELEGRAM_TARGET_HINT,

    listAccountIds(cfg, env) {
      const root = channelRoot(cfg, "telegram");
      return listAccountIds(root, rootHasToken(root, env));
    },

    defaultAccountId(cfg, env) {
      const root = channelRoot(cfg, "telegram");
      return defaultAccountId(root, listAccountIds(root, rootHasToken(root, env)));
    },

    resolveAccount(cfg, accountId, env) {
      return resolveTelegramAccount(cfg, accountId, env);
    },

    createClient(account, deps) {
      const limit = typeof account.config.textChunkLimit === "number" ? Math.min(account.config.textChunkLimit, 4000) : undefined;
      return new TelegramClient(new TelegramApi(account.token ?? "", account.config.apiRoot, deps.fetch), deps.log, limit);
    },

    async run(ctx) {
      const client = ctx.client as TelegramClient;
      const account = ctx.account;
      const log = ctx.log;
      const me = await bootstrap(client, ctx);
      log.info(`[${account.accountId}] starting provider (@${me.username ?? me.id})`);
      if (account.mode === "webhook") {
        await serveWebhook(ctx, client);
        return;
      }
      await poll(client, ctx, retryPolicy, pollOpts);
    },

    async decode(payload, { account, client }) {
      return decodeUpdate(payload, account, client as TelegramClient);
    },

    groupScope(account, msg) {
      return telegramGroupScope(account, msg);
    },

    describe(account) {
      const groups = account.config.groups && typeof account.config.groups === "object" ? Object.values(account.config.groups as Record<string, any>) : [];
      return {
        tokenSource: account.tokenSource,
        tokenStatus: account.token ? "available" : "missing",
        mode: account.mode,
        ...(account.mode === "webhook"
          ? { webhookUrl: account.config.webhookUrl ?? null, webhookPath: account.config.webhookPath ?? "/telegram-webhook" }
          : {}),
        allowUnmentionedGroups: groups.some((g) => g && g.requireMention === false),
      };
    },

    logout(doc, accountId, env) {
      const root = doc.channels?.telegram;
      let cleared = false;
      const strip = (obj: Record<string, any> | undefined) => {
        if (!obj) return;
        for (const key of ["botToken", "tokenFile"]) {
          if (key in obj) {
            delete obj[key];
            cleared = true;
          }
        }
      };
      if (root && typeof root === "object") {
        const own = root.accounts?.[accountId];
        if (own && typeof own === "object") strip(own);
        else if (accountId === DEFAULT_ACCOUNT_ID) strip(root);
      }
      return { cleared, envToken: accountId === DEFAULT_ACCOUNT_ID && Boolean(env.TELEGRAM_BOT_TOKEN) };
    },
  };
  return plugin;
}

export function resolveTelegramAccount(cfg: OpenClawConfig, accountId: string, env: Env): ResolvedAccount {
  const root = channelRoot(cfg, "telegram");
  const merged = mergedAccountConfig(root, accountId);
  const own = accountEntry(root, accountId);
  const isDefault = accountId === DEFAULT_ACCOUNT_ID;
  // Named accounts never borrow the root's token.
  const tokenHolder = own ?? (isDefault ? root : undefined) ?? {};
  let token: string | undefined;
  let tokenSource: TokenSource = "none";
  let blockedReason: string | undefined;
  const fromConfig = resolveSecretValue(tokenHolder.botToken, env);
  if (fromConfig) {
    token = fromConfig;
    tokenSource = "config";
  } else if (typeof tokenHolder.tokenFile === "string" && tokenHolder.tokenFile.trim()) {
    const file = readTokenFile(tokenHolder.tokenFile.trim());
    token = file.token;
    tokenSource = "tokenFile";
    blockedReason = file.error;
  } else if (isDefault && env.TELEGRAM_BOT_TOKEN?.trim()) {
    token = env.TELEGRAM_BOT_TOKEN.trim();
    tokenSource = "env";
  }
  const webhookUrl = typeof merged.webhookUrl === "string" && merged.webhookUrl.trim() ? merged.webhookUrl.trim() : undefined;
  const webhookSecret = resolveSecretValue(merged.webhookSecret, env);
  if (webhookUrl && !webhookSecret) blockedReason ??= "channels.telegram.webhookUrl requires channels.telegram.webhookSecret";
  const mode = webhookUrl ? "webhook" : "polling";
  return {
    channel: "telegram",
    accountId,
    name: typeof merged.name === "string" ? merged.name : undefined,
    enabled: merged.enabled !== false && root?.enabled !== false,
    configured: Boolean(token),
    token,
    tokenSource,
    config: { ...merged, webhookSecret },
    access: resolveAccess(cfg, merged, normalizeTelegramEntry, { historyDefault: TELEGRAM_META.historyLimitDefault }),
    transportKey: transportKeyOf({
      token,
      apiRoot: normalizeApiRoot(merged.apiRoot),
      webhookUrl,
      webhookSecret,
      webhookPath: merged.webhookPath,
      webhookHost: merged.webhookHost,
      webhookPort: merged.webhookPort,
      commands: commandMenu(merged),
      textChunkLimit: merged.textChunkLimit,
    }),
    mode,
    blockedReason,
  };
}

/** getMe, webhook cleanup (polling) and the command menu. */
async function bootstrap(client: TelegramClient, ctx: AccountContext): Promise<TelegramUser> {
  const { account, log, signal } = ctx;
  let me: TelegramUser;
  try {
    const raw = await client.api.call<TelegramUser>("getMe", {}, { signal, attempts: 1 });
    if (!raw || typeof raw !== "object" || typeof raw.id !== "number") throw new TelegramNetworkError("getMe", "malformed bot user");
    me = raw;
    client.rememberMe(me);
  } catch (err) {
    if (err instanceof TelegramApiError && err.errorCode === 401) throw unauthorized(account, "getMe");
    if (err instanceof TelegramApiError && err.errorCode === 404) throw new FatalChannelError(`Telegram getMe returned 404: check channels.telegram.apiRoot (the Bot API root only, without /bot<TOKEN>)`, 404);
    throw err;
  }
  const control = async (method: string, body: Record<string, unknown>) => {
    try {
      await client.api.call(method, body, { signal, attempts: 2 });
    } catch (err) {
      if (err instanceof TelegramApiError && err.errorCode === 401) throw unauthorized(account, method);
      if (isAbortError(err) && signal.aborted) throw err;
      log.warn(`[${account.accountId}] ${method} failed: ${describeError(err)}`);
    }
  };
  if (account.mode === "polling") await control("deleteWebhook", { drop_pending_updates: false });
  const commands = commandMenu(account.config);
  await control("deleteMyCommands", {});
  await control("deleteMyCommands", { scope: { type: "all_group_chats" } });
  await control("setMyCommands", { commands });
  await control("setMyCommands", { commands, scope: { type: "all_group_chats" } });
  return me;
}

async function poll(client: TelegramClient, ctx: AccountContext, retryPolicy: BackoffPolicy, pollOpts: { timeoutMs: number; longPollSeconds: number }): Promise<void> {
  const { account, log, signal } = ctx;
  const stored = Number(ctx.cursor());
  let offset: number | undefined = Number.isSafeInteger(stored) ? stored + 1 : undefined;
  let confirmed = false;
  let failures = 0;
  let empty = 0;
  while (!signal.aborted) {
    const started = Date.now();
    let updates: unknown;
    try {
      updates = await client.api.request(
        "getUpdates",
        { timeout: confirmed ? pollOpts.longPollSeconds : 0, limit: POLL_LIMIT, allowed_updates: ALLOWED_UPDATES, ...(offset === undefined ? {} : { offset }) },
        { signal, timeoutMs: pollOpts.timeoutMs },
      );
      if (!Array.isArray(updates)) throw new TelegramNetworkError("getUpdates", "result is not an array");
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof TelegramApiError && err.errorCode === 401) throw unauthorized(account, "getUpdates");
      failures += 1;
      ctx.status({ connected: false, lastError: describeError(err) });
      const retryAfterMs = err instanceof TelegramApiError && err.errorCode === 429 && err.retryAfterS !== undefined ? err.retryAfterS * 1000 : undefined;
      const delay = retryAfterMs ?? backoffMs(retryPolicy, failures);
      log.warn(`[${account.accountId}] getUpdates failed (${describeError(err)}); retrying in ${delay} ms`);
      try {
        await sleep(delay, signal);
      } catch {
        return;
      }
      continue;
    }
    const valid = (updates as unknown[]).filter((u): u is Record<string, any> => Boolean(u) && typeof u === "object" && Number.isSafeInteger((u as any).update_id));
    if (valid.length < (updates as unknown[]).length) log.warn(`[${account.accountId}] getUpdates: ignored ${(updates as unknown[]).length - valid.length} malformed update(s)`);
    if (valid.length > 0) {
      const last = Math.max(...valid.map((u) => u.update_id as number));
      try {
        await ctx.ingest(
          valid.map((u) => ({ id: String(u.update_id), lane: laneOf(u), payload: u })),
          String(last),
        );
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      offset = last + 1;
    }
    if (!confirmed || failures > 0) ctx.status({ connected: true });
    else ctx.status({ lastTransportActivityAt: Date.now() });
    confirmed = true;
    failures = 0;
    if (valid.length > 0 || (updates as unknown[]).length > 0) {
      empty = 0;
      continue;
    }
    empty += 1;
    if (empty > 1) {
      const min = backoffMs(EMPTY_POLL, empty - 1);
      const elapsed = Date.now() - started;
      if (elapsed < min) {
        try {
          await sleep(min - elapsed, signal);
        } catch {
          return;
        }
      }
    }
  }
}

/** Parse `/cmd@bot args`: the command when it is addressed to this bot (or unaddressed in a DM). */
function parseCommand(text: string, botUsername: string | undefined, direct: boolean): { command?: string; addressed: boolean } {
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s|$)/.exec(text);
  if (!m) return { addressed: false };
  const target = m[2]?.toLowerCase();
  if (target) return target === botUsername?.toLowerCase() ? { command: m[1].toLowerCase(), addressed: true } : { addressed: false };
  return direct ? { command: m[1].toLowerCase(), addressed: false } : { addressed: false };
}

/** A stored update → a message for the host (null: not a message we answer). */
export async function decodeUpdate(payload: unknown, account: ResolvedAccount, client: TelegramClient): Promise<InboundMessage | null> {
  if (!payload || typeof payload !== "object") return null;
  const update = payload as Record<string, any>;
  const m = update.message;
  if (!m || typeof m !== "object" || !m.chat || typeof m.chat !== "object") return null;
  const from = m.from;
  if (!from || typeof from !== "object" || (typeof from.id !== "number" && typeof from.id !== "string")) return null;
  const chatType = m.chat.type;
  if (chatType !== "private" && chatType !== "group" && chatType !== "supergroup") return null;
  const rawText = typeof m.text === "string" ? m.text : typeof m.caption === "string" ? m.caption : "";
  if (!rawText.trim()) return null;
  const me = await client.me();
  if (String(from.id) === String(me.id)) return null;
  const direct = chatType === "private";
  const text = rawText.length > MAX_TEXT ? `${rawText.slice(0, MAX_TEXT)}…` : rawText;
  const botName = me.username?.toLowerCase();
  let mentioned = false;
  const entities = Array.isArray(m.entities) ? m.entities : Array.isArray(m.caption_entities) ? m.caption_entities : [];
  for (const e of entities.slice(0, 100)) {
    if (!e || typeof e !== "object") continue;
    if (e.type === "mention" && botName && typeof e.offset === "number" && typeof e.length === "number") {
      if (rawText.slice(e.offset, e.offset + e.length).toLowerCase() === `@${botName}`) mentioned = true;
    } else if (e.type === "text_mention" && e.user && String(e.user.id) === String(me.id)) {
      mentioned = true;
    }
  }
  if (!mentioned && botName && !entities.length && rawText.toLowerCase().includes(`@${botName}`)) mentioned = true;
  const replyTo = m.reply_to_message;
  if (replyTo && replyTo.from && String(replyTo.from.id) === String(me.id) && !m.is_topic_message) mentioned = true;
  const cmd = parseCommand(rawText, me.username, direct);
  if (cmd.addressed) mentioned = true;
  let title = typeof m.chat.title === "string" ? m.chat.title : undefined;
  let forum = m.chat.is_forum === true;
  if (!direct) {
    const info = await client.chat(String(m.chat.id));
    if (info) {
      if (typeof info.title === "string") title = info.title;
      if (info.is_forum === true) forum = true;
    }
  }
  let threadId: string | undefined;
  if (m.message_thread_id !== undefined && m.message_thread_id !== null) {
    if (!direct && (forum || m.is_topic_message)) threadId = String(m.message_thread_id);
    if (direct && me.has_topics_enabled === true) threadId = String(m.message_thread_id);
  }
  if (!direct && forum && threadId === undefined) threadId = "1"; // the General topic
  return {
    channel: "telegram",
    accountId: account.accountId,
    eventId: String(update.update_id),
    chat: { id: String(m.chat.id), kind: direct ? "direct" : "group", title, threadId },
    sender: {
      id: String(from.id),
      username: typeof from.username === "string" ? from.username : undefined,
      firstName: typeof from.first_name === "string" ? from.first_name : undefined,
      lastName: typeof from.last_name === "string" ? from.last_name : undefined,
      name: [from.first_name, from.last_name].filter((s) => typeof s === "string" && s).join(" ") || undefined,
      isBot: from.is_bot === true,
    },
    text,
    messageId: String(m.message_id),
    mentioned,
    timestamp: typeof m.date === "number" ? m.date * 1000 : Date.now(),
    command: cmd.command,
  };
}

/** How a group/topic matches `groups` (explicit id or `*`; topics inherit the group). */
export function telegramGroupScope(account: ResolvedAccount, msg: InboundMessage): GroupScope {
  const groups = account.config.groups;
  const label = msg.chat.title ? `${msg.chat.id} (${msg.chat.title})` : msg.chat.id;
  if (!groups || typeof groups !== "object" || Array.isArray(groups)) return { allowlistConfigured: false, matched: false, label };
  const entry = (groups as Record<string, any>)[msg.chat.id] ?? (groups as Record<string, any>)["*"];
  if (!entry || typeof entry !== "object") return { allowlistConfigured: true, matched: false, label };
  const topics = entry.topics && typeof entry.topics === "object" ? entry.topics : undefined;
  const topic = msg.chat.threadId && topics ? (topics[msg.chat.threadId] ?? topics["*"]) : undefined;
  const t = topic && typeof topic === "object" ? topic : {};
  const allow = t.allowFrom ?? entry.allowFrom;
  return {
    allowlistConfigured: true,
    matched: true,
    enabled: t.enabled ?? entry.enabled,
    groupPolicy: t.groupPolicy ?? entry.groupPolicy,
    requireMention: t.requireMention ?? entry.requireMention,
    allowFrom: allow === undefined ? undefined : normalizeList(allow, normalizeTelegramEntry),
    agentId: typeof t.agentId === "string" ? t.agentId : undefined,
    systemPrompt: t.systemPrompt ?? entry.systemPrompt,
    errorPolicy: t.errorPolicy ?? entry.errorPolicy,
    label: msg.chat.threadId ? `${label} topic ${msg.chat.threadId}` : label,
  };
}
