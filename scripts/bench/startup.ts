#!/usr/bin/env bun
/**
 * Startup and idle memory of the compiled gateway against the compiled reference (a bare
 * `Bun.serve`, scripts/bench/reference.ts), measured in the same run:
 *
 *   - spawn → TCP port open → first OK `health` RPC (handshake + request), with a config present;
 *   - the same on a first run (the gateway writes its config and token first);
 *   - RSS after one request and `idleMs` of idling, and its anonymous part (RssAnon);
 *   - the working set: the kernel is asked to page out the executable's clean pages
 *     (process_madvise MADV_PAGEOUT, scripts/bench/pageout.ts), the process serves one more
 *     handshake + request, and what is resident 1 s later is measured. The gap between idle RSS
 *     and this is pages of the executable that starting touched once (docs/benchmarks.md).
 *
 * Start samples are interleaved (openclaw, first run, reference per round). Idle RSS is sampled
 * in batches of `rssParallel` openclaw/reference pairs idling side by side, so 10 samples of 10 s
 * take ~20 s. Standalone (`bun scripts/bench/startup.ts`) it prints JSON; `bun run bench` runs it
 * as part of the suite (scripts/bench/index.ts).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readConfig } from "../lib/gateway-child.ts";
import { countExitCodes, figure, intArg, kibToMB, machineInfo, markdownTable, metric, say, type Metric } from "./lib.ts";
import { pageOutExecutable } from "./pageout.ts";
import { buildReference, dropPageCache, startServer, type Server } from "./servers.ts";
import { closeSocket, handshake, requestOnce } from "./ws-client.ts";

export interface StartupOptions {
  binary: string;
  reference: string;
  sizes: { hello: number; reply: number };
  runs: number;
  warmup: number;
  idleMs: number;
  rssRuns: number;
  rssParallel: number;
  /** Drop both binaries from the page cache before each idle-RSS batch (see dropPageCache). */
  coldCache: boolean;
}

type Kind = "warm" | "firstRun" | "reference";

interface Started {
  server: Server;
  firstOkMs: number;
}

/** Spawn one process, time port-open and the first OK reply to handshake + `health`. */
async function startOne(kind: Kind, opts: StartupOptions): Promise<Started> {
  const server = await startServer(kind === "reference" ? "reference" : "openclaw", kind === "reference" ? opts.reference : opts.binary, {
    writeConfig: kind === "warm",
    sizes: opts.sizes,
  });
  try {
    const token = kind === "firstRun" ? readConfig(server.stateDir).gateway?.auth?.token : server.token;
    if (kind === "firstRun" && !token) throw new Error("the first run wrote no token");
    const { ws } = await handshake(server.url, token, 10_000);
    const reply = await requestOnce(ws, "health", undefined, 10_000);
    const firstOkMs = performance.now() - server.spawnedAt;
    if (!reply.includes('"ok":true')) throw new Error(`health not ok: ${reply.slice(0, 200)}`);
    await closeSocket(ws, 1_000);
    return { server, firstOkMs };
  } catch (e) {
    const out = server.output().trim().split("\n").slice(-5).join("\n");
    await server.stop();
    throw new Error(`${kind}: ${(e as Error).message}${out ? `\n${out}` : ""}`);
  }
}

export interface StartupResult {
  metrics: Metric[];
  samples: Record<string, number[]>;
  stopExitCodes: Record<string, number>;
  errors: string[];
}

