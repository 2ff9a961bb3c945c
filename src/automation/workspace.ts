/**
 * An agent's workspace directory, resolved as the original does: the agent's own `workspace`;
 * for the default agent `agents.defaults.workspace`, `OPENCLAW_WORKSPACE_DIR` or
 * `<stateDir>/workspace`; for the others `<agents.defaults.workspace>/<id>` or
 * `<stateDir>/workspace-<id>`. Used for `hooks.status` and the `HEARTBEAT.md` migration.
 */
import { isAbsolute, join, resolve } from "node:path";
import { defaultAgentId } from "../agents/registry.ts";
import { expandHome, resolveHome, type Env } from "../config/paths.ts";
import type { OpenClawConfig } from "../config/schema.ts";

type WorkspaceAgents = {
  defaults?: { workspace?: string };
  entries?: Record<string, { workspace?: string }>;
  list?: Array<{ id: string; workspace?: string }>;
};

export function agentWorkspaceDir(cfg: OpenClawConfig, stateDir: string, agentId: string, env: Env = process.env): string {
  const agents = (cfg.agents ?? {}) as WorkspaceAgents;
  const userPath = (p: string) => {
    const expanded = expandHome(p.trim(), resolveHome(env));
    return isAbsolute(expanded) ? expanded : resolve(expanded);
  };
  const own = agents.entries?.[agentId]?.workspace ?? agents.list?.find((a) => a.id === agentId)?.workspace;
  if (own?.trim()) return userPath(own);
  const fallback = agents.defaults?.workspace?.trim();
  if (agentId === defaultAgentId(cfg)) {
    if (fallback) return userPath(fallback);
    const fromEnv = env.OPENCLAW_WORKSPACE_DIR?.trim();
    return fromEnv ? userPath(fromEnv) : join(stateDir, "workspace");
  }
  return fallback ? join(userPath(fallback), agentId) : join(stateDir, `workspace-${agentId}`);
}
