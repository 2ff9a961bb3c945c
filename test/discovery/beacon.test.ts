/**
 * The mDNS responder on an in-memory link (real dns-packet encoding, no network): probing,
 * announcing, answering, conflict renaming, tiebreaks, goodbye, bounded retries and hostile
 * input. Timings are shortened; the algorithm is the one the gateway runs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Answer, Packet } from "dns-packet";
import { Beacon, type BeaconEvent, type BeaconTiming } from "../../src/discovery/beacon.ts";
import type { MdnsInterface } from "../../src/discovery/interfaces.ts";
import { createLogger, memorySink, type LogRecord } from "../../src/log/logger.ts";
import { FakeLink, FakeTransport, FAST, iface, until, type Sent } from "../helpers/fake-mdns.ts";

const SERVICE = "_openclaw-gw._tcp.local";
const INSTANCE = "vm (OpenClaw)";
const FQDN = `${INSTANCE}.${SERVICE}`;
const TXT = ["role=gateway", "transport=gateway", "displayName=vm", "lanHost=vm.local", "gatewayPort=18789"];

interface Made {
  beacon: Beacon;
  logs: LogRecord[];
  events: BeaconEvent[];
  transports: FakeTransport[];
  ifaces: { current: MdnsInterface[] };
}

const made: Beacon[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((b) => b.stop()));
});

function makeBeacon(
  link: FakeLink,
  opts: {
    address?: string;
    instance?: string;
    host?: string;
    port?: number;
    ifaces?: MdnsInterface[];
    timing?: Partial<BeaconTiming>;
  } = {},
): Made {
  const address = opts.address ?? "10.0.0.1";
  const sink = memorySink();
  const events: BeaconEvent[] = [];
  const transports: FakeTransport[] = [];
  const ifaces = { current: opts.ifaces ?? [iface("eth0", address, ["fe80::1"])] };
  const beacon = new Beacon({
    instanceName: opts.instance ?? INSTANCE,
    hostLabel: opts.host ?? "vm",
    port: opts.port ?? 18789,
    txt: TXT,
    log: createLogger({ level: "debug", sinks: [sink], subsystem: "bonjour" }),
    transport: () => {
      const t = link.transport(address);
      transports.push(t);
      return t;
    },
    interfaces: () => ifaces.current,
    timing: { ...FAST, ...opts.timing },
    onEvent: (e) => events.push(e),
  });
  made.push(beacon);
  return { beacon, logs: sink.records, events, transports, ifaces };
}

const isProbe = (s: Sent) => s.decoded.type === "query" && (s.decoded.authorities?.length ?? 0) > 0;
const responses = (link: FakeLink, from?: string) => link.sent.filter((s) => s.decoded.type === "response" && (!from || s.from === from));
const warns = (logs: LogRecord[], re: RegExp) => logs.filter((l) => l.level === "warn" && re.test(l.message));

async function announced(m: Made, timeoutMs = 3000): Promise<void> {
  await until(() => m.beacon.state === "announced", timeoutMs, `announced (state ${m.beacon.state})`);
}

/** A beacon on a link of its own, started and announced. */
async function announcedBeacon(opts?: Parameters<typeof makeBeacon>[1]): Promise<{ link: FakeLink; m: Made }> {
  const link = new FakeLink();
  const m = makeBeacon(link, opts);
  m.beacon.start();
  await announced(m);
  return { link, m };
}

/** A peer's SRV record (TTL 0: a goodbye). */
function srvRecord(name: string, port: number, target: string, ttl = 120): Answer {
  return { name, type: "SRV", ttl, data: { port, target, priority: 0, weight: 0 } };
}

/** A peer probing our instance name with the shared TXT and its own SRV. */
function rivalProbe(port: number, target: string): Packet {
  return { type: "query", id: 0, flags: 0, questions: [{ name: FQDN, type: "ANY" as never }], authorities: [txtRecord(), srvRecord(FQDN, port, target)] };
}

/** A peer's response claiming a name with its SRV record. */
function claim(srv: Answer): Packet {
  return { type: "response", id: 0, flags: 1 << 10, answers: [srv] };
}

/** The TXT record both probers agree on, so the tiebreak is decided by SRV (RFC 6762 §8.2 order). */
function txtRecord(): NonNullable<Packet["authorities"]>[number] {
  return { name: FQDN, type: "TXT", ttl: 4500, data: TXT.map((t) => Buffer.from(t)) };
}

function query(questions: Array<{ name: string; type: string }>, answers: Packet["answers"] = [], id = 0): Packet {
  return { type: "query", id, flags: 0, questions: questions as Packet["questions"], answers };
}

