/**
 * Which chat channel a job may name, checked when a job is added or its delivery edited, as
 * the original checks it:
 *
 *   - with channels configured (an enabled account with credentials), an announce channel must
 *     be one of them: `delivery.channel must be one of: telegram`;
 *   - with none configured but a `channels.<id>` block present: `… is not configured: discord`;
 *   - with no channel config at all, any channel the original knows is accepted (delivery then
 *     fails at run time with the platform's answer), an unknown name is refused:
 *     `… is not a known channel: nosuch`;
 *   - a provider prefix in the target must name the same channel (`telegram:123` is not a
 *     Discord target); an account switched off with `accounts.<id>.enabled: false` is refused.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { invalidParams } from "./errors.ts";
import type { Delivery, FailureAlert } from "./types.ts";

/** The chat channel ids the original 2026.9.6 knows (its bundled channel catalogue). */
export const KNOWN_CHANNEL_IDS: readonly string[] = [
  "a2a",
  "buzz",
  "clickclack",
  "discord",
  "feishu",
  "googlechat",
  "imessage",
  "irc",
  "line",
  "matrix",
  "mattermost",
  "msteams",
  "nextcloud-talk",
  "nostr",
  "qa-channel",
  "raft",
  "reef",
  "signal",
  "slack",
  "sms",
  "synology-chat",
  "telegram",
  "tlon",
  "twitch",
  "whatsapp",
  "zalo",
  "zalouser",
];

/** The catalogue's aliases. */
const ALIASES: Readonly<Record<string, string>> = {
  lark: "feishu",
  gchat: "googlechat",
  "google-chat": "googlechat",
  imsg: "imessage",
  "internet-relay-chat": "irc",
  teams: "msteams",
  nc: "nextcloud-talk",
  "nc-talk": "nextcloud-talk",
  "twitch-chat": "twitch",
  zl: "zalo",
  zlu: "zalouser",
};

/** Target prefixes that select a provider (the channels this gateway ships advertise them). */
const PROVIDER_PREFIXES: Readonly<Record<string, string>> = { telegram: "telegram", tg: "telegram", discord: "discord" };

/** Lower case, aliases resolved; undefined for blank. */
export function normalizeChannelId(raw: string | undefined): string | undefined {
  const id = raw?.trim().toLowerCase();
  if (!id) return undefined;
  return ALIASES[id] ?? id;
}

/** The channel a target's provider prefix selects (`telegram:123` → telegram). */
export function targetProviderChannel(to: string | undefined): string | undefined {
  const m = /^([a-z][a-z0-9-]*):/i.exec(to?.trim() ?? "");
  return m ? PROVIDER_PREFIXES[m[1].toLowerCase()] : undefined;
}

/** A `channels.<id>` block with content (besides `defaults` and `modelByChannel`). */
function hasChannelConfigEntry(cfg: OpenClawConfig): boolean {
  const channels = cfg.channels as Record<string, unknown> | undefined;
  if (!channels || typeof channels !== "object") return false;
  return Object.entries(channels).some(
    ([id, entry]) => id !== "defaults" && id !== "modelByChannel" && Boolean(entry) && typeof entry === "object" && !Array.isArray(entry) && Object.keys(entry as object).length > 0,
  );
}

export interface ChannelFacts {
  /** Channels with an enabled account that has credentials. */
  configured: string[];
  config: OpenClawConfig;
}

function checkChannel(method: string, field: string, channel: string | undefined, facts: ChannelFacts): void {
  if (channel === undefined || channel === "last") return;
  const id = normalizeChannelId(channel);
  if (!id) return;
  const configured = [...facts.configured].sort();
  if (configured.length === 0) {
    if (hasChannelConfigEntry(facts.config)) throw invalidParams(method, `${field} is not configured: ${id}`);
    if (!KNOWN_CHANNEL_IDS.includes(id)) throw invalidParams(method, `${field} is not a known channel: ${id}`);
    return;
  }
  if (!configured.includes(id)) throw invalidParams(method, `${field} must be one of: ${configured.join(", ")}`);
}

function checkPrefix(method: string, field: string, channel: string | undefined, to: string | undefined): void {
  const id = normalizeChannelId(channel);
  if (!id || id === "last") return;
  const named = targetProviderChannel(to);
  if (named && named !== id) throw invalidParams(method, `${field}: target "${to}" names channel ${named}, not ${id}`);
}

function checkAccount(method: string, channel: string | undefined, accountId: string | undefined, cfg: OpenClawConfig): void {
  const id = normalizeChannelId(channel);
  if (!accountId || !id || id === "last") return;
  const root = (cfg.channels as Record<string, any> | undefined)?.[id];
  const accounts = root && typeof root === "object" ? root.accounts : undefined;
  if (!accounts || typeof accounts !== "object") return;
  const key = Object.keys(accounts).find((k) => k.trim().toLowerCase() === accountId.trim().toLowerCase());
  if (key !== undefined && accounts[key]?.enabled === false) throw invalidParams(method, `delivery.accountId: account "${accountId}" is disabled for channel ${id}`);
}

/** The channel a route validates as: an explicit channel, else the target's provider prefix. */
function validationChannel(channel: string | undefined, to: string | undefined): string | undefined {
  return channel && channel !== "last" ? channel : (targetProviderChannel(to) ?? channel);
}

/** Check an announce delivery (and its failure destination) of a job being added or edited. */
export function checkDeliveryChannels(method: string, delivery: Delivery | undefined, facts: ChannelFacts): void {
  if (delivery && delivery.mode === "announce") {
    checkPrefix(method, "delivery.channel", delivery.channel, delivery.to);
    const channel = validationChannel(delivery.channel, delivery.to);
    checkChannel(method, "delivery.channel", channel, facts);
    checkAccount(method, channel, delivery.accountId, facts.config);
  }
  const fd = delivery?.failureDestination;
  if (fd && (fd.mode ?? "announce") === "announce" && (fd.channel !== undefined || fd.to !== undefined || fd.accountId !== undefined || fd.mode !== undefined)) {
    checkPrefix(method, "delivery.failureDestination.channel", fd.channel, fd.to);
    checkChannel(method, "delivery.failureDestination.channel", validationChannel(fd.channel, fd.to), facts);
  }
}

/** Check a job's own failure-alert route. */
export function checkFailureAlertChannel(method: string, alert: false | FailureAlert | undefined, facts: ChannelFacts): void {
  if (!alert || (alert.mode ?? "announce") !== "announce") return;
  checkPrefix(method, "failureAlert.channel", alert.channel, alert.to);
  checkChannel(method, "failureAlert.channel", validationChannel(alert.channel, alert.to), facts);
}
