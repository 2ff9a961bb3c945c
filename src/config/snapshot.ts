/**
 * The config snapshot: the one effective configuration every part of the program reads.
 *
 * `loadSnapshot()` is the only place that turns the config file, the environment and the
 * command line into settings. Precedence, highest first:
 *
 *   1. command-line flags        --port, --bind, --auth, --token, --password
 *   2. environment               OPENCLAW_GATEWAY_PORT, OPENCLAW_GATEWAY_TOKEN, OPENCLAW_GATEWAY_PASSWORD
 *   3. the config file           JSON5; `${VAR}` substituted from the process environment, then
 *                                `<stateDir>/.env`, then the file's own `env` block
 *   4. defaults                  the profile's port, loopback bind, and the schema-owned
 *                                defaults in schema.ts (CONFIG_DEFAULTS)
 *
 * Objects merge key by key; arrays and scalars of a higher layer replace a lower layer's; an
 * unset value never masks a lower layer. Every effective value can say where it came from
 * (`sourceOf`). The gateway's connection settings (port, bind, the dial host, auth mode and
 * resolved secrets, the remote target) are computed here once (`snapshot.gateway`), so no
 * consumer re-derives them from raw fields.
 *
 * A damaged file does not make this throw: the snapshot records the problem (`problem`, read /
 * parse / invalid, with the issues) and keeps working from the other layers, plus the gateway
 * connection keys of a file that parses but fails validation elsewhere. Operator commands can
 * then still reach a gateway by `--port`, `OPENCLAW_GATEWAY_PORT` or `--url` and say the file is
 * damaged; the gateway itself refuses to start on a snapshot with a problem (`loadConfig`).
 *
 * No c12: the file is one known path parsed as JSON5 and the layers are four plain objects, so
 * the merge is a dozen lines; c12's search, rc files, dotenv, `extends` and code configs are all
 * things the gateway must not do, and its import cost startup time and memory.
 */
import { readFileSync } from "node:fs";
import { isPlainObject } from "./keypath.ts";
import { ConfigError, composeEnv, readConfigFile, substituteEnv } from "./load.ts";
import type { Env, ResolvedPaths } from "./paths.ts";
import { parseEnvPort } from "./paths.ts";
import {
  AuthMode as AuthModeSchema,
  BindMode as BindModeSchema,
  CONFIG_DEFAULTS,
  validateConfig,
  type AuthMode,
  type BindMode,
  type ConfigIssue,
  type OpenClawConfig,
  type SecretInput,
} from "./schema.ts";
import { unsupportedKeys } from "./support.ts";

/** Values that come from command-line flags (highest precedence). */
export interface CliOverrides {
  port?: number;
  bind?: BindMode;
  auth?: AuthMode;
  token?: string;
  password?: string;
}

export type Source = "cli" | "env" | "config" | "default";

/** Why the file could not be used as it is. */
export interface ConfigProblem {
  kind: "read" | "parse" | "invalid";
  issues: ConfigIssue[];
  /** The same as an error (its message is the `Invalid config at <path>:` block). */
  error: ConfigError;
}

/** A secret that could not be resolved (e.g. an env SecretRef whose variable is unset). */
export interface SecretIssue {
  keyPath: string;
  lines: string[];
}

/** The gateway's connection settings, resolved once. */
export interface GatewayView {
  /** `gateway.mode` as configured (undefined when unset). */
  mode?: "local" | "remote";
  port: number;
  bind: BindMode;
  /** The address a client on this machine dials for the bind mode (wildcards → 127.0.0.1). */
  dialHost: string;
  /** The configured listen host (`0.0.0.0` for lan, the custom host, else 127.0.0.1). */
  bindHost: string;
  auth: {
    /** Explicit or inferred; undefined when both secrets come from the same layer without a mode. */
    mode?: AuthMode;
    token?: string;
    password?: string;
    /** Problems resolving the auth settings, in the order the gateway reports them. */
    issues: SecretIssue[];
  };
  /** `gateway.remote` with its secrets resolved (undefined without a URL). */
  remote?: { url: string; token?: string; password?: string; remotePort?: number };
}

