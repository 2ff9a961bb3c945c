/**
 * One agent turn: the session's stored transcript (or the client's conversation), the agent's
 * system prompt and model chain, one model call with failover, and the transcript append.
 * Shared by the HTTP surfaces and the WebSocket `agent` / `chat.send` runs, always inside an
 * agent lane (AgentRuntime.runTurn / startRun admit it first).
 *
 * It also writes the operator signals the original's runbooks grep for, in the original's
 * words: `model fallback decision: …` for each failed model (with `next=none` when it was the
 * last), `embedded run agent end: … isError=true …` for the final failure (`model_not_found`,
 * 429 after retries, …), and `incomplete turn detected: … stopReason=stop payloads=0 …` when
 * a model answered with nothing visible.
 */
import type { OpenClawConfig } from "../config/schema.ts";
import { ProviderError } from "../providers/errors.ts";
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
  /** Recorded on the transcript rows and named in log lines. */
  runId?: string;
  /** Names the turn in log lines when it has no run id of its own (its lane id). */
  traceId?: string;
  channel?: string;
  /** Append the turn to the transcript (default). Off for sessions nobody can address again. */
  persist?: boolean;
  env?: Record<string, string | undefined>;
  /** Receives the fallback, final-failure and empty-turn lines. */
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
  const requested = chain[0];
  const runId = input.runId ?? input.traceId ?? "-";
  const onFailover = log ? (from: ModelRef, e: ProviderError, next: ModelRef) => log.warn(fallbackDecisionLine(requested, from, e, next)) : undefined;
  const hooks = { signal: input.signal, env: input.env, onFailover };
  let outcome: { value: ModelResult; ref: ModelRef };
  try {
    outcome = input.onEvents
      ? await streamWithFailover(input.config, chain, spec, { ...hooks, onEvents: input.onEvents, onOpen: input.onOpen })
      : await completeWithFailover(input.config, chain, spec, hooks);
  } catch (err) {
    if (log && err instanceof ProviderError && err.reason !== "aborted") {
      const failed = { provider: err.extra.provider ?? requested.provider, model: err.extra.model ?? requested.model };
      const raw = err.extra.status ? ` rawError=${err.extra.status} ${clean(err.message)}` : "";
      log.warn(`embedded run agent end: runId=${runId} isError=true model=${clean(failed.model)} provider=${clean(failed.provider)} error=${clean(err.message)}${raw}`);
      log.warn(fallbackDecisionLine(requested, failed, err, undefined));
    }
    throw err;
  }
  const { value: result, ref } = outcome;
  if (log && !result.text.trim() && result.toolCalls.length === 0) {
    log.warn(
      `incomplete turn detected: runId=${runId} sessionKey=${clean(input.sessionKey)} provider=${clean(formatRef(ref))} stopReason=${result.finishReason} payloads=0 tools=0 — no visible reply`,
    );
  }
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

/** One line, control characters out, bounded: upstream text ends up in it. */
function clean(text: string, max = 300): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The original's `model fallback decision` line for a failed model (`next` absent: chain exhausted). */
export function fallbackDecisionLine(requested: ModelRef, candidate: ModelRef, e: ProviderError, next: ModelRef | undefined): string {
  const detail = e.extra.status ? `${e.extra.status} ${e.message}` : e.message;
  return `model fallback decision: decision=candidate_failed requested=${clean(formatRef(requested))} candidate=${clean(formatRef(candidate))} reason=${e.reason} next=${next ? clean(formatRef(next)) : "none"} detail=${clean(detail)}`;
}
