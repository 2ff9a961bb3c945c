/**
 * DNS records for one gateway beacon, and a defensive reader for packets off the wire.
 *
 * Incoming packets are untrusted: `readPacket` keeps only well-formed questions and records of
 * the types we use, caps how many it looks at, and never throws.
 */
import type { Answer } from "dns-packet";
import { expandIPv6, type MdnsInterface } from "./interfaces.ts";
import { MDNS_DOMAIN, SERVICE_FQDN, SERVICES_META_FQDN } from "./identity.ts";

export type RecType = "PTR" | "SRV" | "TXT" | "A" | "AAAA";

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export type RecData = string | SrvData | Uint8Array[];

export interface Rec {
  name: string;
  type: RecType;
  ttl: number;
  /** Cache-flush bit: set on records this responder owns alone. */
  flush: boolean;
  data: RecData;
}

/** RFC 6762 §10 defaults: 120 s for host-bound records, 75 min for the rest. */
export const TTL_HOST = 120;
export const TTL_OTHER = 4500;

export const instanceFqdn = (instance: string) => `${instance}.${SERVICE_FQDN}`;
export const hostFqdn = (host: string) => `${host}.${MDNS_DOMAIN}`;

export function lower(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

export function sameName(a: string, b: string): boolean {
  return lower(a) === lower(b);
}

export interface BeaconRecords {
  ptr: Rec;
  meta: Rec;
  srv: Rec;
  txt: Rec;
}

export function serviceRecords(opts: { instance: string; host: string; port: number; txt: string[] }): BeaconRecords {
  const fqdn = instanceFqdn(opts.instance);
  const enc = new TextEncoder();
  return {
    ptr: { name: SERVICE_FQDN, type: "PTR", ttl: TTL_OTHER, flush: false, data: fqdn },
    meta: { name: SERVICES_META_FQDN, type: "PTR", ttl: TTL_OTHER, flush: false, data: SERVICE_FQDN },
    srv: { name: fqdn, type: "SRV", ttl: TTL_HOST, flush: true, data: { priority: 0, weight: 0, port: opts.port, target: hostFqdn(opts.host) } },
    txt: { name: fqdn, type: "TXT", ttl: TTL_OTHER, flush: true, data: opts.txt.map((s) => enc.encode(s)) },
  };
}

export function addressRecords(host: string, ifaces: MdnsInterface[]): Rec[] {
  const out: Rec[] = [];
  const seen = new Set<string>();
  const name = hostFqdn(host);
  for (const i of ifaces) {
    if (!seen.has(i.ipv4)) {
      seen.add(i.ipv4);
      out.push({ name, type: "A", ttl: TTL_HOST, flush: true, data: i.ipv4 });
    }
    for (const v6 of i.ipv6) {
      if (seen.has(v6)) continue;
      seen.add(v6);
      out.push({ name, type: "AAAA", ttl: TTL_HOST, flush: true, data: v6 });
    }
  }
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameData(type: RecType, a: RecData, b: RecData): boolean {
  switch (type) {
    case "PTR":
      return typeof a === "string" && typeof b === "string" && sameName(a, b);
    case "A":
      return a === b;
    case "AAAA":
      return typeof a === "string" && typeof b === "string" && expandIPv6(a) !== undefined && expandIPv6(a) === expandIPv6(b);
    case "SRV": {
      const x = a as SrvData;
      const y = b as SrvData;
      return x.port === y.port && x.priority === y.priority && x.weight === y.weight && sameName(x.target, y.target);
    }
    case "TXT": {
      const x = a as Uint8Array[];
      const y = b as Uint8Array[];
      return x.length === y.length && x.every((v, i) => bytesEqual(v, y[i]));
    }
  }
}

export function sameRecord(a: Pick<Rec, "name" | "type" | "data">, b: Pick<Rec, "name" | "type" | "data">): boolean {
  return a.type === b.type && sameName(a.name, b.name) && sameData(a.type, a.data, b.data);
}

// --- wire form -------------------------------------------------------------------------------

/** Our record → dns-packet's answer shape (TTL optionally overridden, e.g. 0 for goodbye). */
export function toAnswer(rec: Rec, opts: { ttl?: number; flush?: boolean } = {}): Answer {
  const base = { name: rec.name, ttl: opts.ttl ?? rec.ttl, class: "IN" as const, flush: opts.flush ?? rec.flush };
  switch (rec.type) {
    case "SRV":
      return { ...base, type: "SRV", data: { ...(rec.data as SrvData) } };
    case "TXT":
      return { ...base, type: "TXT", data: (rec.data as Uint8Array[]).map((b) => Buffer.from(b)) };
    default:
      return { ...base, type: rec.type, data: rec.data as string };
  }
}

function nameBytes(name: string): number[] {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (const label of name.replace(/\.$/, "").split(".")) {
    if (!label) continue;
    const b = enc.encode(label.toLowerCase());
    out.push(b.length, ...b);
  }
  out.push(0);
  return out;
}

const TYPE_CODES: Record<RecType, number> = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33 };

/** Uncompressed rdata, for the RFC 6762 §8.2 simultaneous-probe tiebreak. */
export function rdataBytes(rec: Pick<Rec, "type" | "data">): number[] {
  switch (rec.type) {
    case "A":
      return String(rec.data).split(".").map((x) => Number(x) & 255);
    case "AAAA": {
      const full = expandIPv6(String(rec.data)) ?? "0:0:0:0:0:0:0:0";
      return full.split(":").flatMap((g) => {
        const n = Number.parseInt(g, 16);
        return [n >> 8, n & 255];
      });
    }
    case "PTR":
      return nameBytes(String(rec.data));
    case "SRV": {
      const s = rec.data as SrvData;
      const u16 = (n: number) => [(n >> 8) & 255, n & 255];
      return [...u16(s.priority), ...u16(s.weight), ...u16(s.port), ...nameBytes(s.target)];
    }
    case "TXT":
      return (rec.data as Uint8Array[]).flatMap((b) => [b.length, ...b]);
  }
}

/**
 * Compare two record sets the RFC 6762 §8.2 way (sorted by class, type, rdata; compared
 * pairwise; the longer list wins a tie). Negative: `a` loses.
 */
export function compareRecordSets(a: Array<Pick<Rec, "type" | "data">>, b: Array<Pick<Rec, "type" | "data">>): number {
  const key = (r: Pick<Rec, "type" | "data">) => [TYPE_CODES[r.type], ...rdataBytes(r)];
  const cmp = (x: number[], y: number[]) => {
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  const sa = a.map(key).sort(cmp);
  const sb = b.map(key).sort(cmp);
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = cmp(sa[i], sb[i]);
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

// --- reading untrusted packets -------------------------------------------------------------

export interface InQuestion {
  name: string;
  type: string;
  /** Unicast response requested (the top bit of the class). */
  qu: boolean;
}

export interface InPacket {
  kind: "query" | "response";
  id: number;
  questions: InQuestion[];
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
}

const MAX_QUESTIONS = 64;
const MAX_RECORDS = 128;
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

function readName(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 && v.length <= 255 ? v : undefined;
}

function readRecord(raw: unknown): Rec | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as { name?: unknown; type?: unknown; ttl?: unknown; flush?: unknown; data?: unknown };
  const name = readName(r.name);
  if (!name) return undefined;
  const ttl = typeof r.ttl === "number" && Number.isFinite(r.ttl) && r.ttl >= 0 ? r.ttl : 0;
  const flush = r.flush === true;
  switch (r.type) {
    case "PTR": {
      const target = readName(r.data);
      return target ? { name, type: "PTR", ttl, flush, data: target } : undefined;
    }
    case "A":
      return typeof r.data === "string" && IPV4_RE.test(r.data) ? { name, type: "A", ttl, flush, data: r.data } : undefined;
    case "AAAA":
      return typeof r.data === "string" && expandIPv6(r.data) ? { name, type: "AAAA", ttl, flush, data: r.data } : undefined;
    case "SRV": {
      const d = r.data as { port?: unknown; target?: unknown; priority?: unknown; weight?: unknown } | undefined;
      const target = readName(d?.target);
      const port = Number(d?.port);
      if (!target || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
      return {
        name,
        type: "SRV",
        ttl,
        flush,
        data: { port, target, priority: Number(d?.priority) || 0, weight: Number(d?.weight) || 0 },
      };
    }
    case "TXT": {
      const list = Array.isArray(r.data) ? r.data : [r.data];
      const bufs = list.filter((x): x is Uint8Array => x instanceof Uint8Array).slice(0, 256);
      return { name, type: "TXT", ttl, flush, data: bufs };
    }
    default:
      return undefined;
  }
}

function readRecords(v: unknown): Rec[] {
  if (!Array.isArray(v)) return [];
  const out: Rec[] = [];
  for (const raw of v.slice(0, MAX_RECORDS)) {
    const rec = readRecord(raw);
    if (rec) out.push(rec);
  }
  return out;
}

/** dns-packet reports a question's class with the QU bit as `UNKNOWN_32769`. */
function isQu(klass: unknown): boolean {
  if (typeof klass === "number") return (klass & 0x8000) !== 0;
  const m = typeof klass === "string" ? /^UNKNOWN_(\d+)$/.exec(klass) : null;
  return m ? (Number(m[1]) & 0x8000) !== 0 : false;
}

/** Validate a decoded packet; undefined when it is not an mDNS query or response we can use. */
export function readPacket(raw: unknown): InPacket | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const p = raw as { type?: unknown; id?: unknown; opcode?: unknown; questions?: unknown; answers?: unknown; authorities?: unknown; additionals?: unknown };
  if (p.type !== "query" && p.type !== "response") return undefined;
  if (p.opcode !== undefined && p.opcode !== "QUERY") return undefined;
  const questions: InQuestion[] = [];
  if (Array.isArray(p.questions)) {
    for (const q of p.questions.slice(0, MAX_QUESTIONS)) {
      const qq = q as { name?: unknown; type?: unknown; class?: unknown } | null;
      const name = readName(qq?.name);
      if (!name || typeof qq?.type !== "string") continue;
      questions.push({ name, type: qq.type, qu: isQu(qq.class) });
    }
  }
  return {
    kind: p.type,
    id: typeof p.id === "number" ? p.id : 0,
    questions,
    answers: readRecords(p.answers),
    authorities: readRecords(p.authorities),
    additionals: readRecords(p.additionals),
  };
}
