import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  effectiveRoles,
  PairingInputError,
  PairingLimitError,
  PairingStore,
  type PairingLimits,
  PENDING_TTL_MS,
  redactDevice,
  type PairingRequestInput,
} from "../../src/auth/pairing-store.ts";
import { tokenSecretPath, TokenSecretError } from "../../src/auth/pairing-tokens.ts";
import { dbPath, openDatabase } from "../../src/store/db.ts";
import { SessionStore } from "../../src/store/sessions.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dirs = useTempDirs("openclaw-pairing-");
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function deviceId(n: number | string): string {
  return new Bun.CryptoHasher("sha256").update(`device-${n}`).digest("hex");
}

function request(n: number | string, extra: Partial<PairingRequestInput> = {}): PairingRequestInput {
  return {
    deviceId: deviceId(n),
    publicKey: `key-${n}`,
    displayName: `box-${n}`,
    platform: "linux",
    deviceFamily: "Linux",
    clientId: "openclaw-linux",
    clientMode: "ui",
    role: "operator",
    scopes: ["operator.read"],
    remoteIp: "192.0.2.7",
    silent: false,
    ...extra,
  };
}

/** A store on a fresh state dir with a controllable clock. */
function openStore(opts: { limits?: Partial<PairingLimits>; dir?: string } = {}) {
  const dir = opts.dir ?? dirs();
  let now = 1_800_000_000_000;
  const clock = {
    get now() {
      return now;
    },
    advance(ms: number) {
      now += ms;
    },
  };
  const store = PairingStore.open(dir, { now: () => now, limits: opts.limits });
  return { store, dir, clock };
}

const ADMIN = ["operator.admin"];

describe("pending requests", () => {
  test("a request gets a UUID, is listed, and a retry with the same facts refreshes it", () => {
    const { store, clock } = openStore();
    const first = store.requestPairing(request(1));
    expect(first.created).toBe(true);
    expect(first.request.requestId).toMatch(UUID_RE);
    expect(first.request).toMatchObject({ deviceId: deviceId(1), role: "operator", roles: ["operator"], scopes: ["operator.read"], silent: false, isRepair: false });
    expect(first.expiresAtMs).toBe(clock.now + PENDING_TTL_MS);
    clock.advance(60_000);
    const again = store.requestPairing(request(1, { displayName: "renamed-box" }));
    expect(again.created).toBe(false);
    expect(again.request.requestId).toBe(first.request.requestId);
    expect(again.request.displayName).toBe("renamed-box");
    expect(again.request.ts).toBe(first.request.ts);
    expect(again.expiresAtMs).toBe(clock.now + PENDING_TTL_MS);
    expect(store.list().pending.map((p) => p.requestId)).toEqual([first.request.requestId]);
    // The internal refresh time is not part of the public shape.
    expect(Object.keys(store.list().pending[0])).not.toContain("refreshedAtMs");
  });

  test("asking for less than the pending request keeps it; asking for more supersedes it with a merged request", () => {
    const { store } = openStore();
    const first = store.requestPairing(request(1, { scopes: ["operator.read", "operator.write"] }));
    const fewer = store.requestPairing(request(1, { scopes: ["operator.read"] }));
    expect(fewer.request.requestId).toBe(first.request.requestId);
    const more = store.requestPairing(request(1, { scopes: ["operator.pairing"] }));
    expect(more.created).toBe(true);
    expect(more.request.requestId).not.toBe(first.request.requestId);
    expect(more.superseded).toEqual([{ requestId: first.request.requestId, deviceId: deviceId(1) }]);
    expect(more.request.scopes).toEqual(["operator.read", "operator.write", "operator.pairing"]);
    const roleChange = store.requestPairing(request(1, { role: "node", scopes: [] }));
    expect(roleChange.request.roles).toEqual(["operator", "node"]);
    expect(roleChange.request.role).toBe("node");
    // Never duplicates: one pending request per device.
    expect(store.list().pending).toHaveLength(1);
    expect(store.getPending(first.request.requestId)).toBeUndefined();
  });

  test("requests expire 5 minutes after their last refresh; reads filter, the next write deletes", () => {
    const { store, clock } = openStore();
    const r = store.requestPairing(request(1));
    clock.advance(PENDING_TTL_MS);
    expect(store.getPending(r.request.requestId)).toBeDefined();
    clock.advance(1);
    expect(store.getPending(r.request.requestId)).toBeUndefined();
    expect(store.list().pending).toEqual([]);
    const row = () => store.db.query("SELECT COUNT(*) AS n FROM pairing_pending").get() as { n: number };
    expect(row().n).toBe(1); // reads never write
    expect(store.approve(r.request.requestId, { callerScopes: ADMIN })).toBeNull();
    expect(row().n).toBe(0);
    const fresh = store.requestPairing(request(1));
    expect(fresh.created).toBe(true);
    expect(fresh.request.requestId).not.toBe(r.request.requestId);
  });

  test("silent stays true only while every merged request was silent", () => {
    const { store } = openStore();
    expect(store.requestPairing(request(1, { silent: true })).request.silent).toBe(true);
    expect(store.requestPairing(request(1, { silent: false })).request.silent).toBe(false);
    expect(store.requestPairing(request(1, { silent: true, scopes: ["operator.write"] })).request.silent).toBe(false);
  });

  test("reject removes the request; unknown ids answer null", () => {
    const { store } = openStore();
    const r = store.requestPairing(request(1));
    expect(store.reject(r.request.requestId)).toEqual({ requestId: r.request.requestId, deviceId: deviceId(1) });
    expect(store.reject(r.request.requestId)).toBeNull();
    expect(store.reject("nope")).toBeNull();
    expect(store.list().pending).toEqual([]);
  });
});