export async function benchStartup(opts: StartupOptions): Promise<StartupResult> {
  const errors: string[] = [];
  const s = {
    warmPortMs: [] as number[],
    warmHealthMs: [] as number[],
    firstRunHealthMs: [] as number[],
    refPortMs: [] as number[],
    refReplyMs: [] as number[],
    idleRssKiB: [] as number[],
    refIdleRssKiB: [] as number[],
    idleAnonKiB: [] as number[],
    refIdleAnonKiB: [] as number[],
    workingSetKiB: [] as number[],
    refWorkingSetKiB: [] as number[],
  };
  const notes: string[] = [];
  const codes: Array<number | null> = [];
  const kinds: Kind[] = ["warm", "firstRun", "reference"];

  for (let i = 0; i < opts.warmup + opts.runs; i++) {
    for (const kind of kinds) {
      try {
        const st = await startOne(kind, opts);
        codes.push(await st.server.stop());
        if (i < opts.warmup) continue;
        if (kind === "warm") {
          s.warmPortMs.push(st.server.portOpenMs);
          s.warmHealthMs.push(st.firstOkMs);
        } else if (kind === "firstRun") s.firstRunHealthMs.push(st.firstOkMs);
        else {
          s.refPortMs.push(st.server.portOpenMs);
          s.refReplyMs.push(st.firstOkMs);
        }
      } catch (e) {
        errors.push(`startup run ${i + 1}: ${(e as Error).message}`);
      }
    }
  }
  say(`startup: ${s.warmHealthMs.length} openclaw, ${s.firstRunHealthMs.length} first-run, ${s.refReplyMs.length} reference starts`);

  for (let done = 0; done < opts.rssRuns; ) {
    const batch = Math.min(opts.rssParallel, opts.rssRuns - done);
    const started: Array<{ kind: "warm" | "reference"; st: Started }> = [];
    if (opts.coldCache) for (const b of [opts.binary, opts.reference]) if (!dropPageCache(b)) errors.push(`idle rss: could not drop the page cache of ${b}`);
    try {
      for (let j = 0; j < batch; j++) {
        for (const kind of ["warm", "reference"] as const) {
          try {
            started.push({ kind, st: await startOne(kind, opts) });
          } catch (e) {
            errors.push(`idle rss: ${(e as Error).message}`);
          }
        }
      }
      say(`idle RSS: ${started.length} processes idling ${opts.idleMs} ms (${done + batch}/${opts.rssRuns})`);
      await Bun.sleep(opts.idleMs);
      for (const { kind, st } of started) {
        const kib = st.server.rssKiB();
        if (kib === undefined) {
          if (process.platform === "linux") errors.push(`idle rss: no VmRSS for pid ${st.server.pid}`);
        } else (kind === "warm" ? s.idleRssKiB : s.refIdleRssKiB).push(kib);
        const anon = st.server.rssAnonKiB();
        if (anon !== undefined) (kind === "warm" ? s.idleAnonKiB : s.refIdleAnonKiB).push(anon);
      }
    } finally {
      codes.push(...(await Promise.all(started.map(({ st }) => st.server.stop()))));
    }
    done += batch;
  }

  // The working set, one gateway and one reference at a time (a page mapped by two processes
  // is never paged out): idle, page out what the executable mapped, one more request, measure.
  for (let i = 0; i < Math.min(3, opts.rssRuns); i++) {
    const pair: Array<{ kind: "warm" | "reference"; st: Started }> = [];
    try {
      for (const kind of ["warm", "reference"] as const) pair.push({ kind, st: await startOne(kind, opts) });
      await Bun.sleep(Math.min(opts.idleMs, 3_000));
      for (const { kind, st } of pair) {
        const r = await pageOutExecutable(st.server.pid, kind === "reference" ? opts.reference : opts.binary);
        if ("error" in r) {
          notes.push(`working set not measured: ${r.error}`);
          continue;
        }
        const { ws } = await handshake(st.server.url, kind === "warm" ? st.server.token : undefined, 10_000);
        await requestOnce(ws, "health", undefined, 10_000);
        await closeSocket(ws, 1_000);
      }
      await Bun.sleep(1_000);
      if (notes.length === 0) {
        for (const { kind, st } of pair) {
          const kib = st.server.rssKiB();
          if (kib !== undefined) (kind === "warm" ? s.workingSetKiB : s.refWorkingSetKiB).push(kib);
        }
      }
    } catch (e) {
      errors.push(`working set: ${(e as Error).message}`);
    } finally {
      codes.push(...(await Promise.all(pair.map(({ st }) => st.server.stop()))));
    }
    if (notes.length > 0) break;
  }

  const refLabel = "bare compiled `Bun.serve`";
  const metrics = [
    metric({
      id: "startup.firstHealth",
      label: "start → first OK `health` RPC (config present)",
      unit: "ms",
      better: "lower",
      openclaw: figure(s.warmHealthMs),
      referenceLabel: `${refLabel}: start → first reply (same handshake + request)`,
      reference: figure(s.refReplyMs),
      target: { on: "value", op: "<=", limit: 60, text: "≤ 60 ms" },
    }),
    metric({
      id: "startup.portOpen",
      label: "start → port open",
      unit: "ms",
      better: "lower",
      openclaw: figure(s.warmPortMs),
      referenceLabel: refLabel,
      reference: figure(s.refPortMs),
    }),
    metric({
      id: "startup.firstRunHealth",
      label: "first run (writes config + token) → first OK `health`",
      unit: "ms",
      better: "lower",
      openclaw: figure(s.firstRunHealthMs),
      referenceLabel: `${refLabel}: start → first reply`,
      reference: figure(s.refReplyMs),
    }),
    metric({
      id: "memory.idleRss",
      label: `idle RSS ${Math.round(opts.idleMs / 1000)} s after one request`,
      unit: "MB",
      better: "lower",
      openclaw: figure(s.idleRssKiB.map(kibToMB), 1),
      referenceLabel: refLabel,
      reference: figure(s.refIdleRssKiB.map(kibToMB), 1),
      target: { on: "ratio", op: "<=", limit: 1.5, text: "≤ 1.5× bare" },
    }),
    metric({
      id: "memory.idleRssAnon",
      label: "of which anonymous (RssAnon: heap, buffers, JIT code)",
      unit: "MB",
      better: "lower",
      openclaw: figure(s.idleAnonKiB.map(kibToMB), 1),
      referenceLabel: refLabel,
      reference: figure(s.refIdleAnonKiB.map(kibToMB), 1),
    }),
    metric({
      id: "memory.workingSet",
      label: "working set: RSS after the executable's clean pages are paged out (MADV_PAGEOUT) and one more request",
      unit: "MB",
      better: "lower",
      openclaw: figure(s.workingSetKiB.map(kibToMB), 1),
      referenceLabel: `${refLabel}, paged out the same way`,
      reference: figure(s.refWorkingSetKiB.map(kibToMB), 1),
    }),
  ];
  for (const n of new Set(notes)) say(n);
  return { metrics, samples: s, stopExitCodes: countExitCodes(codes), errors };
}

