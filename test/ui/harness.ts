/**
 * The dashboard under test, end to end on loopback: a real gateway started in-process with the
 * parts `openclaw gateway` hosts (and a file log, so `logs.tail` works) whose agents talk to
 * the fake model provider, and our dashboard served by a small Bun.serve static server through
 * `serveUi` on its own origin, which the gateway allows in `gateway.controlUi.allowedOrigins`.
 *
 * The static server can also relay the WebSocket to the gateway with an `X-Forwarded-For`
 * from a LAN address (the gateway trusts the relay as a proxy), which makes the browser a
 * remote client: the way to see the pairing flow without a second machine.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Server, ServerWebSocket } from "bun";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { loadConfig } from "../../src/config/snapshot.ts";
import { gatewayParts } from "../../src/gateway/parts.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { RotatingFileSink } from "../../src/log/file.ts";
import { createLogger, memorySink, type Logger } from "../../src/log/logger.ts";
import { serveUi, type ServeUiOptions } from "../../src/ui/serve.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { aiConfig } from "../helpers/ai.ts";
import { TEST_TOKEN, tempDir } from "../helpers/gateway.ts";
import { writeStateConfig } from "../helpers/state-dir.ts";

export interface DashboardStack {
  fake: FakeUpstream;
  gateway: Gateway;
  log: Logger;
  stateDir: string;
  configPath: string;
  logFile: string;
  /** ws://127.0.0.1:<gateway port> */
  gatewayUrl: string;
  /** http://127.0.0.1:<ui port> (the dashboard's origin) */
  uiOrigin: string;
  /** ws://127.0.0.1:<ui port>/relay: the gateway as seen through a proxy from 192.168.77.20 */
  relayUrl: string;
  /** Connect attempts that went through the relay. */
  relayConnects: number;
  /** `<uiOrigin><path>#token=…&gatewayUrl=…` */
  dashboardUrl(path?: string, opts?: { token?: string; gatewayUrl?: string }): string;
  /** Stop the gateway (as a restart does) and start it again on the same port and state. */
  restartGateway(): Promise<void>;
  stopGateway(): Promise<void>;
  startGatewayAgain(): Promise<void>;
  stop(): Promise<void>;
}

interface RelayData {
  upstream?: WebSocket;
  queue: string[];
}

export async function startDashboardStack(opts: { ui?: ServeUiOptions; config?: (fake: FakeUpstream, uiOrigin: string) => OpenClawConfig } = {}): Promise<DashboardStack> {
  const fake = new FakeUpstream().start();
  const stateDir = tempDir("openclaw-ui-test-");
  const logFile = join(stateDir, "logs", "gateway.log");
  let gatewayPort = 0;
  let relayConnects = 0;

  // The static server first: its origin goes into the gateway's allowedOrigins.
  const ui: Server<RelayData> = Bun.serve<RelayData>({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    fetch: async (req, server) => {
      const url = new URL(req.url);
      if (url.pathname === "/relay") {
        return server.upgrade(req, { data: { queue: [] } }) ? undefined : new Response("upgrade failed", { status: 400 });
      }
      return (await serveUi(req, opts.ui)) ?? new Response("Not Found", { status: 404 });
    },
    websocket: {
      data: {} as RelayData,
      open(ws: ServerWebSocket<RelayData>) {
        relayConnects++;
        const upstream = new WebSocket(`ws://127.0.0.1:${gatewayPort}`, {
          headers: { "X-Forwarded-For": "192.168.77.20", Origin: `http://127.0.0.1:${ui.port}` },
        } as any);
        ws.data.upstream = upstream;
        upstream.addEventListener("open", () => {
          for (const m of ws.data.queue.splice(0)) upstream.send(m);
        });
        upstream.addEventListener("message", (ev) => ws.send(String(ev.data)));
        upstream.addEventListener("close", (ev) => ws.close(ev.code === 1005 ? 1000 : ev.code, ev.reason));
      },
      message(ws: ServerWebSocket<RelayData>, message: string | Buffer) {
        const up = ws.data.upstream;
        if (up?.readyState === WebSocket.OPEN) up.send(String(message));
        else ws.data.queue.push(String(message));
      },
      close(ws: ServerWebSocket<RelayData>) {
        ws.data.upstream?.close();
      },
    },
  });
  const uiOrigin = `http://127.0.0.1:${ui.port}`;

  const base = aiConfig(fake);
  const config: OpenClawConfig = opts.config?.(fake, uiOrigin) ?? {
    ...base,
    gateway: { ...base.gateway, controlUi: { allowedOrigins: [uiOrigin] }, trustedProxies: ["127.0.0.1"] },
    agents: {
      ...base.agents,
      list: [...(base.agents?.list ?? []), { id: "slowpoke", model: "oai/slow" }],
    },
  };
  const configPath = writeStateConfig(stateDir, config);

  let fileSink: RotatingFileSink | undefined;
  const log = createLogger({ level: "debug", sinks: [memorySink()] });
  const start = async (port: number): Promise<Gateway> => {
    const env = { OPENCLAW_STATE_DIR: stateDir };
    const paths = resolvePaths({ env });
    const snapshot = await loadConfig({ paths, env });
    const settings = { ...resolveGatewaySettings(snapshot, { container: false }), port };
    fileSink ??= new RotatingFileSink({ path: logFile });
    fileSink.level = "debug";
    // The parts `openclaw gateway` hosts (the status page calls `channels.status`).
    return Gateway.start({ snapshot, settings, log, logFile, env, reload: false, bindRetries: 20, bindRetryDelayMs: 50, subsystems: gatewayParts() });
  };
  log.addSink({ write: (r) => fileSink?.write(r) });

  let gateway = await start(0);
  gatewayPort = gateway.port;
  let stopped = false;

  const stack: DashboardStack = {
    fake,
    get gateway() {
      return gateway;
    },
    log,
    stateDir,
    configPath,
    logFile,
    gatewayUrl: `ws://127.0.0.1:${gatewayPort}`,
    uiOrigin,
    relayUrl: `ws://127.0.0.1:${ui.port}/relay`,
    get relayConnects() {
      return relayConnects;
    },
    dashboardUrl(path = "/", o = {}) {
      const frag = new URLSearchParams();
      if (o.token !== "") frag.set("token", o.token ?? TEST_TOKEN);
      frag.set("gatewayUrl", o.gatewayUrl ?? `ws://127.0.0.1:${gatewayPort}`);
      return `${uiOrigin}${path}#${frag}`;
    },
    async stopGateway() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
    },
    async startGatewayAgain() {
      gateway = await start(gatewayPort);
      stopped = false;
    },
    async restartGateway() {
      await stack.stopGateway();
      await stack.startGatewayAgain();
    },
    async stop() {
      await stack.stopGateway();
      ui.stop(true);
      await fake.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return stack;
}
