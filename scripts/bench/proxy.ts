#!/usr/bin/env bun
/**
 * What the gateway adds on top of the model provider, measured against calling the fake
 * upstream directly in the same run:
 *
 *   bun scripts/bench/proxy.ts [--binary dist/openclaw] [--requests 300] [--rounds 5]
 *                              [--chunks 20000] [--warmup 30]
 *
 * Processes: the fake upstream (test/fixture/fake-upstream-main.ts) and the gateway (from source,
 * or `--binary`) each run as their own child; this process is the client.
 *
 *   latency     non-stream chat completion, one request at a time, alternating direct
 *               (`POST <fake>/v1/chat/completions`, model echo) and through the gateway
 *               (`POST <gateway>/v1/chat/completions`, model openclaw → fake/echo, a fresh
 *               stateless call, as for any client that sends no `user`). Added latency per
 *               round = median(gateway) − median(direct); reported: median over rounds.
 *   persisted   the same through the gateway with a fresh `user` per call, so each call also
 *               writes a session transcript (SQLite); reported against the same direct runs.
 *   throughput  one streamed completion of `--chunks` upstream chunks (model chunks-N), read to
 *               `[DONE]`, alternating direct and gateway per round. Throughput = upstream chunks
 *               delivered per second; ratio = gateway / direct, median over rounds.
 *
 * Targets: ≤ 1 ms median added latency, ≥ 90 % of direct streaming throughput.
 * Stdout: one JSON object; progress on stderr. Only the children started here are stopped.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { configPath } from "../lib/gateway-child.ts";
import { cleanEnv, freePort, OutputTap, stopChild, waitForPort } from "../lib/proc.ts";
import { median, say } from "./lib.ts";
import { BENCH_TOKEN } from "./servers.ts";

const ROOT = resolve(import.meta.dir, "../..");

function intArg(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function spawnChild(cmd: string[], env: Record<string, string | undefined>) {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { proc, out: new OutputTap(proc.stdout), err: new OutputTap(proc.stderr) };
}

async function postJson(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** One non-stream completion; ms from send to parsed body. Throws on a wrong answer. */
async function completionMs(url: string, body: unknown, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const res = await postJson(url, body, headers);
  const json = (await res.json()) as any;
  const ms = performance.now() - t0;
  if (res.status !== 200 || json.choices?.[0]?.message?.content !== "echo: hello") {
    throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(json).slice(0, 200)}`);
  }
  return ms;
}

/** One streamed completion read to [DONE]; returns ms, SSE frames and content characters. */
async function streamRun(url: string, body: unknown, headers: Record<string, string>, expectChars: number) {
  const t0 = performance.now();
  const res = await postJson(url, body, headers);
  if (res.status !== 200 || !res.body) throw new Error(`stream answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const decoder = new TextDecoder();
  let rest = "";
  let frames = 0;
  let chars = 0;
  let done = false;
  for await (const bytes of res.body) {
    const text = rest + decoder.decode(bytes, { stream: true });
    const parts = text.split("\n\n");
    rest = parts.pop() ?? "";
    for (const part of parts) {
      if (!part.startsWith("data: ")) continue;
      const data = part.slice(6);
      if (data === "[DONE]") {
        done = true;
        continue;
      }
      frames++;
      const c = JSON.parse(data).choices?.[0]?.delta?.content;
      if (typeof c === "string") chars += c.length;
    }
  }
  const ms = performance.now() - t0;
  if (!done || chars !== expectChars) throw new Error(`stream incomplete: done=${done}, ${chars}/${expectChars} characters`);
  return { ms, frames, chars };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      binary: { type: "string" },
      requests: { type: "string" },
      rounds: { type: "string" },
      chunks: { type: "string" },
      warmup: { type: "string" },
    },
  });
  const requests = intArg("requests", values.requests, 300, 10, 100_000);
  const rounds = intArg("rounds", values.rounds, 5, 1, 100);
  const chunks = intArg("chunks", values.chunks, 20_000, 100, 10_000_000);
  const warmup = intArg("warmup", values.warmup, 30, 0, 10_000);
  const binary = values.binary ? resolve(values.binary) : undefined;

  const work = mkdtempSync(join(tmpdir(), "openclaw-bench-proxy-"));
  const children: Array<ReturnType<typeof spawnChild>> = [];
  try {
    const fakePort = await freePort();
    const fake = spawnChild([process.execPath, join(ROOT, "test/fixture/fake-upstream-main.ts"), String(fakePort)], {});
    children.push(fake);
    await waitForPort(fakePort, { timeoutMs: 10_000, exited: fake.proc.exited });
    const fakeUrl = `http://127.0.0.1:${fakePort}`;

    const gwPort = await freePort();
    const stateDir = join(work, "state");
    const config = {
      gateway: { mode: "local", auth: { mode: "token", token: BENCH_TOKEN } },
      models: { providers: { fake: { baseUrl: `${fakeUrl}/v1`, api: "openai-completions", models: [{ id: "echo" }] } } },
      agents: { defaults: { model: "fake/echo" } },
    };
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(configPath(stateDir), JSON.stringify(config), { mode: 0o600 });
    const gwCmd = binary ? [binary] : [process.execPath, join(ROOT, "src/main.ts")];
    const gw = spawnChild([...gwCmd, "gateway", "--port", String(gwPort)], { OPENCLAW_STATE_DIR: stateDir });
    children.push(gw);
    await waitForPort(gwPort, { timeoutMs: 20_000, exited: gw.proc.exited });
    const gwUrl = `http://127.0.0.1:${gwPort}`;
    const auth = { Authorization: `Bearer ${BENCH_TOKEN}` };
    say(`fake upstream ${fakeUrl} (pid ${fake.proc.pid}), gateway ${gwUrl} (pid ${gw.proc.pid}, ${binary ?? "from source"})`);

    // --- latency ---
    const directUrl = `${fakeUrl}/v1/chat/completions`;
    const viaUrl = `${gwUrl}/v1/chat/completions`;
    const directBody = { model: "echo", messages: [{ role: "user", content: "hello" }] };
    const viaBody = { model: "openclaw", messages: [{ role: "user", content: "hello" }] };
    for (let i = 0; i < warmup; i++) {
      await completionMs(directUrl, directBody, {});
      await completionMs(viaUrl, viaBody, auth);
    }
    const latency: Array<{ directMs: number; gatewayMs: number; addedMs: number; persistedMs: number; persistedAddedMs: number }> = [];
    let userN = 0;
    const persistedBody = () => ({ ...viaBody, user: `bench-${process.pid}-${++userN}` });
    const per = Math.max(1, Math.floor(requests / rounds));
    for (let r = 0; r < rounds; r++) {
      const d: number[] = [];
      const g: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < per; i++) {
        // Rotate the order so no side always runs on a warmer cache.
        const steps = [
          async () => d.push(await completionMs(directUrl, directBody, {})),
          async () => g.push(await completionMs(viaUrl, viaBody, auth)),
          async () => p.push(await completionMs(viaUrl, persistedBody(), auth)),
        ];
        for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]();
      }
      const dm = median(d)!;
      const gm = median(g)!;
      const pm = median(p)!;
      latency.push({ directMs: round(dm), gatewayMs: round(gm), addedMs: round(gm - dm), persistedMs: round(pm), persistedAddedMs: round(pm - dm) });
      say(`latency round ${r + 1}/${rounds}: direct ${dm.toFixed(3)} ms, gateway ${gm.toFixed(3)} ms (+${(gm - dm).toFixed(3)} ms), with a stored session ${pm.toFixed(3)} ms (+${(pm - dm).toFixed(3)} ms), n=${per}`);
    }

    // --- streaming throughput ---
    const model = `chunks-${chunks}`;
    const expectChars = Array.from({ length: chunks }, (_, i) => `w${i} `.length).reduce((a, b) => a + b, 0);
    const sDirect = { model, stream: true, messages: [{ role: "user", content: "go" }] };
    const sVia = { model: "openclaw", stream: true, messages: [{ role: "user", content: "go" }] };
    const viaHeaders = { ...auth, "x-openclaw-model": `fake/${model}` };
    // Streams warm up the JIT of all three processes: a few untimed runs each.
    for (let i = 0; i < 3; i++) {
      await streamRun(directUrl, sDirect, {}, expectChars);
      await streamRun(viaUrl, sVia, viaHeaders, expectChars);
    }
    const throughput: Array<Record<string, number>> = [];
    for (let r = 0; r < rounds; r++) {
      const first = r % 2 === 0;
      const a = first ? await streamRun(directUrl, sDirect, {}, expectChars) : undefined;
      const b = await streamRun(viaUrl, sVia, viaHeaders, expectChars);
      const c = a ?? (await streamRun(directUrl, sDirect, {}, expectChars));
      const direct = chunks / (c.ms / 1000);
      const gateway = chunks / (b.ms / 1000);
      throughput.push({
        directChunksPerSec: Math.round(direct),
        gatewayChunksPerSec: Math.round(gateway),
        ratio: round(gateway / direct),
        directMs: round(c.ms, 1),
        gatewayMs: round(b.ms, 1),
        directFrames: c.frames,
        gatewayFrames: b.frames,
      });
      say(`stream round ${r + 1}/${rounds}: direct ${Math.round(direct)} chunks/s, gateway ${Math.round(gateway)} chunks/s (${((gateway / direct) * 100).toFixed(1)} %)`);
    }

    const addedMedian = round(median(latency.map((l) => l.addedMs))!);
    const ratioMedian = round(median(throughput.map((t) => t.ratio))!);
    const result = {
      bench: "proxy",
      date: new Date().toISOString(),
      gateway: binary ?? "bun src/main.ts",
      config: { requests, rounds, perRound: per, warmup, chunks },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, kernel: release(), bun: Bun.version, loadavg: loadavg().map((x) => round(x, 2)) },
      latency: {
        rounds: latency,
        medianDirectMs: round(median(latency.map((l) => l.directMs))!),
        medianGatewayMs: round(median(latency.map((l) => l.gatewayMs))!),
        medianAddedMs: addedMedian,
        medianPersistedMs: round(median(latency.map((l) => l.persistedMs))!),
        medianPersistedAddedMs: round(median(latency.map((l) => l.persistedAddedMs))!),
        target: "≤ 1 ms",
        met: addedMedian <= 1,
      },
      throughput: {
        rounds: throughput,
        medianRatio: ratioMedian,
        target: "≥ 0.90",
        met: ratioMedian >= 0.9,
        note: "the gateway forwards everything one upstream read delivered as one delta, so it sends fewer, larger SSE frames (see *Frames)",
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    for (const c of children.reverse()) await stopChild(c.proc, 3_000);
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (e) {
    say(`failed: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
