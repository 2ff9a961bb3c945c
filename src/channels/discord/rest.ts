/**
 * Discord REST (API v10): `Authorization: Bot <token>`, JSON bodies, bounded responses and
 * deadlines, and Discord's rate limits honoured:
 *
 * - per route (method + path with the major id kept, other ids generalised): after a response
 *   with `X-RateLimit-Remaining: 0`, the next request on that route waits `X-RateLimit-Reset-After`;
 * - 429: wait the body's `retry_after` (seconds, fractional) or `Retry-After`, globally when the
 *   body or `X-RateLimit-Global` says so, then retry (bounded attempts, waits of at most 60 s);
 * - 5xx and network failures: short backoff, bounded attempts; other 4xx: `DiscordApiError`.
 *
 * The base URL is the versioned REST root (`DISCORD_API_URL`, e.g. `http://127.0.0.1:port/api/v10`).
 */
import { VERSION } from "../../version.ts";
import { backoffMs, BodyTooLargeError, describeError, isAbortError, readTextLimited, sleep, type BackoffPolicy } from "../util.ts";

export const DEFAULT_DISCORD_API = "https://discord.com/api/v10";
const MAX_BODY = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
const RETRY: BackoffPolicy = { initialMs: 500, maxMs: 5_000, factor: 2, jitter: 0.2 };
const MAX_WAIT_MS = 60_000;

export class DiscordApiError extends Error {
  override name = "DiscordApiError";
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly description: string,
    readonly code?: number,
  ) {
    super(`${method} ${path}: ${status} ${description}`);
  }
}

export class DiscordNetworkError extends Error {
  override name = "DiscordNetworkError";
}

/** The rate-limit route of a request: the first id (the major parameter) kept, later ids generalised. */
export function routeKey(method: string, path: string): string {
  let seen = 0;
  return `${method} ${path.replace(/\d{15,}/g, (id) => (seen++ === 0 ? id : ":id")).replace(/\/reactions\/[^/]+/, "/reactions/:emoji")}`;
}

export class DiscordRest {
  readonly base: string;
  private buckets = new Map<string, number>();
  private globalUntil = 0;

  constructor(
    private readonly token: string,
    base: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.base = (base?.trim() || DEFAULT_DISCORD_API).replace(/\/+$/u, "");
  }

  async request<T = any>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; attempts?: number; timeoutMs?: number } = {}): Promise<T> {
    const key = routeKey(method, path);
    const attempts = Math.max(1, opts.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      const wait = Math.max(this.globalUntil, this.buckets.get(key) ?? 0) - Date.now();
      if (wait > 0) await sleep(Math.min(wait, MAX_WAIT_MS), opts.signal);
      let res: Response;
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      try {
        res = await this.fetchImpl(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bot ${this.token}`,
            "user-agent": `DiscordBot (https://openclaw.ai, ${VERSION})`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (attempt >= attempts) throw new DiscordNetworkError(`${method} ${path}: ${timeout.aborted ? "timed out" : describeError(err)}`);
        await sleep(backoffMs(RETRY, attempt), opts.signal);
        continue;
      }
      this.noteLimits(key, res.headers);
      let text = "";
      try {
        text = res.status === 204 ? "" : await readTextLimited(res, MAX_BODY);
      } catch (err) {
        if (isAbortError(err) && opts.signal?.aborted) throw err;
        if (err instanceof BodyTooLargeError || attempt >= attempts) throw new DiscordNetworkError(`${method} ${path}: ${describeError(err)}`);
        continue;
      }
      let json: any = null;
      if (text) {
        try {
          json = JSON.parse(text);
        } catch {
          if (res.ok) throw new DiscordNetworkError(`${method} ${path}: malformed response (not JSON)`);
        }
      }
      if (res.ok) return json as T;
      if (res.status === 429) {
        const retryAfterS = Number(json?.retry_after ?? res.headers.get("retry-after") ?? 1);
        const waitMs = Math.max(0, Number.isFinite(retryAfterS) ? retryAfterS * 1000 : 1000);
        if (json?.global === true || res.headers.get("x-ratelimit-global") === "true") this.globalUntil = Date.now() + waitMs;
        else this.buckets.set(key, Date.now() + waitMs);
        if (attempt >= attempts || waitMs > MAX_WAIT_MS) throw new DiscordApiError(method, path, 429, String(json?.message ?? "rate limited"));
        continue;
      }
      if (res.status >= 500 && attempt < attempts) {
        await sleep(backoffMs(RETRY, attempt), opts.signal);
        continue;
      }
      throw new DiscordApiError(method, path, res.status, String(json?.message ?? `HTTP ${res.status}`).slice(0, 300), typeof json?.code === "number" ? json.code : undefined);
    }
  }

  private noteLimits(key: string, headers: Headers): void {
    const remaining = headers.get("x-ratelimit-remaining");
    const resetAfter = Number(headers.get("x-ratelimit-reset-after"));
    if (remaining === "0" && Number.isFinite(resetAfter)) this.buckets.set(key, Date.now() + resetAfter * 1000);
    else if (remaining !== null) this.buckets.delete(key);
    if (this.buckets.size > 1000) this.buckets.clear();
  }
}
