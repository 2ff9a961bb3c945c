/**
 * Wide-area (unicast) DNS-SD: the same gateway beacon as PTR + SRV + TXT records in a normal
 * DNS zone, so discovery works across networks (typically a tailnet with split DNS).
 *
 * `openclaw dns setup` and the running gateway write `<stateDir>/dns/<domain>.db`, a zone file
 * any authoritative server can load (CoreDNS `file`, NSD, BIND, Knot); it is rewritten only
 * when its content changes (a content hash in the first line), with the SOA serial bumped.
 * `openclaw gateway discover` reads the domain back with ordinary unicast DNS queries.
 */
import { mkdir, readFile } from "node:fs/promises";
import { Resolver } from "node:dns/promises";
import { hostname as osHostname } from "node:os";
import { resolve, sep } from "node:path";
import { fnv1a32 } from "../config/paths.ts";
import { writeFileAtomic } from "../config/write.ts";
import type { Logger } from "../log/logger.ts";
import { makeBeacon, type GatewayBeacon } from "./beacons.ts";
import { buildTxt, dnsDomain, parseTxt, SERVICE_TYPE, type TxtInput } from "./identity.ts";
import { expandIPv6, ipv4ToInt } from "./interfaces.ts";
import { tailnetAddresses } from "./tailscale.ts";

export const DOMAIN_ERROR = "wide-area discovery domain must be a valid DNS name";

export class WideAreaError extends Error {
  override name = "WideAreaError";
}

/** `openclaw.internal` → `openclaw.internal.`; throws `WideAreaError` when not a DNS name. */
export function normalizeDomain(raw: string): string {
  const domain = dnsDomain(raw);
  if (!domain) throw new WideAreaError(DOMAIN_ERROR);
  return domain;
}

/** Zone-safe host label: lowercase, anything outside `[a-z0-9-]` becomes `-`. */
export function zoneHostLabel(host: string = osHostname()): string {
  const first = host.trim().split(".")[0] ?? "";
  const label = first
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 55)
    .replace(/-+$/, "");
  return label || "openclaw";
}

export interface ZoneInput {
  domain: string;
  hostLabel: string;
  ipv4: string[];
  ipv6: string[];
  port: number;
  txt: string[];
}

const SERIAL_PLACEHOLDER = "SERIAL";

/** A TXT character-string in master-file syntax: quoted, `"` and `\` escaped, bytes as `\DDD`. */
export function quoteTxt(text: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(text)) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, "0")}`;
  }
  return `${out}"`;
}

export function instanceLabel(hostLabel: string): string {
  return `${hostLabel}-gateway`;
}

export function renderZoneBody(input: ZoneInput): string {
  const origin = normalizeDomain(input.domain);
  if (input.ipv4.length + input.ipv6.length === 0) throw new WideAreaError("the zone needs at least one address");
  const host = input.hostLabel;
  const inst = `${instanceLabel(host)}.${SERVICE_TYPE}`;
  const lines = [
    `$ORIGIN ${origin}`,
    "$TTL 60",
    `@ IN SOA ns1 hostmaster ${SERIAL_PLACEHOLDER} 7200 3600 1209600 60`,
    "@ IN NS ns1",
  ];
  for (const ip of input.ipv4) lines.push(`ns1 IN A ${ip}`);
  if (input.ipv4.length === 0) for (const ip of input.ipv6) lines.push(`ns1 IN AAAA ${ip}`);
  if (host !== "ns1") {
    for (const ip of input.ipv4) lines.push(`${host} IN A ${ip}`);
    for (const ip of input.ipv6) lines.push(`${host} IN AAAA ${ip}`);
  } else if (input.ipv4.length > 0) {
    for (const ip of input.ipv6) lines.push(`${host} IN AAAA ${ip}`);
  }
  lines.push(`${SERVICE_TYPE} IN PTR ${inst}`);
  lines.push(`${inst} IN SRV 0 0 ${input.port} ${host}`);
  lines.push(`${inst} IN TXT ${input.txt.map(quoteTxt).join(" ")}`);
  return `${lines.join("\n")}\n`;
}

export function contentHash(body: string): string {
  return fnv1a32(body).toString(16).padStart(8, "0");
}

/** The file text: the content-hash line, then the body with its serial filled in. */
function zoneText(body: string, hash: string, serial: number): string {
  return `; openclaw-content-hash: ${hash}\n${body.replace(SERIAL_PLACEHOLDER, String(serial))}`;
}

export function renderZone(input: ZoneInput, serial: number): { text: string; hash: string } {
  const body = renderZoneBody(input);
  const hash = contentHash(body);
  return { text: zoneText(body, hash, serial), hash };
}

/** `YYYYMMDD01`, or one more than the previous serial when that is not lower. */
export function nextSerial(previous: number | undefined, now: Date = new Date()): number {
  const y = now.getUTCFullYear();
  const m = String(now.getUTCMonth() + 1).padStart(2, "0");
  const d = String(now.getUTCDate()).padStart(2, "0");
  const today = Number(`${y}${m}${d}01`);
  return previous !== undefined && previous >= today ? previous + 1 : today;
}

export function zonePath(stateDir: string, domain: string): string {
  const dir = resolve(stateDir, "dns");
  const file = resolve(dir, `${normalizeDomain(domain).replace(/\.$/, "")}.db`);
  if (!file.startsWith(dir + sep)) throw new WideAreaError("zone file path escapes the dns directory");
  return file;
}

export interface ZoneWriteResult {
  path: string;
  changed: boolean;
  serial: number;
  text: string;
}

