/**
 * `openclaw gateway discover` formatting and flag checks (in process: browsing itself is shown in
 * the network-namespace tests), and `openclaw dns setup` end to end from source (it only writes
 * a file, so it runs on the host).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_TIMEOUT_MS, formatHuman, parseTimeout, safeText, wideAreaDomain } from "../../src/cli/discover.ts";
import { NO_DOMAIN, parseIpList } from "../../src/cli/dns.ts";
import { makeBeacon } from "../../src/discovery/beacons.ts";
import { tailnetAddresses } from "../../src/discovery/tailscale.ts";
import { zoneHostLabel } from "../../src/discovery/wide-area.ts";
import { runToExit } from "../../scripts/lib/gateway-child.ts";

const ROOT = resolve(import.meta.dir, "../..");
const COMMAND = [process.execPath, join(ROOT, "src", "main.ts")];
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-cli7-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("gateway discover: flags and output", () => {
  test("--timeout: default 2000, 1..120000 ms, anything else is a clear error", () => {
    expect(parseTimeout(undefined)).toBe(DEFAULT_TIMEOUT_MS);
    expect(parseTimeout("500")).toBe(500);
    for (const bad of ["0", "-1", "1.5", "abc", "120001", ""]) {
      expect(() => parseTimeout(bad)).toThrow(`Invalid --timeout "${bad}". Use a number of milliseconds from 1 to 120000.`);
    }
  });

  test("the wide-area domain comes from env, then config; disabled or invalid domains are skipped with a warning", () => {
    const w: string[] = [];
    expect(wideAreaDomain({ discovery: { wideArea: { domain: "Openclaw.Internal" } } }, {}, w)).toBe("openclaw.internal.");
    expect(wideAreaDomain({ discovery: { wideArea: { domain: "a.b" } } }, { OPENCLAW_WIDE_AREA_DOMAIN: "c.d" }, w)).toBe("c.d.");
    expect(wideAreaDomain({ discovery: { wideArea: { domain: "a.b", enabled: false } } }, {}, w)).toBeUndefined();
    expect(wideAreaDomain({}, {}, w)).toBeUndefined();
    expect(w).toEqual([]);
    expect(wideAreaDomain({ discovery: { wideArea: { domain: "bad domain" } } }, {}, w)).toBeUndefined();
    expect(w).toEqual(['wide-area discovery domain must be a valid DNS name (got "bad domain"); browsing local. only']);
  });

  test("human output: the seed's layout, one label per line, addresses added", () => {
    const b = makeBeacon({
      instanceName: "pi (OpenClaw)",
      domain: "local.",
      host: "pi.local",
      port: 18789,
      addresses: ["192.168.1.20"],
      txt: { displayName: "pi", lanHost: "pi.local", role: "gateway", transport: "gateway", gatewayPort: "18789", sshPort: "22", tailnetDns: "pi.tail.ts.net", gatewayTls: "1", gatewayTlsSha256: "abc" },
    });
    expect(formatHuman({ timeoutMs: 2000, domains: ["local.", "openclaw.internal."], count: 1, beacons: [b] }, "me")).toBe(
      [
        "Gateway Discovery",
        "Found 1 gateway(s) · domains: local., openclaw.internal.",
        "- pi local.",
        "  tailnet: pi.tail.ts.net",
        "  lan: pi.local",
        "  host: pi.local",
        "  addresses: 192.168.1.20",
        "  ws: wss://pi.local:18789",
        "  role: gateway",
        "  transport: gateway",
        "  tls: sha256 abc",
        "  ssh: ssh -N -L 18789:127.0.0.1:18789 me@pi.local -p 22",
      ].join("\n"),
    );
    expect(formatHuman({ timeoutMs: 2000, domains: ["local."], count: 0, beacons: [] })).toBe("Gateway Discovery\nFound 0 gateway(s) · domains: local.");
  });

  test("TXT text cannot put escape or bidi characters on the terminal", () => {
    expect(safeText("a\u001b[31mb\u202ec\u0007")).toBe("a\\x1b[31mb\\u202ec\\x07");
    const b = makeBeacon({ instanceName: "x", domain: "local.", host: "h", port: 1, addresses: [], txt: { displayName: "\u001b]0;pwned\u0007" } });
    expect(formatHuman({ timeoutMs: 1, domains: ["local."], count: 1, beacons: [b] })).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  test("an invalid --timeout exits 1 before browsing", async () => {
    const r = await runToExit({ command: COMMAND, args: ["gateway", "discover", "--timeout", "soon"], cwd: ROOT, env: { OPENCLAW_STATE_DIR: tmp() } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('Invalid --timeout "soon". Use a number of milliseconds from 1 to 120000.');
    expect(r.stdout).toBe("");
  });
});

describe("dns setup", () => {
  const run = (args: string[], state: string, env: Record<string, string> = {}) =>
    runToExit({ command: COMMAND, args: ["dns", "setup", ...args], cwd: ROOT, env: { OPENCLAW_STATE_DIR: state, ...env } });

  const config = (state: string, cfg: unknown) => writeFileSync(join(state, "openclaw.json"), JSON.stringify(cfg), { mode: 0o600 });

  test("writes the zone for the configured domain and port, prints where and how to load it", async () => {
    const state = tmp();
    config(state, { gateway: { mode: "local", port: 19555 }, discovery: { wideArea: { domain: "oc-test.internal" } } });
    const r = await run(["--ip", "10.20.30.40,fd00::40"], state);
    expect(r.exitCode).toBe(0);
    const zone = join(state, "dns", "oc-test.internal.db");
    const host = zoneHostLabel(hostname());
    const text = readFileSync(zone, "utf8");
    expect(text).toContain("$ORIGIN oc-test.internal.");
    expect(text).toContain(`${host} IN A 10.20.30.40`);
    expect(text).toContain(`${host} IN AAAA fd00::40`);
    expect(text).toContain(`_openclaw-gw._tcp IN PTR ${host}-gateway._openclaw-gw._tcp`);
    expect(text).toContain(`${host}-gateway._openclaw-gw._tcp IN SRV 0 0 19555 ${host}`);
    expect(text).toMatch(/IN TXT "displayName=[^"]+" "role=gateway" "transport=gateway" "gatewayPort=19555" "canvasPort=19555"/);
    expect(statSync(zone).mode & 0o777).toBe(0o644);
    expect(r.stdout).toContain("DNS setup\n  Domain      oc-test.internal.\n");
    expect(r.stdout).toContain(`  Zone file   ${zone} (written, serial `);
    expect(r.stdout).toContain('{"gateway":{"bind":"lan"},"discovery":{"wideArea":{"domain":"oc-test.internal."}}}');
    expect(r.stdout).not.toContain("Tailscale admin");

    const again = await run(["--ip", "10.20.30.40,fd00::40", "--json"], state);
    expect(again.exitCode).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json).toMatchObject({ domain: "oc-test.internal.", changed: false, zoneFile: zone, port: 19555, ipv4: ["10.20.30.40"], ipv6: ["fd00::40"], tailnet: false });
    expect(json.instance).toBe(`${host}-gateway._openclaw-gw._tcp.oc-test.internal.`);
  });

  test("a TLS gateway's zone carries gatewayTls=1 and the fingerprint of the certificate in its state dir", async () => {
    const state = tmp();
    config(state, { gateway: { mode: "local", port: 19556, tls: { enabled: true } }, discovery: { wideArea: { domain: "oc-tls.internal" } } });
    const { generateSelfSigned, resolveTlsPaths } = await import("../../src/auth/tls.ts");
    const pair = await generateSelfSigned();
    await Bun.write(resolveTlsPaths({ enabled: true }, state).certPath, pair.certPem);
    const r = await run(["--ip", "10.20.30.41"], state);
    expect(r.exitCode).toBe(0);
    const text = readFileSync(join(state, "dns", "oc-tls.internal.db"), "utf8");
    expect(text).toContain(`"gatewayTls=1" "gatewayTlsSha256=${pair.fingerprintSha256}"`);
  });

  test("--domain overrides the config; a tailnet address gets the Tailscale split-DNS hints", async () => {
    const state = tmp();
    config(state, { gateway: { mode: "local" }, discovery: { wideArea: { domain: "ignored.internal" } } });
    const r = await run(["--domain", "tail.example.", "--ip", "100.64.1.2"], state);
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(state, "dns", "tail.example.db"))).toBe(true);
    expect(existsSync(join(state, "dns", "ignored.internal.db"))).toBe(false);
    expect(r.stdout).toContain("  Tailnet IP  100.64.1.2");
    expect(r.stdout).toContain("Tailscale admin (DNS → Nameservers):\n- Add nameserver: 100.64.1.2\n- Restrict to domain (Split DNS): tail.example.");
    expect(r.stdout).toContain('{"gateway":{"bind":"tailnet"}');
  });

  test("bad input: clear errors, exit 1, nothing written", async () => {
    const state = tmp();
    const cases: Array<[string[], string, Record<string, string>?]> = [
      [["--ip", "10.0.0.1"], NO_DOMAIN],
      [["--domain", "bad_domain!", "--ip", "10.0.0.1"], "wide-area discovery domain must be a valid DNS name"],
      [["--domain", "ok.internal", "--ip", "10.0.0.1,banana"], 'Invalid --ip "banana". Use IPv4 or IPv6 addresses, comma-separated.'],
      [["--domain", "ok.internal", "--ip", "fe80::1%eth0"], 'Invalid --ip "fe80::1%eth0". Use IPv4 or IPv6 addresses, comma-separated.'],
      [["--domain", "ok.internal", "--ip", ","], "--ip needs at least one address."],
      [["--domain", "ok.internal", "--apply"], "dns setup --apply is not supported by this build; load the zone file into your DNS server (run without --apply)."],
      [["--ip", "10.0.0.1"], "wide-area discovery domain must be a valid DNS name", { OPENCLAW_WIDE_AREA_DOMAIN: "-x-" }],
    ];
    for (const [args, message, env] of cases) {
      const r = await run(args, state, env);
      expect({ args, code: r.exitCode, stderr: r.stderr.trim() }).toEqual({ args, code: 1, stderr: message });
    }
    expect(existsSync(join(state, "dns"))).toBe(false);
  });

  test("an invalid config is reported, not half-used", async () => {
    const state = tmp();
    writeFileSync(join(state, "openclaw.json"), '{ discovery: { wideAreaa: { domain: "x" } } }');
    const r = await run(["--domain", "ok.internal", "--ip", "10.0.0.1"], state);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Invalid config at");
    expect(r.stderr).toContain("discovery.wideAreaa: Unknown key");
    expect(existsSync(join(state, "dns"))).toBe(false);
  });

  test.skipIf(tailnetAddresses().ipv4.length > 0)("without --ip and without a Tailscale address: a clear error", async () => {
    const r = await run(["--domain", "ok.internal"], tmp());
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe("No Tailscale address (100.64.0.0/10) found on this host. Pass --ip <address> to publish another address.");
  });

  test("parseIpList", () => {
    expect(parseIpList(" 10.0.0.1 , FD00::1,10.0.0.1")).toEqual({ ipv4: ["10.0.0.1"], ipv6: ["fd00::1"] });
  });
});
