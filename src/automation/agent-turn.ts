/**
 * Scheduled agent work on the gateway's agent runtime: the `AgentTurnExecutor` the scheduler,
 * the heartbeat and hook runs call, built on `AgentRuntime.runTurn` (the one lane entry point:
 * one run per session, the gateway-wide concurrency cap, bounded queues, aborts), and the load
 * facts the heartbeat's skip decision reads from the same lanes.
 *
 * - An isolated run gets a fresh session and keeps no transcript (nobody can address its session
 *   again, and nothing here prunes old run sessions); a main / current / `session:` run continues
 *   that session's transcript like any chat turn.
 * - Before an isolated run whose whole model chain is local, the preflight probes the providers
 *   and the run is recorded as skipped when none answers.
 * - `payload.model` replaces the agent's primary model, `payload.fallbacks` its fallbacks.
 */
import type { AgentRuntime } from "../agents/runtime.ts";
import type { Logger } from "../log/logger.ts";
import { modelChain } from "../providers/refs.ts";
import type { HeartbeatRunnerOptions } from "./heartbeat.ts";
import type { Preflight, ProviderEndpoint } from "./preflight.ts";
import type { AgentTurnExecutor, AgentTurnResult } from "./service.ts";

export interface ExecutorOptions {
  agents: AgentRuntime;
  log: Logger;
  preflight?: Preflight;
}

/** The endpoints of a model chain as the preflight probes them (unconfigured ones are left to the turn to report). */
async function endpointsOf(agents: AgentRuntime, chain: Array<{ provider: string }>): Promise<ProviderEndpoint[]> {
  // The model stack loads with the first run, not at gateway startup.
  const { providerConfig } = await import("../providers/index.ts");
  const out: ProviderEndpoint[] = [];
  for (const ref of chain) {
    try {
      const p = providerConfig(agents.config, ref.provider, agents.env);
      out.push({ provider: ref.provider, baseUrl: p.baseUrl, api: p.api });
    } catch {
      // A provider the config cannot build is not "unreachable": the turn says what is wrong.
      return [];
    }
  }
  return out;
}

export function agentTurnExecutor(opts: ExecutorOptions): AgentTurnExecutor {
  const { agents, log } = opts;
  return async (req): Promise<AgentTurnResult> => {
    const base = agents.agent(req.agentId);
    if (!base) throw new Error(`unknown agent "${req.agentId}"`);
    const agent = {
      ...base,
      ...(req.model ? { model: req.model } : {}),
      ...(req.fallbacks ? { fallbacks: req.fallbacks } : {}),
    };
    const config = agents.config;
    const chain = modelChain(config, agent);
    if (req.isolated && opts.preflight) {
      const endpoints = await endpointsOf(agents, chain);
      const reason = endpoints.length ? await opts.preflight.check(endpoints) : undefined;
      if (reason) {
        log.warn(`cron: ${req.jobName} skipped: ${reason}`);
        return { text: "", skipped: reason, sessionId: req.sessionId, sessionKey: req.sessionKey };
      }
    }
    const store = agents.store;
    const user = { role: "user" as const, content: req.message };
    const history = req.isolated ? [] : store.history(req.sessionKey);
    const { result, ref } = await agents.runTurn({
      config,
      store,
      agent,
      sessionKey: req.sessionKey,
      plan: { context: [...history, user], append: [user] },
      signal: req.signal,
      runId: req.runId ?? `cron:${req.jobId}:${req.sessionId}`,
      channel: "cron",
      persist: !req.isolated,
      env: agents.env,
      log,
    });
    const input = result.usage.input + result.usage.cacheRead;
    return {
      text: result.text,
      model: ref.model,
      provider: ref.provider,
      usage: { input_tokens: input, output_tokens: result.usage.output, total_tokens: input + result.usage.output },
      sessionId: req.sessionId,
      sessionKey: req.sessionKey,
    };
  };
}

/** The heartbeat's load facts, from the agent lanes. */
export function laneFacts(agents: AgentRuntime): NonNullable<HeartbeatRunnerOptions["facts"]> {
  return {
    // Work on the agent's main session, running or waiting.
    mainQueueSize: (agentId) => agents.activeRunIds(`agent:${agentId}:main`).length,
    activeRunsForAgent: (agentId) => agents.lanes.tickets().filter((t) => t.agentId === agentId && t.state === "running").length,
    sessionBusy: (sessionKey) => agents.activeRunIds(sessionKey).length > 0,
    lanesSaturated: () => {
      const s = agents.laneStats();
      return s.running >= s.maxConcurrent;
    },
  };
}
