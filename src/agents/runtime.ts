/**
 * The agent side of a running gateway: the state database, agent lookup and the registry of
 * WebSocket runs. It knows nothing about sockets or HTTP; the gateway hands it a config getter,
 * a logger and an event sink.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import type { Logger } from "../log/logger.ts";
import { dbPath, openDatabase } from "../store/db.ts";
import { SessionStore } from "../store/sessions.ts";
import { listAgents, type AgentInfo } from "./registry.ts";
import { RunRegistry } from "./runs.ts";

export interface RuntimeDeps {
  stateDir: string;
  config(): OpenClawConfig;
  log: Logger;
  /** Broadcast an `agent` / `chat` event to operators allowed to read it. */
  emit(event: "agent" | "chat", payload: unknown): void;
  env?: Record<string, string | undefined>;
}

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

export class AgentRuntime {
  readonly runs: RunRegistry;
  private sessions?: SessionStore;
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

  /** The session store; throws StoreUnavailableError when the database could not be opened. */
  get store(): SessionStore {
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
