/**
 * Config reload: what a changed key needs, in one table, and the file watcher.
 *
 * Every changed leaf of the effective config is classified by the longest matching prefix of
 * RELOAD_RULES; an unmatched key needs a restart (the safe default):
 *   none     nothing to do beyond swapping the snapshot (read on use)
 *   hot      applied in place: the snapshot is swapped and live state (auth limiter, health,
 *            auth secrets) follows; every socket stays connected
 *   restart  needs the listener restarted (port, bind, auth mode, TLS, discovery, …)
 * The shared secret (`gateway.auth.token` / `gateway.auth.password`) is hot while the resolved
 * auth mode stays the same; sockets authenticated with the old secret are then closed
 * 4001 "gateway auth changed". A changed auth mode is a restart.
 *
 * `gateway.reload.mode` decides what happens with a plan: `off` ignores edits, `hot` applies the
 * hot-safe keys and skips (and names) the rest, `restart` restarts for anything that is not
 * `none`, `hybrid` (default) hot-applies when it can and restarts when it must.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { diffPaths, formatKeyPath, getAtPath, setAtPath, unsetAtPath, type Segment } from "./keypath.ts";
import { CONFIG_DEFAULTS, type OpenClawConfig } from "./schema.ts";

export type ReloadClass = "none" | "hot" | "restart";
type Rule = ReloadClass | "secret";

/** The classification table (prefix → class). Longest prefix wins; unmatched → restart. */
export const RELOAD_RULES: ReadonlyArray<readonly [string, Rule]> = [
  // No action: read where used.
  ["$schema", "none"],
  ["meta", "none"],
  ["gateway.remote", "none"],
  ["gateway.reload", "none"],
  ["identity", "none"],
  ["wizard", "none"],
  ["logging", "none"],
  ["agents", "none"],
  ["bindings", "none"],
  ["audio", "none"],
  ["agent", "none"],
  ["routing", "none"],
  ["messages", "none"],
  ["session", "none"],
  ["talk", "none"],
  ["skills", "none"],
  ["secrets", "none"],
  ["tui", "none"],
  ["ui", "none"],
  // Restart required.
  ["gateway", "restart"],
  ["discovery", "restart"],
  ["gateway.portals", "restart"],
  ["mcp.apps", "restart"],
  ["secrets.egressProxy", "restart"],
  // Shared secret: hot while the auth mode stays the same, else restart.
  ["gateway.auth.token", "secret"],
  ["gateway.auth.password", "secret"],
  // Hot-safe.
  ["gateway.http.endpoints", "hot"],
  ["gateway.http.securityHeaders.strictTransportSecurity", "hot"],
  ["gateway.tools", "hot"],
  ["gateway.cliAgents", "hot"],
  ["gateway.controlUi", "hot"],
  ["gateway.nodes", "hot"],
  ["gateway.push.apns.relay", "hot"],
  ["gateway.terminal", "hot"],
  ["gateway.trustedProxies", "hot"],
  ["gateway.allowRealIpFallback", "hot"],
  ["gateway.publicOrigin", "hot"],
  ["gateway.auth.rateLimit", "hot"],
  ["gateway.auth.allowTailscale", "hot"],
  ["gateway.auth.identityScopes", "hot"],
  ["gateway.auth.trustedProxy", "hot"],
  ["discovery.mdns.mode", "hot"],
  ["diagnostics.enabled", "hot"],
  ["agents.defaults", "hot"],
  ["agents.entries", "hot"],
  ["models", "hot"],
  ["hooks", "hot"],
  ["cron", "hot"],
  ["tools", "hot"],
  ["plugins", "hot"],
  ["channels", "hot"],
  // Command owners: read by the channel host on use (the original restarts its channels for it).
  ["commands", "hot"],
  ["auth.order", "hot"],
  ["auth.profiles", "hot"],
  ["update", "hot"],
];

const RULES = RELOAD_RULES.map(([prefix, rule]) => ({ segs: prefix.split("."), rule }));

export function classifyPath(path: readonly Segment[], opts: { authModeUnchanged: boolean } = { authModeUnchanged: true }): ReloadClass {
  let best: { len: number; rule: Rule } | undefined;
  for (const { segs, rule } of RULES) {
    if (segs.length > path.length) continue;
    if (!segs.every((s, i) => s === path[i])) continue;
    if (!best || segs.length > best.len) best = { len: segs.length, rule };
  }
  if (!best) return "restart";
  if (best.rule === "secret") return opts.authModeUnchanged ? "hot" : "restart";
  return best.rule;
}

