#!/usr/bin/env bun
/**
 * Chat channel figures through the whole gateway: `openclaw gateway` (the compiled binary, or
 * `--binary path`) as its own process, the fake Telegram Bot API, the fake Discord and the fake
 * model provider (model `echo`) in this process, on loopback:
 *
 *   bun scripts/bench/channels.ts [--binary path] [--messages 200] [--flood 1000] [--chats 50]
 *                                 [--runs 3] [--idle-ms 10000] [--no-rss]
 *
 *   overhead    one DM at a time (an allowed sender): from the update being queued at the fake
 *               Bot API to the reply's sendMessage arriving there. It includes three external
 *               round trips the gateway has to make (the getUpdates answer, the model call, the
 *               sendMessage); the reference is those three bare round trips from this process,
 *               and "added" is what the gateway adds on top (target ≤ 20 ms p50).
 *   throughput  `--flood` DMs over `--chats` chats queued at once through one Telegram account,
 *               every one answered by the model: replies per second. With the default
 *               `session.dmScope: main` every DM is a turn of the one main session (one at a
 *               time, by design); `per-peer` gives each chat its own session.
 *   rss         the gateway process alone, idle `--idle-ms` after one Telegram and one Discord
 *               account connected (target ≤ 55 MB), and its CPU time over the second half of that window
 *               (every thread); reference: the same gateway with no channel configured.
 *
 * Stdout gets one JSON object; progress goes to stderr. Every wait is bounded; only the child
 * processes started here are stopped, by PID.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { spawnGateway, type GatewayChild } from "../lib/gateway-child.ts";
import { cpuMs, freePort, readRssAnonKiB, readRssKiB, waitForPort } from "../lib/proc.ts";
import { artifactName, buildId, compileTarget, hostTarget } from "../build.ts";
import { FakeDiscord } from "../../test/fixture/fake-discord.ts";
import { FakeTelegram } from "../../test/fixture/fake-telegram.ts";
import { FakeUpstream } from "../../test/fixture/fake-upstream.ts";
import { dropPageCache } from "./servers.ts";
import { figure, intArg, kibToMB, machineInfo, metric, percentile, round, say, type Metric } from "./lib.ts";

const TOKEN = "bench-channels-token-0123456789abcdef";

interface Fakes {
  telegram: FakeTelegram;
  discord: FakeDiscord;
  upstream: FakeUpstream;
}

/** Fresh fakes for one measurement: a Bot API that served an earlier gateway may still hold
 * updates that gateway never confirmed, and a new gateway would handle them. */
async function withFakes<T>(fn: (fakes: Fakes) => Promise<T>): Promise<T> {
  const fakes: Fakes = { telegram: new FakeTelegram().start(), discord: new FakeDiscord().start(), upstream: new FakeUpstream().start() };
  try {
    return await fn(fakes);
  } finally {
    await Promise.all([fakes.telegram.stop(), fakes.discord.stop(), fakes.upstream.stop()]);
  }
}

async function until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await Bun.sleep(1);
  }
}

/** One gateway child on its own state dir with the given channel config. */
async function startGateway(binary: string, fakes: Fakes, channels: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): Promise<{ child: GatewayChild; stop(): Promise<void> }> {
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-channels-"));
  const port = await freePort();
  const config = {
    gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${fakes.upstream.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
    agents: { defaults: { model: "fake/echo" } },
    ...(channels ? { channels } : {}),
    ...extra,
  };
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
  const child = spawnGateway({ command: [binary], port, stateDir, cwd: stateDir, env: { HOME: stateDir, DISCORD_API_URL: `${fakes.discord.url}/api/v10` } });
  const stop = async () => {
    await child.stop(5_000);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, { timeoutMs: 15_000, exited: child.proc.exited });
  } catch (err) {
    await stop();
    throw new Error(`gateway did not start: ${(err as Error).message}\n${child.output().slice(-2000)}`);
  }
  return { child, stop };
}

/** The Telegram account polls (its first long poll is in flight). */
function telegramReady(fake: FakeTelegram, before: number): Promise<void> {
  return until(() => fake.of("getUpdates").length >= before + 2, 15_000, "telegram polling");
}

const open = (fake: FakeTelegram) => ({ botToken: fake.token, apiRoot: fake.url, dmPolicy: "open", allowFrom: ["*"] });

/** p50 of `n` sequential POSTs made by `send`. */
async function roundTrips(n: number, send: () => Promise<unknown>): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await send();
    out.push(performance.now() - t0);
  }
  return percentile(out, 50)!;
}

