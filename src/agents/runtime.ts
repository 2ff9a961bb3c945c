/**
 * The agent side of a running gateway: the state database, agent lookup and the registry of
 * WebSocket runs. It knows nothing about sockets or HTTP; the gateway hands it a config getter,
 * a logger and an event sink.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { dbPath, openDatabase } from "../store/db.ts";
import { SessionStore } from "../store/sessions.ts";
import { ProviderError } from "../providers/errors.ts";
import { listAgents, type AgentInfo } from "./registry.ts";
import { RunRegistry, type RunRecord } from "./runs.ts";

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
}

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
  private sessions?: SessionStore;
  private lastAttempt?: number;
  storeError?: string;

  constructor(readonly deps: RuntimeDeps) {
    this.runs = new RunRegistry();
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
   * Start (or find, by idempotency key) a WebSocket run: the turn runs in the background,
   * streams `agent` (and for chat.send `chat`) events, persists the transcript and settles the
   * run record with its final payload.
   */
  startRun(input: StartRunInput): { record: RunRecord; fresh: boolean } {
    const existing = this.runs.byIdempotencyKey(input.method, input.idempotencyKey);
    if (existing) return { record: existing, fresh: false };
    const store = this.store;
    const runId = input.idempotencyKey;
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
    });
    void this.execute(input, record, finish, store);
    return { record, fresh: true };
  }

  private async execute(
    input: StartRunInput,
    record: RunRecord,
    finish: ReturnType<RunRegistry["start"]>["finish"],
    store: SessionStore,
  ): Promise<void> {
    const { runId } = record;
    const sessionKey = input.sessionKey;
    let seq = 0;
    let chatSeq = 0;
    let text = "";
    const agentEvent = (stream: string, data: Record<string, unknown>) =>
      this.deps.emit("agent", { runId, seq: ++seq, stream, ts: Date.now(), sessionKey, data });
    const chatEvent = (payload: Record<string, unknown>) => {
      if (input.chatEvents) this.deps.emit("chat", { runId, sessionKey, agentId: input.agent.id, seq: ++chatSeq, ...payload });
    };
    const timer = input.timeoutMs ? setTimeout(() => record.controller.abort("timeout"), input.timeoutMs) : undefined;
    agentEvent("lifecycle", { phase: "start", startedAt: record.startedAt });
    try {
      // The model stack loads with the first run, not at gateway startup.
      const { runTurn } = await import("./turn.ts");
      const history = store.history(sessionKey);
      const user = { role: "user" as const, content: input.message };
      const { result, ref } = await runTurn({
        config: this.config,
        store,
        agent: input.agent,
        sessionKey,
        plan: { context: [...history, user], append: [user] },
        signal: record.controller.signal,
        runId,
        channel: input.channel,
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
      const timedOut = record.controller.signal.aborted && record.controller.signal.reason === "timeout";
      const aborted = record.controller.signal.aborted;
      const message = timedOut ? "run timed out" : err instanceof ProviderError ? err.message : ((err as Error)?.message ?? String(err));
      const kind = err instanceof ProviderError ? err.reason : "internal";
      if (!(err instanceof ProviderError)) this.deps.log.error(`run ${runId} failed: ${(err as Error)?.stack ?? err}`);
      agentEvent("lifecycle", { phase: "error", startedAt: record.startedAt, endedAt: Date.now(), error: message });
      chatEvent(aborted && !timedOut ? { state: "aborted" } : { state: "error", errorMessage: message, errorKind: kind });
      const status = timedOut ? "timeout" : aborted ? "aborted" : "error";
      finish(status, { runId, status: status === "aborted" ? "error" : status, summary: aborted ? "aborted" : "failed", error: { message, kind } }, message);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  close(): void {
    this.runs.abortAll("gateway stopping");
    try {
      this.sessions?.db.close();
    } catch {
      // already closed
    }
    this.sessions = undefined;
  }
}
