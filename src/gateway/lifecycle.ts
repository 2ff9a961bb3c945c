/**
 * The gateway's config lifecycle: one running listener (startGateway) plus the config watcher,
 * the in-memory snapshot swap, in-process restarts and last-known-good bookkeeping.
 *
 *   edit → watcher (debounced) → load + validate → plan (src/config/reload.ts) → by mode:
 *     hot      swap ctx.loaded/ctx.settings in one synchronous step; sockets stay connected;
 *              a changed shared secret closes the sockets that used the old one (4001)
 *     restart  `shutdown {reason, restartExpectedMs}` → close 1012 → re-listen in process
 *     invalid  nothing changes; `config reload rejected: <key path>: <reason>`
 *
 * Reloads run one at a time (a queue); a burst of edits inside the debounce window is one
 * reload, so at most one restart. Nothing here throws into the event loop: every failure is
 * logged and the running listener (or, if a restart cannot bind, the previous config) stays.
 */
import { ConfigError, loadConfig, type CliOverrides, type LoadedConfig } from "../config/load.ts";
import { listClobbered, promoteLastGood, recoveryEventText, recoveryLogLine, type RecoveryInfo } from "../config/last-good.ts";
import type { Env } from "../config/paths.ts";
import {
  ConfigFileWatcher,
  debounceMsOf,
  decideReload,
  planReload,
  reloadModeOf,
  revertPaths,
  type ReloadMode,
  type ReloadPlan,
} from "../config/reload.ts";
import { resolveGatewaySettings, StartupError, type AuthSettings, type GatewaySettings } from "../config/runtime.ts";
import type { ConfigIssue } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { CloseCodes } from "../protocol/errors.ts";
import type { ConfigLifecycleHooks, ReloadOutcome, ReloadTrigger, SystemEvent } from "./config-hooks.ts";
import type { GatewayContext, GatewayLimits } from "./context.ts";
import { configHash, currentFile } from "./methods/config.ts";
import { startGateway, type GatewayHandle, type StartOptions } from "./server.ts";

export const AUTH_CHANGED_REASON = "gateway auth changed";
export const RESTART_REASON = "gateway restarting";
/** What `shutdown.restartExpectedMs` announces for an in-process restart. */
export const RESTART_EXPECTED_MS = 500;
const ROLLBACK_ATTEMPTS = 5;
const ROLLBACK_DELAY_MS = 200;
const HISTORY_MAX = 200;
const LIST_MAX = 20;

export interface RuntimeOptions {
  loaded: LoadedConfig;
  settings: GatewaySettings;
  log: Logger;
  /** The CLI layer, re-applied on every reload (a `--port` flag keeps winning over the file). */
  cli?: CliOverrides;
  /** Base environment for reloads (default process.env); `.env` and the config's `env` are re-read. */
  env?: Env;
  limits?: Partial<GatewayLimits>;
  /** Set when startup restored the last-known-good config. */
  recovery?: RecoveryInfo;
  /** The gateway cannot listen any more (a restart failed and so did every rollback). */
  onFatal?: (err: Error) => void;
  bindRetries?: number;
  bindRetryDelayMs?: number;
  restartExpectedMs?: number;
  /** Further startGateway options, passed on every (re)listen (e.g. the file log). */
  serverOptions?: Partial<Omit<StartOptions, "loaded" | "settings" | "log" | "limits">>;
  /** Called after every listen: at start (`restart` false) and after each in-process restart or rollback. */
  onListening?: (handle: GatewayHandle, restart: boolean) => void | Promise<void>;
}

function list(paths: string[]): string {
  return paths.length <= LIST_MAX ? paths.join(", ") : `${paths.slice(0, LIST_MAX).join(", ")} (+${paths.length - LIST_MAX} more)`;
}

export class GatewayRuntime implements ConfigLifecycleHooks {
  handle!: GatewayHandle;
  readonly systemEvents: SystemEvent[] = [];
  /** Recent reload outcomes, newest last (bounded). */
  readonly history: ReloadOutcome[] = [];
  /** In-process restarts done so far. */
  restarts = 0;
  private watcher?: ConfigFileWatcher;
  private queue: Promise<unknown> = Promise.resolve();
  /** Hash of the file content last processed (applied, ignored or rejected). */
  private lastSeenHash: string | null;
  private stopped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly log: Logger;

  private constructor(private readonly opts: RuntimeOptions) {
    this.log = opts.log.child("reload");
    this.lastSeenHash = configHash(opts.loaded.raw, opts.loaded.hash);
  }

