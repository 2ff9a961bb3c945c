/**
 * The logic behind our CLI's `openclaw pairing list|approve` and `openclaw channels
 * status|list` (the citty commands stay thin: flags → one of these → print).
 *
 * `pairing list|approve` work on the state files directly, gateway running or not, exactly as
 * the official CLI does (same SQLite rows, same lock, same messages, same owner bootstrap), so
 * either CLI can approve what the other lists. `channels status` renders the gateway's
 * `channels.status` answer, or — when the gateway is unreachable — a config-only summary.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { createLogger } from "../log/logger.ts";
import { channelRoot } from "./accounts.ts";
import { APPROVAL_NOTICE, bootstrapCommandOwner } from "./pairing.ts";
import { PairingStore, type PairingRequest } from "./pairing-store.ts";
import type { ChannelPlugin, Env } from "./types.ts";
import { describeError } from "./util.ts";

/** What the original prints where no chat channel is configured. */
export const NO_CHANNELS_LINE = "- no configured chat channels (run `openclaw channels list --all` to see installable channels)";

export class ChannelCliError extends Error {
  override name = "ChannelCliError";
}

export interface CliContext {
  stateDir: string;
  configPath: string;
  /** The effective config. */
  config: OpenClawConfig;
  env?: Env;
  plugins: ChannelPlugin[];
  fetch?: typeof fetch;
}

/** Channels with a config block (the ones that can have pairing requests). */
export function pairingChannels(ctx: CliContext): string[] {
  return ctx.plugins.filter((p) => channelRoot(ctx.config, p.meta.id)).map((p) => p.meta.id);
}

function parseChannel(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (!value) throw new ChannelCliError("Missing channel. Use openclaw pairing list --channel <channel>.");
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(value)) throw new ChannelCliError(`Invalid channel "${value}". Use lowercase letters, numbers, "_" or "-", for example "telegram".`);
  return value;
}

function accountOption(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const v = String(raw).trim();
  if (!v) throw new ChannelCliError("--account must not be blank");
  return v;
}

export interface PairingListOptions {
  channel?: string;
  positional?: string;
  account?: string;
  json?: boolean;
  /** Terminal width for the table. */
  width?: number;
}

/** `openclaw pairing list [channel] [--channel] [--account] [--json]`. */
export function pairingListCommand(ctx: CliContext, opts: PairingListOptions): { json?: { channel: string; requests: PairingRequest[] }; text: string } {
  const channels = pairingChannels(ctx);
  const hint = channels.length ? channels.join(", ") : "none configured";
  const raw = opts.channel ?? opts.positional ?? (channels.length === 1 ? channels[0] : "");
  if (!raw) {
    if (channels.length === 0) throw new ChannelCliError("No chat DM pairing channels are configured. To approve a TUI or device request, use openclaw devices approve instead.");
    throw new ChannelCliError(`Channel required (expected one of: ${hint}).`);
  }
  const channel = parseChannel(raw);
  if (opts.channel && opts.positional && parseChannel(opts.positional) !== channel) {
    throw new ChannelCliError(`Conflicting pairing channels: "${channel}" and "${parseChannel(opts.positional)}". Pass the channel either positionally or with --channel.`);
  }
  const accountId = accountOption(opts.account);
  const store = new PairingStore(ctx.stateDir);
  try {
    const requests = store.listRequests(channel, accountId);
    if (opts.json) return { json: { channel, requests }, text: `${JSON.stringify({ channel, requests }, null, 2)}\n` };
    if (requests.length === 0) return { text: `No pending ${channel} pairing requests.\n` };
    const idLabel = ctx.plugins.find((p) => p.meta.id === channel)?.meta.idLabel ?? "senderId";
    const table = renderTable(
      ["Code", idLabel, "Meta", "Requested"],
      requests.map((r) => [r.code, r.meta.senderId ?? r.id, JSON.stringify(r.meta), r.createdAt]),
      opts.width ?? 120,
    );
    return { text: `Pairing requests (${requests.length})\n${table}\n` };
  } finally {
    store.close();
  }
}

export interface PairingApproveOptions {
  channel?: string;
  /** First positional: the code, or the channel when a second positional follows. */
  codeOrChannel: string;
  code?: string;
  account?: string;
  notify?: boolean;
}

