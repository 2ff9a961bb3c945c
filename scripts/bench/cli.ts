/**
 * CLI wall time: `openclaw gateway call health` against a running gateway (when the binary has
 * `gateway call`), and `openclaw --version`, each paired with
 * the compiled reference doing the same in the same run (`reference client <url>`: open, handshake,
 * one request, exit; `reference version`). Every child is bounded and stopped by PID.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, OutputTap, stopChild, within } from "../lib/proc.ts";
import { figure, metric, say, unavailable, type Metric } from "./lib.ts";
import { startServer } from "./servers.ts";

/** Spawn, wait for exit (bounded), return wall ms and output. */
export async function timed(cmd: string[], cwd: string, timeoutMs = 20_000): Promise<{ ms: number; code: number | null; out: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { cwd, env: cleanEnv({ HOME: cwd, NO_COLOR: "1" }), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out = new OutputTap(proc.stdout);
  const err = new OutputTap(proc.stderr);
  const code = await within(proc.exited, timeoutMs, "timeout" as const);
  const ms = performance.now() - t0;
  if (code === "timeout") await stopChild(proc, 0, "SIGKILL");
  await within(Promise.all([out.done, err.done]), 2_000, undefined);
  return { ms, code: code === "timeout" ? null : code, out: out.text + err.text };
}

/** True when `openclaw gateway --help` lists a `call` subcommand. */
export async function hasGatewayCall(binary: string, cwd: string): Promise<boolean> {
  let r: Awaited<ReturnType<typeof timed>>;
  try {
    r = await timed([binary, "gateway", "--help"], cwd);
  } catch {
    return false; // not executable / not there
  }
  const text = r.out.replace(/\x1b\[[0-9;]*m/g, "");
  const commands = text.split(/^COMMANDS$/m)[1] ?? "";
  return r.code === 0 && /^\s+call(,\s*\S+)*\s{2,}/m.test(commands);
}

export async function benchCli(opts: { binary: string; reference: string; runs: number; warmup: number }): Promise<{ metrics: Metric[]; errors: string[] }> {
  const errors: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), "openclaw-bench-cli-"));
  const callMs: number[] = [];
  const refClientMs: number[] = [];
  const versionMs: number[] = [];
  const refVersionMs: number[] = [];
  const withCall = await hasGatewayCall(opts.binary, cwd);
  if (!withCall) say("cli: this binary has no `gateway call`; measuring --version only");
  const gw = await startServer("openclaw", opts.binary);
  const ref = await startServer("reference", opts.reference, { sizes: { hello: 0, reply: 0 } });
  try {
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const keep = i >= opts.warmup;
      if (withCall) {
        const r = await timed([opts.binary, "gateway", "call", "health", "--url", gw.url, "--token", gw.token!, "--json"], cwd);
        if (r.code !== 0) errors.push(`gateway call health exited ${r.code}: ${r.out.trim().slice(0, 300)}`);
        else if (keep) callMs.push(r.ms);
        const c = await timed([opts.reference, "client", ref.url], cwd);
        if (c.code !== 0) errors.push(`reference client exited ${c.code}: ${c.out.trim().slice(0, 200)}`);
        else if (keep) refClientMs.push(c.ms);
      }
      const v = await timed([opts.binary, "--version"], cwd);
      if (v.code !== 0) errors.push(`--version exited ${v.code}`);
      else if (keep) versionMs.push(v.ms);
      const rv = await timed([opts.reference, "version"], cwd);
      if (rv.code !== 0) errors.push(`reference version exited ${rv.code}`);
      else if (keep) refVersionMs.push(rv.ms);
    }
  } finally {
    await Promise.all([gw.stop(), ref.stop()]);
    rmSync(cwd, { recursive: true, force: true });
  }
  const metrics: Metric[] = [
    withCall
      ? metric({
          id: "cli.gatewayCallHealth",
          label: "CLI `openclaw gateway call health` wall time",
          unit: "ms",
          better: "lower",
          openclaw: figure(callMs),
          referenceLabel: "compiled Bun WebSocket client: start, handshake, one request, exit",
          reference: figure(refClientMs),
        })
      : unavailable("cli.gatewayCallHealth", "CLI `openclaw gateway call health` wall time", "ms", "this binary has no `gateway call` (operator CLI issue)"),
    metric({
      id: "cli.version",
      label: "CLI `openclaw --version` wall time",
      unit: "ms",
      better: "lower",
      openclaw: figure(versionMs),
      referenceLabel: "compiled Bun program printing one line",
      reference: figure(refVersionMs),
    }),
  ];
  return { metrics, errors };
}
