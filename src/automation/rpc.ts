/**
 * The automation RPC methods as plain definitions: name, required scope (as the original's
 * method-scope table), whether the control-plane write limit applies, params schema, handler.
 * The gateway turns each into a registered method with one line; nothing here knows sockets.
 */
import type { ZodMiniType } from "zod/mini";
import type { Scope } from "../protocol/scopes.ts";
import { automationParams, type AutomationParams } from "./params.ts";
import type { HeartbeatRunner } from "./heartbeat.ts";
import type { CronService } from "./service.ts";

export interface AutomationMethodDef<P = any> {
  name: string;
  scope: Scope;
  /** Subject to the 30-per-60-s control-plane write limit (`cron.add|update|remove|run`). */
  controlPlaneWrite?: boolean;
  params: ZodMiniType<P>;
  handler(params: P): unknown;
}

export interface AutomationRpcTargets {
  cron: CronService;
  heartbeat: HeartbeatRunner;
  hooksStatus(params: { agentId?: string }): unknown;
}

/** `params` picks the method's schema; it is read (and the automation schemas built) on the first call. */
function def<P>(d: Omit<AutomationMethodDef<P>, "params"> & { params: (all: AutomationParams) => ZodMiniType<P> }): AutomationMethodDef<P> {
  const { params, ...rest } = d;
  return {
    ...rest,
    get params() {
      return params(automationParams());
    },
  };
}

/** `t` is read on every call (its parts may come to life after the methods are registered). */
export function automationMethods(t: AutomationRpcTargets): AutomationMethodDef[] {
  return [
    def({ name: "cron.status", scope: "operator.read", params: (s) => s.CronStatusParams, handler: () => t.cron.status() }),
    def({ name: "cron.list", scope: "operator.read", params: (s) => s.CronListParams, handler: (p) => t.cron.list(p) }),
    def({ name: "cron.get", scope: "operator.read", params: (s) => s.CronGetParams, handler: (p) => t.cron.get(p) }),
    def({ name: "cron.runs", scope: "operator.read", params: (s) => s.CronRunsParams, handler: (p) => t.cron.runs(p) }),
    def({ name: "cron.add", scope: "operator.admin", controlPlaneWrite: true, params: (s) => s.CronAddParams, handler: (p) => t.cron.add(p) }),
    def({ name: "cron.update", scope: "operator.admin", controlPlaneWrite: true, params: (s) => s.CronUpdateParams, handler: (p) => t.cron.update(p) }),
    def({ name: "cron.remove", scope: "operator.admin", controlPlaneWrite: true, params: (s) => s.CronRemoveParams, handler: (p) => t.cron.remove(p) }),
    def({ name: "cron.run", scope: "operator.admin", controlPlaneWrite: true, params: (s) => s.CronRunParams, handler: (p) => t.cron.run(p) }),
    def({ name: "cron.scratch.get", scope: "operator.admin", params: (s) => s.CronScratchGetParams, handler: (p) => t.cron.scratchGet(p) }),
    def({ name: "cron.scratch.set", scope: "operator.admin", params: (s) => s.CronScratchSetParams, handler: (p) => t.cron.scratchSet(p) }),
    def({
      name: "wake",
      scope: "operator.write",
      params: (s) => s.WakeParams,
      handler: (p) => {
        t.heartbeat.wake({ mode: p.mode, text: p.text, sessionKey: p.sessionKey, agentId: p.agentId });
        return { ok: true };
      },
    }),
    def({ name: "last-heartbeat", scope: "operator.read", params: (s) => s.LastHeartbeatParams, handler: () => t.heartbeat.last() }),
    def({ name: "set-heartbeats", scope: "operator.admin", params: (s) => s.SetHeartbeatsParams, handler: (p) => t.heartbeat.setEnabled(p) }),
    def({ name: "hooks.status", scope: "operator.read", params: (s) => s.HooksStatusParams, handler: (p) => t.hooksStatus(p) }),
  ];
}
