/**
 * `openclaw dns setup [--domain d] [--ip a,b] [--json]`: write the wide-area DNS-SD records
 * (PTR, SRV, TXT plus SOA/NS/A/AAAA) for this gateway as a zone file an operator loads into a
 * DNS server, and print how to point clients at it.
 */
import { defineCommand } from "citty";
import { resolvePaths, type Env } from "../config/paths.ts";
import { loadSnapshot, type ConfigSnapshot } from "../config/snapshot.ts";
import { beaconIdentity, txtInputs } from "../discovery/index.ts";
import { buildTxt, SERVICE_TYPE } from "../discovery/identity.ts";
import { isTailnetIPv4, isTailnetIPv6 } from "../discovery/interfaces.ts";
import { tailnetAddresses } from "../discovery/tailscale.ts";
import {
  instanceLabel,
  isIPv4,
  isIPv6,
  normalizeDomain,
  WideAreaError,
  writeZone,
  zoneHostLabel,
  type ZoneWriteResult,
} from "../discovery/wide-area.ts";
import { globals } from "./globals.ts";

export class DnsSetupError extends Error {
  override name = "DnsSetupError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const NO_DOMAIN = "No wide-area domain configured. Set discovery.wideArea.domain or pass --domain.";

export function parseIpList(raw: string): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const part of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (isIPv4(part)) ipv4.push(part);
    else if (isIPv6(part)) ipv6.push(part.toLowerCase());
    else throw new DnsSetupError(`Invalid --ip "${part}". Use IPv4 or IPv6 addresses, comma-separated.`);
  }
  if (ipv4.length + ipv6.length === 0) throw new DnsSetupError("--ip needs at least one address.");
  return { ipv4: [...new Set(ipv4)], ipv6: [...new Set(ipv6)] };
}

export interface DnsSetupResult extends ZoneWriteResult {
  domain: string;
  instance: string;
  host: string;
  port: number;
  ipv4: string[];
  ipv6: string[];
  txt: string[];
  tailnet: boolean;
}

export async function dnsSetup(opts: {
  loaded: ConfigSnapshot;
  env?: Env;
  domain?: string;
  ip?: string;
  /** Skip the `tailscale` CLI (tests). */
  tailnetDns?: string | null;
}): Promise<DnsSetupResult> {
  const env = opts.env ?? process.env;
  const { loaded } = opts;
  const wa = loaded.config.discovery?.wideArea;
  const rawDomain = opts.domain?.trim() || env.OPENCLAW_WIDE_AREA_DOMAIN?.trim() || wa?.domain;
  if (!rawDomain) throw new DnsSetupError(NO_DOMAIN);
  let domain: string;
  try {
    domain = normalizeDomain(rawDomain);
  } catch (err) {
    throw new DnsSetupError((err as WideAreaError).message);
  }
  const addrs = opts.ip !== undefined ? parseIpList(opts.ip) : tailnetAddresses();
  if (addrs.ipv4.length + addrs.ipv6.length === 0) {
    throw new DnsSetupError("No Tailscale address (100.64.0.0/10) found on this host. Pass --ip <address> to publish another address.");
  }
  const port = loaded.gateway.port;
  const identity = beaconIdentity(env);
  // A TLS gateway publishes its certificate's fingerprint (read, never generated here).
  const { localTls } = await import("../operator/target.ts");
  const tls = await localTls(loaded);
  const base = await txtInputs({ config: loaded.config, port, env, identity, tailnetDns: opts.tailnetDns, ...(tls.tls ? { tls: { sha256: tls.tlsFingerprint } } : {}) });
  const { txt } = buildTxt({ ...base, target: "wide-area" });
  const host = zoneHostLabel();
  const written = await writeZone(loaded.paths.stateDir, { domain, hostLabel: host, ipv4: addrs.ipv4, ipv6: addrs.ipv6, port, txt });
  const tailnet = [...addrs.ipv4].every(isTailnetIPv4) && addrs.ipv6.every(isTailnetIPv6) && addrs.ipv4.length > 0;
  return {
    ...written,
    domain,
    instance: `${instanceLabel(host)}.${SERVICE_TYPE}.${domain}`,
    host: `${host}.${domain}`,
    port,
    ipv4: addrs.ipv4,
    ipv6: addrs.ipv6,
    txt,
    tailnet,
  };
}

export function formatDnsSetup(r: DnsSetupResult): string {
  const bare = r.domain.replace(/\.$/, "");
  const addresses = [...r.ipv4, ...r.ipv6].join(", ");
  const config = { gateway: { bind: r.tailnet ? "tailnet" : "lan" }, discovery: { wideArea: { domain: r.domain } } };
  const lines = [
    "DNS setup",
    `  Domain      ${r.domain}`,
    `  Zone file   ${r.path} (${r.changed ? "written" : "unchanged"}, serial ${r.serial})`,
    `  ${r.tailnet ? "Tailnet IP" : "Address   "}  ${addresses}`,
    `  Records     PTR ${SERVICE_TYPE}.${r.domain} → ${r.instance}; SRV → ${r.host}:${r.port}; TXT ${r.txt.length} keys`,
    "",
    "Recommended config (openclaw.json):",
    `  ${JSON.stringify(config)}`,
  ];
  if (r.tailnet) {
    lines.push("", "Tailscale admin (DNS → Nameservers):", `- Add nameserver: ${r.ipv4[0]}`, `- Restrict to domain (Split DNS): ${r.domain}`);
  }
  lines.push(
    "",
    `Load the zone file into an authoritative DNS server for ${r.domain} (listening on ${addresses}), e.g.`,
    `  CoreDNS  ${bare} { file ${r.path} }`,
    `  NSD      zone: name: "${bare}" zonefile: "${r.path}"`,
    `  BIND     zone "${bare}" { type primary; file "${r.path}"; };`,
    `Clients then find this gateway with: openclaw gateway discover (with discovery.wideArea.domain set).`,
  );
  return lines.join("\n");
}

const setup = defineCommand({
  meta: { name: "setup", description: "Write the wide-area DNS-SD zone file for this gateway" },
  args: {
    domain: { type: "string", description: "Unicast DNS-SD domain (default: discovery.wideArea.domain)" },
    ip: { type: "string", description: "Addresses to publish, comma-separated (default: this host's Tailscale addresses)" },
    json: { type: "boolean", description: "Print JSON" },
    apply: { type: "boolean", description: "Install and configure a DNS server (not supported by this build)" },
  },
  async run({ args }) {
    try {
      if (args.apply) {
        throw new DnsSetupError("dns setup --apply is not supported by this build; load the zone file into your DNS server (run without --apply).");
      }
      const paths = resolvePaths({ profile: globals().profile });
      const loaded = await loadSnapshot({ paths });
      if (loaded.problem) throw new DnsSetupError(loaded.problem.error.message);
      const result = await dnsSetup({
        loaded,
        domain: typeof args.domain === "string" ? args.domain : undefined,
        ip: typeof args.ip === "string" ? args.ip : undefined,
      });
      if (args.json) {
        const { text: _text, ...rest } = result;
        console.log(JSON.stringify({ ...rest, zoneFile: rest.path }, null, 2));
      } else console.log(formatDnsSetup(result));
    } catch (err) {
      console.error((err as Error).message);
      process.exit(err instanceof DnsSetupError ? err.exitCode : 1);
    }
  },
});

export default defineCommand({
  meta: { name: "dns", description: "Wide-area DNS-SD helpers" },
  subCommands: { setup },
});
