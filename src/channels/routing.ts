/**
 * Inbound message → agent and session key, as the channel-routing docs describe.
 *
 * Agent: the most specific matching `bindings[]` entry wins — exact peer, parent peer (a
 * thread's channel), peer wildcard, guild + roles, guild, account, any account (`*`) — else a
 * topic's own `agentId`, else the default agent. A binding without `accountId` matches the
 * channel's default account only.
 *
 * Session key (`session.dmScope`, default `main`; `session.groupScope`, default `per-group`):
 *   direct   main → agent:<a>:<mainKey>; per-peer → agent:<a>:direct:<peer>;
 *            per-channel-peer → agent:<a>:<ch>:direct:<peer>;
 *            per-account-channel-peer → agent:<a>:<ch>:<account>:direct:<peer>
 *   group    agent:<a>:<ch>:group:<chatId>[:topic:<topicId>]   (Telegram)
 *   channel  agent:<a>:<ch>:channel:<channelId>[:thread:<threadId>]   (Discord guild channels)
 *   groupScope main sends groups to the main session as well.
 */
import { defaultAgentId, listAgents } from "../agents/registry.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import type { ChatKind, InboundMessage } from "./types.ts";

export type DmScope = "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer";
const DM_SCOPES: readonly string[] = ["main", "per-peer", "per-channel-peer", "per-account-channel-peer"];

export interface Route {
  agentId: string;
  sessionKey: string;
  peer: { kind: ChatKind; id: string };
  /** Which rule picked the agent. */
  matchedBy: "peer" | "parent-peer" | "peer-wildcard" | "guild-roles" | "guild" | "account" | "channel" | "topic" | "default";
}

interface Binding {
  agentId?: unknown;
  match?: {
    channel?: unknown;
    accountId?: unknown;
    peer?: { kind?: unknown; id?: unknown };
    guildId?: unknown;
    roles?: unknown;
  };
  session?: { dmScope?: unknown; groupScope?: unknown };
  type?: unknown;
}

function lower(v: unknown): string {
  return typeof v === "string" || typeof v === "number" ? String(v).trim().toLowerCase() : "";
}

/** The peer a message belongs to: the sender for DMs, the chat (plus topic) for groups. */
export function peerOf(msg: InboundMessage): { kind: ChatKind; id: string } {
  if (msg.chat.kind === "direct") return { kind: "direct", id: msg.sender.id };
  if (msg.chat.kind === "group") {
    return { kind: "group", id: msg.chat.threadId ? `${msg.chat.id}:topic:${msg.chat.threadId}` : msg.chat.id };
  }
  // Discord: a thread is its own channel; the session hangs under the parent channel.
  if (msg.chat.parentId) return { kind: "channel", id: `${msg.chat.parentId}:thread:${msg.chat.id}` };
  return { kind: "channel", id: msg.chat.id };
}

export function mainSessionKey(agentId: string, cfg: OpenClawConfig): string {
  const session = (cfg.session ?? {}) as { mainKey?: unknown };
  const mainKey = typeof session.mainKey === "string" && session.mainKey.trim() ? session.mainKey.trim().toLowerCase() : "main";
  return `agent:${agentId.toLowerCase()}:${mainKey}`;
}

