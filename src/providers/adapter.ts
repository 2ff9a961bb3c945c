/** What each wire format implements; the driver (`call.ts`) does HTTP, retries and timeouts. */
import type { EmbeddingCall, EmbeddingResult, ModelCall, ModelEvent, ModelResult, ProviderConfig } from "./types.ts";

export interface WireRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface Adapter {
  /** The body is SSE (`sse`) or newline-delimited JSON (`ndjson`) when streaming. */
  streamFormat: "sse" | "ndjson";
  chatRequest(call: ModelCall, stream: boolean): WireRequest;
  parseChat(json: unknown): ModelResult;
  /**
   * A stateful translator for one stream: raw items (SSE events or NDJSON objects) → model events.
   * Unparsable data may simply throw its SyntaxError: the driver reports it as malformed stream data.
   */
  streamTranslator(): (items: unknown[]) => ModelEvent[];
  embedRequest?(call: EmbeddingCall): WireRequest;
  parseEmbed?(json: unknown): EmbeddingResult;
}

export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}

/** A base URL without trailing slashes or a final `/v1` (for APIs whose paths add their own). */
export function withoutV1(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v1$/, "");
}

export function bearerHeaders(p: ProviderConfig): Record<string, string> {
  const h: Record<string, string> = { "Content-Type": "application/json", ...p.headers };
  if (p.apiKey) h.Authorization = `Bearer ${p.apiKey}`;
  return h;
}

/** Defined entries only, so `undefined` never reaches the wire. */
export function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

export function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

export function safeJsonObject(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: text };
  }
}