/** The three round trips every reply needs, bare, from this process. */
async function externalFloor(fakes: Fakes): Promise<number> {
  const json = { "content-type": "application/json" };
  const tg = fakes.telegram;
  const getUpdates = await roundTrips(50, () => fetch(`${tg.url}/bot${tg.token}/getUpdates`, { method: "POST", headers: json, body: '{"timeout":0,"limit":100}' }).then((r) => r.text()));
  const model = await roundTrips(50, () =>
    fetch(`${fakes.upstream.url}/v1/chat/completions`, { method: "POST", headers: json, body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "ping" }] }) }).then((r) => r.text()),
  );
  const send = await roundTrips(50, () => fetch(`${tg.url}/bot${tg.token}/sendMessage`, { method: "POST", headers: json, body: '{"chat_id":4242,"text":"pong"}' }).then((r) => r.text()));
  tg.reset();
  fakes.upstream.reset();
  return getUpdates + model + send;
}

async function overhead(binary: string, fakes: Fakes, messages: number): Promise<{ p50: number; p95: number; floor: number }> {
  const floor = await externalFloor(fakes);
  const tg = fakes.telegram;
  const before = tg.of("getUpdates").length;
  const gw = await startGateway(binary, fakes, { telegram: open(tg) });
  try {
    await telegramReady(tg, before);
    const samples: number[] = [];
    // A few warm-up messages: the first turn loads the model stack.
    for (let i = 0; i < messages + 5; i++) {
      const sent = tg.of("sendMessage").length;
      const t0 = performance.now();
      tg.dm(`m${i}`, { id: 4242 });
      await until(() => tg.of("sendMessage").length > sent, 10_000, `reply ${i}`);
      if (i >= 5) samples.push(performance.now() - t0);
      if (tg.calls.length > 5_000) tg.reset();
    }
    return { p50: percentile(samples, 50)!, p95: percentile(samples, 95)!, floor };
  } finally {
    await gw.stop();
    tg.reset();
    fakes.upstream.reset();
  }
}

async function throughput(binary: string, fakes: Fakes, total: number, chats: number, dmScope: "main" | "per-peer"): Promise<number> {
  const tg = fakes.telegram;
  const before = tg.of("getUpdates").length;
  const gw = await startGateway(binary, fakes, { telegram: open(tg) }, { session: { dmScope } });
  try {
    await telegramReady(tg, before);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) tg.dm(`f${i}`, { id: 10_000 + (i % chats) });
    await until(() => tg.of("sendMessage").length >= total, 300_000, "all replies");
    return total / ((performance.now() - t0) / 1000);
  } finally {
    await gw.stop();
    tg.reset();
    fakes.upstream.reset();
  }
}

