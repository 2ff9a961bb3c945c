/**
 * The one config writer. Every write of `openclaw.json` (first-run config, `openclaw config
 * set|unset`, the `config.set|patch|apply` RPCs, last-known-good restore) goes through here:
 *
 *   - validated first: the whole post-change document must pass the schema, or nothing is
 *     written (`ConfigWriteError`, "Config write rejected: …");
 *   - atomic: temp file in the same directory (created 0600, given its final owner, group and
 *     mode while still private) → fsync → rename over the target, then a best-effort fsync of
 *     the directory, so a crash at any point leaves the old or the new file. The file calls are
 *     synchronous: the files are small and written rarely (startup, an operator's change), and
 *     a gateway whose only file work is this never starts the runtime's file-system thread
 *     pool (two threads and ~0.4 MB resident; docs/benchmarks.md "Memory"). An fsync blocks
 *     the event loop for its duration, as the state database's writes already do;
 *   - ownership kept: a replaced file keeps its owner and group, and a config file its mode, so
 *     `sudo openclaw config set …` on a service account's config leaves it readable by that
 *     account. A process that cannot keep the owner (not root, someone else's file) refuses with
 *     `FileOwnershipError` instead of silently handing the file to itself;
 *   - one backup: the previous content is kept as `<config>.bak` with the config's owner, group
 *     and mode (written atomically too);
 *   - stamped: `meta.lastTouchedVersion` (this binary's CalVer), the one `meta` key the original
 *     writes; `meta.lastTouchedAt`, which the original refuses, is dropped;
 *   - lossless for data we do not interpret: the raw JSON5 document is written back (unknown
 *     trees, `${VAR}` references and SecretRefs stay as they were), never the validated,
 *     substituted view. JSON5 comments cannot survive a JSON write; callers can warn with
 *     `hasJson5Comments`.
 */
import { closeSync, fchmodSync, fchownSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { VERSION } from "../version.ts";
import { describeUid, lookupAccount, statOrUndefined } from "./access.ts";
import { isPlainObject } from "./keypath.ts";
import { substituteEnv } from "./load.ts";
import type { Env } from "./paths.ts";
import { generateToken } from "./runtime.ts";
import { validateConfig, type ConfigIssue, type OpenClawConfig } from "./schema.ts";

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function randomHex(bytes = 6): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not supported everywhere (Windows); the rename itself is what makes the write atomic.
  }
}

/** Owner, group and permission bits of a file (the parts a replacement keeps). */
export interface FileIdentity {
  uid: number;
  gid: number;
  mode: number;
}

export interface AtomicWriteOptions {
  /** Permission bits of a new file, and of a replaced one unless `keepMode` (default 0600). */
  mode?: number;
  /** A replaced file keeps its own permission bits (config files: the operator chose them). */
  keepMode?: boolean;
  /** Take owner, group and mode from this identity instead of the file being replaced (backups). */
  like?: FileIdentity;
  /**
   * fsync the file and its directory (default true). Off only for files that describe the
   * running process and are rewritten at every start (the instance lock's holder): a crash
   * makes them stale anyway, and the rename still never leaves a torn file.
   */
  durable?: boolean;
}

/** Replacing the file would change its owner and this process cannot keep it. */
export class FileOwnershipError extends Error {
  override name = "FileOwnershipError";
  constructor(
    readonly path: string,
    readonly owner: FileIdentity,
    readonly processUid: number,
    message: string,
  ) {
    super(message);
  }
}

