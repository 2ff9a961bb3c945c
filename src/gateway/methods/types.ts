import type { ZodMiniType } from "zod/mini";
import type { Scope } from "../../protocol/scopes.ts";
import type { GatewayContext } from "../context.ts";
import type { Connection } from "../ws/connection.ts";

export interface MethodCall {
  ctx: GatewayContext;
  conn: Connection;
  /** The request frame's id (two-stage methods send an interim `res` with it). */
  frameId: string;
}

/**
 * One RPC method: its name, the scope it needs ("bypass" skips role and scope checks),
 * the roles allowed to call it, its params schema and its handler.
 */
export interface MethodDef<P = unknown> {
  name: string;
  scope: Scope | "bypass";
  roles?: ReadonlyArray<"operator" | "node">;
  params?: ZodMiniType<P>;
  handler(params: P, call: MethodCall): unknown | Promise<unknown>;
}

export function defineMethod<P>(def: MethodDef<P>): MethodDef<P> {
  return def;
}
