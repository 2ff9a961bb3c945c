/**
 * What the channels part lends automation (its `channels` seam): the channel host's delivery
 * (delivery.ts, loaded with the host) once a channel is configured, and until then the
 * original's answers for a gateway without channels:
 *
 *   - `last` has no route: "Channel is required (no configured channels detected) …";
 *   - an explicit channel and recipient resolve (the preview says `explicit`), and the send
 *     fails with the missing-token error of that channel;
 *   - heartbeats have no route; no channel is configured.
 *
 * This module is loaded at gateway start, so it carries no channel code of its own.
 */
import { normalizeChannelId, targetProviderChannel } from "../automation/channels.ts";
import type { DeliveryResult, RoutePreviewRequest } from "../automation/delivery.ts";
import { NO_CHANNEL_ERROR } from "../automation/errors.ts";
import type { AutomationChannels } from "../automation/subsystem.ts";

const LABELS: Readonly<Record<string, { label: string; hint: string; credential: string }>> = {
  telegram: { label: "Telegram", hint: "<chatId>", credential: "bot token missing for account \"%s\" (set channels.telegram.botToken, channels.telegram.tokenFile or TELEGRAM_BOT_TOKEN)" },
  discord: { label: "Discord", hint: "channel:<id> or user:<id>", credential: "bot token missing for account \"%s\" (set channels.discord.token or DISCORD_BOT_TOKEN)" },
};

/** The error of a send through an account that has no credentials (or a channel this gateway lacks). */
export function missingCredentials(channel: string, accountId: string): string {
  const known = LABELS[channel];
  return known ? `${known.label} ${known.credential.replace("%s", accountId)}.` : `Channel is unavailable: ${channel}`;
}

type Offline = { ok: true; channel: string; to: string; source: "explicit" | "last" } | { ok: false; error: string };

function resolveOffline(req: RoutePreviewRequest): Offline {
  const requested = normalizeChannelId(req.channel) ?? "last";
  const raw = req.to?.trim() || undefined;
  const channel = requested === "last" ? targetProviderChannel(raw) : requested;
  if (!channel) return { ok: false, error: NO_CHANNEL_ERROR };
  const to = raw?.replace(/^(telegram|tg|discord):/i, "").trim();
  if (!to) {
    const known = LABELS[channel];
    return { ok: false, error: known ? `Delivering to ${known.label} requires target ${known.hint}` : `Channel is unavailable: ${channel}` };
  }
  return { ok: true, channel, to, source: requested === "last" ? "last" : "explicit" };
}

/** Automation's channel seam while the gateway hosts no channel. */
export const OFFLINE_DELIVERY: Required<AutomationChannels> = {
  async deliver(req): Promise<DeliveryResult> {
    const route = resolveOffline(req);
    if (!route.ok) return { resolved: false, delivered: false, error: route.error };
    return { resolved: true, delivered: false, channel: route.channel, to: route.to, error: missingCredentials(route.channel, req.accountId?.trim() || "default") };
  },
  previewRoute: (req) => resolveOffline(req),
  heartbeatDeliver: async () => ({ resolved: false, delivered: false, reason: "no-route" }),
  heartbeatHasRoute: () => false,
  heartbeatTyping: () => undefined,
  channelIds: () => [],
};
