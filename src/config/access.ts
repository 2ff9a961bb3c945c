/**
 * Who may read a file. POSIX accounts come from `/etc/passwd` and `/etc/group`; the check walks
 * the path the way the kernel does (search permission on every directory, read permission on
 * the file itself, owner bits before group bits before other bits). `doctor` uses it to tell an
 * operator that the service account can no longer read its config, which is what happens when a
 * root-owned 0600 file replaces a service-owned one: reloads fail with EACCES and the next start
 * exits 78. ACLs and capabilities other than root's are not modelled.
 */
import { readFileSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";

export interface Account {
  /** Login name, when the uid has one. */
  name?: string;
  uid: number;
  /** Primary group. */
  gid: number;
  /** Every group the account is in (primary included). */
  groups: number[];
}

/** The two database files, as text (tests pass their own). */
export interface AccountDb {
  passwd: string;
  group: string;
}

interface PasswdRow {
  name: string;
  uid: number;
  gid: number;
}

interface GroupRow {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdRow[] {
  const rows: PasswdRow[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length >= 4 && f[0] && Number.isInteger(uid) && Number.isInteger(gid)) rows.push({ name: f[0], uid, gid });
  }
  return rows;
}

export function parseGroup(text: string): GroupRow[] {
  const rows: GroupRow[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    const gid = Number(f[2]);
    if (f.length >= 3 && f[0] && Number.isInteger(gid)) rows.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter(Boolean) });
  }
  return rows;
}

/** `/etc/passwd` and `/etc/group` of this host (empty when unreadable, e.g. on Windows). */
export function systemAccountDb(): AccountDb {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  return { passwd: read("/etc/passwd"), group: read("/etc/group") };
}

const isNumeric = (v: string) => /^\d+$/.test(v);

/** A group by name or number. */
export function lookupGroup(group: string | number, db: AccountDb = systemAccountDb()): number | undefined {
  if (typeof group === "number") return group;
  if (isNumeric(group)) return Number(group);
  return parseGroup(db.group).find((g) => g.name === group)?.gid;
}

/**
 * An account by login name or uid, with its groups. A numeric uid with no passwd entry is
 * still an account (its primary group is then unknown: `gid` = the uid, as `useradd` would).
 */
export function lookupAccount(user: string | number, db: AccountDb = systemAccountDb()): Account | undefined {
  const passwd = parsePasswd(db.passwd);
  const row = typeof user === "number" || isNumeric(user) ? passwd.find((r) => r.uid === Number(user)) : passwd.find((r) => r.name === user);
  if (!row) {
    if (typeof user === "number" || isNumeric(user)) {
      const uid = Number(user);
      return { uid, gid: uid, groups: [uid] };
    }
    return undefined;
  }
  const groups = new Set([row.gid]);
  for (const g of parseGroup(db.group)) if (g.members.includes(row.name)) groups.add(g.gid);
  return { name: row.name, uid: row.uid, gid: row.gid, groups: [...groups] };
}

