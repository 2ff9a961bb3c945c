/** `models.list`: models declared under `models.providers.<id>.models` and agents' model refs. */
import { listAgents } from "../../agents/registry.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { RpcError, ErrorCodes } from "../../protocol/errors.ts";
import { defineMethod } from "./types.ts";

export interface ModelRow {
  id: string;
  name: string;
  provider: string;
  contextWindow?: number;
}

export function configuredModels(cfg: OpenClawConfig, view: string): ModelRow[] {
  const rows = new Map<string, ModelRow>();
  for (const [provider, p] of Object.entries(cfg.models?.providers ?? {})) {
    for (const m of p.models ?? []) {
      const row: ModelRow = { id: m.id, name: m.name ?? m.id, provider };
      if (typeof m.contextWindow === "number") row.contextWindow = m.contextWindow;
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
        rows.set(ref, { id, name: id, provider: ref.slice(0, slash) });
      }
    }
  }
  return [...rows.values()];
}

export const modelsListMethod = defineMethod("models.list", {
  scope: "operator.read",
  handler: (params, { ctx }) => {
    if (params.view && params.agentId) {
      throw new RpcError(ErrorCodes.INVALID_REQUEST, "invalid models.list params: pass view or agentId, not both");
    }
    let models = configuredModels(ctx.snapshot.config, params.view ?? "default");
    if (params.agentId) {
      const agent = listAgents(ctx.snapshot.config).find((a) => a.id === params.agentId);
      if (!agent) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent: ${params.agentId}`);
      const refs = new Set([agent.model, ...agent.fallbacks].filter(Boolean));
      models = models.filter((m) => refs.has(`${m.provider}/${m.id}`));
    }
    return { models };
  },
});
