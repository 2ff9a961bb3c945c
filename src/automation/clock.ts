/**
 * The scheduler's view of time: the wall clock and one-shot timers, injectable so tests drive
 * time by hand. Timers run on the event loop's monotonic clock while schedules are wall-clock
 * instants; the scheduler re-reads `now()` whenever a timer fires.
 */

export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** setTimeout's delay is a signed 32-bit count of milliseconds. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.max(0, Math.min(delayMs, MAX_TIMEOUT_MS)));
    // Scheduled work alone must not keep a process (or a test run) alive.
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Resolve after `ms` on the given clock (timeouts and grace periods honour a test clock). */
export function sleepOn(clock: Clock, ms: number): { promise: Promise<void>; cancel(): void } {
  let handle: TimerHandle;
  let resolveFn!: () => void;
  const promise = new Promise<void>((resolve) => {
    resolveFn = resolve;
    handle = clock.setTimer(resolve, ms);
  });
  return {
    promise,
    cancel() {
      clock.clearTimer(handle);
      resolveFn();
    },
  };
}
