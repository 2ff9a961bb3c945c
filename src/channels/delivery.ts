/**
 * Automation's delivery through the channel host: where a cron announce, a failure notice or a
 * heartbeat alert goes, resolved as the original resolves it, then sent with `host.send` (the
 * reply path's client, formatting, chunking, retries and error reporting).
 *
 * Cron announce (`delivery.channel`, `to`, `accountId`, `threadId`):
 *   - `last` (or no channel) reads the job's own session's last conversation, else the agent's
 *     main session's; a `telegram:123`-style target selects its channel first; with no
 *     conversation at all the one configured channel is used, and with none or several the
 *     original's "Channel is required …" answers;
 *   - a route taken from the shared main session by a job that has no session of its own and
 *     names no recipient is refused (the original's "Refusing implicit isolated cron delivery");
 *   - an explicit channel with no `to` uses that session's conversation when it is on the same
 *     channel, else "Delivering to Telegram requires target <chatId>".
 *
 * Heartbeat `target`: `owner` (default: the first concrete `commands.ownerAllowFrom` entry,
 * then the channel's `allowFrom`, and only a person, never a group; the owner's own chat and
 * topic when the session last talked to them), `last` (the heartbeat session's conversation,
 * groups included), a channel id (with `to`, else that channel's last conversation), `none`.
 * `accountId` must name an account of the channel; `directPolicy: "block"` refuses DMs.
 */
import type { HeartbeatDelivery, HeartbeatDeliveryRequest, ResolvedHeartbeat } from "../automation/heartbeat.ts";
import type { DeliveryRequest, DeliveryResult, RoutePreviewRequest } from "../automation/delivery.ts";
import type { AutomationChannels } from "../automation/subsystem.ts";
import { NO_CHANNEL_ERROR } from "../automation/errors.ts";
import type { ChannelHost } from "./host.ts";
import { mainSessionKey } from "./routing.ts";
import type { ConversationRoute } from "./routes.ts";
import type { ChannelPlugin, ChatKind } from "./types.ts";
import { describeError, sleep } from "./util.ts";

const SELECT_HINT = "Set delivery.channel explicitly or use a main session with a previous channel.";

export const REFUSE_SHARED_MAIN_ROUTE =
  "Refusing implicit isolated cron delivery: the target would be inherited from the shared agent-main session bucket's last recipient, which is ambiguous across conversations and can deliver to the wrong room (and replay there after a restart). Set delivery.channel and delivery.to explicitly, or run the cron from a session that carries its own delivery context.";

export type AnnounceRoute =
  | { ok: true; channel: string; to: string; accountId: string; threadId?: string; source: "explicit" | "last" }
  | { ok: false; error: string; channel?: string; accountId?: string };

/** A session key as stored: lower case, `agent:<id>:` prefixed. */
function qualifiedKey(agentId: string, key: string): string {
  const k = key.trim().toLowerCase();
  return k.startsWith("agent:") ? k : `agent:${agentId.toLowerCase()}:${k}`;
}

/** The channel a target's provider prefix selects (`telegram:123`, `tg:123`, `discord:…`). */
function prefixedChannel(host: ChannelHost, to: string | undefined): string | undefined {
  const t = to?.trim().toLowerCase();
  if (!t) return undefined;
  for (const plugin of host.plugins.values()) if (plugin.targetPrefixes.some((p) => t.startsWith(p))) return plugin.meta.id;
  return undefined;
}

function concrete(entries: readonly string[]): string[] {
  return entries.map((e) => e.trim()).filter((e) => e && e !== "*" && !e.endsWith(":*"));
}

