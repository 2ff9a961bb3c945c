/**
 * `openclaw gateway` (= `openclaw gateway run`): load config, resolve auth and bind, start the
 * server, and stop cleanly on SIGTERM/SIGINT. Exit codes: 0 ok, 1 error, 78 config error.
 */
import { defineCommand } from "citty";
import { ConfigError, loadConfig, type CliOverrides, type LoadedConfig } from "../config/load.ts";
import { loadConfigWithRecovery, type RecoveryInfo } from "../config/last-good.ts";
import { assertNotNewerConfig, GuardedAction, isServiceMode, NewerConfigError, readTouchedVersion } from "../config/version-guard.ts";
import { resolvePaths, type ResolvedPaths } from "../config/paths.ts";
import { EXIT_CONFIG, resolveGatewaySettings, StartupError, type GatewaySettings } from "../config/runtime.ts";
import { isLogLevel, type LogLevel } from "../config/levels.ts";
import { AuthMode, BindMode, type OpenClawConfig } from "../config/schema.ts";
import { initialConfig, writeConfig } from "../config/write.ts";
import { gatewayLogFile, RotatingFileSink } from "../log/file.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { inspectLock, InstanceLock, LockHeldError } from "../system/lock.ts";
import { VERSION } from "../version.ts";
import { globals } from "./globals.ts";
import { parsePortFlag } from "./target.ts";

export const runArgs = {
  port: { type: "string", description: "Port to listen on (default 18789; --dev 19001)" },
  bind: { type: "string", description: "loopback | lan | tailnet | auto | custom" },
  auth: { type: "string", description: "token | password | none | trusted-proxy" },
  token: { type: "string", description: "Shared token (overrides OPENCLAW_GATEWAY_TOKEN and gateway.auth.token)" },
  password: { type: "string", description: "Shared password (visible in ps; prefer OPENCLAW_GATEWAY_PASSWORD)" },
  verbose: { type: "boolean", description: "Mirror debug and trace logs to stdio" },
  "allow-unconfigured": { type: "boolean", description: "Start even when gateway.mode is missing or not local" },
  force: { type: "boolean", description: "Free the port from a previous listener before starting" },
} as const;

class ExitError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode: number,
  ) {
    super(lines.join("\n"));
  }
}

function parseFlags(args: Record<string, unknown>): CliOverrides {
  const cli: CliOverrides = {};
  if (args.port !== undefined) {
    try {
      cli.port = parsePortFlag(args.port as string);
    } catch (err) {
      throw new ExitError([(err as Error).message], 1);
    }
  }
  if (args.bind !== undefined) {
    const bind = BindMode.safeParse(args.bind);
    if (!bind.success) throw new ExitError(['Invalid --bind. Use "loopback", "lan", "tailnet", "auto", or "custom".'], 1);
    cli.bind = bind.data;
  }
  if (args.auth !== undefined) {
    const auth = AuthMode.safeParse(args.auth);
    if (!auth.success) throw new ExitError(['Invalid --auth. Use "token", "password", "none", or "trusted-proxy".'], 1);
    cli.auth = auth.data;
  }
  if (typeof args.token === "string") cli.token = args.token;
  if (typeof args.password === "string") cli.password = args.password;
  return cli;
}

function consoleLevel(verbose: boolean): LogLevel {
  if (verbose) return "trace";
  const fromEnv = process.env.OPENCLAW_LOG_LEVEL?.trim().toLowerCase();
  if (fromEnv && isLogLevel(fromEnv)) return fromEnv;
  return globals().logLevel ?? "info";
}

