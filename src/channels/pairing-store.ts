/**
 * DM pairing state, stored exactly where and how the official OpenClaw 2026.9.6 keeps it, so
 * its `openclaw pairing list|approve` (which work on the state dir directly, gateway running or
 * not) and ours read and write the same rows:
 *
 *   <stateDir>/state/openclaw.sqlite   (WAL, 0600 in a 0700 directory)
 *     channel_pairing_requests       (channel_key, account_id, request_id, code, created_at,
 *                                     last_seen_at, meta_json)   pending requests
 *     channel_pairing_allow_entries  (channel_key, account_id, entry, sort_order, updated_at)
 *                                     approved senders
 *
 * We create only these two tables when the database is new (with the original's column types,
 * keys and indexes); the official CLI upgrades such a file to its full schema on first use and
 * keeps our rows. We never touch any other table.
 *
 * Every write is one `BEGIN IMMEDIATE` transaction on the state database, taken while holding
 * the cross-process write coordinator the original uses: an exclusive SQLite lock on
 * `<tmp>/openclaw-state-locks-<uid>/state-lifecycle.<sha256(realpath(db))[0..8]>.lock.sqlite`.
 *
 * Rules (the documented ones): codes are 8 characters from an alphabet without 0/O/1/I, pending
 * requests expire one hour after creation and are capped at 3 per channel account (the least
 * recently seen go first); a sender with a pending request keeps its code.
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const PAIRING_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const PAIRING_CODE_LENGTH = 8;
export const PAIRING_TTL_MS = 60 * 60 * 1000;
export const PAIRING_PENDING_MAX = 3;
const CODE_ATTEMPTS = 500;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS channel_pairing_requests (
  channel_key TEXT NOT NULL,
  account_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  code TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  meta_json TEXT,
  PRIMARY KEY (channel_key, account_id, request_id)
) STRICT`,
  `CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_code
  ON channel_pairing_requests(channel_key, code)`,
  `CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_created
  ON channel_pairing_requests(channel_key, created_at, request_id)`,
  `CREATE TABLE IF NOT EXISTS channel_pairing_allow_entries (
  channel_key TEXT NOT NULL,
  account_id TEXT NOT NULL,
  entry TEXT NOT NULL,
  sort_order INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel_key, account_id, entry)
) STRICT`,
  `CREATE INDEX IF NOT EXISTS idx_channel_pairing_allow_account
  ON channel_pairing_allow_entries(channel_key, account_id, sort_order, entry)`,
];

export interface PairingRequest {
  /** The sender id (the platform user id). */
  id: string;
  code: string;
  createdAt: string;
  lastSeenAt: string;
  /** Always carries `accountId`; plus sender metadata (username, firstName, …). */
  meta: Record<string, string>;
}

export class PairingKeyError extends Error {
  override name = "PairingKeyError";
}

/** `telegram` → `telegram`; path-hostile characters become `_` (the original's key rule). */
export function channelKey(channel: string): string {
  const raw = String(channel ?? "").trim().toLowerCase();
  const safe = raw.replace(/[\\/:*?"<>|]/g, "_").replace(/\.\./g, "_");
  if (!safe || safe === "_") throw new PairingKeyError(`invalid pairing channel: ${JSON.stringify(channel)}`);
  return safe;
}

/** Blank → `default`; otherwise trimmed and lower-cased. */
export function accountKey(accountId: string | undefined | null): string {
  return String(accountId ?? "").trim().toLowerCase() || "default";
}

/** The opaque id the RPCs use instead of the code: sha256(channel␀account␀sender␀createdAt), base64url, 32 chars. */
export function requestIdFor(channel: string, request: Pick<PairingRequest, "id" | "createdAt" | "meta">): string {
  const account = accountKey(request.meta?.accountId);
  return new Bun.CryptoHasher("sha256").update(`${channel}\0${account}\0${request.id}\0${request.createdAt}`).digest("base64url").slice(0, 32);
}

export function randomPairingCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PAIRING_CODE_LENGTH));
  let out = "";
  // 256 is a multiple of 32: every byte maps uniformly onto the alphabet.
  for (const b of bytes) out += PAIRING_CODE_ALPHABET[b % PAIRING_CODE_ALPHABET.length];
  return out;
}

