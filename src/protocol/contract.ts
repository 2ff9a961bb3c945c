/**
 * The typed wire contract: one map from RPC method name to its params schema and its result
 * schema. The gateway's `defineMethod` takes a method's params schema and result type from here;
 * the CLI's client (`GatewayClient.call`) takes the result type from here, so both ends of the
 * wire read the same definition.
 *
 * Params schemas are what the gateway validates (objects are loose: clients send fields we do
 * not read, and the original accepts them). Result schemas describe what the gateway answers and
 * what the CLI reads: the fields named are required and typed, others may be present (zod's
 * `object` strips them when parsing, and the inferred type has no index signature). Both are
 * built on first use only (results by `result()`, params when `params` is first read), so a CLI
 * command does not pay for schemas it never checks and an idle gateway holds none for the
 * methods nobody called; the contract test parses every real result against them.
 *
 * A new method family adds an entry here (or spreads its own map into CONTRACT).
 */
import { z } from "../zod.ts";
import { entry, type Entry } from "./contract-entry.ts";
import { DEVICE_CONTRACT } from "./contract-devices.ts";
import { CONTRACT_UI, SessionsListParams } from "./contract-ui.ts";
import { CHANNELS_CONTRACT } from "./contract-channels.ts";
import { AUTOMATION_CONTRACT } from "./contract-automation.ts";

const opt = z.optional;
const NonEmpty = z.string().check(z.minLength(1));
const NonNegInt = z.number().check(z.int(), z.nonnegative());
const Issue = z.object({ path: z.string(), message: z.string() });

// --- results ----------------------------------------------------------------------------------

const SessionsSummary = () =>
  z.object({
    path: z.string(),
    count: NonNegInt,
    recent: z.array(z.object({ key: z.string(), updatedAt: z.nullable(z.number()), age: z.nullable(z.number()) })),
  });

const HealthResult = () =>
  z.object({
    ok: z.boolean(),
    ts: z.number(),
    durationMs: z.number(),
    plugins: z.object({ loaded: z.array(z.string()), errors: z.array(z.string()), unavailable: z.array(z.string()) }),
    configReload: z.object({ hotReloadStatus: z.string() }),
    channels: z.record(z.string(), z.unknown()),
    channelOrder: z.array(z.string()),
    channelLabels: z.record(z.string(), z.string()),
    heartbeatSeconds: z.number(),
    modelRuntime: opt(z.object({ degraded: z.boolean(), pendingAgents: z.array(z.string()) })),
    defaultAgentId: z.string(),
    agents: z.array(
      z.object({
        agentId: z.string(),
        name: opt(z.string()),
        isDefault: z.boolean(),
        heartbeat: z.object({
          enabled: z.boolean(),
          every: z.string(),
          everyMs: z.nullable(z.number()),
          prompt: z.string(),
          target: z.string(),
          ackMaxChars: z.number(),
        }),
        sessions: SessionsSummary(),
      }),
    ),
    sessions: SessionsSummary(),
  });

const PresenceEntry = () =>
  z.object({
    host: opt(z.string()),
    clientId: opt(z.string()),
    ip: opt(z.string()),
    version: opt(z.string()),
    platform: opt(z.string()),
    deviceFamily: opt(z.string()),
    modelIdentifier: opt(z.string()),
    timeZone: opt(z.string()),
    mode: opt(z.string()),
    reason: opt(z.string()),
    text: opt(z.string()),
    ts: z.number(),
    deviceId: opt(z.string()),
    roles: opt(z.array(z.string())),
    scopes: opt(z.array(z.string())),
    instanceId: opt(z.string()),
  });

const StatusResult = () =>
  z.object({
    runtimeVersion: z.string(),
    heartbeat: z.object({
      defaultAgentId: z.string(),
      agents: z.array(z.object({ agentId: z.string(), enabled: z.boolean(), every: z.string() })),
    }),
    channelSummary: z.array(z.unknown()),
    queuedSystemEvents: z.array(z.string()),
    sessions: z.object({
      count: NonNegInt,
      byAgent: z.array(z.object({ agentId: z.string(), count: NonNegInt })),
    }),
    cliProjection: opt(z.unknown()),
    pid: z.number(),
    uptimeMs: z.number(),
  });

