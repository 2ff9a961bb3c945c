/**
 * Slow consumers: 10 authenticated sockets (operator.read, so every broadcast is theirs too)
 * complete the handshake and then never read again, for 30 s (quick: 5 s). Meanwhile 4 lanes of
 * agent runs stream 64 KiB replies (each `agent` and `chat` event carries the text so far, so a
 * run broadcasts about 140 KB to every reader) and a healthy client calls `health` back to back.
 * Targets (issue): gateway RSS ≤ 200 MB, healthy `health` p99 ≤ 200 ms. Invariants: the process
 * lives, the healthy client stays connected, every `health` is answered, runs complete.
 *
 * Every run gets a session of its own, so each costs the same: runs on a few reused sessions
 * would re-send a transcript growing by 64 KiB a run (6 MB requests after 100 runs), and the
 * figure would measure that instead of the slow consumers. A control phase runs the same load
 * for the same time on a fresh gateway without the slow consumers, so the report says what the
 * slow consumers themselves cost.
 *
 *   bun scripts/reliability/slow-consumers.ts [--quick]
 */
import { Operator, percentile, Recorder, RssSampler, SlowConsumer, startFakeUpstream, startGateway, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

interface Phase {
  runs: number;
  runErrors: number;
  latencies: number[];
  unanswered: number;
  healthyClosed?: { code: number; reason: string };
  healthyMb: number;
  baseline: number;
  peak: number;
  end: number;
  dropped: number;
  alive: boolean;
  crashed?: string;
}

async function phase(opts: ScenarioOptions, upstreamUrl: string, slowCount: number, holdMs: number): Promise<Phase> {
  const gw = await startGateway(opts, {
    models: { providers: { fake: { baseUrl: `${upstreamUrl}/v1`, api: "openai-completions", apiKey: "k", models: [{ id: "kib-64" }] } } },
    agents: { defaults: { model: "fake/kib-64" } },
  });
  const rss = new RssSampler(gw, 250);
  try {
    const baseline = gw.rssMb();
    const slow = await Promise.all(Array.from({ length: slowCount }, () => SlowConsumer.connect(gw.port)));
    for (const s of slow) s.stopReading();
    const healthy = await Operator.connect(gw.url, ["operator.read"]);
    const loader = await Operator.connect(gw.url, ["operator.write", "operator.read"]);
    const deadline = performance.now() + holdMs;
    let runs = 0;
    let runErrors = 0;
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = 0; performance.now() < deadline && gw.alive(); i++) {
          const id = `slow-${lane}-${i}`;
          const a = await loader.request("agent", { message: "fill", sessionKey: `agent:main:slow-${lane}-${i}`, idempotencyKey: id }, 10_000);
          if (!a.ok) {
            runErrors++;
            await Bun.sleep(50);
            continue;
          }
          const w = await loader.request("agent.wait", { runId: id, timeoutMs: 10_000 }, 15_000);
          if (w.payload?.status === "ok") runs++;
          else runErrors++;
        }
      }),
    );
    const latencies: number[] = [];
    let unanswered = 0;
    while (performance.now() < deadline && gw.alive()) {
      const t = performance.now();
      const h = await healthy.request("health", {}, 10_000);
      if (h.ok) latencies.push(performance.now() - t);
      else unanswered++;
      await Bun.sleep(20);
    }
    await load;
    rss.stop();
    // A paused socket does not notice the close; the gateway's own log line counts the drops.
    const dropped = gw.child.output().split("\n").filter((l) => l.includes("closing slow consumer")).length;
    const healthyClosed = healthy.closed;
    const healthyMb = healthy.eventBytes / 2 ** 20;
    for (const s of slow) s.destroy();
    await healthy.close();
    await loader.close();
    return { runs, runErrors, latencies, unanswered, healthyClosed, healthyMb, baseline, peak: rss.peak, end: rss.last, dropped, alive: gw.alive(), crashed: gw.crashed() };
  } finally {
    rss.stop();
    await gw.stop();
  }
}

export async function slowConsumers(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("slow-consumers");
  const slowCount = 10;
  const holdMs = opts.quick ? 5_000 : 30_000;
  const fake = await startFakeUpstream();
  try {
    opts.log("slow-consumers: control phase (same load, no slow consumers)");
    const control = await phase(opts, fake.url, 0, holdMs);
    opts.log(`slow-consumers: ${slowCount} slow consumers`);
    const p = await phase(opts, fake.url, slowCount, holdMs);
    r.set("slow consumers", slowCount);
    r.set("hold s", holdMs / 1000);
    r.set("agent runs completed", p.runs);
    r.set("agent runs failed", p.runErrors);
    r.set("MB broadcast to the healthy client", p.healthyMb);
    r.set("slow consumers dropped by the gateway", p.dropped);
    r.set("health calls", p.latencies.length);
    r.set("health unanswered", p.unanswered);
    r.set("health p50 ms", percentile(p.latencies, 50));
    r.set("health p99 ms", percentile(p.latencies, 99));
    r.set("health max ms", Math.max(0, ...p.latencies));
    r.set("RSS baseline MB", p.baseline);
    r.set("RSS peak MB", p.peak);
    r.set("RSS end MB", p.end);
    r.set("healthy client closed", p.healthyClosed ? `${p.healthyClosed.code} ${p.healthyClosed.reason}` : "no");
    r.set("control: agent runs completed", control.runs);
    r.set("control: health p99 ms", percentile(control.latencies, 99));
    r.set("control: RSS peak MB", control.peak);
    r.set("RSS peak added by the slow consumers MB", p.peak - control.peak);
    for (const [name, x] of [["", p], ["control: ", control]] as const) {
      r.check(x.alive, `${name}gateway alive (${x.crashed ?? "running"})`);
      r.check(!x.healthyClosed, `${name}the healthy client stays connected`);
      r.check(x.unanswered === 0 && x.latencies.length > 0, `${name}every health call answered (${x.unanswered} not)`);
      r.check(x.runs > 0, `${name}agent runs complete`);
    }
    r.target(p.peak <= 200, `RSS ≤ 200 MB (peak ${p.peak})`);
    r.target(percentile(p.latencies, 99) <= 200, `healthy health p99 ≤ 200 ms (p99 ${percentile(p.latencies, 99).toFixed(1)})`);
  } finally {
    await fake.stop();
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(slowConsumers);
}