async function idleRss(binary: string, fakes: Fakes, withChannels: boolean, idleMs: number): Promise<{ rss: number; anon: number; cpuPerMin: number }> {
  const tg = fakes.telegram;
  const dc = fakes.discord;
  const tgBefore = tg.of("getUpdates").length;
  const identifies = dc.received(2).length;
  // A freshly written binary has dirty pages the cache cannot drop: write them back first.
  const sync = Bun.which("sync");
  if (sync) Bun.spawnSync([sync, binary], { stdout: "ignore", stderr: "ignore", timeout: 30_000 });
  dropPageCache(binary);
  const channels = withChannels ? { telegram: { botToken: tg.token, apiRoot: tg.url }, discord: { token: dc.token } } : undefined;
  const gw = await startGateway(binary, fakes, channels);
  try {
    if (withChannels) {
      await telegramReady(tg, tgBefore);
      await until(() => dc.received(2).length > identifies && dc.connections > 0, 15_000, "discord identified");
    }
    // Idle CPU: every thread's run time over the second half of the idle window (the first half
    // holds the startup collection), with long polls held open by the fake Telegram and Discord
    // heartbeats, as ms of CPU per minute of wall time.
    await Bun.sleep(idleMs / 2);
    const cpu0 = cpuMs(gw.child.pid);
    const t0 = performance.now();
    await Bun.sleep(idleMs / 2);
    const cpuPerMin = ((cpuMs(gw.child.pid) - cpu0) / (performance.now() - t0)) * 60_000;
    const rss = readRssKiB(gw.child.pid);
    const anon = readRssAnonKiB(gw.child.pid);
    if (rss === undefined || anon === undefined) throw new Error("cannot read the gateway's RSS");
    return { rss: kibToMB(rss), anon: kibToMB(anon), cpuPerMin };
  } finally {
    await gw.stop();
    tg.reset();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      binary: { type: "string" },
      messages: { type: "string" },
      flood: { type: "string" },
      chats: { type: "string" },
      runs: { type: "string" },
      "idle-ms": { type: "string" },
      "no-rss": { type: "boolean" },
    },
  });
  const messages = intArg("messages", values.messages, 200, 10, 100_000);
  const flood = intArg("flood", values.flood, 1000, 10, 1_000_000);
  const chats = intArg("chats", values.chats, 50, 1, 10_000);
  const runs = intArg("runs", values.runs, 3, 1, 50);
  const idleMs = intArg("idle-ms", values["idle-ms"], 10_000, 0, 600_000);
  let work: string | undefined;
  let binary = values.binary ? resolve(values.binary) : undefined;
  if (!binary) {
    work = mkdtempSync(join(tmpdir(), "openclaw-bench-channels-build-"));
    say("building the host binary…");
    binary = (await compileTarget({ outfile: join(work, artifactName(hostTarget())), buildId: buildId() })).path;
  }
  const metrics: Metric[] = [];
  try {
    // Memory first: the load phases page more of the binary into the cache, and the kernel maps
    // cached neighbours of every page a process touches (see dropPageCache); the order of the
    // two configurations alternates between runs.
    if (!values["no-rss"] && process.platform === "linux") {
      const withCh: number[] = [];
      const withAnon: number[] = [];
      const without: number[] = [];
      const withoutAnon: number[] = [];
      const withCpu: number[] = [];
      const withoutCpu: number[] = [];
      for (let r = 0; r < runs; r++) {
        say(`rss run ${r + 1}/${runs} (idle ${idleMs} ms)`);
        for (const channels of r % 2 === 0 ? [true, false] : [false, true]) {
          const m = await withFakes((fakes) => idleRss(binary!, fakes, channels, idleMs));
          (channels ? withCh : without).push(m.rss);
          (channels ? withAnon : withoutAnon).push(m.anon);
          (channels ? withCpu : withoutCpu).push(m.cpuPerMin);
        }
      }
      metrics.push(
        metric({
          id: "channels.rss",
          label: "idle RSS of the gateway process with one Telegram + one Discord account connected",
          unit: "MB",
          better: "lower",
          openclaw: figure(withCh, 1),
          referenceLabel: "the same gateway with no channel configured",
          reference: figure(without, 1),
          target: { on: "value", op: "<=", limit: 55, text: "≤ 55 MB" },
        }),
        metric({
          id: "channels.rss.anon",
          label: "its anonymous part (RssAnon)",
          unit: "MB",
          better: "lower",
          openclaw: figure(withAnon, 1),
          referenceLabel: "the same gateway with no channel configured",
          reference: figure(withoutAnon, 1),
        }),
        metric({
          id: "channels.idle-cpu",
          label: "idle CPU of the gateway process (all threads) with both accounts connected, per minute",
          unit: "ms",
          better: "lower",
          openclaw: figure(withCpu, 1),
          referenceLabel: "the same gateway with no channel configured",
          reference: figure(withoutCpu, 1),
        }),
      );
    }

    const p50s: number[] = [];
    const p95s: number[] = [];
    const floors: number[] = [];
    for (let r = 0; r < runs; r++) {
      say(`overhead run ${r + 1}/${runs} (${messages} messages)`);
      const o = await withFakes((fakes) => overhead(binary!, fakes, messages));
      p50s.push(o.p50);
      p95s.push(o.p95);
      floors.push(o.floor);
    }
    const added = p50s.map((p, i) => p - floors[i]);
    metrics.push(
      metric({
        id: "channels.overhead.added.p50",
        label: "inbound update → reply sendMessage through the gateway, p50, minus the external round trips",
        unit: "ms",
        better: "lower",
        openclaw: figure(added),
        referenceLabel: "",
        reference: null,
        target: { on: "value", op: "<=", limit: 20, text: "≤ 20 ms p50 added by the gateway" },
      }),
      metric({
        id: "channels.overhead.p50",
        label: "inbound update → reply sendMessage through the gateway (fake provider), p50",
        unit: "ms",
        better: "lower",
        openclaw: figure(p50s),
        referenceLabel: "getUpdates + model call + sendMessage round trips, bare (p50 each, summed)",
        reference: figure(floors),
      }),
      metric({ id: "channels.overhead.p95", label: "inbound update → reply sendMessage through the gateway, p95", unit: "ms", better: "lower", openclaw: figure(p95s), referenceLabel: "", reference: null }),
    );

    for (const scope of ["main", "per-peer"] as const) {
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) {
        say(`throughput run ${r + 1}/${runs} (${flood} DMs over ${chats} chats, dmScope ${scope})`);
        rates.push(await withFakes((fakes) => throughput(binary!, fakes, flood, chats, scope)));
      }
      metrics.push(
        metric({
          id: `channels.throughput.${scope}`,
          label: `DMs answered per second through one Telegram account (${chats} chats, session.dmScope ${scope})`,
          unit: "msg/s",
          better: "higher",
          openclaw: figure(rates, 0),
          referenceLabel: "",
          reference: null,
        }),
      );
    }

    console.log(
      JSON.stringify(
        { bench: "channels", binary, machine: machineInfo(), metrics: metrics.map((m) => ({ ...m, openclaw: { ...m.openclaw, samples: m.openclaw.samples.map((x) => round(x)) } })) },
        null,
        2,
      ),
    );
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}
