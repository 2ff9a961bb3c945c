/**
 * What the HTTP surfaces need from the gateway (`HttpContext`) and the Hono environment every
 * router shares (`HttpEnv`: the Bun server binding and the per-request variables the
 * middleware sets). Routers import these types, never the gateway object.
 */
import type { Server } from "bun";
import type { Hono } from "hono";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { FailedAuthLimiter } from "../../auth/rate-limit.ts";
import type { GatewaySettings } from "../../config/runtime.ts";
import type { ConfigSnapshot } from "../../config/snapshot.ts";
import type { Logger } from "../../log/logger.ts";
import type { SocketData } from "../ws/connection.ts";

/** Who made an authenticated API request. */
export interface HttpPrincipal {
  method: "token" | "password" | "trusted-proxy" | "none";
  /** Stable identity for `previous_response_id` ownership. */
  subject: string;
  scopes: string[];
  /** Holds operator.admin (may use `x-openclaw-model`). */
  owner: boolean;
  clientIp: string;
}

export type HttpEnv = {
  Bindings: { server: Server<SocketData> };
  Variables: {
    /** Set by the gateway-auth middleware. */
    principal: HttpPrincipal;
    /** Set by the JSON body middleware: the validated request body. */
    body: unknown;
    /** Set by the endpoint middleware: errors on this route get OpenAI-style JSON bodies. */
    api: boolean;
  };
};

export interface HttpContext {
  /** The config snapshot the gateway runs on (swapped on reload; read it per request). */
  readonly snapshot: ConfigSnapshot;
  readonly settings: GatewaySettings;
  readonly log: Logger;
  readonly agents: AgentRuntime;
  readonly limiter: FailedAuthLimiter;
  /** True while the listener is stopping. */
  readonly draining: boolean;
  uptimeMs(): number;
}

/**
 * A router a part of the gateway mounts on the gateway's port. Requests under `prefix` go to
 * it (after the probes and the OpenAI-compatible API). A function is called on the first
 * request, so a router costs nothing at startup.
 */
export interface HttpRouter {
  /** Path prefix, e.g. "/hooks" (matches "/hooks" and "/hooks/…"). */
  prefix: string;
  /** Built on the first request when a function (it gets the gateway's HttpContext). */
  app: Hono<HttpEnv> | ((ctx: HttpContext) => Hono<HttpEnv> | Promise<Hono<HttpEnv>>);
  /**
   * Mounted after every other router (the Control UI at "/": its page routes would shadow
   * anything mounted later). What it does not answer is the gateway's plain-text 404.
   */
  fallback?: boolean;
}
