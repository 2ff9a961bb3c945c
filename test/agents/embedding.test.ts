/** `/v1/embeddings` reads the original's memory search keys (current and legacy spellings). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embeddingModelFor, embeddingNotConfigured, OPENAI_DEFAULT_EMBEDDING_MODEL } from "../../src/agents/embedding.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";

const cfg = (c: Record<string, unknown>) => c as unknown as OpenClawConfig;

describe("embeddingModelFor", () => {
  test("per agent beats the top-level memory.search, field by field", () => {
    const c = cfg({
      memory: { search: { provider: "p1", model: "m1", outputDimensionality: 256 } },
      agents: { entries: { a: { memory: { search: { model: "m-a" } } }, b: {} } },
    });
    expect(embeddingModelFor(c, "a")).toEqual({ provider: "p1", model: "m-a", dimensions: 256 });
    expect(embeddingModelFor(c, "b")).toEqual({ provider: "p1", model: "m1", dimensions: 256 });
    expect(embeddingModelFor(c, "A")).toEqual({ provider: "p1", model: "m-a", dimensions: 256 });
  });

  test("legacy memorySearch spellings still count, below the current keys", () => {
    const legacy = cfg({
      memorySearch: { provider: "top", model: "t" },
      agents: { defaults: { memorySearch: { provider: "dflt" } }, list: [{ id: "x", memorySearch: { model: "x-model" } }, { id: "y" }] },
    });
    expect(embeddingModelFor(legacy, "x")).toEqual({ provider: "dflt", model: "x-model" });
    expect(embeddingModelFor(legacy, "y")).toEqual({ provider: "dflt", model: "t" });
    const both = cfg({ memory: { search: { provider: "new" } }, memorySearch: { provider: "old", model: "m" } });
    expect(embeddingModelFor(both, "main")).toEqual({ provider: "new", model: "m" });
  });

  test("the original's defaults: provider openai (auto = openai), OpenAI's default model, none = off", () => {
    expect(embeddingModelFor(cfg({ memory: { search: { model: "text-embedding-3-large" } } }), "main")).toEqual({ provider: "openai", model: "text-embedding-3-large" });
    expect(embeddingModelFor(cfg({ memory: { search: { provider: "auto" } } }), "main")).toEqual({ provider: "openai", model: OPENAI_DEFAULT_EMBEDDING_MODEL });
    expect(embeddingModelFor(cfg({ memory: { search: { provider: "none", model: "m" } } }), "main")).toBeUndefined();
    // A custom provider without a model: we do not know its default.
    expect(embeddingModelFor(cfg({ memory: { search: { provider: "ollama-gpu" } } }), "main")).toBeUndefined();
    // Nothing configured: OpenAI's default only when an openai provider exists here.
    expect(embeddingModelFor(cfg({}), "main")).toBeUndefined();
    expect(embeddingModelFor(cfg({ models: { providers: { openai: {} } } }), "main")).toEqual({ provider: "openai", model: OPENAI_DEFAULT_EMBEDDING_MODEL });
  });

  test("bad values are ignored, not trusted", () => {
    const c = cfg({ memory: { search: { provider: " ", model: 5, outputDimensionality: -3 } }, memorySearch: { provider: "p", model: "m", outputDimensionality: 1.5 } });
    expect(embeddingModelFor(c, "main")).toEqual({ provider: "p", model: "m" });
  });

  test("not configured names the keys to set", () => {
    const e = embeddingNotConfigured("ops");
    expect(e.reason).toBe("not_configured");
    expect(e.message).toContain("memory.search.provider");
    expect(e.message).toContain("agents.entries.ops.memory.search");
  });
});

describe("over HTTP", () => {
  let h: AiHarness;
  beforeAll(async () => {
    h = await startAiGateway({
      config: (fake) => {
        const c = aiConfig(fake) as any;
        c.memory = { search: { provider: "oai", model: "embed-top", outputDimensionality: 3 } };
        c.agents.list.push({ id: "legacy", memorySearch: { provider: "oll", model: "embed-legacy" } }, { id: "off", memory: { search: { provider: "none" } } });
        return c;
      },
    });
  });
  afterAll(() => h.stop());

  test("memory.search picks provider, model and default dimensions; a request's dimensions win", async () => {
    const r: any = await (await h.post("/v1/embeddings", { model: "openclaw", input: "x" })).json();
    expect(r.data[0].embedding).toHaveLength(3);
    expect(h.fake.to("/v1/embeddings").at(-1)!.body).toMatchObject({ model: "embed-top", dimensions: 3 });
    const r2: any = await (await h.post("/v1/embeddings", { model: "openclaw", input: "x", dimensions: 5 })).json();
    expect(r2.data[0].embedding).toHaveLength(5);
  });

  test("a per-agent legacy memorySearch, and an agent with memory search off (503 naming the keys)", async () => {
    expect((await h.post("/v1/embeddings", { model: "openclaw/legacy", input: "x" })).status).toBe(200);
    expect(h.fake.to("/api/embed").at(-1)!.body.model).toBe("embed-legacy");
    const off = await h.post("/v1/embeddings", { model: "openclaw/off", input: "x" });
    expect(off.status).toBe(503);
    const body: any = await off.json();
    expect(body.error.code).toBe("provider_not_configured");
    expect(body.error.message).toContain("agents.entries.off.memory.search");
  });
});
