/**
 * Which gateway a CLI command talks to, and with which credentials:
 *
 *   1. `--url` (+ `--token`/`--password`; config and env credentials are never reused)
 *   2. `OPENCLAW_GATEWAY_URL` (+ `OPENCLAW_GATEWAY_TOKEN`/`_PASSWORD` only)
 *   3. `gateway.remote.url` when `gateway.mode` is `remote` (flags > env > gateway.remote.* > gateway.auth.*)
 *   4. the local gateway: ws://<loopback or bind host>:<port> (flags > env > gateway.auth.*);
 *      wss:// when `gateway.tls.enabled`, pinned to the certificate in the gateway's files
 *
 * TLS pins, as the original resolves them: the local gateway's own certificate (public side
 * only; a missing one gives no pin and the connection then needs normal trust), and
 * `gateway.remote.tlsFingerprint` for the configured remote (`gateway.mode: remote`, reached
 * through `gateway.remote.url` or `OPENCLAW_GATEWAY_URL`). An explicit `--url` is never pinned.
 *
 * A URL override without credentials fails before opening a socket (`gateway_credentials_required`).
 */
import type { ConfigError } from "../config/load.ts";
import { resolvePaths, type Env, type ResolvedPaths } from "../config/paths.ts";

export type { Env } from "../config/paths.ts";
import type { BindMode } from "../config/schema.ts";
import { loadSnapshot, type ConfigSnapshot } from "../config/snapshot.ts";
import { normalizeTlsFingerprint } from "../protocol/fingerprint.ts";

export type UrlSource = "cli --url" | "env OPENCLAW_GATEWAY_URL" | "config gateway.remote.url" | "local loopback";

export interface TargetFlags {
  url?: string;
  token?: string;
  password?: string;
  /** `--port`, already parsed (the CLI's integer-flag parser). */
  port?: number;
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
  /** The certificate to trust for `wss://` (SHA-256, 64 hex digits). */
  tlsFingerprint?: string;
  /** The local gateway serves TLS (`gateway.tls.enabled`). */
  tls?: boolean;
  /** Why the local certificate could not be read (TLS on, no pin). */
  tlsError?: string;
  /** The local certificate's file. */
  tlsCertPath?: string;
}

export interface ResolvedTarget {
  target: GatewayTarget;
  /** The config snapshot the target came from (also when the file is damaged); absent for a bare --url. */
  snapshot?: ConfigSnapshot;
  /** The snapshot, when the config file is usable. */
  loaded?: ConfigSnapshot;
  /** Why the config file could not be used (commands keep working from flags, env and defaults). */
  configError?: ConfigError;
  configExists: boolean;
}

/** A target that cannot be used as asked (a bad URL, --url with --port): lines to print, exit 1. */
export class TargetError extends Error {
  override name = "TargetError";
  readonly exitCode: number = 1;
  /** What `--json` prints (undefined: the generic cli_error shape). */
  readonly json?: unknown;
  constructor(readonly lines: string[], json?: unknown) {
    super(lines.join("\n"));
    this.json = json;
  }
}

/** A `--url` given without credentials, or an env URL without env credentials. */
export class CredentialsRequiredError extends TargetError {
  override name = "GatewayCredentialsRequiredError";
  constructor(lines: string[]) {
    super(lines, { ok: false, error: { type: "gateway_credentials_required", message: lines.join("\n") } });
  }
}

function credentialsError(configPath: string, fromEnv: boolean): CredentialsRequiredError {
  return new CredentialsRequiredError([
    "gateway url override requires explicit credentials",
    "Fix: pass --token or --password with --url.",
    fromEnv
      ? "Set OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD alongside OPENCLAW_GATEWAY_URL; config credentials are intentionally not reused."
      : "For the default local or SSH-tunneled Gateway, remove --url to use the configured target.",
    `Config: ${configPath}`,
  ]);
}

