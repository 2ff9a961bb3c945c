/**
 * Response helpers shared by every HTTP surface: the security headers, plain-text and JSON
 * bodies, and OpenAI-style error envelopes as Hono `HTTPException`s (thrown by middleware and
 * handlers, turned into responses by the one `onError` in app.ts).
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Permissions-Policy": "camera=(), microphone=(self), geolocation=()",
};

const JSON_TYPE = "application/json; charset=utf-8";

export function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...SECURITY_HEADERS, "Content-Type": JSON_TYPE, ...headers } });
}

/** A JSON response without the security headers (the app-wide middleware adds them). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": JSON_TYPE, ...headers } });
}

/** `{"error":{"message","type"[,"code"]}}` */
export function oaiError(status: number, type: string, message: string, code?: string, headers: Record<string, string> = {}): Response {
  return json(status, { error: code ? { message, type, code } : { message, type } }, headers);
}

export const invalidRequest = (message: string) => oaiError(400, "invalid_request_error", message);

/**
 * An HTTP failure with its exact body. Throw it anywhere in a route (middleware or handler);
 * `onError` answers with `getResponse()`.
 */
export class ApiError extends HTTPException {
  constructor(response: Response) {
    super(response.status as ContentfulStatusCode, { res: response });
  }

  /** `400 invalid_request_error` with this message. */
  static invalid(message: string): ApiError {
    return new ApiError(invalidRequest(message));
  }

  /** Any OpenAI-style error envelope. */
  static openai(status: number, type: string, message: string, code?: string, headers?: Record<string, string>): ApiError {
    return new ApiError(oaiError(status, type, message, code, headers));
  }
}
