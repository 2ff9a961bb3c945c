import { describe, expect, test } from "bun:test";
import { FailedAuthLimiter, slowdownMs } from "../../src/auth/rate-limit.ts";

const settings = { maxAttempts: 3, windowMs: 60_000, lockoutMs: 300_000, exemptLoopback: true };

describe("failed-auth limiter", () => {
  test("slowdown doubles from 250 ms up to 5 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(slowdownMs)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(slowdownMs(0)).toBe(0);
  });

  test("locks a non-exempt client out after maxAttempts inside the window, until lockoutMs passes", () => {
    let now = 1_000_000;
    const l = new FailedAuthLimiter(settings, () => now);
    expect(l.recordFailure("shared-secret", "203.0.113.1", false)).toBe(250);
    expect(l.recordFailure("shared-secret", "203.0.113.1", false)).toBe(500);
    expect(l.lockedFor("shared-secret", "203.0.113.1")).toBe(0);
    l.recordFailure("shared-secret", "203.0.113.1", false);
    expect(l.lockedFor("shared-secret", "203.0.113.1")).toBe(300_000);
    now += 299_000;
    expect(l.lockedFor("shared-secret", "203.0.113.1")).toBe(1_000);
    now += 1_000;
    expect(l.lockedFor("shared-secret", "203.0.113.1")).toBe(0);
  });

  test("exempt clients are slowed down but never locked; classes and IPs are separate", () => {
    const l = new FailedAuthLimiter(settings);
    for (let i = 0; i < 5; i++) l.recordFailure("shared-secret", "127.0.0.1", true);
    expect(l.lockedFor("shared-secret", "127.0.0.1")).toBe(0);
    for (let i = 0; i < 3; i++) l.recordFailure("shared-secret", "198.51.100.2", false);
    expect(l.lockedFor("device-token", "198.51.100.2")).toBe(0);
    expect(l.lockedFor("shared-secret", "198.51.100.3")).toBe(0);
  });

  test("failures leave the window and success resets", () => {
    let now = 0;
    const l = new FailedAuthLimiter(settings, () => now);
    l.recordFailure("shared-secret", "a", false);
    l.recordFailure("shared-secret", "a", false);
    now += 60_001;
    expect(l.recordFailure("shared-secret", "a", false)).toBe(250);
    l.recordSuccess("shared-secret", "a");
    expect(l.recordFailure("shared-secret", "a", false)).toBe(250);
  });

  test("memory stays bounded under a flood of distinct clients", () => {
    const l = new FailedAuthLimiter(settings);
    for (let i = 0; i < 25_000; i++) l.recordFailure("shared-secret", `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, false);
    expect((l as unknown as { entries: Map<string, unknown> }).entries.size).toBeLessThanOrEqual(10_000);
  });
});
