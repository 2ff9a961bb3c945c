/**
 * The connect pipeline: params → protocol → role → Origin → lockout → shared secret (or the
 * trusted proxy) → the device part (src/gateway/devices.ts: missing-device policy, device proof,
 * device token, pairing, token issuance) → limiter bookkeeping → hello-ok.
 * Every refusal sends the error `res` first and then closes with the matching code.
 */
import type { SharedVerdict } from "../../auth/device-auth.ts";
import { checkSharedSecret } from "../../auth/shared-secret.ts";
import { checkTrustedProxy } from "../../auth/trusted-proxy.ts";
import { defaultAgentId } from "../../agents/registry.ts";
import {
  authFailure,
  CloseCodes,
  ErrorCodes,
  Messages,
  RpcError,
} from "../../protocol/errors.ts";
import {
  ConnectParams,
  describeIssues,
  MIN_CLIENT_PROTOCOL,
  MIN_NODE_PROTOCOL,
  MIN_PROBE_PROTOCOL,
  PROTOCOL_VERSION,
  type RequestFrame,
  SERVER_CAPABILITIES,
} from "../../protocol/frames.ts";
import { ADMIN, hasScope, READ } from "../../protocol/scopes.ts";
import { BUILD, VERSION } from "../../version.ts";
import { failSecret, limiterSubject, lockedFor, passSecret } from "../gate.ts";
import { isEphemeralClient } from "../presence.ts";
import type { Connection } from "./connection.ts";
import type { WsHost } from "./types.ts";

export const ADVERTISED_EVENTS = ["connect.challenge", "tick", "presence", "health", "shutdown", "config.changed", "agent", "chat"] as const;

const BROWSER_CLIENT_IDS = new Set(["openclaw-control-ui", "webchat-ui", "webchat", "openclaw-browser-copilot"]);

export function isBrowserClient(client: ConnectParams["client"]): boolean {
  return BROWSER_CLIENT_IDS.has(client.id) || client.mode === "webchat";
}

/** Accept iff min ≤ 4 ≤ max; probes may offer 3..4; node-mode nodes may speak 3. */
export function negotiateProtocol(p: Pick<ConnectParams, "minProtocol" | "maxProtocol" | "client" | "role">): boolean {
  const { minProtocol: min, maxProtocol: max } = p;
  if (min <= PROTOCOL_VERSION && PROTOCOL_VERSION <= max && max >= MIN_CLIENT_PROTOCOL) return true;
  if (p.client.mode === "probe" && max >= MIN_PROBE_PROTOCOL && min <= PROTOCOL_VERSION) return true;
  if (p.role === "node" && p.client.mode === "node" && min <= MIN_NODE_PROTOCOL && MIN_NODE_PROTOCOL <= max) return true;
  return false;
}

type Outcome = { ok: true } | { ok: false; error: RpcError; closeCode: number; closeReason: string };

const refuse = (error: RpcError, closeCode: number = CloseCodes.POLICY, closeReason: string = error.message): Outcome => ({
  ok: false,
  error,
  closeCode,
  closeReason,
});

/**
 * Run the connect request. Resolves once hello-ok or the refusal has been sent.
 * Returns true when the socket is now authenticated.
 */
export async function handleConnect(ctx: WsHost, conn: Connection, frame: RequestFrame): Promise<boolean> {
  const outcome = await evaluateConnect(ctx, conn, frame);
  if (conn.isClosing) return false;
  if (!outcome.ok) {
    conn.sendResponse(frame.id, false, undefined, outcome.error.toShape());
    conn.close(outcome.closeCode, outcome.closeReason);
    return false;
  }
  return true;
}

