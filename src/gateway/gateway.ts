/**
 * The gateway object: the composition root of the long-running process.
 *
 * It owns everything that must outlive a listener: the config snapshot and settings, the
 * failed-auth limiter, the control-plane write limiter, presence, the health cache, the agent
 * runtime (sessions store and in-flight runs), operator system events, the method registry,
 * the HTTP app and the subsystems (see subsystem.ts). The listener (listener.ts: `Bun.serve`
 * on each bind host) is a replaceable part: an in-process restart (a port or bind change in
 * hybrid reload mode) stops it and binds a new one; nothing else is rebuilt, so an auth lockout,
 * the write budget and an agent run in flight all survive it.
 *
 * Parts see the gateway through narrow interfaces, never this class: methods get a
 * MethodContext (methods/types.ts), HTTP routes an HttpContext (http/types.ts), the WebSocket
 * layer a WsHost (ws/types.ts), subsystems a SubsystemHost, the config lifecycle a ReloadHost.
 */
import type { Server } from "bun";
import { existsSync } from "node:fs";
import { AgentRuntime } from "../agents/runtime.ts";
import { FailedAuthLimiter } from "../auth/rate-limit.ts";
import type { RecoveryInfo } from "../config/last-good.ts";
import type { Env } from "../config/paths.ts";
import type { AuthSettings, GatewaySettings } from "../config/runtime.ts";
import { loadSnapshot, snapshotHash, type CliOverrides, type ConfigSnapshot } from "../config/snapshot.ts";
import { unsupportedMessage } from "../config/support.ts";
import type { Logger } from "../log/logger.ts";
import { encodeEvent, type EncodedEvent } from "../protocol/frames.ts";
import { CloseCodes, Messages } from "../protocol/errors.ts";
import { hasScope } from "../protocol/scopes.ts";
import { isLoopbackIp } from "../auth/net.ts";
import type { GatewayTlsMaterial } from "../auth/tls.ts";
import { ControlPlaneWriteLimiter, type ConfigLifecycleHooks, type SystemEvent } from "./config-hooks.ts";
import { fastProbeRoutes } from "./http/fast-probes.ts";
import { AUTH_CHANGED_REASON, ConfigLifecycle, RESTART_REASON, type LifecycleOptions, type ReloadHost } from "./lifecycle.ts";
import { defaultLimits, type GatewayLimits } from "./limits.ts";
import { listen, type Listener } from "./listener.ts";
import { QuietCollector } from "./memory.ts";
import { DevicePairing } from "./devices.ts";
import { buildHealth } from "./methods/health.ts";
import { buildRegistry } from "./methods/index.ts";
import type { HealthSnapshot, MethodContext, MethodDef } from "./methods/types.ts";
import { PresenceStore } from "./presence.ts";
import { combineReports, type BroadcastOptions, type Subsystem, type SubsystemHost, type SubsystemReports } from "./subsystem.ts";
import type { Connection, SocketData } from "./ws/connection.ts";
import { ADVERTISED_EVENTS } from "./ws/handshake.ts";
import { SendBudget } from "./ws/budget.ts";
import { upgradeWebSocket, webSocketHandlers } from "./ws/socket.ts";
import type { WsHost } from "./ws/types.ts";
import { textResponse } from "./http/reply.ts";
import { setLazyBuilder } from "../zod.ts";
import { INTERACTIVE_JIT_POLICY, STARTUP_JIT_POLICY } from "./jit-policy.ts";

export { BindError, wsUrl } from "./listener.ts";
export type { BroadcastOptions } from "./subsystem.ts";

