/**
 * Test harness of the channels inside the gateway: an in-process Gateway (listener, config
 * lifecycle, agent runtime) hosting the channels subsystem, with the fake Telegram Bot API, the
 * fake Discord and the fake model provider on loopback. The plugins and the host use short
 * backoffs so fault tests run in milliseconds; everything else is what `openclaw gateway` runs.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDiscordPlugin } from "../../src/channels/discord/plugin.ts";
import { channelsSubsystem, type ChannelsSubsystemOptions } from "../../src/channels/subsystem.ts";
import { createTelegramPlugin, type TelegramPluginOptions } from "../../src/channels/telegram/plugin.ts";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import { loadConfig } from "../../src/config/snapshot.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { configHash } from "../../src/gateway/methods/config.ts";
import { createLogger } from "../../src/log/logger.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { FakeDiscord } from "../fixture/fake-discord.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { tempDir } from "../helpers/state-dir.ts";
import { FAST, WaitableSink } from "./harness.ts";

export { FAST, sentTo, until, WaitableSink } from "./harness.ts";

const FAST_RETRY = { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10, budgetMs: 1000 };

export interface ChannelGateway {
  gw: Gateway;
  telegram: FakeTelegram;
  discord?: FakeDiscord;
  upstream: FakeUpstream;
  stateDir: string;
  configPath: string;
  logs: WaitableSink;
  /** The config document as last written. */
  config: Record<string, any>;
  /** Write a new config document; resolves once the gateway has processed it. */
  edit(mutate: (doc: Record<string, any>) => void): Promise<void>;
  connect(scopes?: string[]): Promise<GatewayClient>;
  /** Messages of a session in the store, oldest first. */
  transcript(sessionKey?: string): Array<{ role: string; content: string }>;
  stop(): Promise<void>;
}

export interface ChannelGatewayOptions {
  /** Merged into `channels.telegram` (token and apiRoot are set); false: no Telegram block. */
  telegram?: Record<string, unknown> | false;
  /** `channels.discord` (the token is set) or undefined for none. */
  discord?: Record<string, unknown>;
  /** Extra top-level config keys. */
  config?: Record<string, unknown>;
  telegramPlugin?: TelegramPluginOptions;
  host?: ChannelsSubsystemOptions["host"];
  /** Model id of the default agent on the fake provider (default echo). */
  model?: string;
}

export async function startChannelGateway(opts: ChannelGatewayOptions = {}): Promise<ChannelGateway> {
  const stateDir = tempDir("openclaw-channels-gw-");
  const telegram = new FakeTelegram().start();
  telegram.maxPollMs = 2000;
  const discord = opts.discord ? new FakeDiscord().start() : undefined;
  const upstream = new FakeUpstream().start();
  const channels: Record<string, unknown> = {};
  if (opts.telegram !== false) channels.telegram = { botToken: telegram.token, apiRoot: telegram.url, ...(opts.telegram ?? {}) };
  if (discord) channels.discord = { token: discord.token, ...opts.discord };
  const config: Record<string, any> = {
    gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, reload: { debounceMs: 20 } },
    models: { providers: { oai: { baseUrl: `${upstream.url}/v1`, api: "openai-completions", timeoutSeconds: 2, retry: FAST_RETRY, models: [{ id: opts.model ?? "echo" }] } } },
    agents: { defaults: { model: `oai/${opts.model ?? "echo"}` }, list: [{ id: "main", default: true }] },
    ...(Object.keys(channels).length ? { channels } : {}),
    ...opts.config,
  };
  const configPath = join(stateDir, "openclaw.json");
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const env: Record<string, string | undefined> = { OPENCLAW_STATE_DIR: stateDir, ...(discord ? { DISCORD_API_URL: `${discord.url}/api/v10` } : {}) };
  const paths = resolvePaths({ env });
  const loaded = await loadConfig({ paths, env });
  const settings = { ...resolveGatewaySettings(loaded, { container: false }), port: 0 };
  const logs = new WaitableSink();
  const log = createLogger({ level: "debug", sinks: [logs] });
  const subsystem = channelsSubsystem({
    plugins: () => [createTelegramPlugin({ retry: FAST, ...opts.telegramPlugin }), createDiscordPlugin({ retry: FAST })],
    host: { restart: FAST, retry: FAST, ...opts.host },
  });
  const gw = await Gateway.start({ snapshot: loaded, settings, log, env, bindRetries: 0, subsystems: [subsystem] });
  const clients: GatewayClient[] = [];
  const h: ChannelGateway = {
    gw,
    telegram,
    discord,
    upstream,
    stateDir,
    configPath,
    logs,
    config,
    async edit(mutate) {
      const doc = structuredClone(h.config);
      mutate(doc);
      h.config = doc;
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      const hash = configHash(text);
      writeFileSync(configPath, text);
      const lifecycle = gw.lifecycle!;
      const deadline = Date.now() + 10_000;
      while (!lifecycle.history.some((o) => o.hash === hash && o.status !== "restart-scheduled")) {
        if (Date.now() > deadline) throw new Error(`config edit not processed; history: ${JSON.stringify(lifecycle.history.slice(-3))}`);
        await Bun.sleep(5);
      }
      await lifecycle.settled();
    },
    async connect(scopes = ["operator.admin"]) {
      const c = await GatewayClient.connect({ url: `ws://127.0.0.1:${gw.port}`, token: TEST_TOKEN, scopes, connectTimeoutMs: 5_000, requestTimeoutMs: 15_000 });
      clients.push(c);
      return c;
    },
    transcript(sessionKey = "agent:main:main") {
      return gw.agents.store.history(sessionKey).map((m) => ({ role: m.role, content: m.content }));
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await gw.stop();
      await Promise.all([telegram.stop(), discord?.stop(), upstream.stop()]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** The config file as JSON. */
export function readJson(path: string): Record<string, any> {
  return JSON.parse(readFileSync(path, "utf8"));
}
