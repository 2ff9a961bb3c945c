/**
 * Error codes, exact messages and close codes of protocol v4. Real clients match on these
 * strings (the CLI parses message prefixes), so they live here once.
 */

export const ErrorCodes = {
  INVALID_REQUEST: "INVALID_REQUEST",
  FORBIDDEN: "FORBIDDEN",
  NOT_PAIRED: "NOT_PAIRED",
  UNAVAILABLE: "UNAVAILABLE",
  APPROVAL_NOT_FOUND: "APPROVAL_NOT_FOUND",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ErrorShape {
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** A method handler throws this to answer with `ok:false`. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly extra: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
  toShape(): ErrorShape {
    const shape: ErrorShape = { code: this.code, message: this.message };
    if (this.details !== undefined) shape.details = this.details;
    if (this.extra.retryable !== undefined) shape.retryable = this.extra.retryable;
    if (this.extra.retryAfterMs !== undefined) shape.retryAfterMs = this.extra.retryAfterMs;
    return shape;
  }
}

export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  POLICY: 1008,
  TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  AUTH_CHANGED: 4001,
} as const;

export const Messages = {
  invalidFrame: "invalid request frame",
  firstMustBeConnect: "invalid handshake: first request must be connect",
  invalidConnectParams: (detail: string) => `invalid connect params: ${detail}`,
  protocolMismatch: "protocol mismatch",
  invalidRole: "invalid role",
  preauthTooLarge: "preauth payload too large",
  tooManyPending: "too many pending handshake frames",
  slowConsumer: "slow consumer",
  serviceRestart: "service restart",
  gatewayStopping: "gateway stopping",
  restartUnavailable: "connect unavailable during gateway restart",
  deviceIdentityRequired: "device identity required",
  controlUiDeviceRequired: "control ui requires device identity (use HTTPS or localhost secure context)",
  originNotAllowed:
    "origin not allowed (open the Control UI from the gateway host or allow it in gateway.controlUi.allowedOrigins)",
  unknownMethod: (m: string) => `unknown method: ${m}`,
  missingScope: (s: string) => `missing scope: ${s}`,
  unauthorizedRole: (r: string) => `unauthorized role: ${r}`,
  repeatedUnauthorized: "repeated unauthorized calls",
  invalidParams: (method: string, detail: string) => `invalid ${method} params: ${detail}`,
  /** HTTP 403 `proxy_attribution_required` (WebSocket upgrade and API auth). */
  proxyAttributionRequired:
    "Proxy client attribution is required. Configure gateway.trustedProxies for the proxy in front of this gateway.",
} as const;

/** Messages of the chat and Control UI methods (chat.send, sessions.*, chat.startup). */
export const ChatMessages = {
  /** The original's answer to a chat.send with blank text and no attachment. */
  messageOrAttachmentRequired: "message or attachment required",
  attachmentsUnsupported: "attachments are not supported by this gateway; send the message as text",
} as const;

/** Close reasons are capped at 123 bytes by RFC 6455; upstream truncates to 120 UTF-8 bytes. */
export function truncateReason(reason: string, maxBytes = 120): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= maxBytes) return reason;
  let cut = maxBytes;
  // Do not split a multi-byte character.
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return new TextDecoder().decode(bytes.slice(0, cut));
}

export type AuthReason =
  | "token_missing"
  | "token_mismatch"
  | "token_missing_config"
  | "password_missing"
  | "password_mismatch"
  | "password_missing_config"
  | "device_token_mismatch"
  | "scope_mismatch"
  | "rate_limited"
  | "trusted_proxy_untrusted_source"
  | "trusted_proxy_loopback_source"
  | "trusted_proxy_user_missing"
  | "trusted_proxy_user_not_allowed"
  | `trusted_proxy_missing_header_${string}`
  | "unauthorized";

interface AuthFailureSpec {
  detailCode: string;
  message: string;
  nextStep: string;
}

const TOKEN_HINT = "(use this gateway's gateway.auth.token or pair the device)";

function authSpec(reason: AuthReason): AuthFailureSpec {
  switch (reason) {
    case "token_missing":
      return {
        detailCode: "AUTH_TOKEN_MISSING",
        message: `unauthorized: gateway token missing ${TOKEN_HINT}`,
        nextStep: "update_auth_configuration",
      };
    case "token_mismatch":
      return {
        detailCode: "AUTH_TOKEN_MISMATCH",
        message: `unauthorized: gateway token mismatch ${TOKEN_HINT}`,
        nextStep: "update_auth_credentials",
      };
    case "token_missing_config":
      return {
        detailCode: "AUTH_TOKEN_NOT_CONFIGURED",
        message: "unauthorized: gateway token not configured on gateway",
        nextStep: "update_auth_configuration",
      };
    case "password_missing":
      return {
        detailCode: "AUTH_PASSWORD_MISSING",
        message: "unauthorized: gateway password missing",
        nextStep: "update_auth_configuration",
      };
    case "password_mismatch":
      return {
        detailCode: "AUTH_PASSWORD_MISMATCH",
        message: "unauthorized: gateway password mismatch",
        nextStep: "update_auth_credentials",
      };
    case "password_missing_config":
      return {
        detailCode: "AUTH_PASSWORD_NOT_CONFIGURED",
        message: "unauthorized: gateway password not configured",
        nextStep: "update_auth_configuration",
      };
    case "device_token_mismatch":
      return {
        detailCode: "AUTH_DEVICE_TOKEN_MISMATCH",
        message: "unauthorized: device token mismatch (rotate/reissue device token)",
        nextStep: "update_auth_credentials",
      };
    case "scope_mismatch":
      return {
        detailCode: "AUTH_SCOPE_MISMATCH",
        message: "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)",
        nextStep: "review_auth_configuration",
      };
    case "rate_limited":
      return {
        detailCode: "AUTH_RATE_LIMITED",
        message: "unauthorized: too many failed authentication attempts (retry later)",
        nextStep: "wait_then_retry",
      };
    default:
      return {
        detailCode: reason.startsWith("trusted_proxy_missing_header_")
          ? "AUTH_IDENTITY_HEADER_REQUIRED"
          : "AUTH_UNAUTHORIZED",
        message: "unauthorized",
        nextStep: "review_auth_configuration",
      };
  }
}

