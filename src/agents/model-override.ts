/**
 * A run's explicit provider/model override: the `agent` method's `provider` / `model` params,
 * which is what `openclaw infer model run --gateway --model <provider/model>` sends. As in the
 * original: only callers with `operator.admin` may ask for one; `model` may be `provider/model`
 * or a bare id (on the agent's own provider), `provider` alone keeps the agent's model id; the
 * result must pass the model policy (`agents.entries.<id>.modelPolicy.allow`, else
 * `agents.defaults.modelPolicy.allow`; empty or absent allows any model). A model id missing
 * from the catalog is not an error here: it is sent to the provider, which answers
 * `model_not_found` if it does not know it. An override is strict: no fallbacks.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { formatRef, modelChain, parseModelRef, type ModelRef } from "../providers/refs.ts";
import type { AgentInfo } from "./registry.ts";

export const OVERRIDE_NOT_AUTHORIZED = "provider/model overrides are not authorized for this caller.";
export const INVALID_OVERRIDE = "Invalid model override.";
export const PROMPT_NONE_NEEDS_MODEL_RUN = 'promptMode="none" requires modelRun=true so the run cannot mutate a durable session.';

/** A run request the gateway refuses before admitting it (INVALID_REQUEST on the wire). */
export class RunRequestError extends Error {
  override name = "RunRequestError";
}

export interface RequestedModel {
  provider?: string;
  model?: string;
}

type RawPolicyHolder = { modelPolicy?: { allow?: unknown } };

function rawAgent(cfg: OpenClawConfig, agentId: string): RawPolicyHolder | undefined {
  const entries = (cfg.agents?.entries ?? {}) as Record<string, RawPolicyHolder>;
  for (const [id, entry] of Object.entries(entries)) if (id.toLowerCase() === agentId.toLowerCase()) return entry;
  return (cfg.agents?.list ?? []).find((a) => a.id.toLowerCase() === agentId.toLowerCase()) as RawPolicyHolder | undefined;
}

function allowList(holder: RawPolicyHolder | undefined): string[] | undefined {
  const allow = holder?.modelPolicy?.allow;
  return Array.isArray(allow) ? allow.filter((a): a is string => typeof a === "string" && a.trim() !== "").map((a) => a.trim()) : undefined;
}

/** `agents.defaults.models` aliases: alias → `provider/model`. */
function aliases(cfg: OpenClawConfig): Map<string, string> {
  const out = new Map<string, string>();
  const models = (cfg.agents?.defaults as { models?: Record<string, { alias?: unknown }> } | undefined)?.models ?? {};
  for (const [ref, entry] of Object.entries(models)) if (typeof entry?.alias === "string" && entry.alias) out.set(entry.alias, ref);
  return out;
}

/** The allowlist that governs `agentId` and the config path it came from; undefined = any model. */
export function modelPolicy(cfg: OpenClawConfig, agentId: string): { allow: string[]; path: string } | undefined {
  const own = allowList(rawAgent(cfg, agentId));
  if (own !== undefined) return own.length ? { allow: own, path: `agents.entries.${agentId}.modelPolicy.allow` } : undefined;
  const defaults = allowList(cfg.agents?.defaults as RawPolicyHolder | undefined);
  return defaults?.length ? { allow: defaults, path: "agents.defaults.modelPolicy.allow" } : undefined;
}

/** Exact refs, aliases, and trailing `prefix/*` wildcards. */
export function policyAllows(cfg: OpenClawConfig, allow: string[], ref: ModelRef): boolean {
  const key = formatRef(ref);
  const alias = aliases(cfg);
  return allow.some((entry) => {
    const resolved = alias.get(entry) ?? entry;
    if (resolved.endsWith("/*")) return key.startsWith(resolved.slice(0, -1));
    return resolved === key;
  });
}

function clean(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/**
 * Resolve a requested override for `agent`; undefined when none was asked for. Throws
 * RunRequestError (unauthorized, malformed, or outside the model policy).
 */
export function resolveModelOverride(cfg: OpenClawConfig, agent: AgentInfo, req: RequestedModel, allowed: boolean): ModelRef | undefined {
  const provider = clean(req.provider);
  let model = clean(req.model);
  if (!provider && !model) return undefined;
  if (!allowed) throw new RunRequestError(OVERRIDE_NOT_AUTHORIZED);
  let current: ModelRef | undefined;
  try {
    current = modelChain(cfg, agent)[0];
  } catch {
    current = undefined;
  }
  let ref: ModelRef | undefined;
  if (provider && model) {
    if (model.startsWith(`${provider}/`)) model = model.slice(provider.length + 1);
    ref = model ? { provider, model } : undefined;
  } else if (model) ref = parseModelRef(cfg, model, current?.provider);
  else if (provider && current) ref = { provider, model: current.model };
  if (!ref) throw new RunRequestError(INVALID_OVERRIDE);
  const policy = modelPolicy(cfg, agent.id);
  if (policy && !policyAllows(cfg, policy.allow, ref)) {
    const key = formatRef(ref);
    throw new RunRequestError(
      `Model override "${key}" is not allowed for agent "${agent.id}" by ${policy.path}. Add "${key}" or "${ref.provider}/*" to ${policy.path}, or remove/empty the list to allow any model.`,
    );
  }
  return ref;
}
