/**
 * A discovered gateway, as `openclaw gateway discover` reports it. Routing comes from the
 * resolved SRV record (host, port) and its A/AAAA addresses; TXT values are copied as hints
 * only (RFC 6763 TXT is unauthenticated) and never replace the SRV endpoint.
 */
import { parsePort } from "./identity.ts";

export interface GatewayBeacon {
  instanceName: string;
  displayName: string;
  /** `local.` or the wide-area domain, with the trailing dot. */
  domain: string;
  /** SRV target, without the trailing dot. */
  host: string;
  /** SRV port. */
  port: number;
  /** A and AAAA records of the SRV target. */
  addresses: string[];
  lanHost?: string;
  tailnetDns?: string;
  cliPath?: string;
  role?: string;
  transport?: string;
  gatewayPort?: number;
  sshPort?: number;
  canvasPort?: number;
  gatewayTls?: boolean;
  gatewayTlsFingerprintSha256?: string;
  txt: Record<string, string>;
  /** `ws://<SRV host>:<SRV port>` (`wss` when the TXT says TLS). */
  wsUrl: string;
}

function txtGet(txt: Record<string, string>, key: string): string | undefined {
  const k = Object.keys(txt).find((x) => x.toLowerCase() === key.toLowerCase());
  const v = k === undefined ? undefined : txt[k];
  return v === undefined || v === "" ? undefined : v;
}

export function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export function makeBeacon(input: {
  instanceName: string;
  domain: string;
  host: string;
  port: number;
  addresses: string[];
  txt: Record<string, string>;
}): GatewayBeacon {
  const { txt } = input;
  const tlsRaw = txtGet(txt, "gatewayTls");
  const gatewayTls = tlsRaw === undefined ? undefined : ["1", "true", "yes"].includes(tlsRaw.toLowerCase());
  const host = input.host.replace(/\.$/, "");
  const beacon: GatewayBeacon = {
    instanceName: input.instanceName,
    displayName: txtGet(txt, "displayName") ?? input.instanceName,
    domain: input.domain.endsWith(".") ? input.domain : `${input.domain}.`,
    host,
    port: input.port,
    addresses: [...new Set(input.addresses)],
    lanHost: txtGet(txt, "lanHost"),
    tailnetDns: txtGet(txt, "tailnetDns"),
    cliPath: txtGet(txt, "cliPath"),
    role: txtGet(txt, "role"),
    transport: txtGet(txt, "transport"),
    gatewayPort: parsePort(txtGet(txt, "gatewayPort")),
    sshPort: parsePort(txtGet(txt, "sshPort")),
    canvasPort: parsePort(txtGet(txt, "canvasPort")),
    gatewayTls,
    gatewayTlsFingerprintSha256: txtGet(txt, "gatewayTlsSha256"),
    txt,
    wsUrl: `${gatewayTls ? "wss" : "ws"}://${hostForUrl(host)}:${input.port}`,
  };
  for (const key of Object.keys(beacon) as Array<keyof GatewayBeacon>) if (beacon[key] === undefined) delete beacon[key];
  return beacon;
}

/** Dedupe on domain|instance|display|host|port|gatewayPort, then sort by display name. */
export function dedupeAndSort(beacons: GatewayBeacon[]): GatewayBeacon[] {
  const seen = new Map<string, GatewayBeacon>();
  for (const b of beacons) {
    const key = [b.domain, b.instanceName, b.displayName, b.host, b.port, b.gatewayPort ?? ""].join("|").toLowerCase();
    const prev = seen.get(key);
    if (prev) prev.addresses = [...new Set([...prev.addresses, ...b.addresses])];
    else seen.set(key, b);
  }
  return [...seen.values()].sort(
    (a, b) => a.displayName.localeCompare(b.displayName) || a.domain.localeCompare(b.domain) || a.instanceName.localeCompare(b.instanceName),
  );
}
