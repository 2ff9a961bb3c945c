#!/usr/bin/env bun
/**
 * What device pairing costs the gateway, measured on a real gateway child process (from source,
 * or `--binary <path>`), loopback only:
 *
 *   bun scripts/bench/devices.ts [--binary dist/openclaw] [--connects 200] [--devices 100]
 *                                [--runs 3] [--idle-seconds 10] [--out results.json]
 *
 *   connect   time from sending `connect` to the `hello-ok` (client-side signing excluded), in
 *             interleaved rounds on one gateway: a device-less CLI with the shared token (the
 *             reference: no device path at all), a paired device with the shared token (proof
 *             check + pairing lookup + token re-derivation), a paired device with its device
 *             token alone (proof + token verification).
 *   rss       idle RSS of a fresh gateway that only ever saw device-less clients (the store is
 *             never opened) against one that paired `--devices` devices (each connected once,
 *             all closed), after the gateway went quiet.
 *   idle CPU  user+system CPU of those two gateways over `--idle-seconds` of idling afterwards
 *             (the only periodic work pairing adds is the 30 s tick's upgrade recheck).
 *
 * Stdout gets one JSON object; progress goes to stderr. Only the children started here are
 * stopped, by PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, readRssKiB } from "../lib/proc.ts";
import { spawnGateway, waitUntilListening, type GatewayChild } from "../lib/gateway-child.ts";
import { buildConnectParams, generateDeviceKeys, type DeviceKeys } from "../../test/helpers/device-client.ts";
import { figure, intArg, kibToMB, machineInfo, metric, percentile, round, say, type Metric } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const TOKEN = "bench-devices-token-0123456789abcdef";

const { values } = parseArgs({
  options: {
    binary: { type: "string" },
    connects: { type: "string" },
    devices: { type: "string" },
    runs: { type: "string" },
    "idle-seconds": { type: "string" },
    out: { type: "string" },
  },
});
const CONNECTS = intArg("connects", values.connects, 200, 10, 100_000);
const DEVICES = intArg("devices", values.devices, 100, 1, 1000);
const RUNS = intArg("runs", values.runs, 3, 1, 20);
const IDLE_S = intArg("idle-seconds", values["idle-seconds"], 10, 1, 600);
const COMMAND = values.binary ? [resolve(values.binary)] : [process.execPath, join(ROOT, "src", "main.ts")];

async function startGateway(): Promise<{ gw: GatewayChild; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-devices-"));
  writeFileSync(join(dir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }), { mode: 0o600 });
  const port = await freePort();
  const gw = spawnGateway({ command: COMMAND, port, stateDir: dir, cwd: ROOT });
  await waitUntilListening(gw, 20_000);
  return { gw, dir };
}

/** One connect; resolves with ms from sending `connect` to its response, and the response. */
async function timedConnect(url: string, opts: { keys?: DeviceKeys; auth: Record<string, string>; sign: boolean }): Promise<{ ms: number; res: any }> {
  const ws = new WebSocket(url);
  try {
    const challenge = await new Promise<{ nonce: string; ts: number }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error("no challenge")), 10_000);
      ws.addEventListener("message", (ev) => {
        const f = JSON.parse(String(ev.data));
        if (f.event === "connect.challenge") {
          clearTimeout(timer);
          res(f.payload);
        }
      });
      ws.addEventListener("error", () => rej(new Error("socket error")));
    });
    const params = await buildConnectParams(
      { keys: opts.keys, sign: opts.sign ? "v3" : "none", scopes: ["operator.read"], auth: opts.auth, client: { id: "cli", mode: "cli", platform: "linux", deviceFamily: "Linux" } },
      challenge,
    );
    const res = new Promise<any>((r, rej) => {
      const timer = setTimeout(() => rej(new Error("no hello")), 10_000);
      ws.addEventListener("message", (ev) => {
        const f = JSON.parse(String(ev.data));
        if (f.type === "res" && f.id === "c") {
          clearTimeout(timer);
          r(f);
        }
      });
    });
    const t0 = performance.now();
    ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params }));
    const frame = await res;
    return { ms: performance.now() - t0, res: frame };
  } finally {
    ws.close();
  }
}