const ConfigGetResult = () =>
  z.object({
    path: z.string(),
    exists: z.boolean(),
    valid: z.boolean(),
    raw: z.nullable(z.string()),
    parsed: z.unknown(),
    config: z.record(z.string(), z.unknown()),
    issues: z.array(Issue),
    warnings: z.array(z.string()),
    hash: z.nullable(z.string()),
    appliedConfigHash: z.nullable(z.string()),
  });

const ConfigWriteResult = () =>
  z.object({
    ok: z.literal(true),
    noop: opt(z.boolean()),
    path: z.string(),
    hash: z.nullable(z.string()),
    changed: z.array(z.string()),
    config: z.record(z.string(), z.unknown()),
    reload: opt(z.object({ status: z.string() })),
  });

const SecretsReloadResult = () =>
  z.object({
    ok: z.boolean(),
    status: z.string(),
    changed: z.array(z.string()),
    hot: z.array(z.string()),
    restart: z.array(z.string()),
    issues: z.array(Issue),
    warningCount: z.number(),
  });

const ModelsListResult = () =>
  z.object({
    models: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        provider: z.string(),
        contextWindow: opt(z.number()),
        contextTokens: opt(z.number()),
        input: opt(z.array(z.string())),
        local: opt(z.boolean()),
      }),
    ),
  });

const LogsTailResult = () =>
  z.object({
    file: z.string(),
    cursor: NonNegInt,
    size: NonNegInt,
    lines: z.array(z.string()),
    truncated: z.boolean(),
    reset: z.boolean(),
  });

const AgentResult = () =>
  z.object({
    runId: z.string(),
    status: z.string(),
    summary: opt(z.string()),
    stopReason: opt(z.string()),
    result: opt(z.object({ payloads: z.array(z.object({ text: z.string() })), meta: z.unknown() })),
    error: opt(z.object({ message: z.string(), kind: z.string() })),
  });

const AgentWaitResult = () =>
  z.object({
    runId: z.string(),
    status: z.string(),
    startedAt: z.number(),
    endedAt: opt(z.number()),
    error: opt(z.string()),
  });

const ChatHistoryResult = () =>
  z.union([
    z.object({
      sessionKey: z.string(),
      sessionId: z.nullable(z.string()),
      messages: z.array(z.object({ role: z.string(), content: z.array(z.unknown()), timestamp: z.number() })),
    }),
    // A `cursor` this gateway cannot continue from (it issues none).
    z.object({ kind: z.literal("reset") }),
  ]);

const SessionsListResult = () =>
  z.object({
    ts: z.number(),
    path: z.string(),
    count: NonNegInt,
    totalCount: NonNegInt,
    hasMore: z.boolean(),
    nextOffset: z.nullable(NonNegInt),
    sessions: z.array(z.object({ key: z.string(), agentId: z.string(), updatedAt: z.number(), messageCount: NonNegInt })),
  });

// --- params -----------------------------------------------------------------------------------

const WriteParams = z.looseObject({
  raw: z.string(),
  baseHash: opt(z.string()),
  note: opt(z.string()),
  restartDelayMs: opt(z.number().check(z.int(), z.nonnegative(), z.maximum(300_000))),
  replacePaths: opt(z.array(z.string())),
});

const Empty = z.looseObject({});