/** `openclaw pairing approve [channel] <code> [--channel] [--account] [--notify]`. */
export async function pairingApproveCommand(ctx: CliContext, opts: PairingApproveOptions): Promise<string[]> {
  const channels = pairingChannels(ctx);
  const explicit = Boolean(opts.channel);
  const hasPositionalCode = opts.code !== undefined;
  const channelRaw = explicit ? opts.channel! : hasPositionalCode ? opts.codeOrChannel : channels.length === 1 ? channels[0] : "";
  const code = explicit ? opts.codeOrChannel : hasPositionalCode ? opts.code! : opts.codeOrChannel;
  if (!channelRaw || !code) throw new ChannelCliError("Usage: openclaw pairing approve <channel> <code> (or: openclaw pairing approve --channel <channel> <code>)");
  if (explicit && hasPositionalCode) throw new ChannelCliError("Too many arguments. Use: openclaw pairing approve --channel <channel> <code>");
  const channel = parseChannel(channelRaw);
  const accountId = accountOption(opts.account);
  const store = new PairingStore(ctx.stateDir);
  let approved;
  try {
    approved = store.approveCode({ channel, code: String(code), accountId });
  } finally {
    store.close();
  }
  if (!approved) throw new ChannelCliError(`No pending pairing request found for code "${code}". Run openclaw pairing list --channel ${channel} to list pending requests.`);
  const lines = [`Approved ${channel} sender ${approved.entry.meta.senderId ?? approved.id}.`];
  const owner = await bootstrapCommandOwner(ctx.configPath, channel, approved.id, ctx.env ?? process.env);
  if (owner.status === "configured") lines.push(`Command owner configured ${owner.entry} (commands.ownerAllowFrom was empty).`);
  if (opts.notify) {
    try {
      await notifyApproved(ctx, channel, accountId ?? approved.entry.meta.accountId, approved.id);
    } catch (err) {
      lines.push(`Failed to notify requester: ${describeError(err)}`);
    }
  }
  return lines;
}

async function notifyApproved(ctx: CliContext, channel: string, accountId: string | undefined, senderId: string): Promise<void> {
  const plugin = ctx.plugins.find((p) => p.meta.id === channel);
  if (!plugin) throw new Error(`Channel ${channel} does not support approval notices`);
  const env = ctx.env ?? process.env;
  const account = plugin.resolveAccount(ctx.config, (accountId || plugin.defaultAccountId(ctx.config, env)).toLowerCase(), env);
  if (!account.configured) throw new Error(`${channel} account ${account.accountId} has no credentials`);
  const client = plugin.createClient(account, { fetch: ctx.fetch ?? fetch, log: createLogger({ level: "silent", sinks: [] }), env });
  await client.notify(senderId, APPROVAL_NOTICE);
}

/** A box-drawn table; flexible columns shrink (wrapping their text) to fit `width`. */
export function renderTable(headers: string[], rows: string[][], width = 120): string {
  const natural = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const overhead = headers.length * 3 + 1;
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, 0) + overhead - width;
  while (excess > 0) {
    const i = widths.indexOf(Math.max(...widths));
    if (widths[i] <= 8) break;
    widths[i] -= 1;
    excess -= 1;
  }
  const wrap = (text: string, w: number) => {
    const out: string[] = [];
    for (let i = 0; i < Math.max(1, text.length); i += w) out.push(text.slice(i, i + w));
    return out;
  };
  const line = (l: string, m: string, r: string) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  const row = (cells: string[]) => {
    const wrapped = cells.map((c, i) => wrap(c ?? "", widths[i]));
    const height = Math.max(...wrapped.map((w) => w.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++) out.push(`│ ${wrapped.map((w, i) => (w[k] ?? "").padEnd(widths[i])).join(" │ ")} │`);
    return out.join("\n");
  };
  return [line("┌", "┬", "┐"), row(headers), line("├", "┼", "┤"), ...rows.map(row), line("└", "┴", "┘")].join("\n");
}

export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

