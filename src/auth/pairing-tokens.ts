/**
 * Per-device bearer tokens without storing them.
 *
 * A device token is `base64url(HMAC-SHA256(secret, "openclaw-device-token/v1", deviceId, role, salt))`:
 * 32 bytes, the same shape as the original's random tokens. The pairing store keeps only the
 * salt and SHA-256 of the token, so a copy of the database (a backup, a support bundle) holds no
 * usable credential; checking a presented token needs only that hash (constant-time compare),
 * and the gateway can hand the *same* token back on every reconnect, as the original does, by
 * deriving it again. Rotation draws a new salt; revocation is a timestamp on the row.
 *
 * The secret is 32 random bytes in `<stateDir>/credentials/device-token.key` (0600, directory
 * 0700), created on first use by whichever process gets there first: written to a temp file,
 * flushed, then hard-linked into place, so no reader ever sees a partial key and two racing
 * creators agree on one. Losing the file does not lock anyone out: stored hashes still verify the
 * tokens clients hold, and the next token the gateway has to hand out is minted with a new salt.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** `n` random bytes from WebCrypto (node:crypto is not loaded at startup: about 3 MB of RSS). */
function randomBytes(n: number): Buffer {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n)));
}

export const TOKEN_SECRET_FILE = join("credentials", "device-token.key");
const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const DOMAIN = "openclaw-device-token/v1";

export function tokenSecretPath(stateDir: string): string {
  return join(stateDir, TOKEN_SECRET_FILE);
}

export class TokenSecretError extends Error {
  override name = "TokenSecretError";
}

/** Read the secret, creating it when absent. Throws TokenSecretError for a damaged file. */
export function loadOrCreateTokenSecret(path: string): Buffer {
  const existing = readSecret(path);
  if (existing) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const secret = randomBytes(SECRET_BYTES);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, secret.toString("hex"));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(tmp);
  }
  try {
    const dirFd = openSync(dirname(path), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Directory fsync is best effort (not supported everywhere); the link itself is atomic.
  }
  const created = readSecret(path);
  if (!created) throw new TokenSecretError(`${path}: device token secret could not be created`);
  return created;
}

function readSecret(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new TokenSecretError(`${path}: not a device token secret (expected 64 hex characters); move it aside to start over`);
  }
  return Buffer.from(text, "hex");
}

export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

export function deriveToken(secret: Uint8Array, deviceId: string, role: string, salt: Uint8Array): string {
  const h = new Bun.CryptoHasher("sha256", secret);
  h.update(DOMAIN);
  h.update("\0");
  h.update(deviceId);
  h.update("\0");
  h.update(role);
  h.update("\0");
  h.update(salt);
  return h.digest("base64url");
}

export function hashToken(token: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(token).digest());
}

/** Constant-time: the presented token hashed, compared with the stored hash. Blank never matches. */
export function tokenMatches(presented: string, storedHash: Uint8Array): boolean {
  if (presented.trim() === "" || storedHash.length !== 32) return false;
  return crypto.timingSafeEqual(hashToken(presented), storedHash);
}
