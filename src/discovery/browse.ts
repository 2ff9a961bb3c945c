/**
 * One-shot mDNS browse for `_openclaw-gw._tcp.local` (the `local.` half of
 * `openclaw gateway discover`): query PTR, then SRV/TXT for each instance and A/AAAA for each
 * SRV target, re-query with known answers, and report what resolved when the time is up.
 *
 * It binds 5353 shared with other responders when it can; if 5353 is held exclusively it falls
 * back to an ephemeral port, where responders answer by unicast (RFC 6762 §6.7 legacy queries).
 * Answers are untrusted input: bounded in number, validated by `readPacket`.
 */
import type { Packet } from "dns-packet";
import { makeBeacon, type GatewayBeacon } from "./beacons.ts";
import { parseTxt, SERVICE_FQDN } from "./identity.ts";
import { listMulticastInterfaces, type MdnsInterface } from "./interfaces.ts";
import { lower, readPacket, sameName, toAnswer, type Rec, type SrvData } from "./records.ts";
import { createMdnsTransport, errorText, MDNS_PORT, type ErrnoError, type MdnsTransport } from "./transport.ts";

export interface BrowseOptions {
  timeoutMs: number;
  transport?: () => MdnsTransport;
  interfaces?: () => MdnsInterface[];
  /** Port to bind first (5353); an ephemeral port is the fallback. */
  port?: number;
  maxInstances?: number;
  /** Query tick (how often missing SRV/TXT/A are asked for). */
  tickMs?: number;
}

export interface BrowseResult {
  beacons: GatewayBeacon[];
  warnings: string[];
}

const MAX_CACHE = 4096;

interface Entry {
  rec: Rec;
  expires: number;
}

class RecordCache {
  private readonly map = new Map<string, Entry[]>();
  private size = 0;

  add(rec: Rec, now: number): void {
    const key = `${lower(rec.name)}|${rec.type}`;
    const list = this.map.get(key) ?? [];
    const dataKey = JSON.stringify(rec.data);
    const i = list.findIndex((e) => JSON.stringify(e.rec.data) === dataKey);
    if (rec.ttl === 0) {
      // Goodbye: forget it now.
      if (i >= 0) {
        list.splice(i, 1);
        this.size--;
      }
      this.map.set(key, list);
      return;
    }
    const entry = { rec, expires: now + rec.ttl * 1000 };
    if (i >= 0) list[i] = entry;
    else {
      if (this.size >= MAX_CACHE) return;
      list.push(entry);
      this.size++;
    }
    this.map.set(key, list);
  }

  get(name: string, type: Rec["type"], now: number): Rec[] {
    return (this.map.get(`${lower(name)}|${type}`) ?? []).filter((e) => e.expires > now).map((e) => e.rec);
  }

  /** Known answers for a re-query: records with more than half their TTL left. */
  fresh(name: string, type: Rec["type"], now: number): Rec[] {
    return (this.map.get(`${lower(name)}|${type}`) ?? [])
      .filter((e) => e.expires - now > (e.rec.ttl * 1000) / 2)
      .map((e) => ({ ...e.rec, ttl: Math.floor((e.expires - now) / 1000) }));
  }
}

function instanceOf(fqdn: string): string | undefined {
  const suffix = `.${SERVICE_FQDN}`;
  const name = fqdn.replace(/\.$/, "");
  if (name.length <= suffix.length || !name.toLowerCase().endsWith(suffix.toLowerCase())) return undefined;
  return name.slice(0, -suffix.length);
}

async function openTransport(
  make: () => MdnsTransport,
  port: number,
  onPacket: (p: unknown) => void,
  warnings: string[],
): Promise<{ transport: MdnsTransport; shared: boolean } | undefined> {
  const events = {
    packet: (p: unknown) => onPacket(p),
    malformed: () => {},
    error: () => {},
    warning: () => {},
  };
  // `port` first (shared with other responders); when it is held, an ephemeral port.
  for (const [i, p] of [port, 0].entries()) {
    const transport = make();
    try {
      await transport.open(p, events);
      return { transport, shared: i === 0 };
    } catch (err) {
      await transport.close();
      const e = err as ErrnoError;
      if (i === 1 || port === 0 || (e.code !== "EADDRINUSE" && e.code !== "EACCES")) {
        warnings.push(`mDNS socket unavailable (${errorText(e)})`);
        return undefined;
      }
    }
  }
  return undefined;
}

