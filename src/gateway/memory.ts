/**
 * Giving memory back when the gateway goes quiet.
 *
 * An idle gateway allocates (almost) nothing, so JavaScriptCore never collects: what startup
 * built and threw away, and everything a crowd of sockets left behind when it disconnected
 * (connection objects, queues, frames, and the native buffers they own), stays resident until
 * the next burst of work. Measured with 1,000 sockets (`bun run bench`): RSS stayed ~15 MB above
 * idle after they left; a full collection returns most of the anonymous part (mimalloc gives the
 * freed pages back too).
 *
 * What a collection alone keeps is the compiled code: the bytecode JavaScriptCore linked for
 * every function that ran (startup's run-once code included) and the JIT's code for the hot
 * paths of the load. When no socket is connected the collection is therefore JavaScriptCore's
 * own answer to memory pressure (`Bun.shrink()`: discard all compiled code, then a full
 * collection and a release of free malloc memory); functions that run again are relinked from
 * the embedded bytecode, and hot ones tier up again. Measured: idle RSS 0.7 MB lower, and the
 * anonymous memory 1,000 clients leave behind 0.6 MB instead of 2.9 MB (docs/benchmarks.md).
 * While sockets are connected it stays a plain full collection, so traffic in flight never loses
 * its JIT code. What no collection can return is clean executable pages of the runtime that the
 * load paged in (the optimizing JIT compilers, for one): they belong to the page cache and the
 * kernel reclaims them under pressure (the bench reports RssAnon and RssFile apart).
 *
 * So: one collection shortly after startup, and one when a burst of at least `minCloses`
 * sockets has closed and no socket closed for `quietMs`. A steady trickle of connections never
 * triggers it.
 */
export interface QuietCollectorOptions {
  /** Closes that make a burst worth collecting after. */
  minCloses?: number;
  /** How long no socket may close before collecting. */
  quietMs?: number;
  /** After startup, when to collect once (undefined: never). */
  startupMs?: number;
  /** True when no socket is connected (the collection may then discard compiled code too). */
  idle?: () => boolean;
  /** The collection, told whether the gateway is idle (default: defaultCollect). */
  collect?: (idle: boolean) => void;
}

/**
 * Idle: discard compiled code, then a full collection and a release of free malloc memory
 * (`Bun.shrink()`, which runs once the current callback returns). Busy: a synchronous full
 * collection, which also asks mimalloc to release pages.
 */
export function defaultCollect(idle: boolean): void {
  if (idle) Bun.shrink();
  else Bun.gc(true);
}

export class QuietCollector {
  private closes = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private startupTimer?: ReturnType<typeof setTimeout>;
  private readonly minCloses: number;
  private readonly quietMs: number;
  private readonly collect: (idle: boolean) => void;
  private readonly idle: () => boolean;
  /** Collections run so far (for tests and status). */
  collections = 0;

  constructor(opts: QuietCollectorOptions = {}) {
    this.minCloses = opts.minCloses ?? 32;
    this.quietMs = opts.quietMs ?? 500;
    this.collect = opts.collect ?? defaultCollect;
    this.idle = opts.idle ?? (() => false);
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
    this.collect(this.idle());
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.startupTimer);
  }
}
