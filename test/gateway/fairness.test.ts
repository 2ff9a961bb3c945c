/**
 * One client cannot hurt the others: the gateway-wide send budget (the worst consumer goes
 * first), the per-address cap on authenticated sockets, and coalesced presence broadcasts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { connectParams, connectRaw, startTestGateway, TEST_TOKEN, type RawPeer, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const CHUNK = "x".repeat(64 * 1024);

function paused(peer: RawPeer): { pause(): void; resume(): void } {
  return peer.ws as unknown as { pause(): void; resume(): void };
}

/** Broadcast until `done()` (bounded in count), yielding now and then so Bun can flush. */
async function broadcastUntil(g: TestGateway, done: () => boolean, opts: { droppable?: boolean; max?: number } = {}): Promise<number> {
  let sent = 0;
  while (!done() && sent < (opts.max ?? 3000)) {
    g.handle.broadcast("sessions.changed", { pad: CHUNK }, { droppable: opts.droppable });
    sent++;
    if (sent % 20 === 0) await Bun.sleep(1);
  }
  return sent;
}

describe("gateway-wide send budget", () => {
  test("over the budget, the socket with the most waiting is closed first (1008 slow consumer); the budget is returned", async () => {
    gw = await startTestGateway({ limits: { maxTotalBufferedBytes: 2 * 1024 * 1024, socketBackpressureBytes: 64 * 1024 } });
    const g = gw;
    const { peer: a } = await connectRaw(g.url, connectParams({ client: { id: "cli", version: "2026.9.6", platform: "linux", mode: "cli", instanceId: "a" } }));
    const { peer: b } = await connectRaw(g.url, connectParams({ client: { id: "cli", version: "2026.9.6", platform: "linux", mode: "cli", instanceId: "b" } }));
    const [connA, connB] = [...g.handle.connections];
    expect(connA.client?.instanceId).toBe("a");
    // A stops reading first and falls behind; B reads for now.
    paused(a).pause();
    await broadcastUntil(g, () => connA.queuedBytes > 256 * 1024);
    expect(connA.isClosing).toBe(false);
    paused(b).pause();
    await broadcastUntil(g, () => connA.isClosing || connB.isClosing);
    // A held more: A goes, B stays (the frame that did not fit was for either of them).
    expect(connA.isClosing).toBe(true);
    expect(connB.isClosing).toBe(false);
    expect(connA.queuedFrames).toBe(0);
    const shed = g.logs.filter((r) => r.message.startsWith("closing slow consumer") && r.message.includes("gateway budget"));
    expect(shed).toHaveLength(1);
    expect(shed[0].message).toContain(`conn ${connA.connId}`);
    // Alone over the budget, the sender itself is the worst consumer.
    await broadcastUntil(g, () => connB.isClosing);
    expect(connB.isClosing).toBe(true);
    expect(g.handle.sendBudget.total).toBe(0);
    expect(g.handle.sendBudget.shed).toBe(2);
    paused(a).resume();
    paused(b).resume();
    const closedA = await a.closed(10_000);
    expect([closedA.code, closedA.reason]).toEqual([1008, "slow consumer"]);
    const seqs = closedA.frames.filter((f) => f?.type === "event").map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect((await b.closed(10_000)).code).toBe(1008);
    // A reader that keeps up is served throughout.
    const { res } = await connectRaw(g.url);
    expect(res.ok).toBe(true);
  });

  test("past half the budget, droppable events are dropped for sockets that are behind, nobody is closed", async () => {
    gw = await startTestGateway({ limits: { maxTotalBufferedBytes: 2 * 1024 * 1024, socketBackpressureBytes: 64 * 1024 } });
    const g = gw;
    const { peer } = await connectRaw(g.url);
    const conn = [...g.handle.connections][0];
    paused(peer).pause();
    await broadcastUntil(g, () => g.handle.sendBudget.pressured);
    const frames = conn.queuedFrames;
    const total = g.handle.sendBudget.total;
    const sent = await broadcastUntil(g, () => false, { droppable: true, max: 200 });
    expect(sent).toBe(200);
    expect(conn.isClosing).toBe(false);
    expect(conn.queuedFrames).toBe(frames);
    expect(g.handle.sendBudget.total).toBe(total);
    // Reading again drains everything and returns the budget.
    paused(peer).resume();
    peer.send({ type: "req", id: "h", method: "health" });
    for (;;) {
      const f = await peer.frame(10_000);
      if (f.type === "res" && f.id === "h") break;
    }
    expect(g.handle.sendBudget.total).toBe(0);
    expect(conn.queuedFrames).toBe(0);
  });
});