/** CPU seconds (user+system) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function quietRss(pid: number): Promise<number> {
  // The gateway collects once it has been quiet for a moment after a burst of closes.
  await Bun.sleep(2_500);
  return readRssKiB(pid) ?? Number.NaN;
}

async function main(): Promise<void> {
  const metrics: Metric[] = [];

  // --- connect latency -------------------------------------------------------------------------
  say(`connect: ${CONNECTS} rounds of three connect kinds…`);
  const { gw, dir } = await startGateway();
  const samples = { plain: [] as number[], shared: [] as number[], token: [] as number[] };
  try {
    const url = `ws://127.0.0.1:${gw.port}`;
    const keys = await generateDeviceKeys();
    const first = await timedConnect(url, { keys, auth: { token: TOKEN }, sign: true });
    const deviceToken = first.res.payload?.auth?.deviceToken as string;
    if (!deviceToken) throw new Error(`the device was not paired: ${JSON.stringify(first.res)}`);
    for (let i = 0; i < CONNECTS; i++) {
      samples.plain.push((await timedConnect(url, { auth: { token: TOKEN }, sign: false })).ms);
      samples.shared.push((await timedConnect(url, { keys, auth: { token: TOKEN }, sign: true })).ms);
      samples.token.push((await timedConnect(url, { keys, auth: { deviceToken }, sign: true })).ms);
    }
  } finally {
    await gw.stop(3_000);
    rmSync(dir, { recursive: true, force: true });
  }
  const ref = figure(samples.plain, 3);
  for (const [id, label, xs] of [
    ["devices.connect.shared", "connect → hello-ok, paired device with the shared token", samples.shared],
    ["devices.connect.deviceToken", "connect → hello-ok, paired device with its device token", samples.token],
  ] as const) {
    metrics.push(
      metric({
        id,
        label,
        unit: "ms",
        better: "lower",
        openclaw: figure(xs, 3),
        referenceLabel: "device-less CLI with the shared token, same gateway, interleaved",
        reference: ref,
        note: `p99 ${round(percentile(xs, 99) ?? Number.NaN, 3)} ms (reference p99 ${round(percentile(samples.plain, 99) ?? Number.NaN, 3)} ms)`,
      }),
    );
  }

  // --- RSS and idle CPU ------------------------------------------------------------------------
  const rssPlain: number[] = [];
  const rssPaired: number[] = [];
  const cpuPlain: number[] = [];
  const cpuPaired: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const paired of [false, true]) {
      say(`rss/cpu run ${run + 1}/${RUNS}: ${paired ? `${DEVICES} paired devices` : "device-less clients only"}…`);
      const { gw, dir } = await startGateway();
      try {
        const url = `ws://127.0.0.1:${gw.port}`;
        for (let i = 0; i < DEVICES; i++) {
          if (paired) {
            const r = await timedConnect(url, { keys: await generateDeviceKeys(), auth: { token: TOKEN }, sign: true });
            if (!r.res.ok) throw new Error(`pairing failed: ${JSON.stringify(r.res.error)}`);
          } else {
            await timedConnect(url, { auth: { token: TOKEN }, sign: false });
          }
        }
        (paired ? rssPaired : rssPlain).push(await quietRss(gw.pid));
        const c0 = cpuSeconds(gw.pid);
        await Bun.sleep(IDLE_S * 1000);
        (paired ? cpuPaired : cpuPlain).push(((cpuSeconds(gw.pid) - c0) / IDLE_S) * 100);
      } finally {
        await gw.stop(3_000);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  metrics.push(
    metric({
      id: "devices.rss.paired",
      label: `idle RSS after pairing ${DEVICES} devices`,
      unit: "MB",
      better: "lower",
      openclaw: figure(rssPaired.map(kibToMB)),
      referenceLabel: `idle RSS after ${DEVICES} device-less connects (store never opened)`,
      reference: figure(rssPlain.map(kibToMB)),
    }),
  );
  metrics.push(
    metric({
      id: "devices.idleCpu.paired",
      label: `idle CPU with ${DEVICES} paired devices (over ${IDLE_S} s)`,
      unit: "% of one core",
      better: "lower",
      openclaw: figure(cpuPaired, 3),
      referenceLabel: "idle CPU, device-less clients only",
      reference: figure(cpuPlain, 3),
    }),
  );

  const out = { bench: "devices", date: new Date().toISOString(), command: COMMAND.join(" "), machine: machineInfo(), config: { CONNECTS, DEVICES, RUNS, IDLE_S }, metrics };
  const text = JSON.stringify(out, null, 2);
  if (values.out) writeFileSync(values.out, `${text}\n`);
  console.log(text);
}

await main();
