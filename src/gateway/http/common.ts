/**
 * Shared plumbing of the API routes: the per-endpoint switch, CORS, method checks, gateway
 * auth and scopes, JSON bodies with size and time limits, and OpenAI-style error envelopes
 * (upstream model failures included).
 */
import type { Context, Hono } from "hono";
import { StoreUnavailableError } from "../../agents/runtime.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { normalizeIp } from "../../auth/net.ts";
import { ProviderError, toHttpFailure } from "../../providers/errors.ts";
import type { ModelEvent } from "../../providers/types.ts";
import type { Scope } from "../../protocol/scopes.ts";
import type { z } from "../../zod.ts";
import type { GatewayContext } from "../context.ts";
import type { HttpEnv } from "./app.ts";
import { textResponse } from "./app.ts";
import { authenticateHttp, scopeDenied, type HttpPrincipal } from "./auth.ts";
import { SseStream } from "./sse.ts";

export type EndpointName = "models" | "chatCompletions" | "responses" | "embeddings" | "toolsInvoke";

export const MiB = 1024 * 1024;
export const BODY_LIMITS = { chat: 20 * MiB, responses: 20 * MiB, embeddings: 5 * MiB, tools: 2 * MiB } as const;
export const BODY_TIMEOUT_MS = 30_000;

/** Enabled by default; `gateway.http.endpoints.<name>.enabled: false` switches one off (plain 404). */
export function endpointEnabled(cfg: OpenClawConfig, name: EndpointName): boolean {
  return cfg.gateway?.http?.endpoints?.[name]?.enabled !== false;
}

const JSON_TYPE = "application/json; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": JSON_TYPE, ...headers } });
}

/** `{"error":{"message","type"[,"code"]}}` */
export function oaiError(status: number, type: string, message: string, code?: string, headers: Record<string, string> = {}): Response {
  return json(status, { error: code ? { message, type, code } : { message, type } }, headers);
}

export const invalidRequest = (message: string) => oaiError(400, "invalid_request_error", message);

export class HttpError extends Error {
  constructor(readonly response: Response) {
    super("http error");
  }
}

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

// --- CORS ----------------------------------------------------------------------------------

const CORS_ALLOWED_HEADERS = "authorization, content-type, x-openclaw-agent-id, x-openclaw-agent, x-openclaw-model, x-openclaw-session-key, x-openclaw-message-channel, x-openclaw-scopes, openai-beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";

/** The request's Origin when `gateway.http.cors.allowedOrigins` lists it (or `*`). */
export function corsOrigin(cfg: OpenClawConfig, req: Request): string | undefined {
  const origin = req.headers.get("origin");
  if (!origin) return undefined;
  const allowed = cfg.gateway?.http?.cors?.allowedOrigins ?? [];
  const norm = origin.replace(/\/+$/, "");
  return allowed.some((o) => o === "*" || o.replace(/\/+$/, "") === norm) ? origin : undefined;
}

function corsHeaders(origin: string): Record<string, string> {
  return { "Access-Control-Allow-Origin": origin, Vary: "Origin", "Access-Control-Expose-Headers": "Retry-After" };
}

function preflight(origin: string, methods: string[], req: Request): Response {
  const requested = req.headers.get("access-control-request-headers");
  // Echo what the browser asks for when it is a plain header list; otherwise the known set.
  const allowHeaders = requested && /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/.test(requested.trim()) ? requested : CORS_ALLOWED_HEADERS;
  return new Response(null, {
    status: 204,
    headers: {
      ...corsHeaders(origin),
      "Access-Control-Allow-Methods": [...methods, "OPTIONS"].join(", "),
      "Access-Control-Allow-Headers": allowHeaders,
      "Access-Control-Max-Age": "600",
    },
  });
}

// --- endpoints ------------------------------------------------------------------------------

