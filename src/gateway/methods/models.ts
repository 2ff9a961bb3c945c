/**
 * `models.list`: models declared under `models.providers.<id>.models` and agents' model refs.
 *
 * `view` picks the set (`provider-config`: only declared models); `agentId` (alone, or with a
 * `view` and a `sessionKey`, as the Control UI's model picker sends it) names the agent whose
 * primary model is tagged `default`, and unknown agents are refused as the original refuses them.
 * Every row is `available`: a configured provider is one this gateway can call.
 *
 * The published-catalog controls (capability `published-model-catalog`, which the official CLI's
 * `models list` requires): `provider` keeps one provider's rows (an id no configured provider or
 * agent ref has is refused), `includeDetails` adds the declared `input` modalities, a declared
 * `contextTokens` and `local` (the provider's endpoint is on this machine). There is no provider
 * discovery, so `refresh` reads the same configured catalog.
 */
import { listAgents } from "../../agents/registry.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import { isLoopbackIp, parseV4 } from "../../auth/net.ts";
import { RpcError, ErrorCodes } from "../../protocol/errors.ts";
import { defineMethod } from "./types.ts";

export interface ModelRow {
  id: string;
  name: string;
  provider: string;
  contextWindow?: number;
  contextTokens?: number;
  input?: string[];
  local?: boolean;
  reasoning?: boolean;
  tags?: string[];
  available: boolean;
}

/** The original's "local" endpoint rule: localhost, a loopback IPv4, the unspecified or IPv6 loopback address, or a `.local` name. */
export function isLocalEndpoint(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase().replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  if (host === "localhost" || host === "0.0.0.0" || host === "::" || host === "::1" || host.endsWith(".local")) return true;
  return parseV4(host) !== undefined && isLoopbackIp(host);
}

const positiveInt = (v: unknown): number | undefined => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : undefined);

export function configuredModels(cfg: OpenClawConfig, view: string, details = false): ModelRow[] {
  const rows = new Map<string, ModelRow>();
  const providers = cfg.models?.providers ?? {};
  for (const [provider, p] of Object.entries(providers)) {
    for (const m of p.models ?? []) {
      const row: ModelRow = { id: m.id, name: m.name ?? m.id, provider, available: true };
      if (typeof m.contextWindow === "number") row.contextWindow = m.contextWindow;
      if (details) {
        const contextTokens = positiveInt(m.contextTokens);
        if (contextTokens !== undefined) row.contextTokens = contextTokens;
        if (Array.isArray(m.input) && m.input.length > 0 && m.input.every((x) => typeof x === "string")) row.input = m.input as string[];
      }
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
  if (details) {
    for (const row of rows.values()) {
      const baseUrl = providers[row.provider]?.baseUrl;
      if (baseUrl) row.local = isLocalEndpoint(baseUrl);
    }
  }
  return [...rows.values()];
}

/** The models of `view` for `agentId` (or the default agent), its primary tagged `default`. */
export function modelsFor(cfg: OpenClawConfig, view: string, agentId?: string, opts: { provider?: string; details?: boolean } = {}): ModelRow[] {
  const agents = listAgents(cfg);
  const agent = agentId ? agents.find((a) => a.id.toLowerCase() === agentId.toLowerCase()) : agents.find((a) => a.isDefault);
  if (!agent) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${agentId}"`);
  let models = configuredModels(cfg, view, opts.details);
  if (opts.provider !== undefined) {
    const wanted = opts.provider.trim().toLowerCase();
    // Every view but provider-config already holds the agents' refs.
    const catalog = view === "provider-config" ? configuredModels(cfg, "all") : models;
    const known = new Set([...Object.keys(cfg.models?.providers ?? {}), ...catalog.map((m) => m.provider)].map((p) => p.toLowerCase()));
    if (!known.has(wanted)) throw new RpcError(ErrorCodes.INVALID_REQUEST, "Unknown model catalog provider. Use a provider id from the installed plugins or configured providers.");
    models = models.filter((m) => m.provider.toLowerCase() === wanted);
  }
  if (agentId && view === "default") {
    // An agent alone: the models that agent runs on (its primary and fallbacks).
    const refs = new Set([agent.model, ...agent.fallbacks].filter(Boolean));
    models = models.filter((m) => refs.has(`${m.provider}/${m.id}`));
  }
  return models.map((m) => (`${m.provider}/${m.id}` === agent.model ? { ...m, tags: ["default"] } : m));
}

export const modelsListMethod = defineMethod("models.list", {
  scope: "operator.read",
  handler: (params, { ctx }) => ({
    models: modelsFor(ctx.snapshot.config, params.view ?? "default", params.agentId, { provider: params.provider, details: params.includeDetails === true }),
  }),
});