/** `openclaw (uid 998)`, or `uid 998` for a uid without a login name. */
export function describeUid(uid: number, db?: AccountDb): string {
  const name = parsePasswd((db ?? systemAccountDb()).passwd).find((r) => r.uid === uid)?.name;
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

export function describeAccount(account: Account): string {
  return account.name ? `${account.name} (uid ${account.uid})` : `uid ${account.uid}`;
}

/** Which permission triplet applies to `account` for a file owned by `uid:gid`. */
function permissionBits(mode: number, uid: number, gid: number, account: Account): number {
  if (account.uid === uid) return (mode >> 6) & 7;
  if (account.groups.includes(gid)) return (mode >> 3) & 7;
  return mode & 7;
}

export interface AccessCheck {
  ok: boolean;
  path: string;
  account: Account;
  /** The first path component that stops the account (a directory it cannot search, or the file). */
  blockedAt?: string;
  /** Human explanation when not ok. */
  reason?: string;
}

/**
 * Can `account` open `path` for reading? Root always can. Every ancestor directory needs the
 * search (x) bit for the account, the file the read (r) bit. A missing file is not readable.
 */
export async function canRead(path: string, account: Account): Promise<AccessCheck> {
  const full = resolve(path);
  if (account.uid === 0) return { ok: true, path: full, account };
  const chain: string[] = [];
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  const who = describeAccount(account);
  for (const dir of chain) {
    const s = statOrUndefined(dir);
    if (!s) return { ok: false, path: full, account, blockedAt: dir, reason: `${dir} does not exist` };
    if ((permissionBits(s.mode, s.uid, s.gid, account) & 1) === 0) {
      return { ok: false, path: full, account, blockedAt: dir, reason: `${who} cannot enter ${dir} (${ownerText(s)})` };
    }
  }
  const s = statOrUndefined(full);
  if (!s) return { ok: false, path: full, account, blockedAt: full, reason: `${full} does not exist` };
  if ((permissionBits(s.mode, s.uid, s.gid, account) & 4) === 0) {
    return { ok: false, path: full, account, blockedAt: full, reason: `${who} cannot read ${full} (${ownerText(s)})` };
  }
  return { ok: true, path: full, account };
}

function ownerText(s: { uid: number; gid: number; mode: number }): string {
  return `owner ${describeUid(s.uid)}, gid ${s.gid}, mode 0${(s.mode & 0o777).toString(8)}`;
}

/** The account a systemd unit runs as, from its `[Service]` section. */
export interface UnitAccount {
  /** `User=` (name or uid); undefined = root for a system unit, the unit owner for a user unit. */
  user?: string;
  /** `Group=`. */
  group?: string;
  supplementaryGroups: string[];
  /** `DynamicUser=yes`: a transient uid that owns the unit's StateDirectory. */
  dynamicUser: boolean;
}

/** What `unitAccount` needs of a parsed unit (`parseUnitFile` in src/service/systemd.ts). */
export interface UnitValues {
  get(section: string, key: string): string | undefined;
  all(section: string, key: string): string[];
}

export function unitAccount(unit: UnitValues): UnitAccount {
  const dyn = (unit.get("Service", "DynamicUser") ?? "").toLowerCase();
  return {
    user: unit.get("Service", "User") || undefined,
    group: unit.get("Service", "Group") || undefined,
    supplementaryGroups: unit.all("Service", "SupplementaryGroups").flatMap((v) => v.split(/\s+/).filter(Boolean)),
    dynamicUser: ["yes", "true", "1", "on"].includes(dyn),
  };
}

export interface ServiceAccessResult {
  /** The account the service runs as; undefined when it cannot be known yet. */
  account?: Account;
  check?: AccessCheck;
  /** Why the account is unknown (a DynamicUser that never ran, an unknown user name). */
  unknown?: string;
}

/**
 * Can the service account read `configPath`? The account is `opts.user` when given, else the
 * unit's `User=`/`Group=`/`SupplementaryGroups=`; a system unit without `User=` runs as root;
 * a `DynamicUser=yes` unit runs as the uid owning its state directory (systemd chowns it to the
 * transient user on start), unknown before the first start.
 */
export async function serviceCanReadConfig(opts: {
  configPath: string;
  /** The installed unit, parsed (`parseUnitFile(definition.text)`). */
  unit?: UnitValues;
  /** The account for a user unit (its owner), or an explicit one. */
  user?: string | number;
  /** The unit's state directory (DynamicUser). */
  stateDir?: string;
  db?: AccountDb;
}): Promise<ServiceAccessResult> {
  const db = opts.db ?? systemAccountDb();
  const unit = opts.unit ? unitAccount(opts.unit) : undefined;
  let account: Account | undefined;
  if (opts.user !== undefined) {
    account = lookupAccount(opts.user, db);
    if (!account) return { unknown: `unknown user "${opts.user}"` };
  } else if (unit?.user) {
    account = lookupAccount(unit.user, db);
    if (!account) return { unknown: `the unit's User=${unit.user} does not exist on this host` };
  } else if (unit?.dynamicUser) {
    const s = opts.stateDir ? statOrUndefined(opts.stateDir) : undefined;
    if (!s || s.uid === 0) return { unknown: "the unit uses DynamicUser=yes and has not started yet (its state directory has no transient owner)" };
    account = { uid: s.uid, gid: s.gid, groups: [s.gid] };
  } else {
    account = { name: "root", uid: 0, gid: 0, groups: [0] };
  }
  if (unit?.group) {
    const gid = lookupGroup(unit.group, db);
    if (gid !== undefined) account = { ...account, gid, groups: [...new Set([gid, ...account.groups])] };
  }
  for (const g of unit?.supplementaryGroups ?? []) {
    const gid = lookupGroup(g, db);
    if (gid !== undefined && !account.groups.includes(gid)) account = { ...account, groups: [...account.groups, gid] };
  }
  return { account, check: await canRead(opts.configPath, account) };
}

/** `statSync`, or undefined when the path cannot be stat'ed (missing, no permission). */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
