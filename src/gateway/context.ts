/**
 * Shared state of one running gateway: settings, connections, presence, the health cache,
 * state versions, the auth limiter, and broadcast.
 */
import type { LoadedConfig } from "../config/load.ts";
import type { GatewaySettings } from "../config/runtime.ts";
import { FailedAuthLimiter } from "../auth/rate-limit.ts";
import { AgentRuntime } from "../agents/runtime.ts";
import type { Logger } from "../log/logger.ts";
import { encodeEvent, type EncodedEvent } from "../protocol/frames.ts";
import { hasScope, type Scope } from "../protocol/scopes.ts";
import { PresenceStore } from "./presence.ts";
import type { Connection } from "./ws/connection.ts";
import { ControlPlaneWriteLimiter, type ConfigLifecycleHooks, type SystemEvent } from "./config-hooks.ts";
import { buildHealth, type HealthSnapshot } from "./methods/health.ts";
import { buildRegistry, type MethodDef } from "./methods/index.ts";

export interface GatewayLimits {
  /** Post-hello max frame size (policy.maxPayload). */
  maxPayload: number;
  /** Per-socket send budget (policy.maxBufferedBytes). */
  maxBufferedBytes: number;
  tickIntervalMs: number;
  /** Max frame size before hello. */
  preauthMaxBytes: number;
  handshakeTimeoutMs: number;
  maxPendingHandshakeFrames: number;
  maxUnauthenticatedPerIp: number;
  /** `health` answers from cache while younger than this. */
  healthCacheMs: number;
  /** Grace between the shutdown event and forced termination. */
  shutdownGraceMs: number;
}

export function defaultLimits(env: Record<string, string | undefined> = process.env): GatewayLimits {
  const handshake = Number(env.OPENCLAW_HANDSHAKE_TIMEOUT_MS);
  return {
    maxPayload: 26_214_400,
    maxBufferedBytes: 52_428_800,
    tickIntervalMs: 30_000,
    preauthMaxBytes: 65_536,
    handshakeTimeoutMs: Number.isFinite(handshake) && handshake > 0 ? handshake : 15_000,
    maxPendingHandshakeFrames: 15,
    maxUnauthenticatedPerIp: 32,
    healthCacheMs: 60_000,
    shutdownGraceMs: 1_000,
  };
}

export interface BroadcastOptions {
  /** Only sockets holding this scope receive it (nodes get only ungated events). */
  scope?: Scope;
  droppable?: boolean;
  withStateVersion?: boolean;
}

export class GatewayContext {
  readonly bootId = crypto.randomUUID();
  readonly instanceId = crypto.randomUUID();
  readonly startedAt = Date.now();
  readonly connections = new Set<Connection>();
  readonly presence: PresenceStore;
  readonly limiter: FailedAuthLimiter;
  readonly stateVersion = { presence: 1, health: 1 };
  readonly methods: Map<string, MethodDef<any>> = buildRegistry();
  /** Sockets per client IP that have not finished the handshake. */
  readonly unauthenticatedByIp = new Map<string, number>();
  draining = false;
  /** The file log `logs.tail` reads (undefined when file logging is off). */
  logFile?: string;
  /** Agents, sessions store and runs (issue 4). The database is opened by startGateway. */
  readonly runtime: AgentRuntime;
  private healthCache?: { value: HealthSnapshot; at: number };

  // --- Config lifecycle (src/gateway/lifecycle.ts) -------------------------------------------
  /** Reload hooks; absent when the server runs without the lifecycle (bare startGateway). */
  lifecycle?: ConfigLifecycleHooks;
  /** Operator system events (`status.queuedSystemEvents`); the lifecycle keeps them across restarts. */
  systemEvents: SystemEvent[] = [];
  /** 30 per 60 s per method per client for control-plane writes. */
  writeLimiter = new ControlPlaneWriteLimiter();
  private lastConfigChangedHash?: string | null;

  /** Broadcast `config.changed {path, hash, ts}` (read scope, droppable) once per file hash. */
  configChanged(hash: string | null): void {
    if (hash === this.lastConfigChangedHash) return;
    this.lastConfigChangedHash = hash;
    this.broadcast("config.changed", { path: this.loaded.paths.configPath, hash, ts: Date.now() }, { scope: "operator.read", droppable: true });
  }

  constructor(
    public settings: GatewaySettings,
    public loaded: LoadedConfig,
    readonly log: Logger,
    readonly limits: GatewayLimits,
  ) {
    this.presence = new PresenceStore(this.instanceId);
    this.limiter = new FailedAuthLimiter(settings.auth.rateLimit);
    this.runtime = new AgentRuntime({
      stateDir: loaded.paths.stateDir,
      config: () => this.loaded.config,
      log: log.child("agents"),
      emit: (event, payload) => this.broadcast(event, payload, { scope: "operator.read" }),
    });
  }

  /** Count a not-yet-authenticated socket for `ip`; false when the per-IP cap is reached. */
  admitUnauthenticated(ip: string): boolean {
    const n = this.unauthenticatedByIp.get(ip) ?? 0;
    if (n >= this.limits.maxUnauthenticatedPerIp) return false;
    this.unauthenticatedByIp.set(ip, n + 1);
    return true;
  }

  releaseUnauthenticated(ip: string): void {
    const n = (this.unauthenticatedByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.unauthenticatedByIp.delete(ip);
    else this.unauthenticatedByIp.set(ip, n);
  }

  /** The socket finished its handshake. */
  onAuthenticated(conn: Connection): void {
    if (conn.countedUnauthenticated) {
      conn.countedUnauthenticated = false;
      this.releaseUnauthenticated(conn.data.ip);
    }
  }

  uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Send to every ready socket (that holds `opts.scope`); the frame is encoded once, on the first recipient. */
  broadcast(event: string, payload: unknown, opts: BroadcastOptions = {}): void {
    let frame: EncodedEvent | undefined;
    for (const conn of this.connections) {
      if (conn.phase !== "ready" || conn.isClosing) continue;
      if (opts.scope && (conn.role === "node" || !hasScope(conn.scopes, opts.scope))) continue;
      frame ??= encodeEvent(event, payload, opts.withStateVersion ? this.stateVersion : undefined);
      conn.sendEvent(frame, opts.droppable);
    }
  }

  presenceChanged(): void {
    this.stateVersion.presence++;
    this.broadcast("presence", { presence: this.presence.list() }, { scope: "operator.read", withStateVersion: true });
  }

  /** Cached health, or a fresh snapshot (which bumps stateVersion.health and is broadcast). */
  health(opts: { fresh?: boolean } = {}): HealthSnapshot {
    const now = Date.now();
    if (!opts.fresh && this.healthCache && now - this.healthCache.at < this.limits.healthCacheMs) {
      return this.healthCache.value;
    }
    const started = performance.now();
    const value = buildHealth(this, now);
    value.durationMs = Math.round(performance.now() - started);
    const first = !this.healthCache;
    this.healthCache = { value, at: now };
    if (!first) {
      this.stateVersion.health++;
      this.broadcast("health", value, { withStateVersion: true });
    }
    return value;
  }

  cachedHealth(): HealthSnapshot | Record<string, never> {
    return this.healthCache?.value ?? {};
  }

  /** Called on every tick: keep the health snapshot at most `healthCacheMs` old. */
  refreshHealthIfStale(): void {
    if (!this.healthCache || Date.now() - this.healthCache.at >= this.limits.healthCacheMs) this.health({ fresh: true });
  }
}
