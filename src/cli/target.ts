/**
 * Which gateway a CLI command talks to, and with which credentials:
 *
 *   1. `--url` (+ `--token`/`--password`; config and env credentials are never reused)
 *   2. `OPENCLAW_GATEWAY_URL` (+ `OPENCLAW_GATEWAY_TOKEN`/`_PASSWORD` only)
 *   3. `gateway.remote.url` when `gateway.mode` is `remote` (flags > env > gateway.remote.* > gateway.auth.*)
 *   4. the local gateway: ws://<loopback or bind host>:<port> (flags > env > gateway.auth.*)
 *
 * A URL override without credentials fails before opening a socket (`gateway_credentials_required`).
 */
import { ConfigError, loadConfig, type LoadedConfig } from "../config/load.ts";
import { parseEnvPort, resolvePaths, type Env, type ResolvedPaths } from "../config/paths.ts";
import { resolveSecret } from "../config/runtime.ts";
import type { BindMode, OpenClawConfig } from "../config/schema.ts";
import { globals } from "./globals.ts";

export type UrlSource = "cli --url" | "env OPENCLAW_GATEWAY_URL" | "config gateway.remote.url" | "local loopback";

export interface TargetFlags {
  url?: string;
  token?: string;
  password?: string;
  port?: string | number;
}

export interface GatewayTarget {
  url: string;
  urlSource: UrlSource;
  token?: string;
  password?: string;
  /** Implicit local gateway (not --url, env URL or remote config). */
  local: boolean;
  paths: ResolvedPaths;
  bindMode: BindMode;
  bindHost: string;
  port: number;
  /** `service args`: the port recorded in the installed service (gateway status only). */
  portSource: "cli" | "env/config" | "default" | "service args";
}

export interface ResolvedTarget {
  target: GatewayTarget;
  /** Loaded config, when it was needed and valid. */
  loaded?: LoadedConfig;
  /** Why the config could not be used (commands keep working with defaults). */
  configError?: ConfigError;
  configExists: boolean;
}

export class CredentialsRequiredError extends Error {
  override name = "GatewayCredentialsRequiredError";
}

export class CliUsageError extends Error {
  override name = "CliUsageError";
}

/** A `--port` value: an integer from 1 to 65535 (CliUsageError otherwise). */
export function parsePortFlag(raw: string | number | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new CliUsageError(`Invalid --port "${text}". Use a number from 1 to 65535.`);
  return n;
}

/** A config secret's value, or undefined when it is unset or its reference does not resolve. */
export function secret(value: unknown, key: string, env: Env): string | undefined {
  try {
    return resolveSecret(value as never, key, env);
  } catch {
    return undefined;
  }
}

function bindHostFor(bind: BindMode, cfg: OpenClawConfig): string {
  if (bind === "custom") return cfg.gateway?.customBindHost ?? "127.0.0.1";
  if (bind === "lan") return "0.0.0.0";
  return "127.0.0.1";
}

/** Host a local client should dial for a bind host (wildcards are reachable on loopback). */
function dialHost(bindHost: string): string {
  return bindHost === "0.0.0.0" || bindHost === "::" ? "127.0.0.1" : bindHost;
}

function credentialsError(configPath: string, fromEnv: boolean): CredentialsRequiredError {
  return new CredentialsRequiredError(
    [
      "gateway url override requires explicit credentials",
      "Fix: pass --token or --password with --url.",
      fromEnv
        ? "Set OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD alongside OPENCLAW_GATEWAY_URL; config credentials are intentionally not reused."
        : "For the default local or SSH-tunneled Gateway, remove --url to use the configured target.",
      `Config: ${configPath}`,
    ].join("\n"),
  );
}

