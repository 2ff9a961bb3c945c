/** The method registry; `hello-ok.features.methods` is generated from it. */
import { channelsStatusMethod } from "./channels.ts";
import { configApplyMethod, configGetMethod, configPatchMethod, configSetMethod, secretsReloadMethod } from "./config.ts";
import { healthMethod } from "./health.ts";
import { logsTailMethod } from "./logs.ts";
import { modelsListMethod } from "./models.ts";
import { systemPresenceMethod } from "./presence.ts";
import { statusMethod } from "./status.ts";
import { agentMethod, agentWaitMethod, chatAbortMethod, chatHistoryMethod, chatSendMethod, sessionsAbortMethod } from "./agent.ts";
import { sessionsListMethod } from "./sessions.ts";
import type { MethodDef } from "./types.ts";

export type { MethodCall, MethodContext, MethodDef } from "./types.ts";

export function buildRegistry(extra: MethodDef<any>[] = []): Map<string, MethodDef<any>> {
  const all: MethodDef<any>[] = [
    healthMethod,
    statusMethod,
    systemPresenceMethod,
    configGetMethod,
    modelsListMethod,
    channelsStatusMethod,
    logsTailMethod,
    configSetMethod,
    configPatchMethod,
    configApplyMethod,
    secretsReloadMethod,
    agentMethod,
    agentWaitMethod,
    chatSendMethod,
    chatHistoryMethod,
    chatAbortMethod,
    sessionsAbortMethod,
    sessionsListMethod,
    ...extra,
  ];
  const registry = new Map<string, MethodDef<any>>();
  for (const def of all) {
    if (registry.has(def.name)) throw new Error(`duplicate method ${def.name}`);
    registry.set(def.name, def);
  }
  return registry;
}
