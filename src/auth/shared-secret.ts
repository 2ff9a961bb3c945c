/**
 * Shared-secret checks (token / password / none) for WebSocket connects and HTTP Bearer auth.
 * Secrets are compared in constant time over their SHA-256 digests, so length leaks nothing.
 */
import type { AuthSettings } from "../config/runtime.ts";
import type { AuthReason } from "../protocol/errors.ts";

export function safeEqual(a: string, b: string): boolean {
  const da = new Bun.CryptoHasher("sha256").update(a).digest();
  const db = new Bun.CryptoHasher("sha256").update(b).digest();
  let diff = 0;
  for (let i = 0; i < da.length; i++) diff |= da[i] ^ db[i];
  return diff === 0;
}

export type SharedAuthResult =
  | { ok: true; method: "token" | "password" | "none" }
  | { ok: false; reason: AuthReason; /** a non-empty secret was offered */ provided: boolean };

/**
 * Evaluate what a client offered against the gateway's shared secret.
 * Token mode accepts `auth.token` (falling back to `auth.password`); password mode mirrors it.
 */
export function checkSharedSecret(
  auth: Pick<AuthSettings, "mode" | "token" | "password">,
  offered: { token?: string; password?: string } | undefined,
): SharedAuthResult {
  const token = offered?.token || undefined;
  const password = offered?.password || undefined;
  switch (auth.mode) {
    case "none":
      return { ok: true, method: "none" };
    case "token": {
      if (!auth.token) return { ok: false, reason: "token_missing_config", provided: Boolean(token ?? password) };
      const candidate = token ?? password;
      if (!candidate) return { ok: false, reason: "token_missing", provided: false };
      if (safeEqual(candidate, auth.token)) return { ok: true, method: "token" };
      return { ok: false, reason: "token_mismatch", provided: true };
    }
    case "password": {
      if (!auth.password) return { ok: false, reason: "password_missing_config", provided: Boolean(password ?? token) };
      const candidate = password ?? token;
      if (!candidate) return { ok: false, reason: "password_missing", provided: false };
      if (safeEqual(candidate, auth.password)) return { ok: true, method: "password" };
      return { ok: false, reason: "password_mismatch", provided: true };
    }
    case "trusted-proxy": {
      // Over a direct-local socket the password is still accepted (handled by the caller).
      if (auth.password && password && safeEqual(password, auth.password)) return { ok: true, method: "password" };
      return { ok: false, reason: "unauthorized", provided: Boolean(password ?? token) };
    }
  }
}

/** `Authorization: Bearer <secret>` (scheme case-insensitive). */
export function bearerFrom(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}

/** HTTP: the Bearer value is compared against the token (token mode) or password (password mode). */
export function checkBearer(auth: Pick<AuthSettings, "mode" | "token" | "password">, bearer: string | undefined): SharedAuthResult {
  const password = auth.mode === "password" || auth.mode === "trusted-proxy";
  return checkSharedSecret(auth, password ? { password: bearer } : { token: bearer });
}
