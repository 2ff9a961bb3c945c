import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { completeChat, embed, openChatStream } from "../../src/providers/call.ts";
import { ProviderError, toHttpFailure } from "../../src/providers/errors.ts";
import {
  completeWithFailover,
  modelChain,
  parseModelRef,
  providerConfig,
  ResultBuilder,
  resolveApiKey,
  streamWithFailover,
} from "../../src/providers/index.ts";
import type { ModelCall, ModelEvent, ProviderApi, ProviderConfig } from "../../src/providers/types.ts";
import { validateConfig, type OpenClawConfig } from "../../src/config/schema.ts";
import { FAKE_API_KEY, FakeUpstream, LONG_NOTE } from "../fixture/fake-upstream.ts";

const fake = new FakeUpstream();
beforeAll(() => {
  fake.start();
  fake.requireKey = true;
});
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

const APIS: ProviderApi[] = ["openai-completions", "openai-responses", "anthropic-messages", "ollama"];

function provider(api: ProviderApi, over: Partial<ProviderConfig> = {}): ProviderConfig {
  const baseUrl = api.startsWith("openai") ? `${fake.url}/v1` : fake.url;
  return {
    id: "fake",
    api,
    baseUrl,
    apiKey: FAKE_API_KEY,
    headers: {},
    timeoutMs: 2_000,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, budgetMs: 2_000 },
    ...over,
  };
}

function call(api: ProviderApi, model: string, over: Partial<ModelCall> = {}): ModelCall {
  return {
    provider: provider(api),
    model,
    system: "be brief",
    messages: [
      { role: "user", content: "first" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "hello there" },
    ],
    params: {},
    ...over,
  };
}

const weatherTool = [{ name: "get_weather", description: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];

async function collect(gen: AsyncGenerator<ModelEvent[], void>): Promise<ResultBuilder> {
  const b = new ResultBuilder();
  for await (const batch of gen) b.add(batch);
  return b;
}

describe.each(APIS)("%s adapter against the fake upstream", (api) => {
  test("non-stream completion carries the text, finish reason and usage", async () => {
    const r = await completeChat(call(api, "echo"));
    expect(r.text).toBe("echo: hello there");
    expect(r.finishReason).toBe("stop");
    expect(r.usage.input).toBeGreaterThan(0);
    expect(r.usage.output).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(1);
  });

  test("the system prompt and the history reach the upstream", async () => {
    await completeChat(call(api, "echo"));
    const body = JSON.stringify(fake.requests[0].body);
    expect(body).toContain("be brief");
    expect(body).toContain("first");
    expect(body).toContain("hello there");
  });

  test("streamed text arrives in several batches and assembles", async () => {
    const r = (await collect(await openChatStream(call(api, "echo")))).result();
    expect(r.text).toBe("echo: hello there");
    expect(r.finishReason).toBe("stop");
    expect(r.usage.output).toBeGreaterThan(0);
  });

  test("tool calls, streamed and not, then the tool result round-trips", async () => {
    const whole = await completeChat(call(api, "tools", { tools: weatherTool, toolChoice: "auto" }));
    expect(whole.finishReason).toBe("tool_calls");
    expect(whole.toolCalls).toHaveLength(1);
    expect(whole.toolCalls[0].name).toBe("get_weather");
    expect(JSON.parse(whole.toolCalls[0].arguments)).toEqual({ city: "Oslo", note: LONG_NOTE });

    const streamed = (await collect(await openChatStream(call(api, "tools", { tools: weatherTool })))).result();
    expect(streamed.finishReason).toBe("tool_calls");
    expect(JSON.parse(streamed.toolCalls[0].arguments)).toEqual({ city: "Oslo", note: LONG_NOTE });

    const id = whole.toolCalls[0].id;
    const after = await completeChat(
      call(api, "tools", {
        tools: weatherTool,
        messages: [
          { role: "user", content: "weather?" },
          { role: "assistant", content: "", toolCalls: whole.toolCalls },
          { role: "tool", content: "sunny", toolCallId: id, name: "get_weather" },
        ],
      }),
    );
    expect(after.text).toBe("tool said: sunny");
  });

  test("finish reason length", async () => {
    expect((await completeChat(call(api, "length"))).finishReason).toBe("length");
    expect((await collect(await openChatStream(call(api, "length")))).result().finishReason).toBe("length");
  });

  test("a wrong API key is an auth failure (401 authentication_error)", async () => {
    const err = await completeChat({ ...call(api, "echo"), provider: provider(api, { apiKey: "wrong" }) }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.reason).toBe("auth");
    expect(toHttpFailure(err)).toMatchObject({ status: 401, type: "authentication_error" });
    expect(fake.requests).toHaveLength(1);
  });
});

describe("retries, timeouts and cancellation", () => {
  test("429 and 5xx are retried with backoff until success", async () => {
    const retries: number[] = [];
    const r = await completeChat(call("openai-completions", "flaky-2"), { onRetry: (i) => retries.push(i.attempt) });
    expect(r.text).toBe("echo: hello there");
    expect(retries).toEqual([1, 2]);
    expect(fake.requests).toHaveLength(3);
  });

  test("retries stop at maxAttempts and surface the mapped error", async () => {
    const err = await completeChat(call("openai-completions", "status-500")).catch((e) => e);
    expect(err.reason).toBe("server_error");
    expect(toHttpFailure(err)).toEqual({ status: 502, type: "api_error", message: "upstream provider error" });
    expect(fake.requests).toHaveLength(3);
  });

  test("a 429 maps to 429 rate_limit_error with the provider's message", async () => {
    const err = await completeChat(call("anthropic-messages", "status-429")).catch((e) => e);
    expect(toHttpFailure(err)).toEqual({ status: 429, type: "rate_limit_error", message: "fake upstream says 429" });
  });

  test("a 400 is not retried", async () => {
    const err = await completeChat(call("ollama", "status-400")).catch((e) => e);
    expect(err.reason).toBe("format");
    expect(fake.requests).toHaveLength(1);
  });

  test("no retry starts beyond the time budget", async () => {
    const p = provider("openai-completions", { retry: { maxAttempts: 10, baseDelayMs: 400, maxDelayMs: 400, budgetMs: 150 } });
    const err = await completeChat({ ...call("openai-completions", "status-503"), provider: p }).catch((e) => e);
    expect(err.reason).toBe("overloaded");
    expect(fake.requests).toHaveLength(1);
  });

  test("an upstream that never answers times out (504)", async () => {
    const p = provider("openai-completions", { timeoutMs: 150, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1 } });
    const err = await completeChat({ ...call("openai-completions", "hang"), provider: p }).catch((e) => e);
    expect(err.reason).toBe("timeout");
    expect(toHttpFailure(err).status).toBe(504);
    expect(await fake.waitFor(() => fake.requests[0]?.aborted === true)).toBe(true);
  });

  test("a stream that goes quiet times out mid-body", async () => {
    const p = provider("openai-completions", { timeoutMs: 150 });
    const gen = await openChatStream({ ...call("openai-completions", "hang-stream"), provider: p });
    const err = await collect(gen).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.reason).toBe("timeout");
  });

  test("aborting the caller's signal cancels the upstream stream", async () => {
    const ac = new AbortController();
    const gen = await openChatStream(call("openai-completions", "slow"), { signal: ac.signal });
    const first = await gen.next();
    expect(first.done).toBe(false);
    ac.abort();
    const err = await collect(gen).catch((e) => e);
    expect(err.reason).toBe("aborted");
    expect(await fake.waitFor(() => fake.requests[0]?.aborted === true)).toBe(true);
  });

  test("stopping iteration early cancels the upstream stream", async () => {
    const gen = await openChatStream(call("ollama", "slow"));
    await gen.next();
    await gen.return();
    expect(await fake.waitFor(() => fake.requests[0]?.aborted === true)).toBe(true);
  });

  test("an unreachable upstream is a server error (502)", async () => {
    const p = provider("openai-completions", { baseUrl: "http://127.0.0.1:9/v1", retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1 } });
    const err = await completeChat({ ...call("openai-completions", "echo"), provider: p }).catch((e) => e);
    expect(err.reason).toBe("server_error");
    expect(err.message).toContain("upstream unreachable");
  });
});

