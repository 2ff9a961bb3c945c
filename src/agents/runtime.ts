/**
 * The agent side of a running gateway: the state database, agent lookup, the agent lanes every
 * run goes through, and the registry of WebSocket runs. It knows nothing about sockets or HTTP;
 * the gateway hands it a config getter, a logger and an event sink.
 *
 * Two entry points start agent work, and both admit it into the lanes first (one run per
 * session, `agents.defaults.maxConcurrent` across sessions, bounded queues):
 *   - `startRun`: a tracked run (WebSocket `agent` / `chat.send`) with events and `agent.wait`;
 *   - `runTurn`: one turn awaited by its caller (HTTP surfaces, and channels and cron next).
 * Aborts go through `abortRun` / `abortSession` (`chat.abort`, `sessions.abort`).
 */
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { dbPath, openDatabase } from "../store/db.ts";
import { SessionStore, type SessionRow, type StoredMessage } from "../store/sessions.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ModelRef } from "../providers/refs.ts";
import { AgentLanes, laneLimitsFrom, mayAbort, type LaneStats, type Requester, type RunOwner } from "./lanes.ts";
import { PROMPT_NONE_NEEDS_MODEL_RUN, resolveModelOverride, RunRequestError, type RequestedModel } from "./model-override.ts";
import { listAgents, type AgentInfo } from "./registry.ts";
import { RunRegistry, type RunRecord } from "./runs.ts";
import type { TurnInput, TurnOutput } from "./turn.ts";

export { QueueFullError } from "./lanes.ts";
export { RunRequestError } from "./model-override.ts";

export interface StartRunInput {
  method: "agent" | "chat.send";
  agent: AgentInfo;
  sessionKey: string;
  message: string;
  idempotencyKey: string;
  /** Abort the run after this long (ms); undefined = only the provider's own timeouts. */
  timeoutMs?: number;
  channel?: string;
  /** Also emit `chat` events (chat.send). */
  chatEvents?: boolean;
  /** Who asked (connection, device): they, or an admin, may abort it. */
  owner?: RunOwner;
  /** `provider` / `model` params: a one-off override (needs `allowModelOverride`). */
  requestedModel?: RequestedModel;
  /** The caller holds `operator.admin` (the original's rule for overrides). */
  allowModelOverride?: boolean;
  /** One-shot raw model run: nothing is written to the session's transcript. */
  modelRun?: boolean;
  /** `none`: no system prompt at all (requires modelRun). */
  promptMode?: "full" | "minimal" | "none";
}

/** `runTurn` input: a turn plus its lane identity (the run id defaults to a fresh one). */
export type LaneTurnInput = TurnInput & { runId?: string; owner?: RunOwner };

export interface AbortResult {
  /** Run ids that were aborted (waiting ones first). */
  runIds: string[];
  /** Runs the requester was not allowed to abort. */
  unauthorized: number;
}

/**
 * What observers of the runtime hear (the Control UI's session events): a WebSocket run
 * starting or ending, and messages appended to a session's transcript by any turn.
 */
export type RuntimeEvent =
  | { type: "run"; phase: "start" | "end"; runId: string; sessionKey: string; agentId: string; status?: string }
  | { type: "appended"; row: SessionRow; messages: StoredMessage[] };

export interface RuntimeDeps {
  stateDir: string;
  config(): OpenClawConfig;
  log: Logger;
  /** Broadcast an `agent` / `chat` event to operators allowed to read it. */
  emit(event: "agent" | "chat", payload: unknown): void;
  env?: Record<string, string | undefined>;
}

const STORE_RETRY_MS = 10_000;

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

export class AgentRuntime {
  readonly runs: RunRegistry;
  /** Admission for every agent run (limits re-read from the config on every decision). */
  readonly lanes: AgentLanes;
  /** Observers of runs and transcript appends (an observer that throws is ignored). */
  readonly observers = new Set<(event: RuntimeEvent) => void>();
  private sessions?: SessionStore;
  private lastAttempt?: number;
  storeError?: string;

