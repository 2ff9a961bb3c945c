/**
 * The Telegram Bot API over HTTPS: `POST {apiRoot}/bot<TOKEN>/<method>` with a JSON body,
 * answered with `{ok:true,result}` or `{ok:false,error_code,description,parameters}`.
 *
 * - `apiRoot` is the Bot API root only (self-hosted Bot API servers, proxies, the tests' fake);
 *   an accidental trailing `/bot<TOKEN>` is removed.
 * - Every call has a deadline (per method, as the original: 15 s for control calls, 45 s for
 *   `getUpdates`, 60 s for sends) and a bounded response body (4 MiB).
 * - `call()` retries what is worth retrying: 429 after Telegram's `retry_after` (when it is at
 *   most a minute), 5xx and network failures with a short backoff; never 4xx.
 * - Malformed bodies (not JSON, not an envelope) are errors, never crashes.
 */
import { backoffMs, BodyTooLargeError, describeError, isAbortError, readTextLimited, sleep, type BackoffPolicy } from "../util.ts";

export const DEFAULT_API_ROOT = "https://api.telegram.org";
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
export const GET_UPDATES_TIMEOUT_MS = 45_000;

const TIMEOUTS: Record<string, number> = {
  getme: 15_000,
  deletewebhook: 15_000,
  setwebhook: 15_000,
  deletemycommands: 15_000,
  setmycommands: 15_000,
  getchat: 15_000,
  setmessagereaction: 10_000,
  getupdates: GET_UPDATES_TIMEOUT_MS,
};
const DEFAULT_TIMEOUT_MS = 60_000;
const RETRY: BackoffPolicy = { initialMs: 500, maxMs: 5_000, factor: 2, jitter: 0.2 };
const MAX_RETRY_AFTER_S = 60;

/** Remove trailing slashes and an accidental `/bot<TOKEN>` segment. */
export function normalizeApiRoot(apiRoot: string | undefined): string {
  const trimmed = apiRoot?.trim();
  if (!trimmed) return DEFAULT_API_ROOT;
  let out = trimmed.replace(/\/+$/u, "");
  try {
    const url = new URL(out);
    const segments = url.pathname.split("/").filter(Boolean);
    if (segments.length && /^bot\d+:[A-Za-z0-9_-]+$/.test(segments[segments.length - 1])) {
      segments.pop();
      url.pathname = segments.length ? `/${segments.join("/")}` : "/";
      url.search = "";
      url.hash = "";
      out = url.toString().replace(/\/+$/u, "");
    }
  } catch {
    // not a URL: used as given, the request will fail and say so
  }
  return out;
}

/** An error answer of the Bot API (or an HTTP failure shaped like one). */
export class TelegramApiError extends Error {
  override name = "TelegramApiError";
  constructor(
    readonly method: string,
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfterS?: number,
  ) {
    super(`${method}: ${errorCode} ${description}`);
  }
  get isAuth(): boolean {
    return this.errorCode === 401;
  }
  get retryable(): boolean {
    return this.errorCode === 429 || this.errorCode >= 500;
  }
}

/** The request never got a valid answer (network, timeout, malformed body). */
export class TelegramNetworkError extends Error {
  override name = "TelegramNetworkError";
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
  }
}

export function isRetryableTelegramError(err: unknown): boolean {
  if (err instanceof TelegramApiError) return err.retryable;
  return err instanceof TelegramNetworkError;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Attempts for retryable failures (default 3; 1 = no retry). */
  attempts?: number;
}

export class TelegramApi {
  readonly root: string;
  constructor(
    private readonly token: string,
    apiRoot: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.root = normalizeApiRoot(apiRoot);
  }

  url(method: string): string {
    return `${this.root}/bot${this.token}/${method}`;
  }

  /** One request, no retry. */
  async request<T = unknown>(method: string, body: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? TIMEOUTS[method.toLowerCase()] ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(method), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new TelegramNetworkError(method, timeout.aborted ? `timed out after ${timeoutMs} ms` : describeError(err));
    }
    let text: string;
    try {
      text = await readTextLimited(res, MAX_RESPONSE_BYTES);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (err instanceof BodyTooLargeError) throw new TelegramNetworkError(method, err.message);
      throw new TelegramNetworkError(method, timeout.aborted ? `timed out after ${timeoutMs} ms` : describeError(err));
    }
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      if (!res.ok) throw new TelegramApiError(method, res.status, `HTTP ${res.status}`);
      throw new TelegramNetworkError(method, "malformed response (not JSON)");
    }
    if (!json || typeof json !== "object") throw new TelegramNetworkError(method, "malformed response (not an object)");
    if (res.ok && json.ok === true) return json.result as T;
    const code = typeof json.error_code === "number" ? json.error_code : res.status >= 400 ? res.status : 500;
    const description = typeof json.description === "string" ? json.description.slice(0, 500) : `HTTP ${res.status}`;
    const retryAfter = typeof json.parameters?.retry_after === "number" && Number.isFinite(json.parameters.retry_after) ? json.parameters.retry_after : undefined;
    throw new TelegramApiError(method, code, description, retryAfter);
  }

  /** A request with retries for 429 (after `retry_after`), 5xx and network failures. */
  async call<T = unknown>(method: string, body: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<T> {
    const attempts = Math.max(1, opts.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<T>(method, body, opts);
      } catch (err) {
        if (isAbortError(err) && opts.signal?.aborted) throw err;
        if (attempt >= attempts || !isRetryableTelegramError(err)) throw err;
        let delay = backoffMs(RETRY, attempt);
        if (err instanceof TelegramApiError && err.errorCode === 429 && err.retryAfterS !== undefined) {
          if (err.retryAfterS > MAX_RETRY_AFTER_S) throw err;
          delay = err.retryAfterS * 1000;
        }
        await sleep(delay, opts.signal);
      }
    }
  }
}
