/**
 * From an effective config to what the gateway process actually does: the hosts to bind,
 * the port, the auth mode and secrets. Every refusal carries the exact upstream wording and
 * the exit code (78 = configuration error, paired with systemd RestartPreventExitStatus=78).
 */
import { existsSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { Env } from "./paths.ts";
import { CONFIG_DEFAULTS, type AuthMode, type BindMode, type OpenClawConfig, type SecretInput } from "./schema.ts";
import { resolveSecretInput, type ConfigSnapshot } from "./snapshot.ts";

export const EXIT_CONFIG = 78;

export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    readonly lines: string[],
    readonly exitCode: number = EXIT_CONFIG,
    /** The config key the refusal is about (hot reload logs it), when there is one. */
    readonly keyPath?: string,
  ) {
    super(lines.join("\n"));
  }
}

export interface RateLimitSettings {
  maxAttempts: number;
  windowMs: number;
  lockoutMs: number;
  exemptLoopback: boolean;
}

export interface AuthSettings {
  mode: AuthMode;
  token?: string;
  password?: string;
  /** The token was generated for this run only (loopback, token mode, none configured). */
  runtimeToken: boolean;
  rateLimit: RateLimitSettings;
  trustedProxy?: { userHeader: string; requiredHeaders: string[]; allowUsers: string[]; allowLoopback: boolean };
}

export interface GatewaySettings {
  port: number;
  bind: BindMode;
  /** Hosts to listen on, primary first. */
  hosts: string[];
  /** All hosts are loopback addresses. */
  loopbackOnly: boolean;
  auth: AuthSettings;
  trustedProxies: string[];
  allowedOrigins: string[];
  allowHostHeaderOriginFallback: boolean;
  warnings: string[];
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || h.startsWith("127.") || h === "::ffff:127.0.0.1";
}

/** Container heuristics: Docker/Podman marker files or a container cgroup. */
function inContainer(): boolean {
  if (existsSync("/.dockerenv") || existsSync("/run/.containerenv")) return true;
  try {
    const cgroup = readFileSync("/proc/1/cgroup", "utf8");
    return /docker|kubepods|containerd|libpod|lxc/.test(cgroup);
  } catch {
    return false;
  }
}

function firstTailnetIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== "IPv4") continue;
      const [o1, o2] = a.address.split(".").map(Number);
      if (o1 === 100 && o2 >= 64 && o2 <= 127) return a.address;
    }
  }
  return undefined;
}

export function resolveBindHosts(bind: BindMode, cfg: OpenClawConfig, container?: boolean): string[] {
  switch (bind) {
    case "loopback":
      return ["127.0.0.1", "::1"];
    case "lan":
      return ["0.0.0.0"];
    case "auto":
      return (container ?? inContainer()) ? ["0.0.0.0"] : ["127.0.0.1", "::1"];
    case "tailnet": {
      const ip = firstTailnetIPv4();
      return ip ? [ip, "127.0.0.1"] : ["127.0.0.1", "::1"];
    }
    case "custom": {
      const host = cfg.gateway?.customBindHost;
      if (!host) {
        throw new StartupError(
          ["gateway.bind=custom requires gateway.customBindHost (an IPv4 address).", "Set gateway.customBindHost or choose another --bind."],
          EXIT_CONFIG,
          "gateway.customBindHost",
        );
      }
      return host === "0.0.0.0" || host === "127.0.0.1" ? [host] : [host, "127.0.0.1"];
    }
  }
}

/** Resolve a literal or SecretRef secret; undefined when absent, throws when unresolvable. */
export function resolveSecret(value: SecretInput | undefined, keyPath: string, env: Env): string | undefined {
  const r = resolveSecretInput(value, keyPath, env);
  if (r.issue) throw new StartupError(r.issue.lines, EXIT_CONFIG, r.issue.keyPath);
  return r.value;
}

/** 32 random bytes, base64url (43 characters). */
export function generateToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/**
 * What the gateway does with a snapshot: the hosts to bind and the auth it enforces. Everything
 * the snapshot resolved (port, bind, auth mode and secrets) is taken from `snapshot.gateway`;
 * this adds what only a starting gateway decides (interfaces, a runtime token, refusals).
 */
