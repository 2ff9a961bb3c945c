#!/usr/bin/env bun
/**
 * `bun run bench`: the whole benchmark suite against the compiled gateway, each figure paired
 * with a reference measured in the same run (scripts/bench/reference.ts compiled with the same
 * options: a bare `Bun.serve`, and a bare Bun client).
 *
 *   bun run bench                          build the host binary fresh, run everything (~3–4 min)
 *   bun run bench --binary dist/openclaw   measure an existing binary instead
 *   bun run bench --quick                  fewer runs and shorter intervals (a smoke of the suite)
 *   bun run bench --out dir                where the JSON and markdown go (default dist/bench)
 *
 * Stdout: the markdown table (with the machine and the command); the same table and the full
 * JSON (every sample, medians, min, max, ratios, targets, machine) are written to
 * `<out>/bench-<date>.md|json`. Progress goes to stderr. Exit 1 if any run failed (the JSON lists
 * the errors), 2 on bad arguments.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "../build.ts";
import { benchCli } from "./cli.ts";
import { figure, intArg, machineInfo, markdownTable, metric, round, say, UsageError, type Metric } from "./lib.ts";
import { buildReference, dropPageCache, pinCpus, startServer, type Server } from "./servers.ts";
import { fleetRun, throughputRun, type FleetSample, type Paired, type ThroughputKey } from "./sockets.ts";
import { benchStartup } from "./startup.ts";
import { closeSocket, handshake, requestOnce } from "./ws-client.ts";

const ROOT = resolve(import.meta.dir, "../..");

export const USAGE = `usage: bun run bench [--binary path] [--quick] [--out dir] [--runs N] [--clients N] [--duration-ms N] [--leave-ms N]
  --binary       measure this openclaw binary (default: build the host binary fresh)
  --quick        3 runs, 2 s idle, 200 clients, 300 ms intervals (checks the suite, not the figures)
  --runs         runs per throughput/fleet figure (default 5; startup uses 2× this)
  --clients      sockets in the fleet (default 1000)
  --duration-ms  length of each throughput interval (default 1000)
  --leave-ms     how long after the fleet left its RSS is read (default 2000)
  --out          directory for bench-<date>.json and .md (default dist/bench)
  --no-pin       do not split CPUs between server and load generator (taskset)
  --warm-cache   do not drop the binaries from the page cache before memory runs
`;

interface Options {
  binary?: string;
  quick: boolean;
  runs: number;
  clients: number;
  durationMs: number;
  leaveMs: number;
  out: string;
  pin: boolean;
  coldCache: boolean;
}

export function parseOptions(argv: string[]): Options | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        binary: { type: "string" },
        quick: { type: "boolean" },
        runs: { type: "string" },
        clients: { type: "string" },
        "duration-ms": { type: "string" },
        "leave-ms": { type: "string" },
        out: { type: "string" },
        "no-pin": { type: "boolean" },
        "warm-cache": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  const quick = values.quick === true;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(process.cwd(), p));
  const binary = typeof values.binary === "string" ? abs(values.binary) : undefined;
  if (binary !== undefined && !existsSync(binary)) throw new UsageError(`--binary ${binary} does not exist (run \`bun run build\` first)`);
  return {
    binary,
    quick,
    runs: intArg("runs", values.runs as string | undefined, quick ? 3 : 5, 1, 50),
    clients: intArg("clients", values.clients as string | undefined, quick ? 200 : 1000, 1, 10_000),
    durationMs: intArg("duration-ms", values["duration-ms"] as string | undefined, quick ? 300 : 1000, 100, 60_000),
    leaveMs: intArg("leave-ms", values["leave-ms"] as string | undefined, quick ? 500 : 2000, 0, 120_000),
    out: typeof values.out === "string" ? abs(values.out) : join(ROOT, "dist", "bench"),
    pin: values["no-pin"] !== true,
    coldCache: values["warm-cache"] !== true,
  };
}

/** Sizes of the gateway's hello-ok and `health` reply, so the reference sends as many bytes. */
async function probeSizes(binary: string): Promise<{ hello: number; reply: number }> {
  const gw = await startServer("openclaw", binary);
  try {
    const { ws, helloBytes } = await handshake(gw.url, gw.token);
    const reply = await requestOnce(ws, "health", undefined);
    await closeSocket(ws);
    return { hello: helloBytes, reply: Buffer.byteLength(reply) };
  } finally {
    await gw.stop();
  }
}