  constructor(readonly deps: RuntimeDeps) {
    this.runs = new RunRegistry();
    this.lanes = new AgentLanes(() => laneLimitsFrom(this.deps.config()));
  }

  get dbPath(): string {
    return dbPath(this.deps.stateDir);
  }

  get config(): OpenClawConfig {
    return this.deps.config();
  }

  get env(): Record<string, string | undefined> {
    return this.deps.env ?? process.env;
  }

  /** Open the database; a failure is recorded (readiness reports it) rather than thrown. */
  open(): boolean {
    if (this.sessions) return true;
    this.lastAttempt = Date.now();
    try {
      this.sessions = new SessionStore(openDatabase(this.deps.stateDir));
      this.sessions.onAppend = (row, messages) => this.notify({ type: "appended", row, messages });
      this.storeError = undefined;
      return true;
    } catch (err) {
      this.storeError = (err as Error).message ?? String(err);
      this.deps.log.error(`state database unavailable: ${this.storeError}`);
      return false;
    }
  }

  get ready(): boolean {
    return this.sessions !== undefined;
  }

  /**
   * The session store, opened on first use. Throws StoreUnavailableError when it cannot be
   * opened (retried at most every 10 s, so a broken file does not cost every request).
   */
  get store(): SessionStore {
    if (!this.sessions && (this.lastAttempt === undefined || Date.now() - this.lastAttempt >= STORE_RETRY_MS)) this.open();
    if (!this.sessions) throw new StoreUnavailableError(`session store unavailable: ${this.storeError ?? "not opened"}`);
    return this.sessions;
  }

  /** The store if open, for read-only summaries (health, status). */
  peekStore(): SessionStore | undefined {
    return this.sessions;
  }

  agents(): AgentInfo[] {
    return listAgents(this.config);
  }

  agent(id: string): AgentInfo | undefined {
    const wanted = id.toLowerCase();
    return this.agents().find((a) => a.id.toLowerCase() === wanted);
  }

  defaultAgent(): AgentInfo {
    return this.agents().find((a) => a.isDefault)!;
  }

  /**
   * Start (or find, by idempotency key) a WebSocket run: checked (model override, prompt mode)
   * and admitted into its lane synchronously, so a refusal (RunRequestError, QueueFullError)
   * is the method's answer; the turn then runs in the background once its lane lets it, streams
   * `agent` (and for chat.send `chat`) events, persists the transcript and settles the run
   * record with its final payload.
   */
  startRun(input: StartRunInput): { record: RunRecord; fresh: boolean } {
    const existing = this.runs.byIdempotencyKey(input.method, input.idempotencyKey);
    if (existing) return { record: existing, fresh: false };
    const runId = input.idempotencyKey;
    // Same id still in flight past the idempotency window: that run, not a second one.
    const live = this.runs.get(runId);
    if (live && live.status === "running") return { record: live, fresh: false };
    if (input.promptMode === "none" && !input.modelRun) throw new RunRequestError(PROMPT_NONE_NEEDS_MODEL_RUN);
    const override = input.requestedModel ? resolveModelOverride(this.config, input.agent, input.requestedModel, input.allowModelOverride === true) : undefined;
    const store = this.store;
    const controller = new AbortController();
    const ticket = this.lanes.admit({ runId, sessionKey: input.sessionKey, agentId: input.agent.id, owner: input.owner, controller });
    const acceptedAt = Date.now();
    const accepted =
      input.method === "agent"
        ? { runId, status: "accepted", acceptedAt, sessionKey: input.sessionKey, agentId: input.agent.id }
        : { runId, status: "started" };
    const { record, finish } = this.runs.start({
      runId,
      method: input.method,
      agentId: input.agent.id,
      sessionKey: input.sessionKey,
      idempotencyKey: input.idempotencyKey,
      accepted,
      controller,
    });
    void this.execute(input, record, finish, store, ticket, override).finally(() => ticket.release());
    return { record, fresh: true };
  }

