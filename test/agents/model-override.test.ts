/**
 * Requested models are honoured: the `agent` params `provider` / `model` (what
 * `openclaw infer model run --gateway --model p/m` sends, captured from the official CLI:
 * `{provider, model, modelRun: true, promptMode: "none", …}` from a backend client holding
 * operator.admin) reach the provider as asked, are reported in the result, and follow the
 * original's rules (admin only, model policy, strict, raw). Also the operator log lines.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { OVERRIDE_NOT_AUTHORIZED, PROMPT_NONE_NEEDS_MODEL_RUN, policyAllows, resolveModelOverride, RunRequestError } from "../../src/agents/model-override.ts";
import { listAgents } from "../../src/agents/registry.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";
import { connectParams, connectRaw, type RawPeer } from "../helpers/gateway.ts";

let h: AiHarness;
beforeAll(async () => {
  h = await startAiGateway({
    config: (fake) => {
      const cfg = aiConfig(fake) as any;
      cfg.agents.list.push({ id: "strict", model: "oai/echo", modelPolicy: { allow: ["oai/echo", "anth/*"] } });
      return cfg;
    },
  });
});
afterAll(() => h.stop());
beforeEach(() => h.fake.reset());

async function peer(scopes: string[], mode = "backend"): Promise<RawPeer> {
  const { peer, res } = await connectRaw(h.gw.url, connectParams({ scopes, client: { id: mode === "backend" ? "gateway-client" : "cli", version: "2026.9.6", platform: "linux", mode } }));
  expect(res.ok).toBe(true);
  return peer;
}

/** The `agent` call exactly as the official CLI sends it for `infer model run --gateway --model`. */
function modelRun(id: string, provider: string, model: string, extra: Record<string, unknown> = {}) {
  const sessionId = `model-run-${crypto.randomUUID()}`;
  return {
    type: "req",
    id,
    method: "agent",
    params: {
      agentId: "main",
      sessionId,
      sessionKey: `agent:main:explicit:${sessionId}`,
      message: "hello there",
      provider,
      model,
      modelRun: true,
      promptMode: "none",
      cleanupBundleMcpOnRunEnd: true,
      idempotencyKey: crypto.randomUUID(),
      ...extra,
    },
  };
}

async function final(p: RawPeer, id: string): Promise<any> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const f = await p.frame(Math.max(1, deadline - Date.now()));
    if (f.type === "res" && f.id === id && f.payload?.status !== "accepted") return f;
  }
}

const logText = () => h.gw.logs.map((r) => r.message);