/** One account line of `channels status` (the official CLI's wording). */
export function accountStatusLine(label: string, a: Record<string, any>, now = Date.now()): string {
  const parts: string[] = [];
  parts.push(a.enabled === false ? "disabled" : "enabled");
  parts.push(a.configured === false ? "not configured" : "configured");
  if (a.lastError) parts.push(`error:${a.lastError}`);
  if (typeof a.running === "boolean") parts.push(a.running ? "running" : "stopped");
  if (typeof a.connected === "boolean") parts.push(a.connected ? "connected" : "disconnected");
  if (typeof a.lastInboundAt === "number") parts.push(`in:${formatAgo(now - a.lastInboundAt)}`);
  if (typeof a.lastOutboundAt === "number") parts.push(`out:${formatAgo(now - a.lastOutboundAt)}`);
  if (typeof a.lastTransportActivityAt === "number") parts.push(`transport:${formatAgo(now - a.lastTransportActivityAt)}`);
  if (a.mode) parts.push(`mode:${a.mode}`);
  const probe = a.probe;
  const botName = probe?.ok ? (probe.bot?.username ?? probe.botInfo?.username) : undefined;
  if (botName) parts.push(`bot:@${botName}`);
  if (a.tokenSource && a.tokenSource !== "none") parts.push("token:***");
  if (a.healthState) parts.push(`health:${a.healthState}`);
  if (probe) parts.push(probe.ok ? "works" : "probe failed");
  return `- ${label} ${a.accountId}: ${parts.join(", ")}`;
}

/** `channels status` text from a `channels.status` answer. */
export function channelsStatusText(result: Record<string, any>, now = Date.now()): string {
  const lines: string[] = [];
  // Channels in id order, as the original CLI prints them (not channelOrder).
  for (const id of Object.keys(result.channelAccounts ?? {}).sort()) {
    const label = result.channelLabels?.[id] ?? id;
    for (const account of (result.channelAccounts?.[id] ?? []) as Array<Record<string, any>>) lines.push(accountStatusLine(label, account, now));
  }
  if (lines.length === 0) lines.push(NO_CHANNELS_LINE);
  const issues = (result.statusIssues ?? []) as Array<Record<string, string>>;
  if (issues.length) {
    lines.push("", "Warnings:");
    for (const i of issues) lines.push(`- ${i.channel} ${i.accountId}: ${i.message}${i.fix ? ` (${i.fix})` : ""}`);
    lines.push("- Run: openclaw doctor");
  }
  return `${lines.join("\n")}\n`;
}

/** What `channels status` prints when the gateway is unreachable: config only, no live state. */
export function configOnlyStatus(ctx: CliContext, error: string): { json: Record<string, unknown>; text: string } {
  const env = ctx.env ?? process.env;
  const configured: string[] = [];
  const lines: string[] = [];
  for (const plugin of ctx.plugins) {
    const ids = plugin.listAccountIds(ctx.config, env);
    if (!ids.length) continue;
    configured.push(plugin.meta.id);
    for (const id of ids) {
      const a = plugin.resolveAccount(ctx.config, id, env);
      const d = plugin.describe(a);
      lines.push(accountStatusLine(plugin.meta.label, { accountId: id, enabled: a.enabled, configured: a.configured, mode: d.mode, tokenSource: a.tokenSource }));
    }
  }
  const mode = (ctx.config.gateway?.mode as string | undefined) ?? "local";
  const json = {
    gatewayReachable: false,
    error,
    gatewayAuthUnavailable: false,
    configOnly: true,
    config: { path: ctx.configPath, mode },
    configuredChannels: configured,
  };
  const text = ["Gateway not reachable; showing config-only status.", `Config: ${ctx.configPath}`, `Mode: ${mode}`, "", ...(lines.length ? lines : [NO_CHANNELS_LINE])].join("\n");
  return { json, text: `${text}\n` };
}

/** `channels list`: configured chat accounts from config (no gateway needed). */
export function channelsList(ctx: CliContext): { json: Record<string, unknown>; text: string } {
  const env = ctx.env ?? process.env;
  const chat: Record<string, unknown> = {};
  const lines = ["Chat channels:"];
  for (const plugin of ctx.plugins) {
    const ids = plugin.listAccountIds(ctx.config, env);
    if (!ids.length) continue;
    chat[plugin.meta.id] = { accounts: ids, label: plugin.meta.label, docsPath: plugin.meta.docsPath, installed: true, origin: "configured" };
    for (const id of ids) {
      const a = plugin.resolveAccount(ctx.config, id, env);
      const tags = ["installed", a.configured ? "configured" : "not configured", a.enabled ? "enabled" : "disabled"];
      if (a.tokenSource !== "none") tags.push("token=***");
      lines.push(`- ${plugin.meta.label} ${id}: ${tags.join(", ")}`);
    }
  }
  if (lines.length === 1) lines.push(NO_CHANNELS_LINE);
  return { json: { chat }, text: `${lines.join("\n")}\n` };
}