async function evaluateConnect(ctx: WsHost, conn: Connection, frame: RequestFrame): Promise<Outcome> {
  if (ctx.draining) {
    return refuse(
      new RpcError(ErrorCodes.UNAVAILABLE, Messages.restartUnavailable, undefined, { retryable: true, retryAfterMs: 1000 }),
      CloseCodes.TRY_AGAIN_LATER,
      "gateway restart in progress",
    );
  }
  const raw = frame.params;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return refuse(new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidConnectParams("must be object")));
  }
  const parsed = ConnectParams.safeParse(raw);
  if (!parsed.success) {
    return refuse(new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidConnectParams(describeIssues(parsed.error, raw))));
  }
  const p = parsed.data;

  if (!negotiateProtocol(p)) {
    return refuse(
      new RpcError(ErrorCodes.INVALID_REQUEST, Messages.protocolMismatch, {
        code: "PROTOCOL_MISMATCH",
        clientMinProtocol: p.minProtocol,
        clientMaxProtocol: p.maxProtocol,
        expectedProtocol: PROTOCOL_VERSION,
        minimumProbeProtocol: MIN_PROBE_PROTOCOL,
      }),
      CloseCodes.PROTOCOL_ERROR,
    );
  }

  const role = p.role ?? "operator";
  if (role !== "operator" && role !== "node") {
    return refuse(new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidRole));
  }

  const data = conn.data;
  const browser = isBrowserClient(p.client);
  if (data.origin !== undefined || browser) {
    const verdict = data.originVerdict ?? { ok: false as const, reason: "origin-missing" };
    if (!verdict.ok) {
      return refuse(
        new RpcError(ErrorCodes.INVALID_REQUEST, Messages.originNotAllowed, {
          code: "CONTROL_UI_ORIGIN_NOT_ALLOWED",
          reason: verdict.reason,
        }),
      );
    }
  }

  // Browser-origin sockets are never loopback-exempt; from loopback they are keyed by origin.
  const subject = limiterSubject(data.ip, data.origin, ctx.settings.auth.rateLimit.exemptLoopback);
  const locked = lockedFor(ctx, subject);
  if (locked > 0) {
    return refuse(authFailure("rate_limited", { retryAfterMs: locked }));
  }

  const auth = ctx.settings.auth;
  let shared: SharedVerdict;
  if (auth.mode === "trusted-proxy" && !(data.directLocal && p.auth?.password)) {
    const tp = checkTrustedProxy(auth, ctx.settings.trustedProxies, data.socketIp, data.headers ?? new Headers());
    shared = tp.ok ? { ok: true, method: "trusted-proxy", user: tp.user } : { ok: false, reason: tp.reason };
  } else {
    const checked = checkSharedSecret(auth, p.auth);
    shared = checked.ok ? { ok: true, method: checked.method } : { ok: false, reason: checked.reason };
  }

  // The device part (missing-device policy, proof, device token, pairing, token issuance).
  // Scopes go in exactly as sent: they are part of the signed payload.
  const outcome = await ctx.devices.authorize({
    params: {
      client: p.client,
      role,
      scopes: p.scopes,
      auth: p.auth,
      device: p.device,
    },
    nonce: conn.nonce,
    conn: { remoteIp: data.ip, directLocal: data.directLocal, hasForwardingHeaders: data.forwarded, origin: data.origin, host: data.host ?? undefined },
    shared,
    // Device tokens are counted against the same subject as the shared secret.
    deviceTokenLockedForMs: subject.exempt ? 0 : ctx.limiter.lockedFor("device-token", subject.key),
  });
  // The socket went away meanwhile: nothing to answer (handleConnect sees it closing).
  if (conn.isClosing) return { ok: true };

  if (outcome.limiter.deviceToken === "failure") ctx.limiter.recordFailure("device-token", subject.key, subject.exempt);
  else if (outcome.limiter.deviceToken === "success") ctx.limiter.recordSuccess("device-token", subject.key);

  if (!outcome.ok) {
    const details = outcome.error.details as { code?: string; reason?: string } | undefined;
    const who = `conn=${conn.connId} remote=${data.ip} client=${p.client.id}/${p.client.mode}`;
    if (details?.code?.startsWith("DEVICE_AUTH_")) {
      // The runbook's signatures (`device nonce mismatch`, `device signature invalid`, …).
      ctx.log.warn(`device auth rejected: ${outcome.error.message} (${details.reason}) ${who} device=${p.device?.id ?? "none"}`);
    }
    if (outcome.limiter.sharedSecret === "failure") {
      ctx.log.warn(`connect rejected: ${shared.ok ? details?.code : shared.reason} from ${data.ip} (client ${p.client.id}/${p.client.mode})`);
      // The same gate as HTTP: count the failure and answer after the limiter's slowdown.
      await failSecret(ctx, subject);
    } else if (details?.code === "AUTH_DEVICE_TOKEN_MISMATCH" || details?.code === "AUTH_SCOPE_MISMATCH") {
      ctx.log.warn(`connect rejected: ${details.code} ${who} device=${p.device?.id ?? "none"}`);
    }
    return { ok: false, error: outcome.error, closeCode: outcome.closeCode, closeReason: outcome.closeReason };
  }

  if (shared.ok && shared.method !== "none") passSecret(ctx, subject);

  // One address may not hold every socket the gateway has (loopback exempt).
  if (!ctx.admitAuthenticated(conn)) {
    return refuse(
      new RpcError(ErrorCodes.UNAVAILABLE, Messages.tooManyConnections, { code: "TOO_MANY_CONNECTIONS", limit: ctx.limits.maxAuthenticatedPerIp }, { retryable: true, retryAfterMs: 5000 }),
      CloseCodes.TRY_AGAIN_LATER,
    );
  }

  conn.role = outcome.role === "node" ? "node" : "operator";
  conn.scopes = conn.role === "node" ? [] : outcome.scopes;
  conn.authMethod = outcome.method;
  conn.client = p.client;
  conn.caps = p.caps ?? [];
  conn.device = outcome.deviceId && outcome.publicKey ? { id: outcome.deviceId, publicKey: outcome.publicKey } : undefined;
  conn.isDeviceTokenAuth = outcome.isDeviceTokenAuth;
  conn.helloAuth = { ...outcome.auth, scopes: conn.scopes };
  conn.phase = "ready";
  if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
  data.headers = undefined;

  conn.sendResponse(frame.id, true, helloOk(ctx, conn));

  if (!isEphemeralClient(p.client.mode)) {
    ctx.presence.upsert(conn.connId, {
      host: p.client.displayName,
      clientId: p.client.id,
      ip: data.ip,
      version: p.client.version,
      platform: outcome.platform ?? p.client.platform,
      deviceFamily: p.client.deviceFamily,
      modelIdentifier: p.client.modelIdentifier,
      timeZone: p.client.timeZone,
      mode: p.client.mode,
      reason: "connect",
      ts: Date.now(),
      deviceId: conn.device?.id,
      roles: [conn.role],
      scopes: conn.scopes,
      instanceId: p.client.instanceId,
    });
    ctx.presenceChanged();
  }
  return { ok: true };
}

