/**
 * Unauthenticated probes: /health /healthz (liveness), /ready /readyz (readiness),
 * /startup /startupz. Local-direct or authenticated callers also get details.
 */
import { Hono, type Context } from "hono";
import { isDirectLocal, normalizeIp } from "../../auth/net.ts";
import { bearerFrom, checkBearer } from "../../auth/shared-secret.ts";
import { VERSION } from "../../version.ts";
import { checkSecret } from "../gate.ts";
import { textResponse } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" };

function json(status: number, body: unknown, method: string): Response {
  return new Response(method === "HEAD" ? null : JSON.stringify(body), { status, headers: JSON_HEADERS });
}

/**
 * Details go to local-direct callers and to callers presenting the gateway secret (through the
 * same gate as the API: lockout, and a wrong secret answered after the slowdown).
 */
async function maySeeDetails(ctx: HttpContext, c: Context<HttpEnv>): Promise<boolean> {
  const ip = normalizeIp(c.env.server.requestIP(c.req.raw)?.address ?? "");
  if (isDirectLocal(ip, c.req.raw.headers)) return true;
  const bearer = bearerFrom(c.req.header("authorization"));
  if (!bearer) return false;
  const verdict = await checkSecret(ctx, { key: ip, exempt: false }, () => checkBearer(ctx.settings.auth, bearer));
  return verdict.ok;
}

export function probeRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const live = (c: Context<HttpEnv>) => json(200, { ok: true, status: "live" }, c.req.method);
  const ready = async (c: Context<HttpEnv>) => {
    const failing = ctx.draining ? ["gateway-draining"] : [];
    if (ctx.agents.storeError !== undefined) failing.push("state-database");
    const isReady = failing.length === 0;
    const body = (await maySeeDetails(ctx, c)) ? { ready: isReady, failing, uptimeMs: ctx.uptimeMs() } : { ready: isReady };
    return json(isReady ? 200 : 503, body, c.req.method);
  };
  const startup = async (c: Context<HttpEnv>) => {
    const details = await maySeeDetails(ctx, c);
    if (ctx.draining) {
      return json(503, details ? { ok: false, status: "draining", pendingReason: "shutdown" } : { ok: false, status: "draining" }, c.req.method);
    }
    const body = details ? { ok: true, status: "started", version: VERSION, uptimeMs: ctx.uptimeMs() } : { ok: true, status: "started" };
    return json(200, body, c.req.method);
  };
  const routes: Array<[string, (c: Context<HttpEnv>) => Response | Promise<Response>]> = [
    ["/health", live],
    ["/healthz", live],
    ["/ready", ready],
    ["/readyz", ready],
    ["/startup", startup],
    ["/startupz", startup],
  ];
  for (const [path, handler] of routes) {
    app.on(["GET", "HEAD"], path, handler);
    app.all(path, () => textResponse(405, "Method Not Allowed", { Allow: "GET, HEAD" }));
  }
  return app;
}