export interface GatewayOptions {
  snapshot: ConfigSnapshot;
  settings: GatewaySettings;
  log: Logger;
  /** The CLI layer, re-applied on every reload (a `--port` flag keeps winning over the file). */
  cli?: CliOverrides;
  /** Base environment for reloads (default process.env); `.env` and the config's `env` are re-read. */
  env?: Env;
  limits?: Partial<GatewayLimits>;
  /** The file log, for `logs.tail`. */
  logFile?: string;
  /** Long-lived parts to host (started after the first listen, in this order). */
  subsystems?: Subsystem[];
  /** Run the config lifecycle (watch the file, hot reload, in-process restarts); default true. */
  reload?: boolean;
  /** Set when startup restored the last-known-good config. */
  recovery?: RecoveryInfo;
  /** EADDRINUSE retries of the first listen (default 4 × 150 ms). */
  bindRetries?: number;
  bindRetryDelayMs?: number;
  /** Reload tuning (in-process restart retries, the announced restart delay). */
  lifecycle?: Omit<LifecycleOptions, "recovery">;
  /** Called after every listen: at start (`restart` false) and after each in-process restart. */
  onListening?: (gateway: Gateway, restart: boolean) => void | Promise<void>;
  /** The gateway cannot listen any more (a restart failed and so did every rollback). */
  onFatal?: (err: Error) => void;
}

export interface StopOptions {
  /** Set when the listener comes back in this process (config reload restart). */
  restartExpectedMs?: number;
}

export class Gateway implements MethodContext, WsHost, ReloadHost, SubsystemHost {
  /** `hello-ok.server.bootId`: new with every listener, so clients see a restart as a restart. */
  bootId = crypto.randomUUID();
  readonly instanceId = crypto.randomUUID();
  readonly startedAt = Date.now();
  snapshot: ConfigSnapshot;
  settings: GatewaySettings;
  readonly log: Logger;
  readonly limits: GatewayLimits;
  readonly limiter: FailedAuthLimiter;
  readonly writeLimiter = new ControlPlaneWriteLimiter();
  readonly presence: PresenceStore;
  readonly agents: AgentRuntime;
  readonly systemEvents: SystemEvent[] = [];
  readonly connections = new Set<Connection>();
  /** Device pairing: the pairing store, the device part of connects, the device methods. */
  readonly devices: DevicePairing;
  readonly stateVersion = { presence: 1, health: 1 };
  readonly methods: Map<string, MethodDef<any>>;
  readonly events: readonly string[];
  /** What the hosted parts add to health and status. */
  readonly reports: SubsystemReports;
  readonly logFile?: string;
  /** The config lifecycle (undefined when the gateway runs without it). */
  lifecycle?: ConfigLifecycle & ConfigLifecycleHooks;
  /** True while the listener is stopping (shutdown, or an in-process restart). */
  draining = false;
  private stopped = false;
  private listener?: Listener;
  /** The TLS material the listener serves (`gateway.tls.enabled`), loaded at start and on every in-process restart. */
  private tlsMaterial?: GatewayTlsMaterial;
  private readonly subsystems: Subsystem[];
  private readonly unauthenticatedByIp = new Map<string, number>();
  private readonly authenticatedByIp = new Map<string, number>();
  /** Bytes queued for every socket together (see ws/budget.ts). */
  readonly sendBudget: SendBudget<Connection>;
  /** Presence broadcasts are coalesced: one now, then at most one per `presenceBroadcastMs`. */
  private presenceTimer?: ReturnType<typeof setTimeout>;
  private presencePending = false;
  private presenceSentAt = 0;
  private healthCache?: { value: HealthSnapshot; at: number };
  private lastConfigChangedHash?: string | null;
  private tick?: ReturnType<typeof setInterval>;
  private authTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Full collections when the gateway goes quiet; idle, they discard compiled code too (see memory.ts). */
  private readonly collector = new QuietCollector({ startupMs: 1_000, idle: () => this.connections.size === 0 });
  private readonly fetchHandler: (req: Request, server: Server<SocketData>) => Response | Promise<Response> | undefined;
  private readonly routes: ReturnType<typeof fastProbeRoutes>;
  private readonly websocket: ReturnType<typeof webSocketHandlers>;

