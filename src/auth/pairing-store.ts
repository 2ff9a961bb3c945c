/**
 * The device pairing store: paired devices (roles, approved scopes, client metadata, per-role
 * tokens) and pending pairing requests, in the state database `<stateDir>/openclaw.sqlite`
 * (tables of the `pairing` migration set, beside the session store).
 *
 * One store, many processes: the gateway holds it for its lifetime and a short-lived CLI may open
 * the same file at the same time. Every mutation is one `BEGIN IMMEDIATE` transaction that reads
 * what it decides on and writes the result, so two writers serialize on SQLite's lock (busy
 * timeout 5 s) instead of overwriting each other, and a crash (even kill -9) leaves either the
 * whole change or none of it (WAL). Reads never write: expired requests are filtered out by reads
 * and deleted by the next mutation.
 *
 * Tokens are never stored, only their salt and SHA-256 (see pairing-tokens.ts).
 *
 * The rules are the original's: a pending request lives 5 minutes from its last refresh; a device
 * that retries with an approval-compatible request refreshes the same request (same requestId),
 * anything else supersedes all its pending requests with one merged request and a new requestId;
 * approval merges roles and scopes into the paired record and (re)mints the token of each
 * requested role; token checks stay inside the approved scope baseline.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { dbPath, migrateSet, openDatabase } from "../store/db.ts";
import {
  OPERATOR_ROLE,
  isSubset,
  mergeRoles,
  mergeScopes,
  missingRequestedScope,
  normalizeTokenScopes,
  roleScopesAllow,
  sameSet,
  scopeOutsideRoles,
  scopesForRole,
  sortedUnique,
} from "./pairing-scopes.ts";
import { deriveToken, hashToken, loadOrCreateTokenSecret, newSalt, tokenMatches, tokenSecretPath } from "./pairing-tokens.ts";

/** Pending device-pairing requests expire this long after their last refresh. */
export const PENDING_TTL_MS = 300_000;

export interface PairingLimits {
  maxPending: number;
  maxPaired: number;
  maxDisplayName: number;
  maxPlatform: number;
  maxDeviceFamily: number;
  maxClientField: number;
  maxRemoteIp: number;
  maxPublicKey: number;
  maxRoles: number;
  maxRoleLength: number;
  maxScopes: number;
  maxScopeLength: number;
  maxLabel: number;
}

export const DEFAULT_PAIRING_LIMITS: PairingLimits = {
  maxPending: 256,
  maxPaired: 1024,
  maxDisplayName: 256,
  maxPlatform: 128,
  maxDeviceFamily: 128,
  maxClientField: 64,
  maxRemoteIp: 64,
  maxPublicKey: 512,
  maxRoles: 8,
  maxRoleLength: 64,
  maxScopes: 32,
  maxScopeLength: 128,
  maxLabel: 64,
};