export interface EndpointSpec {
  name: EndpointName;
  /** Extra switch on top of the endpoint's own (models needs chat or responses upstream; ours is its own). */
  methods: string[];
  scope: Scope;
  handler(c: Context<HttpEnv>, principal: HttpPrincipal): Response | Promise<Response>;
}

/**
 * Mount `path` with the full gate: switch → CORS preflight → method → auth → scope → handler.
 * Disabled endpoints answer a plain-text 404 for every method. A handler may throw HttpError,
 * StoreUnavailableError (503) or ProviderError (mapped by `toHttpFailure`); anything else is a 500.
 */
export function mountEndpoint(app: Hono<HttpEnv>, ctx: GatewayContext, path: string, spec: EndpointSpec): void {
  app.all(path, async (c) => {
    const cfg = ctx.loaded.config;
    if (!endpointEnabled(cfg, spec.name)) return textResponse(404, "Not Found");
    const req = c.req.raw;
    const origin = corsOrigin(cfg, req);
    if (req.method === "OPTIONS" && origin && req.headers.has("access-control-request-method")) {
      return preflight(origin, spec.methods, req);
    }
    let res: Response;
    if (!spec.methods.includes(req.method) && !(req.method === "HEAD" && spec.methods.includes("GET"))) {
      res = textResponse(405, "Method Not Allowed", { Allow: spec.methods.join(", ") });
    } else {
      const principal = authenticateHttp(ctx, req, normalizeIp(c.env.server.requestIP(req)?.address ?? ""));
      if (principal instanceof Response) res = principal;
      else {
        try {
          res = scopeDenied(principal, spec.scope) ?? (await spec.handler(c, principal));
        } catch (err) {
          if (err instanceof HttpError) res = err.response;
          else if (err instanceof StoreUnavailableError) res = oaiError(503, "api_error", err.message, "state_unavailable");
          else if (err instanceof ProviderError) res = providerFailure(err);
          else {
            ctx.log.error(`${req.method} ${path} failed: ${(err as Error).stack ?? err}`);
            res = oaiError(500, "api_error", "internal error");
          }
        }
      }
    }
    if (origin) for (const [k, v] of Object.entries(corsHeaders(origin))) res.headers.set(k, v);
    return res;
  });
}

// --- bodies ---------------------------------------------------------------------------------

/**
 * Read a JSON body: empty → `{}`; larger than `maxBytes` → 413; not complete within
 * `timeoutMs` → 408; unparsable → 400 with the parser's message. Throws HttpError.
 */
export async function readJsonBody(req: Request, maxBytes: number, timeoutMs = BODY_TIMEOUT_MS): Promise<unknown> {
  const tooLarge = () => new HttpError(oaiError(413, "invalid_request_error", "Payload too large"));
  const timeout = () => new HttpError(oaiError(408, "invalid_request_error", "Request body timeout"));
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
    throw new HttpError(invalidRequest((err as Error).message));
  }
}

export function issueText(error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request body.";
  let path = "";
  for (const seg of issue.path) path += typeof seg === "number" ? `[${seg}]` : path ? `.${String(seg)}` : String(seg);
  return path ? `Invalid \`${path}\`: ${issue.message}` : `Invalid request body: ${issue.message}`;
}

/** `readJsonBody`, then `schema`: a body that does not fit is a 400 naming its first issue. Throws HttpError. */
export async function readJsonRequest<T>(req: Request, schema: z.ZodMiniType<T>, maxBytes: number): Promise<T> {
  const parsed = schema.safeParse(await readJsonBody(req, maxBytes));
  if (!parsed.success) throw new HttpError(invalidRequest(issueText(parsed.error)));
  return parsed.data;
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
}

/**
 * Stream one turn as SSE. The response starts once a model accepted the request (or a fallback
 * did); a failure before that rejects with the turn's error, so the client gets an ordinary
 * error with its own status. Once started, the stream always ends with `data: [DONE]`.
 */
export async function streamTurn<T>(spec: TurnStream<T>): Promise<Response> {
  const { client } = spec;
  const sse = new SseStream(client.gone);
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
