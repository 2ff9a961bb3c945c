/**
 * Everything service code needs from the machine, in one injectable object: platform, account,
 * environment, where service definitions live, how to run commands and how to check that the
 * gateway answers. `defaultServiceHost()` is the real machine; tests build their own with temp
 * directories and a fake service manager.
 */
import { existsSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import path from "node:path";
import type { Env } from "../config/paths.ts";
import { tcpOpen } from "../system/ports.ts";
import { systemRunner, type CommandRunner } from "./exec.ts";
import { serviceProgram } from "./spec.ts";

export interface ServiceDirs {
  /** `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`). */
  systemdUser: string;
  /** Where `install --system` writes: `/etc/systemd/system`. */
  systemdSystem: string;
  /** Where system units are looked for (first match wins). */
  systemdSystemSearch: string[];
  /** Owner-only env files of system units: `/etc/openclaw`. */
  systemEnvDir: string;
  /** Base of system units' state directories (`StateDirectory=`): `/var/lib`. */
  systemStateRoot: string;
  launchAgents: string;
  launchAgentsGlobal: string;
  launchDaemons: string;
  /** `~/Library/Logs/openclaw` */
  macLogs: string;
  /** Per-user Startup folder (Windows). */
  startupFolder: string;
}

export interface ServiceTiming {
  /** How long to wait for a started service to run and open its port. */
  readyMs: number;
  /** How long to wait for a stopped service to go away and free its port. */
  stopMs: number;
  pollMs: number;
}

export interface ServiceHost {
  platform: string;
  /** `node:path` flavour for this platform's paths. */
  path: typeof path.posix;
  env: Env;
  /** The OS account's home (HOME / USERPROFILE), not OPENCLAW_HOME. */
  home: string;
  uid: number;
  user: string;
  run: CommandRunner;
  /** Command prefix that runs this openclaw (absolute). */
  program: string[];
  /** systemd is PID 1 (`/run/systemd/system` exists). */
  systemdBooted: boolean;
  dirs: ServiceDirs;
  timing: ServiceTiming;
  /** Something accepts TCP connections on 127.0.0.1:port. */
  portOpen(port: number): Promise<boolean>;
  /** PID of the gateway holding a state dir's instance lock. */
  gatewayPid(stateDir: string): Promise<number | undefined>;
  sleep(ms: number): Promise<void>;
  /** Home directory of another account (for `sudo`: the invoking user's), from /etc/passwd. */
  accountHome(user: string): Promise<string | undefined>;
}


function defaultDirs(platform: string, env: Env, home: string): ServiceDirs {
  const p = platform === "win32" ? path.win32 : path.posix;
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const appData = env.APPDATA?.trim() || p.join(home, "AppData", "Roaming");
  return {
    systemdUser: p.join(xdg && p.isAbsolute(xdg) ? xdg : p.join(home, ".config"), "systemd", "user"),
    systemdSystem: "/etc/systemd/system",
    systemdSystemSearch: ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"],
    systemEnvDir: "/etc/openclaw",
    systemStateRoot: "/var/lib",
    launchAgents: p.join(home, "Library", "LaunchAgents"),
    launchAgentsGlobal: "/Library/LaunchAgents",
    launchDaemons: "/Library/LaunchDaemons",
    macLogs: p.join(home, "Library", "Logs", "openclaw"),
    startupFolder: p.join(appData, "Microsoft", "Windows", "Start Menu", "Programs", "Startup"),
  };
}

export function defaultServiceHost(env: Env = process.env): ServiceHost {
  const platform = process.platform;
  const home = env.HOME || env.USERPROFILE || homedir();
  let user = env.USER || env.USERNAME || "";
  try {
    user = userInfo().username || user;
  } catch {}
  return {
    platform,
    path: platform === "win32" ? path.win32 : path.posix,
    env,
    home,
    uid: typeof process.getuid === "function" ? process.getuid() : -1,
    user,
    run: systemRunner,
    program: serviceProgram(),
    systemdBooted: platform === "linux" && existsSync("/run/systemd/system"),
    dirs: defaultDirs(platform, env, home),
    timing: { readyMs: 20_000, stopMs: 15_000, pollMs: 250 },
    portOpen: (port) => tcpOpen(port),
    gatewayPid: async (stateDir) => {
      const { inspectLock } = await import("../system/lock.ts");
      const lock = await inspectLock(stateDir).catch(() => ({ held: false as const, info: undefined }));
      return lock.held ? lock.info?.pid : undefined;
    },
    sleep: (ms) => Bun.sleep(ms),
    accountHome: async (name) => {
      const { readFile } = await import("node:fs/promises");
      const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
      return passwdHome(passwd, name);
    },
  };
}

function passwdHome(passwd: string, name: string): string | undefined {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && f[0] === name) return f[5] || undefined;
  }
  return undefined;
}

/**
 * Wait (up to `readyMs`) until the manager reports the gateway running — `running()` is true, or
 * false to give up early — and then its port answers.
 */
export async function waitUntilUp(host: ServiceHost, port: number | undefined, running: () => Promise<boolean | undefined>): Promise<{ ok: boolean; portOpen: boolean }> {
  let portOpen = false;
  const done = await pollUntil(host, host.timing.readyMs, async () => {
    const up = await running();
    if (up !== true) return up;
    portOpen = port === undefined ? true : await host.portOpen(port);
    return portOpen ? true : undefined;
  });
  return { ok: done === true, portOpen };
}

/** Wait (up to `stopMs`) until the manager no longer reports the gateway (`present()` false) and its port is closed. */
export async function waitUntilDown(host: ServiceHost, port: number | undefined, present: () => Promise<boolean>): Promise<{ ok: boolean; portOpen: boolean }> {
  let portOpen = false;
  const done = await pollUntil(host, host.timing.stopMs, async () => {
    if (await present()) return undefined;
    portOpen = port === undefined ? false : await host.portOpen(port);
    return portOpen ? undefined : true;
  });
  return { ok: done === true, portOpen };
}

/** Poll `probe` until it returns a value (not undefined) or the deadline passes; bounded in count too. */
async function pollUntil<T>(host: ServiceHost, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / Math.max(1, host.timing.pollMs)) + 2;
  for (let i = 0; i < maxTries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) break;
    await host.sleep(host.timing.pollMs);
  }
  return undefined;
}
