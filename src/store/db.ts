/**
 * The gateway's SQLite database, `<stateDir>/openclaw.sqlite`: WAL, `synchronous=NORMAL`
 * (durable across process crashes, one fsync per checkpoint), foreign keys on, file mode 0600.
 * The schema version lives in `PRAGMA user_version`; migrations run in one transaction each,
 * and a database written by a newer schema is refused rather than guessed at.
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const DB_FILE = "openclaw.sqlite";

/** Index i migrates user_version i → i+1. Append only; never edit a shipped step. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    key            TEXT PRIMARY KEY,
    agent_id       TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    message_count  INTEGER NOT NULL DEFAULT 0,
    model          TEXT,
    channel        TEXT,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX sessions_by_agent ON sessions (agent_id, updated_at DESC);
  CREATE INDEX sessions_by_time ON sessions (updated_at DESC);
  CREATE TABLE messages (
    session_key   TEXT NOT NULL REFERENCES sessions (key) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content       TEXT NOT NULL,
    tool_calls    TEXT,
    tool_call_id  TEXT,
    tool_name     TEXT,
    run_id        TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (session_key, seq)
  ) WITHOUT ROWID;
  CREATE TABLE responses (
    id           TEXT PRIMARY KEY,
    session_key  TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    header_key   TEXT,
    created_at   INTEGER NOT NULL
  );
  CREATE INDEX responses_by_time ON responses (created_at);
  `,
];

export class StoreVersionError extends Error {
  override name = "StoreVersionError";
}

export function dbPath(stateDir: string): string {
  return join(stateDir, DB_FILE);
}

export function migrate(db: Database): number {
  const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    throw new StoreVersionError(
      `${db.filename}: schema version ${current} is newer than this gateway understands (${MIGRATIONS.length}); upgrade openclaw or move the file aside.`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.run(MIGRATIONS[v]);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

/**
 * A subsystem's own migration list (pairing, automation, channels, ...) in the same database,
 * versioned by name in the `schema_sets` table so subsystems evolve independently of each other
 * and of the core tables above. Same rules: append only, one transaction per step, newer refused.
 */
export function migrateSet(db: Database, name: string, steps: readonly string[]): number {
  db.run("CREATE TABLE IF NOT EXISTS schema_sets (name TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  const row = db.query("SELECT version FROM schema_sets WHERE name = ?").get(name) as { version: number } | null;
  const current = row?.version ?? 0;
  if (current > steps.length) {
    throw new StoreVersionError(
      `${db.filename}: ${name} schema version ${current} is newer than this gateway understands (${steps.length}); upgrade openclaw or move the file aside.`,
    );
  }
  for (let v = current; v < steps.length; v++) {
    db.transaction(() => {
      db.run(steps[v]);
      db.run("INSERT INTO schema_sets (name, version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version", [name, v + 1]);
    })();
  }
  return steps.length;
}

/** Open (creating if needed) and migrate the state database. */
export function openDatabase(stateDir: string): Database {
  if (!existsSync(stateDir)) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = dbPath(stateDir);
  const fresh = !existsSync(path);
  const db = new Database(path, { create: true, strict: true });
  try {
    if (fresh) chmodSync(path, 0o600);
    // synchronous first: switching a new file to WAL then costs no extra fsync.
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA foreign_keys = ON");
    db.run("PRAGMA busy_timeout = 5000");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