describe("embeddings", () => {
  test.each(["openai-completions", "ollama"] as const)("%s embeddings", async (api) => {
    const r = await embed({ provider: provider(api), model: "embed", input: ["a", "bb"], dimensions: 4 });
    expect(r.vectors).toHaveLength(2);
    expect(r.vectors[0]).toHaveLength(4);
    expect(r.usage.prompt).toBeGreaterThan(0);
  });

  test("anthropic has no embeddings API", async () => {
    const err = await embed({ provider: provider("anthropic-messages"), model: "x", input: ["a"] }).catch((e) => e);
    expect(err.reason).toBe("format");
  });
});

describe("config resolution and failover", () => {
  const cfg = (): OpenClawConfig => ({
    models: {
      providers: {
        primary: { baseUrl: `${fake.url}/v1`, apiKey: FAKE_API_KEY, api: "openai-completions", retry: { maxAttempts: 1 }, models: [{ id: "status-500" }] } as any,
        backup: { baseUrl: fake.url, apiKey: "${FAKE_KEY_FOR_TEST}", api: "anthropic-messages", models: [{ id: "echo" }] } as any,
      },
    },
  });

  test("refs split at the first slash; bare ids resolve to their unique provider", () => {
    expect(parseModelRef(cfg(), "a/b/c")).toEqual({ provider: "a", model: "b/c" });
    expect(parseModelRef(cfg(), "echo")).toEqual({ provider: "backup", model: "echo" });
    expect(parseModelRef(cfg(), "unknown")).toBeUndefined();
    expect(parseModelRef(cfg(), "unknown", "primary")).toEqual({ provider: "primary", model: "unknown" });
    expect(parseModelRef(cfg(), "/x")).toBeUndefined();
  });

  test("apiKey as ${ENV_VAR}: resolved at call time, a clear error naming the key when unset", () => {
    expect(resolveApiKey("p", "${SOME_KEY}", { SOME_KEY: "v" })).toBe("v");
    expect(resolveApiKey("p", { source: "env", id: "K" }, { K: "w" })).toBe("w");
    expect(() => resolveApiKey("p", "${SOME_KEY}", {})).toThrow(/SOME_KEY \(from models.providers.p.apiKey\) is not set/);
    expect(resolveApiKey("p", "literal", {})).toBe("literal");
  });

  test("no provider: a not_configured error naming models.providers (503)", () => {
    const err = (() => {
      try {
        modelChain({}, { fallbacks: [] });
      } catch (e) {
        return e as ProviderError;
      }
    })()!;
    expect(err.reason).toBe("not_configured");
    expect(err.message).toContain("models.providers.<name>");
    expect(toHttpFailure(err)).toMatchObject({ status: 503, code: "provider_not_configured" });
    expect(() => providerConfig({}, "openai")).toThrow(/No model provider is configured/);
    expect(() => providerConfig({ models: { providers: { x: { api: "google-generative-ai" } } } }, "x")).toThrow(/models.providers.x.api/);
  });

  test("the chain is primary then fallbacks; no agent model means the first configured model", () => {
    expect(modelChain(cfg(), { model: "primary/status-500", fallbacks: ["backup/echo", "primary/status-500"] })).toEqual([
      { provider: "primary", model: "status-500" },
      { provider: "backup", model: "echo" },
    ]);
    expect(modelChain(cfg(), { fallbacks: [] })).toEqual([{ provider: "primary", model: "status-500" }]);
  });

  test("non-stream failover moves to the fallback model on a 5xx", async () => {
    const failovers: string[] = [];
    const chain = modelChain(cfg(), { model: "primary/status-500", fallbacks: ["backup/echo"] });
    const { value, ref } = await completeWithFailover(cfg(), chain, { system: "s", messages: [{ role: "user", content: "hi" }], params: {} }, {
      env: { FAKE_KEY_FOR_TEST: FAKE_API_KEY },
      onFailover: (from) => failovers.push(`${from.provider}/${from.model}`),
    });
    expect(value.text).toBe("echo: hi");
    expect(ref).toEqual({ provider: "backup", model: "echo" });
    expect(failovers).toEqual(["primary/status-500"]);
  });

  test("stream failover before any output; the events reach the sink", async () => {
    const seen: string[] = [];
    const chain = modelChain(cfg(), { model: "primary/status-500", fallbacks: ["backup/echo"] });
    const { value, ref } = await streamWithFailover(cfg(), chain, { messages: [{ role: "user", content: "yo" }], params: {} }, {
      env: { FAKE_KEY_FOR_TEST: FAKE_API_KEY },
      onEvents: (evs) => {
        for (const e of evs) if (e.type === "text") seen.push(e.text);
      },
    });
    expect(ref.provider).toBe("backup");
    expect(seen.join("")).toBe("echo: yo");
    expect(value.text).toBe("echo: yo");
  });

  test("a format error does not fail over", async () => {
    const c = cfg();
    (c.models!.providers!.primary as any).models = [{ id: "status-400" }];
    const chain = modelChain(c, { model: "primary/status-400", fallbacks: ["backup/echo"] });
    const err = await completeWithFailover(c, chain, { messages: [{ role: "user", content: "x" }], params: {} }, { env: { FAKE_KEY_FOR_TEST: FAKE_API_KEY } }).catch((e) => e);
    expect(err.reason).toBe("format");
    expect(fake.to("/v1/messages")).toHaveLength(0);
  });
});