describe("agent {provider, model}", () => {
  test("the requested model is sent to that provider and reported; a raw run keeps no transcript and no system prompt", async () => {
    const p = await peer(["operator.admin"]);
    const req = modelRun("m1", "oai", "other-model");
    p.send(req);
    const res = await final(p, "m1");
    expect(res.ok).toBe(true);
    expect(res.payload.result.payloads[0].text).toBe("echo: hello there");
    expect(res.payload.result.meta.agentMeta).toMatchObject({ provider: "oai", model: "other-model", agentId: "main" });
    const sent = h.fake.to("/v1/chat/completions");
    expect(sent).toHaveLength(1);
    expect(sent[0].body.model).toBe("other-model");
    expect(sent[0].body.messages).toEqual([{ role: "user", content: "hello there" }]);
    expect(h.gw.handle.agents.store.get(req.params.sessionKey)).toBeUndefined();
    p.close();
  });

  test("model as provider/model alone, and provider alone (keeps the agent's model id)", async () => {
    const p = await peer(["operator.admin"]);
    p.send({ type: "req", id: "a", method: "agent", params: { message: "x", model: "anth/claude-x", idempotencyKey: crypto.randomUUID() } });
    expect((await final(p, "a")).payload.result.meta.agentMeta).toMatchObject({ provider: "anth", model: "claude-x" });
    expect(h.fake.to("/v1/messages")[0].body.model).toBe("claude-x");
    p.send({ type: "req", id: "b", method: "agent", params: { message: "x", provider: "anth", idempotencyKey: crypto.randomUUID() } });
    expect((await final(p, "b")).payload.result.meta.agentMeta).toMatchObject({ provider: "anth", model: "echo" });
    p.close();
  });

  test("an id missing from the catalog still goes to the provider: model_not_found comes back as a failed run, and is logged", async () => {
    const p = await peer(["operator.admin"]);
    const req = modelRun("nf", "oai", "status-404");
    p.send(req);
    const res = await final(p, "nf");
    expect(res).toMatchObject({ ok: false, error: { code: "UNAVAILABLE", message: "fake upstream says 404" } });
    expect(h.fake.to("/v1/chat/completions")[0].body.model).toBe("status-404");
    const runId = req.params.idempotencyKey;
    expect(logText()).toContain(`embedded run agent end: runId=${runId} isError=true model=status-404 provider=oai error=fake upstream says 404 rawError=404 fake upstream says 404`);
    expect(logText()).toContain("model fallback decision: decision=candidate_failed requested=oai/status-404 candidate=oai/status-404 reason=model_not_found next=none detail=404 fake upstream says 404");
    p.close();
  });

  test("a final 429 (after the same-model retries) is logged the same way; an override never falls back", async () => {
    const p = await peer(["operator.admin"]);
    p.send(modelRun("rl", "oai", "status-429"));
    expect(await final(p, "rl")).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(h.fake.to("/v1/chat/completions").every((r) => r.body.model === "status-429")).toBe(true);
    expect(h.fake.requests.some((r) => r.path !== "/v1/chat/completions")).toBe(false);
    expect(logText().some((m) => m.startsWith("model fallback decision:") && m.includes("reason=rate_limit next=none"))).toBe(true);
    p.close();
  });

  test("without operator.admin an override is refused with the original's message", async () => {
    const p = await peer(["operator.write", "operator.read"], "cli");
    p.send(modelRun("no", "oai", "other-model"));
    expect(await final(p, "no")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST", message: OVERRIDE_NOT_AUTHORIZED } });
    expect(h.fake.requests).toHaveLength(0);
    p.close();
  });

  test("the model policy allowlist applies to overrides", async () => {
    const p = await peer(["operator.admin"]);
    p.send({ type: "req", id: "deny", method: "agent", params: { message: "x", agentId: "strict", model: "oai/other", idempotencyKey: crypto.randomUUID() } });
    expect(await final(p, "deny")).toMatchObject({
      ok: false,
      error: {
        code: "INVALID_REQUEST",
        message: 'Model override "oai/other" is not allowed for agent "strict" by agents.entries.strict.modelPolicy.allow. Add "oai/other" or "oai/*" to agents.entries.strict.modelPolicy.allow, or remove/empty the list to allow any model.',
      },
    });
    p.send({ type: "req", id: "ok", method: "agent", params: { message: "x", agentId: "strict", model: "anth/anything", idempotencyKey: crypto.randomUUID() } });
    expect((await final(p, "ok")).ok).toBe(true);
    p.close();
  });

  test('promptMode "none" needs modelRun', async () => {
    const p = await peer(["operator.admin"]);
    p.send({ type: "req", id: "pm", method: "agent", params: { message: "x", promptMode: "none", idempotencyKey: crypto.randomUUID() } });
    expect(await final(p, "pm")).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST", message: PROMPT_NONE_NEEDS_MODEL_RUN } });
    p.close();
  });

  test("an empty answer is logged as an incomplete turn", async () => {
    const p = await peer(["operator.admin"]);
    const req = modelRun("empty", "oai", "chunks-0");
    p.send(req);
    expect((await final(p, "empty")).ok).toBe(true);
    const line = logText().find((m) => m.startsWith("incomplete turn detected:"));
    expect(line).toBe(`incomplete turn detected: runId=${req.params.idempotencyKey} sessionKey=${req.params.sessionKey} provider=oai/chunks-0 stopReason=stop payloads=0 tools=0 — no visible reply`);
    p.close();
  });
});

describe("resolveModelOverride", () => {
  const cfg = {
    models: { providers: { oai: { models: [{ id: "echo" }, { id: "only-here" }] }, anth: {} } },
    agents: {
      defaults: { model: "oai/echo", modelPolicy: { allow: ["fast", "oai/*"] }, models: { "anth/claude-q": { alias: "fast" } } },
      entries: { main: {}, open: { modelPolicy: { allow: [] } } },
    },
  } as unknown as OpenClawConfig;
  const [main, open] = listAgents(cfg);

  test("none asked → none; forms; strictness of the caller", () => {
    expect(resolveModelOverride(cfg, main, {}, false)).toBeUndefined();
    expect(resolveModelOverride(cfg, main, { provider: " ", model: "" }, false)).toBeUndefined();
    expect(() => resolveModelOverride(cfg, main, { model: "oai/x" }, false)).toThrow(RunRequestError);
    expect(resolveModelOverride(cfg, main, { provider: "oai", model: "oai/x" }, true)).toEqual({ provider: "oai", model: "x" });
    expect(resolveModelOverride(cfg, main, { model: "only-here" }, true)).toEqual({ provider: "oai", model: "only-here" });
    expect(resolveModelOverride(cfg, main, { provider: "oai" }, true)).toEqual({ provider: "oai", model: "echo" });
    expect(() => resolveModelOverride(cfg, main, { model: "oai/" }, true)).toThrow("Invalid model override.");
  });

  test("policy: aliases, wildcards; an agent's own empty list allows any model", () => {
    expect(resolveModelOverride(cfg, main, { model: "anth/claude-q" }, true)).toEqual({ provider: "anth", model: "claude-q" });
    expect(() => resolveModelOverride(cfg, main, { model: "anth/other" }, true)).toThrow("by agents.defaults.modelPolicy.allow");
    expect(resolveModelOverride(cfg, open, { model: "anth/other" }, true)).toEqual({ provider: "anth", model: "other" });
    expect(policyAllows(cfg, ["vendor/ns/*"], { provider: "vendor", model: "ns/m" })).toBe(true);
    expect(policyAllows(cfg, ["vendor/ns/*"], { provider: "vendor", model: "other" })).toBe(false);
  });
});
