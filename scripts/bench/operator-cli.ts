#!/usr/bin/env bun
/**
 * CLI wall-time benchmark with the compiled binary against a live gateway (same binary):
 *   - `openclaw gateway call health` (local config: port and token from the state dir)
 *   - `openclaw status`
 *   - a second gateway on a busy port: spawn → exit 78
 * Medians of `--runs` (default 10) with min/max. Reference in the same run: `bun -e 0` and the
 * binary's `--version` (process start floor). JSON on stdout.
 *
 *   bun scripts/bench/operator-cli.ts [--binary dist/openclaw] [--runs 10]
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { spawnGateway, waitUntilListening } from "../lib/gateway-child.ts";
import { cleanEnv, freePort } from "../lib/proc.ts";
import { figure } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const { values } = parseArgs({ options: { binary: { type: "string" }, runs: { type: "string" } } });
const BINARY = resolve(values.binary ?? join(ROOT, "dist", "openclaw"));
const RUNS = Math.max(1, Math.min(100, Number(values.runs ?? 10)));
if (!existsSync(BINARY)) {
  console.error(`no binary at ${BINARY}; run \`bun run build\` first`);
  process.exit(1);
}

/** Median, min, max and the sorted samples, to 1 digit. */
function stat(samples: number[]) {
  const { median, min, max, samples: sorted } = figure([...samples].sort((a, b) => a - b), 1);
  return { median, min, max, samples: sorted };
}

async function timeRun(cmd: string[], env: Record<string, string>, expectCode = 0): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { env: cleanEnv(env), stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (code !== expectCode) throw new Error(`${cmd.join(" ")} exited ${code}, expected ${expectCode}`);
  return ms;
}

const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-cli-"));
const port = await freePort();
writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port, auth: { mode: "token", token: "bench-cli-token-0123456789" } } }));
const gw = spawnGateway({ command: [BINARY], args: ["gateway"], port, stateDir });
const env = { OPENCLAW_STATE_DIR: stateDir };
const result: Record<string, unknown> = {};
try {
  await waitUntilListening(gw, 15_000);
  const samples: Record<string, number[]> = { callHealth: [], status: [], version: [], bunFloor: [], busyPortExit78: [] };
  // one warm-up of each
  await timeRun([BINARY, "gateway", "call", "health"], env);
  await timeRun([BINARY, "status"], env);
  for (let i = 0; i < RUNS; i++) {
    samples.callHealth.push(await timeRun([BINARY, "gateway", "call", "health"], env));
    samples.status.push(await timeRun([BINARY, "status"], env));
    samples.version.push(await timeRun([BINARY, "--version"], env));
    samples.bunFloor.push(await timeRun([process.execPath, "-e", "0"], env));
    const other = mkdtempSync(join(tmpdir(), "openclaw-bench-busy-"));
    writeFileSync(join(other, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: "bench-busy-token-0123456789" } } }));
    samples.busyPortExit78.push(await timeRun([BINARY, "gateway", "--port", String(port)], { OPENCLAW_STATE_DIR: other }, 78));
    rmSync(other, { recursive: true, force: true });
  }
  Object.assign(result, {
    bench: "cli",
    date: new Date().toISOString(),
    runs: RUNS,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), bun: Bun.version },
    binary: BINARY,
    wallMs: {
      gatewayCallHealth: stat(samples.callHealth),
      status: stat(samples.status),
      busyPortExit78: stat(samples.busyPortExit78),
      versionFloor: stat(samples.version),
      bunDashE0: stat(samples.bunFloor),
    },
  });
} finally {
  await gw.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