export function isPairingCode(value: string): boolean {
  return new RegExp(`^[${PAIRING_CODE_ALPHABET}]{${PAIRING_CODE_LENGTH}}$`).test(value);
}

export function stateDatabasePath(stateDir: string): string {
  return join(stateDir, "state", "openclaw.sqlite");
}

/** Where the original keeps its cross-process state locks. */
export function coordinatorDirectory(env: Record<string, string | undefined> = process.env): string {
  const base = process.platform === "win32" ? join(env.USERPROFILE || homedir(), "AppData", "Local", "OpenClaw", "locks") : "/tmp";
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  return join(canonical(base), uid === undefined ? "openclaw-state-locks" : `openclaw-state-locks-${uid}`);
}

function canonical(path: string): string {
  const abs = resolve(path);
  try {
    return resolve(realpathSync.native(abs));
  } catch {
    // Not created yet: canonicalise the nearest existing ancestor and append the rest.
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(canonical(parent), abs.slice(parent.length + 1));
  }
}

export function coordinatorPathFor(dbPath: string, lockDir: string): string {
  const hash = new Bun.CryptoHasher("sha256").update(canonical(dbPath)).digest("hex").slice(0, 8);
  return join(lockDir, `state-lifecycle.${hash}.lock.sqlite`);
}

export class PairingStoreBusyError extends Error {
  override name = "PairingStoreBusyError";
}

interface RequestRow {
  channel_key: string;
  account_id: string;
  request_id: string;
  code: string;
  created_at: string;
  last_seen_at: string;
  meta_json: string | null;
}

export interface PairingStoreOptions {
  /** Directory of the cross-process write lock (default: the original's). */
  lockDir?: string;
  busyTimeoutMs?: number;
  now?: () => number;
}

export class PairingStore {
  readonly path: string;
  private db?: Database;
  private readonly lockPath: string;
  private readonly lockDir: string;
  private readonly busyTimeoutMs: number;
  private readonly now: () => number;

  constructor(stateDir: string, opts: PairingStoreOptions = {}) {
    this.path = stateDatabasePath(stateDir);
    this.lockDir = opts.lockDir ?? coordinatorDirectory();
    this.lockPath = coordinatorPathFor(this.path, this.lockDir);
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }

