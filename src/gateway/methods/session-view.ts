/**
 * How sessions and their messages look on the wire to the Control UI (`sessions.list`,
 * `sessions.describe`, `chat.startup`, `session.message`, `sessions.changed`): the original's
 * row and message shapes, filled from what this gateway stores (the session row, its transcript,
 * the agent lanes) and nothing else. Fields of features this gateway does not have (sharing,
 * placement, fast mode, thinking levels, context budgets) are left out, as the original leaves
 * out optional fields it has no value for.
 */
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { OpenClawConfig } from "../../config/schema.ts";
import type { SessionRow, StoredMessage } from "../../store/sessions.ts";

/** "provider/model" → its parts (a bare id has no provider). */
export function splitModelRef(ref: string | null | undefined): { provider: string | null; model: string | null } {
  if (!ref) return { provider: null, model: null };
  const slash = ref.indexOf("/");
  return slash > 0 ? { provider: ref.slice(0, slash), model: ref.slice(slash + 1) } : { provider: null, model: ref };
}

/** The context window declared for a model under `models.providers.<p>.models[]`, if any. */
export function contextWindowOf(cfg: OpenClawConfig, provider: string | null, model: string | null): number | undefined {
  if (!provider || !model) return undefined;
  const entry = cfg.models?.providers?.[provider]?.models?.find((m) => m.id === model) as { contextWindow?: unknown } | undefined;
  return typeof entry?.contextWindow === "number" ? entry.contextWindow : undefined;
}

export interface SessionDefaults {
  modelProvider: string | null;
  model: string | null;
  contextTokens?: number;
}

/** `defaults` of a listing or a history page: the agent's primary model. */
export function sessionDefaults(runtime: AgentRuntime, agentId?: string): SessionDefaults {
  const agent = (agentId ? runtime.agent(agentId) : undefined) ?? runtime.defaultAgent();
  const { provider, model } = splitModelRef(agent.model);
  const contextTokens = contextWindowOf(runtime.config, provider, model);
  return { modelProvider: provider, model, ...(contextTokens !== undefined ? { contextTokens } : {}) };
}

/** The agent a session key names (`agent:<id>:…`), or the default agent. */
export function agentOfKey(runtime: AgentRuntime, key: string): string {
  const named = /^agent:([^:]+):/.exec(key)?.[1];
  return (named ? runtime.agent(named)?.id : undefined) ?? runtime.defaultAgent().id;
}

/** `main` is the default agent's main session, as everywhere else on the wire. */
export function canonicalKey(runtime: AgentRuntime, key: string): string {
  const trimmed = key.trim();
  return trimmed === "main" ? `agent:${runtime.defaultAgent().id}:main` : trimmed;
}

