/**
 * The method registry; `hello-ok.features.methods` is generated from it. Every method must be
 * one the original knows, declared with the scope the scopes catalogue gives it
 * (protocol/method-scopes.ts): a family that names another scope does not load.
 */
import { registryScope } from "../../protocol/method-scopes.ts";
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
    checkAgainstCatalogue(def);
    registry.set(def.name, def);
  }
  return registry;
}

/** Throws when `def` is not in the catalogue or declares another scope or roles than it says. */
export function checkAgainstCatalogue(def: Pick<MethodDef<any>, "name" | "scope" | "roles">): void {
  const want = registryScope(def.name);
  if (want === undefined) throw new Error(`method ${def.name} is not in the scopes catalogue (protocol/method-scopes.ts)`);
  if (want === "node") {
    if (!def.roles || def.roles.length !== 1 || def.roles[0] !== "node") throw new Error(`method ${def.name} is for role node only (scopes catalogue)`);
    return;
  }
  if (def.scope !== want) throw new Error(`method ${def.name} declares scope ${def.scope}; the scopes catalogue says ${want}`);
}
