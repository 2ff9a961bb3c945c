#!/usr/bin/env bun
/**
 * Channel host benchmarks against the loopback fakes, with a scripted agent turn that answers
 * at once (so the figures are the host's own cost plus the Bot API round trips):
 *
 *   bun scripts/bench/channels.ts [--messages 200] [--flood 2000] [--chats 50] [--runs 3] [--no-rss]
 *
 *   overhead    one DM at a time: from the update being queued at the fake Bot API to the
 *               reply's sendMessage arriving there (long-poll wake-up, getUpdates, durable
 *               ingest, decode, policy, routing, typing, sendMessage). Reference: one bare
 *               HTTP round trip to the same fake.
 *   throughput  `--flood` DMs over `--chats` chats queued at once, one account: replies per second.
 *   rss         a child process running the host with one Telegram and one Discord account
 *               connected to the fakes (which run in this process), idle; reference: the same
 *               child with everything loaded but the host not started.
 *
 * Stdout gets one JSON object; progress goes to stderr. Every wait is bounded; only the child
 * processes started here are stopped, by PID.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createDiscordPlugin } from "../../src/channels/discord/plugin.ts";
import { ChannelHost } from "../../src/channels/host.ts";
import { createTelegramPlugin } from "../../src/channels/telegram/plugin.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log/logger.ts";
import { openDatabase } from "../../src/store/db.ts";
import { FakeDiscord } from "../../test/fixture/fake-discord.ts";
import { FakeTelegram } from "../../test/fixture/fake-telegram.ts";
import { figure, intArg, kibToMB, machineInfo, metric, percentile, round, say, type Metric } from "./lib.ts";

const silent = () => createLogger({ level: "silent", sinks: [] });

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await Bun.sleep(1);
  }
}

async function withHost<T>(fake: FakeTelegram, fn: (host: ChannelHost) => Promise<T>): Promise<T> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "openclaw-bench-channels-")));
  const db = openDatabase(dir);
  const config = { channels: { telegram: { botToken: fake.token, apiRoot: fake.url, dmPolicy: "open", allowFrom: ["*"] } } } as OpenClawConfig;
  const host = new ChannelHost({ config, stateDir: dir, db, log: silent(), plugins: [createTelegramPlugin()], runTurn: async (req) => ({ text: `re: ${req.text}` }) });
  try {
    await host.start();
    await until(() => host.supervisor("telegram")?.state.connected === true, 10_000, "telegram connected");
    // The first long poll (timeout 30) is in flight now.
    await until(() => fake.of("getUpdates").length >= 2, 10_000, "long poll");
    return await fn(host);
  } finally {
    await host.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function overhead(messages: number): Promise<{ samples: number[]; reference: number[] }> {
  const fake = new FakeTelegram().start();
  try {
    const reference: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await fetch(`${fake.url}/bot${fake.token}/getMe`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then((r) => r.text());
      reference.push(performance.now() - t0);
    }
    fake.reset();
    const samples = await withHost(fake, async () => {
      const out: number[] = [];
      for (let i = 0; i < messages; i++) {
        const before = fake.of("sendMessage").length;
        const t0 = performance.now();
        fake.dm(`m${i}`, { id: 4242 });
        await until(() => fake.of("sendMessage").length > before, 10_000, `reply ${i}`);
        out.push(performance.now() - t0);
      }
      return out;
    });
    return { samples, reference };
  } finally {
    await fake.stop();
  }
}

async function throughput(total: number, chats: number): Promise<number> {
  const fake = new FakeTelegram().start();
  try {
    return await withHost(fake, async () => {
      const t0 = performance.now();
      for (let i = 0; i < total; i++) fake.dm(`f${i}`, { id: 10_000 + (i % chats) });
      await until(() => fake.of("sendMessage").length >= total, 120_000, "all replies");
      return total / ((performance.now() - t0) / 1000);
    });
  } finally {
    await fake.stop();
  }
}

function vmRssKiB(pid: number): number {
  const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function rss(startHost: boolean): Promise<number> {
  const tg = new FakeTelegram().start();
  const dc = new FakeDiscord().start();
  const child = Bun.spawn([process.execPath, import.meta.path, "--child", startHost ? "host" : "idle", tg.url, tg.token, dc.url, dc.token], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = child.stdout.getReader();
    let buf = "";
    const deadline = Date.now() + 20_000;
    while (!buf.includes("ready")) {
      if (Date.now() > deadline) throw new Error("child not ready");
      const { value, done } = await reader.read();
      if (done) throw new Error("child exited");
      buf += new TextDecoder().decode(value);
    }
    await Bun.sleep(2000); // idle
    return kibToMB(vmRssKiB(child.pid));
  } finally {
    child.kill();
    await child.exited;
    await tg.stop();
    await dc.stop();
  }
}

async function childMain(mode: string, tgUrl: string, tgToken: string, dcUrl: string, dcToken: string): Promise<void> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "openclaw-bench-rss-")));
  const db = openDatabase(dir);
  const config = { channels: { telegram: { botToken: tgToken, apiRoot: tgUrl }, discord: { token: dcToken } } } as OpenClawConfig;
  const host = new ChannelHost({
    config,
    env: { DISCORD_API_URL: `${dcUrl}/api/v10` },
    stateDir: dir,
    db,
    log: silent(),
    plugins: [createTelegramPlugin(), createDiscordPlugin()],
    runTurn: async () => null,
  });
  if (mode === "host") {
    await host.start();
    await until(() => host.listSupervisors().every((s) => s.state.connected), 15_000, "accounts connected");
  }
  Bun.gc(true);
  process.stdout.write("ready\n");
  process.on("SIGTERM", async () => {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  await new Promise(() => {});
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { messages: { type: "string" }, flood: { type: "string" }, chats: { type: "string" }, runs: { type: "string" }, "no-rss": { type: "boolean" }, child: { type: "string" } },
    allowPositionals: true,
  });
  if (values.child) {
    const [tgUrl, tgToken, dcUrl, dcToken] = positionals;
    await childMain(values.child, tgUrl, tgToken, dcUrl, dcToken);
  } else {
    const messages = intArg("messages", values.messages, 200, 10, 100_000);
    const flood = intArg("flood", values.flood, 2000, 10, 1_000_000);
    const chats = intArg("chats", values.chats, 50, 1, 10_000);
    const runs = intArg("runs", values.runs, 3, 1, 50);
    const metrics: Metric[] = [];

    const p50s: number[] = [];
    const p95s: number[] = [];
    const refs: number[] = [];
    for (let r = 0; r < runs; r++) {
      say(`overhead run ${r + 1}/${runs} (${messages} messages)`);
      const { samples, reference } = await overhead(messages);
      p50s.push(percentile(samples, 50)!);
      p95s.push(percentile(samples, 95)!);
      refs.push(percentile(reference, 50)!);
    }
    metrics.push(
      metric({
        id: "channels.overhead.p50",
        label: "inbound update → reply sendMessage, p50 (instant agent)",
        unit: "ms",
        better: "lower",
        openclaw: figure(p50s),
        referenceLabel: "one HTTP round trip to the fake Bot API (p50)",
        reference: figure(refs),
        target: { on: "value", op: "<=", limit: 20, text: "≤ 20 ms p50 added by the gateway" },
      }),
      metric({ id: "channels.overhead.p95", label: "inbound update → reply sendMessage, p95", unit: "ms", better: "lower", openclaw: figure(p95s), referenceLabel: "", reference: null }),
    );

    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      say(`throughput run ${r + 1}/${runs} (${flood} messages over ${chats} chats)`);
      rates.push(await throughput(flood, chats));
    }
    metrics.push(metric({ id: "channels.throughput", label: `messages/s through one Telegram account (${chats} chats)`, unit: "msg/s", better: "higher", openclaw: figure(rates, 0), referenceLabel: "", reference: null }));

    if (!values["no-rss"] && process.platform === "linux") {
      const host: number[] = [];
      const base: number[] = [];
      for (let r = 0; r < runs; r++) {
        say(`rss run ${r + 1}/${runs}`);
        host.push(await rss(true));
        base.push(await rss(false));
      }
      metrics.push(
        metric({
          id: "channels.rss",
          label: "idle RSS, channel host with one Telegram + one Discord account connected (host process only)",
          unit: "MB",
          better: "lower",
          openclaw: figure(host, 1),
          referenceLabel: "same process, modules loaded, host not started",
          reference: figure(base, 1),
          note: "the host alone, not the whole gateway (the gateway wiring is not done yet)",
        }),
      );
    }
    console.log(JSON.stringify({ bench: "channels", machine: machineInfo(), metrics: metrics.map((m) => ({ ...m, openclaw: { ...m.openclaw, samples: m.openclaw.samples.map((x) => round(x)) } })) }, null, 2));
  }
}
