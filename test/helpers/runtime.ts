/**
 * Test harness for the config lifecycle: an in-process Gateway (listener + watcher) on a
 * free loopback port with its own temp state dir, plus helpers to edit its config file the way
 * an editor or a script would, and bounded waits on what the runtime did.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecoveryInfo } from "../../src/config/last-good.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { loadConfig, type CliOverrides } from "../../src/config/snapshot.ts";
import type { ReloadOutcome } from "../../src/gateway/config-hooks.ts";
import { Gateway, type GatewayOptions } from "../../src/gateway/gateway.ts";
import type { GatewayLimits } from "../../src/gateway/limits.ts";
import { configHash } from "../../src/gateway/methods/config.ts";
import { createLogger, memorySink, type LogRecord } from "../../src/log/logger.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { TEST_TOKEN } from "./gateway.ts";
import { tempDir } from "./state-dir.ts";

export interface TestRuntime {
  /** The gateway object, with its config lifecycle (`runtime.lifecycle`). */
  runtime: Gateway;
  stateDir: string;
  configPath: string;
  logs: LogRecord[];
  env: Record<string, string | undefined>;
  url(): string;
  /** Write the config in place (JSON, or raw text). Returns the `sha256:` hash of the text. */
  write(config: unknown): string;
  /** Replace the config the way editors do: write a temp file, rename it over the config. */
  renameOver(config: unknown): string;
  /** Wait (bounded) until the runtime has processed content with this hash. */
  processed(hash: string, timeoutMs?: number): Promise<ReloadOutcome>;
  connect(opts?: { token?: string; scopes?: string[] }): Promise<GatewayClient>;
  messages(): string[];
  stop(): Promise<void>;
}

export function textOf(config: unknown): string {
  return typeof config === "string" ? config : `${JSON.stringify(config, null, 2)}\n`;
}

export function hashOf(config: unknown): string {
  return configHash(textOf(config)) as string;
}

export function baseConfig(extra: Record<string, unknown> = {}, reload: Record<string, unknown> = {}): Record<string, any> {
  return {
    gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, reload: { debounceMs: 20, ...reload } },
    ...extra,
  };
}

export async function startTestRuntime(
  opts: {
    config?: unknown;
    cli?: CliOverrides;
    env?: Record<string, string | undefined>;
    limits?: Partial<GatewayLimits>;
    recovery?: RecoveryInfo;
    /** Files to create in the state dir before start (e.g. `.env`). */
    files?: Record<string, string>;
    onListening?: GatewayOptions["onListening"];
    /** A file `logs.tail` reads (the harness logs to memory). */
    logFile?: string;
    /** Long-lived parts to host (e.g. `gatewayParts()`). */
    subsystems?: GatewayOptions["subsystems"];
  } = {},
): Promise<TestRuntime> {
  const stateDir = tempDir("openclaw-reload-test-");
  const configPath = join(stateDir, "openclaw.json");
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(stateDir, name), text, { mode: 0o600 });
  writeFileSync(configPath, textOf(opts.config ?? baseConfig()), { mode: 0o600 });
  const env = { OPENCLAW_STATE_DIR: stateDir, ...opts.env };
  const paths = resolvePaths({ env });
  const loaded = await loadConfig({ paths, cli: opts.cli, env });
  const settings = { ...resolveGatewaySettings(loaded, { container: false }), port: 0 };
  const sink = memorySink();
  const log = createLogger({ level: "debug", sinks: [sink] });
  const fatal: Error[] = [];
  const runtime = await Gateway.start({
    snapshot: loaded,
    settings,
    log,
    cli: opts.cli,
    env,
    limits: opts.limits,
    recovery: opts.recovery,
    bindRetries: 0,
    onListening: opts.onListening,
    logFile: opts.logFile,
    subsystems: opts.subsystems,
    onFatal: (err) => fatal.push(err),
  });
  const lifecycle = runtime.lifecycle!;
  let tmpCounter = 0;
  const t: TestRuntime = {
    runtime,
    stateDir,
    configPath,
    logs: sink.records,
    env,
    url: () => `ws://127.0.0.1:${runtime.port}`,
    write(config) {
      const text = textOf(config);
      writeFileSync(configPath, text);
      return configHash(text) as string;
    },
    renameOver(config) {
      const text = textOf(config);
      const tmp = join(stateDir, `.edit-${++tmpCounter}.swp`);
      writeFileSync(tmp, text);
      renameSync(tmp, configPath);
      return configHash(text) as string;
    },
    async processed(hash, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const hit = lifecycle.history.findLast((o) => o.hash === hash && o.status !== "restart-scheduled");
        if (hit) {
          await lifecycle.settled();
          return hit;
        }
        await Bun.sleep(5);
      }
      throw new Error(`runtime did not process ${hash} within ${timeoutMs} ms; history: ${JSON.stringify(lifecycle.history.slice(-3))}`);
    },
    connect: (o = {}) =>
      GatewayClient.connect({
        url: t.url(),
        token: o.token ?? TEST_TOKEN,
        scopes: o.scopes ?? ["operator.admin"],
        connectTimeoutMs: 5_000,
        requestTimeoutMs: 5_000,
      }),
    messages: () => sink.records.map((r) => r.message),
    async stop() {
      await runtime.stop();
      rmSync(stateDir, { recursive: true, force: true });
      if (fatal.length) throw fatal[0];
    },
  };
  return t;
}

/** Poll `check` every 5 ms until it returns true (bounded). */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
