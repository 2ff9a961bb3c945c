/**
 * The gateway's config lifecycle: the config watcher, the snapshot swap, in-process restarts
 * and last-known-good bookkeeping. The gateway object (gateway.ts) applies its decisions.
 *
 *   edit → watcher (debounced) → snapshot (src/config/snapshot.ts) → plan (src/config/reload.ts)
 *   → by mode:
 *     hot      swap the snapshot and settings in one synchronous step; sockets stay connected;
 *              a changed shared secret closes the sockets that used the old one (4001)
 *     restart  `shutdown {reason, restartExpectedMs}` → close 1012 → re-listen in process; the
 *              gateway object and what it owns (limiters, sessions, agent runs, subsystems) stay
 *     invalid  nothing changes; `config reload rejected: <key path>: <reason>`
 *
 * Reloads run one at a time (a queue); a burst of edits inside the debounce window is one
 * reload, so at most one restart. Nothing here throws into the event loop: every failure is
 * logged and the running listener (or, if a restart cannot bind, the previous config) stays.
 */
import { listClobbered, promoteLastGood, recoveryEventText, recoveryLogLine, type RecoveryInfo } from "../config/last-good.ts";
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
import { resolveGatewaySettings, StartupError, type GatewaySettings } from "../config/runtime.ts";
import type { ConfigIssue } from "../config/schema.ts";
import { snapshotHash, type ConfigSnapshot } from "../config/snapshot.ts";
import type { Logger } from "../log/logger.ts";
import type { ConfigLifecycleHooks, ReloadOutcome, ReloadTrigger, SystemEvent } from "./config-hooks.ts";

export const AUTH_CHANGED_REASON = "gateway auth changed";
export const RESTART_REASON = "gateway restarting";
/** What `shutdown.restartExpectedMs` announces for an in-process restart. */
export const RESTART_EXPECTED_MS = 500;
/** How long the gateway serves on its startup config before keeping it as last-known-good. */
export const STARTUP_PROMOTION_DELAY_MS = 1_000;
const ROLLBACK_ATTEMPTS = 5;
const ROLLBACK_DELAY_MS = 200;
const HISTORY_MAX = 200;
const LIST_MAX = 20;

/** What the config lifecycle drives: the gateway object implements it. */
export interface ReloadHost {
  readonly snapshot: ConfigSnapshot;
  readonly settings: GatewaySettings;
  /** The port the listener is bound to now. */
  readonly port: number;
  readonly url: string;
  readonly log: Logger;
  readonly systemEvents: SystemEvent[];
  /** The config file as it is now, with the gateway's CLI layer and base environment. */
  readConfig(): Promise<ConfigSnapshot>;
  /** Swap in a snapshot that needs no new listener, in one synchronous step. */
  applyHot(snapshot: ConfigSnapshot, settings: GatewaySettings, applied: string[], hotApplied: boolean): void;
  /** Stop the listener and listen again with these settings; throws when it cannot bind. */
  relisten(snapshot: ConfigSnapshot, settings: GatewaySettings, opts: { restartExpectedMs: number; bindRetries: number; bindRetryDelayMs: number }): Promise<void>;
  /** The gateway cannot listen any more (a restart failed and so did every rollback). */
  fatal(err: Error): void;
}

export interface LifecycleOptions {
  /** Set when startup restored the last-known-good config. */
  recovery?: RecoveryInfo;
  /** Bind retries of an in-process restart (default 2 × 100 ms: restarts fail fast, then roll back). */
  bindRetries?: number;
  bindRetryDelayMs?: number;
  restartExpectedMs?: number;
}

function list(paths: string[]): string {
  return paths.length <= LIST_MAX ? paths.join(", ") : `${paths.slice(0, LIST_MAX).join(", ")} (+${paths.length - LIST_MAX} more)`;
}

/**
 * The config lifecycle of one gateway: the watcher, the reload queue, the plan for each change
 * and last-known-good bookkeeping. The gateway object applies what it decides.
 */
export class ConfigLifecycle implements ConfigLifecycleHooks {
  /** Recent reload outcomes, newest last (bounded). */
  readonly history: ReloadOutcome[] = [];
  /** In-process restarts done so far. */
  restarts = 0;
  private watcher?: ConfigFileWatcher;
  /** The startup's pending last-known-good promotion (see start()). */
  private startupPromotion?: ReturnType<typeof setTimeout>;
  private queue: Promise<unknown> = Promise.resolve();
  /** Hash of the file content last processed (applied, ignored or rejected). */
  private lastSeenHash: string | null;
  private stopped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private holds = 0;
  private deferred = false;
  private readonly log: Logger;

