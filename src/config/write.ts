/**
 * Atomic config writes: temp file (0600) + fsync + rename in the same directory, state dir
 * 0700, `meta.lastTouchedVersion` stamped with this binary's version.
 */
import { chmod, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { VERSION } from "../version.ts";
import { generateToken } from "./runtime.ts";
import type { OpenClawConfig } from "./schema.ts";

export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const tmp = join(dir, `.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(text, "utf8");
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
}

export function stampMeta(config: OpenClawConfig): OpenClawConfig {
  const { lastTouchedAt: _retired, ...meta } = config.meta ?? {};
  return { ...config, meta: { ...meta, lastTouchedVersion: VERSION } };
}

export async function writeConfig(path: string, config: OpenClawConfig): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(stampMeta(config), null, 2)}\n`);
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
