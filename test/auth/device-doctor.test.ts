/**
 * Doctor findings for pairing, and the CLI's own identity that the drift checks read: the CLI
 * pairs with a (remote-looking) gateway store through the real connect decision, caches its token,
 * and the checks notice when the gateway rotates it away.
 */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { authorizeConnect, sharedAuthGeneration } from "../../src/auth/device-auth.ts";
import { ClientIdentityStore, signConnect } from "../../src/auth/device-client-identity.ts";
import { localTokenFindings, pairedFindings, pendingFindings } from "../../src/auth/device-doctor.ts";
import { PairingStore, redactDevice, type PairingRequestInput } from "../../src/auth/pairing-store.ts";
import { tokenMatches } from "../../src/auth/pairing-tokens.ts";
import { dbPath, openDatabase } from "../../src/store/db.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const dirs = useTempDirs("openclaw-device-doctor-");
const id = (n: number) => new Bun.CryptoHasher("sha256").update(`doc-${n}`).digest("hex");
const req = (n: number, extra: Partial<PairingRequestInput> = {}): PairingRequestInput => ({
  deviceId: id(n),
  publicKey: `key-${n}`,
  displayName: `box ${n}`,
  role: "operator",
  scopes: ["operator.read"],
  ...extra,
});

function snapshot(store: PairingStore) {
  const l = store.list();
  return { pending: l.pending, paired: l.paired.map((d) => redactDevice(d)) };
}

describe("pending and paired findings", () => {
  test("requests older than the threshold, each with its kind and exact commands", () => {
    let now = 1_800_000_000_000;
    const store = PairingStore.open(dirs(), { now: () => now });
    const first = store.requestPairing(req(1));
    now += 1000;
    store.approve(store.requestPairing(req(2)).request.requestId, { callerScopes: ["operator.admin"] });
    const upgrade = store.requestPairing(req(2, { scopes: ["operator.admin"] }));
    now += 30_000;
    const young = store.requestPairing(req(3));
    now += 44_000;
    const findings = pendingFindings(snapshot(store), { now, olderThanMs: 60_000 });
    expect(findings.map((f) => [f.requirement, f.target])).toEqual([
      ["scope-upgrade", `${id(2)}:${upgrade.request.requestId}`],
      ["first-time", `${id(1)}:${first.request.requestId}`],
    ]);
    expect(findings[1]).toEqual({
      checkId: "core/doctor/device-pairing",
      severity: "warning",
      fixable: false,
      message: `Pending device pairing request ${first.request.requestId} for box 1 (${id(1)}) (waiting 75s). Review with openclaw devices list, then approve with openclaw devices approve ${first.request.requestId}.`,
      path: "devices.pending",
      requirement: "first-time",
      target: `${id(1)}:${first.request.requestId}`,
      fixHint: `Review with openclaw devices list, then approve with openclaw devices approve ${first.request.requestId}.`,
    });
    expect(findings[0].message).toContain("approved scopes [operator.read], requested scopes [operator.admin, operator.read, operator.write]");
    expect(pendingFindings(snapshot(store), { now, olderThanMs: 0 }).map((f) => f.target)).toContain(`${id(3)}:${young.request.requestId}`);
  });

  test("records that will loop: a revoked role token, a token wider than its baseline", () => {
    const store = PairingStore.open(dirs());
    store.approve(store.requestPairing(req(1)).request.requestId, { callerScopes: ["operator.admin"] });
    store.approve(store.requestPairing(req(2)).request.requestId, { callerScopes: ["operator.admin"] });
    expect(pairedFindings(snapshot(store))).toEqual([]);
    store.revokeToken({ deviceId: id(1), role: "operator" });
    store.db.run("UPDATE pairing_tokens SET scopes_json = ? WHERE device_id = ?", [JSON.stringify(["operator.admin"]), id(2)]);
    const f = pairedFindings(snapshot(store)).sort((a, b) => a.requirement.localeCompare(b.requirement));
    expect(f.map((x) => [x.requirement, x.target])).toEqual([
      ["missing-active-role-token", `${id(1)}:operator`],
      ["token-outside-approved-scope", `${id(2)}:operator`],
    ]);
    expect(f[0].fixHint).toBe(`Rotate a fresh token with openclaw devices rotate --device ${id(1)} --role operator.`);
  });
});

