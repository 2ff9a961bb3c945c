/**
 * Telegram delivery targets, as the original's docs write them:
 *
 *   123456789                a user's private chat (positive id)
 *   -1001234567890           a group or supergroup (negative id)
 *   -1001234567890:topic:42  a forum topic (preferred form); `-1001234567890:42` is the shorthand
 *   @channelname, t.me/name  a public channel or group by username
 *
 * `telegram:` / `tg:` prefixes (repeated, and a legacy `group:` after them) are accepted. A thread
 * id given on its own (`delivery.threadId`) wins over one in the target.
 */
import type { ChatKind, ParsedTarget } from "../types.ts";

const NUMERIC = /^-?\d+$/;
const USERNAME = /^[A-Za-z0-9_]{5,}$/;

export const TELEGRAM_TARGET_PREFIXES = ["telegram:", "tg:"] as const;
export const TELEGRAM_TARGET_HINT = "<chatId>";

function stripPrefixes(raw: string): string {
  let s = raw.trim();
  let prefixed = false;
  for (;;) {
    if (/^(telegram|tg):/i.test(s)) {
      s = s.replace(/^(telegram|tg):/i, "").trim();
      prefixed = true;
    } else if (prefixed && /^group:/i.test(s)) {
      s = s.replace(/^group:/i, "").trim();
    } else {
      return s;
    }
  }
}

/** A chat id (numeric, or `@username`), or undefined when `raw` is neither. */
function chatOf(raw: string): string | undefined {
  if (NUMERIC.test(raw)) return raw;
  const link = /^(?:https?:\/\/)?t\.me\/([A-Za-z0-9_]+)$/i.exec(raw);
  if (link) return `@${link[1]}`;
  const handle = raw.startsWith("@") ? raw.slice(1) : undefined;
  if (handle !== undefined) return USERNAME.test(handle) ? `@${handle}` : undefined;
  return undefined;
}

function kindOf(chatId: string): ChatKind {
  if (!NUMERIC.test(chatId)) return "channel";
  return chatId.startsWith("-") ? "group" : "direct";
}

export function parseTelegramTarget(to: string, threadId?: string | number): ParsedTarget {
  const raw = stripPrefixes(String(to ?? ""));
  if (!raw) return { ok: false, error: `Delivering to Telegram requires target ${TELEGRAM_TARGET_HINT}` };
  let chatPart = raw;
  let topic: string | undefined;
  const m = /^(.+?):(?:(topic|direct-topic):)?(\d+)$/.exec(raw);
  if (m && chatOf(m[1]) !== undefined) {
    if (m[2] === "direct-topic") return { ok: false, error: `Telegram direct-messages topics are not supported as delivery targets: "${to}"` };
    chatPart = m[1];
    topic = m[3];
  }
  const chatId = chatOf(chatPart);
  if (!chatId) return { ok: false, error: `Unknown target "${to}" for Telegram. Hint: ${TELEGRAM_TARGET_HINT}` };
  const explicitThread = threadId === undefined || threadId === null || String(threadId).trim() === "" ? undefined : String(threadId).trim();
  if (explicitThread !== undefined && !/^\d+$/.test(explicitThread)) return { ok: false, error: `Telegram topic id must be a number: "${explicitThread}"` };
  const thread = explicitThread ?? topic;
  const target = { chatId, kind: kindOf(chatId), ...(thread !== undefined ? { threadId: thread } : {}) };
  return { ok: true, target, to: telegramTargetOf(target) };
}

export function telegramTargetOf(route: { chatId: string; threadId?: string }): string {
  return route.threadId !== undefined ? `${route.chatId}:topic:${route.threadId}` : route.chatId;
}

/** A private chat for an allowlist entry: only a positive numeric user id is one. */
export function telegramOwnerTarget(entry: string): string | undefined {
  const s = stripPrefixes(entry);
  return /^\d+$/.test(s) ? s : undefined;
}