describe("authenticated sockets per address", () => {
  const proxied = (ip: string) => ({ "x-forwarded-for": ip });

  test("past the cap, connect is refused UNAVAILABLE (retryable) and closed 1013; a slot frees on close; loopback is exempt", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, trustedProxies: ["127.0.0.1"] } },
      limits: { maxAuthenticatedPerIp: 2 },
    });
    const g = gw;
    const first = await connectRaw(g.url, connectParams(), proxied("203.0.113.7"));
    const second = await connectRaw(g.url, connectParams(), proxied("203.0.113.7"));
    expect(first.res.ok).toBe(true);
    expect(second.res.ok).toBe(true);
    const third = await connectRaw(g.url, connectParams(), proxied("203.0.113.7"));
    expect(third.res.ok).toBe(false);
    expect(third.res.error).toMatchObject({
      code: "UNAVAILABLE",
      message: "too many connections from this address",
      retryable: true,
      details: { code: "TOO_MANY_CONNECTIONS", limit: 2 },
    });
    const closed = await third.peer.closed();
    expect(closed.code).toBe(1013);
    expect(closed.reason).toBe("too many connections from this address");
    // Another address is not affected.
    expect((await connectRaw(g.url, connectParams(), proxied("203.0.113.8"))).res.ok).toBe(true);
    // Closing one frees its slot.
    first.peer.close();
    await first.peer.closed();
    await waitFor(() => [...g.handle.connections].filter((c) => c.data.ip === "203.0.113.7").length === 1);
    expect((await connectRaw(g.url, connectParams(), proxied("203.0.113.7"))).res.ok).toBe(true);
    // Loopback clients (the host's own) are not capped.
    const local = await Promise.all([1, 2, 3].map(() => connectRaw(g.url)));
    expect(local.every((l) => l.res.ok)).toBe(true);
    expect(g.logs.some((r) => r.message.includes("203.0.113.7 already holds 2 authenticated sockets"))).toBe(true);
  });

  test("a refused handshake (wrong token) takes no slot", async () => {
    gw = await startTestGateway({
      config: { gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN }, trustedProxies: ["127.0.0.1"] } },
      limits: { maxAuthenticatedPerIp: 1 },
    });
    const bad = await connectRaw(gw.url, connectParams({ auth: { token: "wrong-token-000000000000" } }), proxied("198.51.100.4"));
    expect(bad.res.ok).toBe(false);
    expect((await connectRaw(gw.url, connectParams(), proxied("198.51.100.4"))).res.ok).toBe(true);
  });
});

const UI = (instanceId: string) => connectParams({ client: { id: "openclaw-macos", version: "2026.9.6", platform: "macos", mode: "ui", instanceId, displayName: instanceId } });

async function untilResponse(peer: RawPeer, id: string, seen: any[]): Promise<any> {
  for (;;) {
    const f = await peer.frame(10_000);
    if (f.type === "res" && f.id === id) return f;
    seen.push(f);
  }
}

describe("presence broadcasts are coalesced", () => {
  test("the first change goes out at once; changes within the window wait and go out as one list", async () => {
    gw = await startTestGateway({ limits: { presenceBroadcastMs: 60_000 } });
    const g = gw;
    const { peer: reader } = await connectRaw(g.url);
    const { res: r1 } = await connectRaw(g.url, UI("ui-1"));
    expect(r1.ok).toBe(true);
    const first = await reader.frame();
    expect(first.event).toBe("presence");
    expect(first.payload.presence.map((e: any) => e.instanceId)).toContain("ui-1");
    const version = first.stateVersion.presence;
    for (const id of ["ui-2", "ui-3", "ui-4"]) expect((await connectRaw(g.url, UI(id))).res.ok).toBe(true);
    // Frames on one socket arrive in order: a broadcast made during the connects would be here first.
    reader.send({ type: "req", id: "p", method: "system-presence" });
    const seen: any[] = [];
    const res = await untilResponse(reader, "p", seen);
    expect(seen.filter((f) => f.event === "presence")).toHaveLength(0);
    // The live list (system-presence, hello-ok) is never held back.
    expect(res.payload.map((e: any) => e.instanceId)).toEqual(expect.arrayContaining(["ui-1", "ui-2", "ui-3", "ui-4"]));
    const { res: hello } = await connectRaw(g.url);
    expect(hello.payload.snapshot.stateVersion.presence).toBe(version + 3);
  });

  test("the coalesced list arrives with every change and the latest stateVersion", async () => {
    gw = await startTestGateway({ limits: { presenceBroadcastMs: 200 } });
    const g = gw;
    const { peer: reader } = await connectRaw(g.url);
    const peers = [];
    for (const id of ["c-1", "c-2", "c-3", "c-4", "c-5"]) peers.push((await connectRaw(g.url, UI(id))).peer);
    for (const p of peers.slice(0, 2)) p.close();
    const events: any[] = [];
    for (;;) {
      const f = await reader.frame(10_000);
      if (f.event !== "presence") continue;
      events.push(f);
      const list = f.payload.presence;
      const gone = list.filter((e: any) => e.reason === "disconnect").map((e: any) => e.instanceId);
      if (list.length === 6 && gone.length === 2) break;
    }
    // Versions only grow, and the last list carries the current one.
    const versions = events.map((e) => e.stateVersion.presence);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    const { res: hello } = await connectRaw(g.url);
    expect(hello.payload.snapshot.stateVersion.presence).toBe(versions.at(-1));
    for (const p of peers.slice(2)) p.close();
  });
});

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(5);
  }
}
