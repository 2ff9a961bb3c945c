/**
 * The HTTP side of the gateway port: one Hono app, security headers on every response,
 * plain-text 404/405/500 (never an HTML error page), probes first.
 */
import type { Server } from "bun";
import { Hono } from "hono";
import { normalizeIp, isDirectLocal } from "../../auth/net.ts";
import type { GatewayContext } from "../context.ts";
import type { SocketData } from "../ws/connection.ts";
import { probeRoutes } from "./probes.ts";
import { openAiRoutes } from "./openai.ts";
import { responsesRoutes } from "./responses.ts";
import { embeddingsRoutes } from "./embeddings.ts";
import { toolsRoutes } from "./tools.ts";

export type HttpEnv = {
  Bindings: { server: Server<SocketData> };
  Variables: { ip: string; directLocal: boolean };
};

export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Permissions-Policy": "camera=(), microphone=(self), geolocation=()",
};

export function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

export function createHttpApp(ctx: GatewayContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use(async (c, next) => {
    const ip = normalizeIp(c.env.server.requestIP(c.req.raw)?.address ?? "");
    c.set("ip", ip);
    c.set("directLocal", isDirectLocal(ip, c.req.raw.headers));
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    const hsts = ctx.loaded.config.gateway?.http?.securityHeaders?.strictTransportSecurity;
    if (typeof hsts === "string") c.res.headers.set("Strict-Transport-Security", hsts);
  });
  app.route("/", probeRoutes(ctx));
  // Upstream's order: /v1/models* → /v1/embeddings → /tools/invoke → /v1/responses → /v1/chat/completions.
  app.route("/", openAiRoutes(ctx));
  app.route("/", embeddingsRoutes(ctx));
  app.route("/", toolsRoutes(ctx));
  app.route("/", responsesRoutes(ctx));
  app.notFound(() => textResponse(404, "Not Found"));
  app.onError((err) => {
    ctx.log.error(`http handler failed: ${err.stack ?? err}`);
    return textResponse(500, "Internal Server Error");
  });
  return app;
}
