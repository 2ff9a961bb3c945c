/**
 * When may the gateway advertise itself with Bonjour?
 *
 *   OPENCLAW_DISABLE_BONJOUR=1 (true/yes/on)   off
 *   OPENCLAW_DISABLE_BONJOUR=0 (false/no/off)  on, even inside a container
 *   unset (or empty)                           on, except inside a detected container, where
 *                                              multicast rarely reaches the LAN and mDNS
 *                                              libraries used to crash-loop the gateway
 *
 * plus `discovery.mdns.mode` (`off` disables) and `plugins.entries.bonjour.enabled: false`.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Env } from "../config/paths.ts";

export interface ContainerProbe {
  env: Env;
  exists(path: string): boolean;
  readFile(path: string): string | undefined;
}

export const systemProbe = (env: Env = process.env): ContainerProbe => ({
  env,
  exists: (p) => {
    try {
      return existsSync(p);
    } catch {
      return false;
    }
  },
  readFile: (p) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  },
});

const MARKER_FILES = ["/.dockerenv", "/run/.containerenv", "/var/run/.containerenv"];
const CGROUP_RE = /docker|containerd|kubepods|libpod|lxc/;

/** The reason the process looks containerised, or undefined on a normal host. */
export function detectContainer(probe: ContainerProbe = systemProbe()): string | undefined {
  if (probe.env.FLY_MACHINE_ID && probe.env.FLY_APP_NAME) return "Fly.io machine";
  for (const f of MARKER_FILES) if (probe.exists(f)) return f;
  const cgroup = probe.readFile("/proc/1/cgroup");
  if (cgroup && CGROUP_RE.test(cgroup)) return "/proc/1/cgroup";
  return undefined;
}

const TRUTHY = new Set(["1", "true", "yes", "on"]);
const FALSY = new Set(["0", "false", "no", "off"]);

export type MdnsMode = "off" | "minimal" | "full";

export interface BonjourDecision {
  enabled: boolean;
  /** Human reason, for the log line. */
  reason: string;
  /** A problem worth a warning (an unrecognised env value). */
  warning?: string;
}

export function decideBonjour(opts: {
  env: Env;
  mode: MdnsMode;
  pluginEnabled?: boolean;
  container: () => string | undefined;
}): BonjourDecision {
  if (opts.mode === "off") return { enabled: false, reason: "discovery.mdns.mode=off" };
  if (opts.pluginEnabled === false) return { enabled: false, reason: "plugins.entries.bonjour.enabled=false" };
  const raw = opts.env.OPENCLAW_DISABLE_BONJOUR?.trim().toLowerCase();
  let warning: string | undefined;
  if (raw) {
    if (TRUTHY.has(raw)) return { enabled: false, reason: "OPENCLAW_DISABLE_BONJOUR=1" };
    if (FALSY.has(raw)) return { enabled: true, reason: "OPENCLAW_DISABLE_BONJOUR=0" };
    warning = `ignoring OPENCLAW_DISABLE_BONJOUR=${JSON.stringify(opts.env.OPENCLAW_DISABLE_BONJOUR)} (use 1 to disable, 0 to force on)`;
  }
  const container = opts.container();
  if (container) {
    return {
      enabled: false,
      reason: `container detected (${container}); set OPENCLAW_DISABLE_BONJOUR=0 on host or macvlan networking to advertise`,
      warning,
    };
  }
  return { enabled: true, reason: "default", warning };
}