  constructor(
    private readonly host: ReloadHost,
    private readonly opts: LifecycleOptions = {},
  ) {
    this.log = host.log.child("reload");
    this.lastSeenHash = snapshotHash(host.snapshot);
  }

  /** After the first listen: raise the recovery event if any, keep last-known-good, start watching. */
  async start(): Promise<void> {
    const recovery = this.opts.recovery;
    if (recovery) {
      this.host.log.warn(recoveryLogLine(recovery));
      this.host.log.warn("gateway: invalid config was restored from last-known-good backup");
      this.host.systemEvents.push({ kind: "config-recovery", text: recoveryEventText(recovery), ts: recovery.at });
    }
    // The config the gateway started on becomes last-known-good once it has served on it for
    // a moment: a config that brings the gateway down at once is not "good", and the copy's
    // fsyncs (the writer is synchronous, see config/write.ts) stay off the first requests' path.
    // A reload in between promotes its own snapshot instead.
    const started = this.host.snapshot;
    this.startupPromotion = setTimeout(() => {
      this.startupPromotion = undefined;
      if (!this.stopped) void this.promote(started);
    }, STARTUP_PROMOTION_DELAY_MS);
    this.startupPromotion.unref?.();
    this.syncWatcher();
  }

  /** True until the startup config has been kept as last-known-good (or a reload did it). */
  get startupPromotionPending(): boolean {
    return this.startupPromotion !== undefined;
  }

  get hotReloadStatus(): "active" | "disabled" | "unavailable" {
    if (this.watcher?.active) return "active";
    return reloadModeOf(this.host.snapshot.config) === "off" ? "disabled" : "unavailable";
  }

