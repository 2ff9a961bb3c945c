/**
 * The gateway's file log: JSON lines appended to `<stateDir>/logs/gateway.log`, rotated at
 * `maxFileBytes` into `gateway.log.1` … `.N` (oldest dropped), so the log never uses more than
 * `maxFileBytes × (keep + 1)` on disk (default 10 MB × 5 = 50 MB).
 *
 * Lines go into Bun's FileSink buffer and are written once per tick (one write(2), on the event
 * loop's thread: a regular file's write lands in the page cache); rotation (renames within one
 * directory, no data copied) happens while new lines wait in memory.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FileSink } from "bun";
import type { LogLevel } from "../config/levels.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import type { LogRecord, LogSink } from "./logger.ts";

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_KEEP = 4;

/** The gateway's log file: `logging.file`, else `<stateDir>/logs/gateway.log`. */
export function gatewayLogFile(stateDir: string, config: OpenClawConfig | undefined): string {
  return config?.logging?.file ?? join(stateDir, "logs", "gateway.log");
}

export interface RotatingFileOptions {
  path: string;
  maxFileBytes?: number;
  /** Rotated files kept beside the live one. */
  keep?: number;
}

export class RotatingFileSink implements LogSink {
  readonly path: string;
  /** File threshold (`logging.level`), independent of the console's. */
  level: LogLevel = "info";
  private readonly maxFileBytes: number;
  private readonly keep: number;
  private fd = -1;
  private writer?: FileSink;
  private size = 0;
  private rotating?: Promise<void>;
  private waiting: string[] = [];
  private flushScheduled = false;
  private failed = false;

  constructor(opts: RotatingFileOptions) {
    this.path = opts.path;
    this.maxFileBytes = Math.max(1024, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    this.keep = Math.max(1, opts.keep ?? DEFAULT_KEEP);
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.open();
  }

  private open(): void {
    this.fd = openSync(this.path, "a", 0o600);
    this.size = statSync(this.path).size;
    this.writer = Bun.file(this.fd).writer({ highWaterMark: 64 * 1024 });
    this.writer.unref();
  }

  write(record: LogRecord): void {
    if (this.failed) return;
    this.writeLine(`${JSON.stringify(record)}\n`);
  }

  writeLine(line: string): void {
    if (this.rotating || !this.writer) {
      this.waiting.push(line);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxFileBytes) {
      this.waiting.push(line);
      this.rotating = this.rotate().finally(() => {
        this.rotating = undefined;
        for (const l of this.waiting.splice(0)) this.writeLine(l);
      });
      return;
    }
    try {
      this.writer.write(line);
      this.size += bytes;
      this.scheduleFlush();
    } catch {
      this.failed = true; // a full or vanished disk must not take the gateway down
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const writer = this.writer;
      if (!writer || this.rotating) return; // rotation ends (and so flushes) the old writer itself
      try {
        void writer.flush();
      } catch {
        this.failed = true;
      }
    });
  }

  /** Flush and close the live file; later writes wait until a new one is opened. */
  private async detach(): Promise<void> {
    const writer = this.writer;
    const fd = this.fd;
    this.writer = undefined;
    this.fd = -1;
    try {
      await writer?.end();
    } catch {}
    try {
      if (fd >= 0) closeSync(fd);
    } catch {}
  }

  private async rotate(): Promise<void> {
    await this.detach();
    // Synchronous: renames are as quick as a thread-pool round trip, and node:fs/promises stays
    // out of the gateway (docs/benchmarks.md "Memory").
    const quietly = (f: () => void) => {
      try {
        f();
      } catch {}
    };
    quietly(() => rmSync(`${this.path}.${this.keep}`, { force: true }));
    for (let i = this.keep - 1; i >= 1; i--) quietly(() => renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`));
    quietly(() => renameSync(this.path, `${this.path}.1`));
    try {
      this.open();
    } catch {
      this.failed = true;
    }
  }

  /** Flush and close (shutdown). */
  async close(): Promise<void> {
    while (this.rotating) await this.rotating;
    this.failed = true;
    await this.detach();
  }
}
