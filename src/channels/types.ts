/**
 * The one interface a chat channel implements (`ChannelPlugin`), and the shapes the channel
 * host, the access policy and the agent wiring exchange. Adding a channel is one folder under
 * `src/channels/` that exports a `ChannelPlugin`; the host does the rest (supervision, status,
 * durable ingress, policy, pairing, history, typing, turns, replies).
 */
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";

export type Env = Record<string, string | undefined>;
export type DmPolicy = "pairing" | "allowlist" | "open" | "disabled";
export type GroupPolicy = "open" | "allowlist" | "disabled";
export type ChatKind = "direct" | "group" | "channel";
export type TokenSource = "config" | "env" | "tokenFile" | "none";

/** Static description of a channel (labels as the Control UI and CLI show them). */
export interface ChannelMeta {
  id: string;
  label: string;
  detailLabel: string;
  systemImage?: string;
  docsPath: string;
  /** How the pairing list names a sender id (`telegramUserId`, `discordUserId`). */
  idLabel: string;
  /** What the drop logs call a group chat: "group" (Telegram), "guild" (Discord). */
  groupNoun: string;
  /** The config key of the group allowlist map, for log hints. */
  groupsKey: string;
  /** Default of `historyLimit` (unmentioned group messages kept as context). */
  historyLimitDefault: number;
}

/** Policy-relevant settings of one account (channel root merged with the account). */
export interface AccessConfig {
  dmPolicy: DmPolicy;
  /** Normalized DM allowlist from config (`*` kept). */
  allowFrom: string[];
  groupPolicy: GroupPolicy;
  /** Normalized group sender allowlist; falls back to `allowFrom` when unset (never to the pairing store). */
  groupAllowFrom: string[];
  /** Text patterns that count as a mention in groups (case-insensitive). */
  mentionPatterns: RegExp[];
  /** Unmentioned group messages kept as context per chat (0 disables). */
  historyLimit: number;
}

/** One configured account, resolved from config (and env for the default account's token). */
export interface ResolvedAccount {
  channel: string;
  accountId: string;
  name?: string;
  enabled: boolean;
  /** Credentials are present. */
  configured: boolean;
  token?: string;
  tokenSource: TokenSource;
  /** Effective account config (channel root overlaid by `accounts.<id>`). */
  config: Record<string, any>;
  access: AccessConfig;
  /** Changes of this string need a reconnect; anything else applies to new messages in place. */
  transportKey: string;
  /** `polling` | `webhook` (Telegram), `gateway` (Discord). */
  mode: string;
  /** A reason the account cannot start although configured (bad config); shown as lastError. */
  blockedReason?: string;
}

/** Where a reply goes. */
export interface ReplyTarget {
  chatId: string;
  kind: ChatKind;
  /** Telegram forum topic / DM thread, Discord thread (the thread is the channel there). */
  threadId?: string;
  /** The message being answered. */
  messageId?: string;
}

/** Where an outbound message (automation delivery) goes, parsed from a delivery target. */
export interface OutboundTarget extends ReplyTarget {
  /** A user known only by id (Discord `user:<id>`): the DM channel is opened before sending. */
  userId?: string;
}

/** A delivery target in a channel's grammar, parsed; `to` is its canonical form. */
export type ParsedTarget = { ok: true; target: OutboundTarget; to: string } | { ok: false; error: string };

export interface InboundSender {
  id: string;
  username?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  isBot?: boolean;
  /** Discord guild member roles. */
  roles?: string[];
}

/** A platform message normalized for the host. */
export interface InboundMessage {
  channel: string;
  accountId: string;
  /** Unique per account (dedupe key). */
  eventId: string;
  chat: {
    id: string;
    kind: ChatKind;
    title?: string;
    /** Telegram forum topic id, Discord thread id. */
    threadId?: string;
    /** Discord: the parent channel of a thread (and its name); the guild. */
    parentId?: string;
    parentTitle?: string;
    guildId?: string;
  };
  sender: InboundSender;
  text: string;
  messageId: string;
  /** The bot was addressed natively (an @mention entity, `<@id>`, a reply to the bot). */
  mentioned: boolean;
  timestamp: number;
  /** Bot-native command (`/help`, `/whoami`), lower case, without the bot suffix. */
  command?: string;
}

/** How a group/guild chat matched the channel's group configuration. */
export interface GroupScope {
  /** A group allowlist map is configured (`groups`, `guilds`). */
  allowlistConfigured: boolean;
  /** The chat matched an entry of that map (explicit id or `*`). */
  matched: boolean;
  enabled?: boolean;
  groupPolicy?: GroupPolicy;
  requireMention?: boolean;
  /** A per-group/channel sender allowlist (Telegram `groups.<id>.allowFrom`, Discord `users`). */
  allowFrom?: string[];
  /** Discord role ids that admit a sender (OR with `allowFrom`). */
  roles?: string[];
  /** Topic-level agent override. */
  agentId?: string;
  systemPrompt?: string;
  /** Whether turn errors are posted to the chat: always (default), once per cooldown, silent. */
  errorPolicy?: "always" | "once" | "silent";
  /** What the drop log calls the chat. */
  label?: string;
}

export interface ProbeResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  elapsedMs: number;
  [key: string]: unknown;
}

