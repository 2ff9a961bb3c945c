#!/usr/bin/env bun
/**
 * Startup and idle-memory benchmark of the compiled gateway against a bare compiled `Bun.serve`.
 *
 *   bun scripts/bench/startup-beacon.ts [--binary dist/openclaw] [--runs 10] [--idle-ms 10000]
 *                                [--rss-runs <runs>] [--rss-parallel 5] [--warmup 1]
 *                                [--netns auto|on|off]
 *
 * Gateway (`dist/openclaw gateway --port P`, fresh temp OPENCLAW_STATE_DIR per run):
 *   warm      config pre-written (token known): spawn → TCP port open → first OK `health` RPC
 *   firstRun  empty state dir (the config write is included): same two points
 *   beacon    as warm, with the Bonjour beacon forced on (OPENCLAW_DISABLE_BONJOUR=0); `warm` and
 *             `firstRun` run with it off (=1), so warm vs beacon is discovery's startup cost
 *   idleRss   VmRSS from /proc/<pid>/status after one health RPC and `--idle-ms` of idle (gateway
 *             with the beacon off, gateway with the beacon on, reference)
 * Reference (a tiny `Bun.serve` with a WebSocket echo and HTTP, compiled with the same options):
 *   spawn → TCP port open → first WebSocket round trip; idleRss after one round trip + idle.
 *
 * Startup samples are interleaved (warm, firstRun, reference per round). Idle RSS is sampled in
 * batches of `--rss-parallel` gateway/reference pairs that idle concurrently, so 10 samples of
 * 10 s idle take ~20 s rather than 200 s. Every wait is bounded; only the processes started here
 * are stopped, by PID. Stdout gets one JSON object (medians, all samples, binary/reference ratios,
 * machine info); progress goes to stderr. Exit 1 if any sample failed (the JSON lists the errors).
 *
 * `--netns` (default `auto`: when root and `ip netns` work) runs the whole benchmark inside a
 * network namespace with only loopback and a veth pair (multicast on), so the beacon's
 * announcements exercise the real send path without reaching the host's network.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { healthOnce, readConfig, spawnGateway, writeTokenConfig, type GatewayChild } from "../lib/gateway-child.ts";
import { cleanEnv, freePort, readRssKiB, waitForPort, within } from "../lib/proc.ts";
import { countExitCodes, figure, machineInfo, median, round, say } from "./lib.ts";
import { BENCH_TOKEN, compileReference } from "./servers.ts";

const ROOT = resolve(import.meta.dir, "../..");

function intArg(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** Median and samples, rounded to 2 digits (the figure without min, max and runs). */
const stat = (xs: number[]) => {
  const { median, samples } = figure(xs);
  return { median, samples };
};
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? round(a / b, 3) : null);

// --- reference server -----------------------------------------------------------------------------

const REFERENCE_SOURCE = `
const port = Number(process.argv[2]);
if (!(port > 0)) { console.error("usage: ref <port>"); process.exit(2); }
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  development: false,
  fetch(req, srv) {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return srv.upgrade(req) ? undefined : new Response("upgrade failed", { status: 400 });
    }
    return Response.json({ ok: true, status: "live" });
  },
  websocket: { perMessageDeflate: false, message(ws, message) { ws.send(message); } },
});
process.on("SIGTERM", () => { server.stop(true); process.exit(0); });
`;

async function buildReference(dir: string): Promise<string> {
  const src = join(dir, "reference.ts");
  writeFileSync(src, REFERENCE_SOURCE);
  return compileReference(src, join(dir, "reference-server"));
}

/** Open a WebSocket, send one message, wait for the echo (bounded). */
function wsRoundTrip(port: number, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no WebSocket echo within ${timeoutMs}ms`));
    }, timeoutMs);
    ws.addEventListener("open", () => ws.send("ping"));
    ws.addEventListener("message", (ev) => {
      clearTimeout(timer);
      ws.close();
      if (String(ev.data) === "ping") resolvePromise();
      else reject(new Error(`unexpected echo ${String(ev.data).slice(0, 50)}`));
    });
    ws.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket to :${port} failed`));
    });
  });
}