/** Where a cron announce (or a failure notice) goes; nothing is sent. */
export function resolveAnnounce(host: ChannelHost, req: RoutePreviewRequest): AnnounceRoute {
  const cfg = host.currentConfig;
  const agentId = req.agentId.toLowerCase();
  const requested = req.channel?.trim().toLowerCase() || "last";
  const explicitTo = req.to?.trim() || undefined;
  const ownKey = req.sessionKey?.trim() ? qualifiedKey(agentId, req.sessionKey) : undefined;
  const own = ownKey ? host.routes.get(ownKey) : undefined;
  const main = own ? undefined : host.routes.get(mainSessionKey(agentId, cfg));
  const last = own ?? main;

  let channel = requested === "last" ? (prefixedChannel(host, explicitTo) ?? last?.channel) : requested;
  if (!channel) {
    const configured = host.configuredChannelIds();
    if (configured.length === 1) channel = configured[0];
    else if (configured.length === 0) return { ok: false, error: NO_CHANNEL_ERROR };
    else return { ok: false, error: `Channel is required when multiple channels are configured: ${configured.join(", ")}. Pass --channel <channel> to choose one. ${SELECT_HINT}` };
  }
  const plugin = host.plugins.get(channel);
  if (!plugin) return { ok: false, channel, error: `Unsupported channel: ${channel}` };
  const named = prefixedChannel(host, explicitTo);
  if (named && named !== channel) return { ok: false, channel, error: `delivery target "${explicitTo}" names channel ${named}, not ${channel}` };

  const fromLast = last !== undefined && last.channel === channel;
  let accountId = req.accountId?.trim().toLowerCase() || (fromLast ? last.accountId : undefined);
  let to = explicitTo;
  if (!to && fromLast) {
    to = plugin.targetOf(last);
    let rerouted = false;
    // A stale DM partner outside the account's allowlist gives way to its first allowed sender.
    if (last.kind === "direct" && last.peerId !== undefined) {
      const allowed = concrete(host.supervisor(channel, accountId ?? last.accountId)?.account.access.allowFrom ?? []);
      const owner = allowed.length && !allowed.includes(plugin.normalizeAllowEntry(last.peerId)) ? plugin.ownerTarget(allowed[0]) : undefined;
      if (owner) {
        to = owner;
        rerouted = true;
      }
    }
    // The shared main session's last recipient is nobody's in particular: a job without a
    // session of its own must name one.
    if (!ownKey && !rerouted) return { ok: false, channel, accountId, error: REFUSE_SHARED_MAIN_ROUTE };
  }
  if (!to) return { ok: false, channel, accountId, error: `Delivering to ${plugin.meta.label} requires target ${plugin.targetHint}` };
  const parsed = plugin.parseTarget(to, req.threadId);
  if (!parsed.ok) return { ok: false, channel, accountId, error: parsed.error };
  accountId ??= host.defaultAccountId(channel);
  return {
    ok: true,
    channel,
    to: parsed.to,
    accountId,
    ...(parsed.target.threadId !== undefined ? { threadId: parsed.target.threadId } : {}),
    source: requested === "last" ? "last" : "explicit",
  };
}

export type HeartbeatRoute =
  | { ok: true; channel: string; accountId: string; to: string; address: string; kind: ChatKind }
  | { ok: false; reason: "target-none" | "no-route" | "no-target" | "unknown-account" | "dm-blocked" };

/** How a stored conversation is named in heartbeat events (`telegram:123`). */
function addressOf(plugin: ChannelPlugin, route: ConversationRoute): string {
  return `${plugin.targetPrefixes[0] ?? `${plugin.meta.id}:`}${plugin.targetOf(route)}`;
}

/** The owner's DM: an owner entry or the channel's allowlist, the session's own chat with them when it has one. */
function ownerRoute(host: ChannelHost, hb: ResolvedHeartbeat, route: ConversationRoute | undefined): HeartbeatRoute {
  const cfg = host.currentConfig;
  const configured = host.configuredChannelIds();
  const order = route && configured.includes(route.channel) ? [route.channel, ...configured.filter((c) => c !== route.channel)] : configured;
  const owners = concrete(((cfg as { commands?: { ownerAllowFrom?: unknown } }).commands?.ownerAllowFrom as unknown[] | undefined)?.map(String) ?? []);
  const accountFor = (channel: string) => hb.accountId?.trim().toLowerCase() || (route?.channel === channel ? route.accountId : host.defaultAccountId(channel));
  const build = (plugin: ChannelPlugin, entry: string): HeartbeatRoute => {
    const channel = plugin.meta.id;
    const ownerId = plugin.normalizeAllowEntry(entry);
    if (route && route.channel === channel && route.kind === "direct" && route.peerId !== undefined && plugin.normalizeAllowEntry(route.peerId) === ownerId) {
      return { ok: true, channel, accountId: hb.accountId?.trim().toLowerCase() || route.accountId, to: plugin.targetOf(route), address: addressOf(plugin, route), kind: "direct" };
    }
    return { ok: true, channel, accountId: accountFor(channel), to: plugin.ownerTarget(entry)!, address: entry, kind: "direct" };
  };
  for (const channel of order) {
    const plugin = host.plugins.get(channel)!;
    const entry = owners.find((o) => {
      const named = prefixedChannel(host, o);
      return (!named || named === channel) && plugin.ownerTarget(o) !== undefined;
    });
    if (entry) return build(plugin, entry);
  }
  for (const channel of order) {
    const plugin = host.plugins.get(channel)!;
    const sup = host.supervisor(channel, accountFor(channel));
    const entry = concrete(sup?.account.access.allowFrom ?? []).find((e) => plugin.ownerTarget(e) !== undefined);
    if (entry) return build(plugin, entry);
  }
  return { ok: false, reason: "no-route" };
}

