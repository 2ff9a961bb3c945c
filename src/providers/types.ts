/**
 * The provider-neutral shapes every adapter speaks: one conversation in, a stream of model
 * events out. HTTP surfaces and WebSocket runs build a `ModelCall`; adapters translate it to
 * their wire format (OpenAI chat completions, OpenAI responses, Anthropic messages, Ollama).
 */

export const PROVIDER_APIS = ["openai-completions", "openai-responses", "anthropic-messages", "ollama"] as const;
export type ProviderApi = (typeof PROVIDER_APIS)[number];

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as the model produced it. */
  arguments: string;
}

/** One transcript message. `system` prompts travel separately (`ModelCall.system`). */
export type Message =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId: string; name?: string };

export interface ToolDef {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface SamplingParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** `json_object` / `json_schema` requests, forwarded best-effort. */
  responseFormat?: Record<string, unknown>;
}

export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  reasoning: number;
}

export const zeroUsage = (): Usage => ({ input: 0, output: 0, cacheRead: 0, reasoning: 0 });

export type FinishReason = "stop" | "length" | "tool_calls";

/** What a streaming adapter yields, in order. */
export type ModelEvent =
  | { type: "text"; text: string }
  /** A tool call fragment: `id`/`name` arrive with the first fragment of `index`. */
  | { type: "tool"; index: number; id?: string; name?: string; args: string }
  | { type: "finish"; reason: FinishReason }
  | { type: "usage"; usage: Partial<Usage> };

export interface ModelResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
}

/** A resolved, ready-to-call provider. */
export interface ProviderConfig {
  id: string;
  api: ProviderApi;
  /** No trailing slash. */
  baseUrl: string;
  apiKey?: string;
  headers: Record<string, string>;
  /** Headers and each idle gap of the body (ms). */
  timeoutMs: number;
  retry: RetryPolicy;
  maxTokens?: number;
}

export interface RetryPolicy {
  /** Total attempts per model, first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts after this much time has passed since the first attempt. */
  budgetMs: number;
}

export interface ModelCall {
  provider: ProviderConfig;
  model: string;
  system?: string;
  messages: Message[];
  tools?: ToolDef[];
  toolChoice?: ToolChoice;
  params: SamplingParams;
}

export interface EmbeddingCall {
  provider: ProviderConfig;
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbeddingResult {
  vectors: number[][];
  usage: { prompt: number; total: number };
}
