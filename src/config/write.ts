/**
 * The one config writer. Every write of `openclaw.json` (first-run config, `openclaw config
 * set|unset`, the `config.set|patch|apply` RPCs, last-known-good restore) goes through here:
 *
 *   - validated first: the whole post-change document must pass the schema, or nothing is
 *     written (`ConfigWriteError`, "Config write rejected: …");
 *   - atomic: temp file in the same directory (0600) → fsync → rename over the target, then a
 *     best-effort fsync of the directory, so a crash at any point leaves the old or the new file;
 *   - one backup: the previous content is kept as `<config>.bak` (0600, written atomically too);
 *   - stamped: `meta.lastTouchedVersion` (this binary's CalVer), the one `meta` key the original
 *     writes; `meta.lastTouchedAt`, which the original refuses, is dropped;
 *   - lossless for data we do not interpret: the raw JSON5 document is written back (unknown
 *     trees, `${VAR}` references and SecretRefs stay as they were), never the validated,
 *     substituted view. JSON5 comments cannot survive a JSON write; callers can warn with
 *     `hasJson5Comments`.
 */
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { VERSION } from "../version.ts";
import { isPlainObject } from "./keypath.ts";
import { substituteEnv } from "./load.ts";
import type { Env } from "./paths.ts";
import { generateToken } from "./runtime.ts";
import { validateConfig, type ConfigIssue, type OpenClawConfig } from "./schema.ts";

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

function randomHex(bytes = 6): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported everywhere (Windows); the rename itself is what makes the write atomic.
  }
}

export async function writeFileAtomic(path: string, text: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const tmp = join(dir, `.${basename(path)}.${randomHex()}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(text, "utf8"); // the encoding applies to strings only
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await chmod(path, mode);
  await fsyncDir(dir);
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
  if (opts.backup !== false) {
    let previous: string | undefined;
    try {
      previous = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (previous !== undefined) {
      backupPath = backupPathFor(path);
      await writeFileAtomic(backupPath, previous);
    }
  }
  await writeFileAtomic(path, text);
  await sweepStaleTemps(path);
  const hash = new Bun.CryptoHasher("sha256").update(text).digest("hex");
  return { path, text, hash, doc: stamped, backupPath };
}

/** Temp files older than this are leftovers of a writer that was killed mid-write. */
const STALE_TEMP_MS = 60_000;

/** Remove `.<name>.<hex>.tmp` / `.<name>.bak.<hex>.tmp` leftovers of killed writers (best effort). */
async function sweepStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const name = basename(path);
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\.bak)?\\.[0-9a-f]+\\.tmp$`);
  try {
    const now = Date.now();
    for (const entry of await readdir(dir)) {
      if (!pattern.test(entry)) continue;
      const full = join(dir, entry);
      const info = await stat(full).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(full, { force: true });
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