describe("beacon: probe and announce", () => {
  test("probes three times with its records in the authority section, then announces PTR/SRV/TXT/A/AAAA", async () => {
    const { link, m } = await announcedBeacon();
    const probes = link.sent.filter(isProbe);
    expect(probes.length).toBe(3);
    const q = probes[0].decoded;
    expect(q.questions.map((x: any) => [x.name, x.type])).toEqual([
      [FQDN, "ANY"],
      ["vm.local", "ANY"],
    ]);
    expect(q.authorities.map((a: any) => a.type).sort()).toEqual(["A", "AAAA", "SRV", "TXT"]);

    const ann = responses(link)[0].decoded;
    const byType = (t: string) => ann.answers.filter((a: any) => a.type === t);
    expect(byType("PTR").map((a: any) => [a.name, a.data])).toEqual([
      [SERVICE, FQDN],
      ["_services._dns-sd._udp.local", SERVICE],
    ]);
    expect(byType("SRV")[0]).toMatchObject({ name: FQDN, ttl: 120, flush: true, data: { port: 18789, target: "vm.local" } });
    expect(byType("TXT")[0].data.map((b: Buffer) => b.toString())).toEqual(TXT);
    expect(byType("TXT")[0]).toMatchObject({ ttl: 4500, flush: true });
    expect(byType("A")[0]).toMatchObject({ name: "vm.local", data: "10.0.0.1", ttl: 120, flush: true });
    expect(byType("AAAA")[0]).toMatchObject({ name: "vm.local", data: "fe80::1" });
    expect(byType("PTR").every((a: any) => a.flush === false && a.ttl === 4500)).toBe(true);
    expect(responses(link).length).toBeGreaterThanOrEqual(2); // announced at least twice
    expect(m.logs.some((l) => l.message === `advertised gateway fqdn=${FQDN} host=vm.local port=18789 state=announced`)).toBe(true);
  });

  test("re-announces periodically while announced", async () => {
    const { link, m } = await announcedBeacon({ timing: { checkIntervalMs: 20, reannounceMs: 40 } });
    const before = responses(link).length;
    await until(() => responses(link).length >= before + 2, 2000, "periodic re-announcements");
  });
});

describe("beacon: answering queries", () => {
  test("answers a PTR query with SRV, TXT and addresses as additional records", async () => {
    const { link, m } = await announcedBeacon();
    const n = link.sent.length;
    link.injectPacket(query([{ name: SERVICE, type: "PTR" }]), { address: "10.0.0.99", port: 5353 });
    await until(() => responses(link).some((s) => link.sent.indexOf(s) >= n), 2000, "a response");
    const r = link.sent.slice(n).find((s) => s.decoded.type === "response")!;
    expect("iface" in r.to).toBe(true);
    expect(r.decoded.answers.map((a: any) => [a.type, a.data])).toEqual([["PTR", FQDN]]);
    expect(r.decoded.additionals.map((a: any) => a.type).sort()).toEqual(["A", "AAAA", "SRV", "TXT"]);
  });

  test("answers SRV, TXT and A questions; ignores names it does not own", async () => {
    const { link, m } = await announcedBeacon();
    const n = link.sent.length;
    link.injectPacket(query([{ name: "someone-else.local", type: "A" }]), { address: "10.0.0.99", port: 5353 });
    link.injectPacket(query([{ name: "VM.LOCAL", type: "A" }]), { address: "10.0.0.99", port: 5353 });
    await until(() => link.sent.length > n, 2000, "a response");
    await Bun.sleep(30);
    const rs = link.sent.slice(n).filter((s) => s.decoded.type === "response");
    expect(rs.length).toBe(1);
    expect(rs[0].decoded.answers.map((a: any) => [a.name, a.type, a.data])).toEqual([["vm.local", "A", "10.0.0.1"]]);
  });

  test("known-answer suppression: no response when the querier already has the PTR", async () => {
    const { link, m } = await announcedBeacon({ timing: { checkIntervalMs: 60_000, reannounceMs: 600_000 } });
    await Bun.sleep(1100); // past the 1 s per-record multicast rate limit
    const n = link.sent.length;
    link.injectPacket(
      query([{ name: SERVICE, type: "PTR" }], [{ name: SERVICE, type: "PTR", ttl: 4000, data: FQDN }]),
      { address: "10.0.0.99", port: 5353 },
    );
    await Bun.sleep(200);
    expect(link.sent.slice(n).filter((s) => s.decoded.type === "response")).toEqual([]);
  });

  test("legacy unicast query (source port ≠ 5353): unicast reply, same id, question echoed, TTL ≤ 10", async () => {
    const { link, m } = await announcedBeacon();
    link.injectPacket(query([{ name: SERVICE, type: "PTR" }], [], 4321), { address: "10.0.0.99", port: 40001 });
    await until(() => link.unicastTo("10.0.0.99", 40001).length > 0, 2000, "unicast reply");
    const r = link.unicastTo("10.0.0.99", 40001)[0].decoded;
    expect(r.id).toBe(4321);
    expect(r.questions).toEqual([{ name: SERVICE, type: "PTR", class: "IN" }]);
    const all = [...r.answers, ...r.additionals];
    expect(all.length).toBeGreaterThan(3);
    expect(all.every((a: any) => a.ttl <= 10 && a.flush === false)).toBe(true);
  });

  test("does not answer while probing", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { timing: { probeIntervalMs: 200 } });
    m.beacon.start();
    await until(() => m.beacon.state === "probing", 2000, "probing");
    link.injectPacket(query([{ name: SERVICE, type: "PTR" }]), { address: "10.0.0.99", port: 40002 });
    await Bun.sleep(50);
    expect(link.unicastTo("10.0.0.99", 40002)).toEqual([]);
  });
});

