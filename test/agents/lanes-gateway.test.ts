/**
 * The lanes in a running gateway: 100 WebSocket runs over 20 sessions against a provider that
 * never answers hold at most `maxConcurrent` upstream requests; a full session queue refuses;
 * `chat.abort` / `sessions.abort` free lanes; the HTTP surfaces queue behind a busy session
 * and share the same refusal (429 queue_full).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { SESSION_QUEUE_FULL_MESSAGE } from "../../src/agents/lanes.ts";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";
import { connectParams, connectRaw, type RawPeer } from "../helpers/gateway.ts";

const MAX = 4;
const CAP = 5;

let h: AiHarness;
beforeAll(async () => {
  h = await startAiGateway({
    config: (fake) => {
      const cfg = aiConfig(fake) as any;
      // A provider that waits as long as it takes: the fake's `hang` model never sends headers.
      cfg.models.providers.silent = { baseUrl: `${fake.url}/v1`, api: "openai-completions", timeoutSeconds: 600, retry: { maxAttempts: 1 } };
      cfg.agents.defaults.maxConcurrent = MAX;
      cfg.agents.list.push({ id: "silent", model: "silent/hang" }, { id: "slowly", model: "oai/slow" });
      cfg.messages = { queue: { cap: CAP } };
      return cfg;
    },
  });
});
afterAll(() => h.stop());
beforeEach(() => h.fake.reset());

const runtime = () => h.gw.handle.agents;
const inFlight = () => h.fake.requests.filter((r) => !r.aborted && !r.completed).length;

/** Reads every frame of a peer in the background; `res(id)` waits (bounded) for a response. */
class Collector {
  readonly res = new Map<string, any[]>();
  private stopped = false;
  constructor(readonly peer: RawPeer) {
    void this.loop();
  }
  private async loop() {
    while (!this.stopped) {
      const r = await this.peer.next(60_000).catch(() => undefined);
      if (!r || r.kind === "close") return;
      const f = r.data;
      if (f?.type === "res") this.res.set(f.id, [...(this.res.get(f.id) ?? []), f]);
    }
  }
  async wait(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await Bun.sleep(5);
    }
  }
  async response(id: string, n = 1): Promise<any> {
    await this.wait(() => (this.res.get(id)?.length ?? 0) >= n);
    return this.res.get(id)![n - 1];
  }
  close() {
    this.stopped = true;
    this.peer.close();
  }
}

async function operator(scopes = ["operator.write", "operator.read"]): Promise<Collector> {
  const { peer, res } = await connectRaw(h.gw.url, connectParams({ scopes }));
  expect(res.ok).toBe(true);
  return new Collector(peer);
}

let n = 0;
const idem = () => `lane-${Date.now()}-${++n}`;

