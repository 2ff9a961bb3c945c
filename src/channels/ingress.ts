/**
 * The durable inbound queue of the channel host, in the gateway's SQLite database (schema set
 * `channels`). A platform event is committed here — together with the transport cursor (the
 * Telegram offset) in the same transaction — before the platform is told it was received, so a
 * crash or restart replays it instead of losing it; the `(account, event)` key drops replays.
 *
 * Events are processed in order per lane (a chat, a topic). A failed attempt stays pending and
 * is retried; after `maxAttempts` it becomes a dead letter. Completed rows keep only their
 * identity (the payload is scrubbed) so replays stay deduplicated; completed and failed rows are
 * kept for 30 days and at most 1000 per account each.
 */
import type { Database } from "bun:sqlite";
import { migrateSet } from "../store/db.ts";
import { CHANNELS_SCHEMA } from "./schema.ts";
import type { IngestEvent } from "./types.ts";

const PENDING = 0;
const DONE = 1;
const FAILED = 2;
const RETAIN_MS = 30 * 24 * 60 * 60 * 1000;
const RETAIN_ROWS = 1000;

export interface QueuedEvent {
  seq: number;
  id: string;
  lane: string;
  attempts: number;
  payload: unknown;
}

export interface DeadLetter {
  id: string;
  lane: string;
  attempts: number;
  error: string | null;
  failedAt: number;
  payload: unknown;
}

export class IngressQueue {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    migrateSet(db, "channels", CHANNELS_SCHEMA);
  }

  /** Commit events (duplicates ignored) and the cursor in one transaction; returns how many were new. */
  enqueue(accountKey: string, events: readonly IngestEvent[], cursor?: string): number {
    const insert = this.db.query(
      "INSERT INTO channel_ingress (account_key, event_id, lane, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_key, event_id) DO NOTHING",
    );
    const setCursor = this.db.query(
      "INSERT INTO channel_cursors (account_key, cursor, updated_at) VALUES (?, ?, ?) ON CONFLICT (account_key) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    );
    return this.db.transaction(() => {
      const at = this.now();
      let added = 0;
      for (const e of events) added += insert.run(accountKey, e.id, e.lane, JSON.stringify(e.payload ?? null), at, at).changes;
      if (cursor !== undefined) setCursor.run(accountKey, cursor, at);
      return added;
    }).immediate();
  }

  cursor(accountKey: string): string | undefined {
    const row = this.db.query("SELECT cursor FROM channel_cursors WHERE account_key = ?").get(accountKey) as { cursor: string } | null;
    return row?.cursor;
  }

  pendingCount(accountKey: string): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM channel_ingress WHERE account_key = ? AND state = 0").get(accountKey) as { n: number }).n;
  }

  /** The oldest pending event of every lane not in `busy`, oldest lanes first. */
  heads(accountKey: string, busy: ReadonlySet<string>, limit: number): QueuedEvent[] {
    const rows = this.db
      .query(
        `SELECT rowid AS seq, event_id, lane, attempts, payload FROM channel_ingress
         WHERE rowid IN (SELECT MIN(rowid) FROM channel_ingress WHERE account_key = ? AND state = 0 GROUP BY lane)
         ORDER BY rowid`,
      )
      .all(accountKey) as Array<{ seq: number; event_id: string; lane: string; attempts: number; payload: string | null }>;
    const out: QueuedEvent[] = [];
    for (const r of rows) {
      if (busy.has(r.lane)) continue;
      out.push({ seq: r.seq, id: r.event_id, lane: r.lane, attempts: r.attempts, payload: parse(r.payload) });
      if (out.length >= limit) break;
    }
    return out;
  }

  complete(accountKey: string, eventId: string): void {
    this.db
      .query("UPDATE channel_ingress SET state = 1, payload = NULL, last_error = NULL, updated_at = ? WHERE account_key = ? AND event_id = ?")
      .run(this.now(), accountKey, eventId);
  }

  /** Record a failed attempt; `dead` once `maxAttempts` attempts failed. */
  fail(accountKey: string, eventId: string, error: string, maxAttempts: number): { verdict: "retry" | "dead"; attempts: number } {
    return this.db.transaction(() => {
      const row = this.db.query("SELECT attempts FROM channel_ingress WHERE account_key = ? AND event_id = ?").get(accountKey, eventId) as { attempts: number } | null;
      const attempts = (row?.attempts ?? 0) + 1;
      const dead = attempts >= maxAttempts;
      this.db
        .query("UPDATE channel_ingress SET attempts = ?, state = ?, last_error = ?, updated_at = ? WHERE account_key = ? AND event_id = ?")
        .run(attempts, dead ? FAILED : PENDING, error.slice(0, 2000), this.now(), accountKey, eventId);
      return { verdict: dead ? ("dead" as const) : ("retry" as const), attempts };
    }).immediate();
  }

  deadLetters(accountKey: string, limit = 100): DeadLetter[] {
    const rows = this.db
      .query("SELECT event_id, lane, attempts, last_error, updated_at, payload FROM channel_ingress WHERE account_key = ? AND state = 2 ORDER BY rowid DESC LIMIT ?")
      .all(accountKey, limit) as Array<{ event_id: string; lane: string; attempts: number; last_error: string | null; updated_at: number; payload: string | null }>;
    return rows.map((r) => ({ id: r.event_id, lane: r.lane, attempts: r.attempts, error: r.last_error, failedAt: r.updated_at, payload: parse(r.payload) }));
  }

  /** Bound the completed and failed rows of an account (age and count). */
  prune(accountKey: string): void {
    const cutoff = this.now() - RETAIN_MS;
    this.db.transaction(() => {
      this.db.query("DELETE FROM channel_ingress WHERE account_key = ? AND state IN (1, 2) AND updated_at < ?").run(accountKey, cutoff);
      for (const state of [DONE, FAILED]) {
        this.db
          .query(
            `DELETE FROM channel_ingress WHERE account_key = ? AND state = ? AND rowid NOT IN
             (SELECT rowid FROM channel_ingress WHERE account_key = ? AND state = ? ORDER BY rowid DESC LIMIT ${RETAIN_ROWS})`,
          )
          .run(accountKey, state, accountKey, state);
      }
    }).immediate();
  }
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
