/**
 * The API surfaces (`/v1/*`, `/tools/invoke`) as one router, loaded on the first API request so
 * that gateway startup does not pay for them. Upstream's order: /v1/models* → /v1/embeddings →
 * /tools/invoke → /v1/responses → /v1/chat/completions.
 */
import { Hono } from "hono";
import { embeddingsRoutes } from "./embeddings.ts";
import { openAiRoutes } from "./openai.ts";
import { responsesRoutes } from "./responses.ts";
import { toolsRoutes } from "./tools.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

export function apiRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.route("/", openAiRoutes(ctx));
  app.route("/", embeddingsRoutes(ctx));
  app.route("/", toolsRoutes(ctx));
  app.route("/", responsesRoutes(ctx));
  return app;
}