describe("beacon: conflicts", () => {
  test("a second gateway on the same machine (same address) gets `name (2)`; the host name is shared", async () => {
    const link = new FakeLink();
    const a = makeBeacon(link, { port: 18789 });
    a.beacon.start();
    await announced(a);
    const b = makeBeacon(link, { port: 19000 });
    b.beacon.start();
    await announced(b);
    expect(a.beacon.instanceName).toBe(INSTANCE);
    expect(b.beacon.instanceName).toBe(`${INSTANCE} (2)`);
    expect(b.beacon.hostLabel).toBe("vm");
    expect(b.events).toContainEqual({ type: "renamed", what: "instance", from: INSTANCE, to: `${INSTANCE} (2)` });
    expect(b.logs.some((l) => l.message === `gateway name conflict resolved; newName="${INSTANCE} (2)"`)).toBe(true);
  });

  test("another machine with the same name and host name: both the instance and the host are renamed", async () => {
    const link = new FakeLink();
    const a = makeBeacon(link, { address: "10.0.0.1" });
    a.beacon.start();
    await announced(a);
    const b = makeBeacon(link, { address: "10.0.0.2", ifaces: [iface("eth0", "10.0.0.2", ["fe80::2"])] });
    b.beacon.start();
    await announced(b);
    expect(b.beacon.instanceName).toBe(`${INSTANCE} (2)`);
    expect(b.beacon.hostLabel).toBe("vm-2");
    expect(b.logs.some((l) => l.message === 'hostname conflict resolved; newHostname="vm-2.local"')).toBe(true);
    expect(a.beacon.instanceName).toBe(INSTANCE);
    expect(a.beacon.hostLabel).toBe("vm");
  });

  test("simultaneous probe tiebreak: losing to a later record set means waiting and probing again", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { timing: { probeIntervalMs: 60, tiebreakDelayMs: 50 } });
    link.onSend = (s) => {
      if (isProbe(s) && s.from === "10.0.0.1" && link.sent.filter(isProbe).length === 1) {
        // A peer probing the same instance name with a higher port (later rdata) wins.
        link.injectPacket(rivalProbe(65000, "other.local"), { address: "10.0.0.7", port: 5353 });
      }
    };
    m.beacon.start();
    await announced(m);
    expect(link.sent.filter((s) => isProbe(s) && s.from === "10.0.0.1").length).toBeGreaterThan(3);
    expect(m.beacon.instanceName).toBe(INSTANCE);
  });

  test("winning the tiebreak (our record set is later) changes nothing", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { timing: { probeIntervalMs: 60 } });
    link.onSend = (s) => {
      if (isProbe(s) && link.sent.filter(isProbe).length === 1) {
        link.injectPacket(rivalProbe(1, "a.local"), { address: "10.0.0.7", port: 5353 });
      }
    };
    m.beacon.start();
    await announced(m);
    expect(link.sent.filter(isProbe).length).toBe(3);
  });

  test("a conflicting response after announcing triggers a new probe; a stray packet does not rename", async () => {
    const { link, m } = await announcedBeacon();
    const probesBefore = link.sent.filter(isProbe).length;
    link.injectPacket(claim(srvRecord(FQDN, 1234, "evil.local")), { address: "10.0.0.66", port: 5353 });
    await until(() => link.sent.filter(isProbe).length >= probesBefore + 3, 2000, "re-probe");
    await announced(m);
    expect(m.beacon.instanceName).toBe(INSTANCE);
    expect(m.logs.some((l) => /conflicting mDNS records seen/.test(l.message))).toBe(true);
  });

  test("goodbye records (TTL 0) with our name are not conflicts", async () => {
    const { link, m } = await announcedBeacon();
    const probesBefore = link.sent.filter(isProbe).length;
    link.injectPacket(claim(srvRecord(FQDN, 1234, "old.local", 0)), { address: "10.0.0.66", port: 5353 });
    await Bun.sleep(100);
    expect(link.sent.filter(isProbe).length).toBe(probesBefore);
  });

  test("a peer that claims every name: renames are bounded, then advertising stops (the process is unaffected)", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { timing: { maxConflicts: 5, conflictBurst: 3 } });
    link.onSend = (s) => {
      if (!isProbe(s)) return;
      const name = s.decoded.questions[0].name;
      link.injectPacket(claim(srvRecord(name, 9, "squatter.local")), { address: "10.0.0.66", port: 5353 });
    };
    m.beacon.start();
    await until(() => m.beacon.state === "failed", 5000, "failed");
    expect(m.events.filter((e) => e.type === "renamed").length).toBe(5);
    expect(warns(m.logs, /stopped after 5 name conflicts/).length).toBe(1);
  });
});