export interface ConfigSnapshot {
  paths: ResolvedPaths;
  /** Whether the config file exists. */
  exists: boolean;
  /** The file's text, or null when there is no file (or it cannot be read). */
  raw: string | null;
  /** sha256 hex of the raw text (null without a file). */
  hash: string | null;
  /** The file as parsed, before substitution and validation (undefined when it does not parse). */
  doc: unknown;
  /** The validated file content alone, `${VAR}` substituted (`{}` without a usable file). */
  file: OpenClawConfig;
  /** Effective config: CLI > env > file > defaults, with `${VAR}` in the file's strings substituted. */
  config: OpenClawConfig;
  /** Which layer supplied the gateway settings the CLI and env can set. */
  sources: { port: Source; bind: Source; token?: Source; password?: Source; authMode?: Source };
  /** The gateway's resolved connection settings. */
  gateway: GatewayView;
  /** Set when the file could not be read, parsed or validated. */
  problem?: ConfigProblem;
  /** Key paths present in the file that this gateway keeps but does not act on. */
  unsupported: string[];
  warnings: string[];
  /**
   * The environment `${VAR}` and env SecretRefs were resolved against: the process environment,
   * then `<stateDir>/.env`, then the config's `env` block (earlier sources win; never exported).
   */
  env: Env;
  /** The layers, for `sourceOf`. */
  readonly layers: { cli: Obj | undefined; env: Obj | undefined; file: Obj | undefined; defaults: Obj };
}

/** The config a gateway can run on (a snapshot without a problem); kept as a name for callers. */
export type LoadedConfig = ConfigSnapshot;

type Obj = Record<string, unknown>;

/** Deep merge, earlier sources win; arrays and scalars replace; undefined is skipped. */
export function mergeLayers<T>(...sources: Array<T | null | undefined>): T {
  const out: Obj = {};
  for (let i = sources.length - 1; i >= 0; i--) {
    const src = sources[i];
    if (!isPlainObject(src)) continue;
    for (const [key, value] of Object.entries(src)) {
      if (value === undefined) continue;
      const prev = out[key];
      out[key] = isPlainObject(value) && isPlainObject(prev) ? mergeLayers(value, prev) : value;
    }
  }
  return out as T;
}