describe("provider config validation", () => {
  test("typed provider keys are checked with their path", () => {
    const bad = validateConfig({ models: { providers: { p: { retry: { maxAttempts: 0, extra: 1 }, timeoutSeconds: -1, headers: { a: 1 } } } } });
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["models.providers.p.retry.maxAttempts", "models.providers.p.retry.extra", "models.providers.p.timeoutSeconds", "models.providers.p.headers.a"]));
    expect(validateConfig({ models: { providers: { p: { baseUrl: "http://x/v1", api: "ollama", timeoutSeconds: 1.5, retry: { budgetMs: 100 }, headers: { "X-A": "b" } } } } }).ok).toBe(true);
  });

  test("an unparsable baseUrl is a 503-class error naming the key", () => {
    expect(() => providerConfig({ models: { providers: { p: { baseUrl: "not a url" } } } }, "p")).toThrow(/models.providers.p.baseUrl/);
    expect(() => providerConfig({ models: { providers: { p: { baseUrl: "ftp://x" } } } }, "p")).toThrow(/http\(s\) URL/);
  });

  test("defaults: openai-completions, 120 s idle timeout, 3 attempts", () => {
    const p = providerConfig({ models: { providers: { p: { baseUrl: "http://127.0.0.1:1/v1/" } } } }, "p");
    expect(p).toMatchObject({ api: "openai-completions", baseUrl: "http://127.0.0.1:1/v1", timeoutMs: 120_000, retry: { maxAttempts: 3 } });
  });
});
