/**
 * Wire contract of the methods the Control UI needs beyond the core (its chat, sessions, logs,
 * devices, systems and automations pages): session subscriptions and descriptions, chat
 * startup, agents and identities, model auth status, and the answers for features this gateway
 * does not have (talk, tasks, questions, approvals, updates, nodes) in the original's shapes.
 *
 * Params are loose (the UI sends fields we do not read; the original accepts what it does not
 * use) and require what the original requires. Result schemas name the fields clients read.
 */
import { z } from "../zod.ts";
import { entry, type Entry } from "./contract-entry.ts";

const opt = z.optional;
const NonEmpty = z.string().check(z.minLength(1));
const NonNegInt = z.number().check(z.int(), z.nonnegative());
const PositiveInt = z.number().check(z.int(), z.minimum(1));
const Empty = z.looseObject({});

/** `sessions.list` params as the Control UI and the CLI send them (no upper bound on `limit`, as upstream). */
export const SessionsListParams = z.looseObject({
  limit: opt(PositiveInt),
  offset: opt(NonNegInt),
  agentId: opt(z.string()),
  spawnedBy: opt(z.string()),
  includeGlobal: opt(z.boolean()),
  includeUnknown: opt(z.boolean()),
  configuredAgentsOnly: opt(z.boolean()),
  includeDerivedTitles: opt(z.boolean()),
  includeLastMessage: opt(z.boolean()),
  ownerFirst: opt(z.boolean()),
  activeOnly: opt(z.boolean()),
  search: opt(z.string()),
});

const SessionRow = () =>
  z.object({
    key: z.string(),
    agentId: z.string(),
    kind: z.string(),
    updatedAt: z.nullable(z.number()),
    hasActiveRun: z.boolean(),
    activeRunIds: z.array(z.string()),
  });

const SessionDefaults = () => z.object({ modelProvider: z.nullable(z.string()), model: z.nullable(z.string()) });

const HistoryLike = () =>
  z.object({
    sessionKey: z.string(),
    messages: z.array(z.object({ role: z.string(), timestamp: z.number() })),
    pendingInputs: z.object({ items: z.array(z.unknown()), total: NonNegInt }),
    hasMore: z.boolean(),
    totalMessages: NonNegInt,
    defaults: SessionDefaults(),
    sessionInfo: SessionRow(),
  });

const ModelRow = () => z.object({ id: z.string(), name: z.string(), provider: z.string(), available: z.boolean() });

const Ok = () => z.object({ ok: z.literal(true) });