export function resolveGatewaySettings(loaded: ConfigSnapshot, opts: { container?: boolean } = {}): GatewaySettings {
  const cfg = loaded.config;
  const gw = cfg.gateway ?? {};
  const view = loaded.gateway;
  const warnings: string[] = [];
  const port = view.port;
  const bind = view.bind;
  const hosts = resolveBindHosts(bind, cfg, opts.container);
  const loopbackOnly = hosts.every(isLoopbackHost);

  const firstIssue = view.auth.issues[0];
  if (firstIssue) throw new StartupError(firstIssue.lines, EXIT_CONFIG, firstIssue.keyPath);
  const token = view.auth.token;
  const password = view.auth.password;
  const mode: AuthMode = view.auth.mode ?? "token";

  const rl = gw.auth?.rateLimit ?? {};
  const rlDefaults = CONFIG_DEFAULTS.gateway.auth.rateLimit;
  const auth: AuthSettings = {
    mode,
    runtimeToken: false,
    rateLimit: {
      maxAttempts: rl.maxAttempts ?? rlDefaults.maxAttempts,
      windowMs: rl.windowMs ?? rlDefaults.windowMs,
      lockoutMs: rl.lockoutMs ?? rlDefaults.lockoutMs,
      exemptLoopback: rl.exemptLoopback ?? rlDefaults.exemptLoopback,
    },
  };
  const trustedProxies = gw.trustedProxies ?? [];

  switch (mode) {
    case "token":
      auth.token = token;
      if (password) auth.password = password;
      break;
    case "password":
      if (!password) {
        throw new StartupError(
          [
            "Gateway auth is set to password, but no password is configured.",
            "Set gateway.auth.password (or OPENCLAW_GATEWAY_PASSWORD), or pass --password.",
          ],
          EXIT_CONFIG,
          "gateway.auth.password",
        );
      }
      auth.password = password;
      break;
    case "trusted-proxy": {
      const tp = gw.auth?.trustedProxy;
      if (!tp?.userHeader || trustedProxies.length === 0 || token) {
        throw new StartupError(
          [
            "Gateway auth mode trusted-proxy needs gateway.trustedProxies (non-empty), gateway.auth.trustedProxy.userHeader, and no gateway.auth.token.",
          ],
          EXIT_CONFIG,
          "gateway.auth.trustedProxy",
        );
      }
      auth.trustedProxy = {
        userHeader: tp.userHeader,
        requiredHeaders: tp.requiredHeaders ?? [],
        allowUsers: tp.allowUsers ?? [],
        allowLoopback: tp.allowLoopback ?? false,
      };
      if (password) auth.password = password;
      break;
    }
    case "none":
      warnings.push("Gateway auth mode=none explicitly configured; all gateway connections are unauthenticated.");
      break;
  }

  const usableAuth =
    (mode === "token" && Boolean(auth.token)) || (mode === "password" && Boolean(auth.password)) || mode === "trusted-proxy";
  if (!loopbackOnly && !usableAuth) {
    throw new StartupError(
      [
        `Refusing to bind gateway to ${bind} without auth.`,
        ...(bind === "auto"
          ? ["Container environment detected — the gateway defaults to bind=auto (0.0.0.0) for port-forwarding compatibility."]
          : []),
        "Set gateway.auth.token/password (or OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD) or pass --token/--password.",
      ],
      EXIT_CONFIG,
      "gateway.bind",
    );
  }
  if (mode === "token" && !auth.token) {
    auth.token = generateToken();
    auth.runtimeToken = true;
    warnings.push(
      "Gateway auth token was missing. Generated a runtime token for this startup without changing config; restart will generate a different token. Set gateway.auth.token (or OPENCLAW_GATEWAY_TOKEN) to keep one.",
    );
  }

  const allowedOrigins = [...(gw.controlUi?.allowedOrigins ?? [])];
  if (!loopbackOnly) {
    // Non-loopback binds seed the local Control UI origins for the effective port (https:
    // when the gateway serves TLS, since nothing is served over plain http then).
    const scheme = gw.tls?.enabled === true ? "https" : "http";
    for (const o of [`${scheme}://localhost:${port}`, `${scheme}://127.0.0.1:${port}`]) {
      if (!allowedOrigins.includes(o)) allowedOrigins.push(o);
    }
  }

  return {
    port,
    bind,
    hosts,
    loopbackOnly,
    auth,
    trustedProxies,
    allowedOrigins,
    allowHostHeaderOriginFallback: gw.controlUi?.dangerouslyAllowHostHeaderOriginFallback ?? false,
    warnings,
  };
}
