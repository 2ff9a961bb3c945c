#!/usr/bin/env bun
/**
 * Hot reload latency: from the start of a hot-safe config write to the change being visible
 * over RPC, against a real gateway process.
 *
 *   bun scripts/bench/reload.ts [--binary dist/openclaw | --source] [--runs 20] [--warmup 2]
 *                               [--debounce-ms 300] [--writer atomic|in-place]
 *
 * The gateway runs with its own temp OPENCLAW_STATE_DIR on a free loopback port and
 * `gateway.reload.debounceMs` as given (default 300, the product default). Each run:
 *   t0  → write the config with one more model under `models.providers.bench.models`
 *         (`atomic`: the project's writer, i.e. what `openclaw config set` does: temp file, fsync,
 *         rename, .bak; `in-place`: a plain write of the file, like a simple editor)
 *   t1  → `models.list` (polled every 2 ms over one WebSocket) lists the new model
 * latency = t1 − t0. Reported: median, p90, min, max of `--runs` samples (after `--warmup`), the
 * write time alone, and the target `debounce + 50 ms`. Stdout gets one JSON object; progress goes
 * to stderr. Every wait is bounded; only the gateway started here is stopped, by PID.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeConfigDocument } from "../../src/config/write.ts";
import { GatewayClient } from "../../src/protocol/client.ts";
import { configPath, spawnGateway, waitUntilListening } from "../lib/gateway-child.ts";
import { freePort, within } from "../lib/proc.ts";
import { say } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const TOKEN = "bench-reload-token-0123456789abcdef";

function intArg(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const round = (x: number) => Math.round(x * 100) / 100;

function configFor(debounceMs: number, models: number): Record<string, unknown> {
  return {
    gateway: { mode: "local", auth: { mode: "token", token: TOKEN }, reload: { mode: "hybrid", debounceMs } },
    models: {
      providers: {
        bench: { baseUrl: "http://127.0.0.1:9/v1", api: "openai-completions", models: Array.from({ length: models }, (_, i) => ({ id: `m${i}` })) },
      },
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      binary: { type: "string" },
      source: { type: "boolean" },
      runs: { type: "string" },
      warmup: { type: "string" },
      "debounce-ms": { type: "string" },
      writer: { type: "string" },
    },
  });
  const runs = intArg("runs", values.runs, 20, 1, 1000);
  const warmup = intArg("warmup", values.warmup, 2, 0, 100);
  const debounceMs = intArg("debounce-ms", values["debounce-ms"], 300, 0, 60_000);
  const writer = values.writer ?? "atomic";
  if (writer !== "atomic" && writer !== "in-place") throw new Error("--writer must be atomic or in-place");
  const binary = values.binary ? resolve(values.binary) : join(ROOT, "dist", "openclaw");
  const command = values.source || !existsSync(binary) ? [process.execPath, join(ROOT, "src", "main.ts")] : [binary];
  say(`gateway: ${command.join(" ")}; debounce ${debounceMs} ms; writer ${writer}; ${warmup} warmup + ${runs} runs`);

  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-reload-"));
  const path = configPath(stateDir);
  writeFileSync(path, JSON.stringify(configFor(debounceMs, 1), null, 2), { mode: 0o600 });
  const port = await freePort();
  const child = spawnGateway({ command, port, stateDir });
  const errors: string[] = [];
  const samples: number[] = [];
  const writeTimes: number[] = [];
  let client: GatewayClient | undefined;
  try {
    await waitUntilListening(child, 20_000);
    client = await GatewayClient.connect({ url: `ws://127.0.0.1:${port}`, token: TOKEN, connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 });
    let models = 1;
    for (let i = 0; i < warmup + runs; i++) {
      models++;
      const want = `m${models - 1}`;
      const doc = configFor(debounceMs, models);
      const t0 = performance.now();
      if (writer === "atomic") await writeConfigDocument(path, doc, { env: {} });
      else writeFileSync(path, JSON.stringify(doc, null, 2));
      const written = performance.now() - t0;
      const deadline = t0 + debounceMs + 10_000;
      let seen = false;
      while (performance.now() < deadline) {
        const r = await client.request<{ models: Array<{ id: string }> }>("models.list", { view: "provider-config" });
        if (r.models.some((m) => m.id === want)) {
          seen = true;
          break;
        }
        await Bun.sleep(2);
      }
      const latency = performance.now() - t0;
      if (!seen) {
        errors.push(`run ${i}: ${want} not visible within ${Math.round(latency)} ms`);
        continue;
      }
      if (i >= warmup) {
        samples.push(latency);
        writeTimes.push(written);
      }
      say(`${i < warmup ? "warmup" : `run ${i - warmup + 1}`}: ${latency.toFixed(1)} ms (write ${written.toFixed(1)} ms)`);
      // Let the gateway settle (last-known-good copy, health broadcast) before the next write.
      await Bun.sleep(50);
    }
  } catch (err) {
    errors.push((err as Error).message ?? String(err));
  } finally {
    if (client) await within(client.close(), 1_000, undefined);
    await child.stop(5_000);
    rmSync(stateDir, { recursive: true, force: true });
  }
  const target = debounceMs + 50;
  const result = {
    bench: "reload",
    date: new Date().toISOString(),
    config: { runs, warmup, debounceMs, writer, command: command.map((c) => (c === process.execPath ? "bun" : c)) },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), bun: Bun.version, loadavg: loadavg().map(round) },
    latencyMs: samples.length
      ? {
          median: round(quantile(samples, 0.5)),
          p90: round(quantile(samples, 0.9)),
          min: round(Math.min(...samples)),
          max: round(Math.max(...samples)),
          samples: samples.map(round),
        }
      : null,
    writeMs: writeTimes.length ? { median: round(quantile(writeTimes, 0.5)) } : null,
    targetMs: target,
    medianOverDebounceMs: samples.length ? round(quantile(samples, 0.5) - debounceMs) : null,
    meetsTarget: samples.length ? quantile(samples, 0.5) <= target : false,
    errors,
  };
  console.log(JSON.stringify(result, null, 2));
  if (result.latencyMs) say(`median ${result.latencyMs.median} ms (target ≤ ${target} ms: ${result.meetsTarget ? "met" : "NOT met"})`);
  return errors.length ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main();