export async function resolveTarget(flags: TargetFlags, opts: { env?: Env; needConfig?: boolean } = {}): Promise<ResolvedTarget> {
  const env = opts.env ?? process.env;
  const paths = resolvePaths({ profile: globals().profile, env });
  const portFlag = parsePortFlag(flags.port);
  if (flags.url && portFlag !== undefined) throw new CliUsageError("Use either --url or --port, not both.");

  if (flags.url && !flags.token && !flags.password) throw credentialsError(paths.configPath, false);

  // Fast path: an explicit URL needs no config at all.
  if (flags.url && !opts.needConfig) {
    return {
      target: explicitTarget(flags.url, "cli --url", flags.token, flags.password, paths),
      configExists: await Bun.file(paths.configPath).exists(),
    };
  }

  let loaded: LoadedConfig | undefined;
  let configError: ConfigError | undefined;
  try {
    loaded = await loadConfig({ paths, env, cli: portFlag !== undefined ? { port: portFlag } : {} });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    configError = err;
  }
  const configExists = loaded?.exists ?? configError?.kind !== "read";
  const cfg: OpenClawConfig = loaded?.config ?? {};
  const gw = cfg.gateway ?? {};

  if (flags.url) {
    return { target: explicitTarget(flags.url, "cli --url", flags.token, flags.password, paths, cfg), loaded, configError, configExists };
  }
  const envToken = env.OPENCLAW_GATEWAY_TOKEN || undefined;
  const envPassword = env.OPENCLAW_GATEWAY_PASSWORD || undefined;
  const envUrl = env.OPENCLAW_GATEWAY_URL?.trim();
  if (envUrl) {
    const token = flags.token ?? envToken;
    const password = flags.password ?? envPassword;
    if (!token && !password) throw credentialsError(paths.configPath, true);
    return { target: explicitTarget(envUrl, "env OPENCLAW_GATEWAY_URL", token, password, paths, cfg), loaded, configError, configExists };
  }
  const fileAuth = loaded?.file.gateway?.auth;
  if (gw.mode === "remote" && gw.remote?.url) {
    const token = flags.token ?? envToken ?? secret(gw.remote.token, "gateway.remote.token", env) ?? secret(fileAuth?.token, "gateway.auth.token", env);
    const password =
      flags.password ?? envPassword ?? secret(gw.remote.password, "gateway.remote.password", env) ?? secret(fileAuth?.password, "gateway.auth.password", env);
    return {
      target: explicitTarget(gw.remote.url, "config gateway.remote.url", token, password, paths, cfg),
      loaded,
      configError,
      configExists,
    };
  }
  const bindMode = gw.bind ?? "loopback";
  const bindHost = bindHostFor(bindMode, cfg);
  const port = gw.port ?? paths.defaultPort;
  const portSource =
    portFlag !== undefined ? "cli" : gw.port !== undefined || parseEnvPort(env.OPENCLAW_GATEWAY_PORT) !== undefined ? "env/config" : "default";
  const host = dialHost(bindHost);
  return {
    target: {
      url: `ws://${host.includes(":") ? `[${host}]` : host}:${port}`,
      urlSource: "local loopback",
      token: flags.token ?? envToken ?? secret(fileAuth?.token, "gateway.auth.token", env),
      password: flags.password ?? envPassword ?? secret(fileAuth?.password, "gateway.auth.password", env),
      local: true,
      paths,
      bindMode,
      bindHost,
      port,
      portSource,
    },
    loaded,
    configError,
    configExists,
  };
}

/** The configured `gateway.remote.url` target (also when `gateway.mode` is not remote), if any. */
export function configuredRemoteTarget(resolved: ResolvedTarget, flags: TargetFlags = {}, env: Env = process.env): GatewayTarget | undefined {
  const cfg = resolved.loaded?.config;
  const remote = cfg?.gateway?.remote;
  if (!remote?.url) return undefined;
  const token = flags.token ?? secret(remote.token, "gateway.remote.token", env);
  const password = flags.password ?? secret(remote.password, "gateway.remote.password", env);
  return explicitTarget(remote.url, "config gateway.remote.url", token, password, resolved.target.paths, cfg);
}

function explicitTarget(
  url: string,
  urlSource: UrlSource,
  token: string | undefined,
  password: string | undefined,
  paths: ResolvedPaths,
  cfg: OpenClawConfig = {},
): GatewayTarget {
  let port = cfg.gateway?.port ?? paths.defaultPort;
  try {
    const u = new URL(url);
    if (u.port) port = Number(u.port);
  } catch {
    throw new CliUsageError(`Invalid gateway URL "${url}" (expected ws://host:port or wss://host:port).`);
  }
  const bindMode = cfg.gateway?.bind ?? "loopback";
  return { url, urlSource, token, password, local: false, paths, bindMode, bindHost: bindHostFor(bindMode, cfg), port, portSource: "env/config" };
}
