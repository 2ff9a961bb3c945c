/**
 * Parameter schemas of the automation RPC methods, mirroring the original's protocol schema
 * (closed objects, the same field names and bounds), so whatever the official CLI and Control
 * UI send validates here. Kinds this gateway does not run (`on-exit`/`stream` schedules,
 * `command`/`script` payloads) still parse; the handlers refuse them with a clear message.
 */
import { lazy, z } from "../zod.ts";

/**
 * Every schema of this module, built together on first use: the automation params are a few
 * hundred zod schemas, and an idle gateway that is never asked for a cron method never needs them.
 */
function build() {
  const opt = z.optional;
  const NonEmpty = z.string().check(z.minLength(1));
  const NonBlank = z.string().check(z.minLength(1), z.regex(/\S/));
  const Int = (min: number, max?: number) =>
    max === undefined ? z.number().check(z.int(), z.minimum(min)) : z.number().check(z.int(), z.minimum(min), z.maximum(max));
  const MAX_TS = 8_640_000_000_000_000;
  const Timestamp = Int(0, MAX_TS);

  const SessionTargetSchema = z.union([
    z.literal("main"),
    z.literal("isolated"),
    z.literal("current"),
    z.string().check(z.regex(/^session:.+/)),
  ]);
  const WakeModeSchema = z.enum(["now", "next-heartbeat"]);
  const DeliveryStatusSchema = z.enum(["delivered", "not-delivered", "unknown", "not-requested"]);
  const RunStatusSchema = z.enum(["ok", "error", "skipped"]);
  const AnnounceChannel = z.union([z.literal("last"), NonBlank]);

  const ScheduleSchema = z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("at"), at: NonEmpty }),
    z.strictObject({ kind: z.literal("every"), everyMs: Int(1, MAX_TS), anchorMs: opt(Timestamp) }),
    z.strictObject({ kind: z.literal("cron"), expr: NonEmpty, tz: opt(z.string()), staggerMs: opt(Timestamp) }),
    z.strictObject({ kind: z.literal("on-exit"), command: NonEmpty, cwd: opt(NonEmpty) }),
    z.strictObject({
      kind: z.literal("stream"),
      command: z.array(NonEmpty).check(z.minLength(1)),
      cwd: opt(NonEmpty),
      mode: opt(z.enum(["line", "match"])),
      match: opt(z.string()),
      batchMs: opt(z.number().check(z.int())),
      maxBatchBytes: opt(z.number().check(z.int())),
    }),
  ]);

  const ToolsAllow = z.array(z.string());

  const PayloadSchema = z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("systemEvent"), text: NonEmpty, toolsAllow: opt(ToolsAllow), toolsAllowIsDefault: opt(z.boolean()) }),
    z.strictObject({
      kind: z.literal("agentTurn"),
      message: NonEmpty,
      model: opt(z.string()),
      fallbacks: opt(z.array(z.string())),
      thinking: opt(z.string()),
      timeoutSeconds: opt(z.number().check(z.minimum(0))),
      allowUnsafeExternalContent: opt(z.boolean()),
      lightContext: opt(z.boolean()),
      toolsAllow: opt(ToolsAllow),
      toolsAllowIsDefault: opt(z.boolean()),
    }),
    z.looseObject({ kind: z.literal("command") }),
    z.looseObject({ kind: z.literal("script") }),
  ]);

  const nullable = <T extends z.ZodMiniType>(t: T) => opt(z.nullable(t));

  const PayloadPatchSchema = z.discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("systemEvent"),
      text: opt(NonEmpty),
      toolsAllow: nullable(ToolsAllow),
      toolsAllowIsDefault: opt(z.boolean()),
    }),
    z.strictObject({
      kind: z.literal("agentTurn"),
      message: opt(NonEmpty),
      model: nullable(z.string()),
      fallbacks: nullable(z.array(z.string())),
      thinking: nullable(z.string()),
      timeoutSeconds: nullable(z.number().check(z.minimum(0))),
      allowUnsafeExternalContent: opt(z.boolean()),
      lightContext: opt(z.boolean()),
      toolsAllow: nullable(ToolsAllow),
      toolsAllowIsDefault: opt(z.boolean()),
    }),
    z.looseObject({ kind: z.literal("command") }),
    z.looseObject({ kind: z.literal("script") }),
  ]);

  const FailureDestinationSchema = z.strictObject({
    channel: opt(AnnounceChannel),
    to: opt(NonBlank),
    accountId: opt(NonEmpty),
    mode: opt(z.enum(["announce", "webhook"])),
  });

  const DeliveryShared = {
    channel: opt(AnnounceChannel),
    threadId: opt(z.union([z.string(), z.number()])),
    accountId: opt(NonEmpty),
    bestEffort: opt(z.boolean()),
    failureDestination: opt(FailureDestinationSchema),
  };

  const DeliverySchema = z.discriminatedUnion("mode", [
    z.strictObject({ mode: z.literal("none"), ...DeliveryShared, to: opt(NonBlank) }),
    z.strictObject({
      mode: z.literal("announce"),
      ...DeliveryShared,
      completionDestination: opt(z.strictObject({ mode: z.literal("webhook"), to: NonBlank })),
      to: opt(NonBlank),
    }),
    z.strictObject({ mode: z.literal("webhook"), ...DeliveryShared, to: NonBlank }),
  ]);

  const DeliveryPatchSchema = z.strictObject({
    mode: opt(z.enum(["none", "announce", "webhook"])),
    channel: nullable(AnnounceChannel),
    threadId: nullable(z.union([z.string(), z.number()])),
    accountId: nullable(NonEmpty),
    bestEffort: opt(z.boolean()),
    failureDestination: nullable(FailureDestinationSchema),
    completionDestination: nullable(z.strictObject({ mode: z.literal("webhook"), to: NonBlank })),
    to: nullable(NonBlank),
  });

  const FailureAlertSchema = z.strictObject({
    after: opt(Int(1)),
    channel: opt(AnnounceChannel),
    to: opt(NonBlank),
    cooldownMs: opt(Int(0)),
    includeSkipped: opt(z.boolean()),
    mode: opt(z.enum(["announce", "webhook"])),
    accountId: opt(NonEmpty),
  });

  const FailureAlertPatchSchema = z.strictObject({
    after: nullable(Int(1)),
    channel: nullable(AnnounceChannel),
    to: nullable(NonBlank),
    cooldownMs: nullable(Int(0)),
    includeSkipped: nullable(z.boolean()),
    mode: nullable(z.enum(["announce", "webhook"])),
    accountId: nullable(NonEmpty),
  });

  const DeclarationKey = z.string().check(z.minLength(1), z.maxLength(200), z.regex(/\S/));
  const DisplayName = z.string().check(z.minLength(1), z.maxLength(200), z.regex(/\S/));
  const ConfigRevision = z.string().check(z.minLength(1), z.maxLength(128));

  const PacingSchema = z.strictObject({ min: opt(NonBlank), max: opt(NonBlank) });
  const TriggerSchema = z.strictObject({ script: z.string().check(z.minLength(1), z.maxLength(65536)), once: opt(z.boolean()) });

  const CommonOptional = {
    agentId: nullable(NonEmpty),
    sessionKey: nullable(NonEmpty),
    description: opt(z.string()),
    enabled: opt(z.boolean()),
    deleteAfterRun: opt(z.boolean()),
  };

  const CronAddParams = z.strictObject({
    name: NonEmpty,
    declarationKey: opt(DeclarationKey),
    displayName: opt(DisplayName),
    owner: opt(z.strictObject({ agentId: opt(NonEmpty), sessionKey: opt(NonEmpty), accountId: opt(NonEmpty) })),
    ...CommonOptional,
    schedule: ScheduleSchema,
    pacing: opt(PacingSchema),
    trigger: opt(TriggerSchema),
    sessionTarget: opt(SessionTargetSchema),
    wakeMode: opt(WakeModeSchema),
    payload: PayloadSchema,
    delivery: opt(DeliverySchema),
    failureAlert: opt(z.union([z.literal(false), FailureAlertSchema])),
  });

  const CronUpdatePatch = z.strictObject({
    name: opt(NonEmpty),
    displayName: nullable(DisplayName),
    ...CommonOptional,
    schedule: opt(ScheduleSchema),
    pacing: nullable(PacingSchema),
    trigger: nullable(TriggerSchema),
    sessionTarget: opt(SessionTargetSchema),
    wakeMode: opt(WakeModeSchema),
    payload: opt(PayloadPatchSchema),
    delivery: opt(DeliveryPatchSchema),
    failureAlert: opt(z.union([z.literal(false), FailureAlertPatchSchema, z.null()])),
    state: opt(z.looseObject({})),
  });

  /** `{id}` or the legacy `{jobId}`; the handler requires one of them. */
  const IdFields = { id: opt(NonEmpty), jobId: opt(NonEmpty) };

  const CronUpdateParams = z.strictObject({ ...IdFields, patch: CronUpdatePatch, expectedConfigRevision: opt(ConfigRevision) });

  const CronGetParams = z.strictObject({ ...IdFields });
  const CronRemoveParams = z.strictObject({ ...IdFields });

  const CronRunParams = z.strictObject({
    ...IdFields,
    mode: opt(z.enum(["due", "force", "if-enabled"])),
    expectedProcessInstanceId: opt(NonEmpty),
  });

  const CronStatusParams = z.strictObject({});

  const CronListParams = z.strictObject({
    sessionKey: opt(NonEmpty),
    sessionAgentId: opt(NonEmpty),
    includeDisabled: opt(z.boolean()),
    limit: opt(Int(1, 200)),
    offset: opt(Int(0)),
    query: opt(z.string()),
    enabled: opt(z.enum(["all", "enabled", "disabled"])),
    scheduleKind: opt(z.enum(["all", "at", "every", "cron", "on-exit", "stream"])),
    lastRunStatus: opt(z.enum(["all", "ok", "error", "skipped", "unknown"])),
    trigger: opt(z.enum(["all", "conditional", "unconditional"])),
    sortBy: opt(z.enum(["nextRunAtMs", "updatedAtMs", "name"])),
    sortDir: opt(z.enum(["asc", "desc"])),
    agentId: opt(NonEmpty),
    compact: opt(z.boolean()),
    includeDeliveryPreviews: opt(z.boolean()),
  });

  const RunLogJobId = z.string().check(z.minLength(1), z.regex(/^[^/\\]+$/));

  const CronRunsParams = z.strictObject({
    agentId: opt(NonEmpty),
    scope: opt(z.enum(["job", "all"])),
    id: opt(RunLogJobId),
    jobId: opt(RunLogJobId),
    runId: opt(NonEmpty),
    limit: opt(Int(1, 200)),
    offset: opt(Int(0)),
    statuses: opt(z.array(RunStatusSchema).check(z.minLength(1), z.maxLength(3))),
    status: opt(z.enum(["all", "ok", "error", "skipped"])),
    deliveryStatuses: opt(z.array(DeliveryStatusSchema).check(z.minLength(1), z.maxLength(4))),
    deliveryStatus: opt(DeliveryStatusSchema),
    query: opt(z.string()),
    sortDir: opt(z.enum(["asc", "desc"])),
  });

  const CronScratchGetParams = z.strictObject({ ...IdFields });
  const CronScratchSetParams = z.strictObject({
    ...IdFields,
    content: z.nullable(z.string().check(z.maxLength(262_144))),
    expectedRevision: opt(Int(0)),
  });

  /** `wake` is an open object upstream (extra fields pass). */
  const WakeParams = z.looseObject({
    mode: WakeModeSchema,
    text: NonEmpty,
    sessionKey: opt(NonEmpty),
    agentId: opt(NonEmpty),
  });

  /** `last-heartbeat` is called without params by the CLI. */
  const LastHeartbeatParams = z.looseObject({});

  /** Checked by the handler: the original's message is "enabled (boolean) required". */
  const SetHeartbeatsParams = z.looseObject({ enabled: opt(z.unknown()) });

  const HooksStatusParams = z.strictObject({ agentId: opt(NonEmpty) });
  return { CronAddParams, CronGetParams, CronListParams, CronRemoveParams, CronRunParams, CronRunsParams, CronScratchGetParams, CronScratchSetParams, CronStatusParams, CronUpdateParams, CronUpdatePatch, DeliveryPatchSchema, DeliverySchema, HooksStatusParams, LastHeartbeatParams, PayloadPatchSchema, PayloadSchema, ScheduleSchema, SessionTargetSchema, SetHeartbeatsParams, WakeModeSchema, WakeParams };
}

