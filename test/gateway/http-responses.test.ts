/** `/v1/responses`, `/v1/embeddings` and `/tools/invoke` through the `openai` SDK and raw fetch. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { fakeVector, LONG_NOTE } from "../fixture/fake-upstream.ts";
import { parseSse, startAiGateway, type AiHarness } from "../helpers/ai.ts";

let h: AiHarness;
beforeAll(async () => {
  h = await startAiGateway();
});
afterAll(() => h.stop());
beforeEach(() => h.fake.reset());

const post = (path: string, body: unknown, headers?: Record<string, string>) => h.post(path, body, headers);

describe("POST /v1/responses", () => {
  test("non-stream: the response resource, output_text and usage", async () => {
    const r = await h.client.responses.create({ model: "openclaw", input: "hello responses" });
    expect(r.id).toMatch(/^resp_[0-9a-f-]{36}$/);
    expect(r.object).toBe("response");
    expect(r.status).toBe("completed");
    expect(r.model).toBe("openclaw");
    expect(r.output_text).toBe("echo: hello responses");
    expect(r.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed", phase: "final_answer" } as any);
    expect((r.output[0] as any).id).toMatch(/^msg_/);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    expect(r.usage!.input_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 0 } as any);
  });

  test("instructions and message items (typed and typeless) reach the model", async () => {
    await h.client.responses.create({
      model: "openclaw/oll",
      instructions: "Answer in French.",
      input: [
        { role: "developer", content: "Be terse." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "bonjour" }] },
      ],
    });
    const body = h.fake.to("/api/chat")[0].body;
    expect(body.messages[0]).toEqual({ role: "system", content: "Answer in French.\n\nBe terse." });
    expect(body.messages.at(-1)).toEqual({ role: "user", content: "bonjour" });
  });

  test("previous_response_id continues the session", async () => {
    const first = await h.client.responses.create({ model: "openclaw", input: "remember 42" });
    const second = await h.client.responses.create({ model: "openclaw", input: "what number?", previous_response_id: first.id });
    expect(second.output_text).toBe("echo: what number?");
    const sent = h.fake.to("/v1/chat/completions")[1].body.messages.map((m: any) => m.content);
    expect(sent).toEqual(["You are main.", "remember 42", "echo: remember 42", "what number?"]);
    // Chained once more, and not reusable by another agent.
    await h.client.responses.create({ model: "openclaw", input: "and now?", previous_response_id: second.id });
    expect(h.fake.to("/v1/chat/completions")[2].body.messages).toHaveLength(6);
    await h.client.responses.create({ model: "openclaw/oll", input: "other agent", previous_response_id: second.id });
    expect(h.fake.to("/api/chat")[0].body.messages).toEqual([{ role: "user", content: "other agent" }]);
  });

  test("previous_response_id is ignored for a different caller key (session key header)", async () => {
    const first = await h.client.responses.create({ model: "openclaw", input: "secret" });
    await h.client.responses.create({ model: "openclaw", input: "leak?", previous_response_id: first.id }, { headers: { "x-openclaw-session-key": "other" } });
    const sent = h.fake.to("/v1/chat/completions")[1].body.messages.map((m: any) => m.content);
    expect(sent).toEqual(["You are main.", "leak?"]);
  });

  test("function tools: function_call items out, function_call_output back in", async () => {
    const tools = [{ type: "function" as const, name: "get_weather", parameters: { type: "object", properties: {} }, strict: false }];
    const r = await h.client.responses.create({ model: "openclaw", input: "weather?", tools }, { headers: { "x-openclaw-model": "resp/tools" } });
    const call = r.output.find((o) => o.type === "function_call") as any;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(call.id).toMatch(/^call_/);
    expect(JSON.parse(call.arguments)).toEqual({ city: "Oslo", note: LONG_NOTE });
    const r2 = await h.client.responses.create(
      { model: "openclaw", tools, previous_response_id: r.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "rainy" }] },
      { headers: { "x-openclaw-model": "resp/tools" } },
    );
    expect(r2.output_text).toBe("tool said: rainy");
    const upstreamInput = h.fake.to("/v1/responses")[1].body.input;
    expect(upstreamInput.at(-2)).toMatchObject({ type: "function_call", call_id: call.call_id, name: "get_weather" });
    expect(upstreamInput.at(-1)).toEqual({ type: "function_call_output", call_id: call.call_id, output: "rainy" });
  });

  test("stream: the OpenResponses event sequence, ending with [DONE]", async () => {
    const res = await post("/v1/responses", { model: "openclaw", input: "stream it", stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = parseSse(await res.text());
    const types = events.map((e) => (e.data === "[DONE]" ? "[DONE]" : e.data.type));
    expect(types[0]).toBe("response.created");
    expect(types[1]).toBe("response.in_progress");
    expect(types[2]).toBe("response.output_item.added");
    expect(types[3]).toBe("response.content_part.added");
    expect(types.slice(-6)).toEqual(["response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed", "[DONE]"]);
    for (const e of events.slice(0, -1)) expect(e.event).toBe(e.data.type);
    const text = events.filter((e) => e.data.type === "response.output_text.delta").map((e) => e.data.delta).join("");
    expect(text).toBe("echo: stream it");
    const done = events.at(-2)!.data.response;
    expect(done.status).toBe("completed");
    expect(done.output[0].content[0].text).toBe("echo: stream it");
  });

  test("stream through the SDK: text deltas and the final response", async () => {
    const stream = await h.client.responses.create({ model: "openclaw/ops", input: "sdk stream", stream: true });
    let text = "";
    let final: any;
    for await (const ev of stream) {
      if (ev.type === "response.output_text.delta") text += ev.delta;
      if (ev.type === "response.completed") final = ev.response;
    }
    expect(text).toBe("echo: sdk stream");
    expect(final.output_text ?? final.output[0].content[0].text).toBe("echo: sdk stream");
  });

  test("stream with tool calls emits function_call items after the message index", async () => {
    const res = await post("/v1/responses", { model: "openclaw", input: "w", stream: true, tools: [{ type: "function", name: "get_weather" }] }, { "x-openclaw-model": "anth/tools" });
    const events = parseSse(await res.text()).filter((e) => e.data !== "[DONE]");
    const added = events.find((e) => e.data.type === "response.output_item.added" && e.data.item.type === "function_call")!;
    expect(added.data.item.name).toBe("get_weather");
    const done = events.find((e) => e.data.type === "response.output_item.done" && e.data.item.type === "function_call")!;
    expect(JSON.parse(done.data.item.arguments).city).toBe("Oslo");
    expect(events.at(-1)!.data.type).toBe("response.completed");
  });

  test("an upstream failure returns the failed resource with the mapped status", async () => {
    const err = await h.client.responses.create({ model: "openclaw", input: "x" }, { headers: { "x-openclaw-model": "oai/status-429" } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const res = await post("/v1/responses", { model: "openclaw", input: "x" }, { "x-openclaw-model": "oai/status-401" });
    expect(res.status).toBe(401);
    const body: any = await res.json();
    expect(body).toMatchObject({ object: "response", status: "failed", output: [], error: { code: "authentication_error", message: "fake upstream says 401" } });
    const streamed = await post("/v1/responses", { model: "openclaw", input: "x", stream: true }, { "x-openclaw-model": "oai/status-500" });
    expect(streamed.status).toBe(502);
  });

  test("a mid-stream failure ends with response.failed then [DONE]", async () => {
    const res = await post("/v1/responses", { model: "openclaw", input: "x", stream: true }, { "x-openclaw-model": "oai/hang-stream" });
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(events.at(-2)!.data.type).toBe("response.failed");
    expect(events.at(-2)!.data.response.error).toEqual({ code: "api_error", message: "upstream provider timeout" });
  });

  test("length → status incomplete with incomplete_details", async () => {
    const r = await h.client.responses.create({ model: "openclaw", input: "x" }, { headers: { "x-openclaw-model": "oai/length" } });
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });

  test("bad requests are 400 invalid_request_error", async () => {
    const noModel = await post("/v1/responses", { input: "x" });
    expect(noModel.status).toBe(400);
    const noInput = await post("/v1/responses", { model: "openclaw" });
    expect(((await noInput.json()) as any).error.message).toBe("Missing user message in `input`.");
    const badItem = await post("/v1/responses", { model: "openclaw", input: [{ type: "mystery" }] });
    expect(badItem.status).toBe(400);
    const image = await post("/v1/responses", { model: "openclaw", input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x" }] }] });
    expect(image.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe("POST /v1/embeddings", () => {
  test("float vectors via the SDK (which asks for base64 and decodes it)", async () => {
    const r = await h.client.embeddings.create({ model: "openclaw", input: ["alpha", "beta"] });
    expect(r.object).toBe("list");
    expect(r.model).toBe("openclaw");
    expect(r.data).toHaveLength(2);
    expect(h.fake.to("/v1/embeddings")[0].body).toMatchObject({ model: "embed", input: ["alpha", "beta"], encoding_format: "float" });
    const expected = fakeVector("alpha", 8);
    expect(Array.from(r.data[0].embedding as ArrayLike<number>)).toEqual(expected);
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
  });

  test("explicit float and base64 encodings", async () => {
    const f: any = await (await post("/v1/embeddings", { model: "openclaw", input: "x", encoding_format: "float", dimensions: 4 })).json();
    expect(f.data[0]).toEqual({ object: "embedding", index: 0, embedding: fakeVector("x", 4) });
    const b: any = await (await post("/v1/embeddings", { model: "openclaw", input: "x", encoding_format: "base64", dimensions: 4 })).json();
    const bytes = Buffer.from(b.data[0].embedding, "base64");
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 4))).toEqual(fakeVector("x", 4));
  });

  test("the agent picks the embedding provider; owners may override within it", async () => {
    await h.client.embeddings.create({ model: "openclaw/ops", input: "x", encoding_format: "float" });
    expect(h.fake.to("/api/embed")).toHaveLength(1);
    const other = await post("/v1/embeddings", { model: "openclaw/ops", input: "x" }, { "x-openclaw-model": "oai/embed" });
    expect(other.status).toBe(400);
    expect(((await other.json()) as any).error.message).toBe("This agent does not allow that embedding provider on `/v1/embeddings`.");
  });

  test("input limits and upstream failures", async () => {
    expect((await post("/v1/embeddings", { model: "openclaw", input: [] })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "openclaw", input: "" })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "openclaw", input: Array(129).fill("a") })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "openclaw", input: "x".repeat(8193) })).status).toBe(400);
    expect((await post("/v1/embeddings", { model: "gpt", input: "x" })).status).toBe(400);
    const failed = await h.client.embeddings.create({ model: "openclaw", input: "x" }, { headers: { "x-openclaw-model": "oai/status-429" } }).catch((e) => e);
    expect(failed).toBeInstanceOf(OpenAI.RateLimitError);
  });
});

describe("POST /tools/invoke", () => {
  test("unknown and denied tools are 404 not_found", async () => {
    const res = await post("/tools/invoke", { tool: "noop" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, error: { type: "not_found", message: "Tool not available: noop" } });
    expect((await post("/tools/invoke", { tool: "exec", args: { cmd: "id" } })).status).toBe(404);
  });

  test("sessions and agents tools answer from the store", async () => {
    await h.client.chat.completions.create({ model: "openclaw", user: "toolcheck", messages: [{ role: "user", content: "hello" }] });
    const key = "agent:main:openai-user:toolcheck";
    const list: any = await (await post("/tools/invoke", { tool: "sessions_list", args: { limit: 100 } })).json();
    expect(list.ok).toBe(true);
    expect(list.result.sessions.some((s: any) => s.key === key)).toBe(true);
    const hist: any = await (await post("/tools/invoke", { name: "sessions_history", tool: "ignored", args: { sessionKey: key } })).json();
    expect(hist.result.messages.map((m: any) => m.content)).toEqual(["hello", "echo: hello"]);
    const status: any = await (await post("/tools/invoke", { tool: "session_status", sessionKey: key })).json();
    expect(status.result).toMatchObject({ exists: true, key, messageCount: 2 });
    const agents: any = await (await post("/tools/invoke", { tool: "agents_list" })).json();
    expect(agents.result.agents.map((a: any) => a.id)).toContain("ops");
  });

  test("bad input is 400 with invalid_request / tool_error", async () => {
    expect(((await (await post("/tools/invoke", {})).json()) as any).error).toEqual({ type: "invalid_request", message: "`tool` (or `name`) is required" });
    const bad: any = await (await post("/tools/invoke", { tool: "sessions_list", args: { limit: -1 } })).json();
    expect(bad.error.type).toBe("tool_error");
    expect((await post("/tools/invoke", { tool: "sessions_list", args: [1] })).status).toBe(400);
    expect((await post("/tools/invoke", { tool: "sessions_list", agentId: "ghost" })).status).toBe(400);
  });
});
