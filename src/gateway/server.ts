/**
 * One port, two protocols: `Bun.serve` hands WebSocket upgrades to the native handler (after
 * the proxy, per-IP and Origin checks) and everything else to the Hono app. Loopback binds
 * listen on 127.0.0.1 and, when the host has IPv6, ::1 on the same port.
 */
import type { Server, ServerWebSocket } from "bun";
import { existsSync } from "node:fs";
import type { LoadedConfig } from "../config/load.ts";
import type { GatewaySettings } from "../config/runtime.ts";
import { checkOrigin } from "../auth/origin.ts";
import { hasForwardingHeaders, ipInList, isLoopbackIp, normalizeIp } from "../auth/net.ts";
import type { Logger } from "../log/logger.ts";
import { CloseCodes, Messages } from "../protocol/errors.ts";
import { defaultLimits, GatewayContext, type GatewayLimits } from "./context.ts";
import { createHttpApp, SECURITY_HEADERS, textResponse } from "./http/app.ts";
import { fastProbeRoutes } from "./http/fast-probes.ts";
import { Connection, type SocketData } from "./ws/connection.ts";
import { onMessage } from "./ws/dispatch.ts";

/** JavaScriptCore tier-up threshold scale once listening (1 = JSC's default; see startGateway). */
export const INTERACTIVE_JIT_POLICY = 8;

export interface StartOptions {
  loaded: LoadedConfig;
  settings: GatewaySettings;
  log: Logger;
  limits?: Partial<GatewayLimits>;
  /**
   * EADDRINUSE retries before giving up. The default (4 × 150 ms) rides out a previous instance
   * that is still closing its socket yet fails well within a second when the port is taken.
   */
  bindRetries?: number;
  bindRetryDelayMs?: number;
  /** The file log, for `logs.tail`. */
  logFile?: string;
}

export interface GatewayHandle {
  ctx: GatewayContext;
  port: number;
  /** Addresses actually listening, e.g. ["127.0.0.1", "::1"]. */
  listening: string[];
  /** ws:// URL of the primary address. */
  url: string;
  /** Graceful stop: `shutdown` event (with `restartExpectedMs` for an in-process restart), close 1012. */
  stop(reason?: string, opts?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Set when the listener comes back in this process (config reload restart). */
  restartExpectedMs?: number;
}

export class BindError extends Error {
  override name = "BindError";
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly host: string,
    readonly port: number,
  ) {
    super(message);
  }
}

