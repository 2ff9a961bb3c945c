/**
 * Agents from config: `agents.entries`, `agents.list` (the array form), or the
 * implicit `main` agent when none are configured.
 */
import type { OpenClawConfig } from "../config/schema.ts";

export interface AgentInfo {
  id: string;
  name?: string;
  isDefault: boolean;
  model?: string;
  fallbacks: string[];
  systemPrompt?: string;
}

export const IMPLICIT_AGENT_ID = "main";

type RawAgent = {
  default?: boolean;
  name?: string;
  model?: string | { primary?: string; fallbacks?: string[] };
  systemPrompt?: string;
};

function modelParts(model: RawAgent["model"]): { primary?: string; fallbacks: string[] } {
  if (model === undefined) return { fallbacks: [] };
  if (typeof model === "string") return { primary: model, fallbacks: [] };
  return { primary: model.primary, fallbacks: model.fallbacks ?? [] };
}

export function listAgents(cfg: OpenClawConfig): AgentInfo[] {
  const defaults = (cfg.agents?.defaults ?? {}) as RawAgent;
  const raw: Array<[string, RawAgent]> = [];
  for (const [id, entry] of Object.entries(cfg.agents?.entries ?? {})) raw.push([id, entry as RawAgent]);
  for (const entry of cfg.agents?.list ?? []) {
    if (!raw.some(([id]) => id === entry.id)) raw.push([entry.id, entry as RawAgent]);
  }
  if (raw.length === 0) raw.push([IMPLICIT_AGENT_ID, {}]);
  const explicitDefault = raw.find(([, a]) => a.default)?.[0];
  const defaultId = explicitDefault ?? raw[0][0];
  const inherited = modelParts(defaults.model);
  return raw.map(([id, a]) => {
    const own = modelParts(a.model);
    return {
      id,
      name: a.name,
      isDefault: id === defaultId,
      model: own.primary ?? inherited.primary,
      fallbacks: own.fallbacks.length ? own.fallbacks : inherited.fallbacks,
      systemPrompt: a.systemPrompt ?? defaults.systemPrompt,
    };
  });
}

export function defaultAgentId(cfg: OpenClawConfig): string {
  return listAgents(cfg).find((a) => a.isDefault)!.id;
}
