/** Agent runs over WebSocket: `agent` (two-stage), `agent.wait`, `chat.send`, `chat.history`, `sessions.list`. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";
import { connectParams, connectRaw, RawPeer, TEST_TOKEN } from "../helpers/gateway.ts";

let h: AiHarness;
beforeAll(async () => {
  h = await startAiGateway({
    config: (fake) => {
      const cfg = aiConfig(fake);
      cfg.agents!.list!.push({ id: "broken", model: "oai/status-400" }, { id: "slowpoke", model: "oai/slow" });
      return cfg;
    },
  });
});
afterAll(() => h.stop());
beforeEach(() => h.fake.reset());

const WRITE = connectParams({ scopes: ["operator.write"] });

async function peer(params = WRITE): Promise<RawPeer> {
  const { peer, res } = await connectRaw(h.gw.url, params);
  expect(res.ok).toBe(true);
  return peer;
}

/** Read frames until `done(frame)` holds; returns everything read (bounded). */
async function readUntil(p: RawPeer, done: (f: any) => boolean, timeoutMs = 5000): Promise<any[]> {
  const frames: any[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = await p.frame(Math.max(1, deadline - Date.now()));
    frames.push(f);
    if (done(f)) return frames;
  }
}

let n = 0;
const key = () => `idem-${Date.now()}-${++n}`;

test("hello-ok advertises the run methods and events", async () => {
  const { peer: p, res } = await connectRaw(h.gw.url);
  for (const m of ["agent", "agent.wait", "chat.send", "chat.history", "sessions.list", "models.list"]) expect(res.payload.features.methods).toContain(m);
  expect(res.payload.features.events).toEqual(expect.arrayContaining(["agent", "chat"]));
  p.close();
});

