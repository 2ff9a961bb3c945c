/**
 * Session transcripts: one row per session key, its messages in order, and the
 * `previous_response_id` index of `/v1/responses`. All statements are prepared once.
 */
import type { Database, Statement } from "bun:sqlite";
import type { Message, ToolCall } from "../providers/types.ts";

export interface SessionRow {
  key: string;
  agentId: string;
  sessionId: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  model: string | null;
  channel: string | null;
  inputTokens: number;
  outputTokens: number;
}

export interface StoredMessage {
  seq: number;
  message: Message;
  runId: string | null;
  createdAt: number;
}

export interface AppendTurn {
  key: string;
  agentId: string;
  messages: Message[];
  model?: string;
  channel?: string;
  runId?: string;
  usage?: { input: number; output: number };
  now?: number;
}

export interface ResponseLink {
  id: string;
  sessionKey: string;
  agentId: string;
  subject: string;
  headerKey: string | null;
  createdAt: number;
}

/** Longest history loaded into a turn (messages); older ones stay on disk. */
export const HISTORY_LIMIT = 200;
/** `previous_response_id` links expire like upstream's in-memory map (30 min). */
export const RESPONSE_TTL_MS = 30 * 60_000;

type MessageDbRow = {
  seq: number;
  role: "user" | "assistant" | "tool";
  content: string;
  tool_calls: string | null;
  tool_call_id: string | null;
  tool_name: string | null;
  run_id: string | null;
  created_at: number;
};

type SessionDbRow = {
  key: string;
  agent_id: string;
  session_id: string;
  created_at: number;
  updated_at: number;
  message_count: number;
  model: string | null;
  channel: string | null;
  input_tokens: number;
  output_tokens: number;
};

function toSession(r: SessionDbRow): SessionRow {
  return {
    key: r.key,
    agentId: r.agent_id,
    sessionId: r.session_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    messageCount: r.message_count,
    model: r.model,
    channel: r.channel,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
  };
}

function toMessage(r: MessageDbRow): Message {
  if (r.role === "assistant") {
    const toolCalls = r.tool_calls ? (JSON.parse(r.tool_calls) as ToolCall[]) : undefined;
    return toolCalls?.length ? { role: "assistant", content: r.content, toolCalls } : { role: "assistant", content: r.content };
  }
  if (r.role === "tool") {
    return r.tool_name
      ? { role: "tool", content: r.content, toolCallId: r.tool_call_id ?? "", name: r.tool_name }
      : { role: "tool", content: r.content, toolCallId: r.tool_call_id ?? "" };
  }
  return { role: "user", content: r.content };
}

/**
 * Cut a loaded tail so it starts at a user message: a tool result or an assistant tool call
 * without its partner is rejected by most providers.
 */
export function trimToUserStart(messages: Message[]): Message[] {
  const first = messages.findIndex((m) => m.role === "user");
  return first <= 0 ? (first < 0 ? [] : messages) : messages.slice(first);
}

export class SessionStore {
  /** Called after each committed append with the session row and the messages it stored. */
  onAppend?: (row: SessionRow, messages: StoredMessage[]) => void;
  private readonly q: {
    get: Statement<SessionDbRow, [string]>;
    upsert: Statement<SessionDbRow, [string, string, string, number, number, string | null, string | null, number, number]>;
    insertMessage: Statement<unknown, [string, number, string, string, string | null, string | null, string | null, string | null, number]>;
    tail: Statement<MessageDbRow, [string, number]>;
    firstUser: Statement<MessageDbRow, [string]>;
    list: Statement<SessionDbRow, [number, number]>;
    listByAgent: Statement<SessionDbRow, [string, number, number]>;
    count: Statement<{ n: number }, []>;
    countByAgent: Statement<{ n: number }, [string]>;
    countsByAgent: Statement<{ agent_id: string; n: number }, []>;
    saveResponse: Statement<unknown, [string, string, string, string, string | null, number]>;
    findResponse: Statement<{ id: string; session_key: string; agent_id: string; subject: string; header_key: string | null; created_at: number }, [string]>;
    pruneResponses: Statement<unknown, [number]>;
  };