/** The automation params schemas, built on the first call of an automation method. */
export const automationParams = lazy(build);
export type AutomationParams = ReturnType<typeof build>;

export type ScheduleInput = z.infer<AutomationParams["ScheduleSchema"]>;
export type PayloadInput = z.infer<AutomationParams["PayloadSchema"]>;
export type PayloadPatchInput = z.infer<AutomationParams["PayloadPatchSchema"]>;
export type DeliveryInput = z.infer<AutomationParams["DeliverySchema"]>;
export type DeliveryPatchInput = z.infer<AutomationParams["DeliveryPatchSchema"]>;
export type CronAddParams = z.infer<AutomationParams["CronAddParams"]>;
export type CronUpdatePatch = z.infer<AutomationParams["CronUpdatePatch"]>;
export type CronUpdateParams = z.infer<AutomationParams["CronUpdateParams"]>;
export type CronIdParams = z.infer<AutomationParams["CronGetParams"]>;
export type CronRunParams = z.infer<AutomationParams["CronRunParams"]>;
export type CronListParams = z.infer<AutomationParams["CronListParams"]>;
export type CronRunsParams = z.infer<AutomationParams["CronRunsParams"]>;
export type CronScratchSetParams = z.infer<AutomationParams["CronScratchSetParams"]>;
export type WakeParams = z.infer<AutomationParams["WakeParams"]>;
export type SetHeartbeatsParams = z.infer<AutomationParams["SetHeartbeatsParams"]>;
export type HooksStatusParams = z.infer<AutomationParams["HooksStatusParams"]>;