export type ReloadMode = "off" | "hot" | "restart" | "hybrid";
export const DEFAULT_RELOAD_MODE: ReloadMode = CONFIG_DEFAULTS.gateway.reload.mode;
export const DEFAULT_DEBOUNCE_MS: number = CONFIG_DEFAULTS.gateway.reload.debounceMs;

export function reloadModeOf(cfg: OpenClawConfig | undefined): ReloadMode {
  return cfg?.gateway?.reload?.mode ?? DEFAULT_RELOAD_MODE;
}

/** Longest debounce honoured (timers cannot wait longer than 2^31-1 ms). */
export const MAX_DEBOUNCE_MS = 2_147_483_647;

export function debounceMsOf(cfg: OpenClawConfig | undefined): number {
  return Math.min(cfg?.gateway?.reload?.debounceMs ?? DEFAULT_DEBOUNCE_MS, MAX_DEBOUNCE_MS);
}

export interface ReloadPlan {
  /** Every changed key, formatted (`gateway.port`, `models.providers.openai.apiKey`). */
  changed: string[];
  none: string[];
  hot: string[];
  restart: string[];
  /** Changed keys as segments, by class (used to revert skipped keys). */
  segments: Record<ReloadClass, Segment[][]>;
}

/** Diff two effective configs and classify every changed key. */
export function planReload(oldCfg: unknown, newCfg: unknown, opts: { authModeUnchanged: boolean } = { authModeUnchanged: true }): ReloadPlan {
  const plan: ReloadPlan = { changed: [], none: [], hot: [], restart: [], segments: { none: [], hot: [], restart: [] } };
  for (const segs of diffPaths(oldCfg, newCfg)) {
    const cls = classifyPath(segs, opts);
    const label = formatKeyPath(segs);
    plan.changed.push(label);
    plan[cls].push(label);
    plan.segments[cls].push(segs);
  }
  return plan;
}

export type ReloadDecision =
  /** Nothing changed. */
  | { action: "unchanged" }
  /** Watching is off: the edit is ignored. */
  | { action: "ignore" }
  /** Swap the snapshot in place; `skipped` keys (mode hot) keep their running values. */
  | { action: "hot"; skipped: string[] }
  | { action: "restart" };

export function decideReload(mode: ReloadMode, plan: ReloadPlan): ReloadDecision {
  if (plan.changed.length === 0) return { action: "unchanged" };
  switch (mode) {
    case "off":
      return { action: "ignore" };
    case "hot":
      return { action: "hot", skipped: plan.restart };
    case "restart":
      return plan.hot.length > 0 || plan.restart.length > 0 ? { action: "restart" } : { action: "hot", skipped: [] };
    case "hybrid":
      return plan.restart.length > 0 ? { action: "restart" } : { action: "hot", skipped: [] };
  }
}

/** `next` with the values at `paths` taken from `prev` (absent in `prev` → removed). */
export function revertPaths<T>(next: T, prev: unknown, paths: Segment[][]): T {
  let out = next;
  for (const segs of paths) {
    const old = getAtPath(prev, segs);
    out = old.found ? setAtPath(out, segs, structuredClone(old.value)) : (unsetAtPath(out, segs) ?? out);
  }
  return out;
}

/**
 * Watch one config file for edits, including editors that replace it by rename: the watch is on
 * the file's directory, filtered by name, and debounced so a burst of writes is one callback.
 */
export class ConfigFileWatcher {
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setTimeout>;
  private readonly name: string;

  constructor(
    readonly path: string,
    private debounceMs: number,
    private readonly onChange: () => void,
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.name = basename(path);
  }

  get active(): boolean {
    return this.watcher !== undefined;
  }

  /** Start watching; false (and `onError`) when the directory cannot be watched. */
  start(): boolean {
    if (this.watcher) return true;
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        // Some platforms give no name; the reload itself ignores unchanged content.
        if (filename == null || String(filename) === this.name) this.schedule();
      });
      this.watcher.on("error", (err) => {
        this.onError(`config watch failed: ${(err as Error).message}`);
        this.close();
      });
      return true;
    } catch (err) {
      this.onError(`cannot watch ${dirname(this.path)}: ${(err as Error).message}`);
      this.watcher = undefined;
      return false;
    }
  }

  setDebounce(ms: number): void {
    this.debounceMs = ms;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.debounceMs);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.watcher?.close();
    } catch {
      // already closed
    }
    this.watcher = undefined;
  }
}