export function wsUrl(host: string, port: number): string {
  return `ws://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8" },
  });
}

function upgrade(ctx: GatewayContext, req: Request, server: Server<SocketData>): Response | undefined {
  if (ctx.draining) return textResponse(503, "Gateway is shutting down");
  const ip = normalizeIp(server.requestIP(req)?.address ?? "");
  const loopback = isLoopbackIp(ip);
  const forwarded = hasForwardingHeaders(req.headers);
  if (loopback && forwarded && !ipInList(ip, ctx.settings.trustedProxies)) {
    return jsonResponse(403, {
      error: {
        type: "proxy_attribution_required",
        message: Messages.proxyAttributionRequired,
      },
    });
  }
  if (!ctx.admitUnauthenticated(ip)) return textResponse(503, "Too many unauthenticated sockets");
  const origin = req.headers.get("origin") ?? undefined;
  const host = req.headers.get("host");
  const directLocal = loopback && !forwarded;
  const data: SocketData = {
    ip,
    loopback,
    directLocal,
    host,
    origin,
    originVerdict: origin
      ? checkOrigin(origin, host, directLocal, {
          allowedOrigins: ctx.settings.allowedOrigins,
          allowHostHeaderFallback: ctx.settings.allowHostHeaderOriginFallback,
        })
      : undefined,
    headers: ctx.settings.auth.mode === "trusted-proxy" ? req.headers : undefined,
  };
  if (server.upgrade(req, { data })) return undefined;
  ctx.releaseUnauthenticated(ip);
  return textResponse(400, "WebSocket upgrade failed");
}

export async function startGateway(opts: StartOptions): Promise<GatewayHandle> {
  const limits = { ...defaultLimits(), ...opts.limits };
  const ctx = new GatewayContext(opts.settings, opts.loaded, opts.log, limits);
  ctx.logFile = opts.logFile;
  ctx.log.addSecret(opts.settings.auth.token);
  ctx.log.addSecret(opts.settings.auth.password);
  const app = createHttpApp(ctx);

  const websocket = {
    data: {} as SocketData,
    maxPayloadLength: limits.maxPayload,
    backpressureLimit: limits.maxBufferedBytes,
    closeOnBackpressureLimit: false,
    perMessageDeflate: false,
    idleTimeout: 120,
    sendPings: true,
    open(ws: ServerWebSocket<SocketData>) {
      const conn = new Connection(ws, limits);
      conn.countedUnauthenticated = true;
      conn.onSlowConsumer = () => ctx.log.warn(`closing slow consumer ${ws.data.ip} (conn ${conn.connId})`);
      ws.data.conn = conn;
      ctx.connections.add(conn);
      conn.sendUnsequenced("connect.challenge", { nonce: conn.nonce, ts: Date.now() });
      conn.handshakeTimer = setTimeout(() => {
        if (conn.phase !== "ready") conn.close(CloseCodes.NORMAL);
      }, limits.handshakeTimeoutMs);
    },
    message(ws: ServerWebSocket<SocketData>, message: string | Buffer) {
      if (ws.data.conn) onMessage(ctx, ws.data.conn, message);
    },
    drain(ws: ServerWebSocket<SocketData>) {
      ws.data.conn?.drain();
    },
    close(ws: ServerWebSocket<SocketData>) {
      const conn = ws.data.conn;
      if (!conn) return;
      if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
      const wasReady = conn.phase === "ready";
      conn.phase = "closed";
      ctx.connections.delete(conn);
      if (conn.countedUnauthenticated) {
        conn.countedUnauthenticated = false;
        ctx.releaseUnauthenticated(ws.data.ip);
      }
      if (wasReady && !ctx.draining && ctx.presence.disconnect(conn.connId)) ctx.presenceChanged();
    },
  };

  const fetch = (req: Request, server: Server<SocketData>): Response | Promise<Response> | undefined => {
    const upgradeHeader = req.headers.get("upgrade");
    if (upgradeHeader !== null) {
      if (upgradeHeader.toLowerCase() !== "websocket") return textResponse(400, "Bad Request");
      return upgrade(ctx, req, server);
    }
    return app.fetch(req, { server });
  };

  const servers: Server<SocketData>[] = [];
  const listening: string[] = [];
  let port = opts.settings.port;
  const retries = opts.bindRetries ?? 4;
  const retryDelay = opts.bindRetryDelayMs ?? 150;
  const [primary, ...secondary] = opts.settings.hosts;

  // Liveness probes bypass Hono (issue 8, src/gateway/http/fast-probes.ts); the rest goes to fetch.
  const routes = fastProbeRoutes(ctx, fetch);
  const listen = (hostname: string, p: number) =>
    Bun.serve<SocketData>({ hostname, port: p, development: false, reusePort: false, routes, fetch, websocket });

  for (let attempt = 0; ; attempt++) {
    try {
      const server = listen(primary, port);
      servers.push(server);
      listening.push(primary);
      port = server.port ?? port;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" && attempt < retries) {
        await Bun.sleep(retryDelay);
        continue;
      }
      const url = wsUrl(primary, port);
      throw new BindError(
        code === "EADDRINUSE"
          ? `another gateway instance is already listening on ${url} | listen EADDRINUSE: address already in use ${primary}:${port} | EADDRINUSE`
          : `failed to bind gateway socket on ${url}: ${(err as Error).message}`,
        code,
        primary,
        port,
      );
    }
  }
  for (const host of secondary) {
    try {
      servers.push(listen(host, port));
      listening.push(host);
    } catch (err) {
      // ::1 is optional (hosts without IPv6); any other secondary address is required.
      if (host === "::1") ctx.log.debug(`not listening on [::1]:${port}: ${(err as Error).message}`);
      else {
        for (const s of servers) s.stop(true);
        throw new BindError(`failed to bind gateway socket on ${wsUrl(host, port)}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code, host, port);
      }
    }
  }

  // The state database: an existing one opens now (well under a millisecond), so the first
  // health snapshot counts its sessions; a first run creates it (fsyncs) just after startup, or
  // when a request needs it first. Nothing to count yet then. A failure shows in /readyz.
  const dbExists = existsSync(ctx.runtime.dbPath);
  if (dbExists) ctx.runtime.open();
  ctx.health({ fresh: true });
  const openStore = setTimeout(() => {
    if (!dbExists && !ctx.draining && !ctx.runtime.ready) ctx.runtime.open();
  }, 0);
  // Compiled binaries start with JavaScriptCore's tier-up thresholds raised 1000× (scripts/build.ts,
  // JIT_POLICY) so run-once startup code is never JIT-compiled. Listening means interactive: the
  // thresholds drop to INTERACTIVE_JIT_POLICY, so code that runs under load tiers up as usual, a
  // little later, and an idle gateway does not page in the JIT for a handful of requests.
  Bun.unsafe.setJITPolicy(INTERACTIVE_JIT_POLICY);
  const tick = setInterval(() => {
    ctx.broadcast("tick", { ts: Date.now() });
    ctx.refreshHealthIfStale();
  }, limits.tickIntervalMs);

  let stopping: Promise<void> | undefined;
  const stop = (reason: string = Messages.gatewayStopping, stopOpts: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      ctx.draining = true;
      clearInterval(tick);
      clearTimeout(openStore);
      const payload =
        stopOpts.restartExpectedMs === undefined ? { reason } : { reason, restartExpectedMs: stopOpts.restartExpectedMs };
      ctx.broadcast("shutdown", payload);
      for (const conn of [...ctx.connections]) conn.close(CloseCodes.SERVICE_RESTART, Messages.serviceRestart);
      const graceful = Promise.all(servers.map((s) => s.stop()));
      await Promise.race([graceful, Bun.sleep(limits.shutdownGraceMs)]);
      await Promise.all(servers.map((s) => s.stop(true)));
      ctx.runtime.close();
    })();
    return stopping;
  };

  return { ctx, port, listening, url: wsUrl(primary === "0.0.0.0" ? "127.0.0.1" : primary, port), stop };
}
