/** The gateway's fixed protocol limits (advertised in `hello-ok.policy` where the protocol says so). */
export interface GatewayLimits {
  /** Post-hello max frame size (policy.maxPayload). */
  maxPayload: number;
  /** Per-socket send budget (policy.maxBufferedBytes). */
  maxBufferedBytes: number;
  tickIntervalMs: number;
  /** Max frame size before hello. */
  preauthMaxBytes: number;
  handshakeTimeoutMs: number;
  maxPendingHandshakeFrames: number;
  maxUnauthenticatedPerIp: number;
  /** `health` answers from cache while younger than this. */
  healthCacheMs: number;
  /** Grace between the shutdown event and forced termination. */
  shutdownGraceMs: number;
}

export function defaultLimits(env: Record<string, string | undefined> = process.env): GatewayLimits {
  const handshake = Number(env.OPENCLAW_HANDSHAKE_TIMEOUT_MS);
  return {
    maxPayload: 26_214_400,
    maxBufferedBytes: 52_428_800,
    tickIntervalMs: 30_000,
    preauthMaxBytes: 65_536,
    handshakeTimeoutMs: Number.isFinite(handshake) && handshake > 0 ? handshake : 15_000,
    maxPendingHandshakeFrames: 15,
    maxUnauthenticatedPerIp: 32,
    healthCacheMs: 60_000,
    shutdownGraceMs: 1_000,
  };
}
