/**
 * WebSocket agent runs: each run has an id, a session, a lifecycle and a final payload;
 * `agent.wait` waits on it. Side-effecting methods deduplicate by idempotency key
 * (per method, 5 minutes, at most 1000 keys).
 */

export type RunStatus = "running" | "ok" | "error" | "timeout" | "aborted";

export interface RunRecord {
  runId: string;
  method: string;
  agentId: string;
  sessionKey: string;
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  error?: string;
  /** The immediate acknowledgement sent to the caller. */
  accepted: Record<string, unknown>;
  /** The final payload, once the run ended. */
  final?: Record<string, unknown>;
  /** Its encoded size, counted against RUN_RETENTION_BYTES. */
  finalBytes?: number;
  controller: AbortController;
  done: Promise<void>;
}

export const IDEMPOTENCY_TTL_MS = 5 * 60_000;
export const IDEMPOTENCY_MAX = 1000;
/** Finished runs stay queryable by `agent.wait` this long. */
export const RUN_RETENTION_MS = 10 * 60_000;
/** At most this many finished runs are kept (oldest dropped first). */
export const RUN_RETENTION_MAX = 5000;
/**
 * And at most this much of their final payloads (encoded): a client streaming large replies
 * through thousands of runs would otherwise keep 5,000 of them in memory (64 KB replies: 320 MB of strings).
 */
export const RUN_RETENTION_BYTES = 8 * 1024 * 1024;

export class RunRegistry {
  private readonly byId = new Map<string, RunRecord>();
  private readonly byKey = new Map<string, { runId: string; at: number }>();
  /** Encoded bytes of the finished runs' payloads still kept. */
  private retainedBytes = 0;

  constructor(private readonly maxRetainedBytes = RUN_RETENTION_BYTES) {}

  /** Finished runs kept, and the bytes of their payloads (for tests and status). */
  retention(): { finished: number; bytes: number } {
    let finished = 0;
    for (const r of this.byId.values()) if (r.status !== "running") finished++;
    return { finished, bytes: this.retainedBytes };
  }

  get(runId: string): RunRecord | undefined {
    return this.byId.get(runId);
  }

  /** A live (≤ 5 min) earlier run of `method` with this idempotency key. */
  byIdempotencyKey(method: string, key: string, now = Date.now()): RunRecord | undefined {
    const hit = this.byKey.get(`${method}\u0000${key}`);
    if (!hit || now - hit.at > IDEMPOTENCY_TTL_MS) return undefined;
    return this.byId.get(hit.runId);
  }

  active(): RunRecord[] {
    return [...this.byId.values()].filter((r) => r.status === "running");
  }

  /** Register a run; `finish()` settles it. */
  start(init: {
    runId: string;
    method: string;
    agentId: string;
    sessionKey: string;
    idempotencyKey: string;
    accepted: Record<string, unknown>;
    /** The run's abort controller when the caller already made one (the lanes share it). */
    controller?: AbortController;
  }): {
    record: RunRecord;
    finish(status: Exclude<RunStatus, "running">, final: Record<string, unknown>, error?: string): void;
  } {
    this.sweep();
    let resolve!: () => void;
    const record: RunRecord = {
      runId: init.runId,
      method: init.method,
      agentId: init.agentId,
      sessionKey: init.sessionKey,
      status: "running",
      startedAt: Date.now(),
      accepted: init.accepted,
      controller: init.controller ?? new AbortController(),
      done: new Promise<void>((r) => (resolve = r)),
    };
    this.byId.set(record.runId, record);
    this.byKey.set(`${init.method}\u0000${init.idempotencyKey}`, { runId: record.runId, at: Date.now() });
    return {
      record,
      finish: (status, final, error) => {
        if (record.status !== "running") return;
        record.status = status;
        record.endedAt = Date.now();
        record.final = final;
        record.error = error;
        record.finalBytes = encodedSize(final) + (error?.length ?? 0);
        this.retainedBytes += record.finalBytes;
        resolve();
        this.trimBytes();
      },
    };
  }

  /** Wait (bounded) for a run to end; true when it ended. */
  async wait(record: RunRecord, timeoutMs: number): Promise<boolean> {
    if (record.status !== "running") return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, timeoutMs))));
    const ended = await Promise.race([record.done.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ended;
  }

  abortAll(reason: string): void {
    for (const r of this.active()) r.controller.abort(reason);
  }

  private drop(id: string, r: RunRecord): void {
    this.byId.delete(id);
    this.retainedBytes -= r.finalBytes ?? 0;
  }

  private sweep(now = Date.now()): void {
    for (const [k, v] of this.byKey) if (now - v.at > IDEMPOTENCY_TTL_MS) this.byKey.delete(k);
    while (this.byKey.size >= IDEMPOTENCY_MAX) this.byKey.delete(this.byKey.keys().next().value!);
    let finished = 0;
    for (const [id, r] of this.byId) {
      if (r.status === "running") continue;
      if (r.endedAt !== undefined && now - r.endedAt > RUN_RETENTION_MS) this.drop(id, r);
      else finished++;
    }
    // Map order is insertion order: drop the oldest finished runs beyond the cap.
    for (const [id, r] of this.byId) {
      if (finished <= RUN_RETENTION_MAX) break;
      if (r.status !== "running") {
        this.drop(id, r);
        finished--;
      }
    }
  }

  /** Oldest finished runs first, until their payloads fit RUN_RETENTION_BYTES (the newest is always kept). */
  private trimBytes(): void {
    if (this.retainedBytes <= this.maxRetainedBytes) return;
    let newest: string | undefined;
    for (const [id, r] of this.byId) if (r.status !== "running") newest = id;
    for (const [id, r] of this.byId) {
      if (this.retainedBytes <= this.maxRetainedBytes) break;
      if (r.status !== "running" && id !== newest) this.drop(id, r);
    }
  }
}

function encodedSize(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0;
  }
}
