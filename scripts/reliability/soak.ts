/**
 * Soak: mixed ordinary load for 3 minutes (quick: 10 s) with RSS sampled every second:
 * `health`/`status` calls, app connects and disconnects (presence), WebSocket agent runs and
 * HTTP chat completions against the fake provider. Reported: requests served, errors, RSS at
 * start / peak / end and the growth between the first and the last third. Invariants: the
 * process lives, no request errors, RSS stays under 300 MB; the growth is reported (a steady
 * climb over the full run is the leak to look at, not a threshold here).
 *
 *   bun scripts/reliability/soak.ts [--quick]
 */
import { Operator, Recorder, RssSampler, startFakeUpstream, startGateway, TOKEN, UI_CLIENT, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

export async function soak(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("soak");
  const durationMs = opts.quick ? 10_000 : 180_000;
  const fake = await startFakeUpstream();
  const gw = await startGateway(opts, {
    models: { providers: { fake: { baseUrl: `${fake.url}/v1`, api: "openai-completions", apiKey: "k", models: [{ id: "echo" }] } } },
    agents: { defaults: { model: "fake/echo" } },
  });
  const rss = new RssSampler(gw, 1_000);
  const counts = { health: 0, status: 0, presence: 0, wsRuns: 0, httpRuns: 0 };
  const errors: string[] = [];
  try {
    const op = await Operator.connect(gw.url, ["operator.read", "operator.write"]);
    const deadline = performance.now() + durationMs;
    const loop = async (fn: (i: number) => Promise<void>, pauseMs: number) => {
      for (let i = 0; performance.now() < deadline && gw.alive(); i++) {
        try {
          await fn(i);
        } catch (err) {
          errors.push(String((err as Error).message ?? err));
        }
        await Bun.sleep(pauseMs);
      }
    };
    const expectOk = (what: string, f: any) => {
      if (!f.ok) throw new Error(`${what}: ${JSON.stringify(f.error)}`);
    };
    await Promise.all([
      loop(async () => {
        expectOk("health", await op.request("health"));
        counts.health++;
        expectOk("status", await op.request("status"));
        counts.status++;
      }, 5),
      loop(async (i) => {
        const ui = await Operator.connect(gw.url, ["operator.read"], UI_CLIENT(`soak app ${i}`));
        counts.presence++;
        await ui.close();
      }, 20),
      loop(async (i) => {
        const id = `soak-${i}`;
        expectOk("agent", await op.request("agent", { message: `hello ${i}`, sessionKey: `agent:main:soak-${i % 10}`, idempotencyKey: id }));
        const w = await op.request("agent.wait", { runId: id, timeoutMs: 10_000 }, 15_000);
        if (w.payload?.status !== "ok") throw new Error(`run ${id}: ${JSON.stringify(w.payload ?? w.error)}`);
        counts.wsRuns++;
      }, 10),
      loop(async (i) => {
        const res = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
          body: JSON.stringify({ model: "openclaw", stream: i % 2 === 0, messages: [{ role: "user", content: `http ${i}` }] }),
        });
        await res.text();
        if (res.status !== 200) throw new Error(`chat completion: HTTP ${res.status}`);
        counts.httpRuns++;
      }, 10),
    ]);
    await op.close();
    rss.stop();
    const s = rss.samples.map((x) => x.mb);
    const third = Math.max(1, Math.floor(s.length / 3));
    const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    r.set("duration s", durationMs / 1000);
    for (const [k, v] of Object.entries(counts)) r.set(k, v);
    r.set("errors", errors.length);
    if (errors.length) r.set("first error", errors[0].slice(0, 200));
    r.set("RSS samples", s.length);
    r.set("RSS start MB", s[0] ?? 0);
    r.set("RSS peak MB", rss.peak);
    r.set("RSS end MB", rss.last);
    r.set("RSS first-third mean MB", avg(s.slice(0, third)));
    r.set("RSS last-third mean MB", avg(s.slice(-third)));
    r.check(gw.alive(), `gateway alive (${gw.crashed() ?? "running"})`);
    r.check(errors.length === 0, `no request failed (${errors.length} did)`);
    r.check(rss.peak < 300, `RSS under 300 MB (peak ${rss.peak})`);
    r.check(Object.values(counts).every((n) => n > 0), "every kind of load ran");
  } finally {
    rss.stop();
    await gw.stop();
    await fake.stop();
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(soak);
}
