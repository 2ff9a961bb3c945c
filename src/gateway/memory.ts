/**
 * Giving memory back when the gateway goes quiet.
 *
 * An idle gateway allocates (almost) nothing, so JavaScriptCore never collects: what startup
 * built and threw away, and everything a crowd of sockets left behind when it disconnected
 * (connection objects, queues, frames, and the native buffers they own), stays resident until
 * the next burst of work. Measured with 1,000 sockets (`bun run bench`): RSS stayed ~15 MB above
 * idle after they left; a full collection returns the anonymous part (mimalloc gives the freed
 * pages back too). What a full collection cannot return is clean executable pages of the
 * runtime that the load paged in (the optimizing JIT compilers, for one): they belong to the
 * page cache and the kernel reclaims them under pressure (the bench reports RssAnon and RssFile
 * apart).
 *
 * So: one full collection shortly after startup, and one when a burst of at least
 * `minCloses` sockets has closed and no socket closed for `quietMs`. A steady trickle of
 * connections never triggers it.
 */
export interface QuietCollectorOptions {
  /** Closes that make a burst worth collecting after. */
  minCloses?: number;
  /** How long no socket may close before collecting. */
  quietMs?: number;
  /** After startup, when to collect once (undefined: never). */
  startupMs?: number;
  /** The collection (default: a synchronous full GC, which also asks mimalloc to release pages). */
  collect?: () => void;
}

export class QuietCollector {
  private closes = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private startupTimer?: ReturnType<typeof setTimeout>;
  private readonly minCloses: number;
  private readonly quietMs: number;
  private readonly collect: () => void;
  /** Collections run so far (for tests and status). */
  collections = 0;

  constructor(opts: QuietCollectorOptions = {}) {
    this.minCloses = opts.minCloses ?? 32;
    this.quietMs = opts.quietMs ?? 500;
    this.collect = opts.collect ?? (() => Bun.gc(true));
    if (opts.startupMs !== undefined) {
      this.startupTimer = setTimeout(() => this.run(), opts.startupMs);
      this.startupTimer.unref?.();
    }
  }

  /** A socket closed. */
  closed(): void {
    this.closes++;
    if (this.closes < this.minCloses) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closes = 0;
      this.run();
    }, this.quietMs);
    this.timer.unref?.();
  }

  private run(): void {
    this.collections++;
    this.collect();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.startupTimer);
  }
}