// --- one process ----------------------------------------------------------------------------------

interface Started {
  child: GatewayChild;
  portOpenMs: number;
  firstOkMs: number;
  /** SIGTERM (SIGKILL after `graceMs`), drain the output, remove the state dir; the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

type Kind = "warm" | "firstRun" | "beacon" | "reference";

/** Spawn one process of `kind`, time port-open and first OK response. Caller stops it. */
async function startOne(kind: Kind, binary: string, reference: string): Promise<Started> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "openclaw-bench-"));
  if (kind === "warm" || kind === "beacon") writeTokenConfig(stateDir, BENCH_TOKEN);
  const t0 = performance.now();
  const child = spawnGateway({
    ...(kind === "reference" ? { command: [reference], args: [String(port)] } : { command: [binary] }),
    port,
    stateDir,
    cwd: stateDir,
    env: { OPENCLAW_DISABLE_BONJOUR: kind === "beacon" ? "0" : "1" },
  });
  const stop = async (graceMs = 5_000) => {
    const code = await child.stop(graceMs);
    await within(Promise.all([child.stdout.done, child.stderr.done]), 1_000, undefined);
    rmSync(stateDir, { recursive: true, force: true });
    return code;
  };
  try {
    await waitForPort(port, { timeoutMs: 15_000, intervalMs: 1, exited: child.proc.exited });
    const portOpenMs = performance.now() - t0;
    if (kind === "reference") await wsRoundTrip(port);
    else {
      const token = kind === "firstRun" ? readConfig(stateDir).gateway?.auth?.token : BENCH_TOKEN;
      if (!token) throw new Error("first run wrote no token");
      const health = await healthOnce(port, token, 5_000);
      if (health.ok !== true) throw new Error(`health not ok: ${JSON.stringify(health).slice(0, 200)}`);
    }
    const firstOkMs = performance.now() - t0;
    return { child, portOpenMs, firstOkMs, stop };
  } catch (e) {
    await stop(2_000);
    const tail = child.output().trim().split("\n").slice(-5).join("\n");
    throw new Error(`${kind}: ${(e as Error).message}${tail ? `\n${tail}` : ""}`);
  }
}

// --- isolation -------------------------------------------------------------------------------------

const IN_NETNS = "OPENCLAW_BENCH_IN_NETNS";
const NETNS_NAME = "OPENCLAW_BENCH_NETNS_NAME";

/**
 * Re-run this script inside a fresh network namespace (loopback + a veth pair with multicast on)
 * and return its exit code; undefined when namespaces are unavailable and `required` is false.
 */