  /**
   * One agent turn inside its lane, awaited by the caller: waits for the session and a slot,
   * then runs. Throws QueueFullError when refused, ProviderError("aborted") when aborted while
   * waiting (or the caller's signal fired), and whatever the turn throws.
   */
  async runTurn(input: LaneTurnInput): Promise<TurnOutput> {
    const laneId = input.runId ?? `turn_${crypto.randomUUID()}`;
    const ticket = this.lanes.admit({ runId: laneId, sessionKey: input.sessionKey, agentId: input.agent.id, owner: input.owner, signal: input.signal });
    try {
      await ticket.ready;
      // The model stack loads with the first run, not at gateway startup.
      const { runTurn } = await import("./turn.ts");
      return await runTurn({ ...input, plan: this.rebase(input, ticket.waited), traceId: laneId, signal: ticket.signal, log: input.log ?? this.deps.log });
    } finally {
      ticket.release();
    }
  }

  /**
   * A turn that waited behind another run of its session was planned on the transcript as it
   * was before that run: put its new messages after the transcript as it is now.
   */
  private rebase(input: LaneTurnInput, waited: boolean): TurnInput["plan"] {
    if (!waited || input.persist === false) return input.plan;
    const history = input.store.history(input.sessionKey);
    return history.length ? { context: [...history, ...input.plan.append], append: input.plan.append } : input.plan;
  }

  private notify(event: RuntimeEvent): void {
    for (const observer of this.observers) {
      try {
        observer(event);
      } catch (err) {
        this.deps.log.warn(`runtime observer failed: ${(err as Error).message}`);
      }
    }
  }

  /** Running and waiting run ids of a session (running first). */
  activeRunIds(sessionKey: string): string[] {
    return this.lanes.tickets(sessionKey).map((t) => t.runId);
  }

  laneStats(): LaneStats {
    return this.lanes.stats();
  }

  /**
   * Abort one run by id. `found` is false when no such run is waiting or running; `allowed`
   * false when the requester may not abort it (the original: its owner or an admin).
   */
  abortRun(runId: string, requester?: Requester): { found: boolean; allowed: boolean; sessionKey?: string } {
    const t = this.lanes.get(runId);
    if (!t) return { found: false, allowed: true };
    if (!mayAbort(t.owner, requester)) return { found: true, allowed: false, sessionKey: t.sessionKey };
    t.abort("aborted");
    return { found: true, allowed: true, sessionKey: t.sessionKey };
  }

  /**
   * Abort a session's work: waiting runs (unless `waiting: false`) first, then the running one
   * (unless `running: false`).
   */
  abortSession(sessionKey: string, opts: { waiting?: boolean; running?: boolean; requester?: Requester } = {}): AbortResult {
    return this.lanes.abortSession(sessionKey, { ...opts, reason: "aborted" });
  }

