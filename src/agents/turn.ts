/**
 * One agent turn: the session's stored transcript (or the client's conversation), the agent's
 * system prompt and model chain, one model call with failover, and the transcript append.
 * Shared by the HTTP surfaces and the WebSocket `agent` / `chat.send` runs.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import type { ProviderError } from "../providers/errors.ts";
import { completeWithFailover, modelChain, streamWithFailover, formatRef, type ModelRef } from "../providers/index.ts";
import type { Message, ModelEvent, ModelResult, SamplingParams, ToolChoice, ToolDef } from "../providers/types.ts";
import type { SessionRow, SessionStore } from "../store/sessions.ts";
import type { AgentInfo } from "./registry.ts";

export interface TurnPlan {
  /** Conversation sent to the model (without system prompts). */
  context: Message[];
  /** Messages appended to the transcript, before the assistant reply, when the turn succeeds. */
  append: Message[];
}

/** Messages after the last assistant message: what is new in a client-held conversation. */
export function trailingTurn(conversation: Message[]): Message[] {
  let i = conversation.length - 1;
  while (i >= 0 && conversation[i].role !== "assistant") i--;
  return conversation.slice(i + 1);
}

/**
 * A session with a stored transcript keeps its own history: only the client's trailing turn is
 * new. A new (empty) session takes the client's whole conversation as its starting transcript.
 * Returns undefined when there is nothing new to answer.
 */
export function planTurn(stored: Message[], conversation: Message[]): TurnPlan | undefined {
  const trailing = trailingTurn(conversation);
  if (trailing.length === 0) return undefined;
  if (stored.length > 0) return { context: [...stored, ...trailing], append: trailing };
  return { context: conversation, append: conversation };
}

export function systemPrompt(agent: AgentInfo, extra: string | undefined): string | undefined {
  const parts = [agent.systemPrompt, extra].filter((p): p is string => Boolean(p && p.trim()));
  return parts.length ? parts.join("\n\n") : undefined;
}

export interface TurnInput {
  config: OpenClawConfig;
  store: SessionStore;
  agent: AgentInfo;
  sessionKey: string;
  plan: TurnPlan;
  system?: string;
  tools?: ToolDef[];
  toolChoice?: ToolChoice;
  params?: SamplingParams;
  /** `x-openclaw-model`: replaces the agent's chain (no fallbacks). */
  override?: ModelRef;
  /** Stream from the upstream and hand event batches here (awaited: backpressure). */
  onEvents?: (events: ModelEvent[]) => void | Promise<void>;
  /** Streaming only: a model accepted the request. */
  onOpen?: (ref: ModelRef) => void;
  signal?: AbortSignal;
  runId?: string;
  channel?: string;
  /** Append the turn to the transcript (default). Off for sessions nobody can address again. */
  persist?: boolean;
  env?: Record<string, string | undefined>;
  /** Warned when a model fails and the next one of the chain is tried. */
  log?: { warn(message: string): void };
}

export interface TurnOutput {
  result: ModelResult;
  ref: ModelRef;
  /** The session row after the append (undefined when not persisted). */
  session?: SessionRow;
}

/** Run the turn; throws ProviderError on model failure (nothing is persisted then). */
export async function runTurn(input: TurnInput): Promise<TurnOutput> {
  const chain = modelChain(input.config, input.agent, input.override);
  const spec = {
    system: systemPrompt(input.agent, input.system),
    messages: input.plan.context,
    tools: input.tools,
    toolChoice: input.toolChoice,
    params: input.params ?? {},
  };
  const log = input.log;
  const onFailover = log
    ? (from: ModelRef, e: ProviderError) =>
        log.warn(`${input.runId ? `run ${input.runId}: ` : ""}model ${formatRef(from)} failed (${e.reason}: ${e.message}); trying the next fallback`)
    : undefined;
  const hooks = { signal: input.signal, env: input.env, onFailover };
  const { value: result, ref } = input.onEvents
    ? await streamWithFailover(input.config, chain, spec, { ...hooks, onEvents: input.onEvents, onOpen: input.onOpen })
    : await completeWithFailover(input.config, chain, spec, hooks);
  if (input.persist === false) return { result, ref };
  const reply: Message = result.toolCalls.length
    ? { role: "assistant", content: result.text, toolCalls: result.toolCalls }
    : { role: "assistant", content: result.text };
  const session = input.store.append({
    key: input.sessionKey,
    agentId: input.agent.id,
    messages: [...input.plan.append, reply],
    model: formatRef(ref),
    channel: input.channel,
    runId: input.runId,
    usage: { input: result.usage.input + result.usage.cacheRead, output: result.usage.output },
  });
  return { result, ref, session };
}
