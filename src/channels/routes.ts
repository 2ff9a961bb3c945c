/**
 * The last conversation of each session: the channel, account, chat (and topic/thread) an
 * admitted message came from, kept per session key in the gateway's database so it survives
 * restarts. It is what `last` delivery resolves to — cron `delivery.channel: "last"` reads the
 * job's session (or the agent's main session), heartbeat `target: "last"` the heartbeat's
 * session — as the original resolves them from a session's stored delivery context.
 *
 * Under `session.dmScope: "main"` every DM lands in the agent's main session; when the account's
 * `allowFrom` names exactly one concrete sender, a DM from anyone else does not move the main
 * session's route (the owner's chat stays pinned), as the original does.
 *
 * Bounded: rows older than 180 days, and the oldest beyond 10,000 rows, are dropped.
 */
import type { Database, Statement } from "bun:sqlite";
import { migrateSet } from "../store/db.ts";
import { CHANNELS_SCHEMA } from "./schema.ts";
import type { ChatKind } from "./types.ts";

export interface ConversationRoute {
  sessionKey: string;
  agentId: string;
  channel: string;
  accountId: string;
  /** Where replies go: the chat (Telegram chat id, Discord channel id). */
  chatId: string;
  kind: ChatKind;
  /** Telegram forum topic; Discord threads are their own chat. */
  threadId?: string;
  /** The sender of a direct message (the peer the DM is with). */
  peerId?: string;
  updatedAt: number;
}

type RouteRow = {
  session_key: string;
  agent_id: string;
  channel: string;
  account_id: string;
  chat_id: string;
  chat_kind: string;
  thread_id: string | null;
  peer_id: string | null;
  updated_at: number;
};

const RETAIN_MS = 180 * 24 * 60 * 60 * 1000;
const RETAIN_ROWS = 10_000;
const PRUNE_EVERY = 200;

function toRoute(r: RouteRow): ConversationRoute {
  return {
    sessionKey: r.session_key,
    agentId: r.agent_id,
    channel: r.channel,
    accountId: r.account_id,
    chatId: r.chat_id,
    kind: (r.chat_kind === "group" || r.chat_kind === "channel" ? r.chat_kind : "direct") as ChatKind,
    ...(r.thread_id !== null ? { threadId: r.thread_id } : {}),
    ...(r.peer_id !== null ? { peerId: r.peer_id } : {}),
    updatedAt: r.updated_at,
  };
}

export class RouteStore {
  private readonly getQ: Statement<RouteRow, [string]>;
  private readonly upsertQ: Statement<unknown, [string, string, string, string, string, string, string | null, string | null, number]>;
  private writes = 0;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    migrateSet(db, "channels", CHANNELS_SCHEMA);
    this.getQ = db.query("SELECT * FROM channel_routes WHERE session_key = ?");
    this.upsertQ = db.query(
      `INSERT INTO channel_routes (session_key, agent_id, channel, account_id, chat_id, chat_kind, thread_id, peer_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_key) DO UPDATE SET agent_id = excluded.agent_id, channel = excluded.channel, account_id = excluded.account_id,
         chat_id = excluded.chat_id, chat_kind = excluded.chat_kind, thread_id = excluded.thread_id, peer_id = excluded.peer_id, updated_at = excluded.updated_at`,
    );
  }

  /** The session's last conversation (session keys are stored lower case). */
  get(sessionKey: string): ConversationRoute | undefined {
    const row = this.getQ.get(sessionKey.trim().toLowerCase());
    return row ? toRoute(row) : undefined;
  }

  record(route: Omit<ConversationRoute, "updatedAt">): void {
    this.upsertQ.run(
      route.sessionKey.toLowerCase(),
      route.agentId.toLowerCase(),
      route.channel,
      route.accountId,
      route.chatId,
      route.kind,
      route.threadId ?? null,
      route.peerId ?? null,
      this.now(),
    );
    if (++this.writes % PRUNE_EVERY === 0) this.prune();
  }

  prune(): void {
    this.db.transaction(() => {
      this.db.query("DELETE FROM channel_routes WHERE updated_at < ?").run(this.now() - RETAIN_MS);
      this.db
        .query(`DELETE FROM channel_routes WHERE rowid NOT IN (SELECT rowid FROM channel_routes ORDER BY updated_at DESC LIMIT ${RETAIN_ROWS})`)
        .run();
    }).immediate();
  }
}
