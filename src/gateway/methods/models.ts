/**
 * `models.list`: models declared under `models.providers.<id>.models` and agents' model refs.
 *
 * `view` picks the set (`provider-config`: only declared models); `agentId` (alone, or with a
 * `view` and a `sessionKey`, as the Control UI's model picker sends it) names the agent whose
 * primary model is tagged `default`, and unknown agents are refused as the original refuses them.
 * Every row is `available`: a configured provider is one this gateway can call.
 */
import { listAgents } from "../../agents/registry.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { RpcError, ErrorCodes } from "../../protocol/errors.ts";
import { defineMethod } from "./types.ts";

export interface ModelRow {
  id: string;
  name: string;
  provider: string;
  contextWindow?: number;
  reasoning?: boolean;
  tags?: string[];
  available: boolean;
}

export function configuredModels(cfg: OpenClawConfig, view: string): ModelRow[] {
  const rows = new Map<string, ModelRow>();
  for (const [provider, p] of Object.entries(cfg.models?.providers ?? {})) {
    for (const m of p.models ?? []) {
      const row: ModelRow = { id: m.id, name: m.name ?? m.id, provider, available: true };
      if (typeof m.contextWindow === "number") row.contextWindow = m.contextWindow;
      if (typeof m.reasoning === "boolean") row.reasoning = m.reasoning;
      rows.set(`${provider}/${m.id}`, row);
    }
  }
  if (view !== "provider-config") {
    for (const agent of listAgents(cfg)) {
      for (const ref of [agent.model, ...agent.fallbacks]) {
        if (!ref || rows.has(ref)) continue;
        const slash = ref.indexOf("/");
        if (slash <= 0) continue;
        const id = ref.slice(slash + 1);
        rows.set(ref, { id, name: id, provider: ref.slice(0, slash), available: true });
      }
    }
  }
  return [...rows.values()];
}

/** The models of `view` for `agentId` (or the default agent), its primary tagged `default`. */
export function modelsFor(cfg: OpenClawConfig, view: string, agentId?: string): ModelRow[] {
  const agents = listAgents(cfg);
  const agent = agentId ? agents.find((a) => a.id.toLowerCase() === agentId.toLowerCase()) : agents.find((a) => a.isDefault);
  if (!agent) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${agentId}"`);
  let models = configuredModels(cfg, view);
  if (agentId && view === "default") {
    // An agent alone: the models that agent runs on (its primary and fallbacks).
    const refs = new Set([agent.model, ...agent.fallbacks].filter(Boolean));
    models = models.filter((m) => refs.has(`${m.provider}/${m.id}`));
  }
  return models.map((m) => (`${m.provider}/${m.id}` === agent.model ? { ...m, tags: ["default"] } : m));
}

export const modelsListMethod = defineMethod("models.list", {
  scope: "operator.read",
  handler: (params, { ctx }) => ({ models: modelsFor(ctx.snapshot.config, params.view ?? "default", params.agentId) }),
});
