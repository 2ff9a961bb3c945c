/**
 * A WebSocket relay on loopback that forwards to a gateway with `X-Forwarded-For: <clientIp>`:
 * with `gateway.trustedProxies: ["127.0.0.1"]` the gateway sees a remote client at that
 * address, which is how tests exercise remote pairing on a host without a second address.
 */
import type { Server, ServerWebSocket } from "bun";

interface RelayData {
  up?: WebSocket;
  queue: string[];
}

export interface Relay {
  url: string;
  /** Connections relayed so far. */
  readonly connects: number;
  stop(): void;
}

export function startRelay(targetPort: () => number, clientIp = "192.0.2.77", headers: Record<string, string> = {}): Relay {
  let connects = 0;
  const server: Server<RelayData> = Bun.serve<RelayData>({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, s) => (s.upgrade(req, { data: { queue: [] } }) ? undefined : new Response("upgrade required", { status: 426 })),
    websocket: {
      open(ws: ServerWebSocket<RelayData>) {
        connects++;
        const up = new WebSocket(`ws://127.0.0.1:${targetPort()}`, { headers: { "X-Forwarded-For": clientIp, ...headers } } as never);
        ws.data.up = up;
        up.addEventListener("open", () => {
          for (const m of ws.data.queue.splice(0)) up.send(m);
        });
        up.addEventListener("message", (ev) => ws.send(String(ev.data)));
        up.addEventListener("close", (ev) => ws.close(ev.code === 1005 ? 1000 : ev.code, ev.reason));
      },
      message(ws, message) {
        const up = ws.data.up;
        if (up?.readyState === WebSocket.OPEN) up.send(String(message));
        else ws.data.queue.push(String(message));
      },
      close(ws) {
        ws.data.up?.close();
      },
    },
  });
  return {
    url: `ws://127.0.0.1:${server.port}`,
    get connects() {
      return connects;
    },
    stop: () => void server.stop(true),
  };
}
