#!/usr/bin/env bun
/**
 * Two gateway builds head to head (a change's cost): `bun scripts/bench/ab.ts --old A --new B`.
 *
 *   start     spawn → port open → first OK `health` RPC, the two binaries alternating (`--starts`)
 *   paired    both gateways up, the server CPU pinned (taskset); in each pair of 1 s intervals
 *             (order alternating) handshakes per second (16 in flight), `health` RPCs per second
 *             (1 in flight) and HTTP `GET /health` per second (16 × 8 pipelined)
 *
 * Prints medians and the median of the pairs' new/old ratios (JSON with every sample on stdout
 * with --json). On a shared machine single intervals swing by ±20 %; the paired ratio is the
 * figure to read.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { httpLoad } from "./http-load.ts";
import { intArg, median, say } from "./lib.ts";
import { pinCpus, startServer, type Server } from "./servers.ts";
import { handshakeRate } from "./sockets.ts";
import { closeSocket, handshake, requestOnce } from "./ws-client.ts";

async function rpcRate(s: Server, ms: number): Promise<number> {
  const { ws } = await handshake(s.url, s.token);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await requestOnce(ws, "health", undefined);
    n++;
  }
  await closeSocket(ws);
  return n / (ms / 1000);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { old: { type: "string" }, new: { type: "string" }, starts: { type: "string" }, pairs: { type: "string" }, json: { type: "boolean" } },
    strict: true,
  });
  if (!values.old || !values.new || !existsSync(values.old) || !existsSync(values.new)) {
    process.stderr.write("usage: bun scripts/bench/ab.ts --old <binary> --new <binary> [--starts 21] [--pairs 10] [--json]\n");
    return 2;
  }
  const bins = { old: resolve(values.old), new: resolve(values.new) };
  const starts = intArg("starts", values.starts, 21, 2, 200);
  const pairs = intArg("pairs", values.pairs, 10, 1, 100);

  const start = { old: { portOpen: [] as number[], firstHealth: [] as number[] }, new: { portOpen: [] as number[], firstHealth: [] as number[] } };
  for (let i = 0; i < starts; i++) {
    for (const k of i % 2 ? (["new", "old"] as const) : (["old", "new"] as const)) {
      const s = await startServer("openclaw", bins[k], {});
      try {
        const { ws } = await handshake(s.url, s.token);
        await requestOnce(ws, "health", undefined);
        const ok = performance.now() - s.spawnedAt;
        await closeSocket(ws);
        if (i > 0) {
          start[k].portOpen.push(s.portOpenMs);
          start[k].firstHealth.push(ok);
        }
      } finally {
        await s.stop();
      }
    }
  }
  say(`starts done (${starts - 1} per build after a warmup)`);

  const pinned = pinCpus();
  const a = await startServer("openclaw", bins.old, { cpus: pinned?.serverCpus });
  const b = await startServer("openclaw", bins.new, { cpus: pinned?.serverCpus });
  const samples = { handshakes: [] as Array<[number, number]>, rpc: [] as Array<[number, number]>, http: [] as Array<[number, number]> };
  try {
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 ? [b, a] : [a, b];
      const one = async (f: (s: Server) => Promise<number>) => {
        const r = new Map<Server, number>();
        for (const s of order) r.set(s, await f(s));
        return [r.get(a)!, r.get(b)!] as [number, number];
      };
      samples.handshakes.push(await one(async (s) => (await handshakeRate(s, { concurrency: 16, durationMs: 1000 })).perSecond));
      samples.rpc.push(await one((s) => rpcRate(s, 1000)));
      samples.http.push(await one(async (s) => (await httpLoad({ port: s.port, path: "/health", connections: 16, depth: 8, durationMs: 1000 })).perSecond));
    }
  } finally {
    pinned?.restore();
    await a.stop();
    await b.stop();
  }

  const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
  const rows = {
    "start → port open (ms)": { old: median(start.old.portOpen), new: median(start.new.portOpen), ratio: null as number | null },
    "start → first OK health (ms)": { old: median(start.old.firstHealth), new: median(start.new.firstHealth), ratio: null as number | null },
    ...Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [`${k} per second (paired)`, { old: median(v.map((p) => p[0])), new: median(v.map((p) => p[1])), ratio: median(v.map((p) => p[1] / p[0])) }]),
    ),
  };
  for (const r of Object.values(rows)) r.ratio ??= r.old && r.new ? r.new / r.old : null;
  if (values.json) process.stdout.write(`${JSON.stringify({ bins, starts, pairs, rows, start, samples }, null, 2)}\n`);
  else for (const [k, r] of Object.entries(rows)) console.log(`${k.padEnd(34)} old ${round(r.old, 1)}  new ${round(r.new, 1)}  new/old ${round(r.ratio)}`);
  return 0;
}

if (import.meta.main) process.exitCode = await main();
