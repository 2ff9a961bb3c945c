/**
 * What the API routes share beyond middleware: body reading with size and time limits, the
 * mapping of upstream model failures to OpenAI error envelopes, and streaming a turn as SSE.
 */
import { ProviderError, toHttpFailure } from "../../providers/errors.ts";
import type { ModelEvent } from "../../providers/types.ts";
import { ApiError, invalidRequest, oaiError } from "./reply.ts";
import { SseStream } from "./sse.ts";

export { ApiError, invalidRequest, json, oaiError } from "./reply.ts";

export const MiB = 1024 * 1024;
export const BODY_LIMITS = { chat: 20 * MiB, responses: 20 * MiB, embeddings: 5 * MiB, tools: 2 * MiB } as const;
export const BODY_TIMEOUT_MS = 30_000;

/** An upstream model failure as an OpenAI error response (a 429 carries Retry-After). */
export function providerFailure(err: ProviderError): Response {
  const f = toHttpFailure(err);
  const headers: Record<string, string> = {};
  if (f.status === 429 && err.extra.retryAfterMs !== undefined) headers["Retry-After"] = String(Math.ceil(err.extra.retryAfterMs / 1000));
  return oaiError(f.status, f.type, f.message, f.code, headers);
}

/** The `error` object for a failure after a stream started: `{"message","type"[,"code"]}`. */
export function failureBody(err: unknown): { message: string; type: string; code?: string } {
  if (err instanceof ProviderError) {
    const f = toHttpFailure(err);
    return f.code ? { message: f.message, type: f.type, code: f.code } : { message: f.message, type: f.type };
  }
  return { message: "internal error", type: "api_error" };
}

// --- bodies ---------------------------------------------------------------------------------

/**
 * Read a JSON body: empty → `{}`; larger than `maxBytes` → 413; not complete within
 * `timeoutMs` → 408; unparsable → 400 with the parser's message. Throws ApiError.
 */
export async function readJsonBody(req: Request, maxBytes: number, timeoutMs = BODY_TIMEOUT_MS): Promise<unknown> {
  const tooLarge = () => new ApiError(oaiError(413, "invalid_request_error", "Payload too large"));
  const timeout = () => new ApiError(oaiError(408, "invalid_request_error", "Request body timeout"));
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const knownLength = Number.isFinite(declared) && req.headers.has("content-length");
  const body = req.body;
  if (!knownLength && !body) return {};
  let text: string;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  try {
    if (knownLength) {
      // Known length within the limit: let Bun read it natively, bounded in time.
      const got = await Promise.race([req.text(), timedOut]);
      if (got === "timeout") throw timeout();
      text = got;
    } else {
      // Chunked: count bytes as they arrive.
      const reader = body!.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const next = await Promise.race([reader.read(), timedOut]);
        if (next === "timeout") {
          reader.cancel().catch(() => {});
          throw timeout();
        }
        if (next.done) break;
        size += next.value.byteLength;
        if (size > maxBytes) {
          reader.cancel().catch(() => {});
          throw tooLarge();
        }
        chunks.push(next.value);
      }
      text = new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    }
  } finally {
    clearTimeout(timer);
  }
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(invalidRequest((err as Error).message));
  }
}

// --- agent turns ----------------------------------------------------------------------------

/** Cancels a turn when its client disconnects; `release()` once the turn has settled. */
export function clientAbort(req: Request): { signal: AbortSignal; gone(): void; release(): void } {
  const controller = new AbortController();
  const gone = () => controller.abort("client disconnected");
  req.signal.addEventListener("abort", gone, { once: true });
  return { signal: controller.signal, gone, release: () => req.signal.removeEventListener("abort", gone) };
}

export interface TurnStream<T> {
  client: ReturnType<typeof clientAbort>;
  /** Opening frames, queued synchronously the moment a model accepts, so they always come first. */
  head(): string;
  /** One batch of model events → frames. */
  frames(events: ModelEvent[]): string;
  /** Start the turn with these streaming hooks. */
  run(hooks: { onOpen(): void; onEvents(events: ModelEvent[]): Promise<void> }): Promise<T>;
  /** Closing frames of a turn that succeeded. */
  end(value: T, sse: SseStream): Promise<void>;
  /** Error frames of a turn that failed after the stream opened. */
  fail(err: unknown, sse: SseStream): Promise<void>;
  /** Instead of `fail`, when the turn ended because the client went away. */
  aborted?(): void;
  /** The client stopped reading: the stream now holds the upstream back. */
  blocked?(): void;
}

/**
 * Stream one turn as SSE. The response starts once a model accepted the request (or a fallback
 * did); a failure before that rejects with the turn's error, so the client gets an ordinary
 * error with its own status. Once started, the stream always ends with `data: [DONE]`.
 */
export async function streamTurn<T>(spec: TurnStream<T>): Promise<Response> {
  const { client } = spec;
  const sse = new SseStream(client.gone, spec.blocked);
  const opened = Promise.withResolvers<void>();
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void sse.write(spec.head());
    opened.resolve();
  };
  const running = spec.run({
    onOpen: start,
    onEvents: (events) => {
      start();
      return sse.write(spec.frames(events));
    },
  });
  const first = await Promise.race([opened.promise.then(() => "open" as const), running.then(() => "done" as const, () => "failed" as const)]);
  if (first === "failed") {
    client.release();
    await running; // rethrows the turn's error
  }
  start();
  running
    .then((value) => spec.end(value, sse))
    .catch((err) => (client.signal.aborted ? spec.aborted?.() : spec.fail(err, sse)))
    .finally(async () => {
      client.release();
      await sse.write("data: [DONE]\n\n");
      sse.close();
    });
  return sse.response();
}
