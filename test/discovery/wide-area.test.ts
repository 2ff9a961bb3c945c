import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  contentHash,
  DOMAIN_ERROR,
  nextSerial,
  normalizeDomain,
  quoteTxt,
  renderZone,
  writeZone,
  zoneHostLabel,
  zonePath,
  type ZoneInput,
} from "../../src/discovery/wide-area.ts";
import { cleanDnsName, parseTailscaleStatus, readTailscaleStatus, resolveTailnetDns, tailnetAddresses } from "../../src/discovery/tailscale.ts";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-wa-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const INPUT: ZoneInput = {
  domain: "openclaw.internal",
  hostLabel: "vm",
  ipv4: ["100.64.0.5"],
  ipv6: ["fd7a:115c:a1e0::5"],
  port: 18789,
  txt: ["displayName=vm (OpenClaw)", "role=gateway", "transport=gateway", "gatewayPort=18789"],
};

describe("domains and labels", () => {
  test("normalizeDomain: labels + trailing dot, lowercase; errors carry the upstream text", () => {
    expect(normalizeDomain("OpenClaw.Internal")).toBe("openclaw.internal.");
    expect(normalizeDomain("openclaw.internal.")).toBe("openclaw.internal.");
    for (const bad of ["", ".", "a..b", "-a.b", "a_b.c", "x".repeat(64), `${"a.".repeat(127)}a`, "local", "a b"]) {
      expect(() => normalizeDomain(bad)).toThrow(DOMAIN_ERROR);
    }
  });

  test("zone host label: lowercase, [a-z0-9-] only, fallback openclaw", () => {
    expect(zoneHostLabel("VM")).toBe("vm");
    expect(zoneHostLabel("My_Box.example.com")).toBe("my-box");
    expect(zoneHostLabel("___")).toBe("openclaw");
  });

  test("zone path stays under <stateDir>/dns", () => {
    expect(zonePath("/state", "openclaw.internal.")).toBe("/state/dns/openclaw.internal.db");
    expect(() => zonePath("/state", "../../etc")).toThrow(DOMAIN_ERROR);
  });
});

describe("zone file", () => {
  test("renders SOA, NS, A/AAAA, PTR, SRV and TXT with a content hash", () => {
    const { text, hash } = renderZone(INPUT, 2026112201);
    expect(text).toBe(
      [
        `; openclaw-content-hash: ${hash}`,
        "$ORIGIN openclaw.internal.",
        "$TTL 60",
        "@ IN SOA ns1 hostmaster 2026112201 7200 3600 1209600 60",
        "@ IN NS ns1",
        "ns1 IN A 100.64.0.5",
        "vm IN A 100.64.0.5",
        "vm IN AAAA fd7a:115c:a1e0::5",
        "_openclaw-gw._tcp IN PTR vm-gateway._openclaw-gw._tcp",
        "vm-gateway._openclaw-gw._tcp IN SRV 0 0 18789 vm",
        'vm-gateway._openclaw-gw._tcp IN TXT "displayName=vm (OpenClaw)" "role=gateway" "transport=gateway" "gatewayPort=18789"',
        "",
      ].join("\n"),
    );
    expect(hash).toMatch(/^[0-9a-f]{8}$/);
    expect(renderZone(INPUT, 7).hash).toBe(hash); // the serial is not part of the hash
    expect(contentHash("x")).not.toBe(contentHash("y"));
  });

  test("TXT strings are quoted and escaped", () => {
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteTxt("ü\n")).toBe('"\\195\\188\\010"');
  });

  test("serial: YYYYMMDD01, or previous + 1", () => {
    const day = new Date("2026-11-22T10:00:00Z");
    expect(nextSerial(undefined, day)).toBe(2026112201);
    expect(nextSerial(2026112201, day)).toBe(2026112202);
    expect(nextSerial(2025010105, day)).toBe(2026112201);
  });

  test("writeZone: written 0644 in a 0700 dns dir; unchanged content is not rewritten; a change bumps the serial", async () => {
    const state = tmp();
    const day = new Date("2026-11-22T10:00:00Z");
    const first = await writeZone(state, INPUT, day);
    expect(first).toMatchObject({ changed: true, serial: 2026112201, path: join(state, "dns", "openclaw.internal.db") });
    expect(statSync(first.path).mode & 0o777).toBe(0o644);
    expect(statSync(join(state, "dns")).mode & 0o777).toBe(0o700);
    const mtime = statSync(first.path).mtimeMs;
    const again = await writeZone(state, INPUT, day);
    expect(again).toMatchObject({ changed: false, serial: 2026112201 });
    expect(statSync(first.path).mtimeMs).toBe(mtime);
    const moved = await writeZone(state, { ...INPUT, port: 19000 }, day);
    expect(moved).toMatchObject({ changed: true, serial: 2026112202 });
    expect(readFileSync(moved.path, "utf8")).toContain("IN SRV 0 0 19000 vm");
  });

  test("a zone without addresses is refused; nothing is written", async () => {
    const state = tmp();
    await expect(writeZone(state, { ...INPUT, ipv4: [], ipv6: [] })).rejects.toThrow("the zone needs at least one address");
  });
});

