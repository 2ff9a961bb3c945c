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
 * paths of the load. A gateway with no socket connected for a while therefore gets
 * JavaScriptCore's own answer to memory pressure (`Bun.shrink()`: discard all compiled code,
 * then a full collection and a release of free malloc memory); functions that run again are
 * relinked from the embedded bytecode, and hot ones tier up again. What no collection can return
 * is clean executable pages of the runtime that the load paged in (the optimizing JIT compilers,
 * for one): they belong to the page cache and the kernel reclaims them under pressure (the bench
 * reports RssAnon and RssFile apart).
 *
 * So:
 *   - once, `startupMs` after startup: discarding code too when no socket is connected (startup's
 *     run-once code is then all there is), a plain full collection otherwise;
 *   - when a burst of at least `minCloses` sockets has closed and no socket closed for `quietMs`:
 *     a plain full collection (a burst that comes back soon finds its JIT code still there);
 *   - when, after such a burst, no socket has been connected or closed for `idleMs` more: the
 *     collection that discards compiled code.
 * A steady trickle of connections never triggers it. Measured figures: docs/benchmarks.md.
 */
export interface QuietCollectorOptions {
  /** Closes that make a burst worth collecting after. */
  minCloses?: number;
  /** How long no socket may close before collecting. */
  quietMs?: number;
  /** After startup, when to collect once (undefined: never). */
  startupMs?: number;
  /** After a burst's collection, how long the gateway must stay idle before compiled code goes too. */
  idleMs?: number;
  /** True when no socket is connected. */
  idle?: () => boolean;
  /** The collection, told whether to discard compiled code too (default: defaultCollect). */
  collect?: (discardCode: boolean) => void;
}

/**
 * `discardCode`: discard all compiled code, then a full collection and a release of free malloc
 * memory (`Bun.shrink()`, which runs once the current callback returns). Otherwise a synchronous
 * full collection, which also asks mimalloc to release pages.
 */
export function defaultCollect(discardCode: boolean): void {
  if (discardCode) Bun.shrink();
  else Bun.gc(true);
}

export class QuietCollector {
  private closes = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private startupTimer?: ReturnType<typeof setTimeout>;
  private idleTimer?: ReturnType<typeof setTimeout>;
  private readonly minCloses: number;
  private readonly quietMs: number;
  private readonly idleMs: number;
  private readonly collect: (discardCode: boolean) => void;
  private readonly idle: () => boolean;
  /** Collections run so far (for tests and status). */
  collections = 0;

  constructor(opts: QuietCollectorOptions = {}) {
    this.minCloses = opts.minCloses ?? 32;
    this.quietMs = opts.quietMs ?? 500;
    this.idleMs = opts.idleMs ?? 10_000;
    this.collect = opts.collect ?? defaultCollect;
    this.idle = opts.idle ?? (() => false);
    if (opts.startupMs !== undefined) {
      this.startupTimer = setTimeout(() => this.run(this.idle()), opts.startupMs);
      this.startupTimer.unref?.();
    }
  }

  /** A socket closed. */
  closed(): void {
    this.closes++;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    if (this.closes < this.minCloses) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closes = 0;
      this.run(false);
      if (this.idle()) this.armIdle();
    }, this.quietMs);
    this.timer.unref?.();
  }

  private armIdle(): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.idle()) this.run(true);
    }, this.idleMs);
    this.idleTimer.unref?.();
  }

  private run(discardCode: boolean): void {
    this.collections++;
    this.collect(discardCode);
  }

  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.startupTimer);
    clearTimeout(this.idleTimer);
  }
}
