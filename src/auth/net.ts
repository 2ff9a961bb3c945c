/**
 * Client addresses: normalisation, loopback/private checks, CIDR lists, and "direct-local"
 * (a loopback peer that shows no sign of having been forwarded by a proxy).
 */

/** Strip brackets, zone ids and the IPv4-mapped IPv6 prefix. */
export function normalizeIp(ip: string): string {
  let v = ip.trim().replace(/^\[|\]$/g, "");
  const zone = v.indexOf("%");
  if (zone >= 0) v = v.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v);
  return (mapped ? mapped[1] : v).toLowerCase();
}

export function isLoopbackIp(ip: string): boolean {
  const v = normalizeIp(ip);
  return v === "::1" || v.startsWith("127.");
}

/** A dotted-quad IPv4 address as an unsigned 32-bit number; undefined when it is not one. */
export function parseV4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const o = Number(p);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

function parseV6(ip: string): bigint | undefined {
  if (!ip.includes(":")) return undefined;
  let head = ip;
  let tailV4: number | undefined;
  const lastColon = ip.lastIndexOf(":");
  if (ip.slice(lastColon + 1).includes(".")) {
    tailV4 = parseV4(ip.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${ip.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...left, ...Array(halves.length === 2 ? fill : 0).fill("0"), ...right];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tailV4 !== undefined) n = (n & ~0xffffffffn) | BigInt(tailV4);
  return n;
}

/** True when `ip` equals an entry or falls inside a CIDR entry of `list`. */
export function ipInList(ip: string, list: readonly string[]): boolean {
  const v = normalizeIp(ip);
  const v4 = parseV4(v);
  const v6 = v4 === undefined ? parseV6(v) : undefined;
  for (const raw of list) {
    const [base, bitsText] = raw.trim().split("/");
    const b = normalizeIp(base);
    if (bitsText === undefined) {
      if (b === v) return true;
      continue;
    }
    const bits = Number(bitsText);
    const b4 = parseV4(b);
    if (v4 !== undefined && b4 !== undefined && bits >= 0 && bits <= 32) {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if (((v4 & mask) >>> 0) === ((b4 & mask) >>> 0)) return true;
      continue;
    }
    const b6 = parseV6(b);
    if (v6 !== undefined && b6 !== undefined && bits >= 0 && bits <= 128) {
      const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
      if ((v6 & mask) === (b6 & mask)) return true;
    }
  }
  return false;
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"];

export function isPrivateIp(ip: string): boolean {
  return isLoopbackIp(ip) || ipInList(ip, PRIVATE_RANGES);
}

const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"];

/** Any proxy or Tailscale identity evidence on the request. */
export function hasForwardingHeaders(headers: Headers): boolean {
  for (const name of FORWARDING_HEADERS) if (headers.has(name)) return true;
  for (const [name] of headers) {
    if (name.startsWith("x-forwarded-") || name.startsWith("tailscale-")) return true;
  }
  return false;
}

export function isDirectLocal(ip: string, headers: Headers): boolean {
  return isLoopbackIp(ip) && !hasForwardingHeaders(headers);
}