describe("approval", () => {
  test("the approver must hold every scope it grants; nothing changes when refused", () => {
    const { store } = openStore();
    const r = store.requestPairing(request(1, { scopes: ["operator.read", "operator.write"] }));
    expect(store.approve(r.request.requestId)).toEqual({ status: "forbidden", reason: "caller-scopes-required", scope: "operator.read" });
    expect(store.approve(r.request.requestId, { callerScopes: ["operator.pairing"] })).toEqual({
      status: "forbidden",
      reason: "caller-missing-scope",
      scope: "operator.read",
    });
    expect(store.list().paired).toEqual([]);
    expect(store.getPending(r.request.requestId)).toBeDefined();
    const ok = store.approve(r.request.requestId, { callerScopes: ["operator.pairing", "operator.write"] });
    expect(ok?.status).toBe("approved");
  });

  test("approve records the device, mints one token per role and never returns the token in the public shape", () => {
    const { store, clock } = openStore();
    const r = store.requestPairing(request(1, { scopes: ["operator.read", "operator.write"] }));
    const approved = store.approve(r.request.requestId, { callerScopes: ADMIN });
    if (approved?.status !== "approved") throw new Error("not approved");
    const pub = redactDevice(approved.device);
    expect(pub).toEqual({
      deviceId: deviceId(1),
      publicKey: "key-1",
      displayName: "box-1",
      platform: "linux",
      deviceFamily: "Linux",
      clientId: "openclaw-linux",
      clientMode: "ui",
      role: "operator",
      roles: ["operator"],
      scopes: ["operator.read", "operator.write"],
      remoteIp: "192.0.2.7",
      approvedVia: "owner",
      createdAtMs: clock.now,
      approvedAtMs: clock.now,
      tokens: [{ role: "operator", scopes: ["operator.read", "operator.write"], createdAtMs: clock.now }],
    });
    expect(JSON.stringify(pub)).not.toMatch(/salt|hash/);
    expect(store.approve(r.request.requestId, { callerScopes: ADMIN })).toBeNull();
    expect(store.list().pending).toEqual([]);
  });

  test("a scope outside the requested roles is refused", () => {
    const { store } = openStore();
    const r = store.requestPairing(request(1, { role: "node", scopes: ["operator.read"] }));
    expect(store.approve(r.request.requestId, { callerScopes: ADMIN })).toEqual({
      status: "forbidden",
      reason: "scope-outside-requested-roles",
      scope: "operator.read",
    });
  });

  test("an upgrade merges roles and scopes, keeps createdAtMs and the operator label, and rotates the token", () => {
    const { store, clock } = openStore();
    const first = store.requestPairing(request(1));
    store.approve(first.request.requestId, { callerScopes: ADMIN });
    const created = clock.now;
    const t1 = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] })!;
    expect(store.rename(deviceId(1), "  Kitchen  ")).toBe(true);
    clock.advance(1000);
    const up = store.requestPairing(request(1, { scopes: ["operator.read", "operator.admin"] }));
    expect(up.request.isRepair).toBe(true);
    const approved = store.approve(up.request.requestId, { callerScopes: ADMIN });
    if (approved?.status !== "approved") throw new Error("not approved");
    expect(approved.device.scopes).toEqual(["operator.read", "operator.admin"]);
    expect(approved.device.createdAtMs).toBe(created);
    expect(approved.device.operatorLabel).toBe("Kitchen");
    const tok = approved.device.tokens.operator;
    expect(tok.scopes).toEqual(["operator.admin", "operator.read", "operator.write"]);
    expect(tok.rotatedAtMs).toBe(clock.now);
    expect(tok.createdAtMs).toBe(created);
    expect(store.verifyToken({ deviceId: deviceId(1), role: "operator", token: t1.token, scopes: [] })).toEqual({ ok: false, reason: "token-mismatch" });
  });

  test("caps: a full pending table or device table is refused with a clear error and nothing stored", () => {
    const { store } = openStore({ limits: { maxPending: 2, maxPaired: 1 } });
    store.requestPairing(request(1));
    store.requestPairing(request(2));
    expect(() => store.requestPairing(request(3))).toThrow(new PairingLimitError("too many pending pairing requests (2); approve or reject some with `openclaw devices list` first"));
    expect(store.list().pending).toHaveLength(2);
    // A retry of an existing device is not a new request and still works.
    expect(store.requestPairing(request(1)).created).toBe(false);
    const [a, b] = store.list().pending;
    store.approve(a.requestId, { callerScopes: ADMIN });
    expect(() => store.approve(b.requestId, { callerScopes: ADMIN })).toThrow(PairingLimitError);
    expect(store.list().paired).toHaveLength(1);
    expect(store.getPending(b.requestId)).toBeDefined();
  });

  test("oversized or malformed metadata is refused before anything is written", () => {
    const { store } = openStore();
    const cases: [Partial<PairingRequestInput>, string][] = [
      [{ displayName: "x".repeat(257) }, "device metadata too large: displayName exceeds 256 characters"],
      [{ platform: "p".repeat(129) }, "device metadata too large: platform exceeds 128 characters"],
      [{ scopes: Array.from({ length: 33 }, (_, i) => `operator.s${i}`) }, "device metadata too large: more than 32 scopes"],
      [{ scopes: [`operator.${"x".repeat(200)}`] }, "device metadata too large: scope exceeds 128 characters"],
      [{ publicKey: "k".repeat(600) }, "device metadata too large: publicKey exceeds 512 characters"],
      [{ deviceId: "not-hex" }, "deviceId must be 64 lowercase hex characters"],
      [{ publicKey: " " }, "publicKey required"],
    ];
    for (const [extra, message] of cases) {
      expect(() => store.requestPairing(request(1, extra))).toThrow(new PairingInputError(message));
    }
    expect((store.db.query("SELECT COUNT(*) AS n FROM pairing_pending").get() as { n: number }).n).toBe(0);
    expect(() => store.rename(deviceId(1), "x".repeat(65))).toThrow(new PairingInputError("device metadata too large: label exceeds 64 characters"));
    expect(() => store.rename(deviceId(1), "   ")).toThrow(new PairingInputError("label required"));
  });
});

