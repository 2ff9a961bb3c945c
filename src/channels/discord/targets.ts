/**
 * Discord delivery targets, with the explicit kind prefixes the original's docs ask for:
 *
 *   channel:<id>    a guild text channel, a thread, or a DM channel
 *   user:<id>       a user: the DM channel is opened (POST /users/@me/channels) before sending
 *   <@id>, <@!id>   a user mention, read as user:<id>
 *   <id>            a bare snowflake is read as a channel id
 *
 * A `discord:` prefix is accepted. A separate thread id (`delivery.threadId`) names the thread
 * channel to post in.
 */
import type { ParsedTarget } from "../types.ts";

const SNOWFLAKE = /^\d{1,25}$/;

export const DISCORD_TARGET_PREFIXES = ["discord:"] as const;
export const DISCORD_TARGET_HINT = "channel:<id> or user:<id>";

export function parseDiscordTarget(to: string, threadId?: string | number): ParsedTarget {
  const raw = String(to ?? "")
    .trim()
    .replace(/^discord:/i, "")
    .trim();
  if (!raw) return { ok: false, error: `Delivering to Discord requires target ${DISCORD_TARGET_HINT}` };
  const thread = threadId === undefined || threadId === null || String(threadId).trim() === "" ? undefined : String(threadId).trim();
  if (thread !== undefined && !SNOWFLAKE.test(thread)) return { ok: false, error: `Discord thread id must be a snowflake: "${thread}"` };
  const mention = /^<@!?(\d+)>$/.exec(raw);
  const user = mention?.[1] ?? /^user:(\S+)$/i.exec(raw)?.[1];
  if (user !== undefined) {
    if (!SNOWFLAKE.test(user)) return { ok: false, error: `Unknown target "${to}" for Discord. Hint: ${DISCORD_TARGET_HINT}` };
    return { ok: true, target: { chatId: "", kind: "direct", userId: user }, to: `user:${user}` };
  }
  const channel = /^(?:channel|thread):(\S+)$/i.exec(raw)?.[1] ?? raw;
  if (!SNOWFLAKE.test(channel)) return { ok: false, error: `Unknown target "${to}" for Discord. Hint: ${DISCORD_TARGET_HINT}` };
  const chatId = thread ?? channel;
  return { ok: true, target: { chatId, kind: "channel" }, to: `channel:${chatId}` };
}

export function discordTargetOf(route: { chatId: string }): string {
  return `channel:${route.chatId}`;
}

/** Allowlist entries are user ids: each is a DM target. */
export function discordOwnerTarget(entry: string): string | undefined {
  const id = entry
    .trim()
    .replace(/^(discord|user):/i, "")
    .replace(/^<@!?(\d+)>$/, "$1");
  return SNOWFLAKE.test(id) ? `user:${id}` : undefined;
}
