/**
 * Slow consumers: a client that stops reading (Bun's client `pause()` makes the server see
 * real TCP backpressure) must not grow the gateway's memory without bound.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connectRaw, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const BUDGET = 256 * 1024;
const CHUNK = "x".repeat(64 * 1024);
/** Enough to overflow loopback socket buffers plus the budget, bounded. */
const MAX_EVENTS = 2000;

function pausedPeer(peer: { ws: WebSocket }): { pause(): void; resume(): void } {
  return peer.ws as unknown as { pause(): void; resume(): void };
}

describe("bounded send queue", () => {
  test("a non-droppable event over budget closes the socket 1008 slow consumer, close frame delivered", async () => {
    gw = await startTestGateway({ limits: { maxBufferedBytes: BUDGET } });
    const { peer, res } = await connectRaw(gw.url);
    expect(res.ok).toBe(true);
    pausedPeer(peer).pause();
    const conn = [...gw.handle.connections][0];
    let sent = 0;
    while (!conn.isClosing && sent < MAX_EVENTS) {
      gw.handle.broadcast("presence", { presence: [], pad: CHUNK });
      sent++;
      if (sent % 50 === 0) await Bun.sleep(1);
    }
    expect(conn.isClosing).toBe(true);
    expect(conn.queuedFrames).toBe(0); // the queue was discarded, nothing else waits in front of the close frame
    expect(gw.logs.some((r) => r.message.startsWith("closing slow consumer"))).toBe(true);
    pausedPeer(peer).resume();
    const closed = await peer.closed(10_000);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe("slow consumer");
    // Everything that was accepted before the close arrives intact and in seq order.
    const seqs = closed.frames.filter((f) => f?.type === "event").map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  test("droppable events over budget are dropped (seq gap) and the socket survives", async () => {
    gw = await startTestGateway({ limits: { maxBufferedBytes: BUDGET } });
    const { peer } = await connectRaw(gw.url);
    pausedPeer(peer).pause();
    const conn = [...gw.handle.connections][0];
    const total = 400;
    for (let i = 0; i < total; i++) {
      gw.handle.broadcast("sessions.changed", { pad: CHUNK }, { droppable: true });
      if (i % 50 === 0) await Bun.sleep(1);
    }
    expect(conn.isClosing).toBe(false);
    pausedPeer(peer).resume();
    // After draining, the next event's seq shows every dropped event consumed one.
    await Bun.sleep(50);
    gw.handle.broadcast("sessions.changed", { marker: true }, { droppable: true });
    const seqs: number[] = [];
    let marker: any;
    while (!marker) {
      const f = await peer.frame(10_000);
      if (f.type !== "event" || f.event !== "sessions.changed") continue;
      if (f.payload.marker) marker = f;
      else seqs.push(f.seq);
    }
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs.length).toBeLessThan(total);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(marker.seq).toBe(total + 1);
    peer.close();
  });

  test("a reading client drains the queue completely", async () => {
    gw = await startTestGateway({ limits: { maxBufferedBytes: 8 * 1024 * 1024 } });
    const { peer } = await connectRaw(gw.url);
    const n = 200;
    let count = 0;
    const reading = (async () => {
      while (count < n) {
        const f = await peer.frame(10_000);
        if (f.type === "event" && f.event === "presence") count++;
      }
    })();
    for (let i = 0; i < n; i++) {
      gw.handle.broadcast("presence", { presence: [], pad: CHUNK });
      if (i % 10 === 9) await Bun.sleep(5);
    }
    await reading;
    expect(count).toBe(n);
    expect([...gw.handle.connections][0].queuedFrames).toBe(0);
    peer.close();
  });
});
