/**
 * Starting the gateway process, as a library call (`openclaw gateway` is flags → this → output):
 *
 *   snapshot (CLI > env > file > defaults) → newer-config guard (service start, --force)
 *   → last-known-good recovery → first-run config → gateway.mode check → file log
 *   → settings (bind hosts, auth) → --force → instance lock → Gateway.start → discovery
 *
 * Every refusal is thrown with its exact lines and exit code (StartupError: 78 do-not-restart,
 * 1 error). A stop requested while starting (`signal`) tears down what exists and resolves
 * with `undefined`.
 */
import { loadConfigWithRecovery, type RecoveryInfo } from "../config/last-good.ts";
import type { Env, ResolvedPaths } from "../config/paths.ts";
import { EXIT_CONFIG, resolveGatewaySettings, StartupError, type GatewaySettings } from "../config/runtime.ts";
import { CONFIG_DEFAULTS, type OpenClawConfig } from "../config/schema.ts";
import { loadConfig, type CliOverrides, type ConfigSnapshot } from "../config/snapshot.ts";
import { assertNotNewerConfig, GuardedAction, isServiceMode, readTouchedVersion } from "../config/version-guard.ts";
import { initialConfig, writeConfig } from "../config/write.ts";
import { gatewayLogFile, RotatingFileSink } from "../log/file.ts";
import type { Logger } from "../log/logger.ts";
import { inspectLock, InstanceLock, LockHeldError } from "../system/lock.ts";
import { VERSION } from "../version.ts";
import { Gateway, BindError } from "./gateway.ts";
import { gatewayParts } from "./parts.ts";
import type { Subsystem } from "./subsystem.ts";

export interface BootOptions {
  paths: ResolvedPaths;
  cli: CliOverrides;
  log: Logger;
  /** Start even when gateway.mode is missing or not local; with no file, do not write one. */
  allowUnconfigured?: boolean;
  /** Free the port (and the state dir's lock holder) first. */
  force?: boolean;
  env?: Env;
  /** The long-lived parts to host (default: gatewayParts(), src/gateway/parts.ts). */
  subsystems?: Subsystem[];
  /** Aborted when the process is asked to stop while starting. */
  signal?: AbortSignal;
  /** The gateway cannot listen any more (a config restart failed and so did every rollback). */
  onFatal?: (err: Error) => void;
}

export interface BootedGateway {
  gateway: Gateway;
  snapshot: ConfigSnapshot;
  settings: GatewaySettings;
  /** The first-run config was written by this start. */
  created: boolean;
  fileLog?: RotatingFileSink;
  /** Where the connect secret comes from, for the startup hint. */
  secretHint?: string;
  /** Stop discovery, the gateway and release the lock (idempotent). */
  stop(): Promise<void>;
}

interface Prepared {
  snapshot: ConfigSnapshot;
  created: boolean;
  recovery?: RecoveryInfo;
}

/** Load config; write the zero-setup config on first run. */
async function prepareConfig(opts: BootOptions): Promise<Prepared> {
  const { paths, cli, log } = opts;
  const env = opts.env ?? process.env;
  // Newer-config guard: only a service start and --force are guarded (read before validation,
  // so a config that is otherwise broken is still guarded).
  const serviceMode = isServiceMode(env);
  if (serviceMode || opts.force) {
    const touchedVersion = await readTouchedVersion(paths.configPath);
    if (serviceMode) assertNotNewerConfig({ touchedVersion, action: GuardedAction.serviceStartup, exitCode: EXIT_CONFIG, env });
    if (opts.force) assertNotNewerConfig({ touchedVersion, action: GuardedAction.forcePortCleanup, exitCode: 1, env });
  }
  const first = await loadConfigWithRecovery({ paths, cli, env: opts.env });
  const snapshot = first.loaded;
  if (!snapshot.exists) {
    if (opts.allowUnconfigured) return { snapshot, created: false };
    // Password auth asked for (flag, or a password from flag or env and no token): the file
    // records that mode and holds no secret.
    const passwordMode = cli.auth === "password" || (!cli.auth && snapshot.sources.password !== undefined && snapshot.sources.token === undefined);
    await writeConfig(paths.configPath, initialConfig({ passwordMode }));
    log.info(`created ${paths.configPath} (gateway.mode=local, ${passwordMode ? "password" : "token"} auth; mode 0600)`);
    return { snapshot: await loadConfig({ paths, cli, env: opts.env }), created: true };
  }
  if (!opts.allowUnconfigured) {
    const mode = snapshot.file.gateway?.mode;
    if (mode === undefined) {
      throw new StartupError([
        "Gateway start blocked: existing config is missing gateway.mode. Treat this as suspicious or clobbered config. Set gateway.mode=local manually, or pass --allow-unconfigured.",
        `Config: ${paths.configPath}`,
      ]);
    }
    if (mode !== "local") {
      throw new StartupError([`Gateway start blocked: set gateway.mode=local (current: ${mode}) or pass --allow-unconfigured.`]);
    }
  }
  return { snapshot, created: false, recovery: first.recovery };
}