/** Where a heartbeat alert goes; nothing is sent. */
export function resolveHeartbeatRoute(host: ChannelHost, req: Omit<HeartbeatDeliveryRequest, "text">): HeartbeatRoute {
  const hb = req.heartbeat;
  const target = hb.target.trim().toLowerCase() || "owner";
  if (target === "none") return { ok: false, reason: "target-none" };
  const route = host.routes.get(req.sessionKey);
  let resolved: HeartbeatRoute;
  if (target === "owner") {
    resolved = ownerRoute(host, hb, route);
  } else if (target === "last") {
    const plugin = route ? host.plugins.get(route.channel) : undefined;
    resolved =
      route && plugin
        ? { ok: true, channel: route.channel, accountId: hb.accountId?.trim().toLowerCase() || route.accountId, to: plugin.targetOf(route), address: addressOf(plugin, route), kind: route.kind }
        : { ok: false, reason: "no-route" };
  } else {
    const plugin = host.plugins.get(target);
    const sameChannel = route !== undefined && route.channel === target;
    const to = hb.to?.trim() || (sameChannel && plugin ? plugin.targetOf(route) : undefined);
    if (!plugin || !to) return { ok: false, reason: "no-target" };
    const parsed = plugin.parseTarget(to);
    if (!parsed.ok) return { ok: false, reason: "no-target" };
    const accountId = hb.accountId?.trim().toLowerCase() || (sameChannel && !hb.to ? route.accountId : host.defaultAccountId(target));
    resolved = { ok: true, channel: target, accountId, to: parsed.to, address: hb.to?.trim() || addressOf(plugin, route!), kind: parsed.target.kind };
  }
  if (!resolved.ok) return resolved;
  if (hb.accountId?.trim() && !host.listSupervisors(resolved.channel).some((s) => s.account.accountId === resolved.accountId)) {
    return { ok: false, reason: target === "owner" ? "no-route" : "unknown-account" };
  }
  if (resolved.kind === "direct" && hb.directPolicy === "block") return { ok: false, reason: "dm-blocked" };
  return resolved;
}

async function deliverAnnounce(host: ChannelHost, req: DeliveryRequest): Promise<DeliveryResult> {
  const route = resolveAnnounce(host, req);
  if (!route.ok) return { resolved: false, delivered: false, error: route.error, ...(route.channel ? { channel: route.channel } : {}) };
  const purpose = req.purpose === "result" ? `cron ${req.jobId} announce` : `cron ${req.jobId} ${req.purpose}`;
  const receipt = await host.send({ channel: route.channel, accountId: route.accountId, to: route.to, threadId: route.threadId, text: req.text, purpose });
  return {
    resolved: true,
    delivered: receipt.ok,
    channel: route.channel,
    to: route.to,
    // As the original's trace: the account when the job or the conversation named it.
    ...(req.accountId?.trim() || route.source === "last" ? { accountId: route.accountId } : {}),
    ...(route.threadId !== undefined ? { threadId: route.threadId } : {}),
    ...(receipt.ok ? {} : { error: receipt.error, uncertain: receipt.uncertain }),
  };
}

async function deliverHeartbeat(host: ChannelHost, req: HeartbeatDeliveryRequest): Promise<HeartbeatDelivery> {
  const route = resolveHeartbeatRoute(host, req);
  if (!route.ok) return { resolved: false, delivered: false, reason: route.reason };
  const receipt = await host.send({ channel: route.channel, accountId: route.accountId, to: route.to, text: req.text, purpose: `heartbeat alert (${req.agentId})` });
  return { resolved: true, delivered: receipt.ok, channel: route.channel, to: route.address, accountId: route.accountId, ...(receipt.ok ? {} : { error: receipt.error }) };
}

/** Typing at the heartbeat's target, repeated at the channel's interval until stopped. */
function heartbeatTyping(host: ChannelHost, req: Omit<HeartbeatDeliveryRequest, "text">): (() => void) | undefined {
  const route = resolveHeartbeatRoute(host, req);
  if (!route.ok) return undefined;
  const sup = host.supervisor(route.channel, route.accountId);
  const parsed = sup?.plugin.parseTarget(route.to);
  if (!sup || !parsed?.ok || !sup.account.enabled || !sup.account.configured) return undefined;
  const stop = new AbortController();
  const target = parsed.target;
  void (async () => {
    try {
      const chatId = target.userId === undefined ? target.chatId : sup.client.openDirect ? await sup.client.openDirect(target.userId) : target.userId;
      while (!stop.signal.aborted) {
        await sup.client.sendTyping({ ...target, chatId }).catch((err) => sup.log.debug(`[${sup.account.accountId}] heartbeat typing failed: ${describeError(err)}`));
        await sleep(sup.plugin.typingIntervalMs, stop.signal);
      }
    } catch {
      // stopped, or the DM could not be opened (the alert itself will say why)
    }
  })();
  return () => stop.abort();
}

/** The channel host's side of automation's `channels` seam. */
export function hostDelivery(host: ChannelHost): Required<AutomationChannels> {
  return {
    deliver: (req) => deliverAnnounce(host, req),
    previewRoute: (req) => {
      const route = resolveAnnounce(host, req);
      return route.ok ? { ok: true, channel: route.channel, to: route.to, accountId: route.accountId, source: route.source } : { ok: false, error: route.error };
    },
    heartbeatDeliver: (req) => deliverHeartbeat(host, req),
    heartbeatHasRoute: (agentId, heartbeat, sessionKey) => resolveHeartbeatRoute(host, { agentId, heartbeat, sessionKey }).ok,
    heartbeatTyping: (req) => heartbeatTyping(host, req),
    channelIds: () => host.configuredChannelIds(),
  };
}
