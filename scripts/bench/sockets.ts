/**
 * WebSocket and HTTP benchmarks against a running gateway and the reference:
 *
 *   fleet       `clients` handshaken sockets (client `cli`, scope operator.read): RSS before,
 *               with all connected, and after all left; then broadcast fan-out latency: one socket
 *               asks for `health {probe:true}` (the gateway broadcasts a `health` event to every
 *               socket; the reference publishes an event of the same size), and every socket
 *               records when the event arrived, measured from the moment the request was sent.
 *               (one fresh process per run and kind; the order alternates between runs)
 *   throughput  handshakes per second (`concurrency` in flight, each socket closed after its
 *               hello); `health` RPCs per second on one socket, 1 and `window` in flight; HTTP
 *               `GET /health` per second (scripts/bench/http-load.ts). Both servers are up and
 *               measured in back-to-back pairs, so background load hits both alike.
 */
import { kibToMB, percentile, say } from "./lib.ts";
import { httpLoad } from "./http-load.ts";
import { pageOutExecutable } from "./pageout.ts";
import type { Server } from "./servers.ts";
import { closeSocket, handshake, openMany, requestOnce } from "./ws-client.ts";

const HEALTH_EVENT = '{"type":"event","event":"health"';

export interface FleetSample {
  idleMB: number | undefined;
  connectedMB: number | undefined;
  afterLeaveMB: number | undefined;
  /** RssAnon before the clients came and after they left. */
  idleAnonMB: number | undefined;
  afterLeaveAnonMB: number | undefined;
  /** After leaving: the executable's clean pages paged out, one more request, 1 s (undefined when paging out is refused). */
  afterLeavePagedMB: number | undefined;
  /** ms to open all sockets. */
  openMs: number;
  fanoutP50: number | null;
  fanoutP99: number | null;
  fanoutMax: number | null;
  /** Events that did not arrive within the round timeout. */
  missing: number;
}

function triggerFrame(server: Server, n: number): string {
  return server.kind === "openclaw"
    ? JSON.stringify({ type: "req", id: `p${n}`, method: "health", params: { probe: true } })
    : JSON.stringify({ type: "req", id: `p${n}`, method: "broadcast" });
}

export async function fleetRun(
  server: Server,
  opts: { clients: number; concurrency: number; rounds: number; warmupRounds: number; settleMs: number; leaveMs: number },
): Promise<FleetSample> {
  await Bun.sleep(opts.settleMs);
  const idle = server.rssKiB();
  const idleAnon = server.rssAnonKiB();
  const t0 = performance.now();
  const sockets = await openMany(server.url, server.token, opts.clients, opts.concurrency, 120_000);
  const openMs = performance.now() - t0;
  let latencies: number[] = [];
  let missing = 0;
  try {
    await Bun.sleep(opts.settleMs);
    const connected = server.rssKiB();

    // --- fan-out ---
    const n = sockets.length;
    const seenRound = new Int32Array(n).fill(-1);
    const arrival = new Float64Array(n);
    let round = -1;
    let sentAt = 0;
    let received = 0;
    let roundDone: (() => void) | undefined;
    sockets.forEach((ws, i) => {
      ws.onmessage = (ev) => {
        if (round < 0 || seenRound[i] === round) return;
        const text = ev.data as string;
        if (typeof text !== "string" || !text.startsWith(HEALTH_EVENT)) return;
        seenRound[i] = round;
        arrival[i] = performance.now() - sentAt;
        if (++received === n) roundDone?.();
      };
    });
    for (let r = 0; r < opts.warmupRounds + opts.rounds; r++) {
      received = 0;
      round = r;
      const done = new Promise<void>((resolve) => (roundDone = resolve));
      sentAt = performance.now();
      sockets[0].send(triggerFrame(server, r));
      const timedOut = await Promise.race([done.then(() => false), Bun.sleep(10_000).then(() => true)]);
      roundDone = undefined;
      if (r >= opts.warmupRounds) {
        for (let i = 0; i < n; i++) if (seenRound[i] === r) latencies.push(arrival[i]);
        if (timedOut) missing += n - received;
      }
      await Bun.sleep(20);
    }
    round = -1;

    // --- leave ---
    await Promise.all(sockets.map((ws) => closeSocket(ws, 5_000)));
    sockets.length = 0;
    await Bun.sleep(opts.leaveMs);
    const after = server.rssKiB();
    const afterAnon = server.rssAnonKiB();
    // What of that is the executable's clean pages (JIT compilers and the like that the load
    // paged in): page them out, serve one request, see what comes back.
    let afterPaged: number | undefined;
    const paged = await pageOutExecutable(server.pid, server.binary);
    if ("bytes" in paged) {
      const { ws } = await handshake(server.url, server.token);
      await requestOnce(ws, "health", undefined);
      await closeSocket(ws);
      await Bun.sleep(1_000);
      afterPaged = server.rssKiB();
    }
    const sorted = latencies.sort((a, b) => a - b);
    latencies = [];
    return {
      idleMB: idle === undefined ? undefined : kibToMB(idle),
      connectedMB: connected === undefined ? undefined : kibToMB(connected),
      afterLeaveMB: after === undefined ? undefined : kibToMB(after),
      idleAnonMB: idleAnon === undefined ? undefined : kibToMB(idleAnon),
      afterLeaveAnonMB: afterAnon === undefined ? undefined : kibToMB(afterAnon),
      afterLeavePagedMB: afterPaged === undefined ? undefined : kibToMB(afterPaged),
      openMs,
      fanoutP50: percentile(sorted, 50),
      fanoutP99: percentile(sorted, 99),
      fanoutMax: sorted.length ? sorted[sorted.length - 1] : null,
      missing,
    };
  } finally {
    await Promise.all(sockets.map((ws) => closeSocket(ws, 1_000)));
  }
}

