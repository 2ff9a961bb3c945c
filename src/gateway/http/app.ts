/**
 * The HTTP side of the gateway port: one Hono app. Security headers go on every response;
 * probes come first, then the OpenAI-compatible API (loaded on its first request), then the
 * routers other parts of the gateway mount; 404/405/500 are plain text (never an HTML page),
 * except on API routes, whose errors are OpenAI-style JSON. Every error thrown by a route ends
 * in the one `onError` below.
 */
import { Hono, type Context, type ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { StoreUnavailableError } from "../../agents/runtime.ts";
import { normalizeIp } from "../../auth/net.ts";
import { ProviderError } from "../../providers/errors.ts";
import { attribute } from "../gate.ts";
import type { HttpIngress } from "../subsystem.ts";
import { providerFailure } from "./common.ts";
import { probeRoutes } from "./probes.ts";
import { oaiError, SECURITY_HEADERS, textResponse } from "./reply.ts";
import type { HttpContext, HttpEnv, HttpRouter } from "./types.ts";

export { SECURITY_HEADERS, textResponse } from "./reply.ts";
export type { HttpEnv } from "./types.ts";

/** The one error handler of every router on the port. */
export function errorHandler(ctx: HttpContext): ErrorHandler<HttpEnv> {
  return (err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    const api = c.get("api") === true;
    if (api && err instanceof StoreUnavailableError) return oaiError(503, "api_error", err.message, "state_unavailable");
    if (api && err instanceof ProviderError) return providerFailure(err);
    ctx.log.error(`${c.req.method} ${c.req.path} failed: ${err.stack ?? err}`);
    return api ? oaiError(500, "api_error", "internal error") : textResponse(500, "Internal Server Error");
  };
}

/**
 * A sub-app (built on first use when given as a function), answered through its own `fetch`
 * with the gateway's error and not-found handlers.
 */
function mount(ctx: HttpContext, load: HttpRouter["app"]): (c: Context<HttpEnv>) => Promise<Response> {
  let app: Promise<Hono<HttpEnv>> | undefined;
  return async (c) => {
    app ??= Promise.resolve()
      .then(() => (typeof load === "function" ? load(ctx) : load))
      .then((sub) => sub.notFound(() => textResponse(404, "Not Found")).onError(errorHandler(ctx)));
    return (await app).fetch(c.req.raw, c.env);
  };
}

export function createHttpApp(ctx: HttpContext, routers: readonly HttpRouter[] = [], ingress: readonly HttpIngress[] = []): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use(async (c, next) => {
    await next();
    // A surface with its own policy (the Control UI) keeps it; everything else gets the defaults.
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!c.res.headers.has(k)) c.res.headers.set(k, v);
    const hsts = ctx.snapshot.config.gateway?.http?.securityHeaders?.strictTransportSecurity;
    if (typeof hsts === "string") c.res.headers.set("Strict-Transport-Security", hsts);
  });
  if (ingress.length) {
    // Endpoints with their own credentials on a configurable path (hooks) answer before any route.
    app.use(async (c, next) => {
      const req = c.req.raw;
      const socketIp = normalizeIp(c.env?.server?.requestIP(req)?.address ?? "");
      const who = attribute(socketIp, req.headers, ctx.settings.trustedProxies, ctx.snapshot.config.gateway?.allowRealIpFallback === true);
      // Unattributable forwarding headers: count the proxy's own address, never a header value.
      const clientIp = who.clientIp ?? socketIp;
      for (const handle of ingress) {
        const res = await handle(req, { clientIp });
        if (res) return res;
      }
      await next();
    });
  }
  app.route("/", probeRoutes(ctx));
  // OpenAI-compatible API and /tools/invoke, imported on first use (startup time and memory).
  const api = mount(ctx, () => import("./api.ts").then((m) => m.apiRoutes(ctx)));
  app.all("/v1/*", api);
  app.all("/tools/*", api);
  // Fallback routers (the Control UI's page routes) go last, whatever the registration order.
  for (const router of [...routers.filter((r) => !r.fallback), ...routers.filter((r) => r.fallback)]) {
    const handler = mount(ctx, router.app);
    const prefix = router.prefix.replace(/\/+$/, "");
    app.all(prefix || "/", handler);
    app.all(`${prefix}/*`, handler);
  }
  app.notFound(() => textResponse(404, "Not Found"));
  app.onError(errorHandler(ctx));
  return app;
}
