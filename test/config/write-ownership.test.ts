/**
 * Writes keep ownership: as root, replacing a config owned by another account keeps its owner,
 * group and mode (and the backup gets the same); as that other account's neighbour (a real
 * non-root process via setpriv), a write that would hand the file to the writer is refused and
 * nothing changes. Also the "can the service account read its config" check doctor uses.
 * Root-only cases skip with the reason when the suite does not run as root.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { canRead, describeUid, lookupAccount, serviceCanReadConfig, unitAccount, type AccountDb } from "../../src/config/access.ts";
import { FileOwnershipError, writeConfigDocument, writeFileAtomic } from "../../src/config/write.ts";
import { parseUnitFile } from "../../src/service/systemd.ts";
import { useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-owner-test-");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasSetpriv = Bun.which("setpriv") !== null;
/** A real other account: `nobody` exists on every Linux; its numeric ids are used throughout. */
const NOBODY = 65534;
const OTHER = 4242; // a uid without a passwd entry, for "numeric uid" cases

const ident = (p: string) => {
  const s = statSync(p);
  return { uid: s.uid, gid: s.gid, mode: s.mode & 0o777 };
};

describe.skipIf(!isRoot)("as root (the sudo case)", () => {
  test("config set on a service-owned 0640 config keeps owner, group and mode; the backup matches", async () => {
    const dir = tempDir();
    chownSync(dir, NOBODY, NOBODY);
    const path = join(dir, "openclaw.json");
    writeFileSync(path, JSON.stringify({ gateway: { mode: "local" } }));
    chownSync(path, NOBODY, NOBODY);
    chmodSync(path, 0o640);
    await writeConfigDocument(path, { gateway: { mode: "local", port: 18790 } }, { env: {} });
    expect(JSON.parse(readFileSync(path, "utf8")).gateway.port).toBe(18790);
    expect(ident(path)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
    expect(ident(`${path}.bak`)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
    // Written again: the backup now holds the previous text and still the config's identity.
    await writeConfigDocument(path, { gateway: { mode: "local", port: 18791 } }, { env: {} });
    expect(JSON.parse(readFileSync(`${path}.bak`, "utf8")).gateway.port).toBe(18790);
    expect(ident(`${path}.bak`)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
    expect(readdirSync(dir).sort()).toEqual(["openclaw.json", "openclaw.json.bak"]);
  });

  test("a numeric owner without a passwd entry and a foreign group are kept too", async () => {
    const dir = tempDir();
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "{}");
    chownSync(path, OTHER, NOBODY);
    chmodSync(path, 0o600);
    await writeConfigDocument(path, { gateway: { mode: "local" } }, { env: {} });
    expect(ident(path)).toEqual({ uid: OTHER, gid: NOBODY, mode: 0o600 });
  });

  test("writeFileAtomic: owner kept, an explicit mode still applies, a new file is root's 0600", async () => {
    const dir = tempDir();
    const path = join(dir, "unit.service");
    writeFileSync(path, "old");
    chownSync(path, NOBODY, NOBODY);
    chmodSync(path, 0o600);
    await writeFileAtomic(path, "new", 0o644);
    expect(ident(path)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o644 });
    const fresh = join(dir, "fresh.txt");
    await writeFileAtomic(fresh, "x");
    expect(ident(fresh)).toEqual({ uid: 0, gid: 0, mode: 0o600 });
  });

  test("the service account can read the config after a root write; a root-owned 0600 replacement is reported", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, NOBODY, NOBODY);
    const path = join(state, "openclaw.json");
    writeFileSync(path, "{}");
    chownSync(path, NOBODY, NOBODY);
    chmodSync(path, 0o600);
    await writeConfigDocument(path, { gateway: { mode: "local" } }, { env: {} });
    const unit = parseUnitFile("[Service]\nUser=nobody\nExecStart=/usr/local/bin/openclaw gateway\n");
    const good = await serviceCanReadConfig({ configPath: path, unit });
    expect(good.account).toMatchObject({ name: "nobody", uid: NOBODY });
    expect(good.check?.ok).toBe(true);

    // What the old writer did: root:root 0600.
    chownSync(path, 0, 0);
    const bad = await serviceCanReadConfig({ configPath: path, unit });
    expect(bad.check).toMatchObject({ ok: false, blockedAt: path });
    expect(bad.check?.reason).toBe(`nobody (uid ${NOBODY}) cannot read ${path} (owner ${describeUid(0)}, gid 0, mode 0600)`);

    // A directory on the way that the account cannot enter is named as the blocker.
    chownSync(path, NOBODY, NOBODY);
    chownSync(state, 0, 0);
    const blocked = await canRead(path, lookupAccount("nobody")!);
    expect(blocked).toMatchObject({ ok: false, blockedAt: state });
  });

  test("DynamicUser: the state directory's owner is the account; before the first start it is unknown", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const state = join(dir, "dyn");
    mkdirSync(state, { mode: 0o700 });
    const path = join(state, "openclaw.json");
    writeFileSync(path, "{}");
    chmodSync(path, 0o600);
    const unit = parseUnitFile("[Service]\nDynamicUser=yes\nStateDirectory=openclaw\n");
    const before = await serviceCanReadConfig({ configPath: path, unit, stateDir: state });
    expect(before.account).toBeUndefined();
    expect(before.unknown).toContain("DynamicUser=yes");
    chownSync(state, 61234, 61234);
    const after = await serviceCanReadConfig({ configPath: path, unit, stateDir: state });
    expect(after.account).toMatchObject({ uid: 61234 });
    expect(after.check?.ok).toBe(false);
    chownSync(path, 61234, 61234);
    expect((await serviceCanReadConfig({ configPath: path, unit, stateDir: state })).check?.ok).toBe(true);
  });

  test("group access: Group= and SupplementaryGroups= count, other bits apply to strangers", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "{}");
    chownSync(path, 0, 4321);
    chmodSync(path, 0o640);
    const plain = await serviceCanReadConfig({ configPath: path, unit: parseUnitFile("[Service]\nUser=nobody\n") });
    expect(plain.check?.ok).toBe(false);
    const viaGroup = await serviceCanReadConfig({ configPath: path, unit: parseUnitFile("[Service]\nUser=nobody\nSupplementaryGroups=4321\n") });
    expect(viaGroup.check?.ok).toBe(true);
    const viaPrimary = await serviceCanReadConfig({ configPath: path, unit: parseUnitFile("[Service]\nUser=nobody\nGroup=4321\n") });
    expect(viaPrimary.account?.gid).toBe(4321);
    expect(viaPrimary.check?.ok).toBe(true);
    // No User= in a system unit: root, which reads anything.
    expect((await serviceCanReadConfig({ configPath: path, unit: parseUnitFile("[Service]\nExecStart=/x\n") })).check?.ok).toBe(true);
  });
});

