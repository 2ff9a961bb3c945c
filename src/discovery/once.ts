/**
 * "Logged once": the first occurrence of a problem is a warning; repeats go to debug, and only
 * at 2, 4, 8, … occurrences, so a packet flood cannot flood the log.
 */
import type { Logger } from "../log/logger.ts";

export class OnceLog {
  private readonly counts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  warn(key: string, message: string): void {
    this.emit("warn", key, message);
  }

  info(key: string, message: string): void {
    this.emit("info", key, message);
  }

  private emit(level: "warn" | "info", key: string, message: string): void {
    const n = (this.counts.get(key) ?? 0) + 1;
    // Bound the map: a hostile peer can vary error texts, never the number of keys we keep.
    if (n === 1 && this.counts.size >= 256) this.counts.clear();
    this.counts.set(key, n);
    if (n === 1) this.log[level](message);
    else if ((n & (n - 1)) === 0) this.log.debug(`${message} (seen ${n} times)`);
  }
}
