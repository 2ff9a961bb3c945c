#!/usr/bin/env bun
/**
 * The scheduler's cost and punctuality through the whole gateway: `openclaw gateway` (the
 * compiled binary) as a child process over a state directory seeded with jobs.
 *
 *   bun scripts/bench/automation.ts [--binary path] [--baseline path] [--jobs 1000] [--idle-seconds 30]
 *                                   [--runs 3] [--jitter-jobs 500] [--spread-ms 20000] [--phase all|idle|jitter]
 *                                   [--out results.json]
 *
 * - seed: a child process writes `--jobs` jobs into `openclaw.sqlite` through the scheduler's
 *   own API (every 1-24 h, weekly cron in four zones days away, one-shots a day ahead: none is
 *   due during the measurement). Jobs go in offline because `cron.add` has the original's
 *   control-plane budget (30 a minute per client).
 * - idle: the gateway over an empty state dir and over the seeded one, alternately, `--runs`
 *   times each: RSS (VmRSS and its anonymous part) once the gateway has settled, then CPU time
 *   (utime + stime from /proc) over `--idle-seconds`. Medians; the difference is what 1,000
 *   jobs cost. Targets from the issue: no measurable idle CPU, RSS ≤ +5 MB. Each run also times
 *   the start (spawn → listening).
 * - baseline (with `--baseline <binary>`, e.g. one built from a branch without automation): the
 *   same idle runs over an empty state dir, interleaved, for what hosting the subsystem costs.
 * - jitter: `--jitter-jobs` one-shot main-session system events spread over `--spread-ms`
 *   (plus `--jobs` idle jobs), seeded before the gateway starts; lateness = the run's start −
 *   its scheduled instant, both as the gateway saw them, from the `cron` `started` events a
 *   read-scoped client receives. Target: p99 ≤ 50 ms.
 *
 * Stdout gets one JSON object; progress goes to stderr. Only the children started here are
 * stopped, by PID; every wait is bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CronService } from "../../src/automation/service.ts";
import { AutomationStore } from "../../src/automation/store.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { openDatabase } from "../../src/store/db.ts";
import { artifactName, buildId, compileTarget, hostTarget } from "../build.ts";
import { spawnGateway, waitUntilListening, type GatewayChild } from "../lib/gateway-child.ts";
import { cpuMs, freePort, readRssAnonKiB, readRssKiB } from "../lib/proc.ts";
import { figure, intArg, machineInfo, percentile, round, say } from "./lib.ts";

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    baseline: { type: "string" },
    jobs: { type: "string" },
    "idle-seconds": { type: "string" },
    runs: { type: "string" },
    "jitter-jobs": { type: "string" },
    "spread-ms": { type: "string" },
    out: { type: "string" },
    phase: { type: "string" },
    child: { type: "string" },
    dir: { type: "string" },
    at: { type: "string" },
  },
});
const JOBS = intArg("jobs", values.jobs, 1000, 0, 100_000);
const IDLE_S = intArg("idle-seconds", values["idle-seconds"], 30, 1, 3600);
const RUNS = intArg("runs", values.runs, 3, 1, 20);
const JITTER_JOBS = intArg("jitter-jobs", values["jitter-jobs"], 500, 1, 20_000);
const SPREAD_MS = intArg("spread-ms", values["spread-ms"], 20_000, 1000, 600_000);
/** How long after seeding the first jitter job is due (the gateway starts meanwhile). */
const LEAD_MS = 8_000;
const TOKEN = "bench-automation-token-0123456789";
const ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];

// --- seeding (child process) -------------------------------------------------------------------

function seed(dir: string, jitterFrom?: number): void {
  const db = openDatabase(dir);
  const cron = new CronService({ store: new AutomationStore(db) });
  cron.load();
  const now = Date.now();
  // A weekday three to five days away: no weekly job comes due while we measure.
  const dow = (d: number) => (new Date(now).getUTCDay() + 3 + d) % 7;
  const base = (i: number) => ({ name: `idle-${i}`, payload: { kind: "agentTurn" as const, message: `m${i}` }, delivery: { mode: "none" as const } });
  for (let i = 0; i < JOBS; i++) {
    const kind = i % 3;
    if (kind === 0) cron.add({ ...base(i), schedule: { kind: "every", everyMs: (1 + (i % 24)) * 3_600_000 } });
    else if (kind === 1) cron.add({ ...base(i), schedule: { kind: "cron", expr: `${i % 60} ${i % 24} * * ${dow(i % 3)}`, tz: ZONES[i % ZONES.length] } });
    else cron.add({ ...base(i), schedule: { kind: "at", at: new Date(now + 86_400_000 + i * 1000).toISOString() } });
  }
  if (jitterFrom !== undefined) {
    for (let i = 0; i < JITTER_JOBS; i++) {
      const at = jitterFrom + Math.floor(Math.random() * SPREAD_MS);
      cron.add({
        name: `j${i}`,
        schedule: { kind: "at", at: new Date(at).toISOString() },
        sessionTarget: "main",
        wakeMode: "next-heartbeat",
        payload: { kind: "systemEvent", text: `tick ${i}` },
      });
    }
  }
  db.close();
}