export function resolveRoute(
  cfg: OpenClawConfig,
  msg: InboundMessage,
  opts: { defaultAccountId: string; topicAgentId?: string },
): Route {
  const channel = msg.channel;
  const account = msg.accountId.toLowerCase();
  const peer = peerOf(msg);
  const parent = msg.chat.parentId ? { kind: "channel", id: msg.chat.parentId } : undefined;
  const bindings = (Array.isArray((cfg as { bindings?: unknown }).bindings) ? (cfg as { bindings: Binding[] }).bindings : []).filter(
    (b) => b && typeof b === "object" && (b.type === undefined || b.type === "route") && typeof b.agentId === "string" && lower(b.match?.channel) === channel,
  );
  const accountMatches = (b: Binding) => {
    const want = lower(b.match?.accountId);
    if (!want) return account === opts.defaultAccountId.toLowerCase();
    return want === "*" || want === account;
  };
  const known = new Set(listAgents(cfg).map((a) => a.id.toLowerCase()));
  const candidates = bindings.filter(accountMatches).filter((b) => known.has(lower(b.agentId)));
  const peerIdOf = (b: Binding) => lower(b.match?.peer?.id);
  const peerKindOf = (b: Binding) => lower(b.match?.peer?.kind);
  const rolesOf = (b: Binding) => (Array.isArray(b.match?.roles) ? (b.match!.roles as unknown[]).map(lower).filter(Boolean) : []);
  const guildOf = (b: Binding) => lower(b.match?.guildId);
  const senderRoles = new Set((msg.sender.roles ?? []).map((r) => r.toLowerCase()));
  const peerId = peer.id.toLowerCase();
  const chatOnlyId = msg.chat.kind === "direct" ? peerId : msg.chat.id.toLowerCase();

  // Fields a binding names must all match.
  const fits = (b: Binding) => {
    const g = guildOf(b);
    if (g && g !== lower(msg.chat.guildId)) return false;
    const roles = rolesOf(b);
    if (roles.length && !roles.some((r) => senderRoles.has(r))) return false;
    return true;
  };
  const pick = (pred: (b: Binding) => boolean) => candidates.find((b) => fits(b) && pred(b));
  const kindOk = (b: Binding, kind: string) => !peerKindOf(b) || peerKindOf(b) === kind;

  const steps: Array<[Route["matchedBy"], (b: Binding) => boolean]> = [
    ["peer", (b) => !!peerIdOf(b) && (peerIdOf(b) === peerId || peerIdOf(b) === chatOnlyId) && kindOk(b, peer.kind)],
    ["parent-peer", (b) => !!parent && peerIdOf(b) === parent.id.toLowerCase() && kindOk(b, "channel")],
    ["peer-wildcard", (b) => peerIdOf(b) === "*" && kindOk(b, peer.kind)],
    ["guild-roles", (b) => !peerIdOf(b) && !!guildOf(b) && rolesOf(b).length > 0],
    ["guild", (b) => !peerIdOf(b) && !!guildOf(b) && rolesOf(b).length === 0],
    ["account", (b) => !peerIdOf(b) && !guildOf(b) && !!lower(b.match?.accountId) && lower(b.match?.accountId) !== "*"],
    ["channel", (b) => !peerIdOf(b) && !guildOf(b) && (!lower(b.match?.accountId) || lower(b.match?.accountId) === "*")],
  ];
  let agentId: string | undefined;
  let matchedBy: Route["matchedBy"] = "default";
  let binding: Binding | undefined;
  for (const [name, pred] of steps) {
    binding = pick(pred);
    if (binding) {
      agentId = String(binding.agentId);
      matchedBy = name;
      break;
    }
  }
  if (!agentId && opts.topicAgentId && known.has(opts.topicAgentId.toLowerCase())) {
    agentId = opts.topicAgentId;
    matchedBy = "topic";
  }
  agentId = (agentId ?? defaultAgentId(cfg)).toLowerCase();
  return { agentId, sessionKey: sessionKeyFor(cfg, msg, agentId, peer, binding), peer, matchedBy };
}

function sessionKeyFor(cfg: OpenClawConfig, msg: InboundMessage, agentId: string, peer: { kind: ChatKind; id: string }, binding?: Binding): string {
  const session = (cfg.session ?? {}) as { dmScope?: unknown; groupScope?: unknown };
  if (peer.kind === "direct") {
    const raw = binding?.session?.dmScope ?? session.dmScope;
    const scope = (typeof raw === "string" && DM_SCOPES.includes(raw) ? raw : "main") as DmScope;
    const id = peer.id.toLowerCase();
    if (scope === "per-account-channel-peer") return `agent:${agentId}:${msg.channel}:${msg.accountId.toLowerCase()}:direct:${id}`;
    if (scope === "per-channel-peer") return `agent:${agentId}:${msg.channel}:direct:${id}`;
    if (scope === "per-peer") return `agent:${agentId}:direct:${id}`;
    return mainSessionKey(agentId, cfg);
  }
  const groupScope = binding?.session?.groupScope ?? session.groupScope;
  if (groupScope === "main") return mainSessionKey(agentId, cfg);
  return `agent:${agentId}:${msg.channel}:${peer.kind}:${peer.id.toLowerCase()}`;
}
