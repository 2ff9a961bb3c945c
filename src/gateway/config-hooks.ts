/**
 * What the config lifecycle (src/gateway/lifecycle.ts) shares with the methods through the
 * gateway context: the reload hooks, operator system events, and the control-plane write limit.
 * Types and small state only, so context.ts and the methods do not import the lifecycle.
 */
import type { ConfigIssue } from "../config/schema.ts";

export type ReloadTrigger = "watch" | "rpc" | "secrets";

export interface ReloadOutcome {
  status: "unchanged" | "applied" | "restarted" | "restart-scheduled" | "ignored" | "rejected";
  trigger: ReloadTrigger;
  /** Changed keys of the effective config, and their classes. */
  changed: string[];
  hot: string[];
  none: string[];
  restart: string[];
  /** Restart-required keys not applied (gateway.reload.mode=hot). */
  skipped: string[];
  issues: ConfigIssue[];
  /** `sha256:<hex>` of the file content this outcome is about (null: no file). */
  hash: string | null;
  at: number;
}

export interface ConfigLifecycleHooks {
  /** `active` while the config file is watched, `disabled` with gateway.reload.mode=off. */
  readonly hotReloadStatus: "active" | "disabled" | "unavailable";
  /** Apply the config file as it is now (after an RPC write), hybrid-style; restarts after `restartDelayMs`. */
  applyNow(opts?: { restartDelayMs?: number }): Promise<ReloadOutcome>;
  /** Re-resolve `${ENV}` references (process env, `<stateDir>/.env`, config `env`) and apply. */
  reloadSecrets(): Promise<ReloadOutcome>;
  /**
   * Hold file-watcher reloads while an RPC writes the config and applies it itself; the
   * returned function releases the hold (a change seen meanwhile is then reloaded as usual).
   * Without it the watcher could apply the RPC's own write first, and the RPC would answer
   * "unchanged" (or lose its reply to a restart it did not schedule).
   */
  holdWatcher(): () => void;
}

/** An operator-facing system event (`status.queuedSystemEvents`), e.g. `Config recovery warning: …`. */
export interface SystemEvent {
  kind: string;
  text: string;
  ts: number;
}

export const WRITE_LIMIT = { max: 30, windowMs: 60_000 } as const;

/**
 * Control-plane writes (`config.set|patch|apply`, `secrets.reload`): at most 30 per 60 s per
 * method per client key (sliding window). Keys are bounded so the map cannot grow without limit.
 */
export class ControlPlaneWriteLimiter {
  private hits = new Map<string, number[]>();

  constructor(
    private readonly max: number = WRITE_LIMIT.max,
    private readonly windowMs: number = WRITE_LIMIT.windowMs,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record one call; returns 0 when allowed, else the milliseconds until the next slot. */
  hit(method: string, client: string): number {
    const key = `${method}|${client}`;
    const t = this.now();
    const list = (this.hits.get(key) ?? []).filter((ts) => t - ts < this.windowMs);
    if (list.length >= this.max) {
      this.hits.set(key, list);
      return Math.max(1, list[0] + this.windowMs - t);
    }
    list.push(t);
    this.hits.set(key, list);
    if (this.hits.size > 10_000) {
      for (const k of [...this.hits.keys()].slice(0, 5_000)) this.hits.delete(k);
    }
    return 0;
  }

  get limitText(): string {
    return `${this.max} per ${Math.round(this.windowMs / 1000)}s`;
  }
}