describe("tailscale", () => {
  test("status JSON: Self.DNSName (dot stripped) and TailscaleIPs; junk is undefined", () => {
    expect(parseTailscaleStatus(JSON.stringify({ Self: { DNSName: "vm.tail1.ts.net.", TailscaleIPs: ["100.64.0.5", "fd7a:115c:a1e0::5"] } }))).toEqual({
      dnsName: "vm.tail1.ts.net",
      ips: ["100.64.0.5", "fd7a:115c:a1e0::5"],
    });
    expect(parseTailscaleStatus("not json")).toBeUndefined();
    expect(parseTailscaleStatus("{}")).toBeUndefined();
    expect(parseTailscaleStatus(JSON.stringify({ Self: { DNSName: "bad name!", TailscaleIPs: [1, "100.64.0.9"] } }))).toEqual({ dnsName: undefined, ips: ["100.64.0.9"] });
    expect(cleanDnsName("a.b.")).toBe("a.b");
  });

  test("OPENCLAW_TAILNET_DNS wins", async () => {
    expect(await resolveTailnetDns({ env: { OPENCLAW_TAILNET_DNS: "gw.tail.ts.net." }, cli: null })).toBe("gw.tail.ts.net");
  });

  test("the `tailscale` CLI (a stand-in script on PATH) fills tailnetDns; a hanging CLI is cut off", async () => {
    const dir = tmp();
    const cli = join(dir, "tailscale");
    writeFileSync(cli, `#!/bin/sh\necho '{"Self":{"DNSName":"pi.tail9.ts.net.","TailscaleIPs":["100.100.1.2"]}}'\n`);
    chmodSync(cli, 0o755);
    expect(await resolveTailnetDns({ env: { PATH: dir }, interfaces: { networkInterfaces: () => ({}), flags: () => undefined } })).toBe("pi.tail9.ts.net");

    const slow = join(dir, "slow");
    writeFileSync(slow, "#!/bin/sh\nsleep 5\n");
    chmodSync(slow, 0o755);
    const t0 = performance.now();
    expect(await readTailscaleStatus(slow, 200)).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(2_000);

    const failing = join(dir, "failing");
    writeFileSync(failing, "#!/bin/sh\necho '{}'\nexit 3\n");
    chmodSync(failing, 0o755);
    expect(await readTailscaleStatus(failing, 1000)).toBeUndefined();
  });

  test("without env or CLI: the first 100.64/10 interface address", async () => {
    const interfaces = {
      networkInterfaces: () => ({
        eth0: [{ address: "10.0.0.1", family: "IPv4", internal: false } as any],
        tailscale0: [{ address: "100.101.1.2", family: "IPv4", internal: false } as any, { address: "fd7a:115c:a1e0::2", family: "IPv6", internal: false } as any],
      }),
      flags: () => undefined,
    };
    expect(await resolveTailnetDns({ env: {}, cli: null, interfaces })).toBe("100.101.1.2");
    expect(tailnetAddresses(interfaces)).toEqual({ ipv4: ["100.101.1.2"], ipv6: ["fd7a:115c:a1e0::2"] });
    expect(await resolveTailnetDns({ env: {}, cli: null, interfaces: { networkInterfaces: () => ({}), flags: () => undefined } })).toBeUndefined();
  });
});
