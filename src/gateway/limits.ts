/** The gateway's fixed protocol limits (advertised in `hello-ok.policy` where the protocol says so). */
export interface GatewayLimits {
  /** Post-hello max frame size (policy.maxPayload). */
  maxPayload: number;
  /** Per-socket send budget (policy.maxBufferedBytes). */
  maxBufferedBytes: number;
  /**
   * Send budget of the whole gateway: bytes waiting in every socket's queue together. Past it,
   * the socket with the most waiting is closed (1008 slow consumer) until the new frame fits.
   * Below the per-socket limit on purpose: sockets behind on the same broadcasts share its text,
   * but the last one left holds its whole queue alone (measured: 64 MiB let ten slow sockets add
   * 50–115 MB of RSS under the reliability suite's load, 32 MiB under 3 MB).
   */
  maxTotalBufferedBytes: number;
  /**
   * What Bun itself may hold for one socket before a send is refused (`backpressureLimit`):
   * kept small so frames wait in the accounted queue rather than in Bun's buffer.
   */
  socketBackpressureBytes: number;
  /** Authenticated sockets per client address (loopback exempt). */
  maxAuthenticatedPerIp: number;
  /** Presence broadcasts: the first change goes out at once, later ones at most this often (coalesced). */
  presenceBroadcastMs: number;
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
    maxTotalBufferedBytes: 32 * 1024 * 1024,
    socketBackpressureBytes: 1024 * 1024,
    maxAuthenticatedPerIp: 64,
    presenceBroadcastMs: 500,
    tickIntervalMs: 30_000,
    preauthMaxBytes: 65_536,
    handshakeTimeoutMs: Number.isFinite(handshake) && handshake > 0 ? handshake : 15_000,
    maxPendingHandshakeFrames: 15,
    maxUnauthenticatedPerIp: 32,
    healthCacheMs: 60_000,
    shutdownGraceMs: 1_000,
  };
}