  private constructor(private readonly opts: GatewayOptions) {
    this.snapshot = opts.snapshot;
    this.settings = opts.settings;
    this.log = opts.log;
    this.limits = { ...defaultLimits(), ...opts.limits };
    this.logFile = opts.logFile;
    this.presence = new PresenceStore(this.instanceId);
    this.sendBudget = new SendBudget<Connection>(this.limits.maxTotalBufferedBytes, () => this.connections, (conn, queued) =>
      this.log.warn(`closing slow consumer ${conn.data.ip} (conn ${conn.connId}, ${(queued / 2 ** 20).toFixed(1)} MiB queued, gateway budget)`),
    );
    this.limiter = new FailedAuthLimiter(opts.settings.auth.rateLimit);
    this.agents = new AgentRuntime({
      stateDir: opts.snapshot.paths.stateDir,
      config: () => this.snapshot.config,
      log: opts.log.child("agents"),
      emit: (event, payload) => this.broadcast(event, payload, { scope: "operator.read" }),
    });
    // Device pairing is part of every gateway (the handshake needs it), first in start order.
    this.devices = new DevicePairing(this);
    this.subsystems = [this.devices, ...(opts.subsystems ?? [])];
    this.methods = buildRegistry(this.subsystems.flatMap((s) => s.methods ?? []));
    this.events = [...ADVERTISED_EVENTS, ...this.subsystems.flatMap((s) => s.events ?? []).filter((e) => !(ADVERTISED_EVENTS as readonly string[]).includes(e))];
    this.log.addSecret(opts.settings.auth.token);
    this.log.addSecret(opts.settings.auth.password);

    this.reports = combineReports(this.subsystems.map((s) => s.reports));
    // The Hono app (and Hono) loads with the first HTTP request that is not a liveness probe:
    // an idle gateway that only serves WebSockets and /health never loads it.
    let app: Promise<{ fetch(req: Request, env: unknown): Response | Promise<Response> }> | undefined;
    const routers = this.subsystems.flatMap((s) => s.http ?? []);
    const ingress = this.subsystems.flatMap((s) => (s.ingress ? [s.ingress] : []));
    this.websocket = webSocketHandlers(this);
    this.fetchHandler = (req, server) => {
      const upgrade = req.headers.get("upgrade");
      if (upgrade !== null) {
        if (upgrade.toLowerCase() !== "websocket") return textResponse(400, "Bad Request");
        return upgradeWebSocket(this, req, server);
      }
      app ??= import("./http/app.ts").then((m) => m.createHttpApp(this, routers, ingress));
      return app.then((a) => a.fetch(req, { server }));
    };
    // Liveness probes bypass Hono (src/gateway/http/fast-probes.ts); the rest goes to fetch.
    this.routes = fastProbeRoutes(this, this.fetchHandler);
  }

