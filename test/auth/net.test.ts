import { describe, expect, test } from "bun:test";
import { hasForwardingHeaders, ipInList, isDirectLocal, isLoopbackIp, isPrivateIp, normalizeIp } from "../../src/auth/net.ts";

describe("addresses", () => {
  test("normalizeIp strips brackets, zones and the v4-mapped prefix", () => {
    expect(normalizeIp("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(normalizeIp("[::1]")).toBe("::1");
    expect(normalizeIp("fe80::1%eth0")).toBe("fe80::1");
  });

  test("loopback and private ranges", () => {
    for (const ip of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) expect(isLoopbackIp(ip)).toBe(true);
    for (const ip of ["10.1.2.3", "172.16.0.1", "192.168.1.5", "100.100.1.1", "fd00::1"]) expect(isPrivateIp(ip)).toBe(true);
    for (const ip of ["8.8.8.8", "172.32.0.1", "2001:db8::1"]) expect(isPrivateIp(ip)).toBe(false);
  });

  test("CIDR lists, v4 and v6", () => {
    expect(ipInList("10.0.5.7", ["10.0.0.0/16"])).toBe(true);
    expect(ipInList("10.1.5.7", ["10.0.0.0/16"])).toBe(false);
    expect(ipInList("192.0.2.1", ["192.0.2.1"])).toBe(true);
    expect(ipInList("2001:db8::5", ["2001:db8::/32"])).toBe(true);
    expect(ipInList("2001:db9::5", ["2001:db8::/32"])).toBe(false);
    expect(ipInList("::ffff:10.0.0.1", ["10.0.0.0/8"])).toBe(true);
    expect(ipInList("1.2.3.4", ["0.0.0.0/0"])).toBe(true);
    expect(ipInList("1.2.3.4", ["not-an-ip/8"])).toBe(false);
  });

  test("forwarding evidence makes a loopback peer not direct-local", () => {
    expect(isDirectLocal("127.0.0.1", new Headers())).toBe(true);
    for (const h of ["Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto", "Tailscale-User-Login"]) {
      const headers = new Headers({ [h]: "x" });
      expect(hasForwardingHeaders(headers)).toBe(true);
      expect(isDirectLocal("127.0.0.1", headers)).toBe(false);
    }
    expect(isDirectLocal("192.168.1.2", new Headers())).toBe(false);
  });
});
