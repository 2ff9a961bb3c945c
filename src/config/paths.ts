/**
 * Profiles, state directory, config path and the default port.
 *
 * Resolution (see README "Configuration"):
 *   home       OPENCLAW_HOME > HOME > USERPROFILE > os.homedir()
 *   state dir  OPENCLAW_STATE_DIR > ~/.openclaw-<profile> > ~/.openclaw
 *   config     OPENCLAW_CONFIG_PATH > <stateDir>/openclaw.json
 *   port       dev profile 19001; named profile 20000 + fnv1a32(name) % 40000; else 18789
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

export const DEFAULT_PORT = 18789;
export const DEV_PORT = 19001;
const PROFILE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

export type Env = Record<string, string | undefined>;

export interface ResolvedPaths {
  home: string;
  /** `undefined` for the default profile. */
  profile: string | undefined;
  stateDir: string;
  configPath: string;
  /** True when OPENCLAW_CONFIG_PATH chose the file. */
  configPathFromEnv: boolean;
  defaultPort: number;
}

export class ProfileError extends Error {
  override name = "ProfileError";
}

/** Validate a `--profile` value; `default` (or empty) means no profile. */
export function normalizeProfile(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === "") throw new ProfileError("--profile requires a value");
  if (!PROFILE_RE.test(value)) throw new ProfileError('Invalid --profile (use letters, numbers, "_", "-" only)');
  const lower = value.toLowerCase();
  return lower === "default" ? undefined : lower;
}

/** `--dev` is shorthand for `--profile dev`; combining it with another profile is an error. */
export function profileFromFlags(flags: { dev?: boolean; profile?: string }): string | undefined {
  const named = flags.profile === undefined ? undefined : normalizeProfile(flags.profile);
  if (flags.dev) {
    if (named !== undefined && named !== "dev") throw new ProfileError("Cannot combine --dev with --profile");
    return "dev";
  }
  return named;
}

export function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/") || p.startsWith("~\\")) return join(home, p.slice(2));
  return p;
}

export function resolveHome(env: Env): string {
  const explicit = env.OPENCLAW_HOME?.trim();
  if (explicit) return resolve(expandHome(explicit, env.HOME || homedir()));
  return env.HOME || env.USERPROFILE || homedir();
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 2166136261;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash >>> 0;
}

export function profileDefaultPort(profile: string | undefined): number {
  if (profile === undefined) return DEFAULT_PORT;
  if (profile === "dev") return DEV_PORT;
  return 20000 + (fnv1a32(profile) % 40000);
}

export function resolvePaths(opts: { profile?: string; env?: Env } = {}): ResolvedPaths {
  const env = opts.env ?? process.env;
  // An env-only OPENCLAW_PROFILE names services and picks the default port, but does not
  // move the state dir (installed services always carry explicit paths).
  const profile = opts.profile ?? envProfile(env);
  const home = resolveHome(env);
  const stateFromEnv = env.OPENCLAW_STATE_DIR?.trim();
  let stateDir: string;
  if (stateFromEnv) {
    stateDir = resolve(expandHome(stateFromEnv, home));
  } else if (opts.profile) {
    stateDir = join(home, `.openclaw-${profile}`);
  } else {
    stateDir = join(home, ".openclaw");
    const legacy = join(home, ".clawdbot");
    if (!existsSync(stateDir) && existsSync(legacy)) stateDir = legacy;
  }
  const configFromEnv = env.OPENCLAW_CONFIG_PATH?.trim();
  const configPath = configFromEnv
    ? resolve(isAbsolute(configFromEnv) ? configFromEnv : expandHome(configFromEnv, home))
    : join(stateDir, "openclaw.json");
  return {
    home,
    profile,
    stateDir,
    configPath,
    configPathFromEnv: Boolean(configFromEnv),
    defaultPort: profileDefaultPort(profile),
  };
}

function envProfile(env: Env): string | undefined {
  try {
    return env.OPENCLAW_PROFILE ? normalizeProfile(env.OPENCLAW_PROFILE) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `OPENCLAW_GATEWAY_PORT` accepts `N`, `host:N` and `[v6]:N`; anything else is ignored
 * (returns undefined), as upstream does.
 */
export function parseEnvPort(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === "") return undefined;
  const match = /^(?:\[[^\]]+\]:|[^:[\]]+:)?(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[1]);
  return port >= 1 && port <= 65535 ? port : undefined;
}
