#!/usr/bin/env bun
/**
 * What a runtime feature costs in idle memory, on its own: `scripts/bench/primitives-server.ts`
 * compiled like the gateway, started once per feature (each one run by itself, then all of them
 * together), answered one HTTP request, and read `--idle-ms` later (VmRSS, RssAnon, threads).
 * The baseline is the same program exercising nothing, measured in the same rounds; every start
 * begins with the binary dropped from the page cache. This says which of the things the
 * gateway's startup does (a database, a file watcher, async file reads, crypto, a collection)
 * account for its idle RSS above a bare `Bun.serve` (docs/benchmarks.md, "Memory").
 *
 *   bun scripts/bench/primitives.ts [--runs 3] [--idle-ms 8000] [--json file]
 *
 * Stdout: a markdown table; progress on stderr. Every child is bounded and stopped by PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, readRssAnonKiB, readRssKiB, stopChild, waitForPort } from "../lib/proc.ts";
import { intArg, kibToMB, machineInfo, median, round, say } from "./lib.ts";
import { FEATURES } from "./primitives-server.ts";
import { compileReference, dropPageCache } from "./servers.ts";

interface Sample {
  rss: number;
  anon: number;
  threads: number;
}

function threadsOf(pid: number): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

async function measure(binary: string, features: string, idleMs: number): Promise<Sample> {
  dropPageCache(binary);
  const port = await freePort();
  const child = Bun.spawn([binary, features, String(port)], { stdout: "ignore", stderr: "inherit" });
  try {
    await waitForPort(port, { timeoutMs: 15_000, exited: child.exited });
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    if ((await res.text()) !== "ok") throw new Error(`${features}: unexpected reply`);
    await Bun.sleep(idleMs);
    const rss = readRssKiB(child.pid);
    const anon = readRssAnonKiB(child.pid);
    if (rss === undefined || anon === undefined) throw new Error(`${features}: cannot read RSS`);
    return { rss: kibToMB(rss), anon: kibToMB(anon), threads: threadsOf(child.pid) };
  } finally {
    await stopChild(child, 5_000);
  }
}

if (import.meta.main) {
  let values: { runs?: string; "idle-ms"?: string; json?: string };
  let runs: number;
  let idleMs: number;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { runs: { type: "string" }, "idle-ms": { type: "string" }, json: { type: "string" } },
    }));
    runs = intArg("runs", values.runs, 3, 1, 20);
    idleMs = intArg("idle-ms", values["idle-ms"], 8_000, 0, 120_000);
  } catch (err) {
    console.error(`primitives: ${(err as Error).message}\nusage: bun scripts/bench/primitives.ts [--runs 3] [--idle-ms 8000] [--json file]`);
    process.exit(2);
  }
  if (process.platform !== "linux") {
    console.error("primitives: reads /proc; Linux only");
    process.exit(2);
  }
  const work = mkdtempSync(join(tmpdir(), "openclaw-bench-primitives-"));
  try {
    say("compiling scripts/bench/primitives-server.ts…");
    const binary = await compileReference(join(import.meta.dir, "primitives-server.ts"), join(work, "primitives-server"));
    const variants = [...FEATURES, FEATURES.filter((f) => f !== "none").join(",")];
    const samples = new Map<string, Sample[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < runs; r++) {
      // Rotate the order so no feature always runs right after the same neighbour.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      for (const v of order) {
        say(`run ${r + 1}/${runs}: ${v}`);
        samples.get(v)!.push(await measure(binary, v, idleMs));
      }
    }
    const med = (v: string, k: keyof Sample) => median(samples.get(v)!.map((s) => s[k])) ?? Number.NaN;
    const base = { rss: med("none", "rss"), anon: med("none", "anon") };
    const rows = variants.map((v) => ({
      features: v.includes(",") ? "all of the above" : v,
      rssMB: round(med(v, "rss"), 1),
      addedMB: round(med(v, "rss") - base.rss, 1),
      anonAddedMB: round(med(v, "anon") - base.anon, 1),
      threads: med(v, "threads"),
      samples: samples.get(v)!,
    }));
    const lines = [
      `primitives: bun scripts/bench/primitives.ts --runs ${runs} --idle-ms ${idleMs}; medians of ${runs} cold starts each`,
      "",
      "| feature exercised at start | idle RSS | added to a bare server | of which anonymous | threads |",
      "|---|---|---|---|---|",
      ...rows.map((r) => `| ${r.features} | ${r.rssMB} MB | ${r.features === "none" ? "—" : `${r.addedMB} MB`} | ${r.features === "none" ? "—" : `${r.anonAddedMB} MB`} | ${r.threads} |`),
    ];
    console.log(lines.join("\n"));
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: machineInfo(), runs, idleMs, rows }, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
