/**
 * Model references without the model stack: `provider/model` parsing, the first configured
 * model, and an agent's chain (primary, then fallbacks). Kept apart from the adapters so the
 * gateway can check a run request (model overrides, policy) without loading them.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { ProviderError } from "./errors.ts";

export interface ModelRef {
  provider: string;
  model: string;
}

export function formatRef(r: ModelRef): string {
  return `${r.provider}/${r.model}`;
}

type RawProviders = Record<string, { models?: Array<{ id: string }> }>;

function providers(cfg: OpenClawConfig): RawProviders {
  return (cfg.models?.providers ?? {}) as RawProviders;
}

function notConfigured(message: string, configKey: string): ProviderError {
  return new ProviderError("not_configured", message, { configKey });
}

/**
 * `provider/model` splits at the first `/`; a bare id resolves to the unique configured
 * provider listing it, else to `defaultProvider`.
 */
export function parseModelRef(cfg: OpenClawConfig, ref: string, defaultProvider?: string): ModelRef | undefined {
  const text = ref.trim();
  if (!text) return undefined;
  const slash = text.indexOf("/");
  if (slash > 0 && slash < text.length - 1) return { provider: text.slice(0, slash), model: text.slice(slash + 1) };
  if (slash >= 0) return undefined;
  const owners = Object.entries(providers(cfg))
    .filter(([, p]) => (p.models ?? []).some((m) => m.id === text))
    .map(([id]) => id);
  if (owners.length === 1) return { provider: owners[0], model: text };
  if (defaultProvider) return { provider: defaultProvider, model: text };
  return undefined;
}

/** The first model of the first configured provider (used when no agent names a model). */
export function firstConfiguredModel(cfg: OpenClawConfig): ModelRef | undefined {
  for (const [id, p] of Object.entries(providers(cfg))) {
    const m = p.models?.[0];
    if (m) return { provider: id, model: m.id };
  }
  return undefined;
}

export interface AgentModels {
  model?: string;
  fallbacks: string[];
}

/** Primary then fallbacks (deduplicated); an override replaces the chain (strict). */
export function modelChain(cfg: OpenClawConfig, agent: AgentModels, override?: ModelRef): ModelRef[] {
  if (override) return [override];
  const primaryRef = agent.model ? parseModelRef(cfg, agent.model) : firstConfiguredModel(cfg);
  if (!primaryRef) {
    if (agent.model) {
      throw notConfigured(`Agent model "${agent.model}" is not a provider/model reference and matches no configured model.`, "agents.defaults.model");
    }
    throw notConfigured(
      Object.keys(providers(cfg)).length
        ? `No model is configured. Set agents.defaults.model ("<provider>/<model>") or list models under models.providers.<name>.models.`
        : `No model provider is configured. Set models.providers.<name> (baseUrl, apiKey, api) and agents.defaults.model ("<name>/<model>") in the gateway config.`,
      Object.keys(providers(cfg)).length ? "agents.defaults.model" : "models.providers",
    );
  }
  const chain = [primaryRef];
  for (const f of agent.fallbacks) {
    const r = parseModelRef(cfg, f, primaryRef.provider);
    if (r && !chain.some((c) => c.provider === r.provider && c.model === r.model)) chain.push(r);
  }
  return chain;
}