describe("device tokens", () => {
  function paired(scopes = ["operator.read", "operator.write"]) {
    const ctx = openStore();
    const r = ctx.store.requestPairing(request(1, { scopes }));
    ctx.store.approve(r.request.requestId, { callerScopes: ADMIN });
    return ctx;
  }

  test("only a salt and a SHA-256 are stored: the token appears nowhere in the database files", () => {
    const { store, dir } = paired();
    const issued = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] })!;
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    store.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const needle = Buffer.from(issued.token);
    for (const name of readdirSync(dir)) {
      if (!name.startsWith("openclaw.sqlite")) continue;
      expect(readFileSync(join(dir, name)).includes(needle)).toBe(false);
    }
    const row = store.db.query("SELECT token_hash, salt FROM pairing_tokens").get() as { token_hash: Uint8Array; salt: Uint8Array };
    expect(row.token_hash.length).toBe(32);
    expect(row.salt.length).toBe(16);
  });

  test("the same token is handed out again while it covers the request; a wider request mints a new one", () => {
    const { store, clock } = paired();
    const t1 = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] })!;
    const t2 = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] })!;
    expect(t2.token).toBe(t1.token);
    // The approval minted a read+write token: asking for write re-sends it too.
    expect(store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.write"] })!.token).toBe(t1.token);
    // Beyond the approved baseline: nothing.
    expect(store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.admin"] })).toBeNull();
    expect(store.ensureToken({ deviceId: deviceId(1), role: "node", scopes: [] })).toBeNull();
    expect(store.ensureToken({ deviceId: deviceId(9), role: "operator", scopes: [] })).toBeNull();
    clock.advance(5);
    store.rotateToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] });
    const t3 = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.write"] })!;
    expect(t3.token).not.toBe(t1.token);
    expect(t3.scopes).toEqual(["operator.read", "operator.write"]);
    expect(t3.rotatedAtMs).toBe(clock.now);
  });

  test("verifyToken: constant-time hash check, scope and revocation rules, and it records the use", () => {
    const { store, clock } = paired(["operator.read"]);
    const t = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"] })!;
    clock.advance(10);
    expect(store.verifyToken({ deviceId: deviceId(1), role: "operator", token: t.token, scopes: ["operator.read"] })).toEqual({ ok: true });
    const device = store.getPaired(deviceId(1))!;
    expect(device.tokens.operator.lastUsedAtMs).toBe(clock.now);
    expect(device.lastSeenReason).toBe("device-token-auth");
    const v = (token: string, scopes: string[], role = "operator", id = deviceId(1)) => store.verifyToken({ deviceId: id, role, token, scopes });
    expect(v(t.token, ["operator.write"])).toEqual({ ok: false, reason: "scope-mismatch" });
    expect(v(`${t.token}x`, [])).toEqual({ ok: false, reason: "token-mismatch" });
    expect(v("", [])).toEqual({ ok: false, reason: "token-mismatch" });
    expect(v(t.token, [], "node")).toEqual({ ok: false, reason: "token-missing" });
    expect(v(t.token, [], " ")).toEqual({ ok: false, reason: "role-missing" });
    expect(v(t.token, [], "operator", deviceId(2))).toEqual({ ok: false, reason: "device-not-paired" });
    store.revokeToken({ deviceId: deviceId(1), role: "operator" });
    expect(v(t.token, [])).toEqual({ ok: false, reason: "token-revoked" });
  });

  test("rotate: within the baseline and the caller's scopes; the old token stops working", () => {
    const { store, clock } = paired();
    const old = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: [] })!;
    clock.advance(7);
    expect(store.rotateToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.admin"] })).toEqual({
      ok: false,
      reason: "scope-outside-approved-baseline",
    });
    expect(store.rotateToken({ deviceId: deviceId(1), role: "operator", callerScopes: ["operator.read"] })).toEqual({
      ok: false,
      reason: "caller-missing-scope",
      scope: "operator.write",
    });
    expect(store.rotateToken({ deviceId: deviceId(1), role: "node" })).toEqual({ ok: false, reason: "unknown-device-or-role" });
    const rotated = store.rotateToken({ deviceId: deviceId(1), role: "operator", scopes: ["operator.read"], callerScopes: ["operator.read"] });
    if (!rotated.ok) throw new Error("rotate failed");
    expect(rotated.entry.token).not.toBe(old.token);
    expect(rotated.entry).toMatchObject({ role: "operator", scopes: ["operator.read"], rotatedAtMs: clock.now });
    expect(store.verifyToken({ deviceId: deviceId(1), role: "operator", token: old.token, scopes: [] }).ok).toBe(false);
    expect(store.verifyToken({ deviceId: deviceId(1), role: "operator", token: rotated.entry.token, scopes: ["operator.read"] }).ok).toBe(true);
    expect(store.currentToken(deviceId(1), "operator")?.token).toBe(rotated.entry.token);
  });

  test("revoke keeps the paired entry with revokedAtMs, removes the role from the effective roles", () => {
    const { store, clock } = paired();
    clock.advance(3);
    expect(store.revokeToken({ deviceId: deviceId(1), role: "operator", callerScopes: ["operator.read"] })).toEqual({
      ok: false,
      reason: "caller-missing-scope",
      scope: "operator.write",
    });
    const revoked = store.revokeToken({ deviceId: deviceId(1), role: "operator", callerScopes: ["operator.write"] });
    expect(revoked).toEqual({ ok: true, entry: { role: "operator", scopes: ["operator.read", "operator.write"], createdAtMs: clock.now - 3, revokedAtMs: clock.now } });
    const device = store.getPaired(deviceId(1))!;
    expect(redactDevice(device).tokens).toEqual([{ role: "operator", scopes: ["operator.read", "operator.write"], createdAtMs: clock.now - 3, revokedAtMs: clock.now }]);
    expect(effectiveRoles(device)).toEqual([]);
    expect(store.currentToken(deviceId(1), "operator")).toBeUndefined();
    expect(store.revokeToken({ deviceId: deviceId(2), role: "operator" })).toEqual({ ok: false, reason: "unknown-device-or-role" });
  });

  test("remove deletes the device, its tokens and its pending requests", () => {
    const { store } = paired();
    store.requestPairing(request(1, { scopes: ["operator.admin"] }));
    expect(store.remove(deviceId(1))).toEqual({ deviceId: deviceId(1) });
    expect(store.remove(deviceId(1))).toBeNull();
    expect(store.list()).toEqual({ pending: [], paired: [] });
    expect((store.db.query("SELECT COUNT(*) AS n FROM pairing_tokens").get() as { n: number }).n).toBe(0);
  });
});

