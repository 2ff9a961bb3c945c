/**
 * What an RPC method is and what it may see.
 *
 * A method gets a `MethodContext`: the current config snapshot, the agent runtime, presence,
 * health, config lifecycle hooks and a logger, not the gateway object (no listener, sockets,
 * limiters or subsystem list). A method family that needs state of its own (a scheduler, a
 * channel host) keeps it in a closure: its file exports a factory that takes that state and
 * returns its MethodDefs, and its subsystem registers them (see src/gateway/subsystem.ts).
 *
 * Names, params and result types come from the wire contract (src/protocol/contract.ts).
 */
import type { ZodMiniType } from "zod/mini";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { ConfigSnapshot } from "../../config/snapshot.ts";
import type { Logger } from "../../log/logger.ts";
import { CONTRACT, type MethodName, type ParamsOf, type ResultOf } from "../../protocol/contract.ts";
import { registryScope } from "../../protocol/method-scopes.ts";
import type { Scope } from "../../protocol/scopes.ts";
import type { ConfigLifecycleHooks, ControlPlaneWriteLimiter, SystemEvent } from "../config-hooks.ts";
import type { PresenceEntry } from "../presence.ts";
import type { SubsystemReports } from "../reports.ts";

export type HealthSnapshot = ResultOf<"health">;

/** What every method may use. */
export interface MethodContext {
  /** The config snapshot the gateway runs on (swapped on reload; read it per call). */
  readonly snapshot: ConfigSnapshot;
  readonly log: Logger;
  /** Agents, the sessions store and agent runs. */
  readonly agents: AgentRuntime;
  readonly presence: { list(): PresenceEntry[] };
  /** Operator system events (`status.queuedSystemEvents`). */
  readonly systemEvents: readonly SystemEvent[];
  /** What the hosted parts add to health and status (heartbeats, their queued system events). */
  readonly reports?: SubsystemReports;
  /** 30 per 60 s per method per client for control-plane writes. */
  readonly writeLimiter: ControlPlaneWriteLimiter;
  /** Reload hooks; absent when the gateway runs without the config lifecycle. */
  readonly lifecycle?: ConfigLifecycleHooks;
  /** The file log `logs.tail` reads (undefined when file logging is off). */
  readonly logFile?: string;
  /** Cached health, or a fresh snapshot (which is broadcast). */
  health(opts?: { fresh?: boolean }): HealthSnapshot;
  /** The config file as it is now, read the way the gateway reads it (its flags and environment). */
  readConfig(): Promise<ConfigSnapshot>;
  /** Broadcast `config.changed` once per file hash. */
  configChanged(hash: string | null): void;
  uptimeMs(): number;
}

/** Who is calling. */
export interface CallerInfo {
  readonly connId: string;
  /** The client's address (attributed through trusted proxies). */
  readonly ip: string;
  readonly role: "operator" | "node";
  readonly scopes: readonly string[];
  /** The verified device of the socket, when it presented one. */
  readonly device?: { readonly id: string; readonly publicKey: string };
  /** Authenticated by that device's own token (device management is then self-scoped). */
  readonly isDeviceTokenAuth?: boolean;
  /** The client as it connected. */
  readonly client?: { id: string; mode: string; displayName?: string; platform?: string; deviceFamily?: string };
  /** Aborted when the caller's socket closes (long waits give up then). */
  readonly closed?: AbortSignal;
}

export interface MethodCall {
  ctx: MethodContext;
  client: CallerInfo;
  /** The request frame's id. */
  frameId: string;
  /** Send a response now with this request's id, before the handler's final one (two-stage methods). */
  interim(payload: unknown): void;
  /** Run `fn` once the response has been sent (closing the caller's own socket, say). */
  afterResponse(fn: () => void): void;
}

/**
 * One RPC method: its name, the scope it needs (as the scopes catalogue,
 * protocol/method-scopes.ts, says: the registry refuses any other; "bypass" is `health`), the
 * roles allowed to call it, its params schema (or a `parse` that validates with exact
 * messages of its own) and its handler. Who may call it is decided by the catalogue alone.
 */
export interface MethodDef<P = unknown> {
  name: string;
  scope: Scope | "bypass";
  roles?: ReadonlyArray<"operator" | "node">;
  params?: ZodMiniType<P>;
  /** Validate the params (throw an RpcError); used instead of `params` when given. */
  parse?: (params: unknown) => P;
  handler(params: P, call: MethodCall): unknown | Promise<unknown>;
}

/** The scope the catalogue gives `name` (what `defineMethod` uses when none is named). */
function catalogueScope(name: string): Scope | "bypass" {
  const scope = registryScope(name);
  if (scope === undefined || scope === "node") throw new Error(`method ${name} has no operator scope in protocol/method-scopes.ts`);
  return scope;
}

/** A method of the wire contract: params schema and result type come from CONTRACT[name]; the scope from the catalogue. */
export function defineMethod<M extends MethodName>(
  name: M,
  def: {
    scope?: Scope | "bypass";
    roles?: ReadonlyArray<"operator" | "node">;
    parse?: (params: unknown) => ParamsOf<M>;
    handler(params: ParamsOf<M>, call: MethodCall): ResultOf<M> | Promise<ResultOf<M>>;
  },
): MethodDef<ParamsOf<M>> {
  return {
    name,
    scope: def.scope ?? catalogueScope(name),
    roles: def.roles,
    // Read on the method's first call: the contract builds a params schema only then.
    get params() {
      return CONTRACT[name].params as unknown as ZodMiniType<ParamsOf<M>>;
    },
    parse: def.parse,
    handler: def.handler,
  };
}
