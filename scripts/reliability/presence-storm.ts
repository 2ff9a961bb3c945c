/**
 * Presence storm: 200 native-app (`mode: "ui"`) connects, each with a 60 KB display name,
 * 20 at a time, each closing right after its hello (quick: 50). Five ordinary operator readers
 * stay connected and read every `presence` broadcast. Targets (issue): no reader is closed,
 * gateway RSS stays ≤ 150 MB. Invariants: the process lives, every storm connect is answered,
 * and every reader's last `presence` event is the complete final list (broadcasts are coalesced
 * and droppable, so the last one must still arrive).
 *
 *   bun scripts/reliability/presence-storm.ts [--quick]
 */
import { Operator, Recorder, RssSampler, startGateway, UI_CLIENT, type ScenarioOptions, type ScenarioResult } from "./lib.ts";

export async function presenceStorm(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = new Recorder("presence-storm");
  const connects = opts.quick ? 50 : 200;
  const concurrency = 20;
  const name = "n".repeat(60 * 1024);
  const gw = await startGateway(opts, {});
  const rss = new RssSampler(gw, 100);
  try {
    const baseline = gw.rssMb();
    const readers = await Promise.all(Array.from({ length: 5 }, () => Operator.connect(gw.url, ["operator.read"])));
    const lastList = new Map<Operator, unknown[]>();
    for (const reader of readers) reader.onEvent = (f) => void (f.event === "presence" && lastList.set(reader, f.payload?.presence ?? []));
    let answered = 0;
    let refused = 0;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < connects && gw.alive()) {
          const i = next++;
          try {
            const ui = await Operator.connect(gw.url, ["operator.read"], UI_CLIENT(name, `storm-${i}`), 30_000);
            answered++;
            await ui.close();
          } catch {
            refused++;
          }
        }
      }),
    );
    const stormMs = performance.now() - t0;
    // The final list (what system-presence answers now) must reach every reader (bounded wait).
    const list = readers.find((x) => !x.closed);
    const finalList = list ? await list.request("system-presence", {}, 10_000) : undefined;
    const shape = (entries: unknown) => JSON.stringify(((entries as Array<{ instanceId?: string; reason?: string }>) ?? []).map((e) => `${e.instanceId}:${e.reason}`).sort());
    const expected = shape(finalList?.payload);
    const settledAt = performance.now();
    while (performance.now() - settledAt < 5_000 && !readers.every((x) => x.closed || shape(lastList.get(x)) === expected)) await Bun.sleep(50);
    const complete = readers.filter((x) => shape(lastList.get(x)) === expected).length;
    rss.stop();
    const closedReaders = readers.filter((x) => x.closed);
    r.set("storm connects", connects);
    r.set("display name bytes", name.length);
    r.set("connects answered", answered);
    r.set("connects refused/failed", refused);
    r.set("storm duration ms", stormMs);
    r.set("presence events per reader (mean)", readers.reduce((n, x) => n + (x.eventCounts.get("presence") ?? 0), 0) / readers.length);
    r.set("MB pushed to readers (total)", readers.reduce((n, x) => n + x.eventBytes, 0) / 2 ** 20);
    r.set("readers closed", `${closedReaders.length}/5${closedReaders.length ? ` (${closedReaders[0].closed!.code} ${closedReaders[0].closed!.reason})` : ""}`);
    r.set("RSS baseline MB", baseline);
    r.set("RSS peak MB", rss.peak);
    r.set("RSS end MB", rss.last);
    if (finalList) {
      r.set("presence entries after", Array.isArray(finalList.payload) ? finalList.payload.length : `error ${finalList.error?.message}`);
      r.set("presence list bytes", JSON.stringify(finalList.payload ?? "").length);
    }
    r.set("readers holding the final list", `${complete}/5`);
    await Promise.all(readers.map((x) => x.close()));
    r.check(gw.alive(), `gateway alive (${gw.crashed() ?? "running"})`);
    r.check(answered + refused === connects, "every storm connect got an answer");
    r.check(complete === readers.length - closedReaders.length, `every open reader's last presence event is the final list (${complete} of ${readers.length - closedReaders.length})`);
    r.target(closedReaders.length === 0, `no presence reader closed (${closedReaders.length} closed)`);
    r.target(rss.peak <= 150, `RSS ≤ 150 MB (peak ${rss.peak})`);
  } finally {
    rss.stop();
    await gw.stop();
  }
  return r.result();
}

if (import.meta.main) {
  const { runStandalone } = await import("./index.ts");
  await runStandalone(presenceStorm);
}
