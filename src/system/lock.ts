/**
 * One gateway per state dir: an exclusive SQLite lock on `<stateDir>/gateway.lock`. SQLite's
 * lock is an OS file lock (fcntl / LockFileEx), so it dies with the process: after `kill -9`
 * the next gateway simply gets it, nothing stale to clean up. `gateway.lock.json` beside it only
 * describes the holder (pid, port, config) for error messages and `gateway status`.
 */
import { Database } from "bun:sqlite";
import { chmodSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../config/write.ts";

export interface LockInfo {
  pid: number;
  startedAt: string;
  port?: number;
  configPath: string;
  stateDir: string;
  version: string;
}

export function lockPaths(stateDir: string): { lock: string; info: string } {
  return { lock: join(stateDir, "gateway.lock"), info: join(stateDir, "gateway.lock.json") };
}

export class LockHeldError extends Error {
  override name = "LockHeldError";
  constructor(
    readonly stateDir: string,
    readonly holder: LockInfo | undefined,
  ) {
    super(
      holder
        ? `gateway already running (pid ${holder.pid}) for state dir ${stateDir}`
        : `gateway already running for state dir ${stateDir} (another process holds ${lockPaths(stateDir).lock})`,
    );
  }
}

async function readInfo(stateDir: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(readFileSync(lockPaths(stateDir).info, "utf8")) as LockInfo;
    return typeof info.pid === "number" ? info : undefined;
  } catch {
    return undefined;
  }
}

export class InstanceLock {
  private constructor(
    private db: Database | undefined,
    readonly stateDir: string,
  ) {}

  /** Take the lock or throw LockHeldError naming the holder. */
  static async acquire(stateDir: string, info: Omit<LockInfo, "pid" | "startedAt" | "stateDir">): Promise<InstanceLock> {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const paths = lockPaths(stateDir);
    let db: Database | undefined;
    try {
      db = new Database(paths.lock, { create: true });
      chmodSync(paths.lock, 0o600);
      db.exec("PRAGMA busy_timeout=0");
      db.exec("PRAGMA journal_mode=MEMORY");
      db.exec("PRAGMA locking_mode=EXCLUSIVE");
      db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER)");
      db.exec("BEGIN EXCLUSIVE");
    } catch (err) {
      db?.close();
      if (/locked|busy/i.test((err as Error).message)) throw new LockHeldError(stateDir, await readInfo(stateDir));
      throw err;
    }
    const lock = new InstanceLock(db, stateDir);
    await lock.update({ ...info });
    return lock;
  }

  /** Rewrite the holder description (e.g. once the port is known). */
  async update(info: Omit<LockInfo, "pid" | "startedAt" | "stateDir">): Promise<void> {
    const full: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), stateDir: this.stateDir, ...info };
    // Not fsynced: it describes this process and is rewritten at every start.
    await writeFileAtomic(lockPaths(this.stateDir).info, `${JSON.stringify(full)}\n`, { durable: false });
  }

  release(): void {
    if (!this.db) return;
    try {
      rmSync(lockPaths(this.stateDir).info, { force: true });
    } catch {}
    try {
      this.db.exec("ROLLBACK");
    } catch {}
    this.db.close();
    this.db = undefined;
  }
}

/**
 * Read-only: is a gateway holding this state dir, and who? Opens the lock read-only (a held
 * exclusive lock makes the read fail with SQLITE_BUSY) and never creates or changes a file.
 */
export async function inspectLock(stateDir: string): Promise<{ held: boolean; info?: LockInfo }> {
  const paths = lockPaths(stateDir);
  if (!(await Bun.file(paths.lock).exists())) return { held: false };
  let held = false;
  try {
    const db = new Database(paths.lock, { readonly: true });
    try {
      db.query("SELECT count(*) FROM sqlite_master").get();
    } finally {
      db.close();
    }
  } catch (err) {
    held = /locked|busy/i.test((err as Error).message);
  }
  return held ? { held, info: await readInfo(stateDir) } : { held: false };
}
