/**
 * `openclaw gateway` (= `openclaw gateway run`): load config, resolve auth and bind, start the
 * server, and stop cleanly on SIGTERM/SIGINT. Exit codes: 0 ok, 1 error, 78 config error.
 */
import { defineCommand } from "citty";
import { ConfigError, loadConfig, type CliOverrides, type LoadedConfig } from "../config/load.ts";
import { resolvePaths } from "../config/paths.ts";
import { EXIT_CONFIG, resolveGatewaySettings, StartupError, type GatewaySettings } from "../config/runtime.ts";
import { isLogLevel, type LogLevel } from "../config/levels.ts";
import { AuthMode, BindMode } from "../config/schema.ts";
import { initialConfig, writeConfig } from "../config/write.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { globals } from "./globals.ts";

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
    const raw = String(args.port).trim();
    const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) throw new ExitError([`Invalid --port "${raw}". Use a number from 1 to 65535.`], 1);
    cli.port = port;
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
  if (verbose) return "debug";
  const fromEnv = process.env.OPENCLAW_LOG_LEVEL?.trim().toLowerCase();
  if (fromEnv && isLogLevel(fromEnv)) return fromEnv;
  return globals().logLevel ?? "info";
}

/** Load config; write the zero-setup config on first run. */
async function prepareConfig(
  log: Logger,
  cli: CliOverrides,
  allowUnconfigured: boolean,
): Promise<{ loaded: LoadedConfig; created: boolean }> {
  const paths = resolvePaths({ profile: globals().profile });
  let loaded = await loadConfig({ paths, cli });
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
  return { loaded, created: false };
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

export async function runGateway(args: Record<string, unknown>): Promise<void> {
  const started = performance.now();
  const log = createLogger({ level: consoleLevel(Boolean(args.verbose)), subsystem: "gateway" });
  try {
    const cli = parseFlags(args);
    log.info("loading configuration…");
    const { loaded, created } = await prepareConfig(log, cli, Boolean(args["allow-unconfigured"]));
    for (const w of loaded.warnings) log.warn(w);
    if (args.force) log.debug("--force: no port cleanup in this build; a busy port fails with EADDRINUSE");
    log.info("resolving authentication…");
    const settings = resolveGatewaySettings(loaded);
    for (const w of settings.warnings) log.warn(w);
    log.info("starting...");
    const { startGateway, BindError } = await import("../gateway/server.ts");
    let handle: Awaited<ReturnType<typeof startGateway>>;
    try {
      handle = await startGateway({ loaded, settings, log });
    } catch (err) {
      if (err instanceof BindError) {
        throw new ExitError(
          [`Gateway failed to start: ${err.message}`, "If the gateway is supervised, stop it with: openclaw gateway stop"],
          1,
        );
      }
      throw err;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const addrs = handle.listening.map((h) => (h.includes(":") ? `[${h}]` : h)).join(", ");
    log.info(`listening on ${handle.url} (${addrs}; port ${handle.port}, bind=${settings.bind}, auth=${settings.auth.mode})`);
    log.info(`http server listening (0 plugins; ${seconds}s)`);
    connectHints(log, settings, loaded, handle.url, created);

    let signalled = false;
    let discovery: import("../discovery/index.ts").DiscoveryHandle | undefined;
    const shutdown = async (signal: string) => {
      if (signalled) return;
      signalled = true;
      const t0 = performance.now();
      log.info(`received ${signal}; shutting down`);
      await discovery?.stop(); // mDNS goodbye (bounded)
      await handle.stop();
      log.info(`shutdown completed cleanly in ${Math.round(performance.now() - t0)}ms`);
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));

    // Discovery (Bonjour beacon, wide-area zone) starts after the port is open; it can fail
    // without affecting the gateway and never delays startup.
    import("../discovery/index.ts")
      .then((m) => {
        if (!signalled) discovery = m.startDiscovery({ config: loaded.config, paths: loaded.paths, port: handle.port, log });
      })
      .catch((err: Error) => log.warn(`discovery not started: ${err.message}`));
  } catch (err) {
    if (err instanceof ExitError || err instanceof StartupError) {
      for (const line of err.lines) log.error(line);
      process.exit(err.exitCode);
    }
    if (err instanceof ConfigError) {
      log.error(err.message);
      process.exit(EXIT_CONFIG);
    }
    log.error(`Gateway failed to start: ${(err as Error).message ?? err}`);
    process.exit(1);
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
  subCommands: { run, discover: () => import("./discover.ts").then((m) => m.default) },
});
