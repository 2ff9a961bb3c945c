/**
 * What the WebSocket layer (upgrade, handshake, dispatch) needs from the gateway. The gateway
 * object implements it; nothing under ws/ imports the gateway itself.
 */
import type { FailedAuthLimiter } from "../../auth/rate-limit.ts";
import type { GatewaySettings } from "../../config/runtime.ts";
import type { ConfigSnapshot } from "../../config/snapshot.ts";
import type { Logger } from "../../log/logger.ts";
import type { GatewayLimits } from "../limits.ts";
import type { MethodContext, MethodDef } from "../methods/types.ts";
import type { PresenceStore } from "../presence.ts";
import type { ConnectAuthOutcome } from "../../auth/device-auth.ts";
import type { DeviceConnectInput } from "../devices.ts";
import type { Connection } from "./connection.ts";

export interface WsHost {
  readonly bootId: string;
  readonly snapshot: ConfigSnapshot;
  readonly settings: GatewaySettings;
  readonly log: Logger;
  readonly limits: GatewayLimits;
  readonly limiter: FailedAuthLimiter;
  readonly presence: PresenceStore;
  readonly methods: ReadonlyMap<string, MethodDef<any>>;
  /** `hello-ok.features.events`. */
  readonly events: readonly string[];
  /** What methods see. */
  readonly methodContext: MethodContext;
  readonly stateVersion: { readonly presence: number; readonly health: number };
  /** True while the listener is stopping (shutdown or in-process restart). */
  readonly draining: boolean;
  readonly connections: Set<Connection>;
  /** Device pairing: decides the device part of a connect. */
  readonly devices: { authorize(input: DeviceConnectInput): Promise<ConnectAuthOutcome> };
  cachedHealth(): unknown;
  uptimeMs(): number;
  presenceChanged(): void;
  /** Count a not-yet-authenticated socket for `ip`; false when the per-IP cap is reached. */
  admitUnauthenticated(ip: string): boolean;
  releaseUnauthenticated(ip: string): void;
  /** The socket finished its handshake. */
  onAuthenticated(conn: Connection): void;
  /** A socket closed (after its bookkeeping): memory housekeeping. */
  onClosed(): void;
}