/** The `error` of a failed connect for an auth reason (always INVALID_REQUEST). */
export function authFailure(
  reason: AuthReason,
  opts: { canRetryWithDeviceToken?: boolean; retryAfterMs?: number } = {},
): RpcError {
  const spec = authSpec(reason);
  const canRetry = reason === "token_mismatch" && Boolean(opts.canRetryWithDeviceToken);
  // Every auth failure carries `canRetryWithDeviceToken` (captured), true only for a token
  // mismatch from a device that sent the shared token and no device token.
  const details: Record<string, unknown> = {
    code: spec.detailCode,
    authReason: reason,
    canRetryWithDeviceToken: canRetry,
    recommendedNextStep: canRetry ? "retry_with_device_token" : spec.nextStep,
  };
  const extra =
    reason === "rate_limited" ? { retryable: true, retryAfterMs: opts.retryAfterMs ?? 0 } : ({} as Record<string, never>);
  return new RpcError(ErrorCodes.INVALID_REQUEST, spec.message, details, extra);
}

export function missingScopeError(scope: string): RpcError {
  return new RpcError(ErrorCodes.FORBIDDEN, Messages.missingScope(scope), {
    code: "MISSING_SCOPE",
    missingScope: scope,
    requiredScopes: [scope],
  });
}

// ---- Method scopes (protocol/method-scopes.ts) ----

export const ScopeMessages = {
  /**
   * A call allowed only through a session scope (`operator.sessions.read|write`) needs a verified
   * user profile; this gateway has no user profiles, so such a call is refused as the original
   * refuses a caller without one.
   */
  sessionScopeNeedsProfile: "Session-scoped access requires a verified user profile.",
} as const;

// ---- Device pairing ----

export type PairingReason = "not-paired" | "role-upgrade" | "scope-upgrade" | "metadata-upgrade";

const PAIRING_TEXT: Record<PairingReason, { requirement: string; remediationHint: string }> = {
  "not-paired": {
    requirement: "device is not approved yet",
    remediationHint: "Approve this device from the pending pairing requests.",
  },
  "role-upgrade": {
    requirement: "device is asking for a higher role than currently approved",
    remediationHint: "Review the requested role upgrade, then approve the pending request.",
  },
  "scope-upgrade": {
    requirement: "device is asking for more scopes than currently approved",
    remediationHint: "Review the requested scopes, then approve the pending upgrade.",
  },
  "metadata-upgrade": {
    requirement: "device identity changed and must be re-approved",
    remediationHint: "Review the refreshed device details, then approve the pending request.",
  },
};

/** Request ids echoed in close reasons and hints must look like ids (clients parse them back). */
export const PAIRING_REQUEST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** `pairing required: <requirement>` (error message; also the start of the close reason). */
export function pairingRequiredMessage(reason: PairingReason): string {
  return `pairing required: ${PAIRING_TEXT[reason].requirement}`;
}

export function pairingRemediationHint(reason: PairingReason): string {
  return PAIRING_TEXT[reason].remediationHint;
}

/** The 1008 close reason: the message plus ` (requestId: …)`, cut to the close-reason limit. */
export function pairingCloseReason(reason: PairingReason, requestId?: string): string {
  const message = pairingRequiredMessage(reason);
  const id = requestId && PAIRING_REQUEST_ID_RE.test(requestId) ? requestId : undefined;
  return truncateReason(id ? `${message} (requestId: ${id})` : message);
}

/** Exact texts of the device pairing and device token methods. */
export const DeviceMessages = {
  approvalDenied: "device pairing approval denied",
  rejectionDenied: "device pairing rejection denied",
  removalDenied: "device pairing removal denied",
  renameDenied: "device pairing rename denied",
  rotationDenied: "device token rotation denied",
  revocationDenied: "device token revocation denied",
  unknownRequestId: "unknown requestId",
  unknownDeviceId: "unknown deviceId",
  labelRequired: "label required",
  /** Close reason (4001) for the live sockets of a removed device or a rotated/revoked token. */
  deviceRemoved: "device removed",
  scopeOutsideRoles: (scope: string) => `invalid scope for requested roles: ${scope}`,
  approvalPolicyChanged: "automatic pairing policy changed; retry pairing or request manual approval",
  scopeUpgradeDeviceRequired:
    "device scope upgrade requires a paired browser identity; reopen the Control UI over HTTPS or localhost, then retry",
  scopeUpgradeUnknownScope: "requested scopes contain an unknown operator scope",
  scopeUpgradeMustKeepCurrent: "requested scopes must include the connection's current scopes",
  scopeUpgradeUnavailable: "device scope upgrade is temporarily unavailable",
  scopeUpgradeNotFound: "scope upgrade expired or not found",
  /** A device connect while the pairing store cannot be opened (retryable; close 1013). */
  storeUnavailable: "device pairing unavailable: the state database cannot be opened",
} as const;
