/**
 * Multi-account config shared by every channel: `channels.<ch>` is the root, `accounts.<id>`
 * overlays it key by key (maps such as `groups` are replaced, not merged), a root with its own
 * credential is the `default` account, `defaultAccount` picks the default explicitly.
 * Omitted account policies inherit the root; with neither set, DMs use `pairing` and groups
 * `allowlist` (`channels.defaults.groupPolicy` is the fallback for an unset root policy).
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { compileMentionPatterns, normalizeList } from "./policy.ts";
import type { AccessConfig, DmPolicy, GroupPolicy } from "./types.ts";

export const DEFAULT_ACCOUNT_ID = "default";
const DM_POLICIES: readonly string[] = ["pairing", "allowlist", "open", "disabled"];
const GROUP_POLICIES: readonly string[] = ["open", "allowlist", "disabled"];

export function channelRoot(cfg: OpenClawConfig, channel: string): Record<string, any> | undefined {
  const root = (cfg.channels as Record<string, unknown> | undefined)?.[channel];
  return root && typeof root === "object" && !Array.isArray(root) ? (root as Record<string, any>) : undefined;
}

function accountsOf(root: Record<string, any>): Record<string, Record<string, any>> {
  const accounts = root.accounts;
  if (!accounts || typeof accounts !== "object" || Array.isArray(accounts)) return {};
  const out: Record<string, Record<string, any>> = {};
  for (const [id, value] of Object.entries(accounts)) {
    if (value && typeof value === "object" && !Array.isArray(value) && id.trim()) out[id.trim().toLowerCase()] = value as Record<string, any>;
  }
  return out;
}

/** Account ids: the `accounts` map, plus `default` when the root carries its own credential. */
export function listAccountIds(root: Record<string, any> | undefined, rootHasCredential: boolean): string[] {
  if (!root) return [];
  const ids = Object.keys(accountsOf(root)).sort();
  if (ids.length === 0) return [DEFAULT_ACCOUNT_ID];
  if (rootHasCredential && !ids.includes(DEFAULT_ACCOUNT_ID)) ids.unshift(DEFAULT_ACCOUNT_ID);
  return ids;
}

export function defaultAccountId(root: Record<string, any> | undefined, ids: string[]): string {
  const explicit = typeof root?.defaultAccount === "string" ? root.defaultAccount.trim().toLowerCase() : "";
  if (explicit && ids.includes(explicit)) return explicit;
  if (ids.includes(DEFAULT_ACCOUNT_ID) || ids.length === 0) return DEFAULT_ACCOUNT_ID;
  return ids[0];
}

/** The root without `accounts`/`defaultAccount`, overlaid by the account's own keys. */
export function mergedAccountConfig(root: Record<string, any> | undefined, accountId: string): Record<string, any> {
  if (!root) return {};
  const { accounts: _accounts, defaultAccount: _default, ...base } = root;
  const own = accountsOf(root)[accountId.toLowerCase()];
  return own ? { ...base, ...own } : base;
}

/** The account's own entry (undefined for a root-only default account). */
export function accountEntry(root: Record<string, any> | undefined, accountId: string): Record<string, any> | undefined {
  return root ? accountsOf(root)[accountId.toLowerCase()] : undefined;
}

function pick<T extends string>(value: unknown, allowed: readonly string[]): T | undefined {
  return typeof value === "string" && allowed.includes(value) ? (value as T) : undefined;
}

/**
 * Policy settings of one account. `dmPolicyFallback`/`allowFromFallback` carry legacy keys a
 * channel still reads (Discord `dm.policy`, `dm.allowFrom`).
 */
export function resolveAccess(
  cfg: OpenClawConfig,
  merged: Record<string, any>,
  normalize: (entry: string) => string,
  opts: { dmPolicyFallback?: unknown; allowFromFallback?: unknown; historyDefault: number },
): AccessConfig {
  const dmPolicy = pick<DmPolicy>(merged.dmPolicy, DM_POLICIES) ?? pick<DmPolicy>(opts.dmPolicyFallback, DM_POLICIES) ?? "pairing";
  const defaults = (cfg.channels as { defaults?: { groupPolicy?: unknown } } | undefined)?.defaults;
  const groupPolicy = pick<GroupPolicy>(merged.groupPolicy, GROUP_POLICIES) ?? pick<GroupPolicy>(defaults?.groupPolicy, GROUP_POLICIES) ?? "allowlist";
  const allowFrom = normalizeList(merged.allowFrom ?? opts.allowFromFallback, normalize);
  const groupAllowFrom = merged.groupAllowFrom !== undefined ? normalizeList(merged.groupAllowFrom, normalize) : allowFrom.filter((e) => e !== "*");
  const messages = (cfg as { messages?: { groupChat?: { historyLimit?: unknown; mentionPatterns?: unknown } } }).messages;
  const history = [merged.historyLimit, messages?.groupChat?.historyLimit].find((v) => typeof v === "number" && Number.isInteger(v) && v >= 0) as number | undefined;
  return {
    dmPolicy,
    allowFrom,
    groupPolicy,
    groupAllowFrom,
    mentionPatterns: compileMentionPatterns(Array.isArray(merged.mentionPatterns) ? merged.mentionPatterns : messages?.groupChat?.mentionPatterns),
    historyLimit: Math.min(history ?? opts.historyDefault, 500),
  };
}

/** Mention patterns of an agent (`agents.entries.<id>.groupChat.mentionPatterns`), if it sets any. */
export function agentMentionPatterns(cfg: OpenClawConfig, agentId: string): RegExp[] | undefined {
  const entries = (cfg.agents?.entries ?? {}) as Record<string, { groupChat?: { mentionPatterns?: unknown } }>;
  for (const [id, entry] of Object.entries(entries)) {
    if (id.toLowerCase() !== agentId.toLowerCase()) continue;
    const raw = entry?.groupChat?.mentionPatterns;
    if (raw !== undefined) return compileMentionPatterns(raw);
  }
  return undefined;
}

/** A stable key of the given values: changes mean the transport must reconnect. */
export function transportKeyOf(values: unknown): string {
  if (Array.isArray(values)) return `[${values.map(transportKeyOf).join(",")}]`;
  if (values && typeof values === "object") {
    const obj = values as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${transportKeyOf(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(values ?? null);
}
