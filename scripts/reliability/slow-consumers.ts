/**
 * Slow consumers: 10 authenticated sockets (operator.read, so every broadcast is theirs too)
 * complete the handshake and then never read again, for 30 s (quick: 5 s). Meanwhile agent runs
 * stream 64 KiB replies (each `agent` event carries the text so far, so every run broadcasts
 * about 2 MB to every reader) and a healthy client calls `health` back to back. Targets (issue):
 * gateway RSS ≤ 200 MB, healthy `health` p99 ≤ 200 ms. Invariants: the process lives, the healthy
 * client stays connected and every `health` is answered.
 *
 *   bun scripts/reliability/slow-consumers.ts [--quick]
 */
import { Operator, percentile, Recorder, RssSampler, SlowConsumer, startFakeUpstream, startGateway, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

export async function slowConsumers(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("slow-consumers");
  const slowCount = 10;
  const holdMs = opts.quick ? 5_000 : 30_000;
  const fake = await startFakeUpstream();
  const gw = await startGateway(opts, {
    models: { providers: { fake: { baseUrl: `${fake.url}/v1`, api: "openai-completions", apiKey: "k", models: [{ id: "kib-64" }] } } },
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
          const a = await loader.request("agent", { message: "fill", sessionKey: `agent:main:slow-${lane}`, idempotencyKey: id }, 10_000);
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
    r.set("slow consumers", slowCount);
    r.set("hold s", holdMs / 1000);
    r.set("agent runs completed", runs);
    r.set("agent runs failed", runErrors);
    r.set("MB broadcast to the healthy client", healthy.eventBytes / 2 ** 20);
    r.set("slow consumers dropped by the gateway", dropped);
    r.set("health calls", latencies.length);
    r.set("health unanswered", unanswered);
    r.set("health p50 ms", percentile(latencies, 50));
    r.set("health p99 ms", percentile(latencies, 99));
    r.set("health max ms", Math.max(0, ...latencies));
    r.set("RSS baseline MB", baseline);
    r.set("RSS peak MB", rss.peak);
    r.set("RSS end MB", rss.last);
    const healthyClosed = healthy.closed;
    r.set("healthy client closed", healthyClosed ? `${healthyClosed.code} ${healthyClosed.reason}` : "no");
    for (const s of slow) s.destroy();
    await healthy.close();
    await loader.close();
    r.check(gw.alive(), `gateway alive (${gw.crashed() ?? "running"})`);
    r.check(!healthyClosed, "the healthy client stays connected");
    r.check(unanswered === 0 && latencies.length > 0, `every health call answered (${unanswered} not)`);
    r.check(runs > 0, "agent runs complete while slow consumers sit there");
    r.target(rss.peak <= 200, `RSS ≤ 200 MB (peak ${rss.peak})`);
    r.target(percentile(latencies, 99) <= 200, `healthy health p99 ≤ 200 ms (p99 ${percentile(latencies, 99).toFixed(1)})`);
  } finally {
    rss.stop();
    await gw.stop();
    await fake.stop();
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(slowConsumers);
}
