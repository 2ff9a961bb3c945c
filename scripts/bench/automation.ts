#!/usr/bin/env bun
/**
 * The scheduler at rest and on time, with real timers and a real SQLite file:
 *
 *   bun scripts/bench/automation.ts [--jobs 1000] [--idle-seconds 30] [--jitter-jobs 500]
 *                                   [--spread-ms 20000] [--out results.json]
 *
 * Each phase runs in its own child process (this script with `--child <phase>`), so module
 * loading and other phases do not blur its memory and CPU figures:
 *
 * - seed: writes `--jobs` jobs (every 1-24 h, daily cron in four zones, one-shots a day ahead)
 *   into an `openclaw.sqlite` through the API; reports the RSS high-water of doing so.
 * - idle: a gateway-like process starts the automation subsystem over that database (loading
 *   the jobs, arming one timer), or over an empty one; RSS after a full GC, then CPU time
 *   (user+system) and timer firings over `--idle-seconds` of idling. The figures for N jobs are
 *   compared with the same process with 0 jobs. Targets from the issue: no measurable idle CPU,
 *   RSS ≤ +5 MB for 1,000 jobs.
 * - jitter: `--jitter-jobs` one-shots spread over `--spread-ms` (plus `--jobs` idle jobs), an
 *   executor that answers at once; lateness = actual start − scheduled instant, from the `cron`
 *   `started` events. Target: p99 ≤ 50 ms.
 *
 * Stdout gets one JSON object; progress goes to stderr. Only the children started here are
 * stopped, by PID.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { systemClock, type Clock } from "../../src/automation/clock.ts";
import { Automation } from "../../src/automation/index.ts";
import type { CronEvent } from "../../src/automation/service.ts";
import { openDatabase } from "../../src/store/db.ts";
import { percentile, round, say } from "./lib.ts";

function intArg(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  return n;
}

const { values } = parseArgs({
  options: {
    jobs: { type: "string" },
    "idle-seconds": { type: "string" },
    "jitter-jobs": { type: "string" },
    "spread-ms": { type: "string" },
    out: { type: "string" },
    child: { type: "string" },
    dir: { type: "string" },
  },
});
const JOBS = intArg("jobs", values.jobs, 1000, 0, 100_000);
const IDLE_S = intArg("idle-seconds", values["idle-seconds"], 30, 1, 3600);
const JITTER_JOBS = intArg("jitter-jobs", values["jitter-jobs"], 500, 1, 20_000);
const SPREAD_MS = intArg("spread-ms", values["spread-ms"], 20_000, 1000, 600_000);

const ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];

/** The system clock, counting how often the scheduler's timer fires. */
const firings = { count: 0 };
const countingClock: Clock = {
  now: () => systemClock.now(),
  setTimer: (fn, ms) => systemClock.setTimer(() => (firings.count++, fn()), ms),
  clearTimer: (h) => systemClock.clearTimer(h),
};

function makeAutomation(dir: string, onCron: (e: CronEvent) => void) {
  const auto = new Automation({
    clock: countingClock,
    db: openDatabase(dir),
    stateDir: dir,
    config: () => ({ agents: { defaults: { heartbeat: { every: "0m" } } } }) as never,
    schedulerSeed: "bench",
    workspaceDir: () => dir,
    emit: (event, payload) => {
      if (event === "cron") onCron(payload as CronEvent);
    },
    runAgentTurn: async (req) => ({ text: `ok ${req.message}`, model: "bench", provider: "none" }),
  });
  auto.start();
  return auto;
}

function addIdleJobs(auto: Automation, n: number): void {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    const base = { name: `idle-${i}`, payload: { kind: "agentTurn", message: `m${i}` }, delivery: { mode: "none" } };
    if (kind === 0) auto.cron.add({ ...base, schedule: { kind: "every", everyMs: (1 + (i % 24)) * 3_600_000 } } as never);
    else if (kind === 1) auto.cron.add({ ...base, schedule: { kind: "cron", expr: `${i % 60} ${i % 24} * * *`, tz: ZONES[i % ZONES.length] } } as never);
    else auto.cron.add({ ...base, schedule: { kind: "at", at: new Date(now + 86_400_000 + i * 1000).toISOString() } } as never);
  }
}

function rssAfterGc(): number {
  Bun.gc(true);
  Bun.gc(true);
  return process.memoryUsage().rss;
}

async function childSeed(dir: string): Promise<void> {
  const auto = makeAutomation(dir, () => {});
  const rss0 = rssAfterGc();
  const t0 = performance.now();
  addIdleJobs(auto, JOBS);
  const addMs = performance.now() - t0;
  const rss1 = rssAfterGc();
  auto.stop();
  process.stdout.write(`${JSON.stringify({ jobs: JOBS, addMs: round(addMs), rssBeforeMB: round(rss0 / 1048576), rssAfterAddMB: round(rss1 / 1048576) })}\n`);
}