describe.skipIf(!isRoot || !hasSetpriv)("as another, non-root account (setpriv)", () => {
  const script = resolve(import.meta.dir, "../fixture/config-write-as.ts");

  async function writeAs(uid: number, gid: number, path: string): Promise<{ code: number; out: string }> {
    const proc = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", process.execPath, script, path], {
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH, HOME: "/nonexistent" },
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, out: out + err };
  }

  test("a write that would take someone else's file is refused, clearly, and changes nothing", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777); // the writer may create its temp file here; only ownership stops it
    const path = join(dir, "openclaw.json");
    writeFileSync(path, '{"gateway":{"mode":"local"}}\n');
    chownSync(path, OTHER, OTHER);
    chmodSync(path, 0o666);
    const r = await writeAs(NOBODY, NOBODY, path);
    expect(r.code).toBe(3);
    expect(r.out).toContain("FileOwnershipError");
    expect(r.out).toContain(
      `Refusing to replace ${path}: it belongs to uid ${OTHER} and this process runs as nobody (uid ${NOBODY}), so the new file would belong to nobody (uid ${NOBODY}) and uid ${OTHER} could lose access to it. Run the command as its owner (\`sudo -u '#${OTHER}' openclaw …\`) or as root, which keeps the owner.`,
    );
    expect(readFileSync(path, "utf8")).toBe('{"gateway":{"mode":"local"}}\n');
    expect(ident(path)).toEqual({ uid: OTHER, gid: OTHER, mode: 0o666 });
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
  });

  test("own file, foreign group the writer is not in: refused as well", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "{}\n");
    chownSync(path, NOBODY, 4321);
    chmodSync(path, 0o640);
    const r = await writeAs(NOBODY, NOBODY, path);
    expect(r.code).toBe(3);
    expect(r.out).toContain("its group is gid 4321");
    expect(ident(path)).toEqual({ uid: NOBODY, gid: 4321, mode: 0o640 });
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
  });

  test("own file, own group: written, identity kept", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "{}\n");
    chownSync(path, NOBODY, NOBODY);
    chmodSync(path, 0o640);
    const r = await writeAs(NOBODY, NOBODY, path);
    expect(r).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(path, "utf8")).gateway.port).toBe(18799);
    expect(ident(path)).toEqual({ uid: NOBODY, gid: NOBODY, mode: 0o640 });
    expect(existsSync(`${path}.bak`)).toBe(true);
  });
});