describe("agent", () => {
  test("two res frames with one id: accepted, then the final result; agent events in between", async () => {
    const p = await peer();
    const idem = key();
    p.send({ type: "req", id: "r1", method: "agent", params: { message: "hi there", idempotencyKey: idem } });
    const frames = await readUntil(p, (f) => f.type === "res" && f.id === "r1" && f.payload?.status !== "accepted");
    const res = frames.filter((f) => f.type === "res");
    expect(res).toHaveLength(2);
    expect(res[0]).toMatchObject({ id: "r1", ok: true, payload: { runId: idem, status: "accepted", sessionKey: "agent:main:main", agentId: "main" } });
    expect(res[0].payload.acceptedAt).toBeNumber();
    expect(res[1].ok).toBe(true);
    expect(res[1].payload).toMatchObject({ runId: idem, status: "ok", summary: "completed", stopReason: "stop", result: { payloads: [{ text: "echo: hi there" }] } });
    expect(res[1].payload.result.meta.durationMs).toBeNumber();
    const events = frames.filter((f) => f.type === "event" && f.event === "agent").map((f) => f.payload);
    expect(events[0]).toMatchObject({ runId: idem, seq: 1, stream: "lifecycle", sessionKey: "agent:main:main", agentId: "main", data: { phase: "start" } });
    expect(events.at(-1)).toMatchObject({ stream: "lifecycle", data: { phase: "end" } });
    const assistant = events.filter((e) => e.stream === "assistant");
    expect(assistant.length).toBeGreaterThan(0);
    expect(assistant.at(-1).data.text).toBe("echo: hi there");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    p.close();
  });

  test("the same idempotency key returns the stored result without running again", async () => {
    const p = await peer();
    const idem = key();
    p.send({ type: "req", id: "a", method: "agent", params: { message: "once", idempotencyKey: idem } });
    await readUntil(p, (f) => f.type === "res" && f.id === "a" && f.payload?.status === "ok");
    p.send({ type: "req", id: "b", method: "agent", params: { message: "once", idempotencyKey: idem } });
    const again = await readUntil(p, (f) => f.type === "res" && f.id === "b");
    expect(again.at(-1).payload).toMatchObject({ runId: idem, status: "ok" });
    expect(h.fake.requests).toHaveLength(1);
    p.close();
  });

  test("a model failure ends the run with status error (res ok:true) and a lifecycle error event", async () => {
    const p = await peer();
    p.send({ type: "req", id: "e", method: "agent", params: { message: "x", agentId: "broken", idempotencyKey: key() } });
    const frames = await readUntil(p, (f) => f.type === "res" && f.id === "e" && f.payload?.status !== "accepted");
    // The original answers a failed run with ok:false UNAVAILABLE and the failure text.
    expect(frames.at(-1)).toMatchObject({ ok: false, error: { code: "UNAVAILABLE", message: "fake upstream says 400" } });
    expect(frames.some((f) => f.event === "agent" && f.payload.data.phase === "error")).toBe(true);
    p.close();
  });

  test("a run timeout ends with status timeout", async () => {
    const p = await peer();
    p.send({ type: "req", id: "t", method: "agent", params: { message: "x", agentId: "slowpoke", timeout: 0.2, idempotencyKey: key() } });
    const frames = await readUntil(p, (f) => f.type === "res" && f.id === "t" && f.payload?.status !== "accepted");
    expect(frames.at(-1).payload).toMatchObject({ status: "timeout", summary: "aborted" });
    expect(await h.fake.waitFor(() => h.fake.requests[0]?.aborted === true)).toBe(true);
    p.close();
  });

  test("bad params, unknown agents and missing scopes are refused", async () => {
    const p = await peer();
    p.send({ type: "req", id: "1", method: "agent", params: { message: "x" } });
    const missing = await p.frame();
    expect(missing.error.code).toBe("INVALID_REQUEST");
    expect(missing.error.message).toContain("invalid agent params");
    p.send({ type: "req", id: "2", method: "agent", params: { message: "x", agentId: "ghost", idempotencyKey: key() } });
    expect((await p.frame()).error).toMatchObject({ code: "INVALID_REQUEST", message: 'unknown agent id "ghost"' });
    p.close();
    const reader = await peer(connectParams({ scopes: ["operator.read"] }));
    reader.send({ type: "req", id: "3", method: "agent", params: { message: "x", idempotencyKey: key() } });
    expect((await reader.frame()).error).toMatchObject({ code: "FORBIDDEN", message: "missing scope: operator.write" });
    reader.close();
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe("agent.wait", () => {
  test("waits for the run and reports its status; unknown runs are an error", async () => {
    const p = await peer();
    const idem = key();
    p.send({ type: "req", id: "s", method: "agent", params: { message: "wait for me", agentId: "slowpoke", idempotencyKey: idem } });
    await readUntil(p, (f) => f.type === "res" && f.id === "s");
    p.send({ type: "req", id: "w", method: "agent.wait", params: { runId: idem, timeoutMs: 10 } });
    const early = await readUntil(p, (f) => f.type === "res" && f.id === "w");
    expect(early.at(-1).payload).toMatchObject({ runId: idem, status: "timeout" });
    p.send({ type: "req", id: "w2", method: "agent.wait", params: { runId: idem, timeoutMs: 5000 } });
    const done = await readUntil(p, (f) => f.type === "res" && f.id === "w2");
    expect(done.at(-1).payload).toMatchObject({ runId: idem, status: "ok" });
    expect(done.at(-1).payload.endedAt).toBeGreaterThanOrEqual(done.at(-1).payload.startedAt);
    p.send({ type: "req", id: "w3", method: "agent.wait", params: { runId: "nope" } });
    expect((await readUntil(p, (f) => f.type === "res" && f.id === "w3")).at(-1).error.message).toBe("unknown runId: nope");
    p.close();
  });
});

describe("chat.send / chat.history / sessions.list", () => {
  test("chat.send acks once, streams chat events, and the transcript is readable", async () => {
    const p = await peer();
    const idem = key();
    const sessionKey = "agent:ops:webchat-test";
    p.send({ type: "req", id: "c", method: "chat.send", params: { sessionKey, message: "hello chat", idempotencyKey: idem } });
    const frames = await readUntil(p, (f) => f.type === "event" && f.event === "chat" && f.payload.state === "final");
    const ack = frames.find((f) => f.type === "res");
    expect(ack.payload).toEqual({ runId: idem, status: "started" });
    const chat = frames.filter((f) => f.event === "chat").map((f) => f.payload);
    expect(chat[0]).toMatchObject({ runId: idem, sessionKey, agentId: "ops", state: "delta" });
    expect(chat.at(-1).message.content[0].text).toBe("echo: hello chat");
    expect(h.fake.to("/v1/messages")).toHaveLength(1);

    p.send({ type: "req", id: "h", method: "chat.history", params: { sessionKey } });
    const hist = (await readUntil(p, (f) => f.type === "res" && f.id === "h")).at(-1).payload;
    expect(hist.sessionKey).toBe(sessionKey);
    expect(hist.sessionId).toBeString();
    expect(hist.messages.map((m: any) => [m.role, m.content[0].text])).toEqual([
      ["user", "hello chat"],
      ["assistant", "echo: hello chat"],
    ]);

    // The second turn carries the first.
    p.send({ type: "req", id: "c2", method: "chat.send", params: { sessionKey, message: "again", idempotencyKey: key() } });
    await readUntil(p, (f) => f.type === "event" && f.event === "chat" && f.payload.state === "final");
    const sent = h.fake.to("/v1/messages")[1].body.messages;
    expect(sent.map((m: any) => m.content[0].text)).toEqual(["hello chat", "echo: hello chat", "again"]);

    p.send({ type: "req", id: "l", method: "sessions.list", params: { agentId: "ops" } });
    const list = (await readUntil(p, (f) => f.type === "res" && f.id === "l")).at(-1).payload;
    expect(list.path).toEndWith("openclaw.sqlite");
    const row = list.sessions.find((s: any) => s.key === sessionKey);
    expect(row).toMatchObject({ agentId: "ops", messageCount: 4, modelProvider: "anth", model: "echo" });
    expect(list.count).toBeGreaterThanOrEqual(1);

    p.send({ type: "req", id: "hl", method: "health", params: { probe: true } });
    const health = (await readUntil(p, (f) => f.type === "res" && f.id === "hl")).at(-1).payload;
    const ops = health.agents.find((a: any) => a.agentId === "ops");
    expect(ops.sessions.count).toBeGreaterThanOrEqual(1);
    expect(ops.sessions.recent.some((r: any) => r.key === sessionKey)).toBe(true);
    p.close();
  });

  test("chat.send with the same key again returns the cached ack", async () => {
    const p = await peer();
    const idem = key();
    const params = { sessionKey: "agent:main:dedupe", message: "one", idempotencyKey: idem };
    p.send({ type: "req", id: "1", method: "chat.send", params });
    await readUntil(p, (f) => f.type === "res" && f.id === "1");
    p.send({ type: "req", id: "2", method: "chat.send", params });
    expect((await readUntil(p, (f) => f.type === "res" && f.id === "2")).at(-1).payload).toEqual({ runId: idem, status: "started" });
    await h.fake.waitFor(() => h.fake.requests.length >= 1);
    await Bun.sleep(50);
    expect(h.fake.requests).toHaveLength(1);
    p.close();
  });

  test("chat.history of an unknown session is empty; read scope suffices", async () => {
    const p = await peer(connectParams({ scopes: ["operator.read"] }));
    p.send({ type: "req", id: "h", method: "chat.history", params: { sessionKey: "agent:main:none-such" } });
    expect((await p.frame()).payload).toMatchObject({ sessionKey: "agent:main:none-such", sessionId: null, messages: [], totalMessages: 0, hasMore: false });
    p.send({ type: "req", id: "l", method: "sessions.list", params: { agentId: "ghost" } });
    expect((await p.frame()).error.message).toBe('unknown agent id "ghost"');
    p.close();
  });

  test("models.list shows the configured models", async () => {
    const p = await peer(connectParams({ scopes: ["operator.read"], auth: { token: TEST_TOKEN } }));
    p.send({ type: "req", id: "m", method: "models.list", params: {} });
    const models = (await p.frame()).payload.models.map((m: any) => `${m.provider}/${m.id}`);
    expect(models).toEqual(expect.arrayContaining(["oai/echo", "resp/echo", "anth/echo", "oll/echo"]));
    p.close();
  });
});
