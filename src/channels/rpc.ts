/**
 * The channel RPCs as library functions, answering with the original's shapes (captured in
 * test/fixture/transcripts/channels/): `channels.status` (optionally probing), `channels.start`,
 * `channels.stop`, `channels.logout`, and `channels.pairing.list|approve|dismiss`.
 *
 * Errors are `RpcError`s with the original's codes and messages; param schemas are exported
 * for the method registry (closed objects, like the original's).
 */
import { readConfigFile } from "../config/load.ts";
import { writeConfigDocument } from "../config/write.ts";
import { ErrorCodes, RpcError } from "../protocol/errors.ts";
import { z } from "../zod.ts";
import type { AccountSupervisor, ChannelHost } from "./host.ts";
import { UnknownChannelError } from "./host.ts";
import { APPROVAL_NOTICE, bootstrapCommandOwner, hasCommandOwner, type OwnerBootstrap } from "./pairing.ts";
import { PAIRING_PENDING_MAX, PAIRING_TTL_MS, requestIdFor, type PairingRequest } from "./pairing-store.ts";
import type { ChannelPlugin, ResolvedAccount } from "./types.ts";
import { describeError } from "./util.ts";

const NonEmpty = z.string().check(z.minLength(1));
const NonNegativeInt = z.number().check(z.int(), z.nonnegative());

export const ChannelsStatusParams = z.strictObject({ probe: z.optional(z.boolean()), timeoutMs: z.optional(NonNegativeInt), channel: z.optional(NonEmpty) });
export const ChannelsAccountParams = z.strictObject({ channel: NonEmpty, accountId: z.optional(z.string()) });
export const PairingListParams = z.strictObject({ channel: z.optional(NonEmpty), accountId: z.optional(NonEmpty) });
export const PairingApproveParams = z.strictObject({
  channel: NonEmpty,
  accountId: NonEmpty,
  requestId: NonEmpty,
  notify: z.optional(z.boolean()),
  bootstrapCommandOwner: z.optional(z.boolean()),
});
export const PairingDismissParams = z.strictObject({ channel: NonEmpty, accountId: NonEmpty, requestId: NonEmpty });

export type ChannelsStatusInput = z.infer<typeof ChannelsStatusParams>;

const RESTART_FIX = "resolve the reported channel error, then restart the channel";

/** One account as `channels.status` reports it (key order as the original). */
export function accountSnapshot(sup: AccountSupervisor, withProbe: boolean): Record<string, unknown> {
  const s = sup.state;
  const a = sup.account;
  const snap: Record<string, unknown> = { accountId: a.accountId };
  if (a.name) snap.name = a.name;
  snap.enabled = a.enabled;
  snap.lastStartAt = s.lastStartAt;
  snap.lastStopAt = s.lastStopAt;
  if (withProbe && s.probe) snap.probe = s.probe;
  snap.restartPending = false;
  snap.reconnectAttempts = s.reconnectAttempts;
  snap.lastConnectedAt = s.lastConnectedAt;
  snap.lastEventAt = s.lastEventAt;
  snap.lastTransportActivityAt = s.lastTransportActivityAt;
  snap.lifecycle = s.lifecycle;
  if (s.terminalDisconnect) snap.terminalDisconnect = true;
  snap.lastInboundAt = s.lastInboundAt;
  snap.lastOutboundAt = s.lastOutboundAt;
  Object.assign(snap, sup.plugin.describe(a));
  for (const [k, v] of Object.entries(s.extra)) if (!(k in snap)) snap[k] = v;
  snap.configured = a.configured;
  snap.running = s.running;
  snap.connected = s.connected;
  if (s.stateReason || !a.configured) snap.stateReason = s.stateReason ?? "not configured";
  snap.lastError = s.lastError ?? a.blockedReason ?? null;
  if (withProbe) snap.lastProbeAt = s.lastProbeAt;
  if (s.healthState) snap.healthState = s.healthState;
  if (s.activeRuns > 0) {
    snap.busy = true;
    snap.activeRuns = s.activeRuns;
  }
  return snap;
}