  /** Start listening, raise the recovery event if any, keep last-known-good, start watching. */
  static async start(opts: RuntimeOptions): Promise<GatewayRuntime> {
    const rt = new GatewayRuntime(opts);
    if (opts.recovery) {
      opts.log.warn(recoveryLogLine(opts.recovery));
      opts.log.warn("gateway: invalid config was restored from last-known-good backup");
      rt.systemEvents.push({ kind: "config-recovery", text: recoveryEventText(opts.recovery), ts: opts.recovery.at });
    }
    rt.attach(await rt.listen(opts.loaded, opts.settings, false), false);
    await rt.promote(opts.loaded);
    rt.syncWatcher();
    return rt;
  }

  get ctx(): GatewayContext {
    return this.handle.ctx;
  }

  get port(): number {
    return this.handle.port;
  }

  get url(): string {
    return this.handle.url;
  }

  get hotReloadStatus(): "active" | "disabled" | "unavailable" {
    if (this.watcher?.active) return "active";
    return reloadModeOf(this.ctx.loaded.config) === "off" ? "disabled" : "unavailable";
  }

  /** Newest-first `.clobbered.*` files beside the config (for status/doctor style reports). */
  clobbered(): Promise<string[]> {
    return listClobbered(this.opts.loaded.paths.configPath);
  }

  // --- hooks used by the methods -----------------------------------------------------------

  applyNow(opts: { restartDelayMs?: number } = {}): Promise<ReloadOutcome> {
    return this.enqueue("rpc", () => this.reloadOnce("rpc", { force: false, mode: "hybrid", restartDelayMs: opts.restartDelayMs ?? 0 }));
  }

  reloadSecrets(): Promise<ReloadOutcome> {
    return this.enqueue("secrets", () => this.reloadOnce("secrets", { force: true, mode: "hybrid", restartDelayMs: 0 }));
  }

  /** What the watcher calls after the debounce; also usable directly (tests, benchmarks). */
  reloadFromFile(): Promise<ReloadOutcome> {
    return this.enqueue("watch", () => this.reloadOnce("watch", { force: false }));
  }

  /** Resolves once every reload queued so far has finished. */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  async stop(reason?: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher?.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Let a reload in flight finish (bounded), then stop whatever listener is current.
    await Promise.race([this.queue.catch(() => {}), Bun.sleep(5_000)]);
    await this.handle.stop(reason);
  }

  // --- internals ---------------------------------------------------------------------------

