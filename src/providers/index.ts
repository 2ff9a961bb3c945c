/**
 * From config to callable models: provider entries (`models.providers.<id>`), model refs and an
 * agent's chain (src/providers/refs.ts, re-exported here), and failover along that chain. Every config problem is a `not_configured` ProviderError whose
 * message names the key to set (503 on the HTTP surface).
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { completeChat, openChatStream, type CallOptions } from "./call.ts";
import { isFailoverWorthy, ProviderError } from "./errors.ts";
import type { ModelRef } from "./refs.ts";
import { PROVIDER_APIS, zeroUsage, type ModelCall, type ModelEvent, type ModelResult, type ProviderApi, type ProviderConfig } from "./types.ts";

export { ProviderError } from "./errors.ts";
export { firstConfiguredModel, formatRef, modelChain, parseModelRef, type AgentModels, type ModelRef } from "./refs.ts";

type Env = Record<string, string | undefined>;

const DEFAULT_BASE_URL: Record<ProviderApi, string> = {
  "openai-completions": "https://api.openai.com/v1",
  "openai-responses": "https://api.openai.com/v1",
  "anthropic-messages": "https://api.anthropic.com",
  ollama: "http://127.0.0.1:11434",
};

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_RETRY = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 8_000, budgetMs: 30_000 };

type RawProvider = NonNullable<NonNullable<OpenClawConfig["models"]>["providers"]>[string] & Record<string, unknown>;

function providers(cfg: OpenClawConfig): Record<string, RawProvider> {
  return (cfg.models?.providers ?? {}) as Record<string, RawProvider>;
}

function notConfigured(message: string, configKey: string): ProviderError {
  return new ProviderError("not_configured", message, { configKey });
}

/** `apiKey`: a literal, `${ENV_VAR}` (looked up now if the loader left it literal), or `{source:"env",id}`. */
export function resolveApiKey(id: string, raw: unknown, env: Env): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const key = `models.providers.${id}.apiKey`;
  let name: string | undefined;
  if (typeof raw === "string") {
    name = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(raw.trim())?.[1];
    if (!name) return raw;
  } else {
    const secret = raw as { source?: string; id?: string };
    if (secret.source !== "env" || !secret.id) {
      throw notConfigured(`Provider "${id}": ${key} uses a SecretRef source this gateway cannot read; use a literal, "\${ENV_VAR}" or {source:"env",id}.`, key);
    }
    name = secret.id;
  }
  const value = env[name];
  if (!value) throw notConfigured(`Provider "${id}" has no API key: environment variable ${name} (from ${key}) is not set.`, key);
  return value;
}

function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

export function providerConfig(cfg: OpenClawConfig, id: string, env: Env = process.env): ProviderConfig {
  const raw = providers(cfg)[id];
  if (!raw) {
    const any = Object.keys(providers(cfg)).length > 0;
    throw notConfigured(
      any
        ? `Model provider "${id}" is not configured. Add models.providers.${id} (baseUrl, apiKey, api) or pick a configured provider.`
        : `No model provider is configured. Set models.providers.<name> (baseUrl, apiKey, api) and agents.defaults.model ("<name>/<model>") in the gateway config.`,
      `models.providers.${id}`,
    );
  }
  const api = (raw.api ?? "openai-completions") as ProviderApi;
  if (!PROVIDER_APIS.includes(api)) {
    throw notConfigured(
      `Provider "${id}" uses api "${String(raw.api)}", which this gateway does not speak. Set models.providers.${id}.api to one of: ${PROVIDER_APIS.join(", ")}.`,
      `models.providers.${id}.api`,
    );
  }
  const baseUrl = (raw.baseUrl || DEFAULT_BASE_URL[api]).replace(/\/+$/, "");
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw notConfigured(`Provider "${id}" has an invalid baseUrl "${baseUrl}"; set models.providers.${id}.baseUrl to an http(s) URL.`, `models.providers.${id}.baseUrl`);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((raw.headers as Record<string, unknown> | undefined) ?? {})) if (typeof v === "string") headers[k] = v;
  const retry = (raw.retry as Record<string, unknown> | undefined) ?? {};
  const timeoutSeconds = positive(raw.timeoutSeconds);
  return {
    id,
    api,
    baseUrl,
    apiKey: resolveApiKey(id, raw.apiKey, env),
    headers,
    timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS,
    retry: {
      maxAttempts: Math.floor(positive(retry.maxAttempts) ?? DEFAULT_RETRY.maxAttempts),
      baseDelayMs: positive(retry.baseDelayMs) ?? DEFAULT_RETRY.baseDelayMs,
      maxDelayMs: positive(retry.maxDelayMs) ?? DEFAULT_RETRY.maxDelayMs,
      budgetMs: positive(retry.budgetMs) ?? DEFAULT_RETRY.budgetMs,
    },
    maxTokens: positive(raw.maxTokens),
  };
}

