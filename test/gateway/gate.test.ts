/**
 * The gate HTTP and the WebSocket share: attribution and the failed-auth limiter. A wrong
 * secret is answered only after the slowdown the limiter returns, on HTTP as on the WebSocket.
 */
import { describe, expect, test } from "bun:test";
import { FailedAuthLimiter, slowdownMs } from "../../src/auth/rate-limit.ts";
import type { GatewaySettings } from "../../src/config/runtime.ts";
import type { ConfigSnapshot } from "../../src/config/snapshot.ts";
import { attribute, limiterSubject } from "../../src/gateway/gate.ts";
import { authenticateHttp } from "../../src/gateway/http/auth.ts";
import type { HttpContext } from "../../src/gateway/http/types.ts";

const RATE = { maxAttempts: 10, windowMs: 60_000, lockoutMs: 300_000, exemptLoopback: true };

function ctxWithSleep() {
  const sleeps: Array<{ ms: number; release(): void }> = [];
  const settings = { auth: { mode: "token", token: "right-token", runtimeToken: false, rateLimit: RATE }, trustedProxies: [], allowedOrigins: [] } as unknown as GatewaySettings;
  const ctx = {
    settings,
    snapshot: { config: {} } as ConfigSnapshot,
    limiter: new FailedAuthLimiter(RATE),
    sleep: (ms: number) => new Promise<void>((release) => sleeps.push({ ms, release })),
  } as unknown as HttpContext & { sleep(ms: number): Promise<void> };
  return { ctx, sleeps };
}

describe("attribution", () => {
  test("direct, trusted proxy (rightmost untrusted XFF hop), untrusted proxy", () => {
    const h = (init: Record<string, string>) => new Headers(init);
    expect(attribute("10.0.0.5", h({}), [], false)).toEqual({ socketIp: "10.0.0.5", clientIp: "10.0.0.5", forwarded: false, directLocal: false });
    expect(attribute("127.0.0.1", h({}), [], false).directLocal).toBe(true);
    expect(attribute("10.0.0.1", h({ "x-forwarded-for": "203.0.113.9, 10.0.0.2" }), ["10.0.0.1", "10.0.0.2"], false).clientIp).toBe("203.0.113.9");
    expect(attribute("10.0.0.9", h({ "x-forwarded-for": "203.0.113.9" }), ["10.0.0.1"], false).clientIp).toBeUndefined();
    expect(attribute("10.0.0.1", h({ "x-real-ip": "203.0.113.7" }), ["10.0.0.1"], true).clientIp).toBe("203.0.113.7");
    expect(attribute("10.0.0.1", h({ "x-real-ip": "203.0.113.7" }), ["10.0.0.1"], false).clientIp).toBeUndefined();
  });

  test("limiter subject: a browser on loopback is keyed by its origin and never exempt", () => {
    expect(limiterSubject("127.0.0.1", undefined, true)).toEqual({ key: "127.0.0.1", exempt: true });
    expect(limiterSubject("127.0.0.1", "http://app.example", true)).toEqual({ key: "browser-origin:http://app.example", exempt: false });
    expect(limiterSubject("203.0.113.9", "http://app.example", true)).toEqual({ key: "203.0.113.9", exempt: false });
  });
});

describe("HTTP applies the failed-auth slowdown", () => {
  test("a wrong bearer is answered only after the limiter's delay; the right one is not delayed", async () => {
    const { ctx, sleeps } = ctxWithSleep();
    const req = (token: string) => new Request("http://gw/v1/models", { headers: { Authorization: `Bearer ${token}` } });
    let settled = false;
    const pending = authenticateHttp(ctx, req("wrong-token"), "198.51.100.4").then((r) => {
      settled = true;
      return r;
    });
    // The failure is counted and the answer waits on the slowdown it returned.
    for (let i = 0; i < 50 && sleeps.length === 0; i++) await Promise.resolve();
    expect(sleeps.map((s) => s.ms)).toEqual([slowdownMs(1)]);
    await Bun.sleep(0);
    expect(settled).toBe(false);
    sleeps[0].release();
    const res = (await pending) as Response;
    expect(res.status).toBe(401);
    // A second failure waits longer (the limiter doubles the slowdown).
    const second = authenticateHttp(ctx, req("wrong-again"), "198.51.100.4");
    for (let i = 0; i < 50 && sleeps.length < 2; i++) await Promise.resolve();
    expect(sleeps[1].ms).toBe(slowdownMs(2));
    sleeps[1].release();
    expect(((await second) as Response).status).toBe(401);
    // The right secret passes without waiting, and resets the count.
    const ok = await authenticateHttp(ctx, req("right-token"), "198.51.100.4");
    expect(ok).not.toBeInstanceOf(Response);
    expect(sleeps).toHaveLength(2);
    expect(ctx.limiter.recordFailure("shared-secret", "198.51.100.4", false)).toBe(slowdownMs(1));
  });
});
