/**
 * Bounded polling of an async check, for end-to-end tests whose state lives in another process
 * (a CLI's answer, a run history) and so has no event to wait on.
 */
export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error (e.g. the gateway's recent output). */
  context?: () => string;
}

/** Call `check` until it returns a truthy value and return that value; throw after the timeout. */
export async function pollUntil<T>(check: () => Promise<T | undefined | false>, what: string, opts: PollOptions = {}): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 50, context } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `\n${context()}` : ""}`);
    await Bun.sleep(intervalMs);
  }
}
