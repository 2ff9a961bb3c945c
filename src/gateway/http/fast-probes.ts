/**
 * `/health` and `/healthz` as native `Bun.serve` routes: the same response the Hono probe routes
 * give (body, Content-Type, Cache-Control, security headers, HSTS when configured; HEAD without
 * a body), without the Hono dispatch and middleware, so liveness checks cost about what a bare
 * `Bun.serve` hello world costs (the benchmark target: ≥ 80 % of its throughput). Only GET and HEAD are
 * routed here; other methods, a WebSocket upgrade on these paths, and every other path fall
 * through to the server's `fetch` (Hono: 405 with Allow, 404, …).
 */
import type { Server } from "bun";
import type { SocketData } from "../ws/connection.ts";
import { SECURITY_HEADERS } from "./reply.ts";
import type { HttpContext } from "./types.ts";

export const LIVE_BODY = '{"ok":true,"status":"live"}';

type Fetch = (req: Request, server: Server<SocketData>) => Response | Promise<Response> | undefined;
type Handler = (req: Request, server: Server<SocketData>) => Response | Promise<Response> | undefined;

export function fastProbeRoutes(ctx: Pick<HttpContext, "snapshot">, fallback: Fetch): Record<string, { GET: Handler; HEAD: Handler }> {
  const base: Record<string, string> = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    ...SECURITY_HEADERS,
  };
  // A prebuilt Headers object: Response copies it natively, where a plain object is walked
  // property by property on every request (about 13 % of this route's throughput). Rebuilt only
  // when the configured HSTS value changes (config reload).
  let hstsFor: string | undefined;
  let headers = new Headers(base);
  const live: Handler = (req, server) => {
    if (req.headers.get("upgrade") !== null) return fallback(req, server);
    // Read per request so a reloaded config takes effect.
    const configured = ctx.snapshot.config.gateway?.http?.securityHeaders?.strictTransportSecurity;
    const hsts = typeof configured === "string" ? configured : undefined;
    if (hsts !== hstsFor) {
      hstsFor = hsts;
      headers = new Headers(hsts === undefined ? base : { ...base, "Strict-Transport-Security": hsts });
    }
    return new Response(req.method === "HEAD" ? null : LIVE_BODY, { headers });
  };
  return {
    "/health": { GET: live, HEAD: live },
    "/healthz": { GET: live, HEAD: live },
  };
}
