/**
 * What went wrong talking to a gateway, described for JSON (the upstream error envelopes:
 * `gateway_request_error`, `gateway_transport_error`, `gateway_credentials_required`,
 * `cli_error`) and for humans. Used by every operator command (their CLIs print it).
 */
import {
  GatewayClosedError,
  GatewayConnectError,
  GatewayRequestError,
  GatewayTimeoutError,
} from "../protocol/client.ts";
import type { ErrorShape } from "../protocol/errors.ts";
import type { GatewayTarget } from "./target.ts";

/** The errno of a failed TCP connect to the URL's host:port (ECONNREFUSED, …), best effort. */
export async function transportErrno(url: string, timeoutMs = 1500): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, "");
    port = Number(u.port || (u.protocol === "wss:" ? 443 : 80));
  } catch {
    return undefined;
  }
  try {
    const socket = await Promise.race([
      Bun.connect({ hostname: host, port, socket: { data() {} } }),
      Bun.sleep(timeoutMs).then(() => "timeout" as const),
    ]);
    if (socket === "timeout") return "ETIMEDOUT";
    socket.end();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? "ECONNREFUSED";
  }
}

export interface CliFailure {
  json: Record<string, unknown>;
  human: string[];
}

function requestShape(error: ErrorShape): Record<string, unknown> {
  return {
    type: "gateway_request_error",
    code: error.code,
    message: error.message,
    ...(error.details !== undefined ? { details: error.details } : {}),
    retryable: error.retryable ?? false,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  };
}

function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port}`;
  } catch {
    return url;
  }
}

/** What to do about a refused connect that the user can act on (pairing, device tokens). */
function connectRemediation(error: ErrorShape): string[] {
  const details = (error.details ?? {}) as { code?: string; requestId?: string };
  switch (details.code) {
    case "PAIRING_REQUIRED":
      return [
        details.requestId ? `Request id: ${details.requestId}` : "",
        `Approve this device on the gateway host with ${details.requestId ? `openclaw devices approve ${details.requestId}` : "openclaw devices approve --latest"} (or from the Control UI's Devices page), then rerun this command with the same --url and --token/--password.`,
      ].filter(Boolean);
    case "AUTH_DEVICE_TOKEN_MISMATCH":
      return ["This device's token is no longer valid (rotated, revoked or removed); the stored copy was dropped. Reconnect with the shared token to get a new one, or rotate it on the gateway host with openclaw devices rotate --device <deviceId> --role operator."];
    case "AUTH_SCOPE_MISMATCH":
      return ["This device's token does not cover the scopes asked for. Review them with openclaw devices list on the gateway host; reconnect with the shared token to file a scope upgrade, then approve it."];
    default:
      return [];
  }
}

/** Describe any error from talking to a gateway, for JSON and for humans. */
export async function describeFailure(err: unknown, target?: GatewayTarget, what = "Gateway call"): Promise<CliFailure> {
  // A usage or target error that says what to print (CliError, TargetError, …).
  if (err instanceof Error && Array.isArray((err as { lines?: unknown }).lines)) {
    const e = err as Error & { lines: string[]; json?: unknown };
    return { json: (e.json as Record<string, unknown> | undefined) ?? { ok: false, error: { type: "cli_error", message: e.message } }, human: e.lines };
  }
  if (err instanceof GatewayRequestError) {
    return { json: { ok: false, error: requestShape(err.error) }, human: [`${what} failed: ${err.message}`] };
  }
  if (err instanceof GatewayConnectError && err.kind === "rejected" && err.extra.error) {
    return { json: { ok: false, error: requestShape(err.extra.error) }, human: [`${what} failed: ${err.message}`, ...connectRemediation(err.extra.error)] };
  }
  const gateway = target ? { url: target.url, urlSource: target.urlSource } : undefined;
  const where = target
    ? [`Gateway target: ${target.url}`, `Source: ${target.urlSource}`, `Config: ${target.paths.configPath}`]
    : [];
  if (err instanceof GatewayConnectError || err instanceof GatewayTimeoutError || err instanceof GatewayClosedError) {
    const timeout = err instanceof GatewayTimeoutError || (err instanceof GatewayConnectError && err.kind === "timeout");
    if (timeout) {
      const message = `Gateway did not answer in time at ${target?.url ?? "the gateway"} (${err.message}).`;
      return {
        json: { ok: false, error: { type: "gateway_transport_error", kind: "timeout", message }, ...(gateway ? { gateway } : {}) },
        human: [message, ...where],
      };
    }
    const errno = target && err instanceof GatewayConnectError && err.kind === "unreachable" ? await transportErrno(target.url) : undefined;
    const close =
      err instanceof GatewayClosedError
        ? { code: err.code, reason: err.reason }
        : err instanceof GatewayConnectError && err.extra.closeCode !== undefined
          ? { code: err.extra.closeCode, reason: err.extra.closeReason }
          : undefined;
    const reason = errno
      ? `connect ${errno} ${target ? hostPort(target.url) : ""}`.trim()
      : close
        ? `closed ${close.code}${close.reason ? ` ${close.reason}` : ""}`
        : err.message;
    const message = `Gateway not reachable at ${target?.url ?? "the gateway"}${errno ? ` (${errno})` : ""}.`;
    return {
      json: { ok: false, error: { type: "gateway_transport_error", kind: "closed", message, reason }, ...(gateway ? { gateway } : {}) },
      human: [message, "Start it with `openclaw gateway run` or check `openclaw gateway status`.", ...where],
    };
  }
  const message = (err as Error)?.message ?? String(err);
  return { json: { ok: false, error: { type: "cli_error", message } }, human: [message] };
}

/** `Connect: failed - connect ECONNREFUSED 127.0.0.1:18789`-style short reason. */
export async function shortReason(err: unknown, target: GatewayTarget): Promise<string> {
  const failure = await describeFailure(err, target);
  const error = failure.json.error as { reason?: string; message?: string };
  return error.reason ?? error.message ?? String(err);
}