/** Write the zone if its content changed (atomic; dir 0700, file 0644). */
export async function writeZone(stateDir: string, input: ZoneInput, now: Date = new Date()): Promise<ZoneWriteResult> {
  const path = zonePath(stateDir, input.domain);
  let previous: string | undefined;
  try {
    previous = await readFile(path, "utf8");
  } catch {}
  const body = renderZoneBody(input);
  const hash = contentHash(body);
  const prevHash = previous ? /^; openclaw-content-hash: ([0-9a-f]{8})$/m.exec(previous)?.[1] : undefined;
  const prevSerialRaw = previous ? /^@ IN SOA \S+ \S+ (\d{1,10}) /m.exec(previous)?.[1] : undefined;
  const prevSerial = prevSerialRaw === undefined ? undefined : Number(prevSerialRaw);
  if (previous !== undefined && prevHash === hash && prevSerial !== undefined) {
    return { path, changed: false, serial: prevSerial, text: previous };
  }
  const serial = nextSerial(prevSerial, now);
  const text = zoneText(body, hash, serial);
  await mkdir(resolve(stateDir, "dns"), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, text, 0o644);
  return { path, changed: true, serial, text };
}

export function isIPv4(address: string): boolean {
  return ipv4ToInt(address) !== undefined;
}

export function isIPv6(address: string): boolean {
  return !address.includes("%") && expandIPv6(address) !== undefined && address.includes(":");
}

/**
 * The running gateway keeps the zone current (port, TXT) when a wide-area domain is configured.
 * Like upstream it publishes the Tailscale address and skips the update without one.
 */
export async function updateGatewayZone(opts: {
  domain: string;
  stateDir: string;
  base: Omit<TxtInput, "target">;
  log: Logger;
}): Promise<ZoneWriteResult | undefined> {
  let domain: string;
  try {
    domain = normalizeDomain(opts.domain);
  } catch (err) {
    opts.log.warn((err as Error).message);
    return undefined;
  }
  const addrs = tailnetAddresses();
  if (addrs.ipv4.length === 0) {
    opts.log.warn("discovery.wideArea.domain is set, but no Tailscale IPv4 address was found; skipping unicast DNS-SD zone update");
    return undefined;
  }
  try {
    const { txt } = buildTxt({ ...opts.base, target: "wide-area" });
    const result = await writeZone(opts.stateDir, {
      domain,
      hostLabel: zoneHostLabel(),
      ipv4: addrs.ipv4,
      ipv6: addrs.ipv6,
      port: opts.base.gatewayPort,
      txt,
    });
    opts.log.info(`wide-area DNS-SD ${result.changed ? "updated" : "unchanged"} (${domain} → ${result.path})`);
    return result;
  } catch (err) {
    opts.log.warn(`wide-area DNS-SD zone not written: ${(err as Error).message}`);
    return undefined;
  }
}

// --- browsing by unicast DNS ----------------------------------------------------------------

export interface WideAreaBrowseOptions {
  domain: string;
  timeoutMs: number;
  /** DNS servers (`ip` or `ip:port`); default: the system resolver's. */
  servers?: string[];
  maxInstances?: number;
}

const NO_RECORDS = new Set(["ENOTFOUND", "ENODATA", "NOTFOUND", "NODATA", "ENONAME"]);

export async function browseWideArea(opts: WideAreaBrowseOptions): Promise<{ beacons: GatewayBeacon[]; warnings: string[] }> {
  const warnings: string[] = [];
  const domain = normalizeDomain(opts.domain);
  const bare = domain.replace(/\.$/, "");
  const resolver = new Resolver({ timeout: Math.max(100, Math.min(opts.timeoutMs, 5_000)), tries: 1 });
  if (opts.servers?.length) resolver.setServers(opts.servers);
  const settle = async <T>(p: Promise<T>, fallback: T): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (!NO_RECORDS.has(code)) warnings.push(`${bare}: ${code || (err as Error).message}`);
      return fallback;
    }
  };
  const work = (async () => {
    const ptrs = (await settle(resolver.resolvePtr(`${SERVICE_TYPE}.${bare}`), [] as string[])).slice(0, opts.maxInstances ?? 64);
    const beacons = await Promise.all(
      ptrs.map(async (ptr) => {
        const name = ptr.replace(/\.$/, "");
        const [srvs, txts] = await Promise.all([settle(resolver.resolveSrv(name), []), settle(resolver.resolveTxt(name), [] as string[][])]);
        const srv = srvs[0];
        if (!srv) return undefined;
        const [v4, v6] = await Promise.all([settle(resolver.resolve4(srv.name), [] as string[]), settle(resolver.resolve6(srv.name), [] as string[])]);
        const suffix = `.${SERVICE_TYPE}.${bare}`.toLowerCase();
        const instanceName = name.toLowerCase().endsWith(suffix) ? name.slice(0, -suffix.length) : name;
        return makeBeacon({
          instanceName,
          domain,
          host: srv.name,
          port: srv.port,
          addresses: [...v4, ...v6],
          txt: parseTxt(txts.flat()),
        });
      }),
    );
    return beacons.filter((b): b is GatewayBeacon => b !== undefined);
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), opts.timeoutMs + 250)));
  try {
    const result = await Promise.race([work, timeout]);
    if (result === "timeout") {
      warnings.push(`${bare}: no answer within ${opts.timeoutMs} ms`);
      return { beacons: [], warnings };
    }
    return { beacons: result, warnings };
  } finally {
    clearTimeout(timer);
    try {
      resolver.cancel();
    } catch {}
  }
}

