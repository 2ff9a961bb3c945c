/**
 * The WebSocket side of the listener: the upgrade (gate, per-IP cap, Origin verdict) and the
 * native handlers (open → challenge, message → dispatch, drain, close → presence).
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { checkOrigin } from "../../auth/origin.ts";
import { isLoopbackIp, normalizeIp } from "../../auth/net.ts";
import { CloseCodes, Messages } from "../../protocol/errors.ts";
import { attribute } from "../gate.ts";
import { jsonResponse, textResponse } from "../http/reply.ts";
import { Connection, type SocketData } from "./connection.ts";
import { onMessage } from "./dispatch.ts";
import type { WsHost } from "./types.ts";

/** Upgrade `req` to a WebSocket (undefined) or answer why not. */
export function upgradeWebSocket(host: WsHost, req: Request, server: Server<SocketData>): Response | undefined {
  if (host.draining) return textResponse(503, "Gateway is shutting down");
  const socketIp = normalizeIp(server.requestIP(req)?.address ?? "");
  const who = attribute(socketIp, req.headers, host.settings.trustedProxies, host.snapshot.config.gateway?.allowRealIpFallback === true);
  if (who.clientIp === undefined && isLoopbackIp(socketIp)) {
    // A local reverse proxy that is not in gateway.trustedProxies: every client would look local.
    return jsonResponse(403, { error: { type: "proxy_attribution_required", message: Messages.proxyAttributionRequired } });
  }
  const ip = who.clientIp ?? socketIp;
  if (!host.admitUnauthenticated(ip)) return textResponse(503, "Too many unauthenticated sockets");
  const origin = req.headers.get("origin") ?? undefined;
  const reqHost = req.headers.get("host");
  const data: SocketData = {
    ip,
    socketIp,
    loopback: isLoopbackIp(ip),
    directLocal: who.directLocal,
    forwarded: who.forwarded,
    host: reqHost,
    origin,
    originVerdict: origin
      ? checkOrigin(origin, reqHost, who.directLocal, {
          allowedOrigins: host.settings.allowedOrigins,
          allowHostHeaderFallback: host.settings.allowHostHeaderOriginFallback,
        })
      : undefined,
    headers: host.settings.auth.mode === "trusted-proxy" ? req.headers : undefined,
  };
  if (server.upgrade(req, { data })) return undefined;
  host.releaseUnauthenticated(ip);
  return textResponse(400, "WebSocket upgrade failed");
}

/** Bun's native WebSocket handlers, bound to the gateway (they outlive any one listener). */
export function webSocketHandlers(host: WsHost): WebSocketHandler<SocketData> & { data: SocketData } {
  const limits = host.limits;
  return {
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
      conn.onSlowConsumer = () => host.log.warn(`closing slow consumer ${ws.data.ip} (conn ${conn.connId})`);
      ws.data.conn = conn;
      host.connections.add(conn);
      conn.sendUnsequenced("connect.challenge", { nonce: conn.nonce, ts: Date.now() });
      conn.handshakeTimer = setTimeout(() => {
        if (conn.phase !== "ready") conn.close(CloseCodes.NORMAL);
      }, limits.handshakeTimeoutMs);
    },
    message(ws: ServerWebSocket<SocketData>, message: string | Buffer) {
      if (ws.data.conn) onMessage(host, ws.data.conn, message);
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
      conn.markClosed();
      host.connections.delete(conn);
      if (conn.countedUnauthenticated) {
        conn.countedUnauthenticated = false;
        host.releaseUnauthenticated(ws.data.ip);
      }
      // Drop what the socket pinned (request headers, the connection and its queue) now: a
      // closed ServerWebSocket can be referenced by Bun for a while after this handler.
      ws.data.headers = undefined;
      ws.data.conn = undefined;
      // The gateway outlives its listeners: a socket closed by a restart leaves presence too,
      // but only a live listener tells the remaining readers.
      if (wasReady && host.presence.disconnect(conn.connId) && !host.draining) host.presenceChanged();
      host.onClosed();
    },
  };
}
