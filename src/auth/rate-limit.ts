/**
 * Failed-auth limiter, per (credential class, client IP), shared by WebSocket and HTTP.
 *
 * - Each failure inside the window delays the reply by min(250 * 2^(n-1), 5000) ms.
 * - `maxAttempts` failures inside `windowMs` lock the key out for `lockoutMs`,
 *   unless the client is loopback and `exemptLoopback` is set (the default).
 * - Success resets the key; missing credentials are not failures.
 */
import type { RateLimitSettings } from "../config/runtime.ts";

export type CredentialClass = "shared-secret" | "device-token" | "bootstrap-token";

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export const SLOWDOWN_BASE_MS = 250;
export const SLOWDOWN_MAX_MS = 5000;
const MAX_KEYS = 10_000;

export function slowdownMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(SLOWDOWN_BASE_MS * 2 ** (failures - 1), SLOWDOWN_MAX_MS);
}

export class FailedAuthLimiter {
  private entries = new Map<string, Entry>();

  constructor(
    private settings: RateLimitSettings,
    private now: () => number = Date.now,
  ) {}

  updateSettings(settings: RateLimitSettings): void {
    this.settings = settings;
  }

  private key(cls: CredentialClass, ip: string): string {
    return `${cls}|${ip}`;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const t = this.now();
    entry.failures = entry.failures.filter((ts) => t - ts < this.settings.windowMs);
    if (entry.failures.length === 0 && entry.lockedUntil <= t) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Milliseconds until the lockout ends (0 = not locked). */
  lockedFor(cls: CredentialClass, ip: string): number {
    const entry = this.live(this.key(cls, ip));
    if (!entry) return 0;
    return Math.max(0, entry.lockedUntil - this.now());
  }

  /** Record a failure; returns the delay to apply before replying. */
  recordFailure(cls: CredentialClass, ip: string, exempt: boolean): number {
    const key = this.key(cls, ip);
    const t = this.now();
    const entry = this.live(key) ?? { failures: [], lockedUntil: 0 };
    entry.failures.push(t);
    if (entry.failures.length > this.settings.maxAttempts * 2) entry.failures.shift();
    if (!exempt && entry.failures.length >= this.settings.maxAttempts) entry.lockedUntil = t + this.settings.lockoutMs;
    this.entries.set(key, entry);
    if (this.entries.size > MAX_KEYS) this.sweep();
    return slowdownMs(entry.failures.length);
  }

  recordSuccess(cls: CredentialClass, ip: string): void {
    this.entries.delete(this.key(cls, ip));
  }

  private sweep(): void {
    for (const key of [...this.entries.keys()]) this.live(key);
    // Still too many: drop the oldest half (Map keeps insertion order).
    if (this.entries.size > MAX_KEYS) {
      let drop = this.entries.size - MAX_KEYS / 2;
      for (const key of this.entries.keys()) {
        if (drop-- <= 0) break;
        this.entries.delete(key);
      }
    }
  }
}
