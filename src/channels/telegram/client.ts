/**
 * The REST side of one Telegram account: replies (Markdown → HTML, chunked, plain-text
 * fallback when Telegram refuses the markup), typing, the 👀 reaction, approval notices, the
 * bot identity (`getMe`, cached) and chat info (`getChat`, cached per chat), and the probe.
 */
import type { Logger } from "../../log/logger.ts";
import type { AccountClient, ProbeResult, ReplyTarget } from "../types.ts";
import { describeError, LruMap } from "../util.ts";
import { TelegramApi, TelegramApiError } from "./api.ts";
import { htmlToPlainText, markdownToTelegramChunks, TELEGRAM_TEXT_LIMIT } from "./format.ts";

export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
  [key: string]: unknown;
}

const CHAT_TTL_MS = 10 * 60 * 1000;

/** General topic: sends must omit `message_thread_id` (Telegram rejects 1), typing keeps it. */
const GENERAL_TOPIC = "1";

export class TelegramClient implements AccountClient {
  private meCache?: TelegramUser;
  private chats = new LruMap<string, { at: number; chat: Record<string, unknown> | null }>(500);

  constructor(
    readonly api: TelegramApi,
    private readonly log: Logger,
    private readonly textLimit = TELEGRAM_TEXT_LIMIT,
  ) {}

  get cachedMe(): TelegramUser | undefined {
    return this.meCache;
  }

  rememberMe(me: TelegramUser): void {
    this.meCache = me;
  }

  async me(signal?: AbortSignal): Promise<TelegramUser> {
    if (this.meCache) return this.meCache;
    const me = await this.api.call<TelegramUser>("getMe", {}, { signal });
    if (!me || typeof me !== "object" || typeof me.id !== "number") throw new Error("getMe returned no bot user");
    this.meCache = me;
    return me;
  }

  /** Chat info for a group message (cached); null when Telegram will not say. */
  async chat(chatId: string): Promise<Record<string, unknown> | null> {
    const hit = this.chats.get(chatId);
    if (hit && Date.now() - hit.at < CHAT_TTL_MS) return hit.chat;
    let chat: Record<string, unknown> | null = null;
    try {
      const res = await this.api.call<Record<string, unknown>>("getChat", { chat_id: toChatId(chatId) }, { attempts: 1 });
      chat = res && typeof res === "object" ? res : null;
    } catch (err) {
      this.log.debug(`getChat ${chatId} failed: ${describeError(err)}`);
    }
    this.chats.set(chatId, { at: Date.now(), chat });
    return chat;
  }

  async sendText(target: ReplyTarget, text: string, sent?: string[]): Promise<string[]> {
    const ids: string[] = [];
    const thread = target.threadId && target.threadId !== GENERAL_TOPIC ? { message_thread_id: Number(target.threadId) } : {};
    for (const html of markdownToTelegramChunks(text, this.textLimit)) {
      let answer: { message_id?: number };
      try {
        answer = await this.api.call("sendMessage", { chat_id: String(target.chatId), text: html, parse_mode: "HTML", ...thread });
      } catch (err) {
        if (!(err instanceof TelegramApiError) || err.errorCode !== 400 || !/parse entities|can't parse|unsupported start tag/i.test(err.description)) throw err;
        this.log.warn(`sendMessage: Telegram refused the HTML (${err.description}); sending plain text`);
        answer = await this.api.call("sendMessage", { chat_id: String(target.chatId), text: htmlToPlainText(html), ...thread });
      }
      if (answer && typeof answer.message_id === "number") {
        ids.push(String(answer.message_id));
        sent?.push(String(answer.message_id));
      }
    }
    return ids;
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    const thread = target.threadId ? { message_thread_id: Number(target.threadId) } : {};
    await this.api.call("sendChatAction", { chat_id: toChatId(target.chatId), action: "typing", ...thread }, { attempts: 1 });
  }

  async react(target: ReplyTarget, emoji: string): Promise<void> {
    if (!target.messageId) return;
    await this.api.call(
      "setMessageReaction",
      { chat_id: toChatId(target.chatId), message_id: Number(target.messageId), reaction: [{ type: "emoji", emoji }] },
      { attempts: 1 },
    );
  }

  async notify(userId: string, text: string): Promise<void> {
    await this.sendText({ chatId: userId, kind: "direct" }, text);
  }

  async probe(timeoutMs: number): Promise<ProbeResult> {
    const started = Date.now();
    try {
      const raw = await this.api.request<TelegramUser>("getMe", {}, { timeoutMs });
      this.meCache = raw;
      return { ok: true, status: null, error: null, botInfo: botInfo(raw), bot: botCamel(raw), elapsedMs: Date.now() - started };
    } catch (err) {
      if (err instanceof TelegramApiError) return { ok: false, status: err.errorCode, error: err.description, elapsedMs: Date.now() - started };
      return { ok: false, status: null, error: describeError(err), elapsedMs: Date.now() - started };
    }
  }
}

/** Numeric ids go out as numbers, `@channel` names as strings (what the Bot API accepts). */
export function toChatId(chatId: string): number | string {
  return /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
}

/** getMe as the original's probe reports it: the raw user with the optional flags defaulted. */
function botInfo(raw: TelegramUser): Record<string, unknown> {
  return {
    id: raw.id,
    is_bot: raw.is_bot ?? true,
    first_name: raw.first_name,
    ...(raw.last_name !== undefined ? { last_name: raw.last_name } : {}),
    username: raw.username,
    can_join_groups: raw.can_join_groups ?? false,
    can_read_all_group_messages: raw.can_read_all_group_messages ?? false,
    can_manage_bots: raw.can_manage_bots ?? false,
    supports_inline_queries: raw.supports_inline_queries ?? false,
    supports_join_request_queries: raw.supports_join_request_queries ?? false,
    can_connect_to_business: raw.can_connect_to_business ?? false,
    has_main_web_app: raw.has_main_web_app ?? false,
    has_topics_enabled: raw.has_topics_enabled ?? false,
    allows_users_to_create_topics: raw.allows_users_to_create_topics ?? false,
  };
}

function botCamel(raw: TelegramUser): Record<string, unknown> {
  const v = (key: string) => (raw[key] === undefined ? null : raw[key]);
  return {
    id: raw.id,
    isBot: raw.is_bot ?? true,
    firstName: v("first_name"),
    username: v("username"),
    canJoinGroups: v("can_join_groups"),
    canReadAllGroupMessages: v("can_read_all_group_messages"),
    canManageBots: v("can_manage_bots"),
    supportsInlineQueries: v("supports_inline_queries"),
    canConnectToBusiness: v("can_connect_to_business"),
    hasMainWebApp: v("has_main_web_app"),
    hasTopicsEnabled: v("has_topics_enabled"),
    allowsUsersToCreateTopics: v("allows_users_to_create_topics"),
  };
}
