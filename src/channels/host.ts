/**
 * The channel host: every configured chat account is a supervised task of the long-lived
 * gateway.
 *
 *   supervision  each account runs its plugin's inbound loop; a failure restarts it with
 *                exponential backoff, a fatal one (bad token) parks it as `blocked`; nothing
 *                an account does can throw out of the host. `start()` after the gateway
 *                listens, `stop()` on shutdown, `applyConfig()` on reload: accounts whose
 *                transport settings did not change keep running (policy edits apply to the
 *                next message); manually stopped accounts stay stopped.
 *   ingress      platform events are committed to the durable queue first (with the transport
 *                cursor), then drained: in order per chat, a bounded number of chats at once,
 *                retried with backoff when handling fails before the turn, dead-lettered after
 *                `maxAttempts`. A full queue stalls the platform poll (bounded memory).
 *   messages     access policy (DM pairing/allowlists, group allowlists, mention gating), the
 *                pairing reply, group context, then the injected `runTurn` (routed to an agent
 *                and session) with a typing indicator and the 👀 ack, and the reply.
 *   status       a snapshot per account (the fields `channels.status` answers with) and live
 *                probes.
 *   outbound     `send()` delivers text to any target of a configured account (automation:
 *                cron announces, heartbeat alerts) through the same client, formatting,
 *                chunking, retries and error reporting replies use; every admitted message
 *                records its session's last conversation (routes.ts) for `last` delivery.
 */
import type { Database } from "bun:sqlite";
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { agentMentionPatterns } from "./accounts.ts";
import { missingCredentials } from "./automation-seam.ts";
import { GroupHistory } from "./history.ts";
import { IngressQueue } from "./ingress.ts";
import { buildPairingReply } from "./pairing.ts";
import { PairingStore } from "./pairing-store.ts";
import { decideDirect, decideGroup, type Decision, type PolicyLabels } from "./policy.ts";
import { mainSessionKey, resolveRoute } from "./routing.ts";
import { RouteStore } from "./routes.ts";
import {
  FatalChannelError,
  type AccountClient,
  type AccountContext,
  type ChannelPlugin,
  type Env,
  type GroupScope,
  type IngestEvent,
  type InboundMessage,
  type OutboundTarget,
  type ProbeResult,
  type ReplyTarget,
  type ResolvedAccount,
  type RunTurn,
  type RuntimeStatusPatch,
  TurnDeferredError,
} from "./types.ts";
import { AbortedError, backoffMs, describeError, LruMap, sleep, type BackoffPolicy } from "./util.ts";

export const DEFAULT_RESTART: BackoffPolicy = { initialMs: 2_000, maxMs: 300_000, factor: 2, jitter: 0.2 };
export const DEFAULT_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.1 };
/** Events larger than this are stored as a marker only (platforms send far less). */
export const MAX_EVENT_BYTES = 256 * 1024;
const ERROR_COOLDOWN_MS = 10 * 60 * 1000;
const STOP_GRACE_MS = 10_000;
/** How long a reply waits for typing/ack calls still in flight. */
const SIDE_CALL_WAIT_MS = 2_000;

export interface ChannelHostOptions {
  config: OpenClawConfig;
  env?: Env;
  stateDir: string;
  /** The config file (channels.logout writes it). */
  configPath?: string;
  /** The gateway database (durable ingress). */
  db: Database;
  runTurn: RunTurn;
  log: Logger;
  plugins: ChannelPlugin[];
  fetch?: typeof fetch;
  pairing?: PairingStore;
  restart?: BackoffPolicy;
  retry?: BackoffPolicy;
  /** Chats processed at once per account. */
  maxConcurrentTurns?: number;
  /** Pending events per account before the platform poll waits. */
  maxPending?: number;
  /** Failed handling attempts before an event becomes a dead letter. */
  maxAttempts?: number;
  now?: () => number;
  /** Called (at most once per macrotask) when an account's lifecycle, connection or error changed. */
  onStateChange?: () => void;
}

export type Lifecycle = "stopped" | "starting" | "ready" | "recovering" | "blocked";

export interface AccountState {
  lifecycle: Lifecycle;
  running: boolean;
  connected: boolean;
  reconnectAttempts: number;
  lastConnectedAt: number | null;
  lastEventAt: number | null;
  lastTransportActivityAt: number | null;
  lastStartAt: number | null;
  lastStopAt: number | null;
  lastInboundAt: number | null;
  lastOutboundAt: number | null;
  lastError: string | null;
  healthState?: string;
  terminalDisconnect?: boolean;
  stateReason?: string;
  probe?: ProbeResult;
  lastProbeAt: number | null;
  activeRuns: number;
  lastRunActivityAt: number | null;
  /** Plugin-reported fields (webhook port, bot username, …). */
  extra: Record<string, unknown>;
}

export interface StartOutcome {
  channel: string;
  accountId: string;
  started: boolean;
  outcome: { status: "handed-off" } | { status: "retry"; reason: string } | { status: "skipped"; reason: string };
}

class RetryableError extends Error {
  override name = "RetryableError";
}