if (values.child === "seed") {
  seed(values.dir!, values.at ? Number(values.at) : undefined);
  process.exit(0);
}

async function runSeed(dir: string, jitterFrom?: number): Promise<number> {
  const t0 = performance.now();
  const args = [process.execPath, import.meta.path, "--child", "seed", "--dir", dir, "--jobs", String(JOBS), "--jitter-jobs", String(JITTER_JOBS), "--spread-ms", String(SPREAD_MS)];
  if (jitterFrom !== undefined) args.push("--at", String(jitterFrom));
  const child = Bun.spawn(args, { stdout: "inherit", stderr: "inherit" });
  const timer = setTimeout(() => child.kill(9), 120_000);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`seeding exited with ${code}`);
  return performance.now() - t0;
}

// --- the gateway --------------------------------------------------------------------------------

function stateDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `oc-bench-automation-${label}-`));
  writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }), { mode: 0o600 });
  return dir;
}

async function gateway(binary: string, dir: string): Promise<GatewayChild & { startMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnGateway({ command: [binary], port, stateDir: dir, cwd: dir });
  try {
    await waitUntilListening(child, 30_000);
  } catch (err) {
    await child.stop(0);
    throw new Error(`${(err as Error).message}\n${child.output()}`);
  }
  return Object.assign(child, { startMs: round(performance.now() - t0) });
}

interface IdleSample {
  startMs: number;
  rssMB: number;
  rssAnonMB: number;
  idleCpuMs: number;
  jobs: number;
}

async function idleRun(binary: string, dir: string): Promise<IdleSample> {
  const child = await gateway(binary, dir);
  try {
    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token: TOKEN, scopes: ["operator.read"] });
    // A gateway without automation answers "unknown method": no jobs.
    const jobs = await client.request<{ jobs: number }>("cron.status", {}).then((s) => s.jobs, () => 0);
    await client.close();
    // Settle: the startup collection, and the collection after the socket burst, are done.
    await Bun.sleep(3_000);
    const rss = readRssKiB(child.pid)!;
    const anon = readRssAnonKiB(child.pid)!;
    const c0 = cpuMs(child.pid);
    await Bun.sleep(IDLE_S * 1000);
    const idleCpuMs = round(cpuMs(child.pid) - c0);
    return { startMs: child.startMs, rssMB: round(rss / 1024), rssAnonMB: round(anon / 1024), idleCpuMs, jobs };
  } finally {
    await child.stop(5_000);
  }
}