/** Drop undefined leaves and empty objects so a layer only carries what it sets. */
function prune(value: Obj): Obj | undefined {
  const out: Obj = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (isPlainObject(v)) {
      const inner = prune(v);
      if (inner) out[key] = inner;
    } else out[key] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

function cliLayer(cli: CliOverrides): Obj | undefined {
  return prune({
    gateway: { port: cli.port, bind: cli.bind, auth: { mode: cli.auth, token: cli.token, password: cli.password } },
  });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v && v.trim() !== "" ? v : undefined;
}

function envLayer(env: Env): Obj | undefined {
  return prune({
    gateway: {
      port: parseEnvPort(env.OPENCLAW_GATEWAY_PORT),
      auth: { token: nonEmpty(env.OPENCLAW_GATEWAY_TOKEN), password: nonEmpty(env.OPENCLAW_GATEWAY_PASSWORD) },
    },
  });
}

function lookup(layer: Obj | undefined, path: readonly string[]): unknown {
  let cur: unknown = layer;
  for (const seg of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** The layer that supplied the effective value at `path` (`gateway.auth.token`), if any. */
export function sourceOf(snapshot: Pick<ConfigSnapshot, "layers">, path: string): Source | undefined {
  const segs = path.split(".");
  const { cli, env, file, defaults } = snapshot.layers;
  if (lookup(cli, segs) !== undefined) return "cli";
  if (lookup(env, segs) !== undefined) return "env";
  if (lookup(file, segs) !== undefined) return "config";
  if (lookup(defaults, segs) !== undefined) return "default";
  return undefined;
}

/**
 * Resolve a literal or SecretRef secret. Undefined when absent; a SecretIssue when it cannot be
 * resolved (an env reference to an unset variable, or a source this gateway does not support).
 */
export function resolveSecretInput(value: SecretInput | undefined, keyPath: string, env: Env): { value?: string; issue?: SecretIssue } {
  if (value === undefined) return {};
  if (typeof value === "string") return value === "" ? {} : { value };
  if (value.source === "env") {
    const v = env[value.id];
    if (v) return { value: v };
    return { issue: { keyPath, lines: [`${keyPath}: SecretRef env:${value.id} is not set.`] } };
  }
  return {
    issue: {
      keyPath,
      lines: [`${keyPath}: SecretRef source "${value.source}" is not supported by this gateway; use a literal, \${ENV_VAR} or {source:"env"}.`],
    },
  };
}

/** The configured listen host for a bind mode (before interface detection). */
export function bindHostFor(bind: BindMode, cfg: OpenClawConfig): string {
  if (bind === "custom") return cfg.gateway?.customBindHost ?? "127.0.0.1";
  if (bind === "lan") return "0.0.0.0";
  return "127.0.0.1";
}

/** The host a local client dials for a listen host (wildcards are reachable on loopback). */
export function dialHostFor(bindHost: string): string {
  return bindHost === "0.0.0.0" || bindHost === "::" ? "127.0.0.1" : bindHost;
}

const RANK: Record<Source, number> = { cli: 3, env: 2, config: 1, default: 0 };

/**
 * A secret is absent when unset, or when the file's value names an environment variable that is
 * not set: "${OPENCLAW_GATEWAY_TOKEN}" kept literally is no secret (it would be guessable).
 */
function secretOf(value: SecretInput | undefined, keyPath: string, env: Env, unresolved: (key: string) => boolean): { value?: string; issue?: SecretIssue } {
  return unresolved(keyPath) ? {} : resolveSecretInput(value, keyPath, env);
}

function gatewayView(config: OpenClawConfig, sources: ConfigSnapshot["sources"], env: Env, unresolved: (key: string) => boolean): GatewayView {
  const gw = config.gateway ?? {};
  const bind = gw.bind ?? CONFIG_DEFAULTS.gateway.bind;
  const bindHost = bindHostFor(bind, config);
  const issues: SecretIssue[] = [];
  const token = secretOf(gw.auth?.token, "gateway.auth.token", env, unresolved);
  const password = secretOf(gw.auth?.password, "gateway.auth.password", env, unresolved);
  if (token.issue) issues.push(token.issue);
  if (password.issue) issues.push(password.issue);
  let mode = gw.auth?.mode;
  if (!mode) {
    if (token.value && password.value) {
      // Both secrets without a mode: the higher-precedence layer decides; a tie is ambiguous.
      const t = RANK[sources.token ?? "default"];
      const p = RANK[sources.password ?? "default"];
      if (t === p) {
        issues.push({
          keyPath: "gateway.auth.mode",
          lines: [
            "Gateway auth has both a token and a password configured but no gateway.auth.mode.",
            'Set gateway.auth.mode to "token" or "password" (or pass --auth token|password).',
          ],
        });
      } else mode = t > p ? "token" : "password";
    } else mode = password.value ? "password" : "token";
  }
  let remote: GatewayView["remote"];
  if (gw.remote?.url) {
    // Remote secrets never fail the snapshot: an unresolvable one is simply absent.
    remote = {
      url: gw.remote.url,
      token: secretOf(gw.remote.token, "gateway.remote.token", env, unresolved).value,
      password: secretOf(gw.remote.password, "gateway.remote.password", env, unresolved).value,
      remotePort: gw.remote.remotePort,
    };
  }
  return {
    mode: gw.mode,
    port: gw.port as number,
    bind,
    bindHost,
    dialHost: dialHostFor(bindHost),
    auth: { mode, token: token.value, password: password.value, issues },
    remote,
  };
}

/**
 * The gateway connection keys of a document that parses but fails validation elsewhere, each
 * kept only when it validates on its own: enough to find and authenticate to a gateway that is
 * still running on the last good config.
 */
function salvageConnection(doc: unknown): OpenClawConfig {
  if (!isPlainObject(doc) || !isPlainObject(doc.gateway)) return {};
  const gw = doc.gateway;
  const auth = isPlainObject(gw.auth) ? gw.auth : {};
  const remote = isPlainObject(gw.remote) ? gw.remote : {};
  const candidates: Array<[string, Obj]> = [
    ["mode", { mode: gw.mode }],
    ["port", { port: gw.port }],
    ["bind", { bind: gw.bind }],
    ["customBindHost", { customBindHost: gw.customBindHost }],
    ["auth.mode", { auth: { mode: auth.mode } }],
    ["auth.token", { auth: { token: auth.token } }],
    ["auth.password", { auth: { password: auth.password } }],
    ["remote.url", { remote: { url: remote.url } }],
    ["remote.token", { remote: { token: remote.token } }],
    ["remote.password", { remote: { password: remote.password } }],
  ];
  let kept: Obj = {};
  for (const [, piece] of candidates) {
    const pruned = prune(piece);
    if (!pruned) continue;
    if (validateConfig({ gateway: pruned }).ok) kept = mergeLayers(kept, pruned);
  }
  return Object.keys(kept).length ? { gateway: kept as OpenClawConfig["gateway"] } : {};
}

export interface SnapshotOptions {
  paths: ResolvedPaths;
  cli?: CliOverrides;
  /** Base environment (default process.env); `.env` and the config's `env` block are layered under it. */
  env?: Env;
}

/** Build the snapshot. Never throws for a damaged config file: see `problem`. */
export async function loadSnapshot(opts: SnapshotOptions): Promise<ConfigSnapshot> {
  const { paths } = opts;
  const baseEnv = opts.env ?? process.env;
  const warnings: string[] = [];
  let exists = false;
  let raw: string | null = null;
  let hash: string | null = null;
  let doc: unknown;
  let problem: ConfigProblem | undefined;
  try {
    const read = await readConfigFile(paths.configPath);
    exists = read.exists;
    raw = read.raw;
    hash = read.hash;
    doc = read.parsed;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problem = { kind: err.kind, issues: err.issues, error: err };
    exists = err.kind !== "read";
    // The text of a file that does not parse still identifies it (config.get hash, reloads).
    if (err.kind === "parse") {
      try {
        raw = readFileSync(paths.configPath, "utf8");
        hash = new Bun.CryptoHasher("sha256").update(raw).digest("hex");
      } catch {
        // gone in between: leave it unknown
      }
    }
  }

  // `${VAR}` is config-file syntax: substitute the file layer only (never CLI/env values, which
  // may be secrets containing `$`), and before validation so `"bind": "${GW_BIND}"` works.
  const env = await composeEnv(baseEnv, paths.stateDir, doc, warnings);
  let file: OpenClawConfig = {};
  let fileLayer: OpenClawConfig = {};
  const unresolved = new Set<string>();
  if (doc !== undefined && !problem) {
    const check = validateConfig(substituteEnv(doc, env, warnings, "", unresolved));
    if (check.ok) {
      file = check.config;
      fileLayer = file;
    } else {
      const error = new ConfigError(paths.configPath, check.issues, "invalid");
      problem = { kind: "invalid", issues: check.issues, error };
      fileLayer = salvageConnection(substituteEnv(doc, env, []));
    }
  }

  const cli = cliLayer(opts.cli ?? {});
  const envCfg = envLayer(env);
  const defaults: Obj = { gateway: { port: paths.defaultPort, bind: CONFIG_DEFAULTS.gateway.bind } };
  const merged = mergeLayers<Obj>(cli, envCfg, fileLayer as Obj, defaults);
  // The CLI and env layers are typed at their source (flags and env are parsed before they get
  // here), so the merge of valid layers is valid; the check keeps that true as layers evolve.
  const check = validateConfig(merged);
  if (!check.ok) {
    const error = new ConfigError(paths.configPath, check.issues, "invalid");
    problem ??= { kind: "invalid", issues: check.issues, error };
  }
  const config = check.ok ? check.config : (merged as OpenClawConfig);
  const layers = { cli, env: envCfg, file: fileLayer as Obj, defaults };
  const src = (path: string) => sourceOf({ layers }, path);
  const sources: ConfigSnapshot["sources"] = {
    port: src("gateway.port") as Source,
    bind: src("gateway.bind") as Source,
    token: src("gateway.auth.token"),
    password: src("gateway.auth.password"),
    authMode: src("gateway.auth.mode"),
  };
  return {
    paths,
    exists,
    raw,
    hash,
    doc,
    file,
    config,
    sources,
    gateway: gatewayView(config, sources, env, (key) => src(key) === "config" && unresolved.has(key)),
    problem,
    unsupported: doc !== undefined ? unsupportedKeys(doc) : [],
    warnings,
    env,
    layers,
  };
}

/** The snapshot of a config the gateway can run on: throws the ConfigError of a damaged file. */
export async function loadConfig(opts: SnapshotOptions): Promise<LoadedConfig> {
  const snapshot = await loadSnapshot(opts);
  if (snapshot.problem) throw snapshot.problem.error;
  return snapshot;
}

/** `sha256:<hex>` of the file, as `config.get` and reloads name it (null without a file). */
export function snapshotHash(snapshot: Pick<ConfigSnapshot, "raw" | "hash">): string | null {
  if (snapshot.raw == null) return null;
  return `sha256:${snapshot.hash ?? new Bun.CryptoHasher("sha256").update(snapshot.raw).digest("hex")}`;
}

/** Parse a `--bind` value (undefined when it is not a bind mode). */
export function parseBindMode(raw: unknown): BindMode | undefined {
  const r = BindModeSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

/** Parse an `--auth` value (undefined when it is not an auth mode). */
export function parseAuthMode(raw: unknown): AuthMode | undefined {
  const r = AuthModeSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}