async function alternate<T>(
  runs: number,
  start: (kind: Server["kind"]) => Promise<Server>,
  body: (server: Server) => Promise<T>,
  errors: string[],
): Promise<Record<Server["kind"], T[]>> {
  const out: Record<Server["kind"], T[]> = { openclaw: [], reference: [] };
  for (let i = 0; i < runs; i++) {
    const order: Server["kind"][] = i % 2 === 0 ? ["openclaw", "reference"] : ["reference", "openclaw"];
    for (const kind of order) {
      let server: Server | undefined;
      try {
        server = await start(kind);
        out[kind].push(await body(server));
      } catch (e) {
        errors.push(`${kind} run ${i + 1}: ${(e as Error).message}`);
      } finally {
        const code = await server?.stop();
        if (server && code !== 0) errors.push(`${kind} run ${i + 1}: exit ${code} after SIGTERM`);
      }
    }
  }
  return out;
}

const pick = <T>(xs: T[], f: (x: T) => number | null | undefined): number[] =>
  xs.map(f).filter((x): x is number => typeof x === "number" && Number.isFinite(x));

export async function runSuite(opts: Options): Promise<{ result: Record<string, unknown>; table: string; errors: string[] }> {
  const t0 = performance.now();
  const loadAtStart = loadavg().map((x) => round(x));
  const errors: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "openclaw-bench-"));
  try {
    let binary = opts.binary;
    let buildNote = "given with --binary";
    if (!binary) {
      say("building the host binary (scripts/build.ts --host)…");
      const b = await build({ outdir: join(work, "dist"), targets: [], alias: false });
      binary = b.host.path;
      buildNote = `built fresh by the suite (${b.buildId})`;
    }
    say("compiling the reference…");
    const reference = await buildReference(work);
    const sizes = await probeSizes(binary);
    say(`binary ${binary} (${statSync(binary).size} B); hello-ok ${sizes.hello} B, health reply ${sizes.reply} B`);
    const version = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "ignore", timeout: 10_000 }).stdout.toString().trim();

    // 1. startup and idle memory
    const idleMs = opts.quick ? 2_000 : 10_000;
    const startupRuns = opts.runs * 2;
    say(`startup: ${startupRuns} runs, idle RSS after ${idleMs} ms…`);
    const coldCache = opts.coldCache && dropPageCache(binary) && dropPageCache(reference);
    if (opts.coldCache && !coldCache) say("cannot drop the page cache (no GNU dd?); memory figures depend on cache state");
    const startup = await benchStartup({ binary, reference, sizes, runs: startupRuns, warmup: 1, idleMs, rssRuns: startupRuns, rssParallel: 5, coldCache });
    errors.push(...startup.errors);

    // Fleet and throughput: server and load generator on separate CPUs when possible.
    const pinned = opts.pin ? pinCpus() : undefined;
    const cpuSplit = pinned ? `server on CPU ${pinned.serverCpus}, load generator on the others (taskset)` : "not pinned";
    say(`CPU split: ${cpuSplit}`);
    const start = (kind: Server["kind"]) => {
      const path = kind === "openclaw" ? binary! : reference;
      if (coldCache) dropPageCache(path);
      return startServer(kind, path, { sizes, cpus: pinned?.serverCpus });
    };

    const fleetOpts = { clients: opts.clients, concurrency: 16, rounds: opts.quick ? 5 : 20, warmupRounds: 3, settleMs: opts.quick ? 300 : 1_000, leaveMs: opts.leaveMs };
    const tpOpts = { durationMs: opts.durationMs, pairs: 2, concurrency: 16, window: 32, httpConnections: 16, httpDepth: 8 };
    let fleet: Record<Server["kind"], FleetSample[]>;
    const newPaired = (): Paired => ({ openclaw: [], reference: [], ratios: [] });
    const tp: Record<ThroughputKey, Paired> = { handshakes: newPaired(), rpcSequential: newPaired(), rpcWindow: newPaired(), http: newPaired() };
    try {
      // 2. the fleet: RSS with N sockets, fan-out latency, RSS after they leave
      say(`fleet: ${opts.runs} runs × ${opts.clients} sockets…`);
      fleet = await alternate<FleetSample>(opts.runs, start, (s) => fleetRun(s, fleetOpts), errors);
      for (const kind of ["openclaw", "reference"] as const) {
        const missing = fleet[kind].reduce((n, f) => n + f.missing, 0);
        if (missing > 0) errors.push(`${kind} fan-out: ${missing} events never arrived`);
      }

      // 3. throughput: handshakes, RPCs, HTTP; both servers up, paired intervals
      say(`throughput: ${opts.runs} runs × ${tpOpts.pairs} pairs × ${opts.durationMs} ms intervals…`);
      for (let i = 0; i < opts.runs; i++) {
        let gw: Server | undefined;
        let ref: Server | undefined;
        try {
          gw = await start("openclaw");
          ref = await start("reference");
          await throughputRun(gw, ref, tpOpts, tp, errors);
        } catch (e) {
          errors.push(`throughput run ${i + 1}: ${(e as Error).message}`);
        } finally {
          for (const s of [gw, ref]) {
            const code = await s?.stop();
            if (s && code !== 0) errors.push(`${s.kind} throughput run ${i + 1}: exit ${code} after SIGTERM`);
          }
        }
      }
    } finally {
      pinned?.restore();
    }

    // 4. CLI
    say("cli…");
    const cli = await benchCli({ binary, reference, runs: opts.quick ? 3 : 10, warmup: 1 });
    errors.push(...cli.errors);

    const n = opts.clients.toLocaleString("en-US");
    const bare = "bare `Bun.serve`, same frames and sizes";
    const fleetMetric = (id: string, label: string, unit: string, f: (s: FleetSample) => number | null | undefined, extra: Partial<Metric> = {}, digits = 1) =>
      metric({
        id,
        label,
        unit,
        better: "lower",
        openclaw: figure(pick(fleet.openclaw, f), digits),
        referenceLabel: bare,
        reference: figure(pick(fleet.reference, f), digits),
        ...extra,
      });
    const tpMetric = (id: string, key: ThroughputKey, label: string, referenceLabel = bare, extra: Partial<Metric> = {}) =>
      metric({
        id,
        label,
        unit: "/s",
        better: "higher",
        openclaw: figure(tp[key].openclaw, 0),
        referenceLabel,
        reference: figure(tp[key].reference, 0),
        pairedRatio: figure(tp[key].ratios, 3),
        ...extra,
      });
    const added = (s: FleetSample) => (s.connectedMB !== undefined && s.idleMB !== undefined ? s.connectedMB - s.idleMB : null);
    const above = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a - b : null);
    const metrics: Metric[] = [
      ...startup.metrics,
      fleetMetric("memory.rssConnected", `RSS with ${n} WebSocket clients connected`, "MB", (s) => s.connectedMB),
      fleetMetric("memory.rssAdded", `RSS added by ${n} clients (connected − before)`, "MB", added, {
        target: { on: "value", op: "<=", limit: 25, text: "≤ 25 MB" },
      }),
      fleetMetric("memory.rssAfterLeave", `RSS ${fleetOpts.leaveMs / 1000} s after the ${n} clients left`, "MB", (s) => s.afterLeaveMB),
      fleetMetric("memory.rssAfterLeaveAboveIdle", `RSS ${fleetOpts.leaveMs / 1000} s after the ${n} clients left, above idle`, "MB", (s) => above(s.afterLeaveMB, s.idleMB), {
        target: { on: "value", op: "<=", limit: 5, text: "≤ 5 MB" },
      }),
      // What stays is split: anonymous memory (what the process holds: heap, buffers, JIT code)
      // and clean pages of the executable the load paged in (the optimizing JIT compilers, the
      // collector), which belong to the page cache; see src/gateway/memory.ts.
      fleetMetric("memory.rssAnonAfterLeaveAboveIdle", `anonymous RSS (RssAnon) ${fleetOpts.leaveMs / 1000} s after the ${n} clients left, above idle`, "MB", (s) => above(s.afterLeaveAnonMB, s.idleAnonMB), {
        target: { on: "value", op: "<=", limit: 5, text: "≤ 5 MB" },
      }),
      fleetMetric("memory.afterLeavePaged", `RSS after the ${n} clients left, the executable's clean pages paged out and one more request (compare: working set)`, "MB", (s) => s.afterLeavePagedMB),
      tpMetric("ws.handshakes", "handshakes", `WebSocket handshakes per second (${tpOpts.concurrency} in flight, challenge → connect → hello-ok)`),
      tpMetric("ws.rpcSequential", "rpcSequential", "`health` RPCs per second on one socket, 1 in flight"),
      tpMetric("ws.rpcWindow", "rpcWindow", `\`health\` RPCs per second on one socket, ${tpOpts.window} in flight`),
      fleetMetric("ws.fanoutP50", `broadcast fan-out to ${n} sockets, p50 (request sent → event received)`, "ms", (s) => s.fanoutP50, {}, 2),
      fleetMetric("ws.fanoutP99", `broadcast fan-out to ${n} sockets, p99`, "ms", (s) => s.fanoutP99, { target: { on: "value", op: "<=", limit: 50, text: "≤ 50 ms" } }, 2),
      tpMetric("http.health", "http", `HTTP \`GET /health\` per second (${tpOpts.httpConnections} connections × ${tpOpts.httpDepth} pipelined)`, "bare `Bun.serve` hello world (same body)", {
        target: { on: "ratio", op: ">=", limit: 0.8, text: "≥ 80 % of bare" },
      }),
      ...cli.metrics,
    ];

    const date = new Date().toISOString();
    const machine = machineInfo();
    const command = `bun run bench${opts.binary ? ` --binary ${opts.binary}` : ""}${opts.quick ? " --quick" : ""}`;
    const header = [
      `openclaw benchmark ${date}: ${command}`,
      `binary: ${version} (${statSync(binary).size.toLocaleString("en-US")} B, ${buildNote})`,
      `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemMiB} MiB, ${machine.platform}-${machine.arch} kernel ${machine.kernel}, Bun ${machine.bun}; load average ${loadAtStart.join(" ")} at the start, ${(machine.loadavg as number[]).join(" ")} at the end`,
      `figures: medians of ${opts.runs} runs (startup ${startupRuns}; throughput ${opts.runs} × ${tpOpts.pairs} back-to-back pairs) with min–max; ratio = openclaw ÷ reference (throughput: median of the pairs' ratios); MB = 10^6 bytes; fleet/throughput: ${cpuSplit}; memory runs start ${coldCache ? "with both binaries dropped from the page cache (cold, as after a reboot)" : "with whatever page cache there is"}`,
    ].join("\n");
    const memoryNote =
      "memory: idle RSS is mostly clean pages of the executable that starting touched once; the working-set rows page those out (process_madvise MADV_PAGEOUT, as memory pressure would) and measure again after one request, for the gateway and the bare server alike. What stays above idle after the clients leave is anonymous memory (the gateway runs a full collection once connections go quiet, src/gateway/memory.ts) plus executable pages the load paged in (the optimizing JIT compilers, the collector), which the bare server keeps too; docs/benchmarks.md";
    const table = `${header}\n\n${markdownTable(metrics)}\n${memoryNote}\n`;
    const result = {
      bench: "openclaw-bun",
      date,
      command,
      durationS: Math.round((performance.now() - t0) / 100) / 10,
      machine: { ...machine, loadavgAtStart: loadAtStart },
      binary: { path: binary, bytes: statSync(binary).size, version, build: buildNote },
      config: { ...opts, startupRuns, idleMs, fleet: fleetOpts, throughput: tpOpts, sizes, cpuSplit, coldCache },
      metrics,
      raw: { startup: startup.samples, startupStopExitCodes: startup.stopExitCodes, fleet, throughput: tp },
      errors,
    };
    return { result, table, errors };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (opts === "help") {
    process.stderr.write(USAGE);
    return 0;
  }
  const t0 = performance.now();
  const { result, table, errors } = await runSuite(opts);
  mkdirSync(opts.out, { recursive: true });
  const stamp = String(result.date).replace(/[:.]/g, "-");
  const jsonPath = join(opts.out, `bench-${stamp}.json`);
  const mdPath = join(opts.out, `bench-${stamp}.md`);
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(mdPath, table);
  process.stdout.write(`${table}\n`);
  say(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${jsonPath}, ${mdPath}`);
  if (errors.length > 0) {
    say(`${errors.length} error(s):`);
    for (const e of errors) say(`  ${e}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    say(`failed: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
