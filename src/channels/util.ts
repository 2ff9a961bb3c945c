/**
 * Small shared helpers of the channel subsystem: exponential backoff, abortable sleeps, a
 * bounded LRU map, bounded fetch bodies, and text chunking that prefers paragraph, line and
 * word boundaries. Nothing here knows a platform.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
}

/** Delay before attempt `attempt` (1-based) under `policy`. */
export function backoffMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (n - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(base * (1 - jitter * random())));
}

export class AbortedError extends Error {
  override name = "AbortedError";
  constructor(message = "aborted") {
    super(message);
  }
}

/** Resolve after `ms`, or reject with AbortedError as soon as `signal` aborts. Never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    timer.unref?.();
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function isAbortError(err: unknown): boolean {
  return err instanceof AbortedError || (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"));
}

/** A Map that forgets its least recently used entry past `max` entries. */
export class LruMap<K, V> {
  private map = new Map<K, V>();
  constructor(readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): this {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return this;
  }
  delete(key: K): boolean {
    return this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
}

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** Read a response body as text, refusing more than `maxBytes` (the stream is cancelled). */
export async function readTextLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(`response body of ${declared} bytes exceeds ${maxBytes}`);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(`response body exceeds ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

/**
 * Split `text` into pieces of at most `limit` UTF-16 units (and at most `maxLines` lines when
 * given), cutting at the last paragraph break, else line break, else space before the limit,
 * and only mid-word when a single word is longer than the limit. Surrogate pairs are never split.
 */
export function chunkText(text: string, limit: number, maxLines?: number): string[] {
  if (limit < 1) throw new RangeError("chunk limit must be positive");
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    let window = rest.slice(0, limit);
    if (maxLines !== undefined && maxLines > 0) {
      let idx = -1;
      for (let i = 0; i < maxLines; i++) {
        idx = window.indexOf("\n", idx + 1);
        if (idx < 0) break;
      }
      if (idx >= 0) window = window.slice(0, idx);
    }
    if (window.length === rest.length) {
      out.push(rest);
      break;
    }
    // The window ends right before a break: cut there.
    let cut = /\s/.test(rest.charAt(window.length)) ? window.length : window.lastIndexOf("\n\n");
    if (cut < window.length * 0.3) cut = window.lastIndexOf("\n");
    if (cut < window.length * 0.3) cut = window.lastIndexOf(" ");
    if (cut <= 0) cut = window.length;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // keep a surrogate pair together
    if (cut <= 0) cut = Math.min(2, rest.length);
    const piece = rest.slice(0, cut).replace(/\s+$/u, "");
    if (piece.length > 0) out.push(piece);
    rest = rest.slice(cut).replace(/^\s+/u, "");
  }
  return out.length ? out : [""];
}

/** A constant-time string comparison (for webhook secrets). */
export function safeEqual(a: string | null | undefined, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** A short, single-line description of an error for logs and status. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