  private async execute(
    input: StartRunInput,
    record: RunRecord,
    finish: ReturnType<RunRegistry["start"]>["finish"],
    store: SessionStore,
    ticket: ReturnType<AgentLanes["admit"]>,
    override: ModelRef | undefined,
  ): Promise<void> {
    const { runId } = record;
    const sessionKey = input.sessionKey;
    let seq = 0;
    let chatSeq = 0;
    let text = "";
    const agentEvent = (stream: string, data: Record<string, unknown>) =>
      this.deps.emit("agent", { runId, seq: ++seq, stream, ts: Date.now(), sessionKey, agentId: input.agent.id, data });
    const chatEvent = (payload: Record<string, unknown>) => {
      if (input.chatEvents) this.deps.emit("chat", { runId, sessionKey, agentId: input.agent.id, seq: ++chatSeq, ...payload });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    let started = false;
    try {
      // Waiting in the lane is not part of the run's own timeout (as in the original).
      await ticket.ready;
      started = true;
      record.startedAt = Date.now();
      this.notify({ type: "run", phase: "start", runId, sessionKey, agentId: input.agent.id });
      if (input.timeoutMs) timer = setTimeout(() => record.controller.abort("timeout"), input.timeoutMs);
      agentEvent("lifecycle", { phase: "start", startedAt: record.startedAt });
      // The model stack loads with the first run, not at gateway startup.
      const { runTurn } = await import("./turn.ts");
      const history = input.modelRun ? [] : store.history(sessionKey);
      const user = { role: "user" as const, content: input.message };
      const agent = input.promptMode === "none" ? { ...input.agent, systemPrompt: undefined } : input.agent;
      const { result, ref } = await runTurn({
        config: this.config,
        store,
        agent,
        sessionKey,
        plan: { context: [...history, user], append: [user] },
        override,
        signal: record.controller.signal,
        runId,
        channel: input.channel,
        persist: !input.modelRun,
        env: this.env,
        log: this.deps.log,
        onEvents: (events) => {
          let delta = "";
          for (const e of events) if (e.type === "text") delta += e.text;
          if (!delta) return;
          text += delta;
          agentEvent("assistant", { text, delta });
          chatEvent({ state: "delta", deltaText: delta, message: { role: "assistant", content: [{ type: "text", text }], timestamp: Date.now() } });
        },
      });
      const endedAt = Date.now();
      agentEvent("lifecycle", { phase: "end", startedAt: record.startedAt, endedAt });
      const usage = { input: result.usage.input + result.usage.cacheRead, output: result.usage.output, total: result.usage.input + result.usage.cacheRead + result.usage.output };
      chatEvent({
        state: "final",
        message: { role: "assistant", content: [{ type: "text", text: result.text }], timestamp: endedAt, stopReason: result.finishReason },
        usage,
        stopReason: result.finishReason,
      });
      finish("ok", {
        runId,
        status: "ok",
        summary: "completed",
        stopReason: result.finishReason,
        result: {
          payloads: [{ text: result.text }],
          meta: { durationMs: endedAt - record.startedAt, agentMeta: { agentId: input.agent.id, sessionKey, provider: ref.provider, model: ref.model, usage } },
        },
      });
    } catch (err) {
      const signal = record.controller.signal;
      const timedOut = signal.aborted && signal.reason === "timeout";
      const aborted = signal.aborted;
      const message = timedOut ? "run timed out" : err instanceof ProviderError ? err.message : ((err as Error)?.message ?? String(err));
      const kind = err instanceof ProviderError ? err.reason : "internal";
      if (!(err instanceof ProviderError)) this.deps.log.error(`run ${runId} failed: ${(err as Error)?.stack ?? err}`);
      if (started) agentEvent("lifecycle", { phase: "error", startedAt: record.startedAt, endedAt: Date.now(), error: message });
      chatEvent(aborted && !timedOut ? { state: "aborted" } : { state: "error", errorMessage: message, errorKind: kind });
      const status = timedOut ? "timeout" : aborted ? "aborted" : "error";
      const error: Record<string, unknown> = { message, kind };
      if (override && err instanceof ProviderError) Object.assign(error, { provider: err.extra.provider ?? override.provider, model: err.extra.model ?? override.model });
      finish(status, { runId, status: status === "aborted" ? "error" : status, summary: aborted ? "aborted" : "failed", error }, message);
    } finally {
      if (timer) clearTimeout(timer);
      if (started) this.notify({ type: "run", phase: "end", runId, sessionKey, agentId: input.agent.id, status: record.status });
    }
  }

  close(): void {
    this.lanes.abortAll("gateway stopping");
    this.runs.abortAll("gateway stopping");
    try {
      this.sessions?.db.close();
    } catch {
      // already closed
    }
    this.sessions = undefined;
  }
}
