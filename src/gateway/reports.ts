/**
 * What hosted parts add to the `health` and `status` payloads (types and one combinator), kept
 * apart from subsystem.ts so the method context can name them without an import cycle.
 */
import type { OpenClawConfig } from "../config/schema.ts";

/** One agent's heartbeat as `health.agents[].heartbeat` and `status.heartbeat.agents[]` show it. */
export interface HeartbeatReport {
  enabled: boolean;
  every: string;
  everyMs: number | null;
  prompt: string;
  target: string;
  ackMaxChars: number;
  /** Enabled, but no delivery route yet (status). */
  waitingForRoute: boolean;
}

/** What a part adds to the `health` and `status` payloads. */
export interface SubsystemReports {
  /** The heartbeat of an agent under this config, when this part runs heartbeats. */
  heartbeat?(config: OpenClawConfig, agentId: string): HeartbeatReport;
  /** Entries for `status.queuedSystemEvents`: the texts waiting, as the original lists them. */
  queuedSystemEvents?(config: OpenClawConfig): string[];
}

/** The reports of every hosted part as one: the first part that runs heartbeats, every part's events. */
export function combineReports(parts: ReadonlyArray<SubsystemReports | undefined>): SubsystemReports {
  const present = parts.filter((p): p is SubsystemReports => p !== undefined);
  const hb = present.find((p) => p.heartbeat);
  return {
    ...(hb ? { heartbeat: (config: OpenClawConfig, agentId: string) => hb.heartbeat!(config, agentId) } : {}),
    queuedSystemEvents: (config: OpenClawConfig) => present.flatMap((p) => p.queuedSystemEvents?.(config) ?? []),
  };
}