export const PAIRING_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE pairing_pending (
    request_id       TEXT PRIMARY KEY,
    device_id        TEXT NOT NULL,
    public_key       TEXT NOT NULL,
    display_name     TEXT,
    platform         TEXT,
    device_family    TEXT,
    client_id        TEXT,
    client_mode      TEXT,
    role             TEXT,
    roles_json       TEXT,
    scopes_json      TEXT,
    remote_ip        TEXT,
    silent           INTEGER,
    is_repair        INTEGER,
    ts               INTEGER NOT NULL,
    refreshed_at_ms  INTEGER
  );
  CREATE INDEX pairing_pending_by_device ON pairing_pending (device_id);
  CREATE TABLE pairing_devices (
    device_id             TEXT PRIMARY KEY,
    public_key            TEXT NOT NULL,
    display_name          TEXT,
    operator_label        TEXT,
    platform              TEXT,
    device_family         TEXT,
    client_id             TEXT,
    client_mode           TEXT,
    role                  TEXT,
    roles_json            TEXT,
    scopes_json           TEXT,
    approved_scopes_json  TEXT,
    remote_ip             TEXT,
    approved_via          TEXT,
    created_at_ms         INTEGER NOT NULL,
    approved_at_ms        INTEGER NOT NULL,
    last_seen_at_ms       INTEGER,
    last_seen_reason      TEXT
  );
  CREATE TABLE pairing_tokens (
    device_id        TEXT NOT NULL REFERENCES pairing_devices (device_id) ON DELETE CASCADE,
    role             TEXT NOT NULL,
    token_hash       BLOB NOT NULL,
    salt             BLOB NOT NULL,
    scopes_json      TEXT NOT NULL,
    issuer           TEXT,
    created_at_ms    INTEGER NOT NULL,
    rotated_at_ms    INTEGER,
    revoked_at_ms    INTEGER,
    last_used_at_ms  INTEGER,
    PRIMARY KEY (device_id, role)
  ) WITHOUT ROWID;
  `,
];

export type ApprovedVia = "owner" | "silent" | "trusted-cidr" | "trusted-proxy" | "ssh-verified" | "bootstrap";
const APPROVED_VIA = new Set<string>(["owner", "silent", "trusted-cidr", "trusted-proxy", "ssh-verified", "bootstrap"]);

/** A pending request as clients see it (`device.pair.list`, `device.pair.requested`). */
export interface PendingRequest {
  requestId: string;
  deviceId: string;
  publicKey: string;
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  silent?: boolean;
  isRepair?: boolean;
  ts: number;
}

interface StoredPending extends PendingRequest {
  refreshedAtMs?: number;
}

/** A token as the store knows it: everything but the bearer value. */
export interface TokenRecord {
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
  /** Shared-secret generation a browser token is bound to (stale once the secret changes). */
  issuer?: string;
  salt: Buffer;
  hash: Buffer;
}

/** Token metadata as clients see it (never the token). */
export interface TokenSummary {
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}

export interface PairedDevice {
  deviceId: string;
  publicKey: string;
  displayName?: string;
  operatorLabel?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  approvedScopes?: string[];
  remoteIp?: string;
  approvedVia?: ApprovedVia;
  createdAtMs: number;
  approvedAtMs: number;
  lastSeenAtMs?: number;
  lastSeenReason?: string;
  tokens: Record<string, TokenRecord>;
}

/** A paired device as clients see it: tokens summarised, the internal scope baseline dropped. */
export interface PublicPairedDevice extends Omit<PairedDevice, "tokens" | "approvedScopes"> {
  connected?: boolean;
  tokens?: TokenSummary[];
}

/** A token handed to a client: the bearer value plus its metadata. */
export interface IssuedToken extends TokenSummary {
  token: string;
  issuer?: string;
}

export interface PairingRequestInput {
  deviceId: string;
  publicKey: string;
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  silent?: boolean;
}

export interface PairingRequestResult {
  status: "pending";
  request: PendingRequest;
  /** False when an existing compatible request was refreshed (same requestId). */
  created: boolean;
  expiresAtMs: number;
  /** Requests of the same device replaced by this one. */
  superseded?: { requestId: string; deviceId: string }[];
}

export type ApprovalForbiddenReason = "caller-scopes-required" | "caller-missing-scope" | "scope-outside-requested-roles" | "approval-policy-changed";

export type ApprovalResult =
  | { status: "approved"; requestId: string; device: PairedDevice }
  | { status: "forbidden"; reason: ApprovalForbiddenReason; scope?: string };

export interface ApproveOptions {
  /** The approving session's scopes; required when an operator token with scopes is minted. */
  callerScopes?: readonly string[];
  approvedVia?: ApprovedVia;
  /** Fresh connection facts recorded on the paired device. */
  accessMetadata?: { displayName?: string; remoteIp?: string; lastSeenAtMs?: number; lastSeenReason?: string };
  /** Rechecked inside the transaction; false turns the approval into `approval-policy-changed`. */
  isApprovalCurrent?: (pending: PendingRequest, existing: PairedDevice | undefined) => boolean;
}

export type TokenCheck =
  | { ok: true; issuer?: string }
  | { ok: false; reason: "device-not-paired" | "role-missing" | "token-missing" | "token-revoked" | "token-mismatch" | "issuer-generation-stale" | "scope-mismatch" };

export type TokenMutation =
  | { ok: true; entry: IssuedToken }
  | { ok: false; reason: "unknown-device-or-role" | "missing-approved-scope-baseline" | "scope-outside-approved-baseline" | "caller-missing-scope"; scope?: string };

export type RevokeResult =
  | { ok: true; entry: TokenSummary & { revokedAtMs: number } }
  | { ok: false; reason: "unknown-device-or-role" | "caller-missing-scope"; scope?: string };

export interface MetadataPatch {
  displayName?: string | null;
  operatorLabel?: string | null;
  platform?: string | null;
  clientId?: string | null;
  clientMode?: string | null;
  remoteIp?: string | null;
  lastSeenAtMs?: number | null;
  lastSeenReason?: string | null;
}

/** Refused input (oversized metadata, malformed ids): nothing was stored. */
export class PairingInputError extends Error {
  override name = "PairingInputError";
}

/** A cap on stored requests or devices was reached: nothing was stored. */
export class PairingLimitError extends Error {
  override name = "PairingLimitError";
}

export interface PairingStoreOptions {
  /** Where the token secret lives; required for anything that hands out tokens. */
  secretPath?: string;
  /** A fixed secret instead of a file (tests). */
  secret?: Uint8Array;
  now?: () => number;
  limits?: Partial<PairingLimits>;
}

type PendingRow = {
  request_id: string;
  device_id: string;
  public_key: string;
  display_name: string | null;
  platform: string | null;
  device_family: string | null;
  client_id: string | null;
  client_mode: string | null;
  role: string | null;
  roles_json: string | null;
  scopes_json: string | null;
  remote_ip: string | null;
  silent: number | null;
  is_repair: number | null;
  ts: number;
  refreshed_at_ms: number | null;
};

type DeviceRow = {
  device_id: string;
  public_key: string;
  display_name: string | null;
  operator_label: string | null;
  platform: string | null;
  device_family: string | null;
  client_id: string | null;
  client_mode: string | null;
  role: string | null;
  roles_json: string | null;
  scopes_json: string | null;
  approved_scopes_json: string | null;
  remote_ip: string | null;
  approved_via: string | null;
  created_at_ms: number;
  approved_at_ms: number;
  last_seen_at_ms: number | null;
  last_seen_reason: string | null;
};

type TokenRow = {
  device_id: string;
  role: string;
  token_hash: Uint8Array;
  salt: Uint8Array;
  scopes_json: string;
  issuer: string | null;
  created_at_ms: number;
  rotated_at_ms: number | null;
  revoked_at_ms: number | null;
  last_used_at_ms: number | null;
};

const DEVICE_ID_RE = /^[0-9a-f]{64}$/;

function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function parseList(json: string | null): string[] | undefined {
  if (json === null) return undefined;
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
  } catch {
    return undefined;
  }
}

function listJson(list: readonly string[] | undefined): string | null {
  return list === undefined ? null : JSON.stringify(list);
}

function boolCol(v: boolean | undefined): number | null {
  return v === undefined ? null : v ? 1 : 0;
}

function pendingFromRow(r: PendingRow): StoredPending {
  return {
    requestId: r.request_id,
    deviceId: r.device_id,
    publicKey: r.public_key,
    ...opt("displayName", r.display_name),
    ...opt("platform", r.platform),
    ...opt("deviceFamily", r.device_family),
    ...opt("clientId", r.client_id),
    ...opt("clientMode", r.client_mode),
    ...opt("role", r.role),
    ...opt("roles", parseList(r.roles_json)),
    ...opt("scopes", parseList(r.scopes_json)),
    ...opt("remoteIp", r.remote_ip),
    ...opt("silent", r.silent === null ? null : r.silent !== 0),
    ...opt("isRepair", r.is_repair === null ? null : r.is_repair !== 0),
    ts: r.ts,
    ...opt("refreshedAtMs", r.refreshed_at_ms),
  };
}

function tokenFromRow(r: TokenRow): TokenRecord {
  return {
    role: r.role,
    scopes: parseList(r.scopes_json) ?? [],
    createdAtMs: r.created_at_ms,
    ...opt("rotatedAtMs", r.rotated_at_ms),
    ...opt("revokedAtMs", r.revoked_at_ms),
    ...opt("lastUsedAtMs", r.last_used_at_ms),
    ...opt("issuer", r.issuer),
    salt: Buffer.from(r.salt),
    hash: Buffer.from(r.token_hash),
  };
}

function deviceFromRow(r: DeviceRow, tokens: TokenRow[]): PairedDevice {
  const byRole: Record<string, TokenRecord> = {};
  for (const t of tokens) byRole[t.role] = tokenFromRow(t);
  return {
    deviceId: r.device_id,
    publicKey: r.public_key,
    ...opt("displayName", r.display_name),
    ...opt("operatorLabel", r.operator_label),
    ...opt("platform", r.platform),
    ...opt("deviceFamily", r.device_family),
    ...opt("clientId", r.client_id),
    ...opt("clientMode", r.client_mode),
    ...opt("role", r.role),
    ...opt("roles", parseList(r.roles_json)),
    ...opt("scopes", parseList(r.scopes_json)),
    ...opt("approvedScopes", parseList(r.approved_scopes_json)),
    ...opt("remoteIp", r.remote_ip),
    ...opt("approvedVia", r.approved_via !== null && APPROVED_VIA.has(r.approved_via) ? (r.approved_via as ApprovedVia) : null),
    createdAtMs: r.created_at_ms,
    approvedAtMs: r.approved_at_ms,
    ...opt("lastSeenAtMs", r.last_seen_at_ms),
    ...opt("lastSeenReason", r.last_seen_reason),
    tokens: byRole,
  };
}

/** The request without its internal refresh time. */
export function publicPending(p: PendingRequest): PendingRequest {
  const { refreshedAtMs: _refreshed, ...rest } = p as StoredPending;
  return rest;
}

export function summarizeTokens(tokens: Record<string, TokenRecord> | undefined): TokenSummary[] | undefined {
  if (!tokens) return undefined;
  const out = Object.values(tokens)
    .map((t) => ({
      role: t.role,
      scopes: t.scopes,
      createdAtMs: t.createdAtMs,
      ...opt("rotatedAtMs", t.rotatedAtMs),
      ...opt("revokedAtMs", t.revokedAtMs),
      ...opt("lastUsedAtMs", t.lastUsedAtMs),
    }))
    .sort((a, b) => a.role.localeCompare(b.role));
  return out.length > 0 ? out : undefined;
}

/** What `device.pair.list` / `approve` return for a device: no token values, no scope baseline. */
export function redactDevice(d: PairedDevice, connected?: boolean): PublicPairedDevice {
  const { tokens, approvedScopes: _baseline, ...rest } = d;
  const out: PublicPairedDevice = { ...rest };
  if (connected !== undefined) out.connected = connected;
  const summary = summarizeTokens(tokens);
  if (summary) out.tokens = summary;
  return out;
}

/** Roles the owner approved for a device (durable, independent of token state). */
export function approvedRoles(d: PairedDevice): string[] {
  return mergeRoles(d.roles, d.role) ?? [];
}

/** Approved roles that still have an active (not revoked) token. */
export function effectiveRoles(d: PairedDevice): string[] {
  const active = mergeRoles(Object.values(d.tokens).filter((t) => !t.revokedAtMs).map((t) => t.role));
  if (!active) return [];
  const approved = new Set(approvedRoles(d));
  return active.filter((r) => approved.has(r));
}

/** The approved scope baseline (sorted), what pairing checks compare requests with. */
export function approvedAccessScopes(d: PairedDevice | undefined): string[] {
  if (!d) return [];
  return sortedUnique(Array.isArray(d.approvedScopes) ? d.approvedScopes : Array.isArray(d.scopes) ? d.scopes : []);
}

function baseline(d: PairedDevice): string[] | null {
  const b = d.approvedScopes ?? d.scopes;
  return Array.isArray(b) ? normalizeTokenScopes(b) : null;
}

function withinBaseline(role: string, scopes: readonly string[], approved: string[] | null): boolean {
  return approved !== null && roleScopesAllow(role, scopes, approved);
}

function requestedRoles(p: { role?: string; roles?: string[] }): string[] {
  return mergeRoles(p.roles, p.role) ?? [];
}

function normRole(role: string | undefined | null): string | undefined {
  const t = role?.trim();
  return t ? t : undefined;
}

function mergeApprovedVia(existing: PairedDevice | undefined, incoming: ApprovedVia): ApprovedVia | undefined {
  if (incoming === "owner" || !existing) return incoming;
  if (existing.approvedVia === undefined) return incoming === "bootstrap" ? "bootstrap" : undefined;
  if (existing.approvedVia === "owner" || existing.approvedVia === "bootstrap") return existing.approvedVia;
  return incoming;
}

export class PairingStore {
  readonly limits: PairingLimits;
  private readonly now: () => number;
  private secret?: Uint8Array;
  private readonly secretPath?: string;
  private readonly ownsDb: boolean;

  /** Open (creating and migrating) the pairing tables of `<stateDir>/openclaw.sqlite`. */
  static open(stateDir: string, opts: Omit<PairingStoreOptions, "secretPath"> = {}): PairingStore {
    return new PairingStore(openDatabase(stateDir), { ...opts, secretPath: tokenSecretPath(stateDir) }, true);
  }

  /**
   * The store for reading only (`doctor`): undefined when the state database or its pairing
   * tables do not exist. Nothing is created, migrated or written; mutations would fail.
   */
  static openReadOnly(stateDir: string, opts: Omit<PairingStoreOptions, "secretPath"> = {}): PairingStore | undefined {
    const path = dbPath(stateDir);
    if (!existsSync(path)) return undefined;
    const db = new Database(path, { readonly: true, strict: true });
    try {
      const known = db.query("SELECT version FROM schema_sets WHERE name = 'pairing'").get() as { version: number } | null;
      if (!known || known.version !== PAIRING_MIGRATIONS.length) {
        db.close();
        return undefined;
      }
    } catch {
      db.close();
      return undefined;
    }
    return new PairingStore(db, { ...opts }, true, false);
  }

  constructor(
    readonly db: Database,
    opts: PairingStoreOptions = {},
    ownsDb = false,
    migrate = true,
  ) {
    if (migrate) migrateSet(db, "pairing", PAIRING_MIGRATIONS);
    this.limits = { ...DEFAULT_PAIRING_LIMITS, ...opts.limits };
    this.now = opts.now ?? Date.now;
    this.secret = opts.secret;
    this.secretPath = opts.secretPath;
    this.ownsDb = ownsDb;
  }

  close(): void {
    if (this.ownsDb) this.db.close();
  }

  // ---- reads (never write) ----

  /** Live pending requests (newest first) and paired devices (most recently approved first). */
  list(): { pending: PendingRequest[]; paired: PairedDevice[] } {
    const now = this.now();
    return this.db.transaction(() => ({
      pending: this.readPending()
        .filter((p) => !isExpired(p, now))
        .sort((a, b) => b.ts - a.ts)
        .map(publicPending),
      paired: this.readDevices().sort((a, b) => b.approvedAtMs - a.approvedAtMs),
    }))();
  }

  getPaired(deviceId: string): PairedDevice | undefined {
    const id = deviceId.trim();
    if (!id) return undefined;
    const row = this.db.query("SELECT * FROM pairing_devices WHERE device_id = ?").get(id) as DeviceRow | null;
    if (!row) return undefined;
    const tokens = this.db.query("SELECT * FROM pairing_tokens WHERE device_id = ?").all(id) as TokenRow[];
    return deviceFromRow(row, tokens);
  }

  /** A live (not expired) pending request. */
  getPending(requestId: string): PendingRequest | undefined {
    const row = this.db.query("SELECT * FROM pairing_pending WHERE request_id = ?").get(requestId.trim()) as PendingRow | null;
    if (!row) return undefined;
    const p = pendingFromRow(row);
    return isExpired(p, this.now()) ? undefined : publicPending(p);
  }

  /** When a live pending request expires. */
  expiresAt(requestId: string): number | undefined {
    const row = this.db.query("SELECT * FROM pairing_pending WHERE request_id = ?").get(requestId.trim()) as PendingRow | null;
    if (!row) return undefined;
    const p = pendingFromRow(row);
    return (p.refreshedAtMs ?? p.ts) + PENDING_TTL_MS;
  }

  /**
   * The current bearer value of a device's active token, derived again from its salt; undefined
   * when there is none or the token secret changed since it was minted.
   */
  currentToken(deviceId: string, role: string): IssuedToken | undefined {
    const d = this.getPaired(deviceId);
    const t = d?.tokens[role];
    if (!d || !t || t.revokedAtMs) return undefined;
    return this.reissue(d.deviceId, t);
  }

  // ---- mutations (one immediate transaction each) ----

  /** File (or refresh, or supersede) the pending request of a device. */
  requestPairing(input: PairingRequestInput): PairingRequestResult {
    const req = this.assertRequestWithinLimits(input);
    return this.write(() => {
      const now = this.now();
      this.pruneExpired(now);
      const isRepair = this.deviceExists(req.deviceId);
      const existing = this.readPendingFor(req.deviceId).sort((a, b) => b.ts - a.ts);
      if (existing.length === 1 && (sameApprovalSnapshot(existing[0], req) || coveredByExisting(existing[0], req))) {
        const prev = existing[0];
        const refreshed: StoredPending = {
          ...prev,
          publicKey: req.publicKey,
          ...opt("displayName", req.displayName ?? prev.displayName),
          ...opt("platform", req.platform ?? prev.platform),
          ...opt("deviceFamily", req.deviceFamily ?? prev.deviceFamily),
          ...opt("clientId", req.clientId ?? prev.clientId),
          ...opt("clientMode", req.clientMode ?? prev.clientMode),
          ...opt("remoteIp", req.remoteIp ?? prev.remoteIp),
          silent: Boolean(prev.silent && req.silent),
          isRepair: Boolean(prev.isRepair || isRepair),
          ts: prev.ts,
          refreshedAtMs: now,
        };
        this.putPending(refreshed);
        return { status: "pending", request: publicPending(refreshed), created: false, expiresAtMs: now + PENDING_TTL_MS };
      }
      for (const p of existing) this.db.run("DELETE FROM pairing_pending WHERE request_id = ?", [p.requestId]);
      const count = (this.db.query("SELECT COUNT(*) AS n FROM pairing_pending").get() as { n: number }).n;
      if (count >= this.limits.maxPending) {
        throw new PairingLimitError(
          `too many pending pairing requests (${this.limits.maxPending}); approve or reject some with \`openclaw devices list\` first`,
        );
      }
      const latest = existing[0];
      const role = normRole(req.role) ?? latest?.role;
      const roles = mergeRoles(...existing.flatMap((p) => [p.roles, p.role]), req.roles, req.role);
      const scopes = mergeScopes(...existing.map((p) => p.scopes), req.scopes);
      const silent = Boolean(req.silent && existing.every((p) => p.silent === true));
      const request: StoredPending = {
        requestId: crypto.randomUUID(),
        deviceId: req.deviceId,
        publicKey: req.publicKey,
        ...opt("displayName", req.displayName),
        ...opt("platform", req.platform),
        ...opt("deviceFamily", req.deviceFamily),
        ...opt("clientId", req.clientId),
        ...opt("clientMode", req.clientMode),
        ...opt("role", role),
        ...opt("roles", mergeRoles(roles, role)),
        ...opt("scopes", scopes),
        ...opt("remoteIp", req.remoteIp),
        silent,
        isRepair,
        ts: now,
      };
      this.checkListSizes(request.roles, request.scopes);
      this.putPending(request);
      const result: PairingRequestResult = { status: "pending", request: publicPending(request), created: true, expiresAtMs: now + PENDING_TTL_MS };
      if (existing.length > 0) result.superseded = existing.map((p) => ({ requestId: p.requestId, deviceId: p.deviceId }));
      return result;
    });
  }

  /** Approve a live pending request; null when there is none (unknown, expired or already resolved). */
  approve(requestId: string, opts: ApproveOptions = {}): ApprovalResult | null {
    return this.write(() => {
      const now = this.now();
      this.pruneExpired(now);
      const row = this.db.query("SELECT * FROM pairing_pending WHERE request_id = ?").get(requestId.trim()) as PendingRow | null;
      if (!row) return null;
      const pending = pendingFromRow(row);
      const existing = this.getPaired(pending.deviceId);
      if (opts.isApprovalCurrent && !opts.isApprovalCurrent(publicPending(pending), existing)) {
        return { status: "forbidden", reason: "approval-policy-changed" } as const;
      }
      const roles = requestedRoles(pending);
      const requested = normalizeTokenScopes(pending.scopes);
      const outside = scopeOutsideRoles(roles, requested);
      if (outside) return { status: "forbidden", reason: "scope-outside-requested-roles", scope: outside } as const;

      const mergedRoles = mergeRoles(existing?.roles, existing?.role, pending.roles, pending.role);
      const approvedScopes = mergeScopes(existing?.approvedScopes ?? existing?.scopes, pending.scopes);
      const nextScopes = new Map<string, string[]>();
      for (const role of roles) {
        const existingToken = existing?.tokens[role];
        const scopes = approvedTokenScopes(role, pending, existingToken, approvedScopes, existing);
        nextScopes.set(role, scopes);
        if (role === OPERATOR_ROLE && scopes.length > 0) {
          const required = mergeScopes(scopesForRole(role, pending.scopes), scopes) ?? scopes;
          if (!opts.callerScopes) return { status: "forbidden", reason: "caller-scopes-required", scope: required[0] } as const;
          const missing = missingRequestedScope(OPERATOR_ROLE, required, opts.callerScopes);
          if (missing) return { status: "forbidden", reason: "caller-missing-scope", scope: missing } as const;
        }
      }
      if (!existing) {
        const count = (this.db.query("SELECT COUNT(*) AS n FROM pairing_devices").get() as { n: number }).n;
        if (count >= this.limits.maxPaired) {
          throw new PairingLimitError(`too many paired devices (${this.limits.maxPaired}); remove unused ones with \`openclaw devices remove\` first`);
        }
      }
      const tokens: Record<string, TokenRecord> = { ...(existing?.tokens ?? {}) };
      for (const [role, scopes] of nextScopes) {
        const prev = tokens[role];
        tokens[role] = this.mint(pending.deviceId, role, scopes, now, prev, prev?.issuer);
      }
      const meta = opts.accessMetadata;
      const device: PairedDevice = {
        deviceId: pending.deviceId,
        publicKey: pending.publicKey,
        ...opt("displayName", meta?.displayName ?? pending.displayName),
        ...opt("operatorLabel", existing?.operatorLabel),
        ...opt("platform", pending.platform),
        ...opt("deviceFamily", pending.deviceFamily),
        ...opt("clientId", pending.clientId),
        ...opt("clientMode", pending.clientMode),
        ...opt("role", pending.role),
        ...opt("roles", mergedRoles),
        ...opt("scopes", approvedScopes),
        ...opt("approvedScopes", approvedScopes),
        ...opt("remoteIp", meta?.remoteIp ?? pending.remoteIp),
        ...opt("approvedVia", mergeApprovedVia(existing, opts.approvedVia ?? "owner")),
        createdAtMs: existing?.createdAtMs ?? now,
        approvedAtMs: now,
        ...opt("lastSeenAtMs", meta?.lastSeenAtMs ?? existing?.lastSeenAtMs),
        ...opt("lastSeenReason", meta?.lastSeenReason ?? existing?.lastSeenReason),
        tokens,
      };
      this.db.run("DELETE FROM pairing_pending WHERE request_id = ?", [pending.requestId]);
      this.putDevice(device);
      return { status: "approved", requestId: pending.requestId, device } as const;
    });
  }

  reject(requestId: string): { requestId: string; deviceId: string } | null {
    return this.write(() => {
      this.pruneExpired(this.now());
      const row = this.db.query("SELECT * FROM pairing_pending WHERE request_id = ?").get(requestId.trim()) as PendingRow | null;
      if (!row) return null;
      this.db.run("DELETE FROM pairing_pending WHERE request_id = ?", [row.request_id]);
      return { requestId: row.request_id, deviceId: row.device_id };
    });
  }

  /** Remove a paired device, its tokens and any pending request of the same device. */
  remove(deviceId: string): { deviceId: string } | null {
    const id = deviceId.trim();
    return this.write(() => {
      this.pruneExpired(this.now());
      if (!id || !this.deviceExists(id)) return null;
      this.db.run("DELETE FROM pairing_tokens WHERE device_id = ?", [id]);
      this.db.run("DELETE FROM pairing_devices WHERE device_id = ?", [id]);
      this.db.run("DELETE FROM pairing_pending WHERE device_id = ?", [id]);
      return { deviceId: id };
    });
  }

  /** Non-auth metadata of a paired device; false when the device is unknown. */
  updateMetadata(deviceId: string, patch: MetadataPatch): boolean {
    const id = deviceId.trim();
    this.checkText("displayName", patch.displayName, this.limits.maxDisplayName);
    this.checkText("label", patch.operatorLabel, this.limits.maxLabel);
    this.checkText("platform", patch.platform, this.limits.maxPlatform);
    this.checkText("clientId", patch.clientId, this.limits.maxClientField);
    this.checkText("clientMode", patch.clientMode, this.limits.maxClientField);
    this.checkText("remoteIp", patch.remoteIp, this.limits.maxRemoteIp);
    this.checkText("lastSeenReason", patch.lastSeenReason, this.limits.maxClientField);
    const columns: [keyof MetadataPatch, string][] = [
      ["displayName", "display_name"],
      ["operatorLabel", "operator_label"],
      ["platform", "platform"],
      ["clientId", "client_id"],
      ["clientMode", "client_mode"],
      ["remoteIp", "remote_ip"],
      ["lastSeenAtMs", "last_seen_at_ms"],
      ["lastSeenReason", "last_seen_reason"],
    ];
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    for (const [key, col] of columns) {
      if (!(key in patch)) continue;
      sets.push(`${col} = ?`);
      values.push((patch[key] as string | number | null | undefined) ?? null);
    }
    return this.write(() => {
      if (!id || !this.deviceExists(id)) return false;
      if (sets.length > 0) this.db.run(`UPDATE pairing_devices SET ${sets.join(", ")} WHERE device_id = ?`, [...values, id]);
      return true;
    });
  }

  /** The owner-side label (trimmed, 1..64 characters); false when the device is unknown. */
  rename(deviceId: string, label: string): boolean {
    const trimmed = label.trim();
    if (!trimmed) throw new PairingInputError("label required");
    return this.updateMetadata(deviceId, { operatorLabel: trimmed });
  }

  /** Check a presented device token for (device, role, requested scopes); records its use. */
  verifyToken(params: { deviceId: string; role: string; token: string; scopes: readonly string[]; issuer?: string }): TokenCheck {
    return this.write((): TokenCheck => {
      const now = this.now();
      const device = this.getPaired(params.deviceId);
      if (!device) return { ok: false, reason: "device-not-paired" };
      const role = normRole(params.role);
      if (!role) return { ok: false, reason: "role-missing" };
      const entry = device.tokens[role];
      if (!entry) return { ok: false, reason: "token-missing" };
      if (entry.revokedAtMs) return { ok: false, reason: "token-revoked" };
      if (!tokenMatches(params.token, entry.hash)) return { ok: false, reason: "token-mismatch" };
      if (entry.issuer !== undefined && entry.issuer !== params.issuer) return { ok: false, reason: "issuer-generation-stale" };
      if (!withinBaseline(role, entry.scopes, baseline(device))) return { ok: false, reason: "scope-mismatch" };
      if (!roleScopesAllow(role, normalizeTokenScopes(params.scopes), entry.scopes)) return { ok: false, reason: "scope-mismatch" };
      this.db.run("UPDATE pairing_tokens SET last_used_at_ms = ? WHERE device_id = ? AND role = ?", [now, device.deviceId, role]);
      this.db.run("UPDATE pairing_devices SET last_seen_at_ms = ?, last_seen_reason = ? WHERE device_id = ?", [now, "device-token-auth", device.deviceId]);
      return entry.issuer !== undefined ? { ok: true, issuer: entry.issuer } : { ok: true };
    });
  }

  /**
   * The token to send in `hello-ok.auth.deviceToken`: the existing one when it is active, inside
   * the approved baseline, from the same issuer and covers the requested scopes (re-sent, not
   * re-minted); otherwise a new one for the requested scopes. Null when the device/role is not
   * approved or the request exceeds the baseline.
   */
  ensureToken(params: { deviceId: string; role: string; scopes: readonly string[]; issuer?: string }): IssuedToken | null {
    return this.write(() => {
      const now = this.now();
      const ctx = this.tokenContext(params.deviceId, params.role);
      if (!ctx) return null;
      const { device, role, existing } = ctx;
      const requested = normalizeTokenScopes(params.scopes);
      const approved = baseline(device);
      if (!withinBaseline(role, requested, approved)) return null;
      if (existing && !existing.revokedAtMs && withinBaseline(role, existing.scopes, approved) && existing.issuer === params.issuer) {
        if (roleScopesAllow(role, requested, existing.scopes)) {
          const again = this.reissue(device.deviceId, existing);
          if (again) return again;
        }
      }
      const next = this.mint(device.deviceId, role, requested, now, existing, params.issuer);
      this.putToken(device.deviceId, next);
      return this.issued(device.deviceId, next);
    });
  }

  /** Rotate a role token inside the approved baseline (and the caller's scopes when given). */
  rotateToken(params: { deviceId: string; role: string; scopes?: readonly string[]; callerScopes?: readonly string[] }): TokenMutation {
    if (params.scopes) this.checkListSizes(undefined, [...params.scopes]);
    return this.write((): TokenMutation => {
      const now = this.now();
      const ctx = this.tokenContext(params.deviceId, params.role);
      if (!ctx) return { ok: false, reason: "unknown-device-or-role" };
      const { device, role, existing } = ctx;
      const requested = normalizeTokenScopes(params.scopes ?? existing?.scopes ?? device.scopes);
      const approved = baseline(device);
      if (!approved) return { ok: false, reason: "missing-approved-scope-baseline" };
      if (!withinBaseline(role, requested, approved)) return { ok: false, reason: "scope-outside-approved-baseline" };
      if (params.callerScopes) {
        const missing = missingRequestedScope(role, requested, params.callerScopes);
        if (missing) return { ok: false, reason: "caller-missing-scope", scope: missing };
      }
      const next = this.mint(device.deviceId, role, requested, now, existing, existing?.issuer, now);
      this.putToken(device.deviceId, next);
      return { ok: true, entry: this.issued(device.deviceId, next) };
    });
  }

  /** Revoke a role token; the paired entry stays, with `revokedAtMs` on the token. */
  revokeToken(params: { deviceId: string; role: string; callerScopes?: readonly string[] }): RevokeResult {
    return this.write((): RevokeResult => {
      const now = this.now();
      const ctx = this.tokenContext(params.deviceId, params.role);
      if (!ctx?.existing) return { ok: false, reason: "unknown-device-or-role" };
      const { device, role, existing } = ctx;
      const target = normalizeTokenScopes(Array.isArray(existing.scopes) ? existing.scopes : device.scopes);
      if (params.callerScopes) {
        const missing = missingRequestedScope(role, target, params.callerScopes);
        if (missing) return { ok: false, reason: "caller-missing-scope", scope: missing };
      }
      const entry: TokenRecord = { ...existing, revokedAtMs: now };
      this.putToken(device.deviceId, entry);
      const { salt: _s, hash: _h, issuer: _i, ...summary } = entry;
      return { ok: true, entry: { ...summary, revokedAtMs: now } };
    });
  }

  // ---- internals ----

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private secretBytes(): Uint8Array {
    if (!this.secret) {
      if (!this.secretPath) throw new Error("pairing store: no token secret configured (open it with PairingStore.open(stateDir))");
      this.secret = loadOrCreateTokenSecret(this.secretPath);
    }
    return this.secret;
  }

  /** A fresh token for a role; `createdAtMs` and `lastUsedAtMs` carry over from the one it replaces. */
  private mint(
    deviceId: string,
    role: string,
    scopes: string[],
    now: number,
    existing: TokenRecord | undefined,
    issuer: string | undefined,
    rotatedAtMs: number | undefined = existing ? now : undefined,
  ): TokenRecord {
    const salt = newSalt();
    const token = deriveToken(this.secretBytes(), deviceId, role, salt);
    return {
      role,
      scopes,
      createdAtMs: existing?.createdAtMs ?? now,
      ...opt("rotatedAtMs", rotatedAtMs),
      ...opt("lastUsedAtMs", existing?.lastUsedAtMs),
      ...opt("issuer", issuer),
      salt,
      hash: hashToken(token),
    };
  }

  /** The bearer value of a stored token, when the current secret still derives it. */
  private reissue(deviceId: string, t: TokenRecord): IssuedToken | undefined {
    const token = deriveToken(this.secretBytes(), deviceId, t.role, t.salt);
    if (!tokenMatches(token, t.hash)) return undefined;
    return this.issuedWith(token, t);
  }

  private issued(deviceId: string, t: TokenRecord): IssuedToken {
    return this.issuedWith(deriveToken(this.secretBytes(), deviceId, t.role, t.salt), t);
  }

  private issuedWith(token: string, t: TokenRecord): IssuedToken {
    return {
      token,
      role: t.role,
      scopes: t.scopes,
      createdAtMs: t.createdAtMs,
      ...opt("rotatedAtMs", t.rotatedAtMs),
      ...opt("revokedAtMs", t.revokedAtMs),
      ...opt("lastUsedAtMs", t.lastUsedAtMs),
      ...opt("issuer", t.issuer),
    };
  }

  private tokenContext(deviceId: string, role: string): { device: PairedDevice; role: string; existing?: TokenRecord } | null {
    const device = this.getPaired(deviceId);
    if (!device) return null;
    const r = normRole(role);
    if (!r || !approvedRoles(device).includes(r)) return null;
    return { device, role: r, existing: device.tokens[r] };
  }

  private deviceExists(id: string): boolean {
    return this.db.query("SELECT 1 FROM pairing_devices WHERE device_id = ?").get(id) !== null;
  }

  private readPending(): StoredPending[] {
    return (this.db.query("SELECT * FROM pairing_pending").all() as PendingRow[]).map(pendingFromRow);
  }

  private readPendingFor(deviceId: string): StoredPending[] {
    return (this.db.query("SELECT * FROM pairing_pending WHERE device_id = ?").all(deviceId) as PendingRow[]).map(pendingFromRow);
  }

  private readDevices(): PairedDevice[] {
    const rows = this.db.query("SELECT * FROM pairing_devices").all() as DeviceRow[];
    const tokens = this.db.query("SELECT * FROM pairing_tokens").all() as TokenRow[];
    const byDevice = new Map<string, TokenRow[]>();
    for (const t of tokens) {
      const list = byDevice.get(t.device_id) ?? [];
      list.push(t);
      byDevice.set(t.device_id, list);
    }
    return rows.map((r) => deviceFromRow(r, byDevice.get(r.device_id) ?? []));
  }

  private pruneExpired(now: number): void {
    this.db.run("DELETE FROM pairing_pending WHERE COALESCE(refreshed_at_ms, ts) < ?", [now - PENDING_TTL_MS]);
  }

  private putPending(p: StoredPending): void {
    this.db.run(
      `INSERT INTO pairing_pending (request_id, device_id, public_key, display_name, platform, device_family, client_id, client_mode,
         role, roles_json, scopes_json, remote_ip, silent, is_repair, ts, refreshed_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (request_id) DO UPDATE SET
         device_id = excluded.device_id, public_key = excluded.public_key, display_name = excluded.display_name,
         platform = excluded.platform, device_family = excluded.device_family, client_id = excluded.client_id,
         client_mode = excluded.client_mode, role = excluded.role, roles_json = excluded.roles_json,
         scopes_json = excluded.scopes_json, remote_ip = excluded.remote_ip, silent = excluded.silent,
         is_repair = excluded.is_repair, ts = excluded.ts, refreshed_at_ms = excluded.refreshed_at_ms`,
      [
        p.requestId,
        p.deviceId,
        p.publicKey,
        p.displayName ?? null,
        p.platform ?? null,
        p.deviceFamily ?? null,
        p.clientId ?? null,
        p.clientMode ?? null,
        p.role ?? null,
        listJson(p.roles),
        listJson(p.scopes),
        p.remoteIp ?? null,
        boolCol(p.silent),
        boolCol(p.isRepair),
        p.ts,
        p.refreshedAtMs ?? null,
      ],
    );
  }

  private putDevice(d: PairedDevice): void {
    this.db.run(
      `INSERT INTO pairing_devices (device_id, public_key, display_name, operator_label, platform, device_family, client_id,
         client_mode, role, roles_json, scopes_json, approved_scopes_json, remote_ip, approved_via, created_at_ms,
         approved_at_ms, last_seen_at_ms, last_seen_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET
         public_key = excluded.public_key, display_name = excluded.display_name, operator_label = excluded.operator_label,
         platform = excluded.platform, device_family = excluded.device_family, client_id = excluded.client_id,
         client_mode = excluded.client_mode, role = excluded.role, roles_json = excluded.roles_json,
         scopes_json = excluded.scopes_json, approved_scopes_json = excluded.approved_scopes_json,
         remote_ip = excluded.remote_ip, approved_via = excluded.approved_via, created_at_ms = excluded.created_at_ms,
         approved_at_ms = excluded.approved_at_ms, last_seen_at_ms = excluded.last_seen_at_ms,
         last_seen_reason = excluded.last_seen_reason`,
      [
        d.deviceId,
        d.publicKey,
        d.displayName ?? null,
        d.operatorLabel ?? null,
        d.platform ?? null,
        d.deviceFamily ?? null,
        d.clientId ?? null,
        d.clientMode ?? null,
        d.role ?? null,
        listJson(d.roles),
        listJson(d.scopes),
        listJson(d.approvedScopes),
        d.remoteIp ?? null,
        d.approvedVia ?? null,
        d.createdAtMs,
        d.approvedAtMs,
        d.lastSeenAtMs ?? null,
        d.lastSeenReason ?? null,
      ],
    );
    this.db.run("DELETE FROM pairing_tokens WHERE device_id = ?", [d.deviceId]);
    for (const t of Object.values(d.tokens)) this.putToken(d.deviceId, t);
  }

  private putToken(deviceId: string, t: TokenRecord): void {
    this.db.run(
      `INSERT INTO pairing_tokens (device_id, role, token_hash, salt, scopes_json, issuer, created_at_ms, rotated_at_ms,
         revoked_at_ms, last_used_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, role) DO UPDATE SET
         token_hash = excluded.token_hash, salt = excluded.salt, scopes_json = excluded.scopes_json, issuer = excluded.issuer,
         created_at_ms = excluded.created_at_ms, rotated_at_ms = excluded.rotated_at_ms,
         revoked_at_ms = excluded.revoked_at_ms, last_used_at_ms = excluded.last_used_at_ms`,
      [
        deviceId,
        t.role,
        t.hash,
        t.salt,
        JSON.stringify(t.scopes),
        t.issuer ?? null,
        t.createdAtMs,
        t.rotatedAtMs ?? null,
        t.revokedAtMs ?? null,
        t.lastUsedAtMs ?? null,
      ],
    );
  }

  private checkText(field: string, value: string | null | undefined, max: number): void {
    if (typeof value === "string" && value.length > max) {
      throw new PairingInputError(`device metadata too large: ${field} exceeds ${max} characters`);
    }
  }

  private checkListSizes(roles: readonly string[] | undefined, scopes: readonly string[] | undefined): void {
    const L = this.limits;
    if (roles && roles.length > L.maxRoles) throw new PairingInputError(`device metadata too large: more than ${L.maxRoles} roles`);
    for (const r of roles ?? []) this.checkText("role", r, L.maxRoleLength);
    if (scopes && scopes.length > L.maxScopes) throw new PairingInputError(`device metadata too large: more than ${L.maxScopes} scopes`);
    for (const s of scopes ?? []) this.checkText("scope", s, L.maxScopeLength);
  }

  /** Throws PairingInputError for a malformed id or oversized metadata; returns the input trimmed. */
  assertRequestWithinLimits(input: PairingRequestInput): PairingRequestInput {
    const deviceId = input.deviceId.trim();
    if (!DEVICE_ID_RE.test(deviceId)) throw new PairingInputError("deviceId must be 64 lowercase hex characters");
    const L = this.limits;
    if (!input.publicKey.trim()) throw new PairingInputError("publicKey required");
    this.checkText("publicKey", input.publicKey, L.maxPublicKey);
    this.checkText("displayName", input.displayName, L.maxDisplayName);
    this.checkText("platform", input.platform, L.maxPlatform);
    this.checkText("deviceFamily", input.deviceFamily, L.maxDeviceFamily);
    this.checkText("clientId", input.clientId, L.maxClientField);
    this.checkText("clientMode", input.clientMode, L.maxClientField);
    this.checkText("remoteIp", input.remoteIp, L.maxRemoteIp);
    this.checkText("role", input.role, L.maxRoleLength);
    this.checkListSizes(input.roles, input.scopes);
    return { ...input, deviceId };
  }
}

