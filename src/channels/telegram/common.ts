/**
 * Telegram facts shared by polling and webhook mode: the update types we ask for, the lane an
 * update belongs to, and the bad-token error.
 */
import { FatalChannelError, type ResolvedAccount } from "../types.ts";

/** What getUpdates asks for (Bot API defaults + reactions + channel posts), as the original sends it. */
export const ALLOWED_UPDATES = [
  "message",
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "business_connection",
  "business_message",
  "edited_business_message",
  "deleted_business_messages",
  "guest_message",
  "inline_query",
  "chosen_inline_result",
  "callback_query",
  "shipping_query",
  "pre_checkout_query",
  "purchased_paid_media",
  "poll",
  "poll_answer",
  "my_chat_member",
  "managed_bot",
  "chat_join_request",
  "chat_boost",
  "removed_chat_boost",
  "subscription",
  "message_reaction",
];

/** The lane of an update: its chat and topic (updates of one lane are handled in order). */
export function laneOf(update: Record<string, any>): string {
  const msg = update.message ?? update.edited_message ?? update.channel_post ?? update.callback_query?.message ?? update.message_reaction;
  const chat = msg?.chat?.id;
  if (chat === undefined) return `update:${Object.keys(update).find((k) => k !== "update_id") ?? "unknown"}`;
  return `${chat}:${msg?.message_thread_id ?? ""}`;
}

export function unauthorized(account: ResolvedAccount, method: string): FatalChannelError {
  const source = account.tokenSource === "env" ? "TELEGRAM_BOT_TOKEN" : account.tokenSource === "tokenFile" ? "token file" : "config token";
  return new FatalChannelError(
    `Telegram bot token unauthorized for account "${account.accountId}" (${method} returned 401 from Telegram; source: ${source}). Update channels.telegram.botToken, channels.telegram.tokenFile, or TELEGRAM_BOT_TOKEN with the current BotFather token.`,
    401,
  );
}