/** One line of text for a preview or a title: whitespace collapsed, bounded. */
export function previewText(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface RowOptions {
  /** `includeLastMessage`: the last message's text as `lastMessagePreview`. */
  lastMessage?: boolean;
  /** `includeDerivedTitles`: the first user message as `derivedTitle` (not for main sessions). */
  derivedTitle?: boolean;
  /** A run that is ending now: not counted as active any more. */
  endingRunId?: string;
}

export type SessionView = Record<string, unknown> & {
  key: string;
  agentId: string;
  kind: string;
  updatedAt: number | null;
  hasActiveRun: boolean;
  activeRunIds: string[];
};

/**
 * A session as the original's rows present it. `row` is the stored session (undefined: a
 * session nobody has written to yet, e.g. an agent's main session before its first message).
 */
export function sessionView(runtime: AgentRuntime, key: string, row: SessionRow | undefined, opts: RowOptions = {}): SessionView {
  const agentId = row?.agentId ?? agentOfKey(runtime, key);
  const isMain = key === `agent:${agentId}:main`;
  const activeRunIds = runtime.activeRunIds(key).filter((id) => id !== opts.endingRunId);
  const stored = splitModelRef(row?.model);
  const defaults = sessionDefaults(runtime, agentId);
  const modelProvider = stored.provider ?? defaults.modelProvider;
  const model = stored.model ?? defaults.model;
  const contextTokens = contextWindowOf(runtime.config, modelProvider, model);
  const view: SessionView = {
    key,
    kind: "direct",
    ...(isMain ? { classification: "main" } : {}),
    agentId,
    isMain,
    ...(row ? { createdAt: row.createdAt, sessionId: row.sessionId } : {}),
    updatedAt: row?.updatedAt ?? null,
    archived: false,
    pinned: false,
    unread: false,
    ...(row?.channel ? { channel: row.channel } : {}),
    ...(row ? { inputTokens: row.inputTokens, outputTokens: row.outputTokens, totalTokens: row.inputTokens + row.outputTokens, messageCount: row.messageCount } : {}),
    ...(activeRunIds.length ? { status: "running" } : {}),
    modelProvider,
    model,
    ...(contextTokens !== undefined ? { contextTokens } : {}),
    hasActiveRun: activeRunIds.length > 0,
    activeRunIds,
  };
  if (row && (opts.lastMessage || (opts.derivedTitle && !isMain))) {
    const store = runtime.peekStore();
    if (store && opts.lastMessage) {
      const last = store.transcript(key, 1)[0];
      if (last?.message.content) view.lastMessagePreview = previewText(last.message.content);
    }
    if (store && opts.derivedTitle && !isMain) {
      const first = store.firstUserMessage(key);
      if (first?.message.content) view.derivedTitle = previewText(first.message.content, 60);
    }
  }
  return view;
}

/**
 * A transcript message as `chat.history`, `chat.startup` and `session.message` carry it: text
 * as content blocks, tool calls and results in the original's block names, the run that wrote it.
 */
/** The id of the message at `seq` (0-based) of a session. */
export function messageId(sessionId: string, seq: number): string {
  return `${sessionId}:${seq + 1}`;
}

export type MessageView = Record<string, unknown> & { role: string; content: unknown[]; timestamp: number };

export function messageView({ message: m, createdAt, runId, seq }: StoredMessage, sessionId?: string): MessageView {
  // A message's id: its session and position, stable for as long as the transcript lives.
  const meta = { ...(sessionId ? { id: messageId(sessionId, seq) } : {}), seq: seq + 1 };
  if (m.role === "tool") {
    return {
      role: "toolResult",
      toolCallId: m.toolCallId,
      ...(m.name ? { toolName: m.name } : {}),
      content: [{ type: "text", text: m.content }],
      timestamp: createdAt,
      ...(runId ? { runId } : {}),
      __openclaw: meta,
    };
  }
  const content: unknown[] = m.content ? [{ type: "text", text: m.content }] : [];
  if (m.role === "assistant") {
    for (const t of m.toolCalls ?? []) {
      let args: unknown = t.arguments;
      try {
        args = JSON.parse(t.arguments);
      } catch {
        // keep the raw text
      }
      content.push({ type: "toolCall", id: t.id, name: t.name, arguments: args });
    }
  }
  // A user message a run wrote carries the run's submission identity: the UI settles the input
  // it showed optimistically against it (chat.send's idempotencyKey is the run id).
  const submission = m.role === "user" && runId ? { idempotencyKey: `${runId}:user` } : {};
  return {
    role: m.role,
    content,
    timestamp: createdAt,
    ...(runId ? { runId } : {}),
    ...submission,
    __openclaw: { ...meta, ...(runId && m.role !== "user" ? { runId } : {}), ...submission },
  };
}

export interface HistoryPage {
  sessionKey: string;
  sessionId: string | null;
  messages: MessageView[];
  pendingInputs: { items: unknown[]; total: number };
  inputReceipts: unknown[];
  inputConsumptions: unknown[];
  hasMore: boolean;
  totalMessages: number;
  defaults: SessionDefaults;
  sessionInfo: SessionView;
}

/**
 * The tail of a session's transcript (at most `limit` messages and, when given, `maxBytes` of
 * JSON; the newest always fit first), with the session's row and defaults: `chat.history` and
 * `chat.startup`. Nothing waits outside the transcript here (an input is written with its
 * reply), so `pendingInputs`, `inputReceipts` and `inputConsumptions` are empty.
 */
export function historyPage(runtime: AgentRuntime, store: { get(key: string): SessionRow | undefined; transcript(key: string, limit: number): StoredMessage[] }, key: string, limit: number, maxBytes?: number): HistoryPage {
  const row = store.get(key);
  const tail = store.transcript(key, limit).map((m) => messageView(m, row?.sessionId));
  let messages = tail;
  if (maxBytes !== undefined) {
    let budget = maxBytes;
    let first = tail.length;
    while (first > 0) {
      const size = Buffer.byteLength(JSON.stringify(tail[first - 1]));
      if (size > budget) break;
      budget -= size;
      first--;
    }
    messages = tail.slice(first);
  }
  const total = row?.messageCount ?? 0;
  return {
    sessionKey: key,
    sessionId: row?.sessionId ?? null,
    messages,
    pendingInputs: { items: [], total: 0 },
    inputReceipts: [],
    inputConsumptions: [],
    hasMore: total > messages.length,
    totalMessages: total,
    defaults: sessionDefaults(runtime, row?.agentId ?? agentOfKey(runtime, key)),
    sessionInfo: sessionView(runtime, key, row),
  };
}

/**
 * This gateway hands out no delta cursors, so any `cursor` a client sends is one it cannot
 * continue from: the original's answer for that is `{kind: "reset"}` (fetch a tail page).
 */
export const CURSOR_RESET = { kind: "reset" } as const;