export type CallSpec = Omit<ModelCall, "provider" | "model">;

export interface FailoverHooks extends CallOptions {
  env?: Env;
  /** Called before each model is tried (index 0 = primary). */
  onAttempt?(ref: ModelRef, index: number): void;
  /** A model failed and `next` (the following model of the chain) will be tried. */
  onFailover?(from: ModelRef, error: ProviderError, next: ModelRef): void;
}

/**
 * Try each model of the chain; a failover-worthy error moves to the next, unless `final()`
 * says the failed attempt already committed to its model. Returns the first success with the
 * model that produced it; throws the last error when all fail.
 */
async function withFailover<T>(
  cfg: OpenClawConfig,
  chain: ModelRef[],
  spec: CallSpec,
  hooks: FailoverHooks,
  run: (call: ModelCall, ref: ModelRef) => Promise<T>,
  final: () => boolean = () => false,
): Promise<{ value: T; ref: ModelRef }> {
  let last: ProviderError | undefined;
  for (let i = 0; i < chain.length; i++) {
    const ref = chain[i];
    hooks.onAttempt?.(ref, i);
    try {
      const provider = providerConfig(cfg, ref.provider, hooks.env);
      const value = await run({ ...spec, provider, model: ref.model }, ref);
      return { value, ref };
    } catch (err) {
      const e = err instanceof ProviderError ? err : new ProviderError("unknown", (err as Error)?.message ?? String(err));
      e.extra.provider ??= ref.provider;
      e.extra.model ??= ref.model;
      last = e;
      if (final() || e.reason === "aborted" || !isFailoverWorthy(e) || i === chain.length - 1) throw e;
      hooks.onFailover?.(ref, e, chain[i + 1]);
    }
  }
  throw last ?? new ProviderError("unknown", "no model to call");
}

export function completeWithFailover(cfg: OpenClawConfig, chain: ModelRef[], spec: CallSpec, hooks: FailoverHooks = {}) {
  return withFailover<ModelResult>(cfg, chain, spec, hooks, (call) => completeChat(call, hooks));
}

export interface StreamHooks extends FailoverHooks {
  /** Receives event batches in order; awaiting it is the backpressure. */
  onEvents(events: ModelEvent[]): void | Promise<void>;
  /** A model accepted the request (2xx headers); output may follow. */
  onOpen?(ref: ModelRef): void;
}

/** Accumulates streamed events into the final result. */
export class ResultBuilder {
  text = "";
  private tools = new Map<number, { id: string; name: string; arguments: string }>();
  finish?: ModelResult["finishReason"];
  usage = zeroUsage();

  add(events: ModelEvent[]): void {
    for (const ev of events) {
      if (ev.type === "text") this.text += ev.text;
      else if (ev.type === "tool") {
        let t = this.tools.get(ev.index);
        if (!t) {
          t = { id: ev.id ?? `call_${crypto.randomUUID()}`, name: ev.name ?? "", arguments: "" };
          this.tools.set(ev.index, t);
        }
        if (ev.name && !t.name) t.name = ev.name;
        t.arguments += ev.args;
      } else if (ev.type === "finish") this.finish = ev.reason;
      else for (const [k, v] of Object.entries(ev.usage)) if (typeof v === "number" && v > 0) this.usage[k as keyof typeof this.usage] = v;
    }
  }

  result(): ModelResult {
    const toolCalls = [...this.tools.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
    return { text: this.text, toolCalls, finishReason: toolCalls.length ? "tool_calls" : (this.finish ?? "stop"), usage: { ...this.usage } };
  }
}

/**
 * Stream along the chain. A model that fails before it produced any output (refused, 5xx
 * after retries, idle timeout before the first token) hands over to the next one; once output
 * has reached `onEvents`, a failure is final and thrown to the caller.
 */
export function streamWithFailover(cfg: OpenClawConfig, chain: ModelRef[], spec: CallSpec, hooks: StreamHooks): Promise<{ value: ModelResult; ref: ModelRef }> {
  let emitted = false;
  const stream = async (call: ModelCall, ref: ModelRef) => {
    const builder = new ResultBuilder();
    const events = await openChatStream(call, hooks);
    hooks.onOpen?.(ref);
    for await (const batch of events) {
      builder.add(batch);
      if (!emitted && !batch.some((e) => e.type === "text" || e.type === "tool")) continue;
      emitted = true;
      await hooks.onEvents(batch);
    }
    return builder.result();
  };
  return withFailover(cfg, chain, spec, hooks, stream, () => emitted);
}