/** REST-side operations of one account (work without the inbound connection). */
export interface AccountClient {
  /**
   * Send a reply (formatted and chunked for the platform); returns the sent message ids. The
   * ids are also pushed to `sent` as each chunk goes out, so a caller can tell a partial send.
   */
  sendText(target: ReplyTarget, text: string, sent?: string[]): Promise<string[]>;
  /** The DM chat with a user, opened if needed (absent where the user id is the chat id). */
  openDirect?(userId: string): Promise<string>;
  /** Show "typing…" once (the host repeats it every `typingIntervalMs`). */
  sendTyping(target: ReplyTarget): Promise<void>;
  /** React to the inbound message (the 👀 ack). */
  react(target: ReplyTarget, emoji: string): Promise<void>;
  /** Send a direct message to a user (pairing approval notice). */
  notify(userId: string, text: string): Promise<void>;
  probe(timeoutMs: number): Promise<ProbeResult>;
}

export interface IngestEvent {
  /** Unique per account (Telegram update_id, Discord message id). */
  id: string;
  /** Events of one lane are processed in order (a chat, a topic). */
  lane: string;
  payload: unknown;
}

/** Live status fields an account runtime reports. */
export interface RuntimeStatusPatch {
  connected?: boolean;
  lastConnectedAt?: number | null;
  lastTransportActivityAt?: number | null;
  reconnectAttempts?: number;
  lastError?: string | null;
  [key: string]: unknown;
}

/** What the host hands a running account. */
export interface AccountContext {
  account: ResolvedAccount;
  client: AccountClient;
  signal: AbortSignal;
  log: Logger;
  fetch: typeof fetch;
  env: Env;
  /** Store events durably; resolves once committed (and waits while the queue is full). */
  ingest(events: IngestEvent[], cursor?: string): Promise<void>;
  /** The cursor stored with the last ingest (Telegram offset), if any. */
  cursor(): string | undefined;
  status(patch: RuntimeStatusPatch): void;
}

/** Thrown by an account runtime when retrying cannot help (bad token, disallowed intents). */
export class FatalChannelError extends Error {
  override name = "FatalChannelError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface ChannelPlugin {
  meta: ChannelMeta;
  /** Account ids configured for this channel (empty when the channel block is absent). */
  listAccountIds(cfg: OpenClawConfig, env: Env): string[];
  defaultAccountId(cfg: OpenClawConfig, env: Env): string;
  resolveAccount(cfg: OpenClawConfig, accountId: string, env: Env): ResolvedAccount;
  createClient(account: ResolvedAccount, deps: { fetch: typeof fetch; log: Logger; env: Env }): AccountClient;
  /** Run the inbound side until `ctx.signal` aborts (resolve) or a failure (throw). */
  run(ctx: AccountContext): Promise<void>;
  /** Turn a stored event into a message (null: not a message we handle). */
  decode(payload: unknown, ctx: { account: ResolvedAccount; client: AccountClient; log: Logger }): Promise<InboundMessage | null>;
  /** How a group chat matches the account's group configuration. */
  groupScope(account: ResolvedAccount, msg: InboundMessage): GroupScope;
  /** Normalize an allowlist entry (`telegram:123` → `123`); "" drops it. */
  normalizeAllowEntry(entry: string): string;
  /** Extra status fields (tokenSource, mode, …). */
  describe(account: ResolvedAccount): Record<string, unknown>;
  /** The line of the pairing reply that tells the sender their id. */
  pairingIdLine(senderId: string): string;
  /** Interval of the typing indicator during a turn. */
  typingIntervalMs: number;
  /**
   * Parse a delivery target (`cron --to`, heartbeat `to`, an owner id): this channel's grammar,
   * a provider prefix (`telegram:`, `discord:`) allowed; a separate thread id wins over one in
   * the target.
   */
  parseTarget(to: string, threadId?: string | number): ParsedTarget;
  /** The canonical target of a stored conversation (what `parseTarget` reads back). */
  targetOf(route: { chatId: string; kind: ChatKind; threadId?: string }): string;
  /** A DM target for an allowlist entry, or undefined when the entry is not a person. */
  ownerTarget(entry: string): string | undefined;
  /** Provider prefixes of this channel's targets; the first one is canonical. */
  targetPrefixes: readonly string[];
  /** What a target looks like, for "requires target" errors. */
  targetHint: string;
  /** Remove the account's credentials from a raw config document; returns what was cleared. */
  logout?(doc: Record<string, any>, accountId: string, env: Env): { cleared: boolean; envToken: boolean };
}

/** What the agent runtime receives for one admitted message. */
export interface TurnRequest {
  agentId: string;
  sessionKey: string;
  channel: string;
  accountId: string;
  /** The peer the session is about (`direct` sender / `group` chat id, with `:topic:` for topics). */
  peer: { kind: ChatKind; id: string };
  chat: InboundMessage["chat"];
  sender: InboundSender;
  messageId: string;
  /** The message text (bot mention prefix kept; it is what the user wrote). */
  text: string;
  /** Unmentioned group messages since the last turn in this chat, oldest first. */
  history: HistoryEntry[];
  /** Group/topic system prompt from the channel config. */
  systemPrompt?: string;
  wasMentioned: boolean;
  signal: AbortSignal;
}

export interface TurnResult {
  /** Reply text (Markdown); empty or absent: nothing is sent. */
  text?: string;
}

export type RunTurn = (req: TurnRequest) => Promise<TurnResult | null | undefined>;

/**
 * Thrown by a `RunTurn` when the turn could not start (the session store is unavailable, the
 * agent's queue is full): the host leaves the event queued and retries it with backoff instead
 * of answering with an error (nothing reached the transcript, so nothing is lost).
 */
export class TurnDeferredError extends Error {
  override name = "TurnDeferredError";
}

export interface HistoryEntry {
  senderId: string;
  sender: string;
  text: string;
  messageId: string;
  timestamp: number;
}