describe("agent lanes over WebSocket", () => {
  test("100 runs over 20 sessions against a silent provider: at most maxConcurrent upstream requests, aborts free the lanes", async () => {
    const c = await operator();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const id = `r${i}`;
      ids.push(id);
      c.peer.send({ type: "req", id, method: "agent", params: { message: `m${i}`, agentId: "silent", sessionKey: `agent:silent:flood-${i % 20}`, idempotencyKey: idem() } });
    }
    for (const id of ids) expect((await c.response(id)).payload.status).toBe("accepted");
    expect(await h.fake.waitFor(() => h.fake.requests.length >= MAX)).toBe(true);
    expect(runtime().laneStats()).toMatchObject({ running: MAX, queued: 100 - MAX, sessions: 20 });
    expect(inFlight()).toBe(MAX);

    // Abort the sessions one by one (running run only, queue kept): each abort lets exactly one
    // waiting run start, and the upstream count never passes the limit.
    let peak = inFlight();
    for (let round = 0; round < 20; round++) {
      const running = runtime().lanes.tickets().filter((t) => t.state === "running");
      expect(running.length).toBe(MAX);
      const before = h.fake.requests.length;
      c.peer.send({ type: "req", id: `abort-${round}`, method: "sessions.abort", params: { key: running[0].sessionKey } });
      const ack = await c.response(`abort-${round}`);
      expect(ack.payload).toEqual({ ok: true, abortedRunId: running[0].runId, status: "aborted" });
      expect(await h.fake.waitFor(() => h.fake.requests.length === before + 1)).toBe(true);
      peak = Math.max(peak, inFlight());
    }
    expect(peak).toBe(MAX);
    expect(runtime().laneStats()).toMatchObject({ running: MAX, queued: 100 - MAX - 20 });

    // chat.abort per session (no runId): waiting runs first, then the running one.
    const sessions = [...new Set(runtime().lanes.tickets().map((t) => t.sessionKey))];
    for (const [i, key] of sessions.entries()) {
      c.peer.send({ type: "req", id: `chat-abort-${i}`, method: "chat.abort", params: { sessionKey: key } });
      const ack = await c.response(`chat-abort-${i}`);
      expect(ack.payload.ok).toBe(true);
      expect(ack.payload.aborted).toBe(true);
      peak = Math.max(peak, inFlight());
    }
    await c.wait(() => runtime().laneStats().running === 0 && runtime().laneStats().queued === 0);
    expect(await h.fake.waitFor(() => inFlight() === 0)).toBe(true);
    expect(peak).toBeLessThanOrEqual(MAX);
    // Every run ended with a final answer (aborted runs: status error, summary aborted).
    for (const id of ids) expect((await c.response(id, 2)).payload).toMatchObject({ status: "error", summary: "aborted" });
    c.close();
  }, 30_000);

  test("a full session queue refuses the newest run with the original's text (UNAVAILABLE, retryable)", async () => {
    const c = await operator();
    const key = "agent:silent:full";
    for (let i = 0; i <= CAP; i++) c.peer.send({ type: "req", id: `f${i}`, method: "agent", params: { message: "x", agentId: "silent", sessionKey: key, idempotencyKey: idem() } });
    for (let i = 0; i <= CAP; i++) expect((await c.response(`f${i}`)).payload.status).toBe("accepted");
    c.peer.send({ type: "req", id: "over", method: "chat.send", params: { message: "x", sessionKey: key, idempotencyKey: idem() } });
    const over = await c.response("over");
    expect(over).toMatchObject({ ok: false, error: { code: "UNAVAILABLE", message: SESSION_QUEUE_FULL_MESSAGE, retryable: true, retryAfterMs: 1000 } });
    expect(over.error.details).toEqual({ reason: "queue_full", scope: "session" });
    // sessions.abort with clearQueued empties the session: a new run is accepted again.
    c.peer.send({ type: "req", id: "clear", method: "sessions.abort", params: { key, clearQueued: true } });
    expect((await c.response("clear")).payload.status).toBe("aborted");
    await c.wait(() => runtime().activeRunIds(key).length === 0);
    c.peer.send({ type: "req", id: "again", method: "chat.send", params: { message: "x", sessionKey: key, idempotencyKey: idem() } });
    expect((await c.response("again")).ok).toBe(true);
    c.peer.send({ type: "req", id: "done", method: "chat.abort", params: { sessionKey: key } });
    expect((await c.response("done")).payload.aborted).toBe(true);
    c.close();
  });

  test("chat.abort by runId: waiting or running; wrong session, foreign runs and unknown ids", async () => {
    const owner = await operator();
    const key = "agent:silent:byid";
    const first = idem();
    const second = idem();
    owner.peer.send({ type: "req", id: "a", method: "chat.send", params: { message: "1", sessionKey: key, idempotencyKey: first } });
    owner.peer.send({ type: "req", id: "b", method: "chat.send", params: { message: "2", sessionKey: key, idempotencyKey: second } });
    await owner.response("b");
    expect(runtime().activeRunIds(key)).toEqual([first, second]);

    const stranger = await operator();
    stranger.peer.send({ type: "req", id: "x", method: "chat.abort", params: { sessionKey: key, runId: second } });
    expect(await stranger.response("x")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST", message: "unauthorized" } });
    stranger.peer.send({ type: "req", id: "y", method: "chat.abort", params: { sessionKey: key } });
    expect(await stranger.response("y")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST", message: "unauthorized" } });
    stranger.peer.send({ type: "req", id: "z", method: "chat.abort", params: { sessionKey: "agent:silent:other", runId: second } });
    expect(await stranger.response("z")).toMatchObject({ ok: false, error: { message: "runId does not match sessionKey" } });
    stranger.peer.send({ type: "req", id: "u", method: "chat.abort", params: { sessionKey: key, runId: "no-such-run" } });
    expect((await stranger.response("u")).payload).toEqual({ ok: true, aborted: false, runIds: [] });
    stranger.peer.send({ type: "req", id: "m", method: "chat.abort", params: { sessionKey: key, agentId: "main" } });
    expect(await stranger.response("m")).toMatchObject({ ok: false, error: { message: `agentId "main" does not match session key "${key}"` } });
    stranger.close();

    owner.peer.send({ type: "req", id: "c", method: "chat.abort", params: { sessionKey: key, runId: second } });
    expect((await owner.response("c")).payload).toEqual({ ok: true, aborted: true, runIds: [second] });
    expect(runtime().activeRunIds(key)).toEqual([first]);
    const admin = await operator(["operator.admin"]);
    admin.peer.send({ type: "req", id: "d", method: "chat.abort", params: { sessionKey: key, runId: first } });
    expect((await admin.response("d")).payload).toEqual({ ok: true, aborted: true, runIds: [first] });
    await owner.wait(() => runtime().activeRunIds(key).length === 0);
    admin.close();
    owner.close();
  });

  test("sessions.abort params: key required, unknown run, run/session mismatch, an idle session", async () => {
    const c = await operator();
    c.peer.send({ type: "req", id: "1", method: "sessions.abort", params: {} });
    expect(await c.response("1")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST", message: "key required" } });
    c.peer.send({ type: "req", id: "2", method: "sessions.abort", params: { runId: "nope" } });
    expect((await c.response("2")).payload).toEqual({ ok: true, abortedRunId: null, status: "no-active-run" });
    c.peer.send({ type: "req", id: "3", method: "sessions.abort", params: { key: "agent:silent:idle" } });
    expect((await c.response("3")).payload).toEqual({ ok: true, abortedRunId: null, status: "no-active-run" });
    const run = idem();
    c.peer.send({ type: "req", id: "4", method: "chat.send", params: { message: "x", sessionKey: "agent:silent:mm", idempotencyKey: run } });
    await c.response("4");
    c.peer.send({ type: "req", id: "5", method: "sessions.abort", params: { key: "agent:silent:other", runId: run } });
    expect(await c.response("5")).toMatchObject({ ok: false, error: { message: "runId does not match session" } });
    c.peer.send({ type: "req", id: "6", method: "sessions.abort", params: { runId: run } });
    expect((await c.response("6")).payload).toEqual({ ok: true, abortedRunId: run, status: "aborted" });
    c.peer.send({ type: "req", id: "7", method: "chat.abort", params: {} });
    expect(await c.response("7")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST" } });
    c.close();
  });

  test("the abort methods need operator.write", async () => {
    const c = await operator(["operator.read"]);
    c.peer.send({ type: "req", id: "r", method: "chat.abort", params: { sessionKey: "main" } });
    expect(await c.response("r")).toMatchObject({ ok: false, error: { message: "missing scope: operator.write" } });
    c.close();
  });
});

describe("HTTP runs share the lanes", () => {
  test("a chat completion for a busy session waits in the lane until the session is free", async () => {
    const c = await operator();
    const key = "agent:main:http-shared";
    // Occupy the session with a silent run of the main agent (admin override to the hanging model).
    const admin = await operator(["operator.admin"]);
    const blocker = idem();
    admin.peer.send({ type: "req", id: "blk", method: "agent", params: { message: "hold", sessionKey: key, provider: "silent", model: "hang", idempotencyKey: blocker } });
    await admin.response("blk");
    expect(await h.fake.waitFor(() => h.fake.requests.length === 1)).toBe(true);
    const pending = h.post("/v1/chat/completions", { model: "openclaw", messages: [{ role: "user", content: "after" }] }, { "x-openclaw-session-key": key });
    // The HTTP turn waits in the lane: still only the blocker upstream.
    await c.wait(() => runtime().laneStats().queued === 1);
    expect(h.fake.requests).toHaveLength(1);
    admin.peer.send({ type: "req", id: "ab", method: "chat.abort", params: { sessionKey: key, runId: blocker } });
    expect((await admin.response("ab")).payload.aborted).toBe(true);
    const res = await pending;
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.choices[0].message.content).toBe("echo: after");
    admin.close();
    c.close();
  });

  test("a turn that waited runs on the transcript as it is after the run it waited for", async () => {
    const c = await operator();
    const key = "agent:slowly:rebase";
    c.peer.send({ type: "req", id: "one", method: "agent", params: { message: "first words", agentId: "slowly", sessionKey: key, idempotencyKey: idem() } });
    await c.response("one");
    const second = h.post("/v1/chat/completions", { model: "openclaw/slowly", messages: [{ role: "user", content: "second words" }] }, { "x-openclaw-session-key": key });
    await c.wait(() => runtime().laneStats().queued === 1);
    expect((await c.response("one", 2)).payload.status).toBe("ok");
    expect((await second).status).toBe(200);
    const sent = h.fake.to("/v1/chat/completions").map((r) => r.body.messages.filter((m: any) => m.role !== "system").map((m: any) => m.content));
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual(["first words"]);
    expect(sent[1][0]).toBe("first words");
    expect(sent[1].at(-1)).toBe("second words");
    expect(sent[1]).toHaveLength(3);
    c.close();
  });

  test("a full session queue is a 429 queue_full on /v1/chat/completions", async () => {
    const c = await operator();
    const key = "agent:silent:http-full";
    for (let i = 0; i <= CAP; i++) c.peer.send({ type: "req", id: `h${i}`, method: "chat.send", params: { message: "x", agentId: "silent", sessionKey: key, idempotencyKey: idem() } });
    for (let i = 0; i <= CAP; i++) expect((await c.response(`h${i}`)).ok).toBe(true);
    const res = await h.post("/v1/chat/completions", { model: "openclaw/silent", messages: [{ role: "user", content: "x" }] }, { "x-openclaw-session-key": key });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ error: { message: SESSION_QUEUE_FULL_MESSAGE, type: "rate_limit_error", code: "queue_full" } });
    c.peer.send({ type: "req", id: "clr", method: "chat.abort", params: { sessionKey: key } });
    expect((await c.response("clr")).payload.runIds).toHaveLength(CAP + 1);
    c.close();
  });
});