// --- standalone -----------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      binary: { type: "string" },
      runs: { type: "string" },
      "idle-ms": { type: "string" },
      "rss-runs": { type: "string" },
      "rss-parallel": { type: "string" },
      warmup: { type: "string" },
      "warm-cache": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(
      "usage: bun scripts/bench/startup.ts [--binary dist/openclaw] [--runs 10] [--idle-ms 10000] [--rss-runs N] [--rss-parallel 5] [--warmup 1] [--warm-cache]\n",
    );
    return 0;
  }
  const runs = intArg("runs", values.runs, 10, 1, 200);
  const binary = resolve(values.binary ?? join(import.meta.dir, "..", "..", "dist", "openclaw"));
  if (!existsSync(binary)) {
    say(`${binary} does not exist; run \`bun run build\` first`);
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), "openclaw-bench-ref-"));
  try {
    const reference = await buildReference(work);
    const r = await benchStartup({
      binary,
      reference,
      sizes: { hello: 0, reply: 0 },
      runs,
      warmup: intArg("warmup", values.warmup, 1, 0, 10),
      idleMs: intArg("idle-ms", values["idle-ms"], 10_000, 0, 600_000),
      rssRuns: intArg("rss-runs", values["rss-runs"], runs, 0, 200),
      rssParallel: intArg("rss-parallel", values["rss-parallel"], 5, 1, 50),
      coldCache: values["warm-cache"] !== true,
    });
    process.stderr.write(`${markdownTable(r.metrics)}\n`);
    process.stdout.write(`${JSON.stringify({ bench: "startup", date: new Date().toISOString(), machine: machineInfo(), ...r }, null, 2)}\n`);
    return r.errors.length > 0 ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
