/**
 * The HTTP side of the gateway port: one Hono app, security headers on every response,
 * plain-text 404/405/500 (never an HTML error page), probes first.
 */
import type { Server } from "bun";
import { Hono, type Context } from "hono";
import type { GatewayContext } from "../context.ts";
import type { SocketData } from "../ws/connection.ts";
import { probeRoutes } from "./probes.ts";

export type HttpEnv = {
  Bindings: { server: Server<SocketData> };
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
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    const hsts = ctx.loaded.config.gateway?.http?.securityHeaders?.strictTransportSecurity;
    if (typeof hsts === "string") c.res.headers.set("Strict-Transport-Security", hsts);
  });
  app.route("/", probeRoutes(ctx));
  // OpenAI-compatible API and /tools/invoke (issue 4), imported on first use.
  let api: Promise<Hono<HttpEnv>> | undefined;
  const toApi = async (c: Context<HttpEnv>) => {
    api ??= import("./api.ts").then((m) => m.apiRoutes(ctx));
    return (await api).fetch(c.req.raw, c.env);
  };
  app.all("/v1/*", toApi);
  app.all("/tools/*", toApi);
  app.notFound(() => textResponse(404, "Not Found"));
  app.onError((err) => {
    ctx.log.error(`http handler failed: ${err.stack ?? err}`);
    return textResponse(500, "Internal Server Error");
  });
  return app;
}
