/**
 * Network interfaces that can carry mDNS: up, multicast-capable, not loopback, with an IPv4
 * address (the beacon speaks mDNS over IPv4 and publishes both A and AAAA records).
 *
 * On Linux the interface flags come from `/sys/class/net/<name>/flags` (IFF_UP, IFF_LOOPBACK,
 * IFF_MULTICAST); elsewhere `os.networkInterfaces()`'s `internal` is all we know.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { parseV4 } from "../auth/net.ts";

export interface MdnsInterface {
  name: string;
  ipv4: string;
  netmask: string;
  /** IPv6 addresses of the same interface, scope id removed. */
  ipv6: string[];
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;

export interface InterfaceSource {
  networkInterfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Kernel flags of an interface, or undefined when unknown (non-Linux). */
  flags(name: string): number | undefined;
}

function sysfsFlags(name: string): number | undefined {
  if (process.platform !== "linux" || !/^[\w.@:-]{1,64}$/.test(name)) return undefined;
  try {
    const n = Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, "utf8").trim(), 16);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export const systemInterfaces: InterfaceSource = {
  networkInterfaces: () => {
    try {
      return networkInterfaces();
    } catch {
      // Some sandboxes forbid netlink; treat as "no interfaces" rather than failing.
      return {};
    }
  },
  flags: sysfsFlags,
};

export function stripScope(address: string): string {
  const i = address.indexOf("%");
  return i >= 0 ? address.slice(0, i) : address;
}

/** The interfaces mDNS can use, sorted by name (stable change detection). */
export function listMulticastInterfaces(source: InterfaceSource = systemInterfaces): MdnsInterface[] {
  const out: MdnsInterface[] = [];
  const all = source.networkInterfaces();
  for (const name of Object.keys(all).sort()) {
    const addrs = all[name] ?? [];
    const flags = source.flags(name);
    if (flags !== undefined) {
      if (!(flags & IFF_UP) || flags & IFF_LOOPBACK || !(flags & IFF_MULTICAST)) continue;
    }
    const v4 = addrs.find((a) => a.family === "IPv4" && !a.internal);
    if (!v4) continue;
    const ipv6 = addrs.filter((a) => a.family === "IPv6" && !a.internal).map((a) => stripScope(a.address));
    out.push({ name, ipv4: v4.address, netmask: v4.netmask, ipv6: [...new Set(ipv6)] });
  }
  return out;
}

/** A string that changes whenever an interface or one of its addresses does. */
export function interfaceSignature(ifaces: MdnsInterface[]): string {
  return ifaces.map((i) => `${i.name}=${i.ipv4}/${i.netmask}+${i.ipv6.join(",")}`).join(";");
}

export { parseV4 as ipv4ToInt };

/** True when `address` (IPv4) lies in `iface`'s subnet. */
export function inSubnet(address: string, iface: Pick<MdnsInterface, "ipv4" | "netmask">): boolean {
  const a = parseV4(address);
  const b = parseV4(iface.ipv4);
  const m = parseV4(iface.netmask);
  if (a === undefined || b === undefined || m === undefined) return false;
  return ((a & m) >>> 0) === ((b & m) >>> 0);
}

/** Tailscale's CGNAT range 100.64.0.0/10. */
export function isTailnetIPv4(address: string): boolean {
  const n = parseV4(address);
  return n !== undefined && n >>> 22 === (100 * 256 + 64) >>> 6;
}

/** Tailscale's IPv6 range fd7a:115c:a1e0::/48. */
export function isTailnetIPv6(address: string): boolean {
  return /^fd7a:115c:a1e0:/i.test(stripScope(address));
}

/** Expand an IPv6 address to 8 four-digit groups (for comparison); undefined when invalid. */
export function expandIPv6(address: string): string | undefined {
  let a = stripScope(address).toLowerCase();
  if (a.includes(".")) {
    // ::ffff:1.2.3.4 style: convert the IPv4 tail to two groups.
    const idx = a.lastIndexOf(":");
    const v4 = parseV4(a.slice(idx + 1));
    if (v4 === undefined) return undefined;
    a = `${a.slice(0, idx + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.padStart(4, "0")).join(":");
}
