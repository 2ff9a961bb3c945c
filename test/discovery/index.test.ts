/**
 * `startDiscovery`, the gateway's hook: the switches, the TXT it hands the beacon, the wide-area
 * zone update, warnings for bad environment values, and stop at any moment. The beacon runs on
 * the in-memory link (no network).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedPaths } from "../../src/config/paths.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { startDiscovery } from "../../src/discovery/index.ts";
import { tailnetAddresses } from "../../src/discovery/tailscale.ts";
import { createLogger, memorySink, type LogRecord } from "../../src/log/logger.ts";
import { FakeLink, FAST, iface, until } from "../helpers/fake-mdns.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function paths(): ResolvedPaths {
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-disc-"));
  dirs.push(stateDir);
  return { home: stateDir, profile: undefined, stateDir, configPath: join(stateDir, "openclaw.json"), configPathFromEnv: false, defaultPort: 18789 };
}

function start(config: OpenClawConfig, env: Record<string, string>, link = new FakeLink()) {
  const sink = memorySink();
  const handle = startDiscovery({
    config,
    paths: paths(),
    port: 18789,
    log: createLogger({ level: "debug", sinks: [sink] }),
    env: { OPENCLAW_TAILNET_DNS: "gw.tail.ts.net", ...env },
    startDelayMs: 5,
    beacon: { transport: () => link.transport("10.0.0.1"), interfaces: () => [iface("eth0", "10.0.0.1")], timing: FAST },
  });
  return { handle, logs: sink.records, link };
}

const msgs = (logs: LogRecord[]) => logs.map((l) => `${l.level} [${l.subsystem}] ${l.message}`);

describe("startDiscovery", () => {
  test("OPENCLAW_DISABLE_BONJOUR=1: no beacon, one info line", async () => {
    const { handle, logs } = start({}, { OPENCLAW_DISABLE_BONJOUR: "1" });
    await handle.ready;
    expect(handle.beacon()).toBeUndefined();
    expect(msgs(logs)).toEqual(["info [bonjour] mDNS advertising disabled (OPENCLAW_DISABLE_BONJOUR=1)"]);
    await handle.stop();
  });

  test("discovery.mdns.mode=off wins over OPENCLAW_DISABLE_BONJOUR=0", async () => {
    const { handle, logs } = start({ discovery: { mdns: { mode: "off" } } }, { OPENCLAW_DISABLE_BONJOUR: "0" });
    await handle.ready;
    expect(handle.beacon()).toBeUndefined();
    expect(msgs(logs)).toEqual(["info [bonjour] mDNS advertising disabled (discovery.mdns.mode=off)"]);
  });

  test("full mode: the beacon announces the TXT keys built from config and env", async () => {
    const { handle, link } = start(
      { discovery: { mdns: { mode: "full" } } },
      { OPENCLAW_DISABLE_BONJOUR: "0", OPENCLAW_SSH_PORT: "2222", OPENCLAW_CLI_PATH: "/opt/oc", OPENCLAW_MDNS_HOSTNAME: "gw1" },
    );
    await handle.ready;
    const beacon = handle.beacon()!;
    await until(() => beacon.state === "announced", 3000, "announced");
    expect(beacon.hostLabel).toBe("gw1");
    const txt = link.sent
      .find((s) => s.decoded.type === "response")!
      .decoded.answers.find((a: any) => a.type === "TXT")
      .data.map((b: Buffer) => b.toString());
    expect(txt).toEqual([
      "role=gateway",
      "transport=gateway",
      `displayName=${beacon.instanceName.replace(/ \(OpenClaw\)$/, "")}`,
      "lanHost=gw1.local",
      "gatewayPort=18789",
      "canvasPort=18789",
      "tailnetDns=gw.tail.ts.net",
      "sshPort=2222",
      "cliPath=/opt/oc",
    ]);
    await handle.stop();
    expect(beacon.state).toBe("stopped");
  });

  test("bad environment values are warned about and ignored", async () => {
    const first = start({}, { OPENCLAW_DISABLE_BONJOUR: "perhaps" });
    await first.handle.ready;
    await first.handle.stop();
    expect(first.logs.filter((l) => l.level === "warn").map((l) => l.message)).toContain(
      'ignoring OPENCLAW_DISABLE_BONJOUR="perhaps" (use 1 to disable, 0 to force on)',
    );
    const { handle, logs } = start(
      {},
      { OPENCLAW_DISABLE_BONJOUR: "0", OPENCLAW_SSH_PORT: "x", OPENCLAW_MDNS_HOSTNAME: "two.labels", OPENCLAW_MDNS_INTERFACE_CHECK_MS: "5" },
    );
    await handle.ready;
    const warns = logs.filter((l) => l.level === "warn").map((l) => l.message);
    expect(warns).toEqual([
      'ignoring OPENCLAW_MDNS_HOSTNAME="two.labels" (not a single DNS label)',
      'ignoring OPENCLAW_SSH_PORT="x" (not a port number)',
      'ignoring OPENCLAW_MDNS_INTERFACE_CHECK_MS="5" (use 1000 to 600000 ms)',
    ]);
    await handle.stop();
  });

  test("stop() before the start delay: nothing starts, ready resolves", async () => {
    const sink = memorySink();
    const handle = startDiscovery({
      config: {},
      paths: paths(),
      port: 1,
      log: createLogger({ level: "debug", sinks: [sink] }),
      env: { OPENCLAW_DISABLE_BONJOUR: "0" },
      startDelayMs: 10_000,
    });
    await handle.stop();
    await handle.ready;
    expect(handle.beacon()).toBeUndefined();
  });

  test.skipIf(tailnetAddresses().ipv4.length > 0)("a wide-area domain without a Tailscale address: the zone update is skipped with the upstream warning", async () => {
    const { handle, logs } = start({ discovery: { wideArea: { domain: "oc.internal" } } }, { OPENCLAW_DISABLE_BONJOUR: "1" });
    await handle.ready;
    expect(msgs(logs)).toContain(
      "warn [discovery] discovery.wideArea.domain is set, but no Tailscale IPv4 address was found; skipping unicast DNS-SD zone update",
    );
  });

  test("an invalid wide-area domain is a warning, not a failure", async () => {
    const { handle, logs } = start({ discovery: { wideArea: { domain: "not a domain" } } }, { OPENCLAW_DISABLE_BONJOUR: "1" });
    await handle.ready;
    expect(msgs(logs)).toContain("warn [discovery] wide-area discovery domain must be a valid DNS name");
  });
});
