/**
 * `openclaw gateway discover [--timeout ms] [--json]`: browse `local.` (mDNS) and the configured
 * wide-area domain (unicast DNS) for gateway beacons and report each by its resolved SRV
 * endpoint and A/AAAA addresses. TXT values are shown as hints only.
 */
import { userInfo } from "node:os";
import { defineCommand } from "citty";
import { resolvePaths, type Env } from "../config/paths.ts";
import { loadSnapshot } from "../config/snapshot.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import { dedupeAndSort, hostForUrl, type GatewayBeacon } from "../discovery/beacons.ts";
import { dnsDomain } from "../discovery/identity.ts";
import { timeoutFlag } from "./command.ts";
import { globals } from "./globals.ts";

export const DEFAULT_TIMEOUT_MS = 2_000;
const MAX_TIMEOUT_MS = 120_000;

export function parseTimeout(raw: unknown): number {
  return timeoutFlag(raw === true ? undefined : raw, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS);
}

export interface DiscoverResult {
  timeoutMs: number;
  domains: string[];
  count: number;
  beacons: GatewayBeacon[];
}

/** The wide-area domain to browse: env, then config; invalid → a warning, not an error. */
export function wideAreaDomain(config: OpenClawConfig | undefined, env: Env, warnings: string[]): string | undefined {
  const wa = config?.discovery?.wideArea;
  const raw = env.OPENCLAW_WIDE_AREA_DOMAIN?.trim() || (wa?.enabled === false ? undefined : wa?.domain);
  if (!raw) return undefined;
  const domain = dnsDomain(raw);
  if (!domain) warnings.push(`wide-area discovery domain must be a valid DNS name (got ${JSON.stringify(raw)}); browsing local. only`);
  return domain;
}

export async function discoverGateways(opts: {
  timeoutMs: number;
  config?: OpenClawConfig;
  env?: Env;
}): Promise<DiscoverResult & { warnings: string[] }> {
  const env = opts.env ?? process.env;
  const warnings: string[] = [];
  const domain = wideAreaDomain(opts.config, env, warnings);
  const domains = ["local.", ...(domain ? [domain] : [])];
  const [{ browseLocal }, wide] = await Promise.all([
    import("../discovery/browse.ts"),
    domain ? import("../discovery/wide-area.ts") : Promise.resolve(undefined),
  ]);
  const [local, remote] = await Promise.all([
    browseLocal({ timeoutMs: opts.timeoutMs }).catch((err: Error) => ({ beacons: [], warnings: [`local.: ${err.message}`] })),
    wide && domain
      ? wide.browseWideArea({ domain, timeoutMs: opts.timeoutMs }).catch((err: Error) => ({ beacons: [], warnings: [`${domain}: ${err.message}`] }))
      : Promise.resolve({ beacons: [] as GatewayBeacon[], warnings: [] as string[] }),
  ]);
  warnings.push(...local.warnings, ...remote.warnings);
  const beacons = dedupeAndSort([...local.beacons, ...remote.beacons]);
  return { timeoutMs: opts.timeoutMs, domains, count: beacons.length, beacons, warnings };
}

/** TXT-derived text is untrusted: never let it put control or bidi characters on a terminal. */
export function safeText(value: unknown): string {
  return String(value).replace(/[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

export function formatHuman(result: DiscoverResult, user: string = currentUser()): string {
  const lines = ["Gateway Discovery", `Found ${result.count} gateway(s) · domains: ${result.domains.join(", ")}`];
  for (const b of result.beacons) {
    lines.push(`- ${safeText(b.displayName)} ${safeText(b.domain)}`);
    const row = (label: string, value: unknown) => {
      if (value !== undefined && value !== "") lines.push(`  ${label}: ${safeText(value)}`);
    };
    row("tailnet", b.tailnetDns);
    row("lan", b.lanHost);
    row("host", b.host);
    row("addresses", b.addresses.length ? b.addresses.join(", ") : undefined);
    row("ws", b.wsUrl);
    row("role", b.role);
    row("transport", b.transport);
    if (b.gatewayTls) row("tls", b.gatewayTlsFingerprintSha256 ? `sha256 ${b.gatewayTlsFingerprintSha256}` : "enabled");
    if (b.sshPort) {
      row("ssh", `ssh -N -L 18789:127.0.0.1:${b.gatewayPort ?? b.port} ${user}@${hostForUrl(b.host)} -p ${b.sshPort}`);
    }
  }
  return lines.join("\n");
}

function currentUser(): string {
  const fromEnv = process.env.USER || process.env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    const name = userInfo().username;
    // Bun reports "unknown" when it cannot read the passwd entry.
    return name && name !== "unknown" ? name : "user";
  } catch {
    return "user";
  }
}

async function loadConfigForDiscover(warnings: string[]): Promise<OpenClawConfig | undefined> {
  try {
    const snapshot = await loadSnapshot({ paths: resolvePaths({ profile: globals().profile }) });
    if (!snapshot.problem) return snapshot.config;
    warnings.push(`config not used (${snapshot.problem.error.message.split("\n").join(" ")}); browsing local. only`);
  } catch (err) {
    warnings.push(`config not used (${(err as Error).message}); browsing local. only`);
  }
  return undefined;
}

export default defineCommand({
  meta: { name: "discover", description: "Find gateways on the LAN (Bonjour) and the configured wide-area DNS-SD domain" },
  args: {
    timeout: { type: "string", description: `Browse time in ms per domain (default ${DEFAULT_TIMEOUT_MS})` },
    json: { type: "boolean", description: "Print JSON: {timeoutMs, domains, count, beacons}" },
  },
  async run({ args }) {
    let timeoutMs: number;
    try {
      timeoutMs = parseTimeout(args.timeout);
    } catch (err) {
      console.error((err as Error).message);
      process.exit(1);
    }
    const early: string[] = [];
    const config = await loadConfigForDiscover(early);
    const result = await discoverGateways({ timeoutMs, config });
    for (const w of [...early, ...result.warnings]) console.error(`warning: ${w}`);
    const { warnings: _w, ...out } = result;
    console.log(args.json ? JSON.stringify(out, null, 2) : formatHuman(out));
  },
});