function freshState(): AccountState {
  return {
    lifecycle: "stopped",
    running: false,
    connected: false,
    reconnectAttempts: 0,
    lastConnectedAt: null,
    lastEventAt: null,
    lastTransportActivityAt: null,
    lastStartAt: null,
    lastStopAt: null,
    lastInboundAt: null,
    lastOutboundAt: null,
    lastError: null,
    lastProbeAt: null,
    activeRuns: 0,
    lastRunActivityAt: null,
    extra: {},
  };
}

/** One account: its inbound loop, its drain, its status. */
export class AccountSupervisor {
  readonly state: AccountState = freshState();
  readonly history = new GroupHistory();
  client: AccountClient;
  manualStop = false;
  private loop?: Promise<void>;
  private transport?: AbortController;
  private life?: AbortController;
  private stopping = false;
  private stopInFlight?: Promise<void>;
  private busy = new Set<string>();
  private inflight = new Map<string, Promise<void>>();
  private capacityWaiters = new Set<() => void>();
  private attempt = 0;
  private errorCooldown = new LruMap<string, number>(500);

  constructor(
    readonly host: ChannelHost,
    readonly plugin: ChannelPlugin,
    public account: ResolvedAccount,
  ) {
    this.client = host.makeClient(plugin, account);
  }

  get key(): string {
    return `${this.plugin.meta.id}:${this.account.accountId}`;
  }

  get log(): Logger {
    return this.host.log.child(`channels/${this.plugin.meta.id}`);
  }

  get isRunning(): boolean {
    return this.loop !== undefined;
  }

  get isStopping(): boolean {
    return this.stopInFlight !== undefined;
  }

  /** Replace the account config; a new client when the transport changed. */
  update(account: ResolvedAccount): void {
    const transportChanged = account.transportKey !== this.account.transportKey;
    this.account = account;
    if (transportChanged) this.client = this.host.makeClient(this.plugin, account);
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.life = new AbortController();
    this.state.terminalDisconnect = undefined;
    this.state.healthState = undefined;
    this.state.stateReason = undefined;
    this.attempt = 0;
    this.loop = this.runLoop().finally(() => {
      this.loop = undefined;
    });
    this.pump();
  }

