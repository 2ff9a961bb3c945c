import { describe, expect, test } from "bun:test";
import * as packet from "dns-packet";
import { dedupeAndSort, makeBeacon } from "../../src/discovery/beacons.ts";
import { compareRecordSets, readPacket, sameRecord, serviceRecords, toAnswer, type Rec } from "../../src/discovery/records.ts";

describe("readPacket (untrusted input)", () => {
  test("keeps well-formed questions and records of the types we use", () => {
    const bytes = packet.encode({
      type: "response",
      id: 0,
      flags: 1 << 10,
      answers: [
        { name: "a.local", type: "A", ttl: 120, data: "10.0.0.1" },
        { name: "a.local", type: "AAAA", ttl: 120, data: "fe80::1" },
        { name: "x._openclaw-gw._tcp.local", type: "SRV", ttl: 120, data: { port: 1, target: "a.local" } },
        { name: "x._openclaw-gw._tcp.local", type: "TXT", ttl: 4500, data: ["k=v"] },
        { name: "mx.local", type: "MX", ttl: 120, data: { preference: 1, exchange: "m" } },
      ],
    });
    const p = readPacket(packet.decode(bytes))!;
    expect(p.kind).toBe("response");
    expect(p.answers.map((r) => r.type)).toEqual(["A", "AAAA", "SRV", "TXT"]);
  });

  test("rejects or trims nonsense without throwing", () => {
    for (const raw of [undefined, null, 1, "x", [], {}, { type: "update" }, { type: "query", opcode: "NOTIFY" }]) {
      expect(readPacket(raw)).toBeUndefined();
    }
    const p = readPacket({
      type: "query",
      questions: [{ name: "ok.local", type: "A", class: "UNKNOWN_32769" }, { name: "", type: "A" }, { name: "x", type: 5 }],
      answers: [{ name: "a", type: "A", data: "300.1.1.1" }, { name: "a", type: "SRV", data: { port: 70000, target: "t" } }, { name: "a", type: "PTR", data: 7 }],
    })!;
    expect(p.questions).toEqual([{ name: "ok.local", type: "A", qu: true }]);
    expect(p.answers).toEqual([]);
  });
});

describe("record comparison", () => {
  const rec = (port: number): Rec => ({ name: "i._openclaw-gw._tcp.local", type: "SRV", ttl: 120, flush: true, data: { priority: 0, weight: 0, port, target: "vm.local" } });

  test("sameRecord: names case-insensitive, data exact", () => {
    expect(sameRecord(rec(1), { ...rec(1), name: "I._OPENCLAW-GW._TCP.LOCAL." })).toBe(true);
    expect(sameRecord(rec(1), rec(2))).toBe(false);
    expect(sameRecord({ name: "a", type: "AAAA", data: "FE80::1" }, { name: "a", type: "AAAA", data: "fe80:0:0::1" })).toBe(true);
  });

  test("tiebreak order (RFC 6762 §8.2): type first, then rdata bytes; more records win a tie", () => {
    expect(compareRecordSets([rec(2)], [rec(1)])).toBeGreaterThan(0);
    expect(compareRecordSets([rec(1)], [rec(1)])).toBe(0);
    expect(compareRecordSets([rec(1)], [rec(1), rec(1)])).toBeLessThan(0);
    const a: Rec = { name: "h", type: "A", ttl: 1, flush: true, data: "10.0.0.2" };
    expect(compareRecordSets([a], [{ ...a, data: "10.0.0.10" }])).toBeLessThan(0);
  });

  test("our records encode and decode unchanged", () => {
    const r = serviceRecords({ instance: "vm (OpenClaw)", host: "vm", port: 18789, txt: ["role=gateway"] });
    const bytes = packet.encode({ type: "response", answers: [r.ptr, r.srv, r.txt].map((x) => toAnswer(x)) });
    const back = readPacket(packet.decode(bytes))!;
    expect(back.answers.every((x, i) => sameRecord(x, [r.ptr, r.srv, r.txt][i]))).toBe(true);
    expect(back.answers.map((x) => x.flush)).toEqual([false, true, true]);
  });
});

describe("beacon results", () => {
  test("wsUrl from SRV (wss with TLS); bad TXT numbers are dropped; IPv6 hosts bracketed", () => {
    const b = makeBeacon({ instanceName: "x", domain: "local", host: "h.local.", port: 1, addresses: ["10.0.0.1", "10.0.0.1"], txt: { gatewayTls: "1", gatewayPort: "99999", sshPort: "22" } });
    expect(b).toMatchObject({ domain: "local.", host: "h.local", wsUrl: "wss://h.local:1", gatewayTls: true, sshPort: 22, addresses: ["10.0.0.1"], displayName: "x" });
    expect(b.gatewayPort).toBeUndefined();
    expect(makeBeacon({ instanceName: "x", domain: "local.", host: "fd00::1", port: 2, addresses: [], txt: {} }).wsUrl).toBe("ws://[fd00::1]:2");
  });

  test("dedupe on domain|instance|display|host|port|gatewayPort, sorted by display name", () => {
    const mk = (name: string, domain = "local.", addresses = ["10.0.0.1"]) =>
      makeBeacon({ instanceName: name, domain, host: "h", port: 1, addresses, txt: { displayName: name } });
    const out = dedupeAndSort([mk("b"), mk("a"), mk("b", "local.", ["10.0.0.2"]), mk("b", "x.internal.")]);
    expect(out.map((b) => [b.displayName, b.domain, b.addresses])).toEqual([
      ["a", "local.", ["10.0.0.1"]],
      ["b", "local.", ["10.0.0.1", "10.0.0.2"]],
      ["b", "x.internal.", ["10.0.0.1"]],
    ]);
  });
});