describe("persistence", () => {
  test("everything survives a restart, and the token is re-derived identically", () => {
    const { store, dir } = openStore();
    const r = store.requestPairing(request(1));
    store.approve(r.request.requestId, { callerScopes: ADMIN });
    const pending = store.requestPairing(request(2));
    const t = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: [] })!;
    store.close();
    const again = PairingStore.open(dir, { now: () => 1_800_000_000_000 });
    expect(again.list().pending.map((p) => p.requestId)).toEqual([pending.request.requestId]);
    expect(again.getPaired(deviceId(1))?.displayName).toBe("box-1");
    expect(again.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: [] })!.token).toBe(t.token);
    expect(again.verifyToken({ deviceId: deviceId(1), role: "operator", token: t.token, scopes: [] }).ok).toBe(true);
    again.close();
    expect(statSync(tokenSecretPath(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(dbPath(dir)).mode & 0o777).toBe(0o600);
  });

  test("a lost token secret locks nobody out: stored hashes still verify, the next hand-out is a new token", () => {
    const { store, dir } = openStore();
    const r = store.requestPairing(request(1));
    store.approve(r.request.requestId, { callerScopes: ADMIN });
    const t = store.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: [] })!;
    store.close();
    rmSync(tokenSecretPath(dir));
    const again = PairingStore.open(dir);
    expect(again.verifyToken({ deviceId: deviceId(1), role: "operator", token: t.token, scopes: [] }).ok).toBe(true);
    expect(again.currentToken(deviceId(1), "operator")).toBeUndefined();
    const fresh = again.ensureToken({ deviceId: deviceId(1), role: "operator", scopes: [] })!;
    expect(fresh.token).not.toBe(t.token);
    expect(again.verifyToken({ deviceId: deviceId(1), role: "operator", token: t.token, scopes: [] }).ok).toBe(false);
    again.close();
  });

  test("a damaged secret file is refused with a clear error instead of minting unverifiable tokens", () => {
    const { store, dir } = openStore();
    const r = store.requestPairing(request(1));
    mkdirSync(join(dir, "credentials"), { mode: 0o700 });
    writeFileSync(tokenSecretPath(dir), "garbage", { mode: 0o600 });
    expect(() => store.approve(r.request.requestId, { callerScopes: ADMIN })).toThrow(TokenSecretError);
    expect(store.list().paired).toEqual([]);
  });

  test("one database file with the session store, each with its own migrations", () => {
    const dir = dirs();
    const db = openDatabase(dir);
    const sessions = new SessionStore(db);
    const pairing = new PairingStore(db, { secretPath: tokenSecretPath(dir) });
    sessions.append({ key: "agent:main:main", agentId: "main", messages: [{ role: "user", content: "hi" }] });
    pairing.requestPairing(request(1));
    expect(sessions.count()).toBe(1);
    expect(pairing.list().pending).toHaveLength(1);
    const sets = db.query("SELECT name, version FROM schema_sets ORDER BY name").all();
    expect(sets).toEqual([{ name: "pairing", version: 1 }]);
    db.close();
  });

  test("a newer pairing schema is refused rather than guessed at", () => {
    const dir = dirs();
    PairingStore.open(dir).close();
    const db = new Database(dbPath(dir));
    db.run("UPDATE schema_sets SET version = 99 WHERE name = 'pairing'");
    db.close();
    expect(() => PairingStore.open(dir)).toThrow(/pairing schema version 99 is newer/);
  });

  test("a second process (a short-lived CLI) writes the same store while this one does, without losing updates", async () => {
    const dir = dirs();
    const store = PairingStore.open(dir);
    const N = 40;
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "pairing-writer.ts"), dir, "child", String(N)], { stdout: "pipe", stderr: "pipe" });
    for (let i = 0; i < N; i++) store.requestPairing(request(`parent-${i}`));
    const code = await child.exited;
    expect(await new Response(child.stderr).text()).toBe("");
    expect(code).toBe(0);
    const list = store.list();
    expect(list.pending.length + list.paired.length).toBe(2 * N);
    expect(list.paired.length).toBe(N);
    expect(existsSync(tokenSecretPath(dir))).toBe(true);
    store.close();
  });
});