export const CONTRACT_UI = {
  "sessions.subscribe": entry(() => SessionsListParams, () => z.object({ subscribed: z.literal(true), list: opt(z.object({ sessions: z.array(SessionRow()) })) })),
  "sessions.messages.subscribe": entry(
    () => z.looseObject({ key: NonEmpty, agentId: opt(z.string()), includeApprovals: opt(z.boolean()) }),
    () => z.object({ subscribed: z.literal(true), key: z.string() }),
  ),
  "sessions.messages.unsubscribe": entry(() => z.looseObject({ key: NonEmpty, agentId: opt(z.string()) }), () => z.object({ subscribed: z.literal(false), key: z.string() })),
  "sessions.describe": entry(() => z.looseObject({ key: NonEmpty, agentId: opt(z.string()) }), () => z.object({ session: z.nullable(SessionRow()) })),
  "sessions.branches.list": entry(() => z.looseObject({ sessionKey: NonEmpty, agentId: opt(z.string()) }), () => z.object({ branches: z.array(z.unknown()) })),
  "sessions.companion.state": entry(() => z.looseObject({ sessionKey: NonEmpty, agentId: opt(z.string()) }), () => z.object({ exchanges: z.array(z.unknown()) })),
  "sessions.observer.visibility": entry(() => z.looseObject({ visible: z.boolean() }), Ok),
  "chat.startup": entry(
    () => z.looseObject({
      sessionKey: NonEmpty,
      agentId: opt(z.string()),
      limit: opt(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
      maxBytes: opt(z.number().check(z.int(), z.minimum(1024))),
      cursor: opt(z.string()),
    }),
    () => z.union([HistoryLike(), z.object({ kind: z.literal("reset") })]),
  ),
  "chat.metadata": entry(
    () => z.looseObject({ agentId: opt(z.string()), sessionKey: opt(z.string()) }),
    () => z.object({ models: z.array(ModelRow()), commands: z.array(z.unknown()) }),
  ),
  "agents.list": entry(
    () => Empty,
    () =>
      z.object({
        defaultId: z.string(),
        mainKey: z.string(),
        scope: z.string(),
        agents: z.array(z.object({ id: z.string(), kind: z.string() })),
      }),
  ),
  "agent.identity.get": entry(
    () => z.looseObject({ agentId: opt(z.string()), sessionKey: opt(z.string()) }),
    () => z.object({ agentId: z.string(), name: z.string(), nameSource: z.string(), avatar: z.string() }),
  ),
  "models.authStatus": entry(
    () => z.looseObject({ agentId: opt(z.string()) }),
    () =>
      z.object({
        ts: z.number(),
        providers: z.array(z.object({ provider: z.string(), displayName: z.string(), status: z.string() })),
        providerCapabilities: z.array(z.unknown()),
      }),
  ),
  "update.status": entry(() => Empty, () => z.object({ sentinel: z.null(), updateAvailable: z.null() })),
  "talk.catalog": entry(
    () => Empty,
    () =>
      z.object({
        speech: z.object({ providers: z.array(z.unknown()) }),
        transcription: z.object({ ready: z.boolean(), providers: z.array(z.unknown()) }),
        realtime: z.object({ ready: z.boolean(), providers: z.array(z.unknown()) }),
      }),
  ),
  "question.list": entry(() => Empty, () => z.object({ questions: z.array(z.unknown()) })),
  "exec.approval.list": entry(() => Empty, () => z.array(z.unknown())),
  "plugin.approval.list": entry(() => Empty, () => z.array(z.unknown())),
  "openclaw.approval.list": entry(() => Empty, () => z.array(z.unknown())),
  "progressCard.get": entry(() => z.looseObject({ sessionKey: opt(z.string()), agentId: opt(z.string()) }), () => z.object({ card: z.null() })),
  "tasks.list": entry(
    () => z.looseObject({ sessionKey: opt(z.string()), agentId: opt(z.string()), limit: opt(PositiveInt) }),
    () => z.object({ tasks: z.array(z.unknown()) }),
  ),
  "users.prefs.get": entry(() => z.looseObject({ keys: opt(z.array(z.string())) }), () => z.object({ status: z.string() })),
  "exec.approvals.get": entry(
    () => Empty,
    () =>
      z.object({
        path: z.string(),
        exists: z.boolean(),
        file: z.object({ version: z.number() }),
        hash: z.string(),
        resolvedDefaults: z.object({ security: z.string(), ask: z.string() }),
      }),
  ),
  "environments.list": entry(
    () => z.looseObject({ includeDesktopSetup: opt(z.boolean()) }),
    () => z.object({ environments: z.array(z.object({ id: z.string(), type: z.string(), status: z.string() })) }),
  ),
  "node.list": entry(() => Empty, () => z.object({ ts: z.number(), nodes: z.array(z.object({ nodeId: z.string(), connected: z.boolean() })) })),
  "system.info": entry(
    () => Empty,
    () =>
      z.object({
        hostname: z.string(),
        platform: z.string(),
        arch: z.string(),
        pid: z.number(),
        uptimeMs: z.number(),
        cpuCount: z.number(),
        memoryTotalBytes: z.number(),
        processMemory: z.object({ rssBytes: z.number() }),
      }),
  ),
} satisfies Record<string, Entry<z.ZodMiniType, z.ZodMiniType>>;
