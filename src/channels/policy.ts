/**
 * Access policy, the same for every channel: who may DM the bot (`dmPolicy` pairing | allowlist |
 * open | disabled, `allowFrom`, approved pairings), which groups and which senders in them
 * (`groupPolicy`, the group map as a chat allowlist, `groupAllowFrom`, per-group `allowFrom`),
 * and mention gating (`requireMention`, native mentions, `mentionPatterns`).
 *
 * Each decision carries the log line the troubleshooting docs grep for: `pairing request`,
 * `drop … message (mention required`, `Blocked …`, `… allowlist …`.
 *
 * Rules as the original applies them:
 *   DMs      disabled → drop; open → only with `*` (or a listed sender); allowlist/pairing → config
 *            `allowFrom` ∪ pairing approvals; pairing → unknown senders get a code.
 *   groups   group entry disabled → drop; a per-group sender list (override) must match; policy
 *            disabled → drop; a configured group map (or the allowlist policy) must list the chat;
 *            under allowlist the sender must be in `groupAllowFrom`/`allowFrom` unless the chat has
 *            its own entry and no sender list is configured. Pairing approvals never count here.
 *   mention  required unless the group/topic says otherwise; unmentioned admitted messages are
 *            kept as context for the next mentioned turn.
 */
import type { AccessConfig, GroupScope, InboundMessage } from "./types.ts";

export type Decision =
  | { action: "run"; mentioned: boolean }
  | { action: "context"; reason: "no-mention"; log: string }
  | { action: "pairing" }
  | { action: "drop"; reason: DropReason; log: string };

export type DropReason =
  | "dm-disabled"
  | "dm-not-allowed"
  | "group-disabled"
  | "group-override-unauthorized"
  | "group-policy-disabled"
  | "group-chat-not-allowed"
  | "group-policy-allowlist-empty"
  | "group-policy-allowlist-unauthorized"
  | "bot-sender";

export interface PolicyLabels {
  channel: string;
  /** "group" (Telegram) or "guild" (Discord). */
  groupNoun: string;
  /** The config key of the group map, for the "not in allowlist" hint. */
  groupsKey: string;
}

/** True when `entries` admits the sender (by id, or by `@username` entries, or `*`). */
export function senderAllowed(entries: readonly string[], sender: { id: string; username?: string }): boolean {
  if (entries.length === 0) return false;
  const id = sender.id;
  const user = sender.username?.toLowerCase();
  for (const e of entries) {
    if (e === "*" || e === id) return true;
    if (user && e.startsWith("@") && e.slice(1).toLowerCase() === user) return true;
  }
  return false;
}

/** Normalize a config list of ids (numbers or strings) with the channel's entry normalizer. */
export function normalizeList(raw: unknown, normalize: (entry: string) => string): string[] {
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const v of raw) {
    if (typeof v !== "string" && typeof v !== "number") continue;
    const s = String(v).trim();
    if (!s) continue;
    const n = s === "*" ? "*" : normalize(s);
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

const UNSAFE_NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,?\d*\})/;
const MAX_PATTERN_LENGTH = 200;

/**
 * Compile mention patterns: case-insensitive; invalid patterns and ones with nested repetition
 * (catastrophic backtracking on hostile text) are ignored.
 */
export function compileMentionPatterns(raw: unknown): RegExp[] {
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
  const out: RegExp[] = [];
  for (const p of list) {
    if (typeof p !== "string" || !p.trim() || p.length > MAX_PATTERN_LENGTH) continue;
    if (UNSAFE_NESTED_QUANTIFIER.test(p)) continue;
    try {
      out.push(new RegExp(p, "i"));
    } catch {
      // invalid pattern: ignored, as documented
    }
  }
  return out;
}

/** Native mention, or a configured pattern in the (bounded) text. */
export function isMentioned(msg: Pick<InboundMessage, "mentioned" | "text">, patterns: readonly RegExp[]): boolean {
  if (msg.mentioned) return true;
  if (patterns.length === 0) return false;
  const text = msg.text.length > 4000 ? msg.text.slice(0, 4000) : msg.text;
  return patterns.some((re) => re.test(text));
}

