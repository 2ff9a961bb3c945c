/**
 * Test harness: an in-process gateway on a free loopback port with its own temp state dir,
 * and a raw WebSocket peer that records every frame and the close.
 */
import { rmSync } from "node:fs";
import { resolvePaths } from "../../src/config/paths.ts";
import { resolveGatewaySettings } from "../../src/config/runtime.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { loadConfig, type CliOverrides } from "../../src/config/snapshot.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import type { GatewayLimits } from "../../src/gateway/limits.ts";
import type { Subsystem } from "../../src/gateway/subsystem.ts";
import { createLogger, memorySink, type LogRecord } from "../../src/log/logger.ts";
import { tempDir, writeStateConfig } from "./state-dir.ts";

/** Re-exported: tests that start a gateway take their other temp dirs from here too. */
export { tempDir };

export const TEST_TOKEN = "test-token-0123456789abcdef";

export interface TestGateway {
  /** The gateway object (bare: no config lifecycle). */
  handle: Gateway;
  url: string;
  port: number;
  token: string;
  stateDir: string;
  logs: LogRecord[];
  stop(): Promise<void>;
}

export async function startTestGateway(
  opts: {
    config?: OpenClawConfig;
    cli?: CliOverrides;
    env?: Record<string, string | undefined>;
    limits?: Partial<GatewayLimits>;
    /** Reuse a state dir (a restart); it is then left in place by stop(). */
    stateDir?: string;
    /** Long-lived parts to host (default none). */
    subsystems?: Subsystem[];
  } = {},
): Promise<TestGateway> {
  const stateDir = opts.stateDir ?? tempDir();
  const config: OpenClawConfig = opts.config ?? {
    gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } },
  };
  writeStateConfig(stateDir, config);
  const env = { OPENCLAW_STATE_DIR: stateDir, ...opts.env };
  const paths = resolvePaths({ env });
  const loaded = await loadConfig({ paths, cli: opts.cli, env });
  // Port 0 (any free port) is not a valid config value, so it is applied after validation.
  const settings = { ...resolveGatewaySettings(loaded, { container: false }), port: 0 };
  const sink = memorySink();
  const log = createLogger({ level: "debug", sinks: [sink] });
  const handle = await Gateway.start({ snapshot: loaded, settings, log, limits: opts.limits, bindRetries: 0, reload: false, env, subsystems: opts.subsystems });
  return {
    handle,
    url: `ws://127.0.0.1:${handle.port}`,
    port: handle.port,
    token: settings.auth.token ?? "",
    stateDir,
    logs: sink.records,
    stop: async () => {
      await handle.stop();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export type Received = { kind: "frame"; data: any; text: string } | { kind: "close"; code: number; reason: string };

/** A WebSocket peer that queues everything it receives; `next()` waits (bounded) for the next item. */
export class RawPeer {
  readonly ws: WebSocket;
  private items: Received[] = [];
  private waiters: Array<(r: Received) => void> = [];
  readonly opened: Promise<void>;
  closeInfo?: { code: number; reason: string };

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, { headers, perMessageDeflate: false });
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve());
      this.ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)));
    });
    this.ws.addEventListener("message", (ev) => {
      const text = String(ev.data);
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
      this.push({ kind: "frame", data, text });
    });
    this.ws.addEventListener("close", (ev) => {
      this.closeInfo = { code: ev.code, reason: ev.reason };
      this.push({ kind: "close", code: ev.code, reason: ev.reason });
    });
  }

  private push(r: Received): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else this.items.push(r);
  }

  next(timeoutMs = 5000): Promise<Received> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`nothing received within ${timeoutMs}ms`));
      }, timeoutMs);
      const waiter = (r: Received) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Next frame (fails on close). */
  async frame(timeoutMs = 5000): Promise<any> {
    const r = await this.next(timeoutMs);
    if (r.kind !== "frame") throw new Error(`expected a frame, got close ${r.code} ${r.reason}`);
    return r.data;
  }

  /** Skip frames until the close arrives. */
  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string; frames: any[] }> {
    const frames: any[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.next(Math.max(1, deadline - Date.now()));
      if (r.kind === "close") return { code: r.code, reason: r.reason, frames };
      frames.push(r.data);
    }
  }

  send(value: unknown): void {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  close(): void {
    try {
      this.ws.close();
    } catch {}
  }
}

export function connectParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { id: "cli", version: "2026.9.6", platform: "linux", mode: "cli", instanceId: "i1" },
    caps: [],
    role: "operator",
    scopes: ["operator.read"],
    auth: { token: TEST_TOKEN },
    ...overrides,
  };
}

/** Open a peer, consume the challenge, send `connect`, return the peer and the connect `res`. */
export async function connectRaw(
  url: string,
  params: Record<string, unknown> = connectParams(),
  headers?: Record<string, string>,
): Promise<{ peer: RawPeer; challenge: any; res: any }> {
  const peer = new RawPeer(url, headers);
  await peer.opened;
  const challenge = await peer.frame();
  peer.send({ type: "req", id: "c1", method: "connect", params });
  const res = await peer.frame(10_000);
  return { peer, challenge, res };
}