  private enqueue(trigger: ReloadTrigger, task: () => Promise<ReloadOutcome>): Promise<ReloadOutcome> {
    const run = async (): Promise<ReloadOutcome> => {
      if (this.stopped) return this.outcome(trigger, "ignored", undefined, { hash: this.lastSeenHash });
      try {
        return await task();
      } catch (err) {
        this.log.error(`config reload failed: ${(err as Error).stack ?? err}`);
        return this.outcome(trigger, "rejected", undefined, {
          issues: [{ path: "<reload>", message: (err as Error).message ?? String(err) }],
          hash: this.lastSeenHash,
        });
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  private outcome(
    trigger: ReloadTrigger,
    status: ReloadOutcome["status"],
    plan: ReloadPlan | undefined,
    extra: Partial<ReloadOutcome> = {},
  ): ReloadOutcome {
    const o: ReloadOutcome = {
      status,
      trigger,
      changed: plan?.changed ?? [],
      hot: plan?.hot ?? [],
      none: plan?.none ?? [],
      restart: plan?.restart ?? [],
      skipped: [],
      issues: [],
      hash: null,
      at: Date.now(),
      ...extra,
    };
    this.history.push(o);
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
    return o;
  }

  private reject(trigger: ReloadTrigger, hash: string | null, issues: ConfigIssue[], plan?: ReloadPlan): ReloadOutcome {
    for (const i of issues) this.log.warn(`config reload rejected: ${i.path}: ${i.message}`);
    return this.outcome(trigger, "rejected", plan, { issues, hash });
  }

  /** The file's config.get hash, also when it does not parse; null when it cannot be read. */
  private fileHash(): Promise<string | null> {
    return currentFile(this.opts.loaded.paths.configPath).then(
      (f) => f.hash,
      () => null,
    );
  }

  /** Settings for a new snapshot, keeping what must not change by accident. */
  private resolveSettings(loaded: LoadedConfig, current: { loaded: LoadedConfig; settings: GatewaySettings }): GatewaySettings {
    const s = resolveGatewaySettings(loaded, { env: loaded.env });
    // A generated runtime token is not a new secret just because we resolved again.
    if (s.auth.runtimeToken && current.settings.auth.runtimeToken) s.auth.token = current.settings.auth.token;
    // Same configured port → the port we actually listen on (port 0 in tests, or a CLI override).
    if ((loaded.config.gateway?.port ?? null) === (current.loaded.config.gateway?.port ?? null)) s.port = this.handle.port;
    return s;
  }

  private async reloadOnce(
    trigger: ReloadTrigger,
    opts: { force: boolean; mode?: ReloadMode; restartDelayMs?: number },
  ): Promise<ReloadOutcome> {
    const paths = this.opts.loaded.paths;
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig({ paths, cli: this.opts.cli, env: this.opts.env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const hash = await this.fileHash();
      if (!opts.force && hash !== null && hash === this.lastSeenHash) return this.outcome(trigger, "unchanged", undefined, { hash });
      this.lastSeenHash = hash;
      return this.reject(trigger, hash, err.issues);
    }
    const hash = configHash(loaded.raw, loaded.hash);
    if (!opts.force && hash === this.lastSeenHash) return this.outcome(trigger, "unchanged", undefined, { hash });
    this.lastSeenHash = hash;
    const current = { loaded: this.ctx.loaded, settings: this.ctx.settings };
    if (!loaded.exists && current.loaded.exists) {
      return this.reject(trigger, hash, [{ path: "<file>", message: `${paths.configPath} was removed; keeping the running config` }]);
    }
    for (const w of loaded.warnings) this.log.warn(w);

    let settings: GatewaySettings;
    try {
      settings = this.resolveSettings(loaded, current);
    } catch (err) {
      if (!(err instanceof StartupError)) throw err;
      return this.reject(trigger, hash, [{ path: err.keyPath ?? "gateway", message: err.lines.join(" ") }]);
    }
    const plan = planReload(current.loaded.config, loaded.config, { authModeUnchanged: current.settings.auth.mode === settings.auth.mode });
    const mode = opts.mode ?? reloadModeOf(current.loaded.config);
    const decision = decideReload(mode, plan);
    switch (decision.action) {
      case "unchanged":
        // Same effective config (formatting, comments): keep the new text and hash.
        this.ctx.loaded = loaded;
        await this.promote(loaded);
        return this.outcome(trigger, "unchanged", plan, { hash });
      case "ignore":
        this.log.info(`config changed but gateway.reload.mode=off; not applied: ${list(plan.changed)}`);
        return this.outcome(trigger, "ignored", plan, { hash });
      case "hot": {
        let applied = loaded;
        let appliedSettings = settings;
        if (decision.skipped.length > 0) {
          applied = { ...loaded, config: revertPaths(loaded.config, current.loaded.config, plan.segments.restart) };
          try {
            appliedSettings = this.resolveSettings(applied, current);
          } catch (err) {
            if (!(err instanceof StartupError)) throw err;
            return this.reject(trigger, hash, [{ path: err.keyPath ?? "gateway", message: err.lines.join(" ") }], plan);
          }
          this.log.warn(`config reload: restart required for ${list(decision.skipped)}; not applied (gateway.reload.mode=hot)`);
        }
        // Keep the copy first: from the swap on, nothing may wait on I/O before the caller's
        // reply goes out (sockets closed for a rotated secret go a macrotask after the swap).
        await this.promote(loaded);
        this.swap(applied, appliedSettings, plan);
        return this.outcome(trigger, "applied", plan, { hash, skipped: decision.skipped });
      }
      case "restart": {
        if (opts.restartDelayMs !== undefined) {
          // An RPC asked for this: answer first, restart right after (re-reading the file then).
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            void this.enqueue(trigger, () => this.reloadOnce(trigger, { force: true, mode: opts.mode }));
          }, opts.restartDelayMs);
          this.timers.add(timer);
          // The watcher sees the same hash and leaves it alone; the timer re-plans with `force`.
          return this.outcome(trigger, "restart-scheduled", plan, { hash });
        }
        return this.restartTo(trigger, loaded, settings, plan, hash);
      }
    }
  }

  /** The hot path: one synchronous swap, then the live state that follows the snapshot. */
  private swap(loaded: LoadedConfig, settings: GatewaySettings, plan: ReloadPlan): void {
    const ctx = this.ctx;
    const oldAuth = ctx.settings.auth;
    ctx.loaded = loaded;
    ctx.settings = settings;
    ctx.limiter.updateSettings(settings.auth.rateLimit);
    ctx.log.addSecret(settings.auth.token);
    ctx.log.addSecret(settings.auth.password);
    this.closeAuthChanged(ctx, oldAuth, settings.auth);
    const applied = [...plan.hot, ...plan.none];
    if (plan.hot.length > 0) this.log.info(`config reload: applied without restart: ${list(applied)}`);
    else this.log.debug(`config reload: snapshot updated: ${list(applied)}`);
    ctx.health({ fresh: true });
    ctx.configChanged(configHash(loaded.raw, loaded.hash));
    this.syncWatcher();
  }

  /** Sockets authenticated with a secret that just changed are closed 4001 (after pending replies). */
  private closeAuthChanged(ctx: GatewayContext, before: AuthSettings, after: AuthSettings): void {
    const tokenChanged = before.token !== after.token;
    const passwordChanged = before.password !== after.password;
    if (!tokenChanged && !passwordChanged) return;
    const stale = [...ctx.connections].filter(
      (c) => c.phase === "ready" && ((c.authMethod === "token" && tokenChanged) || (c.authMethod === "password" && passwordChanged)),
    );
    if (stale.length === 0) return;
    this.log.info(`gateway auth changed; closing ${stale.length} socket(s) authenticated with the previous secret`);
    // A macrotask later, so a reply already on its way (e.g. to secrets.reload) goes out first.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const c of stale) c.close(CloseCodes.AUTH_CHANGED, AUTH_CHANGED_REASON);
    }, 0);
    this.timers.add(timer);
  }

