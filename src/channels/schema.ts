/**
 * The channel subsystem's tables in the gateway's SQLite database (schema set `channels`, one
 * step per version; steps are only ever appended):
 *
 *   1  the durable inbound queue and the transport cursors (ingress.ts);
 *   2  the last conversation of each session, where `last` delivery goes (routes.ts).
 */
export const CHANNELS_SCHEMA: readonly string[] = [
  `
  CREATE TABLE channel_ingress (
    account_key  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    lane         TEXT NOT NULL,
    state        INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    attempts     INTEGER NOT NULL DEFAULT 0,
    payload      TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_key, event_id)
  );
  CREATE INDEX channel_ingress_pending ON channel_ingress (account_key, state, lane);
  CREATE TABLE channel_cursors (
    account_key  TEXT PRIMARY KEY,
    cursor       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE channel_routes (
    session_key  TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    chat_id      TEXT NOT NULL,
    chat_kind    TEXT NOT NULL,
    thread_id    TEXT,
    peer_id      TEXT,
    updated_at   INTEGER NOT NULL
  );
  CREATE INDEX channel_routes_agent ON channel_routes (agent_id, updated_at);
  `,
];
