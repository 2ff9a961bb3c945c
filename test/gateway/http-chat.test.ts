/** `/v1/models*` and `/v1/chat/completions`, driven by the official `openai` SDK and raw fetch. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { LONG_NOTE } from "../fixture/fake-upstream.ts";
import { parseSse, startAiGateway, type AiHarness } from "../helpers/ai.ts";

let h: AiHarness;
beforeAll(async () => {
  h = await startAiGateway();
});
afterAll(() => h.stop());
beforeEach(() => h.fake.reset());

const post = (path: string, body: unknown, headers?: Record<string, string>) => h.post(path, body, headers);

describe("GET /v1/models", () => {
  test("lists the agent-first ids through the SDK", async () => {
    const ids: string[] = [];
    for await (const m of h.client.models.list()) {
      ids.push(m.id);
      expect(m).toMatchObject({ object: "model", created: 0, owned_by: "openclaw" });
    }
    expect(ids).toEqual(["openclaw", "openclaw/default", "openclaw/main", "openclaw/ops", "openclaw/fb", "openclaw/resp", "openclaw/oll"]);
  });

  test("retrieves one model, raw or URL-encoded", async () => {
    expect((await h.client.models.retrieve("openclaw/default")).id).toBe("openclaw/default");
    const res = await fetch(`${h.base}/v1/models/openclaw%2Fops`, { headers: h.headers });
    expect((await res.json()) as any).toEqual({ id: "openclaw/ops", object: "model", created: 0, owned_by: "openclaw", permission: [] });
  });

  test("unknown agent → 404, non-openclaw id → 400", async () => {
    const missing = await h.client.models.retrieve("openclaw/nobody").catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.status).toBe(404);
    const res = await fetch(`${h.base}/v1/models/openclaw:main`, { headers: h.headers });
    expect((await res.json()) as any).toEqual({ error: { message: "Model 'openclaw:main' not found.", type: "invalid_request_error" } });
    const bad = await h.client.models.retrieve("gpt-4o").catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.error).toMatchObject({ message: "Invalid model id.", type: "invalid_request_error" });
  });

  test("wrong method → 405 with Allow: GET", async () => {
    const res = await post("/v1/models", {});
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(await res.text()).toBe("Method Not Allowed");
  });
});

describe("POST /v1/chat/completions (non-stream)", () => {
  test("one agent turn: id, echoed model, message, finish_reason, usage", async () => {
    const r = await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "hi" }] });
    expect(r.id).toMatch(/^chatcmpl_[0-9a-f-]{36}$/);
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe("openclaw");
    expect(r.choices[0].message).toMatchObject({ role: "assistant", content: "echo: hi" });
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    expect(Math.abs(r.created - Date.now() / 1000)).toBeLessThan(60);
    // The agent's system prompt and the client's system message both reach the model.
    const sent = await post("/v1/chat/completions", { messages: [{ role: "system", content: "Client rules." }, { role: "user", content: "x" }] });
    expect(sent.status).toBe(200);
    const upstream = h.fake.to("/v1/chat/completions").at(-1)!.body;
    expect(upstream.messages[0]).toEqual({ role: "system", content: "You are main.\n\nClient rules." });
  });

  test("the model picks the agent; x-openclaw-agent-id wins", async () => {
    await h.client.chat.completions.create({ model: "openclaw/ops", messages: [{ role: "user", content: "a" }] });
    expect(h.fake.to("/v1/messages")).toHaveLength(1);
    await h.client.chat.completions.create({ model: "agent:oll", messages: [{ role: "user", content: "b" }] });
    expect(h.fake.to("/api/chat")).toHaveLength(1);
    await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "c" }] }, { headers: { "x-openclaw-agent-id": "resp" } });
    expect(h.fake.to("/v1/responses")).toHaveLength(1);
  });

  test("invalid model and unknown agent are 400 invalid_request_error", async () => {
    const bad = await h.client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "a" }] }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.error).toEqual({ message: "Invalid `model`. Use `openclaw` or `openclaw/<agentId>`.", type: "invalid_request_error" });
    const unknown = await h.client.chat.completions.create({ model: "openclaw/ghost", messages: [{ role: "user", content: "a" }] }).catch((e) => e);
    expect(unknown.status).toBe(400);
    expect(unknown.error.message).toBe("Unknown agent 'ghost'.");
    expect(h.fake.requests).toHaveLength(0);
  });

  test("validation errors name the field", async () => {
    const err = await h.client.chat.completions.create({ model: "openclaw", temperature: 3, messages: [{ role: "user", content: "a" }] }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error.message).toContain("`temperature`");
    const noUser = await post("/v1/chat/completions", { messages: [{ role: "system", content: "only system" }] });
    expect(noUser.status).toBe(400);
    expect(((await noUser.json()) as any).error.message).toBe("Missing user message in `messages`.");
    const badJson = await post("/v1/chat/completions", "{nope");
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as any).error.type).toBe("invalid_request_error");
    const pinned = await post("/v1/chat/completions", { messages: [{ role: "user", content: "a" }], tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } });
    expect(((await pinned.json()) as any).error.message).toBe("Unknown tool 'g' in `tool_choice`.");
    const image = await post("/v1/chat/completions", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }] }] });
    expect(image.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
  });

  test("tool calls come back as message.tool_calls with finish_reason tool_calls", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const r = await h.client.chat.completions.create(
      { model: "openclaw", messages: [{ role: "user", content: "weather?" }], tools },
      { headers: { "x-openclaw-model": "oai/tools" } },
    );
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    const call = r.choices[0].message.tool_calls![0] as any;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Oslo", note: LONG_NOTE });
    // The client runs the tool and sends the result back.
    const r2 = await h.client.chat.completions.create(
      {
        model: "openclaw",
        tools,
        messages: [{ role: "user", content: "weather?" }, r.choices[0].message as any, { role: "tool", tool_call_id: call.id, content: "sunny" }],
      },
      { headers: { "x-openclaw-model": "oai/tools" } },
    );
    expect(r2.choices[0].message.content).toBe("tool said: sunny");
  });
});

describe("POST /v1/chat/completions (stream)", () => {
  test("role chunk first, content, finish_reason chunk, usage chunk, [DONE]", async () => {
    const stream = await h.client.chat.completions.create({ model: "openclaw/default", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "stream me" }] });
    const chunks: any[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: "assistant" }, finish_reason: null });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("echo: stream me");
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "stop" });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
    for (const c of chunks) {
      expect(c.id).toBe(chunks[0].id);
      expect(c.model).toBe("openclaw/default");
      expect(c.object).toBe("chat.completion.chunk");
    }
  });

  test("raw wire: SSE headers, frames and the [DONE] terminator", async () => {
    const res = await post("/v1/chat/completions", { stream: true, messages: [{ role: "user", content: "raw" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(events.at(-2)!.data.choices[0].finish_reason).toBe("stop");
    expect(events.some((e) => e.data !== "[DONE]" && e.data.usage)).toBe(false);
  });

  test("tool calls stream as delta.tool_calls fragments of at most 256 characters", async () => {
    const res = await post(
      "/v1/chat/completions",
      { stream: true, messages: [{ role: "user", content: "w" }], tools: [{ type: "function", function: { name: "get_weather" } }] },
      { "x-openclaw-model": "anth/tools" },
    );
    const events = parseSse(await res.text());
    const frags = events.filter((e) => e.data !== "[DONE]" && e.data.choices[0]?.delta?.tool_calls).map((e) => e.data.choices[0].delta.tool_calls[0]);
    expect(frags[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather", arguments: "" } });
    expect(frags[0].id).toBeString();
    for (const f of frags.slice(1)) {
      expect(f.index).toBe(0);
      expect(f.function.arguments.length).toBeLessThanOrEqual(256);
    }
    expect(frags.length).toBeGreaterThan(2);
    expect(JSON.parse(frags.map((f) => f.function.arguments).join(""))).toEqual({ city: "Oslo", note: LONG_NOTE });
    expect(events.at(-2)!.data.choices[0].finish_reason).toBe("tool_calls");
  });

  test("the SDK's stream helper assembles streamed tool calls", async () => {
    const runner = h.client.chat.completions.stream(
      { model: "openclaw", messages: [{ role: "user", content: "w" }], tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }] },
      { headers: { "x-openclaw-model": "oll/tools" } },
    );
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls![0] as any;
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments).city).toBe("Oslo");
    expect(final.choices[0].finish_reason).toBe("tool_calls");
  });

  test("an upstream failure before the first byte is a real HTTP error, not a 200 stream", async () => {
    const err = await h.client.chat.completions
      .create({ model: "openclaw", stream: true, messages: [{ role: "user", content: "x" }] }, { headers: { "x-openclaw-model": "oai/status-429" } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.error).toEqual({ message: "fake upstream says 429", type: "rate_limit_error" });
  });

  test("a failure after the first byte: error frame, finish_reason chunk, [DONE]", async () => {
    const res = await post("/v1/chat/completions", { stream: true, messages: [{ role: "user", content: "x" }] }, { "x-openclaw-model": "oai/hang-stream" });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events[0].data.choices[0].delta).toEqual({ role: "assistant" });
    expect(events[1].data.choices[0].delta.content).toBe("echo");
    expect(events.at(-3)!.data).toEqual({ error: { message: "upstream provider timeout", type: "api_error" } });
    expect(events.at(-2)!.data.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "error" });
    expect(events.at(-1)!.data).toBe("[DONE]");
    // …which the SDK surfaces as an APIError while iterating.
    const stream = await h.client.chat.completions.create({ model: "openclaw", stream: true, messages: [{ role: "user", content: "x" }] }, { headers: { "x-openclaw-model": "oai/hang-stream" } });
    const err = await (async () => {
      for await (const _ of stream) {
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.message).toContain("upstream provider timeout");
  });

  test("a client disconnect mid-stream cancels the upstream request", async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.base}/v1/chat/completions`, {
      method: "POST",
      headers: { ...h.headers, "x-openclaw-model": "oai/slow" },
      body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "x" }] }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let got = "";
    while (!got.includes('"content"')) {
      const { value, done } = await reader.read();
      if (done) break;
      got += new TextDecoder().decode(value);
    }
    expect(got).toContain('"content"');
    ac.abort();
    expect(await h.fake.waitFor(() => h.fake.to("/v1/chat/completions")[0]?.aborted === true, 3000)).toBe(true);
    expect(h.fake.to("/v1/chat/completions")[0].completed).toBe(false);
  });
});

test("a paused client holds the upstream back (backpressure) without tripping the idle timeout", async () => {
  // 40 MiB of text: far more than the loopback socket buffers of both hops can hold.
  const n = 40_000;
  const res = await post("/v1/chat/completions", { stream: true, messages: [{ role: "user", content: "x" }] }, { "x-openclaw-model": `oai/kib-${n}` });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value, { stream: true });
  // We stop reading. The gateway says when its stream has to wait for us (from then on it does
  // not read the upstream, and its idle watchdog is paused).
  const blocked = /^chat completion stream chatcmpl_\S+: the client is not reading; holding the upstream back$/;
  expect(await h.fake.waitFor(() => h.gw.logs.some((r) => blocked.test(r.message)), 20_000)).toBe(true);
  const upstream = h.fake.to("/v1/chat/completions")[0];
  expect(upstream.completed).toBe(false);
  // Stay paused for longer than the provider's idle timeout, measured by that same watchdog: a
  // request that never gets an answer, started now, is timed out (504) by it.
  const hung = await post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }, { "x-openclaw-model": "oai/hang" });
  expect(hung.status).toBe(504);
  expect(upstream.completed).toBe(false);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const events = parseSse(text);
  const content = events.filter((e) => e.data !== "[DONE]" && e.data.choices?.[0]?.delta?.content).reduce((sum, e) => sum + e.data.choices[0].delta.content.length, 0);
  expect(content).toBe(n * 1024);
  expect(events.at(-2)!.data.choices[0].finish_reason).toBe("stop");
  expect(upstream.completed).toBe(true);
}, 30_000);

describe("upstream failures map to the spec's status and type", () => {
  const cases: Array<[string, number, any, string]> = [
    ["oai/status-401", 401, OpenAI.AuthenticationError, "authentication_error"],
    ["oai/status-402", 402, OpenAI.APIError, "insufficient_quota"],
    ["oai/status-403", 403, OpenAI.PermissionDeniedError, "permission_error"],
    ["oai/status-404", 404, OpenAI.NotFoundError, "invalid_request_error"],
    ["oai/status-429", 429, OpenAI.RateLimitError, "rate_limit_error"],
    ["oai/status-500", 502, OpenAI.InternalServerError, "api_error"],
    ["oai/status-503", 503, OpenAI.InternalServerError, "api_error"],
    ["oai/hang", 504, OpenAI.InternalServerError, "api_error"],
  ];
  test.each(cases)("%s → %d", async (ref, status, cls, type) => {
    const err = await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "x" }] }, { headers: { "x-openclaw-model": ref } }).catch((e) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    expect(err.error.type).toBe(type);
  });

  test("failover to the agent's fallback model", async () => {
    const r = await h.client.chat.completions.create({ model: "openclaw/fb", messages: [{ role: "user", content: "fail me over" }] });
    expect(r.choices[0].message.content).toBe("echo: fail me over");
    expect(h.fake.to("/v1/chat/completions").length).toBeGreaterThan(0);
    expect(h.fake.to("/v1/messages")).toHaveLength(1);
  });

  test("streaming failover happens before the response starts", async () => {
    const stream = await h.client.chat.completions.create({ model: "openclaw/fb", stream: true, messages: [{ role: "user", content: "s" }] });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: s");
  });
});

describe("sessions over HTTP", () => {
  test("`user` keeps a session: the second turn carries the first", async () => {
    await h.client.chat.completions.create({ model: "openclaw", user: "Alice", messages: [{ role: "user", content: "my name is Alice" }] });
    await h.client.chat.completions.create({ model: "openclaw", user: "alice", messages: [{ role: "user", content: "what is my name?" }] });
    const second = h.fake.to("/v1/chat/completions")[1].body.messages;
    expect(second.map((m: any) => m.content)).toEqual(["You are main.", "my name is Alice", "echo: my name is Alice", "what is my name?"]);
    const row = h.gw.handle.agents.store.get("agent:main:openai-user:alice")!;
    expect(row.messageCount).toBe(4);
  });

  test("a client resending its whole history does not duplicate the stored transcript", async () => {
    const key = { "x-openclaw-session-key": "my-session" };
    await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "one" }] }, { headers: key });
    await h.client.chat.completions.create(
      { model: "openclaw", messages: [{ role: "user", content: "one" }, { role: "assistant", content: "echo: one" }, { role: "user", content: "two" }] },
      { headers: key },
    );
    const sent = h.fake.to("/v1/chat/completions")[1].body.messages.map((m: any) => m.content);
    expect(sent).toEqual(["You are main.", "one", "echo: one", "two"]);
  });

  test("reserved session-key prefixes are refused", async () => {
    const res = await post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }, { "x-openclaw-session-key": "cron:nightly" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.type).toBe("invalid_request_error");
  });

  test("without user or session key every call is stateless: no history, no stored transcript", async () => {
    const before = h.gw.handle.agents.store.count("main");
    await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "a" }] });
    await h.client.chat.completions.create({ model: "openclaw", messages: [{ role: "user", content: "b" }] });
    expect(h.gw.handle.agents.store.count("main")).toBe(before);
    expect(h.fake.to("/v1/chat/completions")[1].body.messages).toHaveLength(2);
  });
});
