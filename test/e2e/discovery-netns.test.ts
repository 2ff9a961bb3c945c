/**
 * Discovery across a real link, in network namespaces this test creates: the gateway runs in
 * namespace A, browsers run in namespace B, joined by a veth pair with multicast on. Nothing
 * leaves the machine. Independent checks use Debian's python3-zeroconf (browser and responder)
 * and NSD (an authoritative DNS server loading the zone `openclaw dns setup` writes).
 *
 * Where namespaces are not allowed (not root, no iproute2, a sandbox forbidding them) the tests
 * skip and say why in their names.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanEnv } from "../../scripts/lib/proc.ts";
import { createLab, netnsSupport, type Lab, type NsProcess } from "../helpers/netns.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = process.execPath;
const MAIN = join(ROOT, "src", "main.ts");
const FIXTURE = join(ROOT, "test", "fixture", "discovery");
const TOKEN = "netns-test-token-0123456789abcdef";
const PY = "/usr/bin/python3";

const support = netnsSupport();
const skipNote = support.ok ? "" : ` [skipped: ${support.reason}]`;

function pyHas(module: string): boolean {
  if (!Bun.which(PY)) return false;
  const r = Bun.spawnSync([PY, "-c", `import ${module}`], { stdout: "ignore", stderr: "ignore", timeout: 10_000 });
  return r.exitCode === 0;
}
const zeroconf = pyHas("zeroconf");
const zeroconfNote = zeroconf ? "" : " [skipped: python3-zeroconf is not installed (.ci/run installs it)]";
const SBIN_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;
const nsd = Boolean(Bun.which("nsd", { PATH: SBIN_PATH }) && Bun.which("nsd-checkzone", { PATH: SBIN_PATH }));
const nsdNote = nsd ? "" : " [skipped: nsd is not installed (.ci/run installs it)]";

const dirs: string[] = [];
const labs: Lab[] = [];
function tmp(prefix = "openclaw-netns-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
function lab(opts?: Parameters<typeof createLab>[0]): Lab {
  const l = createLab(opts);
  labs.push(l);
  return l;
}
afterAll(async () => {
  await Promise.all(labs.map((l) => l.destroy()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stateWith(config: Record<string, unknown> = {}): string {
  const dir = tmp();
  const cfg = { gateway: { mode: "local", auth: { mode: "token", token: TOKEN } }, ...config };
  writeFileSync(join(dir, "openclaw.json"), JSON.stringify(cfg), { mode: 0o600 });
  return dir;
}

/** The gateway from source inside `l.a`, bound to the LAN, Bonjour forced on. */
async function startGateway(
  l: Lab,
  opts: { port?: number; env?: Record<string, string>; config?: Record<string, unknown>; waitFor?: RegExp } = {},
): Promise<NsProcess> {
  const state = stateWith(opts.config);
  const port = opts.port ?? 18789;
  const gw = l.track(
    l.a.spawn([BUN, MAIN, "gateway", "--port", String(port), "--bind", "lan"], {
      cwd: ROOT,
      env: cleanEnv({ OPENCLAW_STATE_DIR: state, OPENCLAW_DISABLE_BONJOUR: "0", ...opts.env }),
    }),
  );
  try {
    await gw.out.waitFor(/listening on wss?:\/\//, 15_000);
    await gw.out.waitFor(opts.waitFor ?? /advertised gateway/, 10_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${gw.output()}`);
  }
  return gw;
}

async function discover(l: Lab, opts: { timeoutMs?: number; config?: Record<string, unknown>; env?: Record<string, string> } = {}) {
  const state = stateWith(opts.config);
  const r = await l.b.run([BUN, MAIN, "gateway", "discover", "--json", "--timeout", String(opts.timeoutMs ?? 1500)], {
    cwd: ROOT,
    env: cleanEnv({ OPENCLAW_STATE_DIR: state, ...opts.env }),
  });
  if (r.exitCode !== 0) throw new Error(`discover exited ${r.exitCode}: ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as { timeoutMs: number; domains: string[]; count: number; beacons: any[] }), stderr: r.stderr };
}

async function healthFrom(l: Lab, url: string, tlsFingerprint?: string): Promise<any> {
  const r = await l.b.run([BUN, join(FIXTURE, "health.ts"), url, TOKEN, ...(tlsFingerprint ? [tlsFingerprint] : [])], { cwd: ROOT, env: cleanEnv() });
  if (r.exitCode !== 0) throw new Error(`health over ${url} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function logLines(p: NsProcess): Array<{ level: string; subsystem: string; message: string }> {
  return p.out.text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

describe.concurrent.skipIf(!support.ok)(`discovery across network namespaces${skipNote}`, () => {
  test("`gateway discover --json` in B finds the gateway in A: SRV endpoint, A record, TXT; the endpoint works", async () => {
    const l = lab();
    const gw = await startGateway(l);
    const found = await discover(l);
    expect(found.domains).toEqual(["local."]);
    expect(found.count).toBe(1);
    const b = found.beacons[0];
    const host = b.host as string;
    expect(b).toMatchObject({
      domain: "local.",
      port: 18789,
      role: "gateway",
      transport: "gateway",
      gatewayPort: 18789,
      canvasPort: 18789,
      wsUrl: `ws://${host}:18789`,
    });
    expect(b.instanceName).toMatch(/ \(OpenClaw\)$|openclaw/i);
    expect(b.addresses).toContain(l.addrA);
    expect(b.lanHost).toBe(host);
    expect(Object.keys(b.txt).sort()).toEqual(["canvasPort", "displayName", "gatewayPort", "lanHost", "role", "transport"]);
    expect(b.txt.displayName).toBe(b.displayName);
    // The resolved endpoint is the real one: a health RPC over it from namespace B.
    const health = await healthFrom(l, `ws://${l.addrA}:${b.port}`);
    expect(health.ok).toBe(true);
    const bonjour = logLines(gw).filter((x) => x.subsystem === "bonjour");
    expect(bonjour.map((x) => x.message)).toContainEqual(`advertised gateway fqdn=${b.instanceName}._openclaw-gw._tcp.local host=${host} port=18789 state=announced`);
    expect(gw.output()).not.toMatch(/unhandled|uncaught/i);
  }, 40_000);

  test("a TLS gateway advertises gatewayTls=1 and its certificate's fingerprint; the pinned wss:// endpoint works", async () => {
    const l = lab();
    const state = stateWith({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN }, tls: { enabled: true } } });
    const gw = l.track(
      l.a.spawn([BUN, MAIN, "gateway", "--port", "18789", "--bind", "lan"], { cwd: ROOT, env: cleanEnv({ OPENCLAW_STATE_DIR: state, OPENCLAW_DISABLE_BONJOUR: "0" }) }),
    );
    try {
      await gw.out.waitFor(/listening on wss:\/\//, 15_000);
      await gw.out.waitFor(/advertised gateway/, 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- gateway output ---\n${gw.output()}`);
    }
    const { X509Certificate } = await import("node:crypto");
    const fingerprint = new X509Certificate(readFileSync(join(state, "gateway", "tls", "gateway-cert.pem"))).fingerprint256.replaceAll(":", "").toLowerCase();
    const b = (await discover(l)).beacons[0];
    expect(b).toMatchObject({ gatewayTls: true, gatewayTlsFingerprintSha256: fingerprint, wsUrl: `wss://${b.host}:18789` });
    expect(b.txt).toMatchObject({ gatewayTls: "1", gatewayTlsSha256: fingerprint });
    const health = await healthFrom(l, `wss://${l.addrA}:${b.port}`, b.gatewayTlsFingerprintSha256);
    expect(health.ok).toBe(true);
  }, 40_000);

  test("full mode and the env overrides: sshPort, cliPath, tailnetDns", async () => {
    const l = lab();
    await startGateway(l, {
      config: { discovery: { mdns: { mode: "full" } } },
      env: { OPENCLAW_SSH_PORT: "2222", OPENCLAW_CLI_PATH: "/opt/openclaw/bin/openclaw", OPENCLAW_TAILNET_DNS: "gw.tail1234.ts.net." },
    });
    const b = (await discover(l)).beacons[0];
    expect(b).toMatchObject({ sshPort: 2222, cliPath: "/opt/openclaw/bin/openclaw", tailnetDns: "gw.tail1234.ts.net" });
  }, 40_000);

  test("a tailnet-range interface address (100.64.0.0/10) fills tailnetDns", async () => {
    const l = lab();
    l.a.ip(["addr", "add", "100.100.7.7/32", "dev", "lo"]);
    // No `tailscale` CLI on this PATH: detection falls back to the interface address.
    await startGateway(l, { env: { PATH: "/nonexistent" } });
    const b = (await discover(l)).beacons[0];
    expect(b.tailnetDns).toBe("100.100.7.7");
  }, 40_000);

  test("two gateways on one host: the second is renamed `(2)`; both are discovered", async () => {
    const l = lab();
    const first = await startGateway(l, { port: 18789 });
    const second = await startGateway(l, { port: 18800 });
    const found = await discover(l);
    const names = found.beacons.map((b) => [b.instanceName, b.port]).sort((x, y) => x[1] - y[1]);
    expect(names.length).toBe(2);
    expect(names[1][0]).toBe(`${names[0][0]} (2)`);
    expect(logLines(second).some((x) => x.message === `gateway name conflict resolved; newName=${JSON.stringify(names[1][0])}`)).toBe(true);
    expect(logLines(first).some((x) => /conflict/.test(x.message))).toBe(false);
  }, 40_000);

  test("OPENCLAW_DISABLE_BONJOUR=1: nothing is advertised", async () => {
    const l = lab();
    const gw = await startGateway(l, { env: { OPENCLAW_DISABLE_BONJOUR: "1" }, waitFor: /mDNS advertising disabled/ });
    const found = await discover(l, { timeoutMs: 800 });
    expect(found.count).toBe(0);
    expect(logLines(gw).find((x) => x.subsystem === "bonjour")?.message).toBe("mDNS advertising disabled (OPENCLAW_DISABLE_BONJOUR=1)");
  }, 40_000);

  test.skipIf(!zeroconf)(`python3-zeroconf in B resolves the gateway, and drops it on shutdown (goodbye)${zeroconfNote}`, async () => {
    const l = lab();
    const browser = l.track(l.b.spawn([PY, join(FIXTURE, "zc_browse.py"), "20"], { env: cleanEnv() }));
    await browser.out.waitFor(/"event": "ready"/, 10_000);
    const gw = await startGateway(l);
    const added = JSON.parse(await browser.out.waitFor(/"event": "added"/, 10_000));
    expect(added.port).toBe(18789);
    expect(added.addresses).toContain(l.addrA);
    expect(added.name).toMatch(/\._openclaw-gw\._tcp\.local\.$/);
    expect(added.txt).toMatchObject({ role: "gateway", transport: "gateway", gatewayPort: "18789", canvasPort: "18789" });
    expect(added.server).toBe(`${added.txt.lanHost}.`);

    const t0 = performance.now();
    expect(await gw.stop()).toBe(0);
    const removed = JSON.parse(await browser.out.waitFor(/"event": "removed"/, 10_000));
    expect(removed.name).toBe(added.name);
    // Without the goodbye the record would live on for its TTL (75 min for the PTR).
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(logLines(gw).some((x) => /^withdrew gateway fqdn=.* \(goodbye\)$/.test(x.message))).toBe(true);
  }, 40_000);

  test.skipIf(!zeroconf)(`\`gateway discover\` resolves a beacon published by python3-zeroconf${zeroconfNote}`, async () => {
    const l = lab();
    const peer = l.track(l.a.spawn([PY, join(FIXTURE, "zc_register.py"), l.addrA, "4242", "20"], { env: cleanEnv() }));
    await peer.out.waitFor(/registered/, 15_000);
    const found = await discover(l);
    const b = found.beacons.find((x) => x.instanceName === "zc peer (OpenClaw)");
    expect(b).toMatchObject({ displayName: "zc peer", host: "zc-peer.local", port: 4242, addresses: [l.addrA], wsUrl: "ws://zc-peer.local:4242" });
  }, 40_000);

  test.skipIf(!nsd)(`wide-area: \`dns setup\` writes a zone NSD serves; \`discover\` finds the gateway by unicast DNS${nsdNote}`, async () => {
    const l = lab();
    // The zone for this gateway (port 18789 in namespace A).
    const state = stateWith({ gateway: { mode: "local", port: 18789, auth: { mode: "token", token: TOKEN } }, discovery: { wideArea: { domain: "oc-test.internal" } } });
    const setup = await l.a.run([BUN, MAIN, "dns", "setup", "--ip", l.addrA, "--json"], { cwd: ROOT, env: cleanEnv({ OPENCLAW_STATE_DIR: state }) });
    expect(setup.exitCode).toBe(0);
    const zone = JSON.parse(setup.stdout).zoneFile as string;
    const check = Bun.spawnSync(["nsd-checkzone", "oc-test.internal", zone], { env: { ...process.env, PATH: SBIN_PATH }, stdout: "pipe", stderr: "pipe" });
    expect({ code: check.exitCode, out: `${check.stdout}${check.stderr}`.trim() }).toMatchObject({ code: 0 });

    const nsdDir = tmp("openclaw-nsd-");
    writeFileSync(
      join(nsdDir, "nsd.conf"),
      [
        "server:",
        `  ip-address: ${l.addrA}`,
        "  port: 53",
        '  username: ""',
        '  chroot: ""',
        `  zonesdir: "${nsdDir}"`,
        `  pidfile: "${nsdDir}/nsd.pid"`,
        `  xfrdfile: "${nsdDir}/xfrd.state"`,
        `  zonelistfile: "${nsdDir}/zone.list"`,
        '  database: ""',
        "  verbosity: 1",
        "remote-control:",
        "  control-enable: no",
        "zone:",
        "  name: oc-test.internal",
        `  zonefile: "${zone}"`,
        "",
      ].join("\n"),
    );
    const server = l.track(l.a.spawn(["nsd", "-d", "-c", join(nsdDir, "nsd.conf")], { env: { ...cleanEnv(), PATH: SBIN_PATH } }));
    await Bun.sleep(300);
    expect(server.proc.exitCode).toBeNull();
    await startGateway(l, { config: { discovery: { wideArea: { domain: "oc-test.internal" } } } });

    l.b.etcFile("resolv.conf", `nameserver ${l.addrA}\noptions timeout:1 attempts:1\n`);
    const found = await discover(l, { config: { discovery: { wideArea: { domain: "oc-test.internal" } } } });
    expect(found.domains).toEqual(["local.", "oc-test.internal."]);
    const wide = found.beacons.filter((b) => b.domain === "oc-test.internal.");
    expect(wide.length).toBe(1);
    expect(wide[0]).toMatchObject({ port: 18789, addresses: [l.addrA], role: "gateway", gatewayPort: 18789 });
    expect(wide[0].host).toMatch(/\.oc-test\.internal$/);
    expect(wide[0].instanceName).toMatch(/-gateway$/);
    expect(readFileSync(zone, "utf8")).toContain(`IN A ${l.addrA}`);
    // The mDNS beacon of the same gateway is there too, as its own entry.
    expect(found.beacons.some((b) => b.domain === "local." && b.port === 18789)).toBe(true);
  }, 60_000);
});
