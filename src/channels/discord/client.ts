/**
 * The REST side of one Discord account: replies (Markdown as Discord renders it, split into
 * messages of at most 2000 characters and 17 lines, code fences closed and reopened across a
 * split), typing, the 👀 reaction, approval DMs, the bot identity and channel info (cached),
 * and the probe (`GET /users/@me` plus the application's gateway intent flags).
 */
import type { Logger } from "../../log/logger.ts";
import type { AccountClient, ProbeResult, ReplyTarget } from "../types.ts";
import { chunkText, describeError, LruMap } from "../util.ts";
import { DiscordApiError, DiscordRest } from "./rest.ts";

export const DISCORD_TEXT_LIMIT = 2000;
export const DISCORD_MAX_LINES = 17;
/** MESSAGE flag SUPPRESS_EMBEDS: agent links stay plain links unless configured otherwise. */
const SUPPRESS_EMBEDS = 1 << 2;

export interface DiscordUser {
  id: string;
  username?: string;
  global_name?: string | null;
  bot?: boolean;
}

export interface ChannelInfo {
  id: string;
  type: number;
  guild_id?: string;
  parent_id?: string | null;
  name?: string;
}

/**
 * Split a reply for Discord: ≤ `limit` characters and ≤ `maxLines` lines per message; a code
 * fence open at a cut is closed there and reopened (with its language) in the next message.
 */
export function chunkDiscord(text: string, limit = DISCORD_TEXT_LIMIT, maxLines = DISCORD_MAX_LINES): string[] {
  const reserve = 24; // room for a closing fence and a reopened one with a short language tag
  const raw = chunkText(text, Math.max(64, limit - reserve), maxLines > 2 ? maxLines - 2 : maxLines);
  const out: string[] = [];
  let carry: string | undefined; // the fence line to reopen
  for (let piece of raw) {
    if (carry !== undefined) piece = `${carry}\n${piece}`;
    let open: string | undefined = undefined;
    for (const line of piece.split("\n")) {
      const m = /^\s*(```+)(\S*)/.exec(line);
      if (!m) continue;
      open = open === undefined ? `\`\`\`${m[2]}` : undefined;
    }
    if (open !== undefined) {
      out.push(`${piece}\n\`\`\``);
      carry = open;
    } else {
      out.push(piece);
      carry = undefined;
    }
  }
  return out.filter((p) => p.trim().length > 0);
}

export class DiscordClient implements AccountClient {
  private meCache?: DiscordUser;
  private channelCache = new LruMap<string, ChannelInfo | null>(2000);
  private dmChannels = new LruMap<string, string>(1000);

  constructor(
    readonly rest: DiscordRest,
    private readonly log: Logger,
    private readonly opts: { textLimit?: number; maxLines?: number; suppressEmbeds?: boolean } = {},
  ) {}

  rememberMe(user: DiscordUser): void {
    this.meCache = user;
  }

  async me(): Promise<DiscordUser> {
    if (this.meCache) return this.meCache;
    const user = await this.rest.request<DiscordUser>("GET", "/users/@me");
    if (!user || typeof user.id !== "string") throw new Error("users/@me returned no user");
    this.meCache = user;
    return user;
  }

  rememberChannel(info: ChannelInfo): void {
    if (info && typeof info.id === "string") this.channelCache.set(info.id, info);
  }

  /** Channel info (type, guild, parent), cached; null when Discord will not say. */
  async channel(id: string): Promise<ChannelInfo | null> {
    if (this.channelCache.has(id)) return this.channelCache.get(id) ?? null;
    let info: ChannelInfo | null = null;
    try {
      info = await this.rest.request<ChannelInfo>("GET", `/channels/${id}`, undefined, { attempts: 2 });
    } catch (err) {
      this.log.debug(`GET /channels/${id} failed: ${describeError(err)}`);
    }
    this.channelCache.set(id, info);
    return info;
  }

  async sendText(target: ReplyTarget, text: string, sent?: string[]): Promise<string[]> {
    const ids: string[] = [];
    const flags = this.opts.suppressEmbeds === false ? 0 : SUPPRESS_EMBEDS;
    for (const content of chunkDiscord(text, this.opts.textLimit ?? DISCORD_TEXT_LIMIT, this.opts.maxLines ?? DISCORD_MAX_LINES)) {
      const answer = await this.rest.request<{ id?: string }>("POST", `/channels/${target.chatId}/messages`, {
        content,
        allowed_mentions: { parse: ["users"], replied_user: false },
        ...(flags ? { flags } : {}),
      });
      if (answer && typeof answer.id === "string") {
        ids.push(answer.id);
        sent?.push(answer.id);
      }
    }
    return ids;
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    await this.rest.request("POST", `/channels/${target.chatId}/typing`, undefined, { attempts: 1 });
  }

  async react(target: ReplyTarget, emoji: string): Promise<void> {
    if (!target.messageId) return;
    await this.rest.request("PUT", `/channels/${target.chatId}/messages/${target.messageId}/reactions/${encodeURIComponent(emoji)}/@me`, undefined, { attempts: 1 });
  }

  async notify(userId: string, text: string): Promise<void> {
    await this.sendText({ chatId: await this.openDirect(userId), kind: "direct" }, text);
  }

  /** The DM channel with a user (opened once, then cached). */
  async openDirect(userId: string): Promise<string> {
    const known = this.dmChannels.get(userId);
    if (known) return known;
    const dm = await this.rest.request<{ id?: string }>("POST", "/users/@me/channels", { recipient_id: userId });
    if (!dm?.id) throw new Error("Discord did not open a DM channel");
    this.dmChannels.set(userId, dm.id);
    return dm.id;
  }

  async probe(timeoutMs: number): Promise<ProbeResult> {
    const started = Date.now();
    try {
      const user = await this.rest.request<DiscordUser>("GET", "/users/@me", undefined, { attempts: 1, timeoutMs });
      this.meCache = user;
      let application: Record<string, unknown> | null = null;
      try {
        const app = await this.rest.request<{ id?: string; name?: string; flags?: number }>("GET", "/applications/@me", undefined, { attempts: 1, timeoutMs });
        application = { id: app?.id ?? null, name: app?.name ?? null, intents: intentFlags(Number(app?.flags ?? 0)) };
      } catch (err) {
        this.log.debug(`applications/@me failed: ${describeError(err)}`);
      }
      return {
        ok: true,
        status: null,
        error: null,
        bot: { id: user.id, username: user.username ?? null, globalName: user.global_name ?? null },
        application,
        elapsedMs: Date.now() - started,
      };
    } catch (err) {
      if (err instanceof DiscordApiError) return { ok: false, status: err.status, error: err.description, elapsedMs: Date.now() - started };
      return { ok: false, status: null, error: describeError(err), elapsedMs: Date.now() - started };
    }
  }
}

/** The application's privileged gateway intents (Discord application flags). */
function intentFlags(flags: number): Record<string, string> {
  const state = (full: number, limited: number) => (flags & full ? "enabled" : flags & limited ? "limited" : "disabled");
  return {
    presence: state(1 << 12, 1 << 13),
    guildMembers: state(1 << 14, 1 << 15),
    messageContent: state(1 << 18, 1 << 19),
  };
}