/** Load config; write the zero-setup config on first run. */
async function prepareConfig(
  log: Logger,
  paths: ResolvedPaths,
  cli: CliOverrides,
  allowUnconfigured: boolean,
  force: boolean,
): Promise<{ loaded: LoadedConfig; created: boolean; recovery?: RecoveryInfo }> {
  // Newer-config guard (issue 5): read straight from the file, before validation; only the
  // service start and --force are guarded, so a plain start does not read the file twice.
  const serviceMode = isServiceMode();
  if (serviceMode || force) {
    const touchedVersion = await readTouchedVersion(paths.configPath);
    if (serviceMode) assertNotNewerConfig({ touchedVersion, action: GuardedAction.serviceStartup, exitCode: EXIT_CONFIG });
    if (force) assertNotNewerConfig({ touchedVersion, action: GuardedAction.forcePortCleanup, exitCode: 1 });
  }
  const first = await loadConfigWithRecovery({ paths, cli });
  let loaded = first.loaded;
  const recovery = first.recovery;
  if (!loaded.exists) {
    if (allowUnconfigured) return { loaded, created: false };
    const passwordMode =
      cli.auth === "password" || (!cli.auth && Boolean(loaded.config.gateway?.auth?.password) && !cli.token && !process.env.OPENCLAW_GATEWAY_TOKEN);
    await writeConfig(paths.configPath, initialConfig({ passwordMode }));
    loaded = await loadConfig({ paths, cli });
    log.info(`created ${paths.configPath} (gateway.mode=local, ${passwordMode ? "password" : "token"} auth; mode 0600)`);
    return { loaded, created: true };
  }
  if (!allowUnconfigured) {
    const mode = loaded.file.gateway?.mode;
    if (mode === undefined) {
      throw new ExitError(
        [
          "Gateway start blocked: existing config is missing gateway.mode. Treat this as suspicious or clobbered config. Set gateway.mode=local manually, or pass --allow-unconfigured.",
          `Config: ${paths.configPath}`,
        ],
        EXIT_CONFIG,
      );
    }
    if (mode !== "local") {
      throw new ExitError([`Gateway start blocked: set gateway.mode=local (current: ${mode}) or pass --allow-unconfigured.`], EXIT_CONFIG);
    }
  }
  return { loaded, created: false, recovery };
}

function connectHints(log: Logger, settings: GatewaySettings, loaded: LoadedConfig, url: string, created: boolean): void {
  const where =
    settings.auth.mode === "token"
      ? settings.auth.runtimeToken
        ? "a runtime token (not saved)"
        : loaded.sources.token === "config"
          ? `gateway.auth.token in ${loaded.paths.configPath}`
          : `the token from ${loaded.sources.token === "cli" ? "--token" : "OPENCLAW_GATEWAY_TOKEN"}`
      : settings.auth.mode === "password"
        ? "the gateway password"
        : undefined;
  if (created || settings.auth.mode !== "none") {
    log.info(`connect: ${url}${where ? ` with ${where}` : ""}`);
  }
}

