/**
 * The seam for long-lived parts of the gateway (pairing store, channel host, scheduler,
 * dashboard, …). A part is a `Subsystem`: it brings its method families and HTTP routers, and
 * the gateway calls it at three moments of its life:
 *
 *   start(host)              once, after the gateway first listens (the port is open)
 *   applyConfig(next, prev)  after every applied config change: a hot reload, or an
 *                            in-process restart once the new listener is up
 *   tick(now)                on the gateway's 30 s tick (cheap periodic work)
 *   stop()                   once, when the gateway stops for good (never on an in-process
 *                            restart: subsystems outlive listeners)
 *
 * Subsystems start in registration order and stop in reverse. A failing start or applyConfig
 * is logged and does not take the gateway down (the part reports its own health).
 *
 * Methods are registered before listening (their names must be unique, and in the wire
 * contract); routers are mounted before the 404 fallback, after the probes and the API.
 */
import type { AgentRuntime } from "../agents/runtime.ts";
import type { GatewaySettings } from "../config/runtime.ts";
import type { ConfigSnapshot } from "../config/snapshot.ts";
import type { Logger } from "../log/logger.ts";
import type { Scope } from "../protocol/scopes.ts";
import type { HttpRouter } from "./http/types.ts";
import type { MethodDef } from "./methods/types.ts";
import type { SubsystemReports } from "./reports.ts";

export { combineReports, type HeartbeatReport, type SubsystemReports } from "./reports.ts";

export interface BroadcastOptions {
  /** Only sockets holding this scope receive it (nodes get only ungated events). */
  scope?: Scope;
  /** May be dropped for a slow consumer instead of closing it. */
  droppable?: boolean;
  withStateVersion?: boolean;
  /**
   * Only sockets this accepts (per-connection subscriptions). It gets the socket's CallerInfo
   * object, the same object a method call on that socket sees as `client`.
   */
  to?: (client: object) => boolean;
}

/** What a subsystem may use of the gateway. */
export interface SubsystemHost {
  /** The current config snapshot (read it when needed; `applyConfig` says when it changed). */
  readonly snapshot: ConfigSnapshot;
  readonly settings: GatewaySettings;
  /** The state directory (`paths.stateDir` of the snapshot). */
  readonly stateDir: string;
  /** Agents, the sessions store (and its database) and runs. */
  readonly agents: AgentRuntime;
  /** A logger tagged with the subsystem's name. */
  logger(name: string): Logger;
  /** Send an event to every connected client allowed to see it. */
  broadcast(event: string, payload: unknown, opts?: BroadcastOptions): void;
  /** The port the gateway listens on now (changes with an in-process restart). */
  readonly port: number;
  /** Whether the gateway is stopping. */
  readonly stopping: boolean;
  /** This part's `health` fields changed: rebuild the health snapshot now (and broadcast it). */
  healthChanged(): void;
}

/**
 * A handler that sees every HTTP request first, ahead of the routes and of the gateway's own
 * auth (for an endpoint with its own credentials on a configurable path, like hooks);
 * undefined lets the request through. `clientIp` is attributed through trusted proxies.
 */
export type HttpIngress = (req: Request, info: { clientIp: string }) => Response | undefined | Promise<Response | undefined>;

export interface Subsystem {
  readonly name: string;
  /** Method families this part serves. */
  readonly methods?: ReadonlyArray<MethodDef<any>>;
  /** HTTP routers this part mounts on the gateway's port. */
  readonly http?: ReadonlyArray<HttpRouter>;
  /** Events this part broadcasts (added to `hello-ok.features.events`). */
  readonly events?: readonly string[];
  /** Fields this part contributes to the `health` snapshot (built synchronously, kept cheap). */
  health?(): Record<string, unknown> | undefined;
  /** Sees every HTTP request before the routes (see HttpIngress). */
  readonly ingress?: HttpIngress;
  /** Adds to `health` and `status`. */
  readonly reports?: SubsystemReports;
  start?(host: SubsystemHost): void | Promise<void>;
  applyConfig?(next: ConfigSnapshot, prev: ConfigSnapshot): void | Promise<void>;
  /** On the gateway's tick (every `tickIntervalMs`, 30 s): cheap periodic work, never blocking. */
  tick?(now: number): void;
  stop?(): void | Promise<void>;
}
