/**
 * Session subscriptions and descriptions, as the Control UI uses them:
 *
 *   sessions.subscribe {}                 → {subscribed:true}; with list params also `list`
 *                                           (a `sessions.list` snapshot). The socket then gets
 *                                           `sessions.changed` for every session.
 *   sessions.messages.subscribe {key}     → {subscribed:true, key[, approvalReplay]}: the socket
 *                                           gets `session.message` for that session.
 *   sessions.messages.unsubscribe {key}   → {subscribed:false, key}
 *   sessions.describe {key}               → {session: row | null}
 *   sessions.branches.list {sessionKey}   → {branches: []}   (transcripts here never branch)
 *   sessions.companion.state {sessionKey} → {exchanges: []}  (no companion feature)
 *   sessions.observer.visibility {visible}→ {ok:true}        (no observer digests to pace)
 *
 * Subscriptions belong to the socket (`client` of the call) and end with it: they are kept in
 * a WeakMap keyed by that object, so a closed socket leaves nothing behind. A socket follows at
 * most MAX_MESSAGE_SUBSCRIPTIONS sessions; a new one beyond that replaces the oldest.
 *
 * Events come from the agent runtime's observers: a run starting or ending sends
 * `sessions.changed` (with `phase` and `runId`), and every message appended to a transcript
 * (both sides of a turn, whatever started it: WebSocket, HTTP, a channel) sends
 * `session.message` to that session's subscribers and `sessions.changed` (reason `send`) to
 * list subscribers. Rows in events are the same rows `sessions.list` returns.
 */
import type { AgentRuntime, RuntimeEvent } from "../../agents/runtime.ts";
import type { BroadcastOptions } from "../subsystem.ts";
import { runtimeStore } from "./agent.ts";
import { listSessions } from "./sessions.ts";
import { canonicalKey, messageId, messageView, sessionView } from "./session-view.ts";
import { defineMethod, type MethodDef } from "./types.ts";

/** Sessions one socket may follow at once (the UI follows the one on screen). */
export const MAX_MESSAGE_SUBSCRIPTIONS = 64;

export interface SessionEventSink {
  broadcast(event: string, payload: unknown, opts?: BroadcastOptions): void;
}

/** Who follows what, and the events sent to them. */
export class SessionEvents {
  private readonly listSubscribers = new WeakSet<object>();
  private readonly messageSubscribers = new WeakMap<object, Set<string>>();
  private runtime?: AgentRuntime;
  private sink?: SessionEventSink;
  private readonly observer = (event: RuntimeEvent) => this.onRuntime(event);

  /** Start listening to the runtime; events go out through `sink`. */
  attach(runtime: AgentRuntime, sink: SessionEventSink): void {
    this.detach();
    this.runtime = runtime;
    this.sink = sink;
    runtime.observers.add(this.observer);
  }

  detach(): void {
    this.runtime?.observers.delete(this.observer);
    this.runtime = undefined;
    this.sink = undefined;
  }

  subscribeList(client: object): void {
    this.listSubscribers.add(client);
  }

  followsList(client: object): boolean {
    return this.listSubscribers.has(client);
  }

  subscribeMessages(client: object, key: string): void {
    let keys = this.messageSubscribers.get(client);
    if (!keys) this.messageSubscribers.set(client, (keys = new Set()));
    keys.delete(key);
    keys.add(key);
    if (keys.size > MAX_MESSAGE_SUBSCRIPTIONS) keys.delete(keys.values().next().value!);
  }

  unsubscribeMessages(client: object, key: string): void {
    this.messageSubscribers.get(client)?.delete(key);
  }

  followsMessages(client: object, key: string): boolean {
    return this.messageSubscribers.get(client)?.has(key) === true;
  }

  private onRuntime(event: RuntimeEvent): void {
    const runtime = this.runtime;
    const sink = this.sink;
    if (!runtime || !sink) return;
    const ts = Date.now();
    if (event.type === "run") {
      const row = runtime.peekStore()?.get(event.sessionKey);
      const session = sessionView(runtime, event.sessionKey, row, event.phase === "end" ? { endingRunId: event.runId } : {});
      sink.broadcast(
        "sessions.changed",
        { sessionKey: event.sessionKey, agentId: event.agentId, phase: event.phase, runId: event.runId, ts, session },
        { scope: "operator.read", to: (c) => this.listSubscribers.has(c) },
      );
      return;
    }
    const key = event.row.key;
    const session = sessionView(runtime, key, event.row);
    for (const stored of event.messages) {
      sink.broadcast(
        "session.message",
        {
          sessionKey: key,
          agentId: event.row.agentId,
          message: messageView(stored, event.row.sessionId),
          messageId: messageId(event.row.sessionId, stored.seq),
          messageSeq: stored.seq + 1,
          session,
        },
        { scope: "operator.read", to: (c) => this.messageSubscribers.get(c)?.has(key) === true },
      );
    }
    sink.broadcast(
      "sessions.changed",
      { sessionKey: key, agentId: event.row.agentId, reason: "send", ts, session },
      { scope: "operator.read", to: (c) => this.listSubscribers.has(c) },
    );
  }
}

export function sessionUiMethods(events: SessionEvents): MethodDef<any>[] {
  return [
    defineMethod("sessions.subscribe", {
      scope: "operator.read",
      handler: (p, { ctx, client }) => {
        // Subscribe first: a change while the snapshot is read is not lost.
        events.subscribeList(client);
        if (Object.keys(p).length === 0) return { subscribed: true as const };
        return { subscribed: true as const, list: listSessions(ctx.agents, p) };
      },
    }),
    defineMethod("sessions.messages.subscribe", {
      scope: "operator.read",
      handler: (p, { ctx, client }) => {
        const key = canonicalKey(ctx.agents, p.key);
        events.subscribeMessages(client, key);
        // No approvals wait here: the replay the UI asks for is empty.
        const replay = p.includeApprovals ? { approvalReplay: { sessionKey: key, updatedAtMs: Date.now(), approvals: [], truncated: false } } : {};
        return { subscribed: true as const, key, ...replay };
      },
    }),
    defineMethod("sessions.messages.unsubscribe", {
      scope: "operator.read",
      handler: (p, { ctx, client }) => {
        const key = canonicalKey(ctx.agents, p.key);
        events.unsubscribeMessages(client, key);
        return { subscribed: false as const, key };
      },
    }),
    defineMethod("sessions.describe", {
      scope: "operator.read",
      handler: (p, { ctx }) => {
        const key = canonicalKey(ctx.agents, p.key);
        const row = runtimeStore(ctx.agents).get(key);
        return { session: row ? sessionView(ctx.agents, key, row) : null };
      },
    }),
    defineMethod("sessions.branches.list", {
      scope: "operator.read",
      handler: () => ({ branches: [] }),
    }),
    defineMethod("sessions.companion.state", {
      scope: "operator.read",
      handler: () => ({ exchanges: [] }),
    }),
    defineMethod("sessions.observer.visibility", {
      scope: "operator.read",
      handler: () => ({ ok: true as const }),
    }),
  ];
}