describe("accounts", () => {
  const db: AccountDb = {
    passwd: "root:x:0:0:root:/root:/bin/bash\n# comment\nsvc:x:998:997::/var/lib/svc:/usr/sbin/nologin\nbroken line\n",
    group: "root:x:0:\nsvc:x:997:\nlogs:x:4:svc,alice\n",
  };

  test("lookup by name and uid, with supplementary groups from /etc/group", () => {
    expect(lookupAccount("svc", db)).toEqual({ name: "svc", uid: 998, gid: 997, groups: [997, 4] });
    expect(lookupAccount(998, db)?.name).toBe("svc");
    expect(lookupAccount("998", db)?.name).toBe("svc");
    expect(lookupAccount("ghost", db)).toBeUndefined();
    expect(lookupAccount(5000, db)).toEqual({ uid: 5000, gid: 5000, groups: [5000] });
    expect(describeUid(998, db)).toBe("svc (uid 998)");
    expect(describeUid(5000, db)).toBe("uid 5000");
  });

  test("unit values: User=, Group=, SupplementaryGroups= and DynamicUser=", () => {
    const u = unitAccount(parseUnitFile("[Service]\nUser=svc\nGroup=logs\nSupplementaryGroups=a b\nSupplementaryGroups=c\nDynamicUser=no\n"));
    expect(u).toEqual({ user: "svc", group: "logs", supplementaryGroups: ["a", "b", "c"], dynamicUser: false });
    expect(unitAccount(parseUnitFile("[Service]\nDynamicUser=yes\n")).dynamicUser).toBe(true);
  });

  test("an unknown User= is reported, not guessed", async () => {
    const r = await serviceCanReadConfig({ configPath: "/etc/hostname", unit: parseUnitFile("[Service]\nUser=ghost\n"), db });
    expect(r).toEqual({ unknown: "the unit's User=ghost does not exist on this host" });
  });

  test("a missing file is not readable (and says so)", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const r = await canRead(join(dir, "nope.json"), { uid: 1234, gid: 1234, groups: [1234] });
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("does not exist");
  });
});

test("a FileOwnershipError is an Error with the owner it protected", () => {
  const e = new FileOwnershipError("/x", { uid: 1, gid: 1, mode: 0o600 }, 2, "m");
  expect(e).toBeInstanceOf(Error);
  expect(e.owner.uid).toBe(1);
});