  constructor(readonly db: Database) {
    this.q = {
      get: db.query("SELECT * FROM sessions WHERE key = ?"),
      upsert: db.query(`
        INSERT INTO sessions (key, agent_id, session_id, created_at, updated_at, message_count, model, channel, input_tokens, output_tokens)
        VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9)
        ON CONFLICT (key) DO UPDATE SET
          updated_at = ?4,
          message_count = message_count + ?5,
          model = COALESCE(?6, model),
          channel = COALESCE(?7, channel),
          input_tokens = input_tokens + ?8,
          output_tokens = output_tokens + ?9
        RETURNING *`),
      insertMessage: db.query(
        "INSERT INTO messages (session_key, seq, role, content, tool_calls, tool_call_id, tool_name, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      tail: db.query("SELECT * FROM (SELECT * FROM messages WHERE session_key = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq ASC"),
      firstUser: db.query("SELECT * FROM messages WHERE session_key = ? AND role = 'user' ORDER BY seq ASC LIMIT 1"),
      list: db.query("SELECT * FROM sessions ORDER BY updated_at DESC, key ASC LIMIT ? OFFSET ?"),
      listByAgent: db.query("SELECT * FROM sessions WHERE agent_id = ? ORDER BY updated_at DESC, key ASC LIMIT ? OFFSET ?"),
      count: db.query("SELECT count(*) AS n FROM sessions"),
      countByAgent: db.query("SELECT count(*) AS n FROM sessions WHERE agent_id = ?"),
      countsByAgent: db.query("SELECT agent_id, count(*) AS n FROM sessions GROUP BY agent_id"),
      saveResponse: db.query("INSERT OR REPLACE INTO responses (id, session_key, agent_id, subject, header_key, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
      findResponse: db.query("SELECT * FROM responses WHERE id = ?"),
      pruneResponses: db.query("DELETE FROM responses WHERE created_at < ?"),
    };
  }

  get(key: string): SessionRow | undefined {
    const r = this.q.get.get(key);
    return r ? toSession(r) : undefined;
  }

  /** The last `limit` messages of a session, oldest first, starting at a user message. */
  history(key: string, limit = HISTORY_LIMIT): Message[] {
    return trimToUserStart(this.q.tail.all(key, limit).map(toMessage));
  }

  /** Same as history() with sequence numbers and timestamps (for `chat.history`). */
  transcript(key: string, limit = HISTORY_LIMIT): StoredMessage[] {
    return this.q.tail.all(key, limit).map((r) => ({ seq: r.seq, message: toMessage(r), runId: r.run_id, createdAt: r.created_at }));
  }

  /** The session's first user message (a title for the session), if any. */
  firstUserMessage(key: string): StoredMessage | undefined {
    const r = this.q.firstUser.get(key);
    return r ? { seq: r.seq, message: toMessage(r), runId: r.run_id, createdAt: r.created_at } : undefined;
  }

  /** Append one turn atomically; creates the session on first use. */
  append(turn: AppendTurn): SessionRow {
    const now = turn.now ?? Date.now();
    let stored: StoredMessage[] = [];
    const run = this.db.transaction(() => {
      // One upsert returns the row after the update: message_count - n is where this turn starts.
      const row = this.q.upsert.get(
        turn.key,
        turn.agentId,
        crypto.randomUUID(),
        now,
        turn.messages.length,
        turn.model ?? null,
        turn.channel ?? null,
        turn.usage?.input ?? 0,
        turn.usage?.output ?? 0,
      )!;
      if (row.agent_id !== turn.agentId) throw new Error(`session ${turn.key} belongs to agent ${row.agent_id}`);
      const seq0 = row.message_count - turn.messages.length;
      stored = turn.messages.map((message, i) => ({ seq: seq0 + i, message, runId: turn.runId ?? null, createdAt: now }));
      turn.messages.forEach((m, i) => {
        this.q.insertMessage.run(
          turn.key,
          seq0 + i,
          m.role,
          m.content,
          m.role === "assistant" && m.toolCalls?.length ? JSON.stringify(m.toolCalls) : null,
          m.role === "tool" ? m.toolCallId : null,
          m.role === "tool" ? (m.name ?? null) : null,
          turn.runId ?? null,
          now,
        );
      });
      return toSession(row);
    });
    const row = run();
    try {
      this.onAppend?.(row, stored);
    } catch {
      // an observer never fails the append that already committed
    }
    return row;
  }

  list(opts: { agentId?: string; limit?: number; offset?: number } = {}): SessionRow[] {
    const limit = opts.limit ?? 100;
    const offset = opts.offset ?? 0;
    const rows = opts.agentId ? this.q.listByAgent.all(opts.agentId, limit, offset) : this.q.list.all(limit, offset);
    return rows.map(toSession);
  }

  count(agentId?: string): number {
    return (agentId ? this.q.countByAgent.get(agentId) : this.q.count.get())?.n ?? 0;
  }

  countsByAgent(): Map<string, number> {
    return new Map(this.q.countsByAgent.all().map((r) => [r.agent_id, r.n]));
  }

  saveResponse(link: Omit<ResponseLink, "createdAt"> & { createdAt?: number }): void {
    const now = link.createdAt ?? Date.now();
    this.q.saveResponse.run(link.id, link.sessionKey, link.agentId, link.subject, link.headerKey, now);
    // Cheap housekeeping: expired links go on every write (indexed by created_at).
    this.q.pruneResponses.run(now - RESPONSE_TTL_MS);
  }

  findResponse(id: string, now = Date.now()): ResponseLink | undefined {
    const r = this.q.findResponse.get(id);
    if (!r || now - r.created_at > RESPONSE_TTL_MS) return undefined;
    return { id: r.id, sessionKey: r.session_key, agentId: r.agent_id, subject: r.subject, headerKey: r.header_key, createdAt: r.created_at };
  }
}
