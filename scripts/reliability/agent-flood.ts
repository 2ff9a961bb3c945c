/**
 * Agent flood: one socket starts 100 `agent` runs over 20 sessions against a provider that
 * accepts connections and never answers. The upstream counts its open connections: they must
 * never exceed the gateway's `maxConcurrent` (default max(8, CPUs × 4); set here explicitly so
 * the figure is the same on every machine). Then a full session queue must be refused, and
 * `sessions.abort {clearQueued}` must end every run and close every upstream connection.
 *
 *   bun scripts/reliability/agent-flood.ts [--quick]
 */
import { Operator, Recorder, SilentUpstream, startGateway, until, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

export const FLOOD_MAX_CONCURRENT = 8;

export async function agentFlood(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("agent-flood");
  const runs = 100;
  const sessions = 20;
  const upstream = new SilentUpstream().start();
  const gw = await startGateway(opts, {
    models: { providers: { silent: { baseUrl: upstream.url, api: "openai-completions", apiKey: "k", timeoutSeconds: 600, retry: { maxAttempts: 1 }, models: [{ id: "never" }] } } },
    agents: { defaults: { model: "silent/never", maxConcurrent: FLOOD_MAX_CONCURRENT } },
  });
  try {
    const op = await Operator.connect(gw.url, ["operator.write", "operator.read"]);
    const finals = new Map<string, string>();
    const started = performance.now();
    const accepted = await Promise.all(
      Array.from({ length: runs }, (_, i) => {
        const key = `agent:main:flood-${i % sessions}`;
        return op.request("agent", { message: `run ${i}`, sessionKey: key, idempotencyKey: `flood-${i}` }, 15_000);
      }),
    );
    const acceptedOk = accepted.filter((f) => f.ok && f.payload?.status === "accepted").length;
    r.set("runs sent", runs);
    r.set("runs accepted", acceptedOk);
    r.set("accept time ms", performance.now() - started);
    r.check(acceptedOk === runs, `all ${runs} runs accepted (got ${acceptedOk}: ${JSON.stringify(accepted.find((f) => !f.ok)?.error ?? {})})`);

    // Let the gateway open everything it is going to open, then hold a while.
    await until(() => upstream.open >= Math.min(FLOOD_MAX_CONCURRENT, sessions), 10_000);
    await Bun.sleep(opts.quick ? 1_000 : 3_000);
    r.set("maxConcurrent", FLOOD_MAX_CONCURRENT);
    const floodPeak = upstream.peak;
    r.set("upstream open while flooded", upstream.open);
    r.set("upstream peak while flooded", floodPeak);

    // A full session queue (default cap 20) is refused at once.
    const fullKey = "agent:main:flood-0";
    let refused = 0;
    let refusal = "";
    for (let i = 0; i < 25; i++) {
      const f = await op.request("chat.send", { message: "more", sessionKey: fullKey, idempotencyKey: `more-${i}` }, 5_000);
      if (!f.ok) {
        refused++;
        refusal ||= `${f.error?.code}: ${f.error?.message}`;
      }
    }
    r.set("extra runs on one session", 25);
    r.set("refused (queue full)", refused);
    r.set("refusal", refusal || "none");

    // Abort every session, queue included: every run ends, every upstream connection closes.
    const t0 = performance.now();
    for (let s = 0; s < sessions; s++) await op.request("sessions.abort", { key: `agent:main:flood-${s}`, clearQueued: true }, 5_000);
    const drained = await until(() => upstream.open === 0, 10_000);
    r.set("upstream open after abort", upstream.open);
    r.set("abort to zero connections ms", performance.now() - t0);
    // Each run's outcome from agent.wait (only once the aborts took: otherwise every wait would
    // sit out its timeout against a provider that never answers).
    for (let i = 0; i < runs && drained; i++) {
      const w = await op.request("agent.wait", { runId: `flood-${i}`, timeoutMs: 5_000 }, 10_000);
      finals.set(`flood-${i}`, w.payload?.status ?? `error ${w.error?.message}`);
    }
    const ended = [...finals.values()].filter((s) => s !== "running" && s !== "timeout").length;
    r.set("runs ended after abort", ended);
    r.set("upstream connections total", upstream.total);
    // An aborted request's socket closes a moment after its lane slot is handed on, so during
    // the abort churn the provider can briefly see one connection more (reported, not judged).
    r.set("upstream peak incl. abort churn", upstream.peak);
    r.set("gateway RSS MB", gw.rssMb());
    await op.close();

    r.check(gw.alive(), `gateway alive (${gw.crashed() ?? "running"})`);
    r.check(drained, "every upstream connection closed within 10 s of the aborts");
    r.check(ended === runs, `every run ended after the aborts (${ended}/${runs})`);
    r.check(refused > 0, "a full session queue refuses new runs");
    r.target(floodPeak <= FLOOD_MAX_CONCURRENT, `at most maxConcurrent (${FLOOD_MAX_CONCURRENT}) upstream connections (peak ${floodPeak})`);
  } finally {
    await gw.stop();
    upstream.stop();
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(agentFlood);
}
