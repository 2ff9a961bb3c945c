/**
 * Automation tables in the gateway's `openclaw.sqlite` (migration set "automation"): jobs
 * (definition + runtime state as JSON), run history with its retention, per-job private
 * scratch (compare-and-swap by revision) and a small key/value table for scheduler-wide facts
 * (last heartbeat, heartbeats on/off).
 *
 * Every mutation is one statement or one transaction on a WAL database, so a kill -9 loses at
 * most the change being written, never a committed one.
 */
import type { Database } from "bun:sqlite";
import { migrateSet } from "../store/db.ts";
import type { CronJob, DeliveryStatus, RunLogEntry, RunStatus } from "./types.ts";

export const MIGRATION_SET = "automation";

/** Append only; never edit a shipped step. */
export const AUTOMATION_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE cron_jobs (
    id          TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE cron_runs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           TEXT NOT NULL,
    ts               INTEGER NOT NULL,
    status           TEXT,
    delivery_status  TEXT,
    run_id           TEXT,
    search           TEXT NOT NULL DEFAULT '',
    entry            TEXT NOT NULL
  );
  CREATE INDEX cron_runs_by_job ON cron_runs (job_id, seq);
  CREATE INDEX cron_runs_by_ts ON cron_runs (ts);
  CREATE INDEX cron_runs_by_run_id ON cron_runs (run_id) WHERE run_id IS NOT NULL;
  CREATE TABLE cron_scratch (
    job_id      TEXT PRIMARY KEY,
    content     TEXT,
    revision    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE automation_kv (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  `,
];

/** Terminal run history is kept 7 days, and at most 2000 rows per job. */
export const RUN_RETENTION_MS = 7 * 86_400_000;
export const RUN_RETENTION_PER_JOB = 2000;
/** Age sweeps run at most this often (on a write, never on a timer). */
export const RUN_SWEEP_INTERVAL_MS = 300_000;
/** Scratch is capped at 256 KiB (UTF-8 bytes). */
export const SCRATCH_MAX_BYTES = 262_144;

export interface Scratch {
  content: string;
  revision: number;
  updatedAtMs: number;
}

export type ScratchWrite =
  | { ok: true; scratch: Scratch | null; currentRevision: number; maxBytes: number }
  | { ok: false; reason: "revision-conflict"; currentRevision: number };

export interface RunQuery {
  jobId?: string;
  runId?: string;
  statuses?: RunStatus[];
  deliveryStatuses?: DeliveryStatus[];
  query?: string;
  sortDir?: "asc" | "desc";
  limit: number;
  offset: number;
}

export class ScratchTooLargeError extends Error {
  override name = "ScratchTooLargeError";
}

export class AutomationStore {
  private lastSweep = 0;

  constructor(
    readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    migrateSet(db, MIGRATION_SET, AUTOMATION_MIGRATIONS);
  }

  get path(): string {
    return this.db.filename;
  }

  // --- jobs ---------------------------------------------------------------------------------

  loadJobs(): CronJob[] {
    const rows = this.db.query("SELECT id, job FROM cron_jobs ORDER BY created_at, id").all() as Array<{ id: string; job: string }>;
    const jobs: CronJob[] = [];
    for (const row of rows) {
      try {
        jobs.push(JSON.parse(row.job) as CronJob);
      } catch {
        // A row this code cannot read stays in the table for inspection; it never runs.
      }
    }
    return jobs;
  }

  putJob(job: CronJob): void {
    this.db
      .query(
        `INSERT INTO cron_jobs (id, job, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET job = excluded.job, updated_at = excluded.updated_at`,
      )
      .run(job.id, JSON.stringify(job), job.createdAtMs, job.updatedAtMs);
  }

  deleteJob(id: string): boolean {
    return this.db.transaction(() => {
      this.db.query("DELETE FROM cron_scratch WHERE job_id = ?").run(id);
      return this.db.query("DELETE FROM cron_jobs WHERE id = ?").run(id).changes > 0;
    })();
  }

  // --- runs ---------------------------------------------------------------------------------

  appendRun(entry: RunLogEntry): void {
    const search = `${entry.summary ?? ""}\n${entry.error ?? ""}\n${entry.deliveryError ?? ""}`.toLowerCase();
    this.db.transaction(() => {
      this.db
        .query("INSERT INTO cron_runs (job_id, ts, status, delivery_status, run_id, search, entry) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(entry.jobId, entry.ts, entry.status ?? null, entry.deliveryStatus ?? null, entry.runId ?? null, search, JSON.stringify(entry));
      // Per-job ceiling: cheap because of the (job_id, seq) index.
      this.db
        .query(
          `DELETE FROM cron_runs WHERE job_id = ?1 AND seq <= (
             SELECT seq FROM cron_runs WHERE job_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
        )
        .run(entry.jobId, RUN_RETENTION_PER_JOB);
    })();
    const now = this.now();
    if (now - this.lastSweep >= RUN_SWEEP_INTERVAL_MS) this.sweepRuns(now);
  }

  /** Drop history older than the retention window; returns the rows removed. */
  sweepRuns(now = this.now()): number {
    this.lastSweep = now;
    return this.db.query("DELETE FROM cron_runs WHERE ts < ?").run(now - RUN_RETENTION_MS).changes;
  }

  queryRuns(q: RunQuery): { entries: RunLogEntry[]; total: number } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.jobId !== undefined) {
      where.push("job_id = ?");
      args.push(q.jobId);
    }
    if (q.runId !== undefined) {
      where.push("run_id = ?");
      args.push(q.runId);
    }
    if (q.statuses?.length) {
      where.push(`status IN (${q.statuses.map(() => "?").join(", ")})`);
      args.push(...q.statuses);
    }
    if (q.deliveryStatuses?.length) {
      where.push(`delivery_status IN (${q.deliveryStatuses.map(() => "?").join(", ")})`);
      args.push(...q.deliveryStatuses);
    }
    if (q.query?.trim()) {
      where.push("instr(search, ?) > 0");
      args.push(q.query.trim().toLowerCase());
    }
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const total = (this.db.query(`SELECT count(*) AS n FROM cron_runs ${clause}`).get(...args) as { n: number }).n;
    const order = q.sortDir === "asc" ? "ASC" : "DESC";
    const rows = this.db
      .query(`SELECT entry FROM cron_runs ${clause} ORDER BY seq ${order} LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as Array<{ entry: string }>;
    return { entries: rows.map((r) => JSON.parse(r.entry) as RunLogEntry), total };
  }

  // --- scratch ------------------------------------------------------------------------------

  private scratchRow(jobId: string): { content: string | null; revision: number; updated_at: number } | null {
    return this.db.query("SELECT content, revision, updated_at FROM cron_scratch WHERE job_id = ?").get(jobId) as {
      content: string | null;
      revision: number;
      updated_at: number;
    } | null;
  }

  getScratch(jobId: string): { scratch: Scratch | null; currentRevision: number; maxBytes: number } {
    const row = this.scratchRow(jobId);
    const scratch = row && row.content !== null ? { content: row.content, revision: row.revision, updatedAtMs: row.updated_at } : null;
    return { scratch, currentRevision: row?.revision ?? 0, maxBytes: SCRATCH_MAX_BYTES };
  }

  /**
   * Replace (or with null, clear) a job's scratch. With `expectedRevision` the write only
   * happens when the stored revision still matches. A cleared scratch keeps its revision
   * counter so a stale writer cannot mistake it for a fresh row.
   */
  setScratch(jobId: string, content: string | null, expectedRevision?: number): ScratchWrite {
    if (content !== null && Buffer.byteLength(content, "utf8") > SCRATCH_MAX_BYTES) {
      throw new ScratchTooLargeError(`scratch is larger than ${SCRATCH_MAX_BYTES} bytes`);
    }
    return this.db.transaction((): ScratchWrite => {
      const row = this.scratchRow(jobId);
      const current = row?.revision ?? 0;
      if (expectedRevision !== undefined && expectedRevision !== current) {
        return { ok: false, reason: "revision-conflict", currentRevision: current };
      }
      const now = this.now();
      const revision = current + 1;
      this.db
        .query(
          `INSERT INTO cron_scratch (job_id, content, revision, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (job_id) DO UPDATE SET content = excluded.content, revision = excluded.revision, updated_at = excluded.updated_at`,
        )
        .run(jobId, content, revision, now);
      const scratch = content === null ? null : { content, revision, updatedAtMs: now };
      return { ok: true, scratch, currentRevision: revision, maxBytes: SCRATCH_MAX_BYTES };
    })();
  }

  // --- key/value ----------------------------------------------------------------------------

  getKv<T>(key: string): T | undefined {
    const row = this.db.query("SELECT value FROM automation_kv WHERE key = ?").get(key) as { value: string } | null;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as T;
    } catch {
      return undefined;
    }
  }

  setKv(key: string, value: unknown): void {
    this.db
      .query(
        `INSERT INTO automation_kv (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(key, JSON.stringify(value), this.now());
  }

  /** The scheduler's stable seed (heartbeat phases): random once per state directory, then kept. */
  schedulerSeed(): string {
    const existing = this.getKv<string>("scheduler.seed");
    if (typeof existing === "string" && existing) return existing;
    const seed = crypto.randomUUID();
    this.setKv("scheduler.seed", seed);
    return seed;
  }
}