/** `channels.status`: configured channels, their accounts, and (with `probe`) live probes. */
export async function channelsStatus(host: ChannelHost, params: ChannelsStatusInput = {}): Promise<Record<string, unknown>> {
  if (params.channel && !host.plugins.has(params.channel)) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown channel: ${params.channel}`);
  if (params.probe) await host.probeAll({ channel: params.channel, timeoutMs: params.timeoutMs });
  const withProbe = params.probe === true;
  const plugins = [...host.plugins.values()].filter((p) => (!params.channel || p.meta.id === params.channel) && host.listSupervisors(p.meta.id).length > 0);
  const out = {
    ts: Date.now(),
    channelOrder: [] as string[],
    channelLabels: {} as Record<string, string>,
    channelDetailLabels: {} as Record<string, string>,
    channelSystemImages: {} as Record<string, string>,
    channelMeta: [] as Array<Record<string, string>>,
    channels: {} as Record<string, unknown>,
    channelAccounts: {} as Record<string, unknown[]>,
    channelDefaultAccountId: {} as Record<string, string>,
    statusIssues: [] as Array<Record<string, string>>,
  };
  for (const plugin of plugins) {
    const id = plugin.meta.id;
    const sups = host.listSupervisors(id);
    const defaultId = host.defaultAccountId(id);
    out.channelOrder.push(id);
    out.channelLabels[id] = plugin.meta.label;
    out.channelDetailLabels[id] = plugin.meta.detailLabel;
    if (plugin.meta.systemImage) out.channelSystemImages[id] = plugin.meta.systemImage;
    out.channelMeta.push({ id, label: plugin.meta.label, detailLabel: plugin.meta.detailLabel, ...(plugin.meta.systemImage ? { systemImage: plugin.meta.systemImage } : {}) });
    out.channelAccounts[id] = sups.map((s) => accountSnapshot(s, withProbe));
    out.channelDefaultAccountId[id] = defaultId;
    const main = sups.find((s) => s.account.accountId === defaultId) ?? sups[0];
    const described = plugin.describe(main.account);
    out.channels[id] = {
      configured: main.account.configured,
      running: main.state.running,
      lastStartAt: main.state.lastStartAt,
      lastStopAt: main.state.lastStopAt,
      lastError: main.state.lastError ?? main.account.blockedReason ?? null,
      tokenSource: described.tokenSource,
      ...(withProbe && main.state.probe ? { probe: main.state.probe } : {}),
      lastProbeAt: withProbe ? main.state.lastProbeAt : null,
      mode: described.mode,
    };
    for (const s of sups) {
      const issue = statusIssue(plugin, s);
      if (issue && out.statusIssues.length < 50) out.statusIssues.push(issue);
    }
  }
  return out;
}

function statusIssue(plugin: ChannelPlugin, sup: AccountSupervisor): Record<string, string> | undefined {
  const base = { channel: plugin.meta.id, accountId: sup.account.accountId };
  if (sup.account.blockedReason) return { ...base, kind: "config", message: sup.account.blockedReason, fix: "fix the channel config, then restart the channel" };
  if (sup.state.lastError && !sup.state.running && sup.account.enabled && sup.account.configured) {
    return { ...base, kind: "runtime", message: sup.state.lastError, fix: RESTART_FIX };
  }
  if (plugin.meta.id === "discord" && sup.account.enabled && sup.account.access.groupPolicy === "allowlist") {
    const guilds = sup.account.config.guilds;
    if (!guilds || typeof guilds !== "object" || Object.keys(guilds).length === 0) {
      return { ...base, kind: "config", message: "groupPolicy is allowlist but no guilds are configured: guild messages are dropped", fix: "add your server under channels.discord.guilds" };
    }
  }
  return undefined;
}

function unknownChannel(method: string): RpcError {
  return new RpcError(ErrorCodes.INVALID_REQUEST, `invalid ${method} channel`);
}

export async function channelsStart(host: ChannelHost, params: { channel: string; accountId?: string }) {
  try {
    return await host.startAccount(params.channel, params.accountId);
  } catch (err) {
    if (err instanceof UnknownChannelError) throw unknownChannel("channels.start");
    throw err;
  }
}

export async function channelsStop(host: ChannelHost, params: { channel: string; accountId?: string }) {
  try {
    return await host.stopAccount(params.channel, params.accountId);
  } catch (err) {
    if (err instanceof UnknownChannelError) throw unknownChannel("channels.stop");
    throw err;
  }
}

/**
 * `channels.logout`: stop the account and remove its credentials from the config file (the
 * config reload then keeps it stopped as "not configured"). A token that comes from the
 * environment cannot be cleared here (`envToken: true`).
 */
export async function channelsLogout(host: ChannelHost, params: { channel: string; accountId?: string }) {
  const plugin = host.plugins.get(params.channel);
  if (!plugin) throw unknownChannel("channels.logout");
  if (!plugin.logout) throw new RpcError(ErrorCodes.INVALID_REQUEST, `channel ${params.channel} does not support logout`);
  const accountId = (params.accountId?.trim() || host.defaultAccountId(params.channel)).toLowerCase();
  const sup = host.supervisor(params.channel, accountId);
  if (sup) {
    sup.manualStop = true;
    await sup.stop();
  }
  let cleared = false;
  let envToken = false;
  if (host.configPath) {
    const file = await readConfigFile(host.configPath);
    const doc = structuredClone((file.parsed ?? {}) as Record<string, any>);
    const res = plugin.logout(doc, accountId, host.env);
    cleared = res.cleared;
    envToken = res.envToken;
    if (cleared) await writeConfigDocument(host.configPath, doc, { env: host.env });
  }
  if (sup) {
    sup.state.lastError = "logged out";
    sup.manualStop = false;
  }
  return { channel: params.channel, accountId, cleared, envToken, loggedOut: cleared && !envToken };
}

// --- DM pairing ------------------------------------------------------------------------------

interface PairingAccount {
  plugin: ChannelPlugin;
  account: ResolvedAccount;
}

/** Configured accounts that use DM pairing, optionally filtered (unknown channel → INVALID_REQUEST). */
export function pairingAccounts(host: ChannelHost, filter: { channel?: string; accountId?: string }): PairingAccount[] {
  const channel = filter.channel?.trim().toLowerCase();
  const accountId = filter.accountId?.trim().toLowerCase();
  if (channel && !host.plugins.has(channel)) throw new RpcError(ErrorCodes.INVALID_REQUEST, `Error: unknown pairing channel: ${filter.channel}`);
  const out: PairingAccount[] = [];
  for (const plugin of host.plugins.values()) {
    if (channel && plugin.meta.id !== channel) continue;
    for (const sup of host.listSupervisors(plugin.meta.id)) {
      if (accountId && sup.account.accountId !== accountId) continue;
      if (!sup.account.configured || sup.account.access.dmPolicy !== "pairing") continue;
      out.push({ plugin, account: sup.account });
    }
  }
  return out;
}

/** A pending request as the RPCs show it (the code stays on the host: approvals name the requestId). */
export interface PublicPairingRequest {
  requestId: string;
  channel: string;
  channelLabel: string;
  accountId: string;
  accountLabel?: string;
  senderId: string;
  senderLabel: string;
  metadata?: Record<string, string>;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  notifySupported: boolean;
}

function publicRequest(p: PairingAccount, request: PairingRequest): PublicPairingRequest {
  const metadata = Object.fromEntries(Object.entries(request.meta).filter(([k, v]) => k !== "accountId" && k !== "senderId" && v));
  return {
    requestId: requestIdFor(p.plugin.meta.id, request),
    channel: p.plugin.meta.id,
    channelLabel: p.plugin.meta.label,
    accountId: p.account.accountId,
    ...(p.account.name ? { accountLabel: p.account.name } : {}),
    senderId: request.meta.senderId ?? request.id,
    senderLabel: p.plugin.meta.idLabel,
    ...(Object.keys(metadata).length ? { metadata } : {}),
    createdAt: request.createdAt,
    lastSeenAt: request.lastSeenAt,
    expiresAt: new Date(Date.parse(request.createdAt) + PAIRING_TTL_MS).toISOString(),
    notifySupported: true,
  };
}

function unavailable(err: unknown): RpcError {
  return new RpcError(ErrorCodes.UNAVAILABLE, describeError(err), undefined, { retryable: true });
}

/** `channels.pairing.list`: pending DM access requests of pairing-policy accounts. */
export function pairingList(host: ChannelHost, params: { channel?: string; accountId?: string } = {}) {
  const accounts = pairingAccounts(host, params);
  const requests: PublicPairingRequest[] = [];
  try {
    for (const p of accounts) for (const r of host.pairing.listRequests(p.plugin.meta.id, p.account.accountId)) requests.push(publicRequest(p, r));
  } catch (err) {
    throw unavailable(err);
  }
  return {
    accounts: accounts.map((p) => ({
      channel: p.plugin.meta.id,
      channelLabel: p.plugin.meta.label,
      accountId: p.account.accountId,
      ...(p.account.name ? { accountLabel: p.account.name } : {}),
      notifySupported: true,
    })),
    requests,
    commandOwnerConfigured: hasCommandOwner(host.currentConfig),
    limits: { pendingPerAccount: PAIRING_PENDING_MAX, ttlMs: PAIRING_TTL_MS },
  };
}

function onePairingAccount(host: ChannelHost, channel: string, accountId: string): PairingAccount {
  const accounts = pairingAccounts(host, { channel, accountId });
  if (accounts.length !== 1) throw new RpcError(ErrorCodes.INVALID_REQUEST, `channel account does not use DM pairing: ${channel}:${accountId}`);
  return accounts[0];
}

/**
 * `channels.pairing.approve {requestId}` → `{requestId, senderId, notification, commandOwnerBootstrap}`.
 * `bootstrapCommandOwner: true` (the caller must hold operator.admin: the method's dynamic
 * scope) records the sender as the first command owner when none exists.
 */
export async function pairingApprove(host: ChannelHost, params: z.infer<typeof PairingApproveParams>) {
  const p = onePairingAccount(host, params.channel, params.accountId);
  const channel = p.plugin.meta.id;
  let approved;
  try {
    approved = host.pairing.approveRequest({ channel, accountId: p.account.accountId, requestId: params.requestId });
  } catch (err) {
    throw unavailable(err);
  }
  if (!approved) throw new RpcError(ErrorCodes.INVALID_REQUEST, "pending DM access request no longer exists");
  const senderId = approved.entry.meta.senderId ?? approved.id;
  let commandOwnerBootstrap: OwnerBootstrap | "not-requested" = "not-requested";
  if (params.bootstrapCommandOwner === true) {
    try {
      commandOwnerBootstrap = host.configPath ? (await bootstrapCommandOwner(host.configPath, channel, approved.id, host.env)).status : "unavailable";
    } catch (err) {
      host.log.warn(`DM pairing command-owner bootstrap failed channel=${channel} account=${p.account.accountId}: ${describeError(err)}`);
      commandOwnerBootstrap = "unavailable";
    }
  }
  let notification: "not-requested" | "sent" | "failed" = "not-requested";
  if (params.notify === true) {
    try {
      const sup = host.supervisor(channel, p.account.accountId);
      if (!sup) throw new Error("account not running");
      await sup.client.notify(approved.id, APPROVAL_NOTICE);
      notification = "sent";
    } catch (err) {
      host.log.warn(`DM pairing approval notification failed channel=${channel} account=${p.account.accountId}: ${describeError(err)}`);
      notification = "failed";
    }
  }
  return { requestId: params.requestId, senderId, notification, commandOwnerBootstrap };
}

/** `channels.pairing.dismiss`: remove a pending request (the sender may ask again later). */
export function pairingDismiss(host: ChannelHost, params: z.infer<typeof PairingDismissParams>) {
  const p = onePairingAccount(host, params.channel, params.accountId);
  let dismissed;
  try {
    dismissed = host.pairing.dismissRequest({ channel: p.plugin.meta.id, accountId: p.account.accountId, requestId: params.requestId });
  } catch (err) {
    throw unavailable(err);
  }
  if (!dismissed) throw new RpcError(ErrorCodes.INVALID_REQUEST, "pending DM access request no longer exists");
  return { requestId: params.requestId, senderId: dismissed.entry.meta.senderId ?? dismissed.id };
}

// --- health ----------------------------------------------------------------------------------

/** An account counts as connecting this long after a start (the original's connect grace). */
const CONNECT_GRACE_MS = 120_000;
/** A connected account with no transport activity for this long is a stale socket. */
const STALE_EVENT_MS = 30 * 60_000;
/** A turn with no activity for this long is stuck. */
const BUSY_STALE_MS = 25 * 60_000;

/**
 * Why an account is unhealthy (the original's health vocabulary), or undefined when it is
 * healthy or not managed (disabled, unconfigured).
 */
export function unhealthyReason(sup: AccountSupervisor, now = Date.now()): string | undefined {
  const s = sup.state;
  const a = sup.account;
  if (!a.enabled || !a.configured) return undefined;
  if (!s.running && s.terminalDisconnect) return "terminal-disconnect";
  if (s.lifecycle === "blocked") return "blocked";
  const started = s.lastStartAt !== null && s.lastStartAt <= now;
  if ((s.lifecycle === "starting" || s.lifecycle === "recovering") && started && now - s.lastStartAt! < CONNECT_GRACE_MS) return undefined;
  if (s.lifecycle === "stopped" || !s.running) return "not-running";
  if (s.activeRuns > 0) {
    const last = s.lastRunActivityAt ?? 0;
    return now - last < BUSY_STALE_MS ? undefined : "stuck";
  }
  if (!s.connected) return "disconnected";
  if (s.lastTransportActivityAt !== null && now - s.lastTransportActivityAt > STALE_EVENT_MS) return "stale-socket";
  return undefined;
}

/**
 * The channel fields of the `health` snapshot, as the original fills them: per channel the
 * default account's record (its `channels.status` entry, without probe results) with every
 * account under `accounts`, plus `healthState` where an account is unhealthy.
 */
export function channelsHealth(host: ChannelHost, now = Date.now()): { channels: Record<string, unknown>; channelOrder: string[]; channelLabels: Record<string, string> } {
  const channels: Record<string, unknown> = {};
  const channelOrder: string[] = [];
  const channelLabels: Record<string, string> = {};
  for (const plugin of host.plugins.values()) {
    const sups = host.listSupervisors(plugin.meta.id);
    if (sups.length === 0) continue;
    const id = plugin.meta.id;
    channelOrder.push(id);
    channelLabels[id] = plugin.meta.label;
    const accounts: Record<string, Record<string, unknown>> = {};
    for (const sup of sups) {
      const record = accountSnapshot(sup, false);
      const reason = unhealthyReason(sup, now);
      if (reason) record.healthState = reason;
      accounts[sup.account.accountId] = record;
    }
    const preferred = accounts[host.defaultAccountId(id)] ?? accounts[sups[0].account.accountId];
    channels[id] = { ...preferred, accounts };
  }
  return { channels, channelOrder, channelLabels };
}