async function childIdle(dir: string): Promise<void> {
  const t0 = performance.now();
  const auto = makeAutomation(dir, () => {});
  const startMs = performance.now() - t0;
  const jobs = auto.cron.allJobs().length;
  const rss1 = rssAfterGc();
  firings.count = 0;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await Bun.sleep(IDLE_S * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  const rss2 = rssAfterGc();
  auto.stop();
  process.stdout.write(
    `${JSON.stringify({
      jobs,
      startMs: round(startMs),
      rssMB: round(rss1 / 1048576),
      rssAfterIdleMB: round(rss2 / 1048576),
      idleSeconds: round(wall / 1000),
      idleCpuMs: round((cpu.user + cpu.system) / 1000),
      idleCpuPercent: round(((cpu.user + cpu.system) / 1000 / wall) * 100, 4),
      timerFirings: firings.count,
    })}\n`,
  );
}

async function childJitter(dir: string): Promise<void> {
  const slots = new Map<string, number>();
  const lateness: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const auto = makeAutomation(dir, (e) => {
    if (e.action !== "started") return;
    const slot = slots.get(e.jobId);
    if (slot === undefined) return;
    lateness.push((e.runAtMs as number) - slot);
    if (lateness.length === JITTER_JOBS) done();
  });
  addIdleJobs(auto, JOBS);
  const start = Date.now() + 2000;
  for (let i = 0; i < JITTER_JOBS; i++) {
    const at = start + Math.floor(Math.random() * SPREAD_MS);
    const job = auto.cron.add({ name: `j${i}`, schedule: { kind: "at", at: new Date(at).toISOString() }, payload: { kind: "agentTurn", message: "x" }, delivery: { mode: "none" } } as never) as {
      id: string;
      state: { nextRunAtMs: number };
    };
    slots.set(job.id, job.state.nextRunAtMs);
  }
  const deadline = Bun.sleep(SPREAD_MS + 30_000).then(() => "timeout" as const);
  const outcome = await Promise.race([finished.then(() => "ok" as const), deadline]);
  await auto.cron.idle();
  auto.stop();
  const f = (p: number) => round(percentile(lateness, p) ?? Number.NaN);
  process.stdout.write(
    `${JSON.stringify({
      outcome,
      jobs: JITTER_JOBS,
      idleJobs: JOBS,
      spreadMs: SPREAD_MS,
      samples: lateness.length,
      latenessMs: { p50: f(50), p90: f(90), p99: f(99), max: round(Math.max(...lateness)), min: round(Math.min(...lateness)) },
    })}\n`,
  );
}

async function runChild(phase: "seed" | "idle" | "jitter", dir: string): Promise<unknown> {
  {
    const args = [process.execPath, import.meta.path, "--child", phase, "--dir", dir, "--jobs", String(JOBS), "--idle-seconds", String(IDLE_S), "--jitter-jobs", String(JITTER_JOBS), "--spread-ms", String(SPREAD_MS)];
    const child = Bun.spawn(args, { stdout: "pipe", stderr: "inherit" });
    const limitMs = (phase === "idle" ? IDLE_S * 1000 : SPREAD_MS) + 120_000;
    const timer = setTimeout(() => child.kill(9), limitMs);
    const out = await new Response(child.stdout).text();
    const code = await child.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${phase} child exited with ${code}`);
    return JSON.parse(out.trim().split("\n").pop()!);
  }
}

if (values.child) {
  const dir = values.dir!;
  if (values.child === "seed") await childSeed(dir);
  else if (values.child === "idle") await childIdle(dir);
  else if (values.child === "jitter") await childJitter(dir);
  else throw new Error(`unknown phase ${values.child}`);
  process.exit(0);
}

const dirs = ["seeded", "empty", "jitter"].map((p) => mkdtempSync(join(tmpdir(), `oc-bench-automation-${p}-`)));
const [seededDir, emptyDir, jitterDir] = dirs;
let seed: Record<string, number>;
let idle: Record<string, number>;
let baseline: Record<string, number>;
let jitter: { latenessMs: Record<string, number> };
try {
  say(`seed: ${JOBS} jobs through the API`);
  seed = (await runChild("seed", seededDir)) as Record<string, number>;
  say(`idle: 0 jobs, ${IDLE_S} s`);
  baseline = (await runChild("idle", emptyDir)) as Record<string, number>;
  say(`idle: ${JOBS} jobs, ${IDLE_S} s`);
  idle = (await runChild("idle", seededDir)) as Record<string, number>;
  say(`idle: RSS ${baseline.rssMB} → ${idle.rssMB} MB, CPU ${baseline.idleCpuMs} → ${idle.idleCpuMs} ms over ${idle.idleSeconds} s, ${idle.timerFirings} timer firings`);
  say(`jitter: ${JITTER_JOBS} one-shots over ${SPREAD_MS} ms with ${JOBS} idle jobs`);
  jitter = (await runChild("jitter", jitterDir)) as { latenessMs: Record<string, number> };
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
say(`jitter: p50 ${jitter.latenessMs.p50} ms, p99 ${jitter.latenessMs.p99} ms, max ${jitter.latenessMs.max} ms`);
const result = {
  bench: "automation",
  at: new Date().toISOString(),
  machine: { bun: Bun.version, os: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x)) },
  seed,
  idleNoJobs: baseline,
  idle,
  rssDeltaMB: round(idle.rssMB - baseline.rssMB),
  idleCpuDeltaMs: round(idle.idleCpuMs - baseline.idleCpuMs),
  jitter,
  targets: {
    idleCpu: "no measurable idle CPU",
    rssDelta: "≤ +5 MB for 1,000 jobs",
    jitterP99: "≤ 50 ms",
    met: { rssDelta: idle.rssMB - baseline.rssMB <= 5, jitterP99: jitter.latenessMs.p99 <= 50 },
  },
};
const text = JSON.stringify(result, null, 2);
if (values.out) writeFileSync(values.out, `${text}\n`);
process.stdout.write(`${text}\n`);