export async function resolveTarget(
  flags: TargetFlags,
  opts: { env?: Env; needConfig?: boolean; profile?: string } = {},
): Promise<ResolvedTarget> {
  const env = opts.env ?? process.env;
  const paths = resolvePaths({ profile: opts.profile, env });
  const port = flags.port;
  if (flags.url && port !== undefined) throw new TargetError(["Use either --url or --port, not both."]);

  if (flags.url && !flags.token && !flags.password) throw credentialsError(paths.configPath, false);

  // Fast path: an explicit URL needs no config at all.
  if (flags.url && !opts.needConfig) {
    return {
      target: explicitTarget(flags.url, "cli --url", flags.token, flags.password, paths),
      configExists: await Bun.file(paths.configPath).exists(),
    };
  }

  // The one snapshot: a damaged file still leaves flags, env and defaults (and says so).
  const snapshot = await loadSnapshot({ paths, env, cli: { port, token: flags.token, password: flags.password } });
  const configError = snapshot.problem?.error;
  const resolved = { snapshot, loaded: configError ? undefined : snapshot, configError, configExists: snapshot.exists };
  const gw = snapshot.gateway;

  if (flags.url) {
    return { ...resolved, target: explicitTarget(flags.url, "cli --url", flags.token, flags.password, paths, snapshot) };
  }
  const envToken = env.OPENCLAW_GATEWAY_TOKEN || undefined;
  const envPassword = env.OPENCLAW_GATEWAY_PASSWORD || undefined;
  const envUrl = env.OPENCLAW_GATEWAY_URL?.trim();
  const remotePin = () => (gw.mode === "remote" ? remoteFingerprint(snapshot) : undefined);
  if (envUrl) {
    const token = flags.token ?? envToken;
    const password = flags.password ?? envPassword;
    if (!token && !password) throw credentialsError(paths.configPath, true);
    return { ...resolved, target: { ...explicitTarget(envUrl, "env OPENCLAW_GATEWAY_URL", token, password, paths, snapshot), ...pinOf(remotePin()) } };
  }
  if (gw.mode === "remote" && gw.remote) {
    // flags > env > gateway.remote.* > gateway.auth.* (the snapshot's auth secrets are flags > env > file).
    const pick = (key: "token" | "password") => {
      const source = snapshot.sources[key];
      return source === "cli" || source === "env" ? gw.auth[key] : (gw.remote?.[key] ?? gw.auth[key]);
    };
    return {
      ...resolved,
      target: { ...explicitTarget(gw.remote.url, "config gateway.remote.url", pick("token"), pick("password"), paths, snapshot), ...pinOf(remotePin()) },
    };
  }
  const tls = await localTls(snapshot);
  return {
    ...resolved,
    target: {
      ...tls,
      url: `${tls.tls ? "wss" : "ws"}://${gw.dialHost.includes(":") ? `[${gw.dialHost}]` : gw.dialHost}:${gw.port}`,
      urlSource: "local loopback",
      token: gw.auth.token,
      password: gw.auth.password,
      local: true,
      paths,
      bindMode: gw.bind,
      bindHost: gw.bindHost,
      port: gw.port,
      portSource: snapshot.sources.port === "cli" ? "cli" : snapshot.sources.port === "default" ? "default" : "env/config",
    },
  };
}

/** `gateway.remote.tlsFingerprint`, normalised; a value that is no SHA-256 fingerprint is refused. */
function remoteFingerprint(snapshot: ConfigSnapshot): string | undefined {
  const raw = snapshot.config.gateway?.remote?.tlsFingerprint?.trim();
  if (!raw) return undefined;
  const pin = normalizeTlsFingerprint(raw);
  if (!pin) throw new TargetError([`Invalid gateway.remote.tlsFingerprint "${raw}" (expected a SHA-256 fingerprint: 64 hex digits, colons allowed).`]);
  return pin;
}

function pinOf(fingerprint: string | undefined): { tlsFingerprint?: string } {
  return fingerprint ? { tlsFingerprint: fingerprint } : {};
}

/** The local gateway's TLS: on or off, and its certificate's fingerprint (read, never generated). */
export async function localTls(snapshot: ConfigSnapshot): Promise<{ tls: boolean; tlsFingerprint?: string; tlsCertPath?: string; tlsError?: string }> {
  const cfg = snapshot.config.gateway?.tls;
  if (cfg?.enabled !== true) return { tls: false };
  const { inspectGatewayCertificate } = await import("../auth/tls.ts");
  const cert = await inspectGatewayCertificate(cfg, snapshot.paths.stateDir);
  return cert.ok ? { tls: true, tlsFingerprint: cert.fingerprintSha256, tlsCertPath: cert.certPath } : { tls: true, tlsError: cert.error };
}

/** The configured `gateway.remote.url` target (also when `gateway.mode` is not remote), if any. */
export function configuredRemoteTarget(resolved: ResolvedTarget, flags: TargetFlags = {}): GatewayTarget | undefined {
  const remote = resolved.snapshot?.gateway.remote;
  if (!remote) return undefined;
  return explicitTarget(remote.url, "config gateway.remote.url", flags.token ?? remote.token, flags.password ?? remote.password, resolved.target.paths, resolved.snapshot);
}

function explicitTarget(
  url: string,
  urlSource: UrlSource,
  token: string | undefined,
  password: string | undefined,
  paths: ResolvedPaths,
  snapshot?: ConfigSnapshot,
): GatewayTarget {
  let port = snapshot?.gateway.port ?? paths.defaultPort;
  try {
    const u = new URL(url);
    if (u.port) port = Number(u.port);
  } catch {
    throw new TargetError([`Invalid gateway URL "${url}" (expected ws://host:port or wss://host:port).`]);
  }
  const bindMode: BindMode = snapshot?.gateway.bind ?? "loopback";
  const bindHost = snapshot?.gateway.bindHost ?? "127.0.0.1";
  return { url, urlSource, token, password, local: false, paths, bindMode, bindHost, port, portSource: "env/config" };
}
