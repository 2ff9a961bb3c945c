/**
 * `POST /v1/embeddings`: the agent (from `model`) picks the embedding model
 * (`x-openclaw-model` for owners › the agent's memory search model, src/agents/embedding.ts).
 * `encoding_format: "base64"` returns little-endian float32 bytes, as the OpenAI SDKs expect.
 */
import { Hono, type Context } from "hono";
import { embed } from "../../providers/call.ts";
import { embeddingModelFor, embeddingNotConfigured } from "../../agents/embedding.ts";
import { providerConfig } from "../../providers/index.ts";
import { z } from "../../zod.ts";
import { modelOverride, selectAgent } from "./agent-request.ts";
import { BODY_LIMITS } from "./common.ts";
import { bodyOf, endpoint, jsonBody, noIdleTimeout, routeAll } from "./middleware.ts";
import { invalidRequest, json } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";
import { opt, PositiveInt } from "./openai.ts";

export const MAX_INPUTS = 128;
export const MAX_INPUT_CHARS = 8192;
export const MAX_TOTAL_CHARS = 65_536;

const EmbeddingsRequest = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string())]),
  encoding_format: opt(z.enum(["float", "base64"])),
  dimensions: opt(PositiveInt),
  user: opt(z.string()),
});

export function floatsToBase64(v: number[]): string {
  const buf = new Float32Array(v);
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("base64");
}

async function embeddings(ctx: HttpContext, c: Context<HttpEnv>): Promise<Response> {
  const req = c.req.raw;
  const principal = c.var.principal;
  const body = bodyOf(c, EmbeddingsRequest);
  const inputs = typeof body.input === "string" ? [body.input] : body.input;
  if (inputs.length === 0 || inputs.length > MAX_INPUTS) return invalidRequest(`\`input\` must hold 1 to ${MAX_INPUTS} strings.`);
  let total = 0;
  for (const [i, text] of inputs.entries()) {
    if (text.length === 0 || text.length > MAX_INPUT_CHARS) return invalidRequest(`\`input[${i}]\` must be 1 to ${MAX_INPUT_CHARS} characters.`);
    total += text.length;
  }
  if (total > MAX_TOTAL_CHARS) return invalidRequest(`\`input\` exceeds ${MAX_TOTAL_CHARS} characters in total.`);

  const runtime = ctx.agents;
  const agent = selectAgent(runtime, body.model, req.headers);
  const cfg = runtime.config;
  const configured = embeddingModelFor(cfg, agent.id);
  const override = modelOverride(runtime, agent, req.headers, principal);
  if (override && configured && override.provider !== configured.provider) {
    return invalidRequest("This agent does not allow that embedding provider on `/v1/embeddings`.");
  }
  const ref = override ?? configured;
  if (!ref) throw embeddingNotConfigured(agent.id);
  const provider = providerConfig(cfg, ref.provider, runtime.env);
  const result = await embed({ provider, model: ref.model, input: inputs, dimensions: body.dimensions ?? configured?.dimensions }, { signal: req.signal });
  const base64 = body.encoding_format === "base64";
  return json(200, {
    object: "list",
    data: result.vectors.map((v, index) => ({ object: "embedding", index, embedding: base64 ? floatsToBase64(v) : v })),
    model: body.model,
    usage: { prompt_tokens: result.usage.prompt, total_tokens: result.usage.total },
  });
}

export function embeddingsRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  routeAll(
    app,
    "/v1/embeddings",
    ...endpoint(ctx, { name: "embeddings", methods: ["POST"], scope: "operator.write" }),
    noIdleTimeout(),
    jsonBody(EmbeddingsRequest, BODY_LIMITS.embeddings),
    (c) => embeddings(ctx, c),
  );
  return app;
}