/** `<stateDir>/logs/gateway.log`, or `logging.file`; its level is `logging.level` (info). */
function attachFileLog(log: Logger, paths: ResolvedPaths, cfg: OpenClawConfig | undefined): RotatingFileSink | undefined {
  const path = gatewayLogFile(paths.stateDir, cfg);
  try {
    const sink = new RotatingFileSink({ path, maxFileBytes: cfg?.logging?.maxFileBytes ?? CONFIG_DEFAULTS.logging.maxFileBytes });
    sink.level = cfg?.logging?.level ?? CONFIG_DEFAULTS.logging.level;
    log.addSink(sink);
    return sink;
  } catch (err) {
    log.warn(`file logging disabled: cannot open ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

async function describeBusyPort(port: number): Promise<string[]> {
  const { listenersOnPort } = await import("../system/ports.ts");
  const listeners = await listenersOnPort(port);
  const lines = [`Port ${port} is already in use.`];
  for (const l of listeners) lines.push(`- pid ${l.pid}: ${l.command ?? l.name}${l.address ? ` (${l.address})` : ""}`);
  if (listeners.length === 0) lines.push(`- the listener's process is not visible to this user (try: ss -ltnp 'sport = :${port}')`);
  return lines;
}

/** Where a client finds the secret to connect with (for the startup hint). */
function secretHint(settings: GatewaySettings, snapshot: ConfigSnapshot): string | undefined {
  if (settings.auth.mode === "token") {
    if (settings.auth.runtimeToken) return "a runtime token (not saved)";
    if (snapshot.sources.token === "config") return `gateway.auth.token in ${snapshot.paths.configPath}`;
    return `the token from ${snapshot.sources.token === "cli" ? "--token" : "OPENCLAW_GATEWAY_TOKEN"}`;
  }
  return settings.auth.mode === "password" ? "the gateway password" : undefined;
}

/**
 * Start the gateway. Resolves with the running gateway, or `undefined` when `signal` was
 * aborted while starting (everything started so far is stopped again).
 */
export async function bootGateway(opts: BootOptions): Promise<BootedGateway | undefined> {
  const { paths, log } = opts;
  let fileLog: RotatingFileSink | undefined;
  let lock: InstanceLock | undefined;
  let gateway: Gateway | undefined;
  let discovery: import("../discovery/index.ts").DiscoveryHandle | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await discovery?.stop(); // mDNS goodbye (bounded)
    await gateway?.stop();
    lock?.release();
  };
  const aborted = () => opts.signal?.aborted === true;
  try {
    let prepared: Prepared;
    try {
      prepared = await prepareConfig(opts);
    } catch (err) {
      fileLog = attachFileLog(log, paths, undefined);
      throw err;
    }
    const { snapshot, created, recovery } = prepared;
    fileLog = attachFileLog(log, paths, snapshot.config);
    for (const w of snapshot.warnings) log.warn(w);
    log.info("resolving authentication…");
    const settings = resolveGatewaySettings(snapshot);
    for (const w of settings.warnings) log.warn(w);
    if (aborted()) return void (await stop());

    if (opts.force) {
      const { forceFreePort } = await import("../system/force.ts");
      const held = await inspectLock(paths.stateDir);
      await forceFreePort(settings.port, log, { extraPids: held.held && held.info ? [held.info.pid] : [] });
    }
    try {
      lock = await InstanceLock.acquire(paths.stateDir, { configPath: paths.configPath, version: VERSION });
    } catch (err) {
      if (err instanceof LockHeldError) {
        throw new StartupError([
          `Gateway failed to start: ${err.message}.`,
          "Stop it first (or run an isolated gateway with --profile <name> or --dev), or pass --force to replace it.",
        ]);
      }
      throw err;
    }
    if (aborted()) return void (await stop());

    log.info("starting...");
    const heldLock = lock;
    let discoveryPort = 0;
    let discoveryTls: string | undefined;
    const startDiscovery = (port: number) =>
      import("../discovery/index.ts")
        .then((m) => {
          if (stopped) return;
          discoveryPort = port;
          discoveryTls = gateway?.tls?.fingerprintSha256;
          const tls = gateway?.tls;
          discovery = m.startDiscovery({ config: gateway?.snapshot.config ?? snapshot.config, paths, port, log, ...(tls ? { tls: { sha256: tls.fingerprintSha256 } } : {}) });
        })
        .catch((err: Error) => log.warn(`discovery not started: ${err.message}`));
    try {
      gateway = await Gateway.start({
        snapshot,
        settings,
        log,
        cli: opts.cli,
        env: opts.env,
        recovery,
        logFile: fileLog?.path,
        subsystems: opts.subsystems ?? gatewayParts(),
        // After every (re)listen, so the lock and the beacon name the port actually in use.
        onListening: async (gw, restart) => {
          await heldLock.update({ configPath: paths.configPath, version: VERSION, port: gw.port });
          if (restart && discovery && (gw.port !== discoveryPort || gw.tls?.fingerprintSha256 !== discoveryTls)) {
            await discovery.stop();
            discovery = undefined;
            await startDiscovery(gw.port);
          }
        },
        onFatal: (err) => {
          heldLock.release();
          opts.onFatal?.(err);
        },
      });
    } catch (err) {
      if (err instanceof Error && err.name === "TlsSetupError") {
        // TLS was asked for: refusing to start is the only safe answer (no plaintext fallback).
        throw new StartupError(
          [`Gateway failed to start: ${err.message}`, "gateway.tls.enabled is true; the gateway does not fall back to plaintext. Fix the certificate files or set gateway.tls.enabled=false."],
          EXIT_CONFIG,
          "gateway.tls",
        );
      }
      if (err instanceof BindError) {
        const busy = err.code === "EADDRINUSE" ? await describeBusyPort(err.port) : [];
        throw new StartupError(
          [`Gateway failed to start: ${err.message}`, ...busy, "If the gateway is supervised, stop it with: openclaw gateway stop"],
          err.code === "EADDRINUSE" ? EXIT_CONFIG : 1,
        );
      }
      throw err;
    }
    if (aborted()) return void (await stop());
    // Discovery (Bonjour beacon, wide-area zone) starts after the port is open; it can fail
    // without affecting the gateway and never delays startup.
    void startDiscovery(gateway.port);
    return { gateway, snapshot, settings, created, fileLog, secretHint: secretHint(settings, snapshot), stop };
  } catch (err) {
    await stop().catch(() => {});
    const refusal = asRefusal(err);
    // The file log keeps the refusal (the caller prints it).
    const time = new Date().toISOString();
    for (const message of refusal.lines) fileLog?.write({ time, level: "error", subsystem: "gateway", message });
    await fileLog?.close();
    throw refusal;
  }
}

/** Errors that already say what to do pass as they are; anything else is "failed to start" (exit 1). */
function asRefusal(err: unknown): Error & { lines: string[]; exitCode: number } {
  if (err instanceof Error && Array.isArray((err as { lines?: unknown }).lines) && typeof (err as { exitCode?: unknown }).exitCode === "number") {
    return err as Error & { lines: string[]; exitCode: number };
  }
  if (err instanceof Error && err.name === "ConfigError") return new StartupError(err.message.split("\n"), EXIT_CONFIG);
  if (err instanceof Error && err.name === "ForceError") return new StartupError([err.message], 1);
  return new StartupError([`Gateway failed to start: ${(err as Error)?.message ?? err}`], 1);
}