  private open(): Database {
    if (this.db) return this.db;
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fresh = !existsSync(this.path);
    const db = new Database(this.path, { create: true });
    try {
      if (fresh) chmodSync(this.path, 0o600);
      db.run(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = NORMAL");
      db.run("PRAGMA foreign_keys = ON");
      const have = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('channel_pairing_requests','channel_pairing_allow_entries')").all();
      if (have.length < 2) this.withLock(() => db.transaction(() => SCHEMA.forEach((sql) => db.run(sql))).immediate());
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    return db;
  }

  /** Hold the original's cross-process write coordinator around `fn`. */
  private withLock<T>(fn: () => T): T {
    mkdirSync(this.lockDir, { recursive: true, mode: 0o700 });
    const lock = new Database(this.lockPath, { create: true });
    try {
      try {
        lock.run(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
        lock.run("PRAGMA journal_mode = MEMORY");
        lock.run("BEGIN EXCLUSIVE");
      } catch (err) {
        throw new PairingStoreBusyError(`pairing store is busy (another openclaw process holds ${this.lockPath}): ${(err as Error).message}`);
      }
      return fn();
    } finally {
      try {
        if (lock.inTransaction) lock.run("ROLLBACK");
      } finally {
        lock.close();
      }
    }
  }

  private write<T>(fn: (db: Database) => T): T {
    const db = this.open();
    return this.withLock(() => db.transaction(() => fn(db)).immediate());
  }

  /** Approved senders of one account (the pairing allowlist), in approval order. */
  readAllowFrom(channel: string, accountId?: string): string[] {
    const db = this.open();
    const rows = db
      .query("SELECT entry FROM channel_pairing_allow_entries WHERE channel_key = ? AND account_id = ? ORDER BY sort_order, entry")
      .all(channelKey(channel), accountKey(accountId)) as Array<{ entry: string }>;
    return rows.map((r) => r.entry);
  }

  addAllowEntry(channel: string, accountId: string | undefined, entry: string): boolean {
    const value = entry.trim();
    if (!value || value === "*") return false;
    return this.write((db) => this.insertAllow(db, channelKey(channel), accountKey(accountId), value));
  }

  removeAllowEntry(channel: string, accountId: string | undefined, entry: string): boolean {
    return this.write((db) => {
      const res = db.query("DELETE FROM channel_pairing_allow_entries WHERE channel_key = ? AND account_id = ? AND entry = ?").run(channelKey(channel), accountKey(accountId), entry.trim());
      return res.changes > 0;
    });
  }

  private insertAllow(db: Database, ch: string, acct: string, entry: string): boolean {
    const exists = db.query("SELECT 1 FROM channel_pairing_allow_entries WHERE channel_key = ? AND account_id = ? AND entry = ?").get(ch, acct, entry);
    if (exists) return false;
    const next = db.query("SELECT COALESCE(MAX(sort_order) + 1, 0) AS n FROM channel_pairing_allow_entries WHERE channel_key = ? AND account_id = ?").get(ch, acct) as { n: number };
    db.query("INSERT INTO channel_pairing_allow_entries (channel_key, account_id, entry, sort_order, updated_at) VALUES (?, ?, ?, ?, ?)").run(ch, acct, entry, next.n, this.now());
    return true;
  }

  /** Pending requests (expired and over-cap ones are pruned first), oldest first. */
  listRequests(channel: string, accountId?: string): PairingRequest[] {
    const ch = channelKey(channel);
    const filter = accountId === undefined || String(accountId).trim() === "" ? undefined : accountKey(accountId);
    return this.write((db) => {
      this.prune(db, ch);
      const rows = (filter === undefined
        ? db.query("SELECT * FROM channel_pairing_requests WHERE channel_key = ? ORDER BY created_at, account_id, request_id").all(ch)
        : db.query("SELECT * FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ? ORDER BY created_at, account_id, request_id").all(ch, filter)) as RequestRow[];
      return rows.flatMap((r) => toRequest(r));
    });
  }

  /**
   * Create or refresh the pending request of `id`. A new request gets a fresh code
   * (`created: true`); an existing one keeps its code (`created: false`); when the account
   * already has the maximum of pending requests, nothing is stored (`code: ""`).
   */
  upsertRequest(params: { channel: string; accountId?: string; id: string; meta?: Record<string, string | undefined> }): { code: string; created: boolean } {
    const ch = channelKey(params.channel);
    const acct = accountKey(params.accountId);
    const id = String(params.id).trim();
    if (!id) throw new PairingKeyError("invalid pairing sender id: empty");
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(params.meta ?? {})) {
      const s = typeof v === "string" ? v.trim() : "";
      if (s && k !== "accountId") meta[k] = s;
    }
    meta.accountId = acct;
    return this.write((db) => {
      this.prune(db, ch);
      const nowIso = new Date(this.now()).toISOString();
      const existing = db.query("SELECT * FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ? AND request_id = ?").get(ch, acct, id) as RequestRow | null;
      if (existing) {
        db.query("UPDATE channel_pairing_requests SET last_seen_at = ?, meta_json = ? WHERE channel_key = ? AND account_id = ? AND request_id = ?").run(nowIso, JSON.stringify(meta), ch, acct, id);
        return { code: existing.code, created: false };
      }
      const count = (db.query("SELECT COUNT(*) AS n FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ?").get(ch, acct) as { n: number }).n;
      if (count >= PAIRING_PENDING_MAX) return { code: "", created: false };
      const taken = new Set((db.query("SELECT code FROM channel_pairing_requests WHERE channel_key = ?").all(ch) as Array<{ code: string }>).map((r) => r.code.toUpperCase()));
      let code = "";
      for (let i = 0; i < CODE_ATTEMPTS && !code; i++) {
        const candidate = randomPairingCode();
        if (!taken.has(candidate)) code = candidate;
      }
      if (!code) throw new Error(`failed to generate a unique pairing code after ${CODE_ATTEMPTS} attempts`);
      db.query("INSERT INTO channel_pairing_requests (channel_key, account_id, request_id, code, created_at, last_seen_at, meta_json) VALUES (?, ?, ?, ?, ?, ?, ?)").run(ch, acct, id, code, nowIso, nowIso, JSON.stringify(meta));
      return { code, created: true };
    });
  }

  /** Approve by code (case-insensitive): the request goes, its sender joins the account's allowlist. */
  approveCode(params: { channel: string; code: string; accountId?: string }): { id: string; entry: PairingRequest } | null {
    const code = params.code.trim().toUpperCase();
    if (!code) return null;
    return this.resolve(params.channel, params.accountId, (r) => r.code.toUpperCase() === code, true);
  }

  /** Approve by the opaque request id (what the RPC and the Control UI use). */
  approveRequest(params: { channel: string; accountId?: string; requestId: string }): { id: string; entry: PairingRequest } | null {
    const requestId = params.requestId.trim();
    if (!requestId) return null;
    return this.resolve(params.channel, params.accountId, (r) => requestIdFor(params.channel, r) === requestId, true);
  }

  /** Remove a pending request without approving it (the sender may ask again later). */
  dismissRequest(params: { channel: string; accountId?: string; requestId: string }): { id: string; entry: PairingRequest } | null {
    const requestId = params.requestId.trim();
    if (!requestId) return null;
    return this.resolve(params.channel, params.accountId, (r) => requestIdFor(params.channel, r) === requestId, false);
  }

  private resolve(channel: string, accountId: string | undefined, match: (r: PairingRequest) => boolean, approve: boolean): { id: string; entry: PairingRequest } | null {
    const ch = channelKey(channel);
    const filter = accountId === undefined || String(accountId).trim() === "" ? undefined : accountKey(accountId);
    return this.write((db) => {
      this.prune(db, ch);
      const rows = db.query("SELECT * FROM channel_pairing_requests WHERE channel_key = ? ORDER BY created_at, account_id, request_id").all(ch) as RequestRow[];
      for (const row of rows) {
        if (filter !== undefined && row.account_id !== filter) continue;
        const entry = toRequest(row)[0];
        if (!entry || !match(entry)) continue;
        db.query("DELETE FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ? AND request_id = ?").run(ch, row.account_id, row.request_id);
        if (approve) this.insertAllow(db, ch, accountKey(filter ?? entry.meta.accountId), entry.id);
        return { id: entry.id, entry };
      }
      return null;
    });
  }

  /** Drop expired requests, then the least recently seen beyond the per-account cap. */
  private prune(db: Database, ch: string): void {
    const now = this.now();
    const rows = db.query("SELECT * FROM channel_pairing_requests WHERE channel_key = ?").all(ch) as RequestRow[];
    const byAccount = new Map<string, RequestRow[]>();
    for (const row of rows) {
      const created = Date.parse(row.created_at);
      if (!Number.isFinite(created) || now - created > PAIRING_TTL_MS) {
        db.query("DELETE FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ? AND request_id = ?").run(ch, row.account_id, row.request_id);
        continue;
      }
      const list = byAccount.get(row.account_id) ?? [];
      list.push(row);
      byAccount.set(row.account_id, list);
    }
    for (const list of byAccount.values()) {
      if (list.length <= PAIRING_PENDING_MAX) continue;
      list.sort((a, b) => seen(a) - seen(b));
      for (const row of list.slice(0, list.length - PAIRING_PENDING_MAX)) {
        db.query("DELETE FROM channel_pairing_requests WHERE channel_key = ? AND account_id = ? AND request_id = ?").run(ch, row.account_id, row.request_id);
      }
    }
  }
}

function seen(row: RequestRow): number {
  const t = Date.parse(row.last_seen_at);
  return Number.isFinite(t) ? t : Date.parse(row.created_at) || 0;
}

function toRequest(row: RequestRow): PairingRequest[] {
  if (!row.request_id || !row.code || !Number.isFinite(Date.parse(row.created_at))) return [];
  let meta: Record<string, string> = {};
  if (row.meta_json) {
    try {
      const parsed = JSON.parse(row.meta_json);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        for (const [k, v] of Object.entries(parsed)) if (typeof v === "string" && v.trim()) meta[k] = v.trim();
      }
    } catch {
      meta = {};
    }
  }
  meta.accountId = accountKey(row.account_id);
  const lastSeen = Number.isFinite(Date.parse(row.last_seen_at)) ? row.last_seen_at : row.created_at;
  return [{ id: row.request_id, code: row.code, createdAt: row.created_at, lastSeenAt: lastSeen, meta }];
}
