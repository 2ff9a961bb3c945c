/**
 * The HTTP driver shared by every adapter: one upstream request with an idle watchdog
 * (headers and every gap in the body), same-model retries with exponential backoff on
 * 429/5xx/unreachable inside the provider's time budget, and cancellation that reaches the
 * socket (the caller's AbortSignal aborts the upstream fetch, including mid-body).
 */
import type { Adapter, WireRequest } from "./adapter.ts";
import { anthropicMessages } from "./anthropic-messages.ts";
import { isRetryable, ProviderError, reasonForStatus, retryAfterMs, upstreamMessage } from "./errors.ts";
import { ollama } from "./ollama.ts";
import { openAiCompletions } from "./openai-completions.ts";
import { openAiResponses } from "./openai-responses.ts";
import type { EmbeddingCall, EmbeddingResult, ModelCall, ModelEvent, ModelResult, ProviderApi, ProviderConfig } from "./types.ts";
import { ndjsonBatches, sseBatches } from "./wire.ts";

export const ADAPTERS: Record<ProviderApi, Adapter> = {
  "openai-completions": openAiCompletions,
  "openai-responses": openAiResponses,
  "anthropic-messages": anthropicMessages,
  ollama,
};

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: ProviderError;
}

export interface CallOptions {
  signal?: AbortSignal;
  onRetry?(info: RetryInfo): void;
}

const TIMEOUT = Symbol("timeout");

/**
 * Aborts its controller after `ms` without a `touch()`. Touching only stores a timestamp (it
 * runs once per network read); the single timer re-arms itself for the remaining time.
 */
class Watchdog {
  readonly controller = new AbortController();
  private timer?: ReturnType<typeof setTimeout>;
  private last = 0;
  private paused = false;
  timedOut = false;
  private readonly unlink: () => void;