async function jitterRun(binary: string): Promise<Record<string, unknown>> {
  const dir = stateDir("jitter");
  try {
    const from = Date.now() + LEAD_MS;
    await runSeed(dir, from);
    const child = await gateway(binary, dir);
    try {
      const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token: TOKEN, scopes: ["operator.read"] });
      if (Date.now() > from) throw new Error("the gateway took longer to start than the lead time; raise LEAD_MS");
      const lateness: number[] = [];
      const done = Promise.withResolvers<void>();
      client.onEvent((e) => {
        const p = e.payload as { action?: string; runAtMs?: number; job?: { name?: string; schedule?: { kind?: string; at?: string } } };
        if (e.event !== "cron" || p.action !== "started" || !p.job?.name?.startsWith("j") || p.job.schedule?.kind !== "at") return;
        lateness.push((p.runAtMs ?? Number.NaN) - Date.parse(p.job.schedule.at!));
        if (lateness.length === JITTER_JOBS) done.resolve();
      });
      const outcome = await Promise.race([done.promise.then(() => "ok" as const), Bun.sleep(LEAD_MS + SPREAD_MS + 30_000).then(() => "timeout" as const)]);
      await client.close();
      const p = (q: number) => round(percentile(lateness, q) ?? Number.NaN);
      return {
        outcome,
        jobs: JITTER_JOBS,
        idleJobs: JOBS,
        spreadMs: SPREAD_MS,
        samples: lateness.length,
        latenessMs: { p50: p(50), p90: p(90), p99: p(99), max: round(Math.max(...lateness)), min: round(Math.min(...lateness)) },
      };
    } finally {
      await child.stop(5_000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- main ---------------------------------------------------------------------------------------

const PHASE = values.phase ?? "all";
if (!["all", "idle", "jitter"].includes(PHASE)) throw new Error(`--phase must be all, idle or jitter (got "${PHASE}")`);

type Med = (xs: IdleSample[], k: keyof IdleSample) => ReturnType<typeof figure>;
const med: Med = (xs, k) => figure(xs.map((x) => x[k] as number));

async function idlePhase(binary: string): Promise<Record<string, unknown>> {
  const empty = stateDir("empty");
  const seeded = stateDir("seeded");
  cleanup.push(empty, seeded);
  say(`seed: ${JOBS} jobs`);
  const seedMs = await runSeed(seeded);
  const none: IdleSample[] = [];
  const many: IdleSample[] = [];
  const base: IdleSample[] = [];
  for (let r = 0; r < RUNS; r++) {
    if (values.baseline) {
      say(`idle run ${r + 1}/${RUNS}: baseline ${values.baseline}, ${IDLE_S} s`);
      base.push(await idleRun(values.baseline, empty));
    }
    say(`idle run ${r + 1}/${RUNS}: 0 jobs, ${IDLE_S} s`);
    none.push(await idleRun(binary, empty));
    say(`idle run ${r + 1}/${RUNS}: ${JOBS} jobs, ${IDLE_S} s`);
    many.push(await idleRun(binary, seeded));
    say(`  RSS ${base.at(-1)?.rssMB ?? "-"} / ${none.at(-1)!.rssMB} / ${many.at(-1)!.rssMB} MB, CPU ${base.at(-1)?.idleCpuMs ?? "-"} / ${none.at(-1)!.idleCpuMs} / ${many.at(-1)!.idleCpuMs} ms (baseline / 0 jobs / ${JOBS} jobs)`);
  }
  const rssNone = med(none, "rssMB");
  const rssMany = med(many, "rssMB");
  const cpuNone = med(none, "idleCpuMs");
  const cpuMany = med(many, "idleCpuMs");
  return {
    seedMs: round(seedMs),
    ...(base.length
      ? {
          baseline: { binary: values.baseline, startMs: med(base, "startMs"), rssMB: med(base, "rssMB"), rssAnonMB: med(base, "rssAnonMB"), idleCpuMs: med(base, "idleCpuMs"), samples: base },
          subsystemRssMB: round((rssNone.median ?? 0) - (med(base, "rssMB").median ?? 0)),
          subsystemStartMs: round((med(none, "startMs").median ?? 0) - (med(base, "startMs").median ?? 0)),
        }
      : {}),
    noJobs: { startMs: med(none, "startMs"), rssMB: rssNone, rssAnonMB: med(none, "rssAnonMB"), idleCpuMs: cpuNone, samples: none },
    withJobs: { jobs: many[0]?.jobs, startMs: med(many, "startMs"), rssMB: rssMany, rssAnonMB: med(many, "rssAnonMB"), idleCpuMs: cpuMany, samples: many },
    rssDeltaMB: round((rssMany.median ?? 0) - (rssNone.median ?? 0)),
    idleCpuDeltaMs: round((cpuMany.median ?? 0) - (cpuNone.median ?? 0)),
  };
}

const cleanup: string[] = [];
let binary = values.binary;
try {
  if (!binary) {
    const out = mkdtempSync(join(tmpdir(), "oc-bench-automation-bin-"));
    cleanup.push(out);
    say("building the host binary");
    binary = (await compileTarget({ outfile: join(out, artifactName(hostTarget())), buildId: buildId() })).path;
  }
  const idle = PHASE === "jitter" ? undefined : ((await idlePhase(binary)) as { rssDeltaMB: number });
  let jitter: { latenessMs: Record<string, number> } | undefined;
  if (PHASE !== "idle") {
    say(`jitter: ${JITTER_JOBS} one-shots over ${SPREAD_MS} ms with ${JOBS} idle jobs`);
    jitter = (await jitterRun(binary)) as { latenessMs: Record<string, number> };
    say(`jitter: p50 ${jitter.latenessMs.p50} ms, p99 ${jitter.latenessMs.p99} ms, max ${jitter.latenessMs.max} ms`);
  }
  const result = {
    bench: "automation",
    through: "the compiled gateway (openclaw gateway as a child process)",
    at: new Date().toISOString(),
    machine: machineInfo(),
    options: { phase: PHASE, jobs: JOBS, idleSeconds: IDLE_S, runs: RUNS, jitterJobs: JITTER_JOBS, spreadMs: SPREAD_MS },
    ...(idle ? { idle } : {}),
    ...(jitter ? { jitter } : {}),
    targets: {
      idleCpu: "no measurable idle CPU",
      rssDelta: "≤ +5 MB for 1,000 jobs",
      jitterP99: "≤ 50 ms",
      met: {
        ...(idle ? { rssDelta: idle.rssDeltaMB <= 5 } : {}),
        ...(jitter ? { jitterP99: jitter.latenessMs.p99 <= 50 } : {}),
      },
    },
  };
  const text = JSON.stringify(result, null, 2);
  if (values.out) writeFileSync(values.out, `${text}\n`);
  process.stdout.write(`${text}\n`);
} finally {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
}
