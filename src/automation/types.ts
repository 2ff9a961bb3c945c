/**
 * The shapes of jobs, their runtime state and their run history, as the original's protocol
 * schema names them (`CronJob`, `CronJobState`, `CronRunLogEntry`). These objects go on the
 * wire unchanged, so field names and optionality follow the original exactly.
 */
import type { Schedule } from "./schedule.ts";

export type SessionTarget = "main" | "isolated" | "current" | `session:${string}`;
export type WakeMode = "now" | "next-heartbeat";
export type RunStatus = "ok" | "error" | "skipped";
export type CompletionStatus = "succeeded" | "failed" | "unknown";
export type DeliveryStatus = "delivered" | "not-delivered" | "unknown" | "not-requested";

export interface SystemEventPayload {
  kind: "systemEvent";
  text: string;
  toolsAllow?: string[];
  toolsAllowIsDefault?: boolean;
}

export interface AgentTurnPayload {
  kind: "agentTurn";
  message: string;
  model?: string;
  fallbacks?: string[];
  thinking?: string;
  /** 0 = no scheduler ceiling; absent = the default budget. */
  timeoutSeconds?: number;
  allowUnsafeExternalContent?: boolean;
  lightContext?: boolean;
  toolsAllow?: string[];
  toolsAllowIsDefault?: boolean;
}

/** The gateway-owned heartbeat monitor; never created or edited by clients. */
export interface HeartbeatPayload {
  kind: "heartbeat";
}

export type Payload = SystemEventPayload | AgentTurnPayload | HeartbeatPayload;

export interface FailureDestination {
  channel?: string;
  to?: string;
  accountId?: string;
  mode?: "announce" | "webhook";
}

export interface Delivery {
  mode: "none" | "announce" | "webhook";
  channel?: string;
  to?: string;
  threadId?: string | number;
  accountId?: string;
  bestEffort?: boolean;
  failureDestination?: FailureDestination;
  completionDestination?: { mode: "webhook"; to: string };
}

export interface FailureAlert {
  after?: number;
  channel?: string;
  to?: string;
  cooldownMs?: number;
  includeSkipped?: boolean;
  mode?: "announce" | "webhook";
  accountId?: string;
}

export interface RunDiagnostic {
  ts: number;
  source: "cron-preflight" | "cron-setup" | "model-preflight" | "agent-run" | "tool" | "exec" | "delivery";
  severity: "info" | "warn" | "error";
  message: string;
}

export interface RunDiagnostics {
  summary?: string;
  entries: RunDiagnostic[];
}

export interface CronJobState {
  nextRunAtMs?: number;
  scheduleActivatedAtMs?: number;
  runningAtMs?: number;
  lastRunAtMs?: number;
  lastRunStatus?: RunStatus;
  /** Deprecated alias of lastRunStatus, still sent. */
  lastStatus?: RunStatus;
  lastError?: string;
  lastDiagnostics?: RunDiagnostics;
  lastDiagnosticSummary?: string;
  lastDurationMs?: number;
  consecutiveErrors?: number;
  autoDisabled?: { reason: "consecutive-failures" | "schedule-errors"; atMs: number; consecutiveErrors: number };
  consecutiveSkipped?: number;
  lastDelivered?: boolean;
  lastDeliveryStatus?: DeliveryStatus;
  lastDeliveryError?: string;
  deliverySuppressionReason?: string;
  lastFailureNotificationDeliveryStatus?: DeliveryStatus;
}

export interface CronJob {
  id: string;
  declarationKey?: string;
  displayName?: string;
  agentId?: string;
  sessionKey?: string;
  name: string;
  description?: string;
  enabled: boolean;
  deleteAfterRun?: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  schedule: Schedule;
  sessionTarget: SessionTarget;
  wakeMode: WakeMode;
  payload: Payload;
  delivery?: Delivery;
  failureAlert?: false | FailureAlert;
  scheduledToolPolicy?: { version: 1; mode: "trusted" };
  state: CronJobState;
}

/** Where a run's delivery aimed and where it ended up (`CronDeliveryTrace`). */
export interface DeliveryTrace {
  intended?: { channel?: string; to?: string | null; accountId?: string; threadId?: string | number; source?: "explicit" | "last" };
  resolved?: { channel?: string; to?: string | null; accountId?: string; threadId?: string | number; source?: "explicit" | "last"; ok: boolean; error?: string };
  fallbackUsed?: boolean;
  delivered?: boolean;
}

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
}

/** One persisted run history row (`CronRunLogEntry`). */
export interface RunLogEntry {
  ts: number;
  jobId: string;
  action: "finished";
  status?: RunStatus;
  completionStatus?: CompletionStatus;
  error?: string;
  summary?: string;
  diagnostics?: RunDiagnostics;
  delivered?: boolean;
  deliveryStatus?: DeliveryStatus;
  deliveryError?: string;
  deliverySuppressionReason?: string;
  delivery?: DeliveryTrace;
  sessionId?: string;
  sessionKey?: string;
  /** Manual runs only (`manual:<jobId>:<ms>:<n>`); scheduled runs have none. */
  runId?: string;
  runAtMs?: number;
  durationMs?: number;
  nextRunAtMs?: number;
  model?: string;
  provider?: string;
  usage?: Usage;
  jobName?: string;
}
