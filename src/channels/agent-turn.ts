/**
 * The bridge from an admitted chat message to the agent runtime: the `RunTurn` the gateway hands
 * the channel host. Every channel turn goes through `AgentRuntime.runTurn`, the one lane entry
 * point, so it waits behind any other run of its session (WebSocket `agent` / `chat.send`, HTTP,
 * another channel message) and counts against `agents.defaults.maxConcurrent`. The user message
 * (with group context, see envelope.ts) and the reply are appended to the session's transcript by
 * the turn itself, only when the model answered.
 *
 * A turn that cannot start (the session store cannot be opened, the session's or the gateway's
 * queue is full) throws TurnDeferredError: the host keeps the event queued and retries it, so a
 * message is never answered with an error just because the gateway was briefly busy.
 */
import { QueueFullError } from "../agents/lanes.ts";
import { StoreUnavailableError, type AgentRuntime } from "../agents/runtime.ts";
import type { Logger } from "../log/logger.ts";
import type { Message } from "../providers/types.ts";
import { inboundText } from "./envelope.ts";
import { TurnDeferredError, type RunTurn } from "./types.ts";

export function agentRunTurn(runtime: AgentRuntime, log: Logger): RunTurn {
  return async (req) => {
    const agent = runtime.agent(req.agentId) ?? runtime.defaultAgent();
    let store;
    let history: Message[];
    try {
      store = runtime.store;
      history = store.history(req.sessionKey);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw new TurnDeferredError(err.message);
      throw err;
    }
    const user: Message = { role: "user", content: inboundText(req) };
    try {
      const out = await runtime.runTurn({
        config: runtime.config,
        store,
        agent,
        sessionKey: req.sessionKey,
        plan: { context: [...history, user], append: [user] },
        system: req.systemPrompt,
        signal: req.signal,
        channel: req.channel,
        env: runtime.env,
        log,
      });
      return { text: out.result.text };
    } catch (err) {
      if (err instanceof QueueFullError) throw new TurnDeferredError(err.message);
      throw err;
    }
  };
}