describe("the CLI's own identity and the token drift checklist", () => {
  test("pair the CLI identity with a remote gateway store, cache the token, then notice a rotation", async () => {
    const gatewayDir = dirs();
    const cliDir = dirs();
    const gateway = PairingStore.open(gatewayDir);
    const cliDb = openDatabase(cliDir);
    const cli = new ClientIdentityStore(cliDb);
    const me = await cli.loadOrCreate();
    expect((await cli.loadOrCreate()).deviceId).toBe(me.deviceId);
    const client = { id: "cli", mode: "cli", platform: "linux", deviceFamily: "Linux", version: "2026.9.6" };
    const connect = async (auth: { token?: string; deviceToken?: string }) => {
      const challenge = { nonce: crypto.randomUUID(), ts: Date.now() };
      const device = await signConnect(me, challenge, {
        clientId: client.id,
        clientMode: client.mode,
        role: "operator",
        scopes: ["operator.read"],
        token: auth.token ?? auth.deviceToken ?? "",
        platform: client.platform,
        deviceFamily: client.deviceFamily,
      });
      return authorizeConnect(
        {
          params: { client, role: "operator", scopes: ["operator.read"], auth, device },
          nonce: challenge.nonce,
          conn: { remoteIp: "192.0.2.50", directLocal: false, hasForwardingHeaders: false },
          shared: auth.token === "secret" ? { ok: true, method: "token" } : { ok: false, reason: auth.token ? "token_mismatch" : "token_missing" },
          policy: { authMode: "token", sharedGeneration: sharedAuthGeneration("token", "secret") },
        },
        gateway,
      );
    };
    const first = await connect({ token: "secret" });
    expect(first.ok).toBe(false);
    gateway.approve(gateway.list().pending[0].requestId, { callerScopes: ["operator.admin"] });
    const hello = await connect({ token: "secret" });
    if (!hello.ok) throw new Error(hello.error.message);
    cli.storeToken({ gateway: "wss://gw.example", deviceId: me.deviceId, role: "operator", token: hello.auth.deviceToken!, scopes: hello.scopes });
    expect((await connect({ deviceToken: cli.readToken("wss://gw.example", me.deviceId, "operator")!.token })).ok).toBe(true);

    const isKnown = (d: string, r: string, t: string) => {
      const tok = gateway.getPaired(d)?.tokens[r];
      return Boolean(tok && !tok.revokedAtMs && tokenMatches(t, tok.hash));
    };
    const local = () => ({ deviceId: me.deviceId, tokens: cli.listTokens(me.deviceId) });
    expect(localTokenFindings(snapshot(gateway), local(), isKnown)).toEqual([]);

    gateway.rotateToken({ deviceId: me.deviceId, role: "operator" });
    const drift = localTokenFindings(snapshot(gateway), local(), isKnown);
    expect(drift.map((f) => f.requirement)).toEqual(["local-token-unknown"]);
    expect(drift[0].message).toContain("is not the gateway's current token");
    // Without the store at hand, the rotation time still gives it away.
    expect(localTokenFindings(snapshot(gateway), { ...local(), tokens: local().tokens.map((t) => ({ ...t, updatedAtMs: 0 })) }).map((f) => f.requirement)).toEqual([
      "local-token-stale",
    ]);
    // A refused token is forgotten.
    expect(cli.clearToken("wss://gw.example", me.deviceId, "operator")).toBe(true);
    expect(cli.readToken("wss://gw.example", me.deviceId, "operator")).toBeUndefined();
    cliDb.close();
    gateway.close();
  });

  test("cached scopes that differ, and a role the gateway no longer approves", () => {
    const store = PairingStore.open(dirs());
    store.approve(store.requestPairing(req(1, { scopes: ["operator.read", "operator.write"] })).request.requestId, { callerScopes: ["operator.admin"] });
    const cached = (role: string, scopes: string[]) => ({ gateway: "", deviceId: id(1), role, token: "t", scopes, updatedAtMs: Date.now() + 1000 });
    const f = localTokenFindings(snapshot(store), { deviceId: id(1), tokens: [cached("operator", ["operator.read"]), cached("node", [])] });
    expect(f.map((x) => x.requirement)).toEqual(["local-scopes-mismatch", "local-role-no-longer-approved"]);
    expect(f[0].message).toContain("Cached scopes [operator.read], gateway scopes [operator.read, operator.write]");
    expect(localTokenFindings(snapshot(store), { deviceId: id(9), tokens: [cached("operator", [])] })).toEqual([]);
  });

  test("one identity even when two processes race to create it; a damaged row is refused", async () => {
    const dir = dirs();
    const a = new ClientIdentityStore(openDatabase(dir));
    const b = new ClientIdentityStore(openDatabase(dir));
    const [x, y] = await Promise.all([a.loadOrCreate(), b.loadOrCreate()]);
    expect(x.deviceId).toBe(y.deviceId);
    expect(x.publicKey).toBe(y.publicKey);
    a.db.close();
    b.db.close();
    const raw = new Database(dbPath(dir));
    raw.run("UPDATE device_identity SET device_id = ?", ["0".repeat(64)]);
    raw.close();
    const c = new ClientIdentityStore(openDatabase(dir));
    await expect(c.load()).rejects.toThrow(/device identity "primary" is damaged/);
    c.db.close();
  });
});