  /** The first listen uses the server's bind-retry defaults; restarts fail fast (then roll back). */
  private listen(loaded: LoadedConfig, settings: GatewaySettings, restart = true): Promise<GatewayHandle> {
    const retries = restart
      ? { bindRetries: this.opts.bindRetries ?? 2, bindRetryDelayMs: this.opts.bindRetryDelayMs ?? 100 }
      : { bindRetries: this.opts.bindRetries, bindRetryDelayMs: this.opts.bindRetryDelayMs };
    return startGateway({
      ...retries,
      ...this.opts.serverOptions,
      loaded,
      settings,
      log: this.opts.log,
      limits: this.opts.limits,
    });
  }

  private attach(handle: GatewayHandle, restart = true): void {
    this.handle = handle;
    handle.ctx.lifecycle = this;
    handle.ctx.systemEvents = this.systemEvents;
    if (this.opts.onListening) {
      void Promise.resolve()
        .then(() => this.opts.onListening?.(handle, restart))
        .catch((err) => this.log.warn(`onListening hook failed: ${(err as Error).message}`));
    }
  }

  private async restartTo(
    trigger: ReloadTrigger,
    loaded: LoadedConfig,
    settings: GatewaySettings,
    plan: ReloadPlan,
    hash: string | null,
  ): Promise<ReloadOutcome> {
    const previous = { loaded: this.ctx.loaded, settings: { ...this.ctx.settings, port: this.handle.port } };
    this.log.info(`config reload: restarting the listener in process for ${list(plan.restart.length ? plan.restart : plan.changed)}`);
    await this.handle.stop(RESTART_REASON, { restartExpectedMs: this.opts.restartExpectedMs ?? RESTART_EXPECTED_MS });
    try {
      this.attach(await this.listen(loaded, settings));
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.log.error(`config reload: restart failed: ${message}; restoring the previous listener`);
      for (let attempt = 1; attempt <= ROLLBACK_ATTEMPTS; attempt++) {
        try {
          this.attach(await this.listen(previous.loaded, previous.settings));
          this.log.warn(`config reload: previous listener restored on port ${this.handle.port}`);
          return this.reject(trigger, hash, [{ path: plan.restart[0] ?? "gateway", message: `restart failed: ${message}` }], plan);
        } catch (again) {
          this.log.error(`config reload: rollback attempt ${attempt} failed: ${(again as Error).message}`);
          await Bun.sleep(ROLLBACK_DELAY_MS);
        }
      }
      this.stopped = true;
      this.watcher?.close();
      const fatal = new Error(`gateway could not listen after a config restart: ${message}`);
      this.log.error(fatal.message);
      this.opts.onFatal?.(fatal);
      return this.outcome(trigger, "rejected", plan, { hash, issues: [{ path: "gateway", message: fatal.message }] });
    }
    this.restarts++;
    this.log.info(`config reload: listening again on ${this.handle.url} (restart ${this.restarts})`);
    await this.promote(loaded);
    this.syncWatcher();
    return this.outcome(trigger, "restarted", plan, { hash });
  }

  private async promote(loaded: LoadedConfig): Promise<void> {
    try {
      const r = await promoteLastGood(loaded.paths.configPath, loaded.raw);
      if (r === "skipped-redacted") this.log.warn("Config last-known-good promotion skipped: the config holds redaction placeholders");
    } catch (err) {
      this.log.warn(`cannot keep last-known-good config: ${(err as Error).message}`);
    }
  }

  /** Watch while the mode is not off; follow debounce changes. */
  private syncWatcher(): void {
    if (this.stopped) return;
    const cfg = this.ctx.loaded.config;
    if (reloadModeOf(cfg) === "off") {
      if (this.watcher) this.log.info("config watching disabled (gateway.reload.mode=off)");
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (!this.watcher) {
      this.watcher = new ConfigFileWatcher(
        this.opts.loaded.paths.configPath,
        debounceMsOf(cfg),
        () => void this.reloadFromFile(),
        (message) => this.log.warn(message),
      );
      if (this.watcher.start()) this.log.debug(`watching ${this.opts.loaded.paths.configPath} (debounce ${debounceMsOf(cfg)} ms)`);
    } else this.watcher.setDebounce(debounceMsOf(cfg));
  }
}
