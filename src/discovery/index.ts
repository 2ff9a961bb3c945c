/**
 * Discovery for a running gateway: the Bonjour beacon on the LAN and, when a wide-area domain
 * is configured, the unicast DNS-SD zone file. Started after the gateway listens; it never
 * delays startup and never throws: every failure is logged and the gateway carries on.
 *
 * The beacon module (and `multicast-dns`) is imported only when the beacon actually starts.
 */
import { hostname } from "node:os";
import type { Env, ResolvedPaths } from "../config/paths.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { decideBonjour, detectContainer, systemProbe, type MdnsMode } from "./container.ts";
import {
  buildTxt,
  formatInstanceName,
  hostLabelFrom,
  machineDisplayName,
  mdnsHostnameFromEnv,
  resolveCliPath,
  sshPortFromEnv,
  type TxtInput,
} from "./identity.ts";

export const DEFAULT_START_DELAY_MS = 200;

export interface DiscoveryOptions {
  config: OpenClawConfig;
  paths: ResolvedPaths;
  /** The port the gateway listens on (the SRV port). */
  port: number;
  log: Logger;
  env?: Env;
  /** Set when the gateway serves TLS itself: TXT `gatewayTls=1` and `gatewayTlsSha256`. */
  tls?: { sha256?: string };
  /**
   * Wait before anything is loaded or spawned (default 200 ms): discovery stays off the path of
   * the first requests, and RFC 6762 wants a random 0–250 ms wait before probing anyway.
   */
  startDelayMs?: number;
  /** Test hooks passed through to the beacon. */
  beacon?: Partial<import("./beacon.ts").BeaconOptions>;
}

export interface DiscoveryHandle {
  /** Resolves once the beacon object exists (or discovery decided not to run). */
  ready: Promise<void>;
  beacon(): import("./beacon.ts").Beacon | undefined;
  /** Goodbye + close; bounded, never rejects. */
  stop(): Promise<void>;
}

export function mdnsModeOf(config: OpenClawConfig): MdnsMode {
  return config.discovery?.mdns?.mode ?? "minimal";
}

/** `plugins.entries.bonjour.enabled`, when the config sets it. */
function bonjourPluginFlag(config: OpenClawConfig): boolean | undefined {
  const plugins = config.plugins as { entries?: { bonjour?: { enabled?: unknown } } } | undefined;
  const v = plugins?.entries?.bonjour?.enabled;
  return typeof v === "boolean" ? v : undefined;
}

/** The canvas host is served on the gateway port unless the config turns it off. */
export function canvasPortOf(config: OpenClawConfig, port: number): number | undefined {
  const canvas = config.canvasHost as { enabled?: unknown } | undefined;
  return canvas?.enabled === false ? undefined : port;
}

export interface BeaconIdentity {
  instanceName: string;
  hostLabel: string;
}

export function beaconIdentity(env: Env, host: string = hostname()): BeaconIdentity {
  return { instanceName: formatInstanceName(machineDisplayName(host)), hostLabel: hostLabelFrom(env, host) };
}

/** Everything about the TXT record except the target (mDNS or wide-area). */
export async function txtInputs(opts: {
  config: OpenClawConfig;
  port: number;
  env: Env;
  identity: BeaconIdentity;
  tls?: { sha256?: string };
  log?: Logger;
  tailnetDns?: string | null;
}): Promise<Omit<TxtInput, "target">> {
  const mode = mdnsModeOf(opts.config);
  const ssh = sshPortFromEnv(opts.env);
  if (ssh.warning) opts.log?.warn(ssh.warning);
  let tailnetDns = opts.tailnetDns ?? undefined;
  if (opts.tailnetDns === undefined) {
    const { resolveTailnetDns } = await import("./tailscale.ts");
    tailnetDns = await resolveTailnetDns({ env: opts.env }).catch(() => undefined);
  }
  return {
    mode: mode === "off" ? "minimal" : mode,
    instanceName: opts.identity.instanceName,
    hostLabel: opts.identity.hostLabel,
    gatewayPort: opts.port,
    tls: opts.tls,
    canvasPort: canvasPortOf(opts.config, opts.port),
    tailnetDns,
    sshPort: ssh.port,
    cliPath: mode === "full" ? resolveCliPath(opts.env) : undefined,
  };
}

/** `OPENCLAW_MDNS_INTERFACE_CHECK_MS` (1000–600000): how often interfaces are re-checked. */
export function timingFromEnv(env: Env): { timing?: Partial<import("./beacon.ts").BeaconTiming>; warning?: string } {
  const raw = env.OPENCLAW_MDNS_INTERFACE_CHECK_MS?.trim();
  if (!raw) return {};
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (n >= 1_000 && n <= 600_000) return { timing: { checkIntervalMs: n } };
  return { warning: `ignoring OPENCLAW_MDNS_INTERFACE_CHECK_MS=${JSON.stringify(raw)} (use 1000 to 600000 ms)` };
}

export function startDiscovery(opts: DiscoveryOptions): DiscoveryHandle {
  const env = opts.env ?? process.env;
  const log = opts.log.child("bonjour");
  let beacon: import("./beacon.ts").Beacon | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const decision = decideBonjour({
    env,
    mode: mdnsModeOf(opts.config),
    pluginEnabled: bonjourPluginFlag(opts.config),
    container: () => detectContainer(systemProbe(env)),
  });
  if (decision.warning) log.warn(decision.warning);
  if (env.OPENCLAW_MDNS_HOSTNAME?.trim() && !mdnsHostnameFromEnv(env)) {
    log.warn(`ignoring OPENCLAW_MDNS_HOSTNAME=${JSON.stringify(env.OPENCLAW_MDNS_HOSTNAME)} (not a single DNS label)`);
  }

  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const run = async () => {
    try {
      const wideArea = opts.config.discovery?.wideArea;
      const domain = env.OPENCLAW_WIDE_AREA_DOMAIN?.trim() || wideArea?.domain;
      const zone = Boolean(domain) && wideArea?.enabled !== false;
      if (!decision.enabled && !zone) return;
      const identity = beaconIdentity(env);
      const base = await txtInputs({ config: opts.config, port: opts.port, env, identity, tls: opts.tls, log });
      if (stopped) return;
      if (zone && domain) {
        const { updateGatewayZone } = await import("./wide-area.ts");
        await updateGatewayZone({ domain, stateDir: opts.paths.stateDir, base, log: opts.log.child("discovery") });
      }
      if (!decision.enabled || stopped) return;
      const { txt, dropped } = buildTxt({ ...base, target: "mdns" });
      if (dropped.length) log.warn(`TXT keys left out (longer than 255 bytes): ${dropped.join(", ")}`);
      const { Beacon } = await import("./beacon.ts");
      if (stopped) return;
      const tuned = timingFromEnv(env);
      if (tuned.warning) log.warn(tuned.warning);
      beacon = new Beacon({ ...identity, port: opts.port, txt, log, timing: tuned.timing, ...opts.beacon });
      beacon.start();
    } catch (err) {
      log.warn(`discovery not started: ${(err as Error).message}`);
    } finally {
      markReady();
    }
  };
  if (!decision.enabled) log.info(`mDNS advertising disabled (${decision.reason})`);
  timer = setTimeout(() => void run(), opts.startDelayMs ?? DEFAULT_START_DELAY_MS);

  return {
    ready,
    beacon: () => beacon,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      markReady();
      try {
        await beacon?.stop();
      } catch {}
    },
  };
}
