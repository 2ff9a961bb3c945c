/**
 * The listener: `Bun.serve` on every bind host, one port, two protocols (the native WebSocket
 * handlers and the HTTP fetch). It is the replaceable part of the gateway: an in-process
 * restart stops one listener and binds another, while the gateway object (and everything it
 * owns) stays. Loopback binds listen on 127.0.0.1 and, when the host has IPv6, ::1. With
 * `gateway.tls` every address serves TLS (https:// and wss://); there is no plaintext side.
 */
import type { Server, WebSocketHandler } from "bun";
import type { Logger } from "../log/logger.ts";
import type { SocketData } from "./ws/connection.ts";

type Fetch = (req: Request, server: Server<SocketData>) => Response | Promise<Response> | undefined;
type Routes = Record<string, { GET: Fetch; HEAD: Fetch }>;

export interface ListenOptions {
  hosts: string[];
  port: number;
  fetch: Fetch;
  routes: Routes;
  websocket: WebSocketHandler<SocketData> & { data: SocketData };
  log: Logger;
  /** PEM material: every bind serves TLS only. */
  tls?: { cert: string; key: string; ca?: string };
  /**
   * EADDRINUSE retries before giving up. The default (4 × 150 ms) rides out a previous instance
   * that is still closing its socket yet fails well within a second when the port is taken.
   */
  retries?: number;
  retryDelayMs?: number;
}

export interface Listener {
  port: number;
  /** Addresses actually listening, e.g. ["127.0.0.1", "::1"]. */
  listening: string[];
  /** ws:// (wss:// with TLS) URL of the primary address (a wildcard bind is dialled on 127.0.0.1). */
  url: string;
  /** Serving TLS. */
  secure: boolean;
  /** Stop accepting; in-flight requests get `graceMs`, then everything is closed. */
  stop(graceMs: number): Promise<void>;
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

export function wsUrl(host: string, port: number, secure = false): string {
  return `${secure ? "wss" : "ws"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function listen(opts: ListenOptions): Promise<Listener> {
  const servers: Server<SocketData>[] = [];
  const listening: string[] = [];
  let port = opts.port;
  const retries = opts.retries ?? 4;
  const retryDelay = opts.retryDelayMs ?? 150;
  const [primary, ...secondary] = opts.hosts;
  const secure = opts.tls !== undefined;
  const tls = opts.tls ? { cert: opts.tls.cert, key: opts.tls.key, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}) } : undefined;
  const serve = (hostname: string, p: number) =>
    Bun.serve<SocketData>({
      hostname,
      port: p,
      development: false,
      reusePort: false,
      routes: opts.routes,
      fetch: opts.fetch,
      websocket: opts.websocket,
      ...(tls ? { tls } : {}),
    });

  for (let attempt = 0; ; attempt++) {
    try {
      const server = serve(primary, port);
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
      const url = wsUrl(primary, port, secure);
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
      servers.push(serve(host, port));
      listening.push(host);
    } catch (err) {
      // ::1 is optional (hosts without IPv6); any other secondary address is required.
      if (host === "::1") opts.log.debug(`not listening on [::1]:${port}: ${(err as Error).message}`);
      else {
        for (const s of servers) s.stop(true);
        throw new BindError(`failed to bind gateway socket on ${wsUrl(host, port, secure)}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code, host, port);
      }
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    port,
    listening,
    url: wsUrl(primary === "0.0.0.0" ? "127.0.0.1" : primary, port, secure),
    secure,
    stop(graceMs) {
      stopping ??= (async () => {
        const graceful = Promise.all(servers.map((s) => s.stop()));
        await Promise.race([graceful, Bun.sleep(graceMs)]);
        await Promise.all(servers.map((s) => s.stop(true)));
      })();
      return stopping;
    },
  };
}
