/**
 * The wire contract of the automation methods (`cron.*`, `wake`, `last-heartbeat`,
 * `set-heartbeats`, `hooks.status`), spread into CONTRACT (contract.ts). Params are the
 * original's closed schemas (src/automation/params.ts: what its CLI and Control UI send);
 * results name the fields the CLI reads, the rest passes through.
 */
import { automationParams } from "../automation/params.ts";
import { z } from "../zod.ts";
import { entry } from "./contract-entry.ts";

const opt = z.optional;
const NonNegInt = z.number().check(z.int(), z.nonnegative());

const Job = () =>
  z.object({
    id: z.string(),
    name: z.string(),
    enabled: z.boolean(),
    createdAtMs: z.number(),
    updatedAtMs: z.number(),
    schedule: z.looseObject({ kind: z.string() }),
    sessionTarget: z.string(),
    wakeMode: z.string(),
    payload: z.looseObject({ kind: z.string() }),
    state: z.looseObject({ nextRunAtMs: opt(z.number()), lastRunStatus: opt(z.string()) }),
    agentId: opt(z.string()),
    declarationKey: opt(z.string()),
    displayName: opt(z.string()),
    delivery: opt(z.looseObject({ mode: z.string() })),
    configRevision: z.string(),
    nextRunAtMs: opt(z.number()),
  });

const Preview = () => z.object({ label: z.string(), detail: z.string() });

const RunEntry = () =>
  z.object({
    ts: z.number(),
    jobId: z.string(),
    action: z.literal("finished"),
    status: opt(z.enum(["ok", "error", "skipped"])),
    completionStatus: opt(z.string()),
    error: opt(z.string()),
    summary: opt(z.string()),
    runId: opt(z.string()),
    runAtMs: opt(z.number()),
    durationMs: opt(z.number()),
    nextRunAtMs: opt(z.number()),
    model: opt(z.string()),
    provider: opt(z.string()),
    deliveryStatus: opt(z.string()),
    sessionKey: opt(z.string()),
    jobName: opt(z.string()),
  });

const Page = {
  total: NonNegInt,
  offset: NonNegInt,
  limit: NonNegInt,
  hasMore: z.boolean(),
  nextOffset: z.nullable(NonNegInt),
};

const HeartbeatEvent = () =>
  z.object({
    ts: z.number(),
    status: z.enum(["sent", "ok-empty", "ok-token", "skipped", "failed"]),
    reason: opt(z.string()),
    to: opt(z.string()),
    preview: opt(z.string()),
    durationMs: opt(z.number()),
    hasMedia: opt(z.boolean()),
    channel: opt(z.string()),
    accountId: opt(z.string()),
    indicatorType: opt(z.string()),
    message: opt(z.string()),
  });

export const AUTOMATION_CONTRACT = {
  "cron.status": entry(() => automationParams().CronStatusParams, () =>
    z.object({
      enabled: z.boolean(),
      triggersEnabled: z.boolean(),
      storage: z.string(),
      storePath: z.string(),
      jobs: NonNegInt,
      nextWakeAtMs: z.nullable(z.number()),
    }),
  ),
  "cron.list": entry(() => automationParams().CronListParams, () =>
    z.object({
      jobs: z.array(z.looseObject({ id: z.string(), name: z.string(), enabled: z.boolean() })),
      ...Page,
      deliveryPreviews: opt(z.record(z.string(), Preview())),
    }),
  ),
  "cron.get": entry(() => automationParams().CronGetParams, Job),
  "cron.add": entry(() => automationParams().CronAddParams, () =>
    z.union([
      z.object({ ...Job().shape, deliveryPreview: Preview() }),
      // With a declarationKey: the converged job.
      z.object({ created: z.boolean(), updated: opt(z.boolean()), job: Job(), deliveryPreview: Preview() }),
    ]),
  ),
  "cron.update": entry(() => automationParams().CronUpdateParams, Job),
  "cron.remove": entry(() => automationParams().CronRemoveParams, () => z.object({ ok: z.literal(true), removed: z.boolean(), sessionCleanup: opt(z.string()) })),
  "cron.run": entry(() => automationParams().CronRunParams, () =>
    z.object({
      ok: z.literal(true),
      enqueued: opt(z.boolean()),
      runId: opt(z.string()),
      ran: opt(z.boolean()),
      reason: opt(z.string()),
      processInstanceId: z.string(),
    }),
  ),
  "cron.runs": entry(() => automationParams().CronRunsParams, () => z.object({ entries: z.array(RunEntry()), ...Page })),
  "cron.scratch.get": entry(() => automationParams().CronScratchGetParams, () =>
    z.object({
      scratch: z.nullable(z.looseObject({ content: z.string() })),
      currentRevision: NonNegInt,
      maxBytes: NonNegInt,
    }),
  ),
  "cron.scratch.set": entry(() => automationParams().CronScratchSetParams, () => z.looseObject({ ok: z.boolean() })),
  wake: entry(() => automationParams().WakeParams, () => z.object({ ok: z.literal(true) })),
  "last-heartbeat": entry(() => automationParams().LastHeartbeatParams, () => z.nullable(HeartbeatEvent())),
  "set-heartbeats": entry(() => automationParams().SetHeartbeatsParams, () => z.object({ ok: z.literal(true), enabled: z.boolean() })),
  "hooks.status": entry(() => automationParams().HooksStatusParams, () =>
    z.object({ workspaceDir: z.string(), managedHooksDir: z.string(), hooks: z.array(z.unknown()) }),
  ),
};
