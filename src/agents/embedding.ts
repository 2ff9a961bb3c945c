/**
 * The embedding model of an agent (`/v1/embeddings` without an `x-openclaw-model` override),
 * read from the original's memory search keys, most specific first, field by field:
 *
 *   1. `agents.entries.<id>.memory.search`   (also an `agents.list[]` entry's)
 *   2. `agents.entries.<id>.memorySearch`    (legacy spelling the original's doctor migrates)
 *   3. `memory.search`
 *   4. `agents.defaults.memorySearch`         (legacy)
 *   5. `memorySearch`                         (legacy, top level)
 *
 * `provider` names a `models.providers.<id>` entry; unset means `openai` (the original's
 * default; legacy `auto` is `openai` too). `model` unset means the provider's default, which we
 * only know for OpenAI (`text-embedding-3-small`). `outputDimensionality` is the default
 * `dimensions`. `provider: "none"` (full-text search only) means no embedding model.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ModelRef } from "../providers/refs.ts";

export const OPENAI_DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small";

export interface EmbeddingTarget extends ModelRef {
  /** `outputDimensionality`, when configured. */
  dimensions?: number;
}

type SearchKeys = { provider?: unknown; model?: unknown; outputDimensionality?: unknown };
type Holder = { memory?: { search?: SearchKeys }; memorySearch?: SearchKeys };

function agentEntry(cfg: OpenClawConfig, agentId: string): Holder | undefined {
  const wanted = agentId.toLowerCase();
  for (const [id, entry] of Object.entries((cfg.agents?.entries ?? {}) as Record<string, Holder>)) if (id.toLowerCase() === wanted) return entry;
  return (cfg.agents?.list ?? []).find((a) => a.id.toLowerCase() === wanted) as Holder | undefined;
}

const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const dims = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined);

/** The configured levels, most specific first. */
function levels(cfg: OpenClawConfig, agentId: string): SearchKeys[] {
  const agent = agentEntry(cfg, agentId);
  const root = cfg as Holder;
  const defaults = cfg.agents?.defaults as Holder | undefined;
  return [agent?.memory?.search, agent?.memorySearch, root.memory?.search, defaults?.memorySearch, root.memorySearch].filter(
    (l): l is SearchKeys => typeof l === "object" && l !== null,
  );
}

/** The agent's embedding model; undefined when none is configured (or `provider: "none"`). */
export function embeddingModelFor(cfg: OpenClawConfig, agentId: string): EmbeddingTarget | undefined {
  const all = levels(cfg, agentId);
  const pick = <T>(read: (l: SearchKeys) => T | undefined) => all.map(read).find((v) => v !== undefined);
  let provider = pick((l) => text(l.provider));
  const model = pick((l) => text(l.model));
  const dimensions = pick((l) => dims(l.outputDimensionality));
  if (provider === "none") return undefined;
  if (provider === "auto") provider = "openai";
  const providers = cfg.models?.providers ?? {};
  if (!provider && all.length === 0) {
    // Nothing about memory search at all: the original's default (OpenAI) only when it exists here.
    return providers.openai ? { provider: "openai", model: OPENAI_DEFAULT_EMBEDDING_MODEL } : undefined;
  }
  provider ??= "openai";
  const id = model ?? (provider === "openai" ? OPENAI_DEFAULT_EMBEDDING_MODEL : undefined);
  if (!id) return undefined;
  return dimensions ? { provider, model: id, dimensions } : { provider, model: id };
}

/** 503 `provider_not_configured` naming the keys to set. */
export function embeddingNotConfigured(agentId: string): ProviderError {
  return new ProviderError(
    "not_configured",
    `No embedding model is configured for agent '${agentId}'. Set memory.search.provider (a models.providers entry) and memory.search.model, or agents.entries.${agentId}.memory.search.`,
    { configKey: "memory.search" },
  );
}
