import { describe, expect, test } from "bun:test";
import { checkOrigin } from "../../src/auth/origin.ts";

const policy = { allowedOrigins: [] as string[], allowHostHeaderFallback: false };

describe("Origin policy", () => {
  test("listed origins and the wildcard", () => {
    expect(checkOrigin("https://ui.example", "gw:1", false, { ...policy, allowedOrigins: ["https://ui.example/"] }).ok).toBe(true);
    expect(checkOrigin("https://any.example", "gw:1", false, { ...policy, allowedOrigins: ["*"] }).ok).toBe(true);
  });

  test("Origin host equal to Host on loopback, private, .local and .ts.net hosts", () => {
    for (const host of ["127.0.0.1:18789", "192.168.1.4:18789", "pi.local:18789", "box.tail1234.ts.net"]) {
      expect(checkOrigin(`http://${host}`, host, false, policy).ok).toBe(true);
    }
    expect(checkOrigin("https://gw.example.com", "gw.example.com", false, policy)).toEqual({ ok: false, reason: "host-not-private" });
    expect(checkOrigin("https://gw.example.com", "gw.example.com", false, { ...policy, allowHostHeaderFallback: true }).ok).toBe(true);
  });

  test("a direct-local client may present a loopback Origin for another port", () => {
    expect(checkOrigin("http://localhost:5173", "127.0.0.1:18789", true, policy).ok).toBe(true);
    expect(checkOrigin("http://localhost:5173", "127.0.0.1:18789", false, policy).ok).toBe(false);
  });

  test("foreign or garbage origins are refused", () => {
    expect(checkOrigin("https://evil.example", "127.0.0.1:18789", true, policy)).toEqual({ ok: false, reason: "origin-not-allowed" });
    expect(checkOrigin("null", "127.0.0.1:18789", true, policy)).toEqual({ ok: false, reason: "origin-unparseable" });
  });
});
