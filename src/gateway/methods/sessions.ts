/**
 * `sessions.list`: sessions from the state database, newest first, as the CLI and the Control UI
 * ask for them (the UI polls with `limit: 10000`; like the original there is no upper bound).
 *
 * Filters: `agentId`, `configuredAgentsOnly` (rows of agents no longer in the config are left
 * out), `spawnedBy` (no session here is spawned by another, so the list is empty), `search`
 * (key or title, case-insensitive), `activeOnly` (sessions with a run waiting or running).
 * `includeGlobal` / `includeUnknown` change nothing: this gateway keeps no global or unknown
 * sessions. Paging: `offset`, `nextOffset`, `hasMore`, `totalCount`, `limitApplied`.
 */
import type { ParamsOf } from "../../protocol/contract.ts";
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import type { AgentRuntime } from "../../agents/runtime.ts";
import type { SessionRow } from "../../store/sessions.ts";
import { runtimeStore } from "./agent.ts";
import { sessionDefaults, sessionView } from "./session-view.ts";
import { defineMethod } from "./types.ts";

const DEFAULT_LIMIT = 100;

/** The `sessions.list` payload for these params (also `sessions.subscribe`'s snapshot). */
export function listSessions(runtime: AgentRuntime, p: ParamsOf<"sessions.list">) {
  const store = runtimeStore(runtime);
  const agentId = p.agentId ? runtime.agent(p.agentId)?.id : undefined;
  if (p.agentId && !agentId) throw new RpcError(ErrorCodes.INVALID_REQUEST, `unknown agent id "${p.agentId}"`);
  const limit = p.limit ?? DEFAULT_LIMIT;
  const offset = p.offset ?? 0;
  const search = p.search?.trim().toLowerCase();
  const configured = new Set(runtime.agents().map((a) => a.id));
  // `configuredAgentsOnly` filters nothing when every stored session's agent is configured (the
  // usual case): then SQL pages the list, without walking it.
  const agentFilter = p.configuredAgentsOnly === true && [...store.countsByAgent().keys()].some((id) => !configured.has(id));
  const filtered = p.spawnedBy !== undefined || agentFilter || Boolean(search) || p.activeOnly === true;

  let rows: SessionRow[];
  let total: number;
  if (p.spawnedBy !== undefined) {
    rows = [];
    total = 0;
  } else if (!filtered) {
    rows = store.list({ agentId, limit, offset });
    total = store.count(agentId);
  } else {
    // Filters that SQL does not know: walk the listing once, newest first, in bounded pages.
    const keep = (r: SessionRow) =>
      (!agentFilter || configured.has(r.agentId)) &&
      (!p.activeOnly || runtime.activeRunIds(r.key).length > 0) &&
      (!search || r.key.toLowerCase().includes(search) || (store.firstUserMessage(r.key)?.message.content ?? "").toLowerCase().includes(search));
    const matched: SessionRow[] = [];
    total = 0;
    const page = 500;
    for (let at = 0; ; at += page) {
      const batch = store.list({ agentId, limit: page, offset: at });
      for (const r of batch) {
        if (!keep(r)) continue;
        if (total >= offset && matched.length < limit) matched.push(r);
        total++;
      }
      if (batch.length < page) break;
    }
    rows = matched;
  }
  const nextOffset = offset + rows.length < total ? offset + rows.length : null;
  return {
    ts: Date.now(),
    path: runtime.dbPath,
    count: rows.length,
    totalCount: total,
    limitApplied: limit,
    offset,
    nextOffset,
    hasMore: nextOffset !== null,
    // Sessions here have no owners (no multi-user profiles).
    owners: [],
    defaults: sessionDefaults(runtime, agentId),
    sessions: rows.map((r) => ({
      ...sessionView(runtime, r.key, r, { lastMessage: p.includeLastMessage === true, derivedTitle: p.includeDerivedTitles === true }),
      updatedAt: r.updatedAt,
      messageCount: r.messageCount,
    })),
  };
}

export const sessionsListMethod = defineMethod("sessions.list", {
  scope: "operator.read",
  handler: (p, { ctx }) => listSessions(ctx.agents, p),
});
