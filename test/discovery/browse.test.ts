/**
 * `browseLocal` against beacons and hand-made responders on the in-memory link.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Packet } from "dns-packet";
import { Beacon } from "../../src/discovery/beacon.ts";
import { browseLocal } from "../../src/discovery/browse.ts";
import { createLogger, memorySink } from "../../src/log/logger.ts";
import { FakeLink, FAST, iface, until } from "../helpers/fake-mdns.ts";

const SERVICE = "_openclaw-gw._tcp.local";
const beacons: Beacon[] = [];
afterEach(async () => {
  await Promise.all(beacons.splice(0).map((b) => b.stop()));
});

async function startBeacon(link: FakeLink, address: string, opts: { instance?: string; port?: number; txt?: string[] } = {}) {
  const b = new Beacon({
    instanceName: opts.instance ?? "vm (OpenClaw)",
    hostLabel: "vm",
    port: opts.port ?? 18789,
    txt: opts.txt ?? ["role=gateway", "transport=gateway", "displayName=vm", "lanHost=vm.local", "gatewayPort=18789", "canvasPort=18789"],
    log: createLogger({ level: "silent", sinks: [memorySink()] }),
    transport: () => link.transport(address),
    interfaces: () => [iface("eth0", address, ["fe80::1"])],
    timing: FAST,
  });
  beacons.push(b);
  b.start();
  await until(() => b.state === "announced", 3000, "announced");
  return b;
}

describe("browseLocal", () => {
  test("finds a beacon and reports its SRV endpoint, addresses and TXT hints", async () => {
    const link = new FakeLink();
    await startBeacon(link, "10.0.0.1");
    const r = await browseLocal({ timeoutMs: 300, tickMs: 20, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
    expect(r.warnings).toEqual([]);
    expect(r.beacons).toEqual([
      {
        instanceName: "vm (OpenClaw)",
        displayName: "vm",
        domain: "local.",
        host: "vm.local",
        port: 18789,
        addresses: ["10.0.0.1", "fe80::1"],
        lanHost: "vm.local",
        role: "gateway",
        transport: "gateway",
        gatewayPort: 18789,
        canvasPort: 18789,
        txt: { role: "gateway", transport: "gateway", displayName: "vm", lanHost: "vm.local", gatewayPort: "18789", canvasPort: "18789" },
        wsUrl: "ws://vm.local:18789",
      },
    ]);
  });

  test("two gateways (one renamed) are both reported", async () => {
    const link = new FakeLink();
    await startBeacon(link, "10.0.0.1", { port: 18789 });
    await startBeacon(link, "10.0.0.1", { port: 19000 });
    const r = await browseLocal({ timeoutMs: 300, tickMs: 20, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
    expect(r.beacons.map((b) => [b.instanceName, b.port]).sort((x, y) => Number(x[1]) - Number(y[1]))).toEqual([
      ["vm (OpenClaw)", 18789],
      ["vm (OpenClaw) (2)", 19000],
    ]);
  });

  test("5353 held exclusively: falls back to an ephemeral port and legacy unicast answers", async () => {
    const link = new FakeLink();
    await startBeacon(link, "10.0.0.1");
    link.openFailures.push("EADDRINUSE");
    const r = await browseLocal({ timeoutMs: 300, tickMs: 20, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
    expect(r.beacons.map((b) => [b.host, b.port, b.addresses[0]])).toEqual([["vm.local", 18789, "10.0.0.1"]]);
    const unicast = link.sent.filter((s) => !("iface" in s.to) && s.to.address === "10.0.0.2");
    expect(unicast.length).toBeGreaterThan(0);
    expect(unicast.every((s) => s.decoded.answers.every((a: any) => a.ttl <= 10))).toBe(true);
  });

  test("no multicast interface: an empty result with a warning, no socket opened", async () => {
    const link = new FakeLink();
    let opened = 0;
    const r = await browseLocal({
      timeoutMs: 100,
      transport: () => {
        opened++;
        return link.transport("10.0.0.2");
      },
      interfaces: () => [],
    });
    expect(r).toEqual({ beacons: [], warnings: ["no multicast-capable network interface; local. was not browsed"] });
    expect(opened).toBe(0);
  });

  test("a socket that cannot be opened is a warning, not an error", async () => {
    const link = new FakeLink();
    link.openFailures.push("EPERM");
    const r = await browseLocal({ timeoutMs: 100, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
    expect(r.beacons).toEqual([]);
    expect(r.warnings[0]).toMatch(/^mDNS socket unavailable \(EPERM/);
  });

  test("TXT values are hints: the endpoint comes from SRV even when TXT says otherwise", async () => {
    const link = new FakeLink();
    const fqdn = `evil (OpenClaw).${SERVICE}`;
    // A hand-made responder answering the PTR query with everything at once.
    const responder = link.transport("10.0.0.9");
    await responder.open(5353, {
      packet: (p: any) => {
        if (p?.type !== "query" || p.questions?.[0]?.name !== SERVICE) return;
        const answer: Packet = {
          type: "response",
          id: 0,
          flags: 1 << 10,
          answers: [{ name: SERVICE, type: "PTR", ttl: 4500, data: fqdn }],
          additionals: [
            { name: fqdn, type: "SRV", ttl: 120, data: { port: 4242, target: "real-host.local", priority: 0, weight: 0 } },
            { name: fqdn, type: "TXT", ttl: 4500, data: ["gatewayPort=1", "lanHost=attacker.example", "displayName=\u001b[31mred\u202e"] },
            { name: "real-host.local", type: "A", ttl: 120, data: "10.0.0.9" },
          ],
        };
        void responder.send(answer, { iface: iface("eth0", "10.0.0.9") });
      },
      malformed: () => {},
      error: () => {},
      warning: () => {},
    });
    try {
      const r = await browseLocal({ timeoutMs: 300, tickMs: 20, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
      expect(r.beacons.length).toBe(1);
      const b = r.beacons[0];
      expect([b.host, b.port, b.addresses, b.wsUrl]).toEqual(["real-host.local", 4242, ["10.0.0.9"], "ws://real-host.local:4242"]);
      expect(b.gatewayPort).toBe(1); // reported as the hint it is
      expect(b.lanHost).toBe("attacker.example");
    } finally {
      await responder.close();
    }
  });

  test("a goodbye (TTL 0) removes an instance seen earlier in the same browse", async () => {
    const link = new FakeLink();
    const b = await startBeacon(link, "10.0.0.1");
    const browsing = browseLocal({ timeoutMs: 500, tickMs: 20, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
    await Bun.sleep(150);
    await b.stop();
    const r = await browsing;
    expect(r.beacons).toEqual([]);
  });

  test("a flood of PTR answers is bounded by maxInstances", async () => {
    const link = new FakeLink();
    const responder = link.transport("10.0.0.9");
    await responder.open(5353, {
      packet: (p: any) => {
        if (p?.type !== "query" || p.questions?.[0]?.name !== SERVICE) return;
        const answers: Packet["answers"] = [];
        const additionals: Packet["additionals"] = [];
        for (let i = 0; i < 40; i++) {
          const fqdn = `gw${i}.${SERVICE}`;
          answers.push({ name: SERVICE, type: "PTR", ttl: 4500, data: fqdn });
          additionals.push({ name: fqdn, type: "SRV", ttl: 120, data: { port: 1000 + i, target: "h.local", priority: 0, weight: 0 } });
        }
        void responder.send({ type: "response", id: 0, flags: 1 << 10, answers, additionals }, { iface: iface("eth0", "10.0.0.9") });
      },
      malformed: () => {},
      error: () => {},
      warning: () => {},
    });
    try {
      const r = await browseLocal({ timeoutMs: 200, tickMs: 20, maxInstances: 5, transport: () => link.transport("10.0.0.2"), interfaces: () => [iface("eth0", "10.0.0.2")] });
      expect(r.beacons.length).toBe(5);
    } finally {
      await responder.close();
    }
  });
});
