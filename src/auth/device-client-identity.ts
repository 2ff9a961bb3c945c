/**
 * The CLI's own device identity, for talking to a gateway as a paired device.
 *
 * Why the CLI needs one: on the gateway host the CLI connects with the shared token over
 * loopback and keeps its scopes; from another host a device-less connection gets no scopes at all
 * (`status` fails with `missing scope: operator.read`). A remote operator's CLI therefore signs
 * the challenge with its own Ed25519 key, gets paired once (`openclaw devices approve` on the
 * gateway), then reconnects with the device token it was given.
 *
 * Where (as the official 2026.9.6 CLI keeps it, in the state database rather than the retired
 * `identity/device.json` + `identity/device-auth.json` files): `<stateDir>/openclaw.sqlite`,
 * migration set `device-identity`:
 *   device_identity     one row per identity key (`primary`): device id, raw public key,
 *                       PKCS#8 private key, created time
 *   device_auth_tokens  tokens this identity received, per gateway and role, with their scopes.
 *                       Unlike the gateway's store these are the bearer values: this is the
 *                       client's own credential, sent on reconnect.
 */
import { Database as SqliteDatabase, type Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { dbPath, migrateSet } from "../store/db.ts";
import { deviceIdOf, signaturePayload, type DeviceProof, type SignedFields } from "./device-identity.ts";
import { normalizeTokenScopes } from "./pairing-scopes.ts";

export const CLIENT_IDENTITY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE device_identity (
    identity_key   TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL,
    public_key     BLOB NOT NULL,
    private_key    BLOB NOT NULL,
    created_at_ms  INTEGER NOT NULL
  );
  CREATE TABLE device_auth_tokens (
    gateway        TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    role           TEXT NOT NULL,
    token          TEXT NOT NULL,
    scopes_json    TEXT NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (gateway, device_id, role)
  ) WITHOUT ROWID;
  `,
];

export interface ClientIdentity {
  deviceId: string;
  /** Unpadded base64url of the raw 32-byte public key (what `connect` sends). */
  publicKey: string;
  privateKey: CryptoKey;
  createdAtMs: number;
}

export interface CachedDeviceToken {
  gateway: string;
  deviceId: string;
  role: string;
  token: string;
  scopes: string[];
  updatedAtMs: number;
}

type IdentityRow = { device_id: string; public_key: Uint8Array; private_key: Uint8Array; created_at_ms: number };

export class ClientIdentityStore {
  constructor(
    readonly db: Database,
    private readonly now: () => number = Date.now,
    migrate = true,
  ) {
    if (migrate) migrateSet(db, "device-identity", CLIENT_IDENTITY_MIGRATIONS);
  }

  /** The store for reading only (`doctor`): undefined when there is no identity table yet. */
  static openReadOnly(stateDir: string): ClientIdentityStore | undefined {
    const path = dbPath(stateDir);
    if (!existsSync(path)) return undefined;
    const db = new SqliteDatabase(path, { readonly: true, strict: true });
    try {
      const known = db.query("SELECT version FROM schema_sets WHERE name = 'device-identity'").get() as { version: number } | null;
      if (known?.version === CLIENT_IDENTITY_MIGRATIONS.length) return new ClientIdentityStore(db, Date.now, false);
    } catch {
      // no schema_sets table: nothing was ever stored
    }
    db.close();
    return undefined;
  }

  /** The identity, when one was created (read-only). */
  async load(key = "primary"): Promise<ClientIdentity | undefined> {
    const row = this.db.query("SELECT * FROM device_identity WHERE identity_key = ?").get(key) as IdentityRow | null;
    if (!row) return undefined;
    const raw = new Uint8Array(row.public_key);
    if (deviceIdOf(raw) !== row.device_id) throw new Error(`device identity "${key}" is damaged (id does not match its key); run openclaw doctor`);
    const privateKey = await crypto.subtle.importKey("pkcs8", new Uint8Array(row.private_key), { name: "Ed25519" }, false, ["sign"]);
    return { deviceId: row.device_id, publicKey: Buffer.from(raw).toString("base64url"), privateKey, createdAtMs: row.created_at_ms };
  }

  /** The identity, created on first use (one row; concurrent creators agree on the first). */
  async loadOrCreate(key = "primary"): Promise<ClientIdentity> {
    const existing = await this.load(key);
    if (existing) return existing;
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    this.db.run(
      "INSERT INTO device_identity (identity_key, device_id, public_key, private_key, created_at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity_key) DO NOTHING",
      [key, deviceIdOf(raw), raw, pkcs8, this.now()],
    );
    const stored = await this.load(key);
    if (!stored) throw new Error("device identity could not be stored");
    return stored;
  }

  readToken(gateway: string, deviceId: string, role: string): CachedDeviceToken | undefined {
    const row = this.db.query("SELECT * FROM device_auth_tokens WHERE gateway = ? AND device_id = ? AND role = ?").get(gateway, deviceId, role) as
      | { gateway: string; device_id: string; role: string; token: string; scopes_json: string; updated_at_ms: number }
      | null;
    return row ? toCached(row) : undefined;
  }

  listTokens(deviceId: string): CachedDeviceToken[] {
    const rows = this.db.query("SELECT * FROM device_auth_tokens WHERE device_id = ? ORDER BY gateway, role").all(deviceId) as {
      gateway: string;
      device_id: string;
      role: string;
      token: string;
      scopes_json: string;
      updated_at_ms: number;
    }[];
    return rows.map(toCached);
  }

  /** Keep the token `hello-ok.auth` handed out (call it when it is new or different). */
  storeToken(t: Omit<CachedDeviceToken, "updatedAtMs">): void {
    this.db.run(
      `INSERT INTO device_auth_tokens (gateway, device_id, role, token, scopes_json, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway, device_id, role) DO UPDATE SET token = excluded.token, scopes_json = excluded.scopes_json, updated_at_ms = excluded.updated_at_ms`,
      [t.gateway, t.deviceId, t.role, t.token, JSON.stringify(normalizeTokenScopes(t.scopes)), this.now()],
    );
  }

  /** Forget a token the gateway refused (`AUTH_DEVICE_TOKEN_MISMATCH`). */
  clearToken(gateway: string, deviceId: string, role: string): boolean {
    return this.db.run("DELETE FROM device_auth_tokens WHERE gateway = ? AND device_id = ? AND role = ?", [gateway, deviceId, role]).changes > 0;
  }
}

function toCached(row: { gateway: string; device_id: string; role: string; token: string; scopes_json: string; updated_at_ms: number }): CachedDeviceToken {
  let scopes: string[] = [];
  try {
    const v = JSON.parse(row.scopes_json);
    if (Array.isArray(v)) scopes = v.filter((s): s is string => typeof s === "string");
  } catch {
    // a damaged scope list reads as empty; the gateway is the authority anyway
  }
  return { gateway: row.gateway, deviceId: row.device_id, role: row.role, token: row.token, scopes, updatedAtMs: row.updated_at_ms };
}

/** The `device` block of a connect: the v3 payload signed over this socket's challenge. */
export async function signConnect(identity: ClientIdentity, challenge: { nonce: string; ts: number }, fields: SignedFields): Promise<DeviceProof> {
  const proof = { id: identity.deviceId, signedAt: challenge.ts, nonce: challenge.nonce };
  const payload = new TextEncoder().encode(signaturePayload("v3", proof, fields));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, identity.privateKey, payload));
  return { ...proof, publicKey: identity.publicKey, signature: Buffer.from(sig).toString("base64url") };
}