  /** Listen, then start the lifecycle and the subsystems. Throws BindError when it cannot listen. */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    const gw = new Gateway(opts);
    // TLS asked for and not servable throws (TlsSetupError): never a plaintext fallback.
    gw.tlsMaterial = await gw.loadTls(opts.snapshot);
    await gw.bind(opts.settings, { retries: opts.bindRetries, retryDelayMs: opts.bindRetryDelayMs });
    gw.afterFirstListen();
    if (opts.reload !== false) {
      gw.lifecycle = new ConfigLifecycle(gw, { ...opts.lifecycle, recovery: opts.recovery });
      await gw.lifecycle.start();
    }
    if (gw.snapshot.unsupported.length > 0) gw.log.warn(unsupportedMessage(gw.snapshot.unsupported));
    for (const s of gw.subsystems) {
      try {
        await s.start?.(gw);
      } catch (err) {
        gw.log.error(`${s.name}: start failed: ${(err as Error).stack ?? err}`);
      }
    }
    gw.notifyListening(false);
    return gw;
  }

  // --- the listener ----------------------------------------------------------------------------

  get port(): number {
    return this.listener?.port ?? this.settings.port;
  }

  get url(): string {
    return this.listener?.url ?? "";
  }

  /** Addresses actually listening, e.g. ["127.0.0.1", "::1"]. */
  get listening(): string[] {
    return this.listener?.listening ?? [];
  }

  /** What the listener's TLS is (undefined: plaintext). */
  get tls(): { fingerprintSha256: string; certPath: string; generated: boolean } | undefined {
    const t = this.tlsMaterial;
    return t && { fingerprintSha256: t.fingerprintSha256, certPath: t.certPath, generated: t.generated };
  }

  get stateDir(): string {
    return this.snapshot.paths.stateDir;
  }

  get stopping(): boolean {
    return this.stopped;
  }

  /** In-process restarts done so far. */
  get restarts(): number {
    return this.lifecycle?.restarts ?? 0;
  }

  /** `gateway.tls` of a snapshot, loaded (or first generated); the module loads only when TLS is on. */
  private async loadTls(snapshot: ConfigSnapshot): Promise<GatewayTlsMaterial | undefined> {
    const cfg = snapshot.config.gateway?.tls;
    if (cfg?.enabled !== true) return undefined;
    const { loadGatewayTls } = await import("../auth/tls.ts");
    const tls = await loadGatewayTls(cfg, { stateDir: snapshot.paths.stateDir, log: this.log.child("tls") });
    return tls.enabled ? tls : undefined;
  }

  private async bind(settings: GatewaySettings, retry: { retries?: number; retryDelayMs?: number }): Promise<void> {
    const tls = this.tlsMaterial;
    this.listener = await listen({
      tls: tls && { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) },
      hosts: settings.hosts,
      port: settings.port,
      fetch: this.fetchHandler,
      routes: this.routes,
      websocket: this.websocket,
      log: this.log,
      retries: retry.retries,
      retryDelayMs: retry.retryDelayMs,
    });
    this.draining = false;
  }

  private afterFirstListen(): void {
    // The state database: an existing one opens now (well under a millisecond), so the first
    // health snapshot counts its sessions and /readyz reports a broken one. A gateway that has
    // none yet creates it when something first stores a session (nothing to count before).
    if (existsSync(this.agents.dbPath)) this.agents.open();
    this.health({ fresh: true });
    // Compiled binaries start with JavaScriptCore's tier-up thresholds raised 1000× (scripts/build.ts,
    // JIT_POLICY) so run-once startup code is never JIT-compiled. Listening means interactive: the
    // thresholds drop to INTERACTIVE_JIT_POLICY, so code that runs under load tiers up as usual, a
    // little later, and an idle gateway does not page in the JIT for a handful of requests.
    Bun.unsafe.setJITPolicy(INTERACTIVE_JIT_POLICY);
    // Schemas built on first use (a method's params) are run-once code too: built under the
    // startup policy, so the first call of a method does not JIT-compile zod's constructors.
    setLazyBuilder((build) => {
      Bun.unsafe.setJITPolicy(STARTUP_JIT_POLICY);
      try {
        return build();
      } finally {
        Bun.unsafe.setJITPolicy(INTERACTIVE_JIT_POLICY);
      }
    });
    this.tick = setInterval(() => {
      const now = Date.now();
      this.broadcast("tick", { ts: now });
      this.refreshHealthIfStale();
      for (const s of this.subsystems) {
        try {
          s.tick?.(now);
        } catch (err) {
          this.log.error(`${s.name}: tick failed: ${(err as Error).stack ?? err}`);
        }
      }
    }, this.limits.tickIntervalMs);
  }

  private notifyListening(restart: boolean): void {
    const hook = this.opts.onListening;
    if (!hook) return;
    void Promise.resolve()
      .then(() => hook(this, restart))
      .catch((err) => this.log.warn(`onListening hook failed: ${(err as Error).message}`));
  }

  /** Drain and stop the listener: `shutdown` event, close every socket 1012, stop the servers. */
  private async closeListener(reason: string, opts: StopOptions = {}): Promise<void> {
    this.draining = true;
    const payload = opts.restartExpectedMs === undefined ? { reason } : { reason, restartExpectedMs: opts.restartExpectedMs };
    this.broadcast("shutdown", payload);
    for (const conn of [...this.connections]) conn.close(CloseCodes.SERVICE_RESTART, Messages.serviceRestart);
    await this.listener?.stop(this.limits.shutdownGraceMs);
    this.listener = undefined;
  }

  // --- ReloadHost --------------------------------------------------------------------------------

  readConfig(): Promise<ConfigSnapshot> {
    return loadSnapshot({ paths: this.snapshot.paths, cli: this.opts.cli, env: this.opts.env });
  }

  applyHot(next: ConfigSnapshot, settings: GatewaySettings, _applied: string[], changed: boolean): void {
    const prev = this.snapshot;
    this.snapshot = next;
    if (!changed) return;
    const oldAuth = this.settings.auth;
    this.settings = settings;
    this.limiter.updateSettings(settings.auth.rateLimit);
    this.log.addSecret(settings.auth.token);
    this.log.addSecret(settings.auth.password);
    this.closeAuthChanged(oldAuth, settings.auth);
    this.health({ fresh: true });
    this.configChanged(snapshotHash(next));
    this.notifySubsystems(next, prev);
  }

  async relisten(next: ConfigSnapshot, settings: GatewaySettings, opts: { restartExpectedMs: number; bindRetries: number; bindRetryDelayMs: number }): Promise<void> {
    const prev = this.snapshot;
    // The new TLS material first: a pair that cannot be served fails the restart before the
    // current listener is touched (the lifecycle then keeps the previous one).
    const tls = await this.loadTls(next);
    if (this.listener) await this.closeListener(RESTART_REASON, { restartExpectedMs: opts.restartExpectedMs });
    this.tlsMaterial = tls;
    await this.bind(settings, { retries: opts.bindRetries, retryDelayMs: opts.bindRetryDelayMs });
    this.bootId = crypto.randomUUID();
    this.snapshot = next;
    this.settings = settings;
    this.limiter.updateSettings(settings.auth.rateLimit);
    this.log.addSecret(settings.auth.token);
    this.log.addSecret(settings.auth.password);
    this.health({ fresh: true });
    this.notifyListening(true);
    if (next !== prev) this.notifySubsystems(next, prev);
  }

  fatal(err: Error): void {
    this.opts.onFatal?.(err);
  }

  private notifySubsystems(next: ConfigSnapshot, prev: ConfigSnapshot): void {
    for (const s of this.subsystems) {
      if (!s.applyConfig) continue;
      void Promise.resolve()
        .then(() => s.applyConfig?.(next, prev))
        .catch((err) => this.log.error(`${s.name}: applying the new config failed: ${(err as Error).stack ?? err}`));
    }
  }

  /** Sockets authenticated with a secret that just changed are closed 4001 (after pending replies). */
  private closeAuthChanged(before: AuthSettings, after: AuthSettings): void {
    const tokenChanged = before.token !== after.token;
    const passwordChanged = before.password !== after.password;
    if (!tokenChanged && !passwordChanged) return;
    const stale = [...this.connections].filter(
      (c) => c.phase === "ready" && ((c.authMethod === "token" && tokenChanged) || (c.authMethod === "password" && passwordChanged)),
    );
    if (stale.length === 0) return;
    this.log.child("reload").info(`gateway auth changed; closing ${stale.length} socket(s) authenticated with the previous secret`);
    // A macrotask later, so a reply already on its way (e.g. to secrets.reload) goes out first.
    const timer = setTimeout(() => {
      this.authTimers.delete(timer);
      for (const c of stale) c.close(CloseCodes.AUTH_CHANGED, AUTH_CHANGED_REASON);
    }, 0);
    this.authTimers.add(timer);
  }

  /** Stop for good: the lifecycle, the listener (`shutdown` event, close 1012), subsystems, runs, the database. */
  async stop(reason: string = Messages.gatewayStopping): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.lifecycle?.stop();
    clearInterval(this.tick);
    clearTimeout(this.presenceTimer);
    this.presenceTimer = undefined;
    this.collector.stop();
    for (const t of this.authTimers) clearTimeout(t);
    this.authTimers.clear();
    await this.closeListener(reason);
    for (const s of [...this.subsystems].reverse()) {
      try {
        await s.stop?.();
      } catch (err) {
        this.log.error(`${s.name}: stop failed: ${(err as Error).stack ?? err}`);
      }
    }
    this.agents.close();
  }

  // --- state shared with methods and sockets ------------------------------------------------------

  get methodContext(): MethodContext {
    return this;
  }

  logger(name: string): Logger {
    return this.log.child(name);
  }

  uptimeMs(): number {
    return Date.now() - this.startedAt;
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

  /** Count an authenticated socket for its address; false when the per-IP cap is reached (loopback exempt). */
  admitAuthenticated(conn: Connection): boolean {
    const ip = conn.data.ip;
    if (isLoopbackIp(ip)) return true;
    const n = this.authenticatedByIp.get(ip) ?? 0;
    if (n >= this.limits.maxAuthenticatedPerIp) {
      this.log.warn(`connect refused: ${ip} already holds ${n} authenticated sockets (conn ${conn.connId})`);
      return false;
    }
    this.authenticatedByIp.set(ip, n + 1);
    conn.countedAuthenticated = true;
    return true;
  }

  releaseAuthenticated(ip: string): void {
    const n = (this.authenticatedByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.authenticatedByIp.delete(ip);
    else this.authenticatedByIp.set(ip, n);
  }

  onClosed(): void {
    this.collector.closed();
  }

  onAuthenticated(conn: Connection): void {
    if (conn.countedUnauthenticated) {
      conn.countedUnauthenticated = false;
      this.releaseUnauthenticated(conn.data.ip);
    }
  }

  /** Send to every ready socket (that holds `opts.scope`); the frame is encoded once, on the first recipient. */
  broadcast(event: string, payload: unknown, opts: BroadcastOptions = {}): void {
    let frame: EncodedEvent | undefined;
    for (const conn of this.connections) {
      if (conn.phase !== "ready" || conn.isClosing) continue;
      if (opts.scope && (conn.role === "node" || !hasScope(conn.scopes, opts.scope))) continue;
      if (opts.to && !opts.to(conn)) continue;
      frame ??= encodeEvent(event, payload, opts.withStateVersion ? this.stateVersion : undefined);
      conn.sendEvent(frame, opts.droppable);
    }
  }

  /**
   * Presence changed: bump its state version and broadcast the list, coalesced. The first change
   * after a quiet spell goes out at once; changes that follow within `presenceBroadcastMs` are
   * sent together as one list when it ends. Droppable, as in the original: a reader that misses
   * one gets the next complete list (hello-ok and `system-presence` read the live list).
   */
  presenceChanged(): void {
    this.stateVersion.presence++;
    this.presencePending = true;
    if (this.presenceTimer) return;
    const wait = this.presenceSentAt + this.limits.presenceBroadcastMs - Date.now();
    if (wait <= 0) {
      this.flushPresence();
      return;
    }
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = undefined;
      this.flushPresence();
    }, wait);
  }

  private flushPresence(): void {
    if (!this.presencePending || this.stopped) return;
    this.presencePending = false;
    this.presenceSentAt = Date.now();
    this.broadcast("presence", { presence: this.presence.list() }, { scope: "operator.read", withStateVersion: true, droppable: true });
  }

  /** Broadcast `config.changed {path, hash, ts}` (read scope, droppable) once per file hash. */
  configChanged(hash: string | null): void {
    if (hash === this.lastConfigChangedHash) return;
    this.lastConfigChangedHash = hash;
    this.broadcast("config.changed", { path: this.snapshot.paths.configPath, hash, ts: Date.now() }, { scope: "operator.read", droppable: true });
  }

  /** Cached health, or a fresh snapshot (which bumps stateVersion.health and is broadcast). */
  health(opts: { fresh?: boolean } = {}): HealthSnapshot {
    const now = Date.now();
    if (!opts.fresh && this.healthCache && now - this.healthCache.at < this.limits.healthCacheMs) {
      return this.healthCache.value;
    }
    const started = performance.now();
    const value = buildHealth(this, now);
    for (const s of this.subsystems) {
      if (!s.health) continue;
      try {
        Object.assign(value, s.health());
      } catch (err) {
        this.log.error(`${s.name}: health fields failed: ${(err as Error).message}`);
      }
    }
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

  /** A subsystem's health fields changed (a channel connected, failed, stopped). */
  healthChanged(): void {
    if (!this.stopped) this.health({ fresh: true });
  }

  /** Called on every tick: keep the health snapshot at most `healthCacheMs` old. */
  refreshHealthIfStale(): void {
    if (!this.healthCache || Date.now() - this.healthCache.at >= this.limits.healthCacheMs) this.health({ fresh: true });
  }
}