/** `<stateDir>/logs/gateway.log`, or `logging.file`; its level is `logging.level` (info). */
function attachFileLog(log: Logger, paths: ResolvedPaths, cfg: OpenClawConfig | undefined): RotatingFileSink | undefined {
  const path = gatewayLogFile(paths.stateDir, cfg);
  try {
    const sink = new RotatingFileSink({ path, maxFileBytes: cfg?.logging?.maxFileBytes });
    sink.level = cfg?.logging?.level ?? "info";
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

export async function runGateway(args: Record<string, unknown>): Promise<void> {
  const started = performance.now();
  const log = createLogger({ level: consoleLevel(Boolean(args.verbose)), subsystem: "gateway" });
  let fileLog: RotatingFileSink | undefined;
  let lock: InstanceLock | undefined;
  let runtime: import("../gateway/lifecycle.ts").GatewayRuntime | undefined;
  let discovery: import("../discovery/index.ts").DiscoveryHandle | undefined;
  let signalled = false;
  const fail = async (lines: string[], code: number): Promise<never> => {
    for (const line of lines) log.error(line);
    lock?.release();
    await fileLog?.close();
    process.exit(code);
  };
  // Signal handlers come first: a supervisor (or a test) may stop us the moment the port opens,
  // and Bun only honours a handler registered before the signal arrives. A stop during startup
  // tears down whatever exists so far and still exits 0.
  const shutdown = async (signal: string) => {
    if (signalled) return;
    signalled = true;
    const t0 = performance.now();
    log.info(`received ${signal}; shutting down`);
    await discovery?.stop(); // mDNS goodbye (bounded)
    await runtime?.stop();
    lock?.release();
    log.info(`shutdown completed cleanly in ${Math.round(performance.now() - t0)}ms`);
    await fileLog?.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  try {
    const cli = parseFlags(args);
    const paths = resolvePaths({ profile: globals().profile });
    log.info("loading configuration…");
    let prepared: { loaded: LoadedConfig; created: boolean; recovery?: RecoveryInfo };
    try {
      prepared = await prepareConfig(log, paths, cli, Boolean(args["allow-unconfigured"]), Boolean(args.force));
    } catch (err) {
      fileLog = attachFileLog(log, paths, undefined);
      throw err;
    }
    const { loaded, created, recovery } = prepared;
    fileLog = attachFileLog(log, paths, loaded.config);
    for (const w of loaded.warnings) log.warn(w);
    log.info("resolving authentication…");
    const settings = resolveGatewaySettings(loaded);
    for (const w of settings.warnings) log.warn(w);

    if (args.force) {
      const { forceFreePort } = await import("../system/force.ts");
      const held = await inspectLock(paths.stateDir);
      await forceFreePort(settings.port, log, { extraPids: held.held && held.info ? [held.info.pid] : [] });
    }
    try {
      lock = await InstanceLock.acquire(paths.stateDir, { configPath: paths.configPath, version: VERSION });
    } catch (err) {
      if (err instanceof LockHeldError) {
        throw new ExitError(
          [
            `Gateway failed to start: ${err.message}.`,
            "Stop it first (or run an isolated gateway with --profile <name> or --dev), or pass --force to replace it.",
          ],
          EXIT_CONFIG,
        );
      }
      throw err;
    }

    log.info("starting...");
    const { BindError } = await import("../gateway/server.ts");
    const { GatewayRuntime } = await import("../gateway/lifecycle.ts");
    type GatewayRuntimeType = Awaited<ReturnType<typeof GatewayRuntime.start>>;
    const heldLock = lock;
    let discoveryPort = 0;
    const startDiscovery = (port: number) =>
      import("../discovery/index.ts")
        .then((m) => {
          if (signalled) return;
          discoveryPort = port;
          discovery = m.startDiscovery({ config: loaded.config, paths: loaded.paths, port, log });
        })
        .catch((err: Error) => log.warn(`discovery not started: ${err.message}`));
    let rt: GatewayRuntimeType;
    try {
      rt = await GatewayRuntime.start({
        loaded,
        settings,
        log,
        cli,
        recovery,
        serverOptions: { logFile: fileLog?.path },
        // After every (re)listen, so the lock and the beacon name the port actually in use.
        onListening: async (h, restart) => {
          await heldLock.update({ configPath: paths.configPath, version: VERSION, port: h.port });
          if (restart && discovery && h.port !== discoveryPort) {
            await discovery.stop();
            discovery = undefined;
            await startDiscovery(h.port);
          }
        },
        onFatal: (err) => {
          log.error(`Gateway failed: ${err.message}`);
          heldLock.release();
          process.exit(1);
        },
      });
    } catch (err) {
      if (err instanceof BindError) {
        const busy = err.code === "EADDRINUSE" ? await describeBusyPort(err.port) : [];
        throw new ExitError(
          [`Gateway failed to start: ${err.message}`, ...busy, "If the gateway is supervised, stop it with: openclaw gateway stop"],
          err.code === "EADDRINUSE" ? EXIT_CONFIG : 1,
        );
      }
      throw err;
    }
    runtime = rt;
    if (signalled) {
      // A signal arrived while we were starting: finish the stop now that there is a runtime.
      await rt.stop();
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const addrs = rt.handle.listening.map((h) => (h.includes(":") ? `[${h}]` : h)).join(", ");
    log.info(`listening on ${rt.url} (${addrs}; port ${rt.port}, bind=${settings.bind}, auth=${settings.auth.mode})`);
    log.info(`http server listening (0 plugins; ${seconds}s)`);
    if (fileLog) log.info(`log file: ${fileLog.path}`);
    connectHints(log, settings, loaded, rt.url, created);

    // Discovery (Bonjour beacon, wide-area zone) starts after the port is open; it can fail
    // without affecting the gateway and never delays startup.
    void startDiscovery(rt.port);
  } catch (err) {
    if (err instanceof ExitError || err instanceof StartupError || err instanceof NewerConfigError) return fail(err.lines, err.exitCode);
    if (err instanceof ConfigError) return fail(err.message.split("\n"), EXIT_CONFIG);
    const { ForceError } = await import("../system/force.ts");
    if (err instanceof ForceError) return fail([err.message], 1);
    return fail([`Gateway failed to start: ${(err as Error).message ?? err}`], 1);
  }
}

const run = defineCommand({
  meta: { name: "run", description: "Run the gateway in the foreground" },
  args: runArgs,
  run: ({ args }) => runGateway(args),
});

export default defineCommand({
  meta: { name: "gateway", description: "Run and manage the gateway (default: run)" },
  args: runArgs,
  default: "run",
  subCommands: {
    run,
    status: () => import("./status.ts").then((m) => m.gatewayStatusCommand),
    probe: () => import("./probe.ts").then((m) => m.probeCommand),
    call: () => import("./call.ts").then((m) => m.callCommand),
    health: () => import("./call.ts").then((m) => m.gatewayHealthCommand),
    discover: () => import("./discover.ts").then((m) => m.default),
    install: () => import("./service.ts").then((m) => m.installCommand),
    uninstall: () => import("./service.ts").then((m) => m.uninstallCommand),
    start: () => import("./service.ts").then((m) => m.startCommand),
    stop: () => import("./service.ts").then((m) => m.stopCommand),
    restart: () => import("./service.ts").then((m) => m.restartCommand),
  },
});
