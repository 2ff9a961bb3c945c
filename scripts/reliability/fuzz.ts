/**
 * Frame fuzzer: ≥100,000 hostile frames over real sockets against a real gateway process
 * (quick: 10,000). Authenticated sockets send a mix of malformed JSON, wrong shapes, unknown and
 * known methods with mutated params, huge ids, deep nesting, lone surrogates and binary frames;
 * every few hundred frames a `health` request must still be answered on the same socket (which
 * also bounds what is in flight). Fresh unauthenticated sockets send garbage before `connect`.
 * Invariants: the process never dies, every socket the gateway closed used a protocol close
 * code, a fresh client is served at the end, RSS stays bounded.
 *
 *   bun scripts/reliability/fuzz.ts [--quick]
 */
import { CLI_CLIENT, connectParams, Operator, Recorder, RssSampler, startGateway, TOKEN, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

const METHODS = [
  "health", "status", "system-presence", "config.get", "models.list", "channels.status", "last-heartbeat", "logs.tail",
  "agent.wait", "chat.history", "sessions.list", "chat.abort", "sessions.abort", "connect", "nope.method", "", "config.set",
  "config.patch", "config.apply", "agent", "chat.send", "secrets.reload",
];

/** A small deterministic PRNG so a failing run can be replayed with the same seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function junkValue(rand: () => number, depth = 0): unknown {
  const k = Math.floor(rand() * 12);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return Math.floor(rand() * 2 ** 53) * (rand() < 0.5 ? -1 : 1);
    case 3:
      return rand() * 1e308;
    case 4:
      return "x".repeat(Math.floor(rand() * 2000));
    case 5:
      return "\ud800\udfff\ud800" + String.fromCharCode(Math.floor(rand() * 0xffff));
    case 6:
      return depth < 4 ? Array.from({ length: Math.floor(rand() * 5) }, () => junkValue(rand, depth + 1)) : [];
    case 7:
      return depth < 4 ? Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, (_, i) => [`k${i}`, junkValue(rand, depth + 1)])) : {};
    case 8:
      return { __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } };
    case 9:
      return "main";
    case 10:
      return -1;
    default:
      return "";
  }
}

/** Params that are plausible for the method, then mutated. */
function params(rand: () => number, method: string): unknown {
  const base: Record<string, unknown> =
    method === "chat.history" ? { sessionKey: "main", limit: 5 }
    : method === "agent.wait" ? { runId: "nope", timeoutMs: 0 }
    : method === "logs.tail" ? { limit: 10 }
    : method === "sessions.list" ? { limit: 10 }
    : method === "models.list" ? { view: "configured" }
    : method === "config.patch" || method === "config.apply" || method === "config.set" ? { raw: "{not json", baseHash: "sha256:0" }
    : method === "agent" || method === "chat.send" ? { message: "", idempotencyKey: "" } // always invalid: no runs
    : {};
  const mutated: Record<string, unknown> = { ...base };
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) mutated[Object.keys(base)[i] ?? `extra${i}`] = junkValue(rand);
  return rand() < 0.1 ? junkValue(rand) : mutated;
}