  async stop(): Promise<void> {
    if (this.stopInFlight) return this.stopInFlight;
    if (!this.loop && this.inflight.size === 0) return;
    this.stopping = true;
    this.life?.abort();
    this.transport?.abort();
    for (const wake of this.capacityWaiters) wake();
    this.stopInFlight = (async () => {
      const settle = Promise.allSettled([this.loop, ...this.inflight.values()]);
      const timer = sleep(STOP_GRACE_MS).then(() => "timeout" as const);
      if ((await Promise.race([settle, timer])) === "timeout") this.log.warn(`[${this.account.accountId}] stop: in-flight work did not finish within ${STOP_GRACE_MS} ms`);
    })().finally(() => {
      this.stopInFlight = undefined;
    });
    return this.stopInFlight;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  private async runLoop(): Promise<void> {
    const { plugin } = this;
    const log = this.log;
    while (!this.stopping) {
      const ctrl = new AbortController();
      this.transport = ctrl;
      this.state.lastStartAt = this.host.now();
      this.state.running = true;
      this.state.lifecycle = this.attempt > 0 ? "recovering" : "starting";
      this.changed();
      try {
        await plugin.run(this.context(ctrl.signal));
        if (this.stopping) break;
        throw new Error("channel exited");
      } catch (err) {
        if (this.stopping) break;
        const message = describeError(err);
        this.state.connected = false;
        this.state.lastError = message;
        if (err instanceof FatalChannelError) {
          log.error(`[${this.account.accountId}] channel exited: ${message}`);
          log.info(`[${this.account.accountId}] auto-restart skipped, terminal disconnect`);
          this.state.lifecycle = "blocked";
          this.state.terminalDisconnect = true;
          this.state.healthState = "terminal-disconnect";
          this.state.running = false;
          this.state.lastStopAt = this.host.now();
          this.changed();
          return;
        }
        this.attempt += 1;
        this.state.reconnectAttempts = this.attempt;
        this.state.lifecycle = "recovering";
        this.changed();
        const delay = backoffMs(this.host.restartPolicy, this.attempt);
        log.warn(`[${this.account.accountId}] channel exited: ${message}; restarting in ${delay} ms (attempt ${this.attempt})`);
        try {
          await sleep(delay, this.life?.signal);
        } catch {
          break;
        }
      }
    }
    this.state.running = false;
    this.state.connected = false;
    this.state.lifecycle = "stopped";
    this.state.lastStopAt = this.host.now();
    this.changed();
  }

  /** The last failed delivery, while it is what `lastError` shows. */
  private outboundError?: string;

  /** A reply could not be delivered (after the client's retries): logged and shown as lastError. */
  outboundFailed(message: string): void {
    this.log.warn(`[${this.account.accountId}] ${message}`);
    this.outboundError = message;
    this.state.lastError = message;
    this.changed();
  }

  /** A delivery worked: a delivery error shown as lastError is cleared. */
  outboundRecovered(): void {
    if (this.outboundError === undefined) return;
    if (this.state.lastError === this.outboundError) this.state.lastError = null;
    this.outboundError = undefined;
    this.changed();
  }

  /** The last state the host was told about (see `changed`). */
  private reported = "";

  /** Tell the host when what health shows of this account changed (lifecycle, connection, error). */
  changed(): void {
    const s = this.state;
    const now = `${s.lifecycle}|${s.running}|${s.connected}|${s.lastError ?? ""}`;
    if (now === this.reported) return;
    this.reported = now;
    this.host.stateChanged();
  }

  private context(signal: AbortSignal): AccountContext {
    const host = this.host;
    const key = this.key;
    return {
      account: this.account,
      client: this.client,
      signal,
      log: this.log.child(`${this.plugin.meta.id}/${this.account.accountId}`),
      fetch: host.fetchImpl,
      env: host.env,
      cursor: () => host.ingress.cursor(key),
      status: (patch) => this.patch(patch),
      ingest: (events, cursor) => this.ingest(events, cursor, signal),
    };
  }

  private patch(patch: RuntimeStatusPatch): void {
    const { connected, lastConnectedAt, lastTransportActivityAt, reconnectAttempts, lastError, ...extra } = patch;
    const now = this.host.now();
    if (connected !== undefined) {
      this.state.connected = connected;
      if (connected) {
        this.state.lifecycle = "ready";
        this.state.lastConnectedAt = lastConnectedAt ?? now;
        this.state.lastTransportActivityAt = now;
        this.state.lastError = null;
        this.attempt = 0;
        this.state.reconnectAttempts = 0;
      }
    }
    if (lastConnectedAt !== undefined && connected === undefined) this.state.lastConnectedAt = lastConnectedAt;
    if (connected !== undefined || lastError !== undefined) this.changed();
    if (lastTransportActivityAt !== undefined) this.state.lastTransportActivityAt = lastTransportActivityAt;
    if (reconnectAttempts !== undefined) this.state.reconnectAttempts = reconnectAttempts;
    if (lastError !== undefined) this.state.lastError = lastError;
    Object.assign(this.state.extra, extra);
  }

  private async ingest(events: IngestEvent[], cursor: string | undefined, signal: AbortSignal): Promise<void> {
    const max = this.host.maxPending;
    while (!signal.aborted && this.host.ingress.pendingCount(this.key) >= max) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.capacityWaiters.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.capacityWaiters.add(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
    if (signal.aborted) throw new DOMException("ingest aborted", "AbortError");
    const safe = events.map((e) => {
      const bytes = JSON.stringify(e.payload ?? null).length;
      if (bytes <= MAX_EVENT_BYTES) return e;
      this.log.warn(`[${this.account.accountId}] inbound event ${e.id} is ${bytes} bytes; stored without its payload`);
      return { ...e, payload: { oversized: true, bytes } };
    });
    this.host.ingress.enqueue(this.key, safe, cursor);
    const now = this.host.now();
    this.state.lastEventAt = now;
    this.state.lastTransportActivityAt = now;
    this.pump();
  }

  /** Start processing the next event of every idle lane, up to the concurrency limit. */
  pump(): void {
    if (this.stopping || !this.loop) return;
    const room = this.host.maxConcurrentTurns - this.busy.size;
    if (room <= 0) return;
    let heads;
    try {
      heads = this.host.ingress.heads(this.key, this.busy, room);
    } catch (err) {
      this.log.error(`[${this.account.accountId}] ingress queue read failed: ${describeError(err)}`);
      return;
    }
    for (const ev of heads) {
      this.busy.add(ev.lane);
      const run = this.process(ev.id, ev.lane, ev.payload).finally(() => this.inflight.delete(ev.id));
      this.inflight.set(ev.id, run);
    }
  }

  private async process(id: string, lane: string, payload: unknown): Promise<void> {
    let release = true;
    try {
      const meta = { account: this.account, client: this.client, log: this.log };
      const msg = payload && typeof payload === "object" && (payload as { oversized?: boolean }).oversized ? null : await this.plugin.decode(payload, meta);
      if (msg) await this.host.handle(this, msg);
      this.host.ingress.complete(this.key, id);
    } catch (err) {
      if (this.stopping) return; // left pending: replayed on the next start
      const message = describeError(err);
      let verdict: "retry" | "dead" = "dead";
      let attempts = 1;
      try {
        ({ verdict, attempts } = this.host.ingress.fail(this.key, id, message, this.host.maxAttempts));
      } catch (dbErr) {
        this.log.error(`[${this.account.accountId}] ingress queue write failed: ${describeError(dbErr)}`);
      }
      if (verdict === "dead") {
        this.log.warn(`[${this.account.accountId}] inbound event ${id} failed after ${this.host.maxAttempts} attempts: ${message}`);
      } else {
        // Keep the lane busy until the retry is due, so later events of the chat wait their turn.
        release = false;
        const delay = backoffMs(this.host.retryPolicy, attempts);
        this.log.warn(`[${this.account.accountId}] inbound event ${id} failed (${message}); retrying in ${delay} ms`);
        void sleep(delay, this.life?.signal)
          .catch(() => {})
          .finally(() => {
            this.busy.delete(lane);
            this.pump();
          });
      }
    } finally {
      if (release) {
        this.busy.delete(lane);
        for (const wake of [...this.capacityWaiters]) wake();
        queueMicrotask(() => this.pump());
      }
    }
  }

  /** errorPolicy `once`: true the first time an error text is seen in a chat within the cooldown. */
  shouldReportError(chatKey: string, text: string): boolean {
    const key = `${chatKey}\n${text}`;
    const now = this.host.now();
    const last = this.errorCooldown.get(key);
    if (last !== undefined && now - last < ERROR_COOLDOWN_MS) return false;
    this.errorCooldown.set(key, now);
    return true;
  }

  get lifeSignal(): AbortSignal | undefined {
    return this.life?.signal;
  }
}

/** Built-in chat commands the host answers itself (the rest go to the agent). */
const BUILTIN_COMMANDS = new Set(["whoami", "help"]);

export class ChannelHost {
  readonly log: Logger;
  /** The environment tokens and base URLs come from (replaced with the config on reload). */
  env: Env;
  readonly fetchImpl: typeof fetch;
  readonly ingress: IngressQueue;
  readonly routes: RouteStore;
  readonly pairing: PairingStore;
  readonly plugins: ReadonlyMap<string, ChannelPlugin>;
  readonly restartPolicy: BackoffPolicy;
  readonly retryPolicy: BackoffPolicy;
  readonly maxConcurrentTurns: number;
  readonly maxPending: number;
  readonly maxAttempts: number;
  readonly now: () => number;
  readonly stateDir: string;
  readonly configPath?: string;
  private config: OpenClawConfig;
  private readonly runTurnFn: RunTurn;
  private readonly sups = new Map<string, AccountSupervisor>();
  private started = false;
  private ownsPairing: boolean;
  private readonly onStateChange?: () => void;
  private changeQueued = false;

  constructor(opts: ChannelHostOptions) {
    this.config = opts.config;
    this.env = opts.env ?? process.env;
    this.log = opts.log;
    this.fetchImpl = opts.fetch ?? fetch;
    this.ingress = new IngressQueue(opts.db, opts.now);
    this.routes = new RouteStore(opts.db, opts.now);
    this.ownsPairing = !opts.pairing;
    // A short lock wait: a busy pairing store (the official CLI mid-write) is retried later
    // instead of stalling the event loop.
    this.pairing = opts.pairing ?? new PairingStore(opts.stateDir, { busyTimeoutMs: 100 });
    this.plugins = new Map(opts.plugins.map((p) => [p.meta.id, p]));
    this.restartPolicy = opts.restart ?? DEFAULT_RESTART;
    this.retryPolicy = opts.retry ?? DEFAULT_RETRY;
    this.maxConcurrentTurns = Math.max(1, opts.maxConcurrentTurns ?? 4);
    this.maxPending = Math.max(1, opts.maxPending ?? 1000);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.now = opts.now ?? Date.now;
    this.stateDir = opts.stateDir;
    this.configPath = opts.configPath;
    this.runTurnFn = opts.runTurn;
    this.onStateChange = opts.onStateChange;
    for (const [key, { plugin, account }] of this.resolveAll(this.config)) this.sups.set(key, new AccountSupervisor(this, plugin, account));
  }

  /** An account's state changed: tell the owner once the current burst of changes is over. */
  stateChanged(): void {
    if (!this.onStateChange || this.changeQueued) return;
    this.changeQueued = true;
    setTimeout(() => {
      this.changeQueued = false;
      try {
        this.onStateChange?.();
      } catch (err) {
        this.log.warn(`channel state listener failed: ${describeError(err)}`);
      }
    }, 0);
  }

  get currentConfig(): OpenClawConfig {
    return this.config;
  }

  makeClient(plugin: ChannelPlugin, account: ResolvedAccount): AccountClient {
    return plugin.createClient(account, { fetch: this.fetchImpl, log: this.log.child(`channels/${plugin.meta.id}`), env: this.env });
  }

  private resolveAll(cfg: OpenClawConfig): Map<string, { plugin: ChannelPlugin; account: ResolvedAccount }> {
    const out = new Map<string, { plugin: ChannelPlugin; account: ResolvedAccount }>();
    for (const plugin of this.plugins.values()) {
      let ids: string[] = [];
      try {
        ids = plugin.listAccountIds(cfg, this.env);
      } catch (err) {
        this.log.error(`channels/${plugin.meta.id}: cannot list accounts: ${describeError(err)}`);
      }
      for (const id of ids) {
        try {
          out.set(`${plugin.meta.id}:${id}`, { plugin, account: plugin.resolveAccount(cfg, id, this.env) });
        } catch (err) {
          this.log.error(`channels/${plugin.meta.id}: cannot resolve account ${id}: ${describeError(err)}`);
        }
      }
    }
    return out;
  }

  private shouldRun(account: ResolvedAccount): boolean {
    return account.enabled && account.configured && !account.blockedReason;
  }

  /** Start every enabled, configured account (call once the gateway listens). */
  async start(): Promise<void> {
    this.started = true;
    for (const sup of this.sups.values()) this.startSup(sup);
  }

  private startSup(sup: AccountSupervisor): void {
    if (sup.manualStop) return;
    if (sup.account.blockedReason) {
      sup.state.lastError = sup.account.blockedReason;
      sup.state.lifecycle = "blocked";
      sup.changed();
      return;
    }
    if (!this.shouldRun(sup.account)) return;
    sup.start();
  }

  /** Stop every account (gateway shutdown). Events in flight stay queued and replay on start. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.allSettled([...this.sups.values()].map((s) => s.stop()));
    if (this.ownsPairing) this.pairing.close();
  }

  /**
   * Apply a new config: removed accounts stop, accounts whose transport settings changed
   * restart, the others keep running with the new settings (next message), new accounts start.
   */
  async applyConfig(cfg: OpenClawConfig, env?: Env): Promise<void> {
    this.config = cfg;
    if (env) this.env = env;
    const desired = this.resolveAll(cfg);
    const work: Promise<void>[] = [];
    for (const [key, sup] of this.sups) {
      const next = desired.get(key);
      if (!next) {
        work.push(sup.stop());
        this.sups.delete(key);
        continue;
      }
      const transportChanged = next.account.transportKey !== sup.account.transportKey;
      sup.update(next.account);
      if (!this.shouldRun(next.account)) {
        work.push(sup.stop());
        if (!next.account.configured) sup.state.stateReason = "not configured";
        continue;
      }
      if (!this.started || sup.manualStop) continue;
      if (transportChanged && (sup.isRunning || sup.state.lifecycle === "blocked")) {
        this.log.info(`channels/${sup.plugin.meta.id}: restarting account ${sup.account.accountId} (transport settings changed)`);
        work.push(sup.restart());
      } else if (!sup.isRunning && sup.state.lifecycle !== "blocked") {
        this.startSup(sup);
      }
    }
    for (const [key, { plugin, account }] of desired) {
      if (this.sups.has(key)) continue;
      const sup = new AccountSupervisor(this, plugin, account);
      this.sups.set(key, sup);
      if (this.started) this.startSup(sup);
    }
    await Promise.allSettled(work);
    this.stateChanged();
  }

  supervisor(channel: string, accountId?: string): AccountSupervisor | undefined {
    const plugin = this.plugins.get(channel);
    if (!plugin) return undefined;
    const id = (accountId?.trim() || plugin.defaultAccountId(this.config, this.env)).toLowerCase();
    return this.sups.get(`${channel}:${id}`);
  }

  listSupervisors(channel?: string): AccountSupervisor[] {
    return [...this.sups.values()].filter((s) => !channel || s.plugin.meta.id === channel);
  }

  defaultAccountId(channel: string): string {
    const plugin = this.plugins.get(channel);
    return plugin ? plugin.defaultAccountId(this.config, this.env) : "default";
  }

  /** `channels.start`: start one account, overriding a manual stop. */
  async startAccount(channel: string, accountId?: string): Promise<StartOutcome> {
    const plugin = this.plugins.get(channel);
    if (!plugin) throw new UnknownChannelError(channel);
    const id = (accountId?.trim() || plugin.defaultAccountId(this.config, this.env)).toLowerCase();
    const sup = this.sups.get(`${channel}:${id}`);
    const base = { channel, accountId: id };
    if (!sup) return { ...base, started: false, outcome: { status: "skipped", reason: "unconfigured" } };
    if (sup.isStopping) return { ...base, started: sup.state.running, outcome: { status: "retry", reason: "stop-in-flight" } };
    if (sup.isRunning) return { ...base, started: sup.state.running, outcome: { status: "retry", reason: "task-owned" } };
    if (!sup.account.enabled) return { ...base, started: false, outcome: { status: "skipped", reason: "disabled" } };
    if (!sup.account.configured) return { ...base, started: false, outcome: { status: "skipped", reason: "unconfigured" } };
    sup.manualStop = false;
    this.startSup(sup);
    return { ...base, started: sup.state.running, outcome: sup.isRunning ? { status: "handed-off" } : { status: "skipped", reason: "unconfigured" } };
  }

  /** `channels.stop`: stop one account without touching its credentials. */
  async stopAccount(channel: string, accountId?: string): Promise<{ channel: string; accountId: string; stopped: boolean }> {
    const plugin = this.plugins.get(channel);
    if (!plugin) throw new UnknownChannelError(channel);
    const id = (accountId?.trim() || plugin.defaultAccountId(this.config, this.env)).toLowerCase();
    const sup = this.sups.get(`${channel}:${id}`);
    if (sup) {
      sup.manualStop = true;
      await sup.stop();
    }
    return { channel, accountId: id, stopped: !sup?.state.running };
  }

  /** Probe every configured account (or one channel's), concurrently and bounded in time. */
  async probeAll(opts: { channel?: string; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = Math.max(1000, Math.min(opts.timeoutMs ?? 10_000, 30_000));
    const targets = this.listSupervisors(opts.channel).filter((s) => s.account.configured);
    await Promise.allSettled(
      targets.map(async (sup) => {
        const started = this.now();
        let result: ProbeResult;
        try {
          result = await withTimeout(sup.client.probe(timeoutMs), timeoutMs + 500);
        } catch (err) {
          result = { ok: false, status: null, error: describeError(err), elapsedMs: this.now() - started };
        }
        sup.state.probe = result;
        sup.state.lastProbeAt = this.now();
      }),
    );
  }

  // --- messages ------------------------------------------------------------------------------

  /** Decide and act on one inbound message. Throws only before a turn starts (then it is retried). */
  async handle(sup: AccountSupervisor, msg: InboundMessage): Promise<void> {
    const { plugin } = sup;
    const account = sup.account;
    const log = sup.log;
    const channel = plugin.meta.id;
    if (msg.sender.isBot && !botAllowed(account, msg)) {
      log.debug(`[${account.accountId}] ignoring bot message ${msg.messageId} from ${msg.sender.id}`);
      return;
    }
    const cfg = this.config;
    const scope: GroupScope | undefined = msg.chat.kind === "direct" ? undefined : plugin.groupScope(account, msg);
    const route = resolveRoute(cfg, msg, { defaultAccountId: plugin.defaultAccountId(cfg, this.env), topicAgentId: scope?.agentId });
    const access = { ...account.access, mentionPatterns: agentMentionPatterns(cfg, route.agentId) ?? account.access.mentionPatterns };
    const labels: PolicyLabels = { channel, groupNoun: plugin.meta.groupNoun, groupsKey: plugin.meta.groupsKey };
    let decision: Decision;
    if (msg.chat.kind === "direct") {
      let approved: string[] = [];
      if (access.dmPolicy === "pairing" || access.dmPolicy === "allowlist") {
        try {
          approved = this.pairing.readAllowFrom(channel, account.accountId).map((e) => plugin.normalizeAllowEntry(e)).filter(Boolean);
        } catch (err) {
          throw new RetryableError(`pairing store unavailable: ${describeError(err)}`);
        }
      }
      decision = decideDirect(access, approved, msg, labels);
    } else {
      decision = decideGroup(access, scope!, msg, labels);
    }
    const target: ReplyTarget = { chatId: msg.chat.id, kind: msg.chat.kind, threadId: msg.chat.threadId, messageId: msg.messageId };
    const chatKey = `${msg.chat.id}:${msg.chat.threadId ?? ""}`;
    switch (decision.action) {
      case "drop":
        log.info(`[${account.accountId}] ${decision.log}`);
        return;
      case "context":
        log.info(`[${account.accountId}] ${decision.log}`);
        sup.history.add(chatKey, { senderId: msg.sender.id, sender: senderLabel(msg), text: msg.text, messageId: msg.messageId, timestamp: msg.timestamp }, access.historyLimit);
        return;
      case "pairing":
        await this.pairingChallenge(sup, msg, target);
        return;
      case "run":
        break;
    }
    if (msg.command && BUILTIN_COMMANDS.has(msg.command)) {
      await this.deliver(sup, target, builtinReply(plugin, msg));
      return;
    }
    this.rememberConversation(sup, msg, route);
    await this.turn(sup, msg, target, chatKey, route, scope, decision.mentioned);
  }

  /**
   * The session's last conversation is now this chat (where `last` delivery goes), except that
   * a DM from someone other than the account's one allowlisted sender does not move the shared
   * main session's route away from its owner.
   */
  private rememberConversation(sup: AccountSupervisor, msg: InboundMessage, route: ReturnType<typeof resolveRoute>): void {
    if (msg.chat.kind === "direct" && route.sessionKey === mainSessionKey(route.agentId, this.config)) {
      const owners = sup.account.access.allowFrom.filter((e) => e !== "*" && !e.endsWith(":*"));
      if (owners.length === 1 && owners[0] !== sup.plugin.normalizeAllowEntry(msg.sender.id)) return;
    }
    try {
      this.routes.record({
        sessionKey: route.sessionKey,
        agentId: route.agentId,
        channel: sup.plugin.meta.id,
        accountId: sup.account.accountId,
        chatId: msg.chat.id,
        kind: msg.chat.kind,
        threadId: msg.chat.threadId,
        peerId: msg.chat.kind === "direct" ? msg.sender.id : undefined,
      });
    } catch (err) {
      // A route that cannot be stored only affects later `last` delivery, never this reply.
      sup.log.warn(`[${sup.account.accountId}] cannot store the conversation route of ${route.sessionKey}: ${describeError(err)}`);
    }
  }

  // --- outbound ------------------------------------------------------------------------------

  /** Channels with at least one enabled account that has credentials, sorted. */
  configuredChannelIds(): string[] {
    const ids = new Set<string>();
    for (const sup of this.sups.values()) if (sup.account.enabled && sup.account.configured) ids.add(sup.plugin.meta.id);
    return [...ids].sort();
  }

  /**
   * Send text to a target of a configured account: the reply path's client (formatting,
   * chunking, the platform's rate-limit retries), with failures logged and shown in the
   * account's status. Never throws.
   */
  async send(msg: OutboundMessage): Promise<OutboundReceipt> {
    const plugin = this.plugins.get(msg.channel);
    const accountId = (msg.accountId?.trim() || (plugin ? plugin.defaultAccountId(this.config, this.env) : "default")).toLowerCase();
    const base = { channel: msg.channel, accountId, to: msg.to, messageIds: [] as string[] };
    if (!plugin) return { ...base, ok: false, error: `Unsupported channel: ${msg.channel}` };
    const label = plugin.meta.label;
    const sup = this.sups.get(`${plugin.meta.id}:${accountId}`);
    if (!sup) return { ...base, ok: false, error: `${label} account "${accountId}" is not configured` };
    if (!sup.account.enabled) return { ...base, ok: false, error: `${label} account "${accountId}" is disabled` };
    if (!sup.account.configured) return { ...base, ok: false, error: missingCredentials(plugin.meta.id, accountId) };
    const parsed = plugin.parseTarget(msg.to, msg.threadId);
    if (!parsed.ok) return { ...base, ok: false, error: parsed.error };
    const to = parsed.to;
    const threadId = parsed.target.threadId;
    const sent: string[] = [];
    try {
      const target = await this.outboundTarget(sup, parsed.target);
      await sup.client.sendText(target, msg.text, sent);
      sup.state.lastOutboundAt = this.now();
      sup.outboundRecovered();
      sup.log.info(`[${accountId}] ${msg.purpose} sent to ${to} (${sent.length} message${sent.length === 1 ? "" : "s"})`);
      return { ...base, to, ...(threadId ? { threadId } : {}), ok: true, messageIds: sent };
    } catch (err) {
      const reason = describeError(err);
      sup.outboundFailed(`${msg.purpose} to ${to} failed: ${reason}`);
      if (sent.length) sup.state.lastOutboundAt = this.now();
      return {
        ...base,
        to,
        ...(threadId ? { threadId } : {}),
        ok: false,
        messageIds: sent,
        error: `${label} send failed (${to}): ${reason}${sent.length ? ` (after ${sent.length} of the message's parts were sent)` : ""}`,
        // Part of it went out, or the platform never answered: it may have reached the recipient.
        uncertain: sent.length > 0 || platformStatus(err) === undefined,
      };
    }
  }

  /** A user target (Discord `user:<id>`) becomes the DM chat with them. */
  private async outboundTarget(sup: AccountSupervisor, target: OutboundTarget): Promise<ReplyTarget> {
    if (target.userId === undefined) return target;
    const chatId = sup.client.openDirect ? await sup.client.openDirect(target.userId) : target.userId;
    return { chatId, kind: "direct", ...(target.threadId ? { threadId: target.threadId } : {}) };
  }

  private async pairingChallenge(sup: AccountSupervisor, msg: InboundMessage, target: ReplyTarget): Promise<void> {
    const { plugin, account } = sup;
    const channel = plugin.meta.id;
    let result: { code: string; created: boolean };
    try {
      result = this.pairing.upsertRequest({
        channel,
        accountId: account.accountId,
        id: msg.sender.id,
        meta: { username: msg.sender.username, firstName: msg.sender.firstName ?? msg.sender.name, lastName: msg.sender.lastName },
      });
    } catch (err) {
      throw new RetryableError(`pairing store unavailable: ${describeError(err)}`);
    }
    if (!result.created) return;
    const who = [`chatId=${msg.chat.id}`, `senderUserId=${msg.sender.id}`, msg.sender.username ? `username=${msg.sender.username}` : "", msg.sender.firstName ? `firstName=${msg.sender.firstName}` : ""]
      .filter(Boolean)
      .join(" ");
    sup.log.info(`[${account.accountId}] ${channel} pairing request ${who}`);
    try {
      await sup.client.sendText(target, buildPairingReply(channel, plugin.pairingIdLine(msg.sender.id), result.code));
      sup.outboundRecovered();
    } catch (err) {
      sup.outboundFailed(`${channel} pairing reply failed for chat ${msg.chat.id}: ${describeError(err)}`);
    }
  }

  private async turn(
    sup: AccountSupervisor,
    msg: InboundMessage,
    target: ReplyTarget,
    chatKey: string,
    route: ReturnType<typeof resolveRoute>,
    scope: GroupScope | undefined,
    mentioned: boolean,
  ): Promise<void> {
    const { plugin, account, client } = sup;
    const log = sup.log;
    const now = this.now();
    sup.state.lastInboundAt = now;
    sup.state.activeRuns += 1;
    sup.state.lastRunActivityAt = now;
    const history = msg.chat.kind === "direct" ? [] : sup.history.take(chatKey);
    const signal = sup.lifeSignal ?? new AbortController().signal;
    // Side calls (typing, the ack) never delay the turn, but the reply waits (briefly) for those
    // in flight: a typing call landing after the reply would show "typing…" under the answer.
    const side = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      side.add(p);
      void p.finally(() => side.delete(p));
      return p;
    };
    const typing = () => track(client.sendTyping(target).catch((err) => log.debug(`[${account.accountId}] typing failed: ${describeError(err)}`)));
    const firstTyping = typing();
    const timer = setInterval(typing, plugin.typingIntervalMs);
    timer.unref?.();
    const emoji = ackEmoji(this.config, account);
    if (emoji && ackInScope(this.config, msg, mentioned)) {
      // After the first typing call, as the original orders them.
      track(firstTyping.then(() => client.react(target, emoji)).catch((err) => log.debug(`[${account.accountId}] ack reaction failed: ${describeError(err)}`)));
    }
    let text: string | undefined;
    try {
      const result = await this.runTurnFn({
        agentId: route.agentId,
        sessionKey: route.sessionKey,
        channel: plugin.meta.id,
        accountId: account.accountId,
        peer: route.peer,
        chat: msg.chat,
        sender: msg.sender,
        messageId: msg.messageId,
        text: msg.text,
        history,
        systemPrompt: scope?.systemPrompt,
        wasMentioned: mentioned,
        signal,
      });
      text = result?.text?.trim() ? result.text : undefined;
    } catch (err) {
      if (signal.aborted) throw new AbortedError("stopped during the turn");
      if (err instanceof TurnDeferredError) {
        sup.history.restore(chatKey, history, account.access.historyLimit);
        throw err;
      }
      const reason = describeError(err);
      log.warn(`[${account.accountId}] agent turn failed for ${route.sessionKey}: ${reason}`);
      const policy = scope?.errorPolicy ?? account.config.errorPolicy ?? "always";
      if (policy === "always" || (policy === "once" && sup.shouldReportError(chatKey, reason))) text = `⚠️ The agent could not answer: ${reason}`;
    } finally {
      clearInterval(timer);
      sup.state.activeRuns = Math.max(0, sup.state.activeRuns - 1);
      sup.state.lastRunActivityAt = this.now();
    }
    // Stopped mid-turn: leave the event queued; it is handled again after the restart.
    if (signal.aborted) throw new AbortedError("stopped during the turn");
    if (side.size) await Promise.race([Promise.allSettled([...side]), sleep(SIDE_CALL_WAIT_MS).catch(() => {})]);
    if (text) await this.deliver(sup, target, text);
  }

  private async deliver(sup: AccountSupervisor, target: ReplyTarget, text: string): Promise<void> {
    try {
      await sup.client.sendText(target, text);
      sup.state.lastOutboundAt = this.now();
      sup.outboundRecovered();
    } catch (err) {
      sup.outboundFailed(`reply to ${target.chatId} failed: ${describeError(err)}`);
    }
  }
}

export interface OutboundMessage {
  channel: string;
  /** Default: the channel's default account. */
  accountId?: string;
  /** A target in the channel's grammar (see the plugin's parseTarget). */
  to: string;
  threadId?: string | number;
  text: string;
  /** What the logs call this send ("cron announce", "heartbeat alert"). */
  purpose: string;
}

export interface OutboundReceipt {
  ok: boolean;
  channel: string;
  accountId: string;
  /** The target in its canonical form. */
  to: string;
  threadId?: string;
  messageIds: string[];
  error?: string;
  /** Some of it may have reached the recipient (a partial send, or no answer from the platform). */
  uncertain?: boolean;
}

/** The HTTP status / Bot API error code a platform answered with, if it answered. */
function platformStatus(err: unknown): number | undefined {
  const e = err as { errorCode?: unknown; status?: unknown } | null;
  const code = typeof e?.errorCode === "number" ? e.errorCode : typeof e?.status === "number" ? e.status : undefined;
  return code !== undefined && code >= 400 ? code : undefined;
}

export class UnknownChannelError extends Error {
  override name = "UnknownChannelError";
  constructor(readonly channel: string) {
    super(`unknown channel: ${channel}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function senderLabel(msg: InboundMessage): string {
  return msg.sender.name || [msg.sender.firstName, msg.sender.lastName].filter(Boolean).join(" ") || msg.sender.username || msg.sender.id;
}

function botAllowed(account: ResolvedAccount, msg: InboundMessage): boolean {
  const allow = account.config.allowBots;
  if (allow === true) return true;
  if (allow === "mentions") return msg.mentioned;
  return false;
}

/** Ack emoji: account `ackReaction`, else `messages.ackReaction`, else 👀 ("" disables). */
function ackEmoji(cfg: OpenClawConfig, account: ResolvedAccount): string {
  const own = account.config.ackReaction;
  if (typeof own === "string") return own;
  const messages = (cfg as { messages?: { ackReaction?: unknown } }).messages;
  if (typeof messages?.ackReaction === "string") return messages.ackReaction;
  return "👀";
}

/** `messages.ackReactionScope` (default `group-mentions`: groups, when the bot is mentioned). */
function ackInScope(cfg: OpenClawConfig, msg: InboundMessage, mentioned: boolean): boolean {
  const scope = (cfg as { messages?: { ackReactionScope?: unknown } }).messages?.ackReactionScope ?? "group-mentions";
  const direct = msg.chat.kind === "direct";
  switch (scope) {
    case "all":
      return true;
    case "direct":
      return direct;
    case "group-all":
      return !direct;
    case "group-mentions":
      return !direct && mentioned;
    default:
      return false;
  }
}

function builtinReply(plugin: ChannelPlugin, msg: InboundMessage): string {
  if (msg.command === "whoami") {
    const lines = [plugin.pairingIdLine(msg.sender.id)];
    if (msg.chat.kind !== "direct") lines.push(`Chat id: ${msg.chat.id}${msg.chat.threadId ? ` (topic ${msg.chat.threadId})` : ""}`);
    return lines.join("\n");
  }
  return ["OpenClaw commands:", "/whoami — show your sender id", "/help — this list", "", "Anything else is sent to the agent."].join("\n");
}
