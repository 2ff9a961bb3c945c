/**
 * `openclaw gateway` (= `openclaw gateway run`): flags → `bootGateway` (src/gateway/boot.ts) →
 * the listening lines; SIGTERM/SIGINT stop it cleanly. Exit codes: 0 ok (also after a signal),
 * 1 error, 78 do-not-restart (invalid config, start refused, state dir or port taken).
 */
import { defineCommand } from "citty";
import { isLogLevel, type LogLevel } from "../config/levels.ts";
import { resolvePaths } from "../config/paths.ts";
import { parseAuthMode, parseBindMode, type CliOverrides } from "../config/snapshot.ts";
import { createLogger } from "../log/logger.ts";
import { CliError, exitWithError, portFlag } from "./command.ts";
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

/** Flags → the CLI layer of the config snapshot (bad values are a CliError, exit 1). */
export function parseRunFlags(args: Record<string, unknown>): CliOverrides {
  const cli: CliOverrides = {};
  cli.port = portFlag(args.port);
  if (args.bind !== undefined) {
    cli.bind = parseBindMode(args.bind);
    if (!cli.bind) throw new CliError(['Invalid --bind. Use "loopback", "lan", "tailnet", "auto", or "custom".']);
  }
  if (args.auth !== undefined) {
    cli.auth = parseAuthMode(args.auth);
    if (!cli.auth) throw new CliError(['Invalid --auth. Use "token", "password", "none", or "trusted-proxy".']);
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

export async function runGateway(args: Record<string, unknown>): Promise<void> {
  const started = performance.now();
  // Flags first: a bad value is refused before anything is read or written.
  let cli: CliOverrides;
  try {
    cli = parseRunFlags(args);
  } catch (err) {
    exitWithError(err);
  }
  const log = createLogger({ level: consoleLevel(Boolean(args.verbose)), subsystem: "gateway" });
  const abort = new AbortController();
  let booted: import("../gateway/boot.ts").BootedGateway | undefined;
  let signalled = false;
  // Signal handlers come first: a supervisor (or a test) may stop us the moment the port opens,
  // and Bun only honours a handler registered before the signal arrives. A stop during startup
  // tears down whatever exists so far and still exits 0.
  const shutdown = async (signal: string) => {
    if (signalled) return;
    signalled = true;
    const t0 = performance.now();
    log.info(`received ${signal}; shutting down`);
    abort.abort();
    if (booted) {
      await booted.stop();
      log.info(`shutdown completed cleanly in ${Math.round(performance.now() - t0)}ms`);
      await booted.fileLog?.close();
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const { bootGateway } = await import("../gateway/boot.ts");
  log.info("loading configuration…");
  try {
    booted = await bootGateway({
      paths: resolvePaths({ profile: globals().profile }),
      cli,
      log,
      allowUnconfigured: Boolean(args["allow-unconfigured"]),
      force: Boolean(args.force),
      signal: abort.signal,
      onFatal: (err) => exitWithError(new CliError([`Gateway failed: ${err.message}`])),
    });
  } catch (err) {
    exitWithError(err);
  }
  if (!booted) {
    // Stopped by a signal while starting: everything is torn down already.
    log.info("shutdown completed cleanly (during startup)");
    process.exit(0);
  }
  if (signalled) {
    await booted.stop();
    process.exit(0);
  }
  const { gateway, settings } = booted;
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const addrs = gateway.listening.map((h) => (h.includes(":") ? `[${h}]` : h)).join(", ");
  log.info(`listening on ${gateway.url} (${addrs}; port ${gateway.port}, bind=${settings.bind}, auth=${settings.auth.mode})`);
  log.info(`http server listening (0 plugins; ${seconds}s)`);
  if (gateway.tls) log.info(`tls: on, sha256 ${gateway.tls.fingerprintSha256} (${gateway.tls.certPath}); dashboard ${gateway.url.replace(/^wss:/, "https:")}/`);
  if (booted.fileLog) log.info(`log file: ${booted.fileLog.path}`);
  if (booted.created || settings.auth.mode !== "none") {
    log.info(`connect: ${gateway.url}${booted.secretHint ? ` with ${booted.secretHint}` : ""}`);
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
