#!/usr/bin/env bun
/**
 * What automation delivery to chat channels costs:
 *
 *   bun scripts/bench/delivery.ts [--binary path] [--runs 3] [--ops 5000] [--jobs 14]
 *
 *   record      in process, on a real state database (WAL, as the gateway opens it): one
 *               `channel_routes` upsert, which every admitted channel message now does before
 *               its turn (µs per message, compared with the inbound → reply overhead).
 *   resolve     in process: resolving a cron announce route (`last` from the job's session)
 *               and a heartbeat `last` target (µs per resolution; runs once per job run).
 *   announce    through the compiled gateway with the fake Telegram and the fake model: forced
 *               runs of a job announcing to a Telegram chat and of the same job with
 *               `--no-deliver`, alternated, each timed from `cron.run` to its `finished` event
 *               (recorded after the delivery); the medians, their difference (what delivery
 *               adds to a run) and, as reference, the bare `sendMessage` round trip to the fake
 *               from this process.
 *
 * Medians of `--runs` runs. Stdout gets one JSON object; progress goes to stderr. Every wait is
 * bounded; only the child processes started here are stopped, by PID.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HEARTBEAT_PROMPT } from "../../src/automation/heartbeat.ts";
import { resolveAnnounce, resolveHeartbeatRoute } from "../../src/channels/delivery.ts";
import { ChannelHost } from "../../src/channels/host.ts";
import { builtinChannelPlugins } from "../../src/channels/index.ts";
import { createLogger } from "../../src/log/logger.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { openDatabase } from "../../src/store/db.ts";
import { artifactName, buildId, compileTarget, hostTarget } from "../build.ts";
import { spawnGateway } from "../lib/gateway-child.ts";
import { freePort, waitForPort } from "../lib/proc.ts";
import { FakeTelegram } from "../../test/fixture/fake-telegram.ts";
import { FakeUpstream } from "../../test/fixture/fake-upstream.ts";
import { figure, intArg, machineInfo, median, metric, percentile, say, type Metric } from "./lib.ts";

const TOKEN = "bench-delivery-token-0123456789abcdef";

function micro(ops: number): { recordUs: number; announceUs: number; heartbeatUs: number } {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-delivery-"));
  const db = openDatabase(dir);
  const host = new ChannelHost({
    config: { channels: { telegram: { botToken: "1:x", apiRoot: "http://127.0.0.1:9" } } } as never,
    env: {},
    stateDir: dir,
    db,
    runTurn: async () => null,
    log: createLogger({ level: "error", sinks: [] }),
    plugins: builtinChannelPlugins(),
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) {
      host.routes.record({ sessionKey: `agent:main:telegram:direct:${i % 500}`, agentId: "main", channel: "telegram", accountId: "default", chatId: String(1000 + (i % 500)), kind: "direct", peerId: String(1000 + (i % 500)) });
    }
    const recordUs = ((performance.now() - t0) * 1000) / ops;
    host.routes.record({ sessionKey: "agent:main:main", agentId: "main", channel: "telegram", accountId: "default", chatId: "4242", kind: "direct", peerId: "4242" });
    const t1 = performance.now();
    for (let i = 0; i < ops; i++) {
      const r = resolveAnnounce(host, { agentId: "main", channel: "last", sessionKey: "agent:main:main" });
      if (!r.ok) throw new Error(r.error);
    }
    const announceUs = ((performance.now() - t1) * 1000) / ops;
    const hb = { agentId: "main", enabled: true, every: "30m", everyMs: 1_800_000, prompt: HEARTBEAT_PROMPT, target: "last", implicitTarget: false, directPolicy: "allow" as const, lightContext: false, isolatedSession: false, timeoutMs: 600_000 };
    const t2 = performance.now();
    for (let i = 0; i < ops; i++) {
      if (!resolveHeartbeatRoute(host, { agentId: "main", sessionKey: "agent:main:main", heartbeat: hb }).ok) throw new Error("no heartbeat route");
    }
    const heartbeatUs = ((performance.now() - t2) * 1000) / ops;
    return { recordUs, announceUs, heartbeatUs };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}

async function announce(binary: string, jobs: number): Promise<{ withMs: number; withoutMs: number; sendRoundTripMs: number }> {
  const telegram = new FakeTelegram().start();
  telegram.maxPollMs = 2_000;
  const upstream = new FakeUpstream().start();
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-delivery-gw-"));
  const port = await freePort();
  const config = {
    gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${upstream.url}/v1`, models: [{ id: "echo", name: "echo" }] } } },
    agents: { defaults: { model: "fake/echo", heartbeat: { every: "0m" } } },
    channels: { telegram: { botToken: telegram.token, apiRoot: telegram.url } },
  };
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
  const child = spawnGateway({ command: [binary], port, stateDir, cwd: stateDir, env: { HOME: stateDir } });
  let client: GatewayClient | undefined;
  try {
    await waitForPort(port, { timeoutMs: 15_000, exited: child.proc.exited });
    client = await GatewayClient.connect({ url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ["operator.admin"], connectTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    // When each run's `finished` event arrived (the run is recorded after its delivery).
    const finished = new Map<string, number>();
    client.onEvent((e) => {
      const p = e.payload as { action?: string; runId?: string; durationMs?: number };
      if (e.event === "cron" && p.action === "finished" && p.runId) finished.set(p.runId, performance.now());
    });
    const add = async (name: string, delivery: Record<string, unknown>) => {
      // Automation starts just after the gateway listens.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          return await client!.request<{ id: string }>("cron.add", { name, enabled: true, schedule: { kind: "every", everyMs: 86_400_000 }, sessionTarget: "isolated", wakeMode: "now", payload: { kind: "agentTurn", message: "bench" }, delivery });
        } catch (err) {
          if ((err as { code?: string }).code !== "UNAVAILABLE" || Date.now() > deadline) throw err;
          await Bun.sleep(20);
        }
      }
    };
    const withJob = await add("with", { mode: "announce", channel: "telegram", to: "4242" });
    const withoutJob = await add("without", { mode: "none" });
    /** `cron.run` → the run's `finished` event, in ms. */
    const run = async (id: string) => {
      const t0 = performance.now();
      const { runId } = await client!.request<{ runId: string }>("cron.run", { id, mode: "force" });
      const at = await until(() => finished.get(runId), 30_000, `run ${runId}`);
      return at - t0;
    };
    const withSamples: number[] = [];
    const withoutSamples: number[] = [];
    // Warm-up: the first run loads the model stack.
    await run(withJob.id);
    await run(withoutJob.id);
    for (let i = 0; i < jobs; i++) {
      withSamples.push(await run(withJob.id));
      withoutSamples.push(await run(withoutJob.id));
    }
    if (telegram.of("sendMessage").length < jobs) throw new Error("announces were not delivered");
    const rt: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await fetch(`${telegram.url}/bot${telegram.token}/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"chat_id":4242,"text":"pong"}' }).then((r) => r.text());
      rt.push(performance.now() - t0);
    }
    return { withMs: median(withSamples)!, withoutMs: median(withoutSamples)!, sendRoundTripMs: percentile(rt, 50)! };
  } finally {
    await client?.close().catch(() => {});
    await child.stop(5_000);
    rmSync(stateDir, { recursive: true, force: true });
    await Promise.all([telegram.stop(), upstream.stop()]);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { binary: { type: "string" }, runs: { type: "string" }, ops: { type: "string" }, jobs: { type: "string" } } });
  const runs = intArg("runs", values.runs, 3, 1, 20);
  const ops = intArg("ops", values.ops, 5000, 100, 1_000_000);
  // cron.run is a control-plane write: 30 per 60 s per client (2 warm-up runs + 2 per pair).
  const jobs = intArg("jobs", values.jobs, 14, 3, 14);
  let binary = values.binary;
  if (!binary) {
    const outdir = mkdtempSync(join(tmpdir(), "openclaw-bench-delivery-bin-"));
    binary = (await compileTarget({ outfile: join(outdir, artifactName(hostTarget())), buildId: buildId() })).path;
  }
  const micros: Array<ReturnType<typeof micro>> = [];
  const e2e: Array<Awaited<ReturnType<typeof announce>>> = [];
  for (let i = 0; i < runs; i++) {
    say(`run ${i + 1}/${runs}: in-process`);
    micros.push(micro(ops));
    say(`run ${i + 1}/${runs}: through the gateway`);
    e2e.push(await announce(binary, jobs));
  }
  const m = (id: string, label: string, unit: string, samples: number[], reference?: { label: string; samples: number[] }) =>
    metric({ id, label, unit, better: "lower", openclaw: figure(samples), referenceLabel: reference?.label ?? "", reference: reference ? figure(reference.samples) : null });
  const metrics: Metric[] = [
    m("route-record", "channel_routes upsert per admitted message", "µs", micros.map((x) => x.recordUs)),
    m("resolve-announce", "cron announce route resolution (last, from the job's session)", "µs", micros.map((x) => x.announceUs)),
    m("resolve-heartbeat", "heartbeat target resolution (last)", "µs", micros.map((x) => x.heartbeatUs)),
    m("run-with-announce", "forced run announcing to a Telegram chat, cron.run → finished, p50", "ms", e2e.map((r) => r.withMs), {
      label: "the same run with --no-deliver",
      samples: e2e.map((r) => r.withoutMs),
    }),
    m("announce-added", "what the announce adds to a run (p50 difference)", "ms", e2e.map((r) => r.withMs - r.withoutMs), {
      label: "bare sendMessage round trip to the fake",
      samples: e2e.map((r) => r.sendRoundTripMs),
    }),
  ];
  console.log(JSON.stringify({ kind: "delivery", machine: machineInfo(), runs, ops, jobs, samples: { micro: micros, e2e }, metrics }, null, 2));
}

await main();