  /** Newest-first `.clobbered.*` files beside the config (for status/doctor style reports). */
  clobbered(): Promise<string[]> {
    return listClobbered(this.host.snapshot.paths.configPath);
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

  holdWatcher(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.deferred) {
        this.deferred = false;
        void this.reloadFromFile();
      }
    };
  }

  /** A debounced file event: reload now, or after the current hold. */
  private onFileEvent(): void {
    if (this.holds > 0) this.deferred = true;
    else void this.reloadFromFile();
  }

  /** Resolves once every reload queued so far has finished. */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  /** Stop watching; a reload in flight finishes first (bounded). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.startupPromotion);
    this.startupPromotion = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.race([this.queue.catch(() => {}), Bun.sleep(5_000)]);
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

  /** Settings for a new snapshot, keeping what must not change by accident. */
  private resolveSettings(next: ConfigSnapshot, current: { snapshot: ConfigSnapshot; settings: GatewaySettings }): GatewaySettings {
    const s = resolveGatewaySettings(next);
    // A generated runtime token is not a new secret just because we resolved again.
    if (s.auth.runtimeToken && current.settings.auth.runtimeToken) s.auth.token = current.settings.auth.token;
    // Same effective port → the port we actually listen on (port 0 in tests).
    if (next.gateway.port === current.snapshot.gateway.port) s.port = this.host.port;
    return s;
  }

  private async reloadOnce(
    trigger: ReloadTrigger,
    opts: { force: boolean; mode?: ReloadMode; restartDelayMs?: number },
  ): Promise<ReloadOutcome> {
    const host = this.host;
    const next = await host.readConfig();
    const paths = next.paths;
    const hash = snapshotHash(next);
    if (next.problem) {
      if (!opts.force && hash !== null && hash === this.lastSeenHash) return this.outcome(trigger, "unchanged", undefined, { hash });
      this.lastSeenHash = hash;
      return this.reject(trigger, hash, next.problem.issues);
    }
    if (!opts.force && hash === this.lastSeenHash) return this.outcome(trigger, "unchanged", undefined, { hash });
    this.lastSeenHash = hash;
    const current = { snapshot: host.snapshot, settings: host.settings };
    if (!next.exists && current.snapshot.exists) {
      return this.reject(trigger, hash, [{ path: "<file>", message: `${paths.configPath} was removed; keeping the running config` }]);
    }
    for (const w of next.warnings) this.log.warn(w);

    let settings: GatewaySettings;
    try {
      settings = this.resolveSettings(next, current);
    } catch (err) {
      if (!(err instanceof StartupError)) throw err;
      return this.reject(trigger, hash, [{ path: err.keyPath ?? "gateway", message: err.lines.join(" ") }]);
    }
    const plan = planReload(current.snapshot.config, next.config, { authModeUnchanged: current.settings.auth.mode === settings.auth.mode });
    const mode = opts.mode ?? reloadModeOf(current.snapshot.config);
    const decision = decideReload(mode, plan);
    switch (decision.action) {
      case "unchanged":
        // Same effective config (formatting, comments): keep the new text and hash.
        host.applyHot(next, host.settings, [], false);
        await this.promote(next);
        return this.outcome(trigger, "unchanged", plan, { hash });
      case "ignore":
        this.log.info(`config changed but gateway.reload.mode=off; not applied: ${list(plan.changed)}`);
        return this.outcome(trigger, "ignored", plan, { hash });
      case "hot": {
        let applied = next;
        let appliedSettings = settings;
        if (decision.skipped.length > 0) {
          applied = { ...next, config: revertPaths(next.config, current.snapshot.config, plan.segments.restart) };
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
        await this.promote(next);
        const labels = [...plan.hot, ...plan.none];
        if (plan.hot.length > 0) this.log.info(`config reload: applied without restart: ${list(labels)}`);
        else this.log.debug(`config reload: snapshot updated: ${list(labels)}`);
        host.applyHot(applied, appliedSettings, labels, true);
        this.syncWatcher();
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
        return this.restartTo(trigger, next, settings, plan, hash);
      }
    }
  }

  private async restartTo(
    trigger: ReloadTrigger,
    next: ConfigSnapshot,
    settings: GatewaySettings,
    plan: ReloadPlan,
    hash: string | null,
  ): Promise<ReloadOutcome> {
    const host = this.host;
    const previous = { snapshot: host.snapshot, settings: { ...host.settings, port: host.port } };
    const relisten = {
      restartExpectedMs: this.opts.restartExpectedMs ?? RESTART_EXPECTED_MS,
      bindRetries: this.opts.bindRetries ?? 2,
      bindRetryDelayMs: this.opts.bindRetryDelayMs ?? 100,
    };
    this.log.info(`config reload: restarting the listener in process for ${list(plan.restart.length ? plan.restart : plan.changed)}`);
    try {
      await host.relisten(next, settings, relisten);
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.log.error(`config reload: restart failed: ${message}; restoring the previous listener`);
      for (let attempt = 1; attempt <= ROLLBACK_ATTEMPTS; attempt++) {
        try {
          await host.relisten(previous.snapshot, previous.settings, relisten);
          this.log.warn(`config reload: previous listener restored on port ${host.port}`);
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
      host.fatal(fatal);
      return this.outcome(trigger, "rejected", plan, { hash, issues: [{ path: "gateway", message: fatal.message }] });
    }
    this.restarts++;
    this.log.info(`config reload: listening again on ${host.url} (restart ${this.restarts})`);
    await this.promote(next);
    this.syncWatcher();
    return this.outcome(trigger, "restarted", plan, { hash });
  }

  private async promote(snapshot: ConfigSnapshot): Promise<void> {
    clearTimeout(this.startupPromotion);
    this.startupPromotion = undefined;
    try {
      const r = await promoteLastGood(snapshot.paths.configPath, snapshot.raw);
      if (r === "skipped-redacted") this.log.warn("Config last-known-good promotion skipped: the config holds redaction placeholders");
    } catch (err) {
      this.log.warn(`cannot keep last-known-good config: ${(err as Error).message}`);
    }
  }

  /** Watch while the mode is not off; follow debounce changes. */
  private syncWatcher(): void {
    if (this.stopped) return;
    const cfg = this.host.snapshot.config;
    const configPath = this.host.snapshot.paths.configPath;
    if (reloadModeOf(cfg) === "off") {
      if (this.watcher) this.log.info("config watching disabled (gateway.reload.mode=off)");
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (!this.watcher) {
      this.watcher = new ConfigFileWatcher(
        configPath,
        debounceMsOf(cfg),
        () => this.onFileEvent(),
        (message) => this.log.warn(message),
      );
      if (this.watcher.start()) this.log.debug(`watching ${configPath} (debounce ${debounceMsOf(cfg)} ms)`);
    } else this.watcher.setDebounce(debounceMsOf(cfg));
  }
}
