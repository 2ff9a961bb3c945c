/** Gateway + fake upstream wiring for the HTTP API and agent-run tests. */
import OpenAI from "openai";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "./gateway.ts";

const FAST_RETRY = { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10, budgetMs: 1000 };

/**
 * Providers `oai` (openai-completions), `resp` (openai-responses), `anth` (anthropic-messages)
 * and `oll` (ollama) on the fake; agents `main` (default, oai/echo), `ops` (anth/echo),
 * `fb` (oai/status-500 → anth/echo), `resp` (resp/echo), `oll` (oll/echo).
 */
export function aiConfig(fake: FakeUpstream, over: Partial<OpenClawConfig> & { gateway?: OpenClawConfig["gateway"] } = {}): OpenClawConfig {
  const base: OpenClawConfig = {
    gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } },
    models: {
      providers: {
        oai: { baseUrl: `${fake.url}/v1`, api: "openai-completions", timeoutSeconds: 1, retry: FAST_RETRY, models: [{ id: "echo" }] } as any,
        resp: { baseUrl: `${fake.url}/v1`, api: "openai-responses", timeoutSeconds: 1, retry: FAST_RETRY, models: [{ id: "echo" }] } as any,
        anth: { baseUrl: fake.url, apiKey: "sk-anth", api: "anthropic-messages", timeoutSeconds: 1, retry: FAST_RETRY } as any,
        oll: { baseUrl: fake.url, api: "ollama", timeoutSeconds: 1, retry: FAST_RETRY } as any,
      },
    },
    agents: {
      defaults: { model: "oai/echo" },
      list: [
        { id: "main", default: true, systemPrompt: "You are main." },
        { id: "ops", model: "anth/echo", memory: { search: { provider: "oll", model: "embed" } } } as any,
        { id: "fb", model: { primary: "oai/status-500", fallbacks: ["anth/echo"] } },
        { id: "resp", model: "resp/echo" },
        { id: "oll", model: "oll/echo" },
      ],
    },
    // The original's memory search keys pick the embedding model (src/agents/embedding.ts).
    memory: { search: { provider: "oai", model: "embed" } },
  } as OpenClawConfig;
  return { ...base, ...over, gateway: { ...base.gateway, ...over.gateway } };
}

export interface AiHarness {
  fake: FakeUpstream;
  gw: TestGateway;
  base: string;
  client: OpenAI;
  headers: Record<string, string>;
  /** POST a JSON body (a string is sent as is) with the harness's auth headers plus `headers`. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export async function startAiGateway(
  opts: { config?: (fake: FakeUpstream) => OpenClawConfig; fake?: FakeUpstream; stateDir?: string } = {},
): Promise<AiHarness> {
  const fake = opts.fake ?? new FakeUpstream().start();
  const gw = await startTestGateway({ config: (opts.config ?? aiConfig)(fake), stateDir: opts.stateDir });
  const base = `http://127.0.0.1:${gw.port}`;
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: TEST_TOKEN, maxRetries: 0, timeout: 10_000 });
  const authHeaders = { Authorization: `Bearer ${TEST_TOKEN}`, "Content-Type": "application/json" };
  return {
    fake,
    gw,
    base,
    client,
    headers: authHeaders,
    post: (path, body, headers = {}) =>
      fetch(`${base}${path}`, { method: "POST", headers: { ...authHeaders, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) }),
    stop: async () => {
      await gw.stop();
      if (!opts.fake) await fake.stop();
    },
  };
}

/** Parse an SSE body into `data:` payloads (JSON, or the literal `[DONE]`) with their event names. */
export function parseSse(text: string): Array<{ event?: string; data: any }> {
  const out: Array<{ event?: string; data: any }> = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    const raw = data.join("\n");
    out.push({ event, data: raw === "[DONE]" ? "[DONE]" : JSON.parse(raw) });
  }
  return out;
}