/**
 * `"configured"` when `gateway.controlUi.root` serves a UI folder: the official Control UI then
 * never asks for a reload because of a build id that is not its own (upstream's rule).
 */
export function controlUiBuildSource(cfg: WsHost["snapshot"]["config"]): "configured" | "bundled" {
  return cfg.gateway?.controlUi?.root?.trim() ? "configured" : "bundled";
}

export function helloOk(ctx: WsHost, conn: Connection): Record<string, unknown> {
  const cfg = ctx.snapshot.config;
  const defaultId = defaultAgentId(cfg);
  const snapshot: Record<string, unknown> = {
    // Presence carries client IPs: only sockets that may read it get the list.
    presence: conn.role === "operator" && hasScope(conn.scopes, READ) ? ctx.presence.list() : [],
    health: ctx.cachedHealth(),
    stateVersion: { ...ctx.stateVersion },
    uptimeMs: ctx.uptimeMs(),
    appliedConfigHash: ctx.snapshot.hash ? `sha256:${ctx.snapshot.hash}` : null,
    sessionDefaults: {
      defaultAgentId: defaultId,
      mainKey: "main",
      mainSessionKey: `agent:${defaultId}:main`,
      scope: "per-sender",
    },
    suspension: { phase: "accepting" },
  };
  if (conn.scopes.includes(ADMIN)) {
    snapshot.configPath = ctx.snapshot.paths.configPath;
    snapshot.stateDir = ctx.snapshot.paths.stateDir;
    snapshot.authMode = ctx.settings.auth.mode;
  }
  return {
    type: "hello-ok",
    protocol: PROTOCOL_VERSION,
    server: { version: VERSION, buildId: BUILD, bootId: ctx.bootId, controlUiBuildSource: controlUiBuildSource(cfg), connId: conn.connId },
    features: { methods: [...ctx.methods.keys()], events: [...ctx.events], capabilities: SERVER_CAPABILITIES },
    snapshot,
    auth: conn.helloAuth ?? { method: conn.authMethod, role: conn.role, scopes: conn.scopes },
    policy: {
      maxPayload: ctx.limits.maxPayload,
      maxBufferedBytes: ctx.limits.maxBufferedBytes,
      tickIntervalMs: ctx.limits.tickIntervalMs,
      attachments: { maxBytes: 20_971_520, maxImageBytes: 6_291_456 },
    },
  };
}