/** A direct message: run, send a pairing code, or drop. */
export function decideDirect(access: AccessConfig, approved: readonly string[], msg: InboundMessage, labels: PolicyLabels): Decision {
  const sender = msg.sender;
  const ch = labels.channel;
  if (access.dmPolicy === "disabled") {
    return { action: "drop", reason: "dm-disabled", log: `Blocked ${ch} DM from ${sender.id} (dmPolicy=disabled)` };
  }
  if (access.dmPolicy === "open") {
    if (senderAllowed(access.allowFrom, sender)) return { action: "run", mentioned: msg.mentioned };
    return { action: "drop", reason: "dm-not-allowed", log: `Blocked unauthorized ${ch} sender ${sender.id} (dmPolicy=open)` };
  }
  const effective = [...access.allowFrom.filter((e) => e !== "*"), ...approved];
  if (senderAllowed(effective, sender)) return { action: "run", mentioned: msg.mentioned };
  if (access.dmPolicy === "pairing") return { action: "pairing" };
  return { action: "drop", reason: "dm-not-allowed", log: `Blocked ${ch} DM from ${sender.id} (dmPolicy=allowlist, sender not in allowlist)` };
}

/** A group/guild message: run, keep as context, or drop. */
export function decideGroup(access: AccessConfig, scope: GroupScope, msg: InboundMessage, labels: PolicyLabels): Decision {
  const ch = labels.channel;
  const noun = labels.groupNoun;
  const sender = msg.sender;
  const where = scope.label ?? msg.chat.id;
  if (scope.enabled === false) {
    return { action: "drop", reason: "group-disabled", log: `Blocked ${ch} ${noun} ${where} (${noun} disabled)` };
  }
  const override = scope.allowFrom ?? [];
  const roles = scope.roles ?? [];
  if (override.length > 0 || roles.length > 0) {
    const byRole = roles.length > 0 && (sender.roles ?? []).some((r) => roles.includes(r));
    if (!byRole && !senderAllowed(override, sender)) {
      return { action: "drop", reason: "group-override-unauthorized", log: `Blocked ${ch} ${noun} sender ${sender.id} in ${where} (${noun} allowFrom override)` };
    }
  }
  const policy = scope.groupPolicy ?? access.groupPolicy;
  if (policy === "disabled") {
    return { action: "drop", reason: "group-policy-disabled", log: `Blocked ${ch} ${noun} message in ${where} (groupPolicy: disabled)` };
  }
  if ((scope.allowlistConfigured || policy === "allowlist") && !scope.matched) {
    return {
      action: "drop",
      reason: "group-chat-not-allowed",
      log: `Blocked ${ch} ${noun} message in ${where} (not-allowed: not in ${labels.groupsKey} allowlist)`,
    };
  }
  if (policy === "allowlist") {
    const allow = access.groupAllowFrom;
    const explicit = scope.matched;
    const configured = explicit || allow.length > 0;
    if (!configured) {
      return {
        action: "drop",
        reason: "group-policy-allowlist-empty",
        log: `Blocked ${ch} ${noun} message in ${where} (groupPolicy: allowlist, no group allowlist entries)`,
      };
    }
    const matched = (explicit && allow.length === 0) || senderAllowed(allow, sender);
    if (!matched) {
      return {
        action: "drop",
        reason: "group-policy-allowlist-unauthorized",
        log: `Blocked ${ch} ${noun} message from ${sender.id} in ${where} (groupPolicy: allowlist)`,
      };
    }
  }
  const mentioned = isMentioned(msg, access.mentionPatterns);
  const requireMention = scope.requireMention ?? true;
  if (requireMention && !mentioned && !msg.command) {
    return { action: "context", reason: "no-mention", log: `drop ${noun} message (mention required) ${ch} ${where} from ${sender.id}` };
  }
  return { action: "run", mentioned };
}