/** Complete handshakes per second with `concurrency` in flight for `durationMs`. */
export async function handshakeRate(server: Server, opts: { concurrency: number; durationMs: number }): Promise<{ perSecond: number; errors: number; firstError?: string }> {
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  const closing: Promise<void>[] = [];
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  const worker = async () => {
    for (let guard = 0; guard < 1_000_000 && performance.now() < deadline; guard++) {
      try {
        const { ws } = await handshake(server.url, server.token, 10_000);
        if (performance.now() <= deadline) count++;
        closing.push(closeSocket(ws, 2_000));
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        if (errors > 100) return;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const elapsed = Math.min(performance.now() - t0, opts.durationMs);
  await Promise.all(closing);
  return { perSecond: (count * 1000) / elapsed, errors, firstError };
}

/** `health` requests per second on one socket with `window` requests in flight. */
export async function rpcRate(server: Server, opts: { window: number; durationMs: number }): Promise<{ perSecond: number; errors: number }> {
  const { ws } = await handshake(server.url, server.token, 10_000);
  try {
    let ok = 0;
    let errors = 0;
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + opts.durationMs;
    const send = () => ws.send(`{"type":"req","id":"h${next++}","method":"health"}`);
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      const timer = setTimeout(resolve, opts.durationMs + 10_000);
      ws.onmessage = (ev) => {
        const text = ev.data as string;
        if (typeof text !== "string" || !text.startsWith('{"type":"res"')) return;
        inFlight--;
        if (text.includes('"ok":true')) {
          if (performance.now() <= deadline) ok++;
        } else errors++;
        if (performance.now() < deadline) {
          inFlight++;
          send();
        } else if (inFlight === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (let i = 0; i < opts.window; i++) {
        inFlight++;
        send();
      }
    });
    return { perSecond: (ok * 1000) / Math.min(performance.now() - t0, opts.durationMs), errors };
  } finally {
    await closeSocket(ws, 2_000);
  }
}

export type ThroughputKey = "handshakes" | "rpcSequential" | "rpcWindow" | "http";

/** Paired samples of one throughput figure: openclaw[i] and reference[i] were measured back to back. */
export interface Paired {
  openclaw: number[];
  reference: number[];
  /** openclaw[i] / reference[i] */
  ratios: number[];
}

export interface ThroughputOptions {
  durationMs: number;
  /** Back-to-back openclaw/reference pairs per figure and run. */
  pairs: number;
  concurrency: number;
  window: number;
  httpConnections: number;
  httpDepth: number;
}

/**
 * One run of the throughput figures with both servers up: for each figure, a short warm-up of
 * each, then `pairs` back-to-back intervals (openclaw then reference, the order alternating), so a
 * change in background load hits both sides of a pair alike.
 */
export async function throughputRun(gw: Server, ref: Server, opts: ThroughputOptions, into: Record<ThroughputKey, Paired>, errors: string[]): Promise<void> {
  const measure: Record<ThroughputKey, (s: Server, durationMs: number) => Promise<number>> = {
    handshakes: async (s, durationMs) => {
      const r = await handshakeRate(s, { concurrency: opts.concurrency, durationMs });
      if (r.errors) errors.push(`${s.kind} handshakes: ${r.errors} errors (${r.firstError})`);
      return r.perSecond;
    },
    rpcSequential: async (s, durationMs) => {
      const r = await rpcRate(s, { window: 1, durationMs });
      if (r.errors) errors.push(`${s.kind} health RPC: ${r.errors} error replies`);
      return r.perSecond;
    },
    rpcWindow: async (s, durationMs) => {
      const r = await rpcRate(s, { window: opts.window, durationMs });
      if (r.errors) errors.push(`${s.kind} health RPC: ${r.errors} error replies`);
      return r.perSecond;
    },
    http: async (s, durationMs) => {
      const r = await httpLoad({ port: s.port, connections: opts.httpConnections, depth: opts.httpDepth, durationMs });
      if (r.errors) errors.push(`${s.kind} HTTP: ${r.errors} errors (${r.firstError})`);
      return r.perSecond;
    },
  };
  for (const key of Object.keys(measure) as ThroughputKey[]) {
    for (const s of [gw, ref]) await measure[key](s, 200); // warm-up, not recorded
    for (let k = 0; k < opts.pairs; k++) {
      const v: Record<Server["kind"], number> = { openclaw: 0, reference: 0 };
      for (const s of k % 2 === 0 ? [gw, ref] : [ref, gw]) v[s.kind] = await measure[key](s, opts.durationMs);
      into[key].openclaw.push(v.openclaw);
      into[key].reference.push(v.reference);
      if (v.reference > 0) into[key].ratios.push(v.openclaw / v.reference);
    }
    say(`${key}: openclaw ${Math.round(into[key].openclaw.at(-1)!)}/s, reference ${Math.round(into[key].reference.at(-1)!)}/s`);
  }
}