export async function browseLocal(opts: BrowseOptions): Promise<BrowseResult> {
  const warnings: string[] = [];
  const timeoutMs = Math.max(1, opts.timeoutMs);
  const tickMs = opts.tickMs ?? 250;
  const maxInstances = opts.maxInstances ?? 256;
  let ifaces: MdnsInterface[];
  try {
    ifaces = (opts.interfaces ?? (() => listMulticastInterfaces()))();
  } catch {
    ifaces = [];
  }
  if (ifaces.length === 0) {
    warnings.push("no multicast-capable network interface; local. was not browsed");
    return { beacons: [], warnings };
  }

  const cache = new RecordCache();
  const queryId = (Math.random() * 0xfffe + 1) | 0;
  const onPacket = (raw: unknown) => {
    const p = readPacket(raw);
    if (!p || p.kind !== "response") return;
    const now = Date.now();
    for (const rec of [...p.answers, ...p.additionals]) cache.add(rec, now);
  };
  const opened = await openTransport(opts.transport ?? createMdnsTransport, opts.port ?? MDNS_PORT, onPacket, warnings);
  if (!opened) return { beacons: [], warnings };
  const { transport, shared } = opened;
  const sendErrors = new Set<string>();
  let sent = 0;

  const query = async (questions: Array<{ name: string; type: Rec["type"] }>, known: Rec[] = []) => {
    const packet: Packet = {
      type: "query",
      id: shared ? 0 : queryId,
      flags: 0,
      questions: questions.map((q) => ({ name: q.name, type: q.type, class: "IN" as const })),
      answers: known.slice(0, 32).map((r) => toAnswer(r, { flush: false })),
    };
    for (const iface of ifaces) {
      const err = await transport.send(packet, { iface });
      if (err) sendErrors.add(`${iface.name}: ${err.code ?? err.message}`);
      else sent++;
    }
  };

  const instances = (now: number) => {
    const out: string[] = [];
    for (const ptr of cache.get(SERVICE_FQDN, "PTR", now)) {
      const inst = instanceOf(String(ptr.data));
      if (inst !== undefined && !out.some((x) => sameName(x, inst))) out.push(inst);
      if (out.length >= maxInstances) break;
    }
    return out;
  };

  try {
    if (shared) transport.join(ifaces);
    const started = Date.now();
    const deadline = started + timeoutMs;
    const asked = new Map<string, number>();
    let nextPtr = started;
    let ptrInterval = 1_000;
    for (let tick = 0; tick < 10_000 && Date.now() < deadline; tick++) {
      const now = Date.now();
      if (now >= nextPtr) {
        await query([{ name: SERVICE_FQDN, type: "PTR" }], cache.fresh(SERVICE_FQDN, "PTR", now));
        nextPtr = now + ptrInterval;
        ptrInterval *= 2;
      }
      for (const inst of instances(now)) {
        const fqdn = `${inst}.${SERVICE_FQDN}`;
        const want: Array<{ name: string; type: Rec["type"] }> = [];
        const srv = cache.get(fqdn, "SRV", now)[0];
        if (!srv) want.push({ name: fqdn, type: "SRV" });
        if (cache.get(fqdn, "TXT", now).length === 0) want.push({ name: fqdn, type: "TXT" });
        if (srv) {
          const target = (srv.data as SrvData).target;
          if (cache.get(target, "A", now).length + cache.get(target, "AAAA", now).length === 0) {
            want.push({ name: target, type: "A" }, { name: target, type: "AAAA" });
          }
        }
        const key = lower(fqdn);
        if (want.length > 0 && now - (asked.get(key) ?? 0) >= 2 * tickMs) {
          asked.set(key, now);
          await query(want);
        }
      }
      await Bun.sleep(Math.max(1, Math.min(tickMs, deadline - Date.now())));
    }

    const now = Date.now();
    const beacons: GatewayBeacon[] = [];
    for (const inst of instances(now)) {
      const fqdn = `${inst}.${SERVICE_FQDN}`;
      const srv = cache.get(fqdn, "SRV", now).at(-1);
      if (!srv) continue;
      const data = srv.data as SrvData;
      const txtRec = cache.get(fqdn, "TXT", now).at(-1);
      const txt = txtRec ? parseTxt(txtRec.data as Uint8Array[]) : {};
      const addresses = [...cache.get(data.target, "A", now), ...cache.get(data.target, "AAAA", now)].map((r) => String(r.data));
      beacons.push(makeBeacon({ instanceName: inst, domain: "local.", host: data.target, port: data.port, addresses, txt }));
    }
    if (sent === 0 && sendErrors.size > 0) warnings.push(`mDNS queries could not be sent (${[...sendErrors].join(", ")})`);
    return { beacons, warnings };
  } finally {
    await transport.close();
  }
}