function identityOf(path: string): FileIdentity | undefined {
  try {
    const s = statSync(path);
    return { uid: s.uid, gid: s.gid, mode: s.mode & 0o777 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function processIds(): { uid: number; gid: number } | undefined {
  // Windows has no POSIX owners: nothing to keep.
  if (typeof process.getuid !== "function" || typeof process.getgid !== "function") return undefined;
  return { uid: process.getuid(), gid: process.getgid() };
}

function ownershipRefusal(path: string, owner: FileIdentity, me: number, what: "owner" | "group"): FileOwnershipError {
  const ownerName = describeUid(owner.uid);
  const meName = describeUid(me);
  const detail =
    what === "owner"
      ? `it belongs to ${ownerName} and this process runs as ${meName}, so the new file would belong to ${meName} and ${ownerName} could lose access to it`
      : `its group is gid ${owner.gid}, which ${meName} cannot assign`;
  const login = lookupAccount(owner.uid)?.name;
  const sudo = `sudo -u ${login ?? `'#${owner.uid}'`} openclaw …`;
  return new FileOwnershipError(path, owner, me, `Refusing to replace ${path}: ${detail}. Run the command as its owner (\`${sudo}\`) or as root, which keeps the owner.`);
}

/**
 * The owner and group a replacement of a file with identity `target` must be given, or
 * undefined when the writer's own ids already match. Throws FileOwnershipError when a non-root
 * process would have to give the file away.
 */
function plannedOwner(path: string, target: FileIdentity | undefined): FileIdentity | undefined {
  const me = processIds();
  if (!target || !me || (target.uid === me.uid && target.gid === me.gid)) return undefined;
  if (me.uid !== 0 && target.uid !== me.uid) throw ownershipRefusal(path, target, me.uid, "owner");
  return target;
}

/**
 * Write `text` to `path` atomically (see the module header). The third argument is the mode
 * (number) or the options; a replaced file always keeps its owner and group.
 */
export async function writeFileAtomic(path: string, text: string | Uint8Array, modeOrOptions: number | AtomicWriteOptions = {}): Promise<void> {
  const opts: AtomicWriteOptions = typeof modeOrOptions === "number" ? { mode: modeOrOptions } : modeOrOptions;
  const durable = opts.durable !== false;
  const dir = dirname(path);
  ensurePrivateDir(dir);
  const existing = identityOf(path);
  const target = opts.like ?? existing;
  const mode = opts.like ? opts.like.mode : opts.keepMode && existing ? existing.mode : (opts.mode ?? 0o600);
  const chown = plannedOwner(path, target);
  const tmp = join(dir, `.${basename(path)}.${randomHex()}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeFileSync(fd, text); // strings as UTF-8
    if (durable) fsyncSync(fd);
    if (chown) {
      try {
        fchownSync(fd, chown.uid, chown.gid);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EPERM") throw ownershipRefusal(path, chown, process.getuid?.() ?? -1, "group");
        throw err;
      }
    }
    // After chown (which may clear set-id bits) and before the rename: never a moment with
    // the new content under the wrong owner or mode.
    fchmodSync(fd, mode);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (durable) fsyncDir(dir);
}

/** Set `meta.lastTouchedVersion`; returns a copy, keeps the other meta keys the original accepts. */
export function stampMeta<T extends object>(config: T, _now?: Date): T {
  const meta = (config as { meta?: unknown }).meta;
  const { lastTouchedAt: _dropped, ...base } = isPlainObject(meta) ? meta : {};
  return { ...config, meta: { ...base, lastTouchedVersion: VERSION } };
}

/** Config files are written as 2-space JSON with a trailing newline. */
export function serializeConfig(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export class ConfigWriteError extends Error {
  override name = "ConfigWriteError";
  constructor(
    readonly configPath: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => `Config write rejected: ${i.path}: ${i.message}`).join("\n"));
  }
}

export interface WriteResult {
  path: string;
  /** The exact text written. */
  text: string;
  /** sha256 hex of `text`. */
  hash: string;
  /** The stamped document that was written. */
  doc: Record<string, unknown>;
  /** Where the previous content was kept, when there was a previous file. */
  backupPath?: string;
}

export interface WriteOptions {
  /** Environment used to substitute `${VAR}` for validation (the file keeps the references). */
  env?: Env;
  /** Keep the previous content as `<path>.bak` (default true). */
  backup?: boolean;
  now?: Date;
}

export function backupPathFor(configPath: string): string {
  return `${configPath}.bak`;
}

/**
 * Validate, stamp and atomically write a raw config document. Throws `ConfigWriteError`
 * (nothing written) when the result would not be a valid config.
 */
export async function writeConfigDocument(path: string, doc: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
  if (!isPlainObject(doc)) {
    throw new ConfigWriteError(path, [{ path: "<root>", message: "config must be an object" }]);
  }
  const stamped = stampMeta(doc, opts.now);
  const check = validateConfig(substituteEnv(stamped, opts.env ?? process.env, []));
  if (!check.ok) throw new ConfigWriteError(path, check.issues);
  const text = serializeConfig(stamped);
  let backupPath: string | undefined;
  // The config's owner, group and mode as they were: the new file and its backup keep them.
  const before = identityOf(path);
  // Refuse before anything is written (the backup included) when the owner cannot be kept.
  plannedOwner(path, before);
  if (opts.backup !== false && before) {
    let previous: string | undefined;
    try {
      previous = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (previous !== undefined) {
      backupPath = backupPathFor(path);
      await writeFileAtomic(backupPath, previous, { like: before });
    }
  }
  await writeFileAtomic(path, text, { keepMode: true });
  sweepStaleTemps(path);
  const hash = new Bun.CryptoHasher("sha256").update(text).digest("hex");
  return { path, text, hash, doc: stamped, backupPath };
}

/** Temp files older than this are leftovers of a writer that was killed mid-write. */
const STALE_TEMP_MS = 60_000;

/** Remove `.<name>.<hex>.tmp` / `.<name>.bak.<hex>.tmp` leftovers of killed writers (best effort). */
function sweepStaleTemps(path: string): void {
  const dir = dirname(path);
  const name = basename(path);
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\.bak)?\\.[0-9a-f]+\\.tmp$`);
  try {
    const now = Date.now();
    for (const entry of readdirSync(dir)) {
      if (!pattern.test(entry)) continue;
      const full = join(dir, entry);
      const info = statOrUndefined(full);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) rmSync(full, { force: true });
    }
  } catch {
    // never fail a write over housekeeping
  }
}

/** Write a typed config (first-run config, tests). Same guarantees as `writeConfigDocument`. */
export async function writeConfig(path: string, config: OpenClawConfig, opts: WriteOptions = {}): Promise<WriteResult> {
  return writeConfigDocument(path, config, opts);
}

/** True when JSON5 text has a `//` or `/* *\/` comment outside string literals. */
export function hasJson5Comments(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) return true;
  }
  return false;
}

/**
 * The zero-setup config written on first run: local mode, token auth with a fresh random
 * token. When the operator asked for password auth (flag or env) the file records that mode
 * instead and holds no secret.
 */
export function initialConfig(opts: { passwordMode?: boolean } = {}): OpenClawConfig {
  return {
    gateway: {
      mode: "local",
      auth: opts.passwordMode ? { mode: "password" } : { mode: "token", token: generateToken() },
    },
  };
}