  constructor(
    private readonly ms: number,
    outer: AbortSignal | undefined,
  ) {
    const onAbort = () => this.controller.abort(outer?.reason);
    if (outer?.aborted) this.controller.abort(outer.reason);
    else outer?.addEventListener("abort", onAbort, { once: true });
    this.unlink = () => outer?.removeEventListener("abort", onAbort);
    this.touch();
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.controller.signal.aborted) return;
      const idle = performance.now() - this.last;
      if (this.paused) return;
      if (idle < this.ms) return this.arm(this.ms - idle);
      this.timedOut = true;
      this.controller.abort(TIMEOUT);
    }, Math.max(1, delay));
  }

  touch(): void {
    this.last = performance.now();
    this.paused = false;
    if (this.ms > 0 && !this.timer && !this.controller.signal.aborted) this.arm(this.ms);
  }

  /** Stop counting while the consumer, not the upstream, is the slow side (backpressure). */
  pause(): void {
    this.paused = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stop the timer; with `abort`, also cancel the upstream request. */
  dispose(abort = false): void {
    this.pause();
    this.unlink();
    if (abort && !this.controller.signal.aborted) this.controller.abort();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProviderError("aborted", "request aborted"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ProviderError("aborted", "request aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Any error thrown while talking to the upstream, as a ProviderError. */
function classify(err: unknown, dog: Watchdog, outer: AbortSignal | undefined, provider: ProviderConfig): ProviderError {
  if (err instanceof ProviderError) return err;
  if (dog.timedOut) return new ProviderError("timeout", "upstream provider timeout", { provider: provider.id });
  if (outer?.aborted) return new ProviderError("aborted", "request aborted", { provider: provider.id });
  const msg = (err as Error)?.message ?? String(err);
  return new ProviderError("server_error", `upstream unreachable: ${msg}`, { provider: provider.id });
}

export function backoffMs(policy: ProviderConfig["retry"], attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter on the upper half keeps retries from synchronising.
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** POST with retries; resolves with a 2xx response whose body is still unread. */
async function post(
  provider: ProviderConfig,
  req: WireRequest,
  opts: CallOptions,
): Promise<{ res: Response; dog: Watchdog }> {
  const started = Date.now();
  const policy = provider.retry;
  const payload = JSON.stringify(req.body);
  for (let attempt = 1; ; attempt++) {
    const dog = new Watchdog(provider.timeoutMs, opts.signal);
    let error: ProviderError;
    try {
      const res = await fetch(req.url, { method: "POST", headers: req.headers, body: payload, signal: dog.controller.signal });
      if (res.ok) {
        dog.touch();
        return { res, dog };
      }
      const text = await res.text().catch(() => "");
      dog.dispose();
      const status = res.status;
      error = new ProviderError(reasonForStatus(status, text), upstreamMessage(text, status), {
        status,
        retryAfterMs: retryAfterMs(res.headers.get("retry-after")),
        provider: provider.id,
      });
    } catch (err) {
      dog.dispose();
      error = classify(err, dog, opts.signal, provider);
    }
    if (error.reason === "aborted" || !isRetryable(error) || attempt >= policy.maxAttempts) throw error;
    const remaining = policy.budgetMs - (Date.now() - started);
    const wait = error.extra.retryAfterMs ?? backoffMs(policy, attempt);
    // A Retry-After beyond the budget fails fast rather than holding the client.
    if (wait > remaining) throw error;
    opts.onRetry?.({ attempt, delayMs: wait, error });
    await sleep(wait, opts.signal);
  }
}

async function readJson(res: Response, dog: Watchdog, opts: CallOptions, provider: ProviderConfig): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw classify(err, dog, opts.signal, provider);
  } finally {
    dog.dispose();
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderError("server_error", "upstream returned invalid JSON", { provider: provider.id });
  }
}

export async function completeChat(call: ModelCall, opts: CallOptions = {}): Promise<ModelResult> {
  const adapter = ADAPTERS[call.provider.api];
  const { res, dog } = await post(call.provider, adapter.chatRequest(call, false), opts);
  return adapter.parseChat(await readJson(res, dog, opts, call.provider));
}

/**
 * Open a streaming completion. Resolves once the upstream answered 2xx (retries happen
 * before that); the returned iterator yields event batches and throws ProviderError.
 * Ending the iteration early (`return()`) cancels the upstream request.
 */
export async function openChatStream(call: ModelCall, opts: CallOptions = {}): Promise<AsyncGenerator<ModelEvent[], void>> {
  const adapter = ADAPTERS[call.provider.api];
  const { res, dog } = await post(call.provider, adapter.chatRequest(call, true), opts);
  if (!res.body) {
    dog.dispose();
    throw new ProviderError("server_error", "upstream returned no body", { provider: call.provider.id });
  }
  const body = res.body;
  const translate = adapter.streamTranslator();
  const touch = () => dog.touch();
  async function* events(): AsyncGenerator<ModelEvent[], void> {
    let finished = false;
    try {
      const batches = adapter.streamFormat === "ndjson" ? ndjsonBatches(body, touch) : sseBatches(body, touch);
      for await (const batch of batches) {
        const out = translate(batch);
        if (!out.length) continue;
        dog.pause();
        yield out;
        dog.touch();
      }
      finished = true;
    } catch (err) {
      if (err instanceof SyntaxError) throw new ProviderError("server_error", "upstream sent malformed stream data", { provider: call.provider.id });
      throw classify(err, dog, opts.signal, call.provider);
    } finally {
      dog.dispose(!finished);
    }
  }
  return events();
}

export async function embed(call: EmbeddingCall, opts: CallOptions = {}): Promise<EmbeddingResult> {
  const adapter = ADAPTERS[call.provider.api];
  if (!adapter.embedRequest || !adapter.parseEmbed) {
    throw new ProviderError("format", `provider "${call.provider.id}" (${call.provider.api}) has no embeddings API`, { provider: call.provider.id });
  }
  const { res, dog } = await post(call.provider, adapter.embedRequest(call), opts);
  return adapter.parseEmbed(await readJson(res, dog, opts, call.provider));
}