function deepNesting(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** One hostile frame for an authenticated socket. */
function hostileFrame(rand: () => number, i: number): string | Uint8Array {
  const k = rand();
  if (k < 0.08) return "{not json";
  if (k < 0.12) return "";
  if (k < 0.16) return JSON.stringify(junkValue(rand));
  if (k < 0.2) return JSON.stringify({ type: "req", id: junkValue(rand), method: junkValue(rand), params: junkValue(rand) });
  if (k < 0.23) return JSON.stringify({ type: junkValue(rand), id: `f${i}`, method: "health" });
  if (k < 0.25) return JSON.stringify({ type: "req", id: "i".repeat(10_000), method: "health" });
  if (k < 0.27) return deepNesting(1 + Math.floor(rand() * 50_000));
  if (k < 0.3) return crypto.getRandomValues(new Uint8Array(1 + Math.floor(rand() * 512)));
  if (k < 0.33) return JSON.stringify({ type: "res", id: `f${i}`, ok: true, payload: junkValue(rand) });
  if (k < 0.35) return JSON.stringify({ type: "event", event: "presence", payload: junkValue(rand) });
  const method = METHODS[Math.floor(rand() * METHODS.length)];
  return JSON.stringify({ type: "req", id: `f${i}`, method, params: params(rand, method) });
}

/** Protocol close codes the gateway may legitimately use on a hostile socket. */
const EXPECTED_CLOSES = new Set([1000, 1002, 1003, 1007, 1008, 1009, 1011, 1013]);

export async function frameFuzz(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("fuzz");
  const total = opts.quick ? 10_000 : 100_000;
  const preauthSockets = opts.quick ? 100 : 1_000;
  const sockets = 8;
  const checkEvery = 250;
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const gw = await startGateway(opts, {});
  const rss = new RssSampler(gw, 500);
  let sent = 0;
  let healthChecks = 0;
  let healthFailures = 0;
  let reconnects = 0;
  const closeCodes = new Map<number, number>();
  const unexpectedCloses: string[] = [];
  const t0 = performance.now();
  try {
    r.set("seed (FUZZ_SEED)", seed);
    // Authenticated sockets, each with its own stream of frames.
    await Promise.all(
      Array.from({ length: sockets }, async (_, s) => {
        const rand = prng(seed * 31 + s);
        const share = Math.ceil((total - preauthSockets) / sockets);
        let op = await Operator.connect(gw.url, ["operator.read", "operator.write"]);
        for (let i = 0; i < share && gw.alive(); i++) {
          if (!op.open) {
            const c = op.closed?.code ?? 0;
            closeCodes.set(c, (closeCodes.get(c) ?? 0) + 1);
            if (!EXPECTED_CLOSES.has(c)) unexpectedCloses.push(`${c} ${op.closed?.reason ?? ""}`);
            op = await Operator.connect(gw.url, ["operator.read", "operator.write"]);
            reconnects++;
          }
          op.send(hostileFrame(rand, i));
          sent++;
          if (i % checkEvery === checkEvery - 1) {
            const h = await op.request("health", {}, 15_000);
            healthChecks++;
            if (!h.ok && h.error?.code !== "CLOSED") healthFailures++;
          }
        }
        await op.close();
      }),
    );
    // Garbage before the handshake, one fresh socket each.
    const rand = prng(seed);
    for (let i = 0; i < preauthSockets && gw.alive(); i++) {
      const code = await preauthGarbage(gw.url, hostileFrame(rand, i));
      closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
      sent++;
    }
    const elapsed = (performance.now() - t0) / 1000;
    r.set("frames sent", sent);
    r.set("frames/s", sent / elapsed);
    r.set("health checks in-stream", healthChecks);
    r.set("health checks unanswered", healthFailures);
    r.set("authenticated reconnects", reconnects);
    r.set("close codes seen", [...closeCodes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(" ") || "none");
    const fresh = await Operator.connect(gw.url, ["operator.read"], CLI_CLIENT).catch(() => undefined);
    const finalHealth = fresh ? await fresh.request("health", {}, 10_000) : undefined;
    await fresh?.close();
    rss.stop();
    r.set("RSS peak MB", rss.peak);
    r.set("RSS end MB", rss.last);
    r.check(gw.alive(), `gateway alive (${gw.crashed() ?? "running"})`);
    r.check(sent >= total, `at least ${total} frames sent (${sent})`);
    r.check(healthFailures === 0, `every in-stream health check answered (${healthFailures} not)`);
    r.check(finalHealth?.ok === true, "a fresh client is served after the fuzzing");
    r.check(unexpectedCloses.length === 0, `only protocol close codes (${unexpectedCloses.slice(0, 3).join("; ")})`);
    r.check(rss.peak < 512, `RSS stays under 512 MB (peak ${rss.peak})`);
  } finally {
    rss.stop();
    await gw.stop();
  }
  return r.result();
}

/** Open a socket, send one hostile frame instead of `connect`, return how it ended. */
async function preauthGarbage(url: string, frame: string | Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false } as unknown as string[]);
    const timer = setTimeout(() => {
      try {
        ws.close();
      } catch {}
    }, 3_000);
    let challenged = false;
    ws.onmessage = (ev) => {
      if (challenged) return;
      challenged = true;
      ws.send(frame);
      // A well-formed connect afterwards must not resurrect a refused socket (it is either closed or ignored).
      ws.send(JSON.stringify({ type: "req", id: "late", method: "connect", params: connectParams(["operator.admin"]) }).replace(TOKEN, "wrong-token"));
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      resolve(ev.code);
    };
    ws.onerror = () => {};
  });
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(frameFuzz);
}