async function runInNetns(required: boolean): Promise<number | undefined> {
  const ipBin = Bun.which("ip", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  const name = `oc-bench-${process.pid}`;
  const ip = (args: string[]) => Bun.spawnSync([ipBin ?? "ip", ...args], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  const fail = (why: string): number | undefined => {
    if (required) throw new Error(`--netns on: ${why}`);
    say(`not isolating in a network namespace (${why}); the beacon announces on this host's network`);
    return undefined;
  };
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !ipBin) return fail("needs Linux, root and iproute2");
  if (ip(["netns", "add", name]).exitCode !== 0) return fail("ip netns add is not allowed");
  try {
    for (const args of [
      ["link", "set", "lo", "up"],
      // A veth pair with both ends in the namespace: a real multicast-capable link to nowhere.
      ["link", "add", "bench0", "type", "veth", "peer", "name", "bench1"],
      ["addr", "add", "10.99.0.1/24", "dev", "bench0"],
      ["link", "set", "bench0", "multicast", "on"],
      ["link", "set", "bench1", "up"],
      ["link", "set", "bench0", "up"],
    ]) {
      const r = ip(["-n", name, ...args]);
      if (r.exitCode !== 0) return fail(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
    }
    say(`running inside network namespace ${name} (lo + veth bench0/bench1, multicast on)`);
    const child = Bun.spawn([ipBin, "netns", "exec", name, process.execPath, import.meta.path, ...process.argv.slice(2)], {
      env: { ...process.env, [IN_NETNS]: "1", [NETNS_NAME]: name },
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
    });
    return await child.exited;
  } finally {
    ip(["netns", "del", name]);
  }
}

// --- main -----------------------------------------------------------------------------------------

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
      netns: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(
      "usage: bun scripts/bench/startup-beacon.ts [--binary dist/openclaw] [--runs 10] [--idle-ms 10000] [--rss-runs N] [--rss-parallel 5] [--warmup 1] [--netns auto|on|off]\n",
    );
    return 0;
  }
  const runs = intArg("runs", values.runs, 10, 1, 200);
  const idleMs = intArg("idle-ms", values["idle-ms"], 10_000, 0, 600_000);
  const rssRuns = intArg("rss-runs", values["rss-runs"], runs, 0, 200);
  const rssParallel = intArg("rss-parallel", values["rss-parallel"], 5, 1, 50);
  const warmup = intArg("warmup", values.warmup, 1, 0, 10);
  const binary = resolve(values.binary ?? join(ROOT, "dist", "openclaw"));
  if (!existsSync(binary)) {
    say(`${binary} does not exist; run \`bun run build\` first`);
    return 2;
  }
  const netnsMode = values.netns ?? "auto";
  if (!["auto", "on", "off"].includes(netnsMode)) throw new Error("--netns must be auto, on or off");
  if (netnsMode !== "off" && process.env[IN_NETNS] !== "1") {
    const isolated = await runInNetns(netnsMode === "on");
    if (isolated !== undefined) return isolated;
  }
  if (process.platform !== "linux") say("idle RSS needs /proc (Linux); it will be null here");

  const workDir = mkdtempSync(join(tmpdir(), "openclaw-bench-ref-"));
  const errors: string[] = [];
  const samples = {
    warm: { portOpenMs: [] as number[], healthMs: [] as number[] },
    firstRun: { portOpenMs: [] as number[], healthMs: [] as number[] },
    beacon: { portOpenMs: [] as number[], healthMs: [] as number[] },
    reference: { portOpenMs: [] as number[], wsRoundTripMs: [] as number[] },
    rss: { binaryKiB: [] as number[], beaconKiB: [] as number[], referenceKiB: [] as number[] },
  };
  let beaconAdvertised = 0;
  let beaconIdled = 0;
  let stopExitCodes: Array<number | null> = [];
  try {
    say("compiling the reference server…");
    const reference = await buildReference(workDir);
    say(`binary ${binary} (${statSync(binary).size} B); reference ${reference} (${statSync(reference).size} B)`);

    const kinds: Kind[] = ["warm", "beacon", "firstRun", "reference"];
    for (let i = 0; i < warmup; i++) {
      for (const kind of kinds) {
        try {
          await (await startOne(kind, binary, reference)).stop();
        } catch (e) {
          errors.push(`warmup ${(e as Error).message}`);
        }
      }
    }

    for (let i = 0; i < runs; i++) {
      for (const kind of kinds) {
        try {
          const s = await startOne(kind, binary, reference);
          const code = await s.stop();
          stopExitCodes.push(code);
          if (kind === "reference") {
            samples.reference.portOpenMs.push(s.portOpenMs);
            samples.reference.wsRoundTripMs.push(s.firstOkMs);
          } else {
            samples[kind].portOpenMs.push(s.portOpenMs);
            samples[kind].healthMs.push(s.firstOkMs);
          }
        } catch (e) {
          errors.push(`run ${i + 1} ${(e as Error).message}`);
        }
      }
      say(
        `run ${i + 1}/${runs}: warm ${round(samples.warm.healthMs.at(-1) ?? NaN, 1)} ms, beacon on ${round(samples.beacon.healthMs.at(-1) ?? NaN, 1)} ms, first-run ${round(samples.firstRun.healthMs.at(-1) ?? NaN, 1)} ms, reference ${round(samples.reference.wsRoundTripMs.at(-1) ?? NaN, 1)} ms`,
      );
    }

    // Idle RSS: batches of gateway/reference pairs idle side by side.
    for (let done = 0; done < rssRuns; ) {
      const batch = Math.min(rssParallel, rssRuns - done);
      const started: Array<{ kind: "binary" | "beacon" | "reference"; s: Started }> = [];
      try {
        for (let j = 0; j < batch; j++) {
          for (const kind of ["binary", "beacon", "reference"] as const) {
            try {
              started.push({ kind, s: await startOne(kind === "binary" ? "warm" : kind, binary, reference) });
            } catch (e) {
              errors.push(`rss ${(e as Error).message}`);
            }
          }
        }
        say(`idle RSS: ${started.length} processes idling ${idleMs} ms (${done + batch}/${rssRuns})`);
        await Bun.sleep(idleMs);
        for (const { kind, s } of started) {
          const kib = readRssKiB(s.child.pid);
          if (kib === undefined) {
            if (process.platform === "linux") errors.push(`rss: no VmRSS for pid ${s.child.pid} (exit ${s.child.proc.exitCode})`);
          } else if (kind === "binary") samples.rss.binaryKiB.push(kib);
          else if (kind === "beacon") {
            samples.rss.beaconKiB.push(kib);
            beaconIdled++;
            // The beacon really ran: it probed and announced during the idle time.
            if (s.child.stdout.text.includes("advertised gateway")) beaconAdvertised++;
          } else samples.rss.referenceKiB.push(kib);
        }
      } finally {
        stopExitCodes = stopExitCodes.concat(await Promise.all(started.map(({ s }) => s.stop())));
      }
      done += batch;
    }

    const m = {
      warmHealth: median(samples.warm.healthMs),
      warmPort: median(samples.warm.portOpenMs),
      firstHealth: median(samples.firstRun.healthMs),
      firstPort: median(samples.firstRun.portOpenMs),
      refPort: median(samples.reference.portOpenMs),
      refRt: median(samples.reference.wsRoundTripMs),
      rssBin: median(samples.rss.binaryKiB),
      rssRef: median(samples.rss.referenceKiB),
      beaconPort: median(samples.beacon.portOpenMs),
      beaconHealth: median(samples.beacon.healthMs),
      rssBeacon: median(samples.rss.beaconKiB),
    };
    const result = {
      bench: "startup",
      date: new Date().toISOString(),
      config: { runs, warmup, idleMs, rssRuns, rssParallel, netns: process.env[IN_NETNS] === "1" ? process.env[NETNS_NAME] ?? true : false },
      machine: machineInfo(),
      binary: {
        path: binary,
        bytes: statSync(binary).size,
        version: readVersion(binary),
        warm: { portOpenMs: stat(samples.warm.portOpenMs), healthMs: stat(samples.warm.healthMs) },
        firstRun: { portOpenMs: stat(samples.firstRun.portOpenMs), healthMs: stat(samples.firstRun.healthMs) },
        idleRssKiB: stat(samples.rss.binaryKiB),
        beaconOn: {
          portOpenMs: stat(samples.beacon.portOpenMs),
          healthMs: stat(samples.beacon.healthMs),
          idleRssKiB: stat(samples.rss.beaconKiB),
          advertisedDuringIdle: `${beaconAdvertised}/${beaconIdled}`,
        },
      },
      reference: {
        description: "compiled Bun.serve (HTTP + WebSocket echo), same build options",
        bytes: statSync(reference).size,
        portOpenMs: stat(samples.reference.portOpenMs),
        wsRoundTripMs: stat(samples.reference.wsRoundTripMs),
        idleRssKiB: stat(samples.rss.referenceKiB),
      },
      ratios: {
        portOpen: ratio(m.warmPort, m.refPort),
        firstResponse: ratio(m.warmHealth, m.refRt),
        firstRunFirstResponse: ratio(m.firstHealth, m.refRt),
        idleRss: ratio(m.rssBin, m.rssRef),
        beaconOnOff: {
          portOpen: ratio(m.beaconPort, m.warmPort),
          firstResponse: ratio(m.beaconHealth, m.warmHealth),
          idleRss: ratio(m.rssBeacon, m.rssBin),
        },
      },
      stopExitCodes: countExitCodes(stopExitCodes),
      errors,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function readVersion(binary: string): string | null {
  const r = Bun.spawnSync([binary, "--version"], { env: cleanEnv(), stdout: "pipe", stderr: "ignore", timeout: 10_000 });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (e) {
    say(`failed: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