export const CONTRACT = {
  // The original takes any `probe` value; only `true` asks for a fresh snapshot.
  health: entry(() => z.looseObject({ probe: opt(z.unknown()) }), HealthResult),
  status: entry(() => z.looseObject({ includeChannelSummary: opt(z.boolean()), includeCliProjection: opt(z.boolean()) }), StatusResult),
  "system-presence": entry(() => Empty, () => z.array(PresenceEntry())),
  "config.get": entry(() => Empty, ConfigGetResult),
  "config.set": entry(() => WriteParams, ConfigWriteResult),
  "config.patch": entry(() => WriteParams, ConfigWriteResult),
  "config.apply": entry(() => WriteParams, ConfigWriteResult),
  "secrets.reload": entry(() => Empty, SecretsReloadResult),
  "models.list": entry(
    () =>
      z
        .looseObject({
          view: opt(z.enum(["default", "configured", "provider-config", "all"])),
          agentId: opt(z.string()),
          sessionKey: opt(z.string()),
          provider: opt(NonEmpty),
          includeDetails: opt(z.boolean()),
          preparedOnly: opt(z.boolean()),
          refresh: opt(z.boolean()),
        })
        .check(
          z.refine((p) => !(p.preparedOnly === true && p.refresh === true), "preparedOnly and refresh are mutually exclusive"),
        ),
    ModelsListResult,
  ),
  "logs.tail": entry(
    () => z.looseObject({
      cursor: opt(NonNegInt),
      limit: opt(z.number().check(z.int(), z.minimum(1), z.maximum(5000))),
      maxBytes: opt(z.number().check(z.int(), z.minimum(1), z.maximum(1_000_000))),
    }),
    LogsTailResult,
  ),
  agent: entry(
    () => z.looseObject({
      message: NonEmpty,
      idempotencyKey: NonEmpty,
      agentId: opt(z.string()),
      sessionKey: opt(z.string()),
      timeout: opt(z.number().check(z.nonnegative())),
      channel: opt(z.string()),
      provider: opt(z.string()),
      model: opt(z.string()),
      modelRun: opt(z.boolean()),
      promptMode: opt(z.enum(["full", "minimal", "none"])),
    }),
    AgentResult,
  ),
  "agent.wait": entry(() => z.looseObject({ runId: NonEmpty, timeoutMs: opt(z.number().check(z.nonnegative())) }), AgentWaitResult),
  "chat.send": entry(
    () => z.looseObject({
      sessionKey: NonEmpty,
      // Blank text is refused by the handler with the original's message.
      message: z.string(),
      idempotencyKey: NonEmpty,
      agentId: opt(z.string()),
      timeoutMs: opt(z.number().check(z.nonnegative())),
      attachments: opt(z.array(z.unknown())),
    }),
    () => z.object({ runId: z.string(), status: z.string() }),
  ),
  "chat.abort": entry(
    () => z.looseObject({ sessionKey: NonEmpty, runId: opt(NonEmpty), agentId: opt(NonEmpty), preserveSideRuns: opt(z.boolean()) }),
    () => z.object({ ok: z.boolean(), aborted: z.boolean(), runIds: z.array(z.string()) }),
  ),
  "sessions.abort": entry(
    () => z.looseObject({ key: opt(NonEmpty), runId: opt(NonEmpty), agentId: opt(NonEmpty), clearQueued: opt(z.boolean()) }),
    () => z.object({ ok: z.boolean(), abortedRunId: z.nullable(z.string()), status: z.string() }),
  ),
  "chat.history": entry(
    () => z.looseObject({
      sessionKey: NonEmpty,
      limit: opt(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
      maxBytes: opt(z.number().check(z.int(), z.minimum(1024))),
      inputRunIds: opt(z.array(z.string())),
      cursor: opt(z.string()),
    }),
    ChatHistoryResult,
  ),
  "sessions.list": entry(() => SessionsListParams, SessionsListResult),
  ...DEVICE_CONTRACT,
  ...CONTRACT_UI,
  ...CHANNELS_CONTRACT,
  ...AUTOMATION_CONTRACT,
} satisfies Record<string, Entry<z.ZodMiniType, z.ZodMiniType>>;

export type Contract = typeof CONTRACT;
export type MethodName = keyof Contract;
export type ParamsOf<M extends MethodName> = z.infer<Contract[M]["params"]>;
/** What a caller may send: the params schema's input (optional fields may be left out). */
export type ParamsIn<M extends MethodName> = z.input<Contract[M]["params"]>;
export type ResultOf<M extends MethodName> = z.infer<ReturnType<Contract[M]["result"]>>;

export function isContractMethod(name: string): name is MethodName {
  return Object.hasOwn(CONTRACT, name);
}