describe("beacon: goodbye", () => {
  test("stop() sends every record with TTL 0 and closes the socket", async () => {
    const { link, m } = await announcedBeacon();
    await m.beacon.stop();
    const last = responses(link).at(-1)!.decoded;
    expect(last.answers.map((a: any) => a.type).sort()).toEqual(["A", "AAAA", "PTR", "SRV", "TXT"]);
    expect(last.answers.every((a: any) => a.ttl === 0)).toBe(true);
    expect(m.transports.every((t) => t.closed)).toBe(true);
    expect(m.events).toContainEqual({ type: "goodbye" });
    expect(m.beacon.state).toBe("stopped");
    await m.beacon.stop(); // idempotent
  });

  test("stop() before announcing sends no goodbye and returns promptly", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { timing: { initialDelayMaxMs: 1000 } });
    m.beacon.start();
    const t0 = performance.now();
    await m.beacon.stop();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(link.sent).toEqual([]);
  });
});

describe("beacon: isolation", () => {
  test("a busy port: bounded retries, one warning per error, then it recovers", async () => {
    const link = new FakeLink();
    link.openFailures.push("EADDRINUSE", "EADDRINUSE");
    const m = makeBeacon(link);
    m.beacon.start();
    await announced(m);
    expect(warns(m.logs, /advertise failed \(EADDRINUSE/).length).toBe(1);
    expect(m.transports.length).toBe(3);
  });

  test("a port that never frees: gives up after the last retry with one final warning", async () => {
    const link = new FakeLink();
    link.openFailures.push("EADDRINUSE", "EADDRINUSE", "EADDRINUSE", "EADDRINUSE", "EADDRINUSE");
    const m = makeBeacon(link);
    m.beacon.start();
    await until(() => m.beacon.state === "failed", 3000, "failed");
    expect(m.transports.length).toBe(4); // first attempt + 3 retries (FAST has 3 delays)
    expect(warns(m.logs, /advertise failed/).length).toBe(1);
    expect(warns(m.logs, /stopped after 4 failed attempts/).length).toBe(1);
    await Bun.sleep(200);
    expect(m.transports.length).toBe(4); // no further attempts
  });

  test("a socket error after announcing: a new socket, probe and announce again", async () => {
    const { link, m } = await announcedBeacon();
    m.transports[0].fail("ENETDOWN");
    await until(() => m.transports.length === 2 && m.beacon.state === "announced", 3000, "re-announced");
    expect(m.transports[0].closed).toBe(true);
  });

  test("no multicast interface: waits (logged once), starts when one appears", async () => {
    const link = new FakeLink();
    const m = makeBeacon(link, { ifaces: [] });
    m.beacon.start();
    await until(() => m.logs.some((l) => /no multicast-capable network interface/.test(l.message)), 2000, "log");
    await Bun.sleep(200); // several interface checks
    expect(m.logs.filter((l) => /no multicast-capable/.test(l.message)).length).toBe(1);
    expect(m.beacon.state).toBe("waiting");
    expect(m.transports.length).toBe(0);
    m.ifaces.current = [iface("eth0", "10.0.0.1")];
    await announced(m);
  });

  test("interface change while announced: probes again and announces the new address", async () => {
    const { link, m } = await announcedBeacon();
    m.ifaces.current = [iface("eth0", "10.0.0.1", ["fe80::1"]), iface("eth1", "10.1.0.1")];
    await until(
      () => responses(link).some((s) => s.decoded.answers.some((a: any) => a.type === "A" && a.data === "10.1.0.1")),
      3000,
      "announcement with the new address",
    );
    expect(m.logs.some((l) => /network interfaces changed \(eth0, eth1\)/.test(l.message))).toBe(true);
  });

  test("malformed datagrams: one warning, the beacon keeps answering", async () => {
    const { link, m } = await announcedBeacon();
    const garbage = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(12).fill(0xff),
      // header claiming one question, then a compression pointer to itself
      new Uint8Array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
      // a label longer than the packet
      new Uint8Array([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 63, 97, 98]),
    ];
    for (let i = 0; i < 50; i++) for (const g of garbage) link.inject(g);
    await Bun.sleep(100);
    expect(warns(m.logs, /ignoring malformed mDNS packet/).length).toBe(1);
    link.injectPacket(query([{ name: SERVICE, type: "PTR" }], [], 7), { address: "10.0.0.99", port: 40003 });
    await until(() => link.unicastTo("10.0.0.99", 40003).length > 0, 2000, "still answering");
  });

  test("hostile packet shapes never throw out of the handler", async () => {
    const link = new FakeLink();
    let events: any;
    const sink = memorySink();
    const beacon = new Beacon({
      instanceName: INSTANCE,
      hostLabel: "vm",
      port: 18789,
      txt: TXT,
      log: createLogger({ level: "debug", sinks: [sink] }),
      transport: () => {
        const t = link.transport("10.0.0.1");
        const open = t.open.bind(t);
        t.open = async (port, ev) => {
          events = ev;
          return open(port, ev);
        };
        return t;
      },
      interfaces: () => [iface("eth0", "10.0.0.1")],
      timing: FAST,
    });
    made.push(beacon);
    beacon.start();
    await until(() => beacon.state === "announced", 3000, "announced");
    const from = { address: "10.0.0.99", port: 5353 };
    const shapes: unknown[] = [
      null,
      42,
      "query",
      { type: "query" },
      { type: "query", questions: "nope" },
      { type: "query", questions: [null, 1, { name: 5 }, { name: SERVICE }, { name: "x".repeat(5000), type: "PTR" }] },
      { type: "response", answers: [{ name: FQDN, type: "SRV", data: null, ttl: 120 }] },
      { type: "response", answers: [{ name: FQDN, type: "TXT", data: "not-a-buffer", ttl: -5 }] },
      { type: "response", answers: [{ name: "vm.local", type: "A", data: "999.1.1.1", ttl: 120 }] },
      { type: "response", answers: Array.from({ length: 10_000 }, () => ({ name: "x.local", type: "A", data: "1.2.3.4" })) },
      { type: "query", questions: Array.from({ length: 10_000 }, () => ({ name: SERVICE, type: "PTR" })) },
      { type: "query", opcode: "UPDATE", questions: [{ name: SERVICE, type: "PTR" }] },
    ];
    for (const s of shapes) expect(() => events.packet(s, from)).not.toThrow();
    await Bun.sleep(50);
    expect(beacon.state).toBe("announced");
  });

  test("a query flood gets a bounded number of answers per second (logged once)", async () => {
    const { link, m } = await announcedBeacon({ timing: { maxResponsesPerSecond: 10 } });
    const n = link.sent.length;
    for (let i = 0; i < 200; i++) {
      link.injectPacket(query([{ name: SERVICE, type: "PTR" }], [], i + 1), { address: "10.0.0.99", port: 41000 + i });
    }
    await Bun.sleep(150);
    const replies = link.sent.slice(n).filter((s) => !("iface" in s.to));
    expect(replies.length).toBeLessThanOrEqual(10);
    expect(replies.length).toBeGreaterThan(0);
    expect(warns(m.logs, /mDNS query flood/).length).toBe(1);
    // The flood does not starve an ordinary browser (multicast query from port 5353).
    const before = link.sent.length;
    link.injectPacket(query([{ name: SERVICE, type: "PTR" }]), { address: "10.0.0.98", port: 5353 });
    await until(() => link.sent.slice(before).some((s) => "iface" in s.to && s.decoded.type === "response"), 2000, "multicast answer");
  });
});
