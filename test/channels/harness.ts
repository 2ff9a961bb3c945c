/**
 * Test harness of the channel host: a temp state dir with the gateway database, a config file,
 * a fake Telegram Bot API (and optionally a fake Discord) on loopback, a logger whose records
 * can be awaited, and a scripted agent turn that records every request.
 */
import type { Database } from "bun:sqlite";
import { realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDiscordPlugin } from "../../src/channels/discord/plugin.ts";
import { ChannelHost, type ChannelHostOptions } from "../../src/channels/host.ts";
import { createTelegramPlugin } from "../../src/channels/telegram/plugin.ts";
import type { ChannelPlugin, RunTurn, TurnRequest } from "../../src/channels/types.ts";
import { validateConfig, type OpenClawConfig } from "../../src/config/schema.ts";
import { createLogger, type LogRecord, type LogSink } from "../../src/log/logger.ts";
import { openDatabase } from "../../src/store/db.ts";
import { FakeDiscord } from "../fixture/fake-discord.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { tempDir } from "../helpers/state-dir.ts";

export const FAST = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0 };

/** A log sink whose records can be awaited. */
export class WaitableSink implements LogSink {
  readonly records: LogRecord[] = [];
  private waiters = new Set<() => void>();
  write(r: LogRecord): void {
    this.records.push(r);
    for (const w of [...this.waiters]) w();
  }
  lines(): string[] {
    return this.records.map((r) => `${r.level} [${r.subsystem}] ${r.message}`);
  }
  has(text: string | RegExp): boolean {
    return this.records.some((r) => (typeof text === "string" ? r.message.includes(text) : text.test(r.message)));
  }
  waitFor(text: string | RegExp, timeoutMs = 5000): Promise<LogRecord> {
    const find = () => this.records.find((r) => (typeof text === "string" ? r.message.includes(text) : text.test(r.message)));
    const hit = find();
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const check = () => {
        const r = find();
        if (!r) return;
        cleanup();
        resolve(r);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`log line ${String(text)} not seen within ${timeoutMs} ms; got:\n${this.lines().join("\n")}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}

/** Resolve when `pred` holds, re-checked whenever `kick` is called or every 5 ms; bounded. */
export async function until(pred: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

export interface Harness {
  host: ChannelHost;
  telegram: FakeTelegram;
  discord?: FakeDiscord;
  stateDir: string;
  configPath: string;
  db: Database;
  logs: WaitableSink;
  turns: TurnRequest[];
  /** Set the reply of the scripted agent (default: `echo: <text>`). */
  reply: { fn: (req: TurnRequest) => Promise<string | undefined> | string | undefined };
  config: OpenClawConfig;
  apply(config: OpenClawConfig): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra config merged under `channels.telegram` (the token and apiRoot are set). */
  telegram?: Record<string, unknown> | false;
  /** Config of `channels.discord` (token and the fake's URLs are set) or false for none. */
  discord?: Record<string, unknown> | false;
  config?: Record<string, unknown>;
  host?: Partial<ChannelHostOptions>;
  env?: Record<string, string | undefined>;
  start?: boolean;
  plugins?: ChannelPlugin[];
  fakeTelegram?: FakeTelegram;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const stateDir = realpathSync(tempDir("openclaw-channels-"));
  const telegram = opts.fakeTelegram ?? new FakeTelegram().start();
  telegram.maxPollMs = 2000;
  const discord = opts.discord === false || opts.discord === undefined ? undefined : new FakeDiscord().start();
  const channels: Record<string, unknown> = {};
  if (opts.telegram !== false) channels.telegram = { botToken: telegram.token, apiRoot: telegram.url, ...(opts.telegram ?? {}) };
  if (discord) channels.discord = { token: discord.token, ...(opts.discord as Record<string, unknown>) };
  const raw = { ...(opts.config ?? {}), channels: { ...channels, ...((opts.config?.channels as object) ?? {}) } };
  const checked = validateConfig(raw);
  if (!checked.ok) throw new Error(`harness config invalid: ${JSON.stringify(checked.issues)}`);
  const configPath = join(stateDir, "openclaw.json");
  writeFileSync(configPath, JSON.stringify(raw, null, 2), { mode: 0o600 });
  const logs = new WaitableSink();
  const log = createLogger({ level: "debug", sinks: [logs] });
  const db = openDatabase(stateDir);
  const turns: TurnRequest[] = [];
  const reply: Harness["reply"] = { fn: (req) => `echo: ${req.text}` };
  const runTurn: RunTurn = async (req) => {
    turns.push(req);
    const text = await reply.fn(req);
    return text === undefined ? null : { text };
  };
  const env = { ...(discord ? { DISCORD_API_URL: `${discord.url}/api/v10` } : {}), ...(opts.env ?? {}) };
  const host = new ChannelHost({
    config: checked.config,
    env,
    stateDir,
    configPath,
    db,
    runTurn,
    log,
    plugins: opts.plugins ?? [createTelegramPlugin({ retry: FAST }), createDiscordPlugin({ retry: FAST })],
    restart: FAST,
    retry: FAST,
    ...opts.host,
  });
  if (opts.start !== false) await host.start();
  const h: Harness = {
    host,
    telegram,
    discord,
    stateDir,
    configPath,
    db,
    logs,
    turns,
    reply,
    config: checked.config,
    async apply(config) {
      const c = validateConfig(config);
      if (!c.ok) throw new Error(`config invalid: ${JSON.stringify(c.issues)}`);
      h.config = c.config;
      await host.applyConfig(c.config);
    },
    async stop() {
      await host.stop();
      db.close();
      if (!opts.fakeTelegram) await telegram.stop();
      await discord?.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** The texts of every sendMessage to `chatId`. */
export function sentTo(fake: FakeTelegram, chatId: number | string): string[] {
  return fake.of("sendMessage").filter((c) => String(c.body.chat_id) === String(chatId)).map((c) => String(c.body.text));
}