function isExpired(p: StoredPending, now: number): boolean {
  return now - (p.refreshedAtMs ?? p.ts) > PENDING_TTL_MS;
}

/** The same approval-bound facts: key, role, role set and (normalized) scope set. */
function sameApprovalSnapshot(existing: StoredPending, incoming: PairingRequestInput): boolean {
  if (existing.publicKey !== incoming.publicKey) return false;
  if (normRole(existing.role) !== normRole(incoming.role)) return false;
  if (!sameSet(requestedRoles(existing), requestedRoles(incoming))) return false;
  return sameSet(normalizeTokenScopes(existing.scopes), normalizeTokenScopes(incoming.scopes));
}

/** The incoming request asks for nothing the existing one does not already ask for. */
function coveredByExisting(existing: StoredPending, incoming: PairingRequestInput): boolean {
  if (existing.publicKey !== incoming.publicKey) return false;
  if (normRole(existing.role) !== normRole(incoming.role)) return false;
  const incomingRoles = requestedRoles(incoming);
  if (!isSubset(incomingRoles, requestedRoles(existing))) return false;
  const existingScopes = normalizeTokenScopes(existing.scopes);
  for (const scope of normalizeTokenScopes(incoming.scopes)) {
    if (!incomingRoles.some((role) => roleScopesAllow(role, [scope], existingScopes))) return false;
  }
  return true;
}

/**
 * The scopes a role's token gets on approval: what the request adds on top of the existing token
 * (the existing token's scopes when it adds nothing), or the approved baseline for that role when
 * the request names no scopes of its own.
 */
function approvedTokenScopes(
  role: string,
  pending: StoredPending,
  existingToken: TokenRecord | undefined,
  approvedScopes: string[] | undefined,
  existing: PairedDevice | undefined,
): string[] {
  const pendingScopes = scopesForRole(role, pending.scopes);
  if (pendingScopes.length > 0) {
    const base = scopesForRole(role, existing?.approvedScopes ?? existing?.scopes);
    const delta = existingToken && base.length > 0 ? pendingScopes.filter((s) => !base.includes(s)) : pendingScopes;
    if (delta.length === 0 && existingToken) return scopesForRole(role, existingToken.scopes);
    return scopesForRole(role, mergeScopes(existingToken?.scopes, delta));
  }
  return scopesForRole(role, existingToken?.scopes ?? approvedScopes ?? existing?.approvedScopes ?? existing?.scopes);
}
