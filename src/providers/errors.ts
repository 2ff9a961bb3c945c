/**
 * Upstream failures, classified once. The class decides whether to retry the same model,
 * whether to fail over to the next one, and which HTTP status and OpenAI error type the
 * client sees (spec http.md §3 "Error mapping"). The gateway's own refusal to queue another
 * run (`queue_full`, src/agents/lanes.ts) travels the same way so every surface maps it once.
 */

export type FailureReason =
  | "auth"
  | "auth_permanent"
  | "billing"
  | "rate_limit"
  | "overloaded"
  | "server_error"
  | "timeout"
  | "format"
  | "context_overflow"
  | "model_not_found"
  | "not_configured"
  | "aborted"
  | "queue_full"
  | "unknown";

export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly extra: { status?: number; retryAfterMs?: number; provider?: string; model?: string; configKey?: string } = {},
  ) {
    super(message);
  }
}

/** Same-model retry: rate limits and transient server trouble (never after output started). */
export function isRetryable(e: ProviderError): boolean {
  return e.reason === "rate_limit" || e.reason === "overloaded" || e.reason === "server_error";
}

/** Worth trying the next model in the agent's chain (a missing model too, as the original does). */
export function isFailoverWorthy(e: ProviderError): boolean {
  return ["auth", "auth_permanent", "billing", "rate_limit", "overloaded", "server_error", "timeout", "not_configured", "model_not_found"].includes(e.reason);
}

export function reasonForStatus(status: number, text = ""): FailureReason {
  if (status === 401) return "auth";
  if (status === 403) return "auth_permanent";
  if (status === 402) return "billing";
  if (status === 429) return "rate_limit";
  if (status === 408 || status === 504) return "timeout";
  if (status === 503 || status === 529) return "overloaded";
  if (status === 413) return "context_overflow";
  if (status === 404) return "model_not_found";
  if (status >= 500) return "server_error";
  if (status === 400 || status === 422) {
    return /context length|context window|too many tokens|maximum context/i.test(text) ? "context_overflow" : "format";
  }
  return "unknown";
}

export interface HttpFailure {
  status: number;
  type: string;
  message: string;
  code?: string;
}

/** The client-facing status, OpenAI error `type` and message for a failure. */
export function toHttpFailure(e: ProviderError): HttpFailure {
  // A client-side (4xx) upstream status passes through; anything else becomes `fallback`.
  const passed = (fallback: number) => {
    const known = e.extra.status;
    return known && known >= 400 && known < 500 ? known : fallback;
  };
  switch (e.reason) {
    case "auth":
      return { status: 401, type: "authentication_error", message: e.message };
    case "auth_permanent":
      return { status: 403, type: "permission_error", message: e.message };
    case "billing":
      return { status: 402, type: "insufficient_quota", message: e.message };
    case "rate_limit":
      return { status: 429, type: "rate_limit_error", message: e.message };
    case "overloaded":
      return { status: 503, type: "api_error", message: "upstream provider overloaded" };
    case "server_error":
      return { status: passed(502), type: "api_error", message: "upstream provider error" };
    case "timeout":
      return { status: passed(504), type: "api_error", message: "upstream provider timeout" };
    case "format":
      return { status: 400, type: "invalid_request_error", message: e.message };
    case "context_overflow":
      return { status: 413, type: "invalid_request_error", message: e.message };
    case "model_not_found":
      return { status: 404, type: "invalid_request_error", message: e.message };
    case "not_configured":
      return { status: 503, type: "api_error", message: e.message, code: "provider_not_configured" };
    case "aborted":
      return { status: 499, type: "api_error", message: "request aborted" };
    case "queue_full":
      return { status: 429, type: "rate_limit_error", message: e.message, code: "queue_full" };
    default:
      return { status: 500, type: "api_error", message: "internal error" };
  }
}

/** Pull a human message out of an upstream error body (OpenAI, Anthropic, Ollama shapes). */
export function upstreamMessage(body: string, status: number): string {
  try {
    const v = JSON.parse(body) as { error?: unknown; message?: unknown };
    const err = v.error;
    if (typeof err === "string" && err) return err;
    if (err && typeof err === "object" && typeof (err as { message?: unknown }).message === "string") {
      return (err as { message: string }).message;
    }
    if (typeof v.message === "string" && v.message) return v.message;
  } catch {
    // not JSON
  }
  const text = body.trim().slice(0, 500);
  return text || `upstream returned HTTP ${status}`;
}

/** `Retry-After` in seconds or as an HTTP date → ms (undefined when absent or unparsable). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
