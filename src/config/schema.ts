/**
 * The config schema: the single source of config types.
 *
 * Objects the gateway owns (`gateway.*`, `meta`, `logging`, `discovery`) are closed: an unknown
 * or misspelt key is an error with its path. Trees owned by agents, providers, channels and
 * plugins accept keys we do not interpret yet, so a real OpenClaw config loads unchanged.
 *
 * Written with zod/mini (functional checks): it builds and parses with a fraction of the
 * classic API's startup work and memory.
 */
import { buildSchema, z, type ZodError } from "../zod.ts";
import { LOG_LEVELS } from "./levels.ts";

const opt = z.optional;

/**
 * Defaults the schema owns: what an unset key means. The config snapshot (snapshot.ts) and the
 * gateway read them from here; nothing else hard-codes them.
 */
export const CONFIG_DEFAULTS = {
  gateway: {
    bind: "loopback",
    reload: { mode: "hybrid", debounceMs: 300 },
    auth: { rateLimit: { maxAttempts: 10, windowMs: 60_000, lockoutMs: 300_000, exemptLoopback: true } },
  },
  logging: { level: "info", maxFileBytes: 10 * 1024 * 1024 },
} as const;
const str = () => z.optional(z.string());
const bool = () => z.optional(z.boolean());
const strList = () => z.optional(z.array(z.string()));

/** A secret given literally (`"abc"`, `"${ENV_VAR}"`) or as a SecretRef. */
export const SecretInput = z.union(
  [
    z.string(),
    z.strictObject({
      source: z.enum(["env", "file", "exec", "store"]),
      provider: str(),
      id: z.string(),
    }),
  ],
  { error: "Invalid value: expected a string or a SecretRef object" },
);
export type SecretInput = z.infer<typeof SecretInput>;

export const BindMode = z.enum(["loopback", "lan", "tailnet", "auto", "custom"]);
export type BindMode = z.infer<typeof BindMode>;
export const AuthMode = z.enum(["none", "token", "password", "trusted-proxy"]);
export type AuthMode = z.infer<typeof AuthMode>;
export const LogLevel = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof LogLevel>;

/**
 * Build the schema. Everything the config schema is made of is built here, not at import: it is
 * about a thousand zod schemas (more than 1 MB of JavaScript heap), needed only while a config is
 * validated (at startup, on a reload, by config writes and `doctor`). validateConfig keeps it
 * through a WeakRef, so an idle gateway's startup collection gives that memory back and the next
 * validation builds it again (a few milliseconds).
 */
function buildConfigSchema() {
  const Port = z.number().check(z.int(), z.minimum(1), z.maximum(65535));
  const PositiveInt = z.number().check(z.int(), z.positive());
  const NonNegativeInt = z.number().check(z.int(), z.nonnegative());
  const Endpoint = z.looseObject({ enabled: bool() });
  const Opaque = () => z.optional(z.unknown());

  const GatewayAuth = z.strictObject({
    mode: opt(AuthMode),
    token: opt(SecretInput),
    password: opt(SecretInput),
    allowTailscale: bool(),
    identityScopes: strList(),
    rateLimit: opt(
      z.strictObject({
        maxAttempts: opt(PositiveInt),
        windowMs: opt(PositiveInt),
        lockoutMs: opt(PositiveInt),
        exemptLoopback: bool(),
      }),
    ),
    trustedProxy: opt(
      z.looseObject({
        userHeader: z.string().check(z.minLength(1)),
        requiredHeaders: strList(),
        allowUsers: strList(),
        allowLoopback: bool(),
      }),
    ),
  });

  const Gateway = z.strictObject({
    mode: opt(z.enum(["local", "remote"])),
    port: opt(Port),
    bind: opt(BindMode),
    customBindHost: opt(z.ipv4()),
    publicOrigin: str(),
    auth: opt(GatewayAuth),
    tailscale: opt(z.looseObject({ mode: opt(z.enum(["off", "serve", "funnel"])) })),
    controlUi: opt(
      z.looseObject({
        enabled: bool(),
        basePath: str(),
        root: str(),
        allowedOrigins: strList(),
        dangerouslyAllowHostHeaderOriginFallback: bool(),
      }),
    ),
    http: opt(
      z.strictObject({
        endpoints: opt(
          z.strictObject({
            models: opt(Endpoint),
            chatCompletions: opt(Endpoint),
            responses: opt(Endpoint),
            embeddings: opt(Endpoint),
            toolsInvoke: opt(Endpoint),
          }),
        ),
        cors: opt(z.strictObject({ allowedOrigins: strList() })),
        securityHeaders: opt(z.strictObject({ strictTransportSecurity: opt(z.union([z.string(), z.literal(false)])) })),
      }),
    ),
    reload: opt(
      z.strictObject({
        // hot/restart are accepted and mean what docs/configuration.md says (the original knows off|hybrid).
        mode: opt(z.enum(["off", "hybrid", "hot", "restart"])),
        debounceMs: opt(NonNegativeInt),
        deferralTimeoutMs: opt(NonNegativeInt),
      }),
    ),
    remote: opt(
      z.strictObject({
        url: str(),
        transport: opt(z.enum(["ssh", "direct"])),
        remotePort: opt(Port),
        token: opt(SecretInput),
        password: opt(SecretInput),
        tlsFingerprint: str(),
        sshTarget: str(),
        sshIdentity: str(),
        sshHostKeyPolicy: opt(z.enum(["strict", "openssh"])),
        edgeAuth: Opaque(),
      }),
    ),
    tls: opt(
      z.strictObject({
        enabled: bool(),
        autoGenerate: bool(),
        certPath: str(),
        keyPath: str(),
        caPath: str(),
      }),
    ),
    trustedProxies: strList(),
    allowRealIpFallback: bool(),
    tools: opt(z.looseObject({})),
    nodes: opt(
      z.looseObject({
        // Device pairing policy (src/auth/device-auth.ts); the other node keys are kept, not acted on.
        pairing: opt(
          z.strictObject({
            autoApproveLocal: bool(),
            autoApproveCidrs: strList(),
            sshVerify: Opaque(),
          }),
        ),
      }),
    ),
    push: opt(z.looseObject({})),
    terminal: Opaque(),
    cliAgents: Opaque(),
    roles: Opaque(),
    portals: Opaque(),
  });

  const ModelRef = z.union([z.string(), z.looseObject({ primary: str(), fallbacks: strList() })]);

  // --- automation: agents.*.heartbeat, cron, hooks (strict, as the original's schema) ---------

  /** `10m`, `1h30m`, `1.5h`, or a bare number in the field's default unit. */
  const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/i;
  const Duration = (message: string) => z.string().check(z.refine((v) => DURATION.test(v.trim()), message));
  const HHMM = /^([01]\d|2[0-3]|24):([0-5]\d)$/;

  const ActiveHours = z
    .strictObject({ start: str(), end: str(), timezone: str() })
    .check(
      z.superRefine((v, ctx) => {
        for (const key of ["start", "end"] as const) {
          const raw = v[key];
          if (raw === undefined) continue;
          if (!HHMM.test(raw)) ctx.addIssue({ code: "custom", path: [key], message: 'invalid time (use "HH:MM" 24h format)' });
          else if (raw.startsWith("24:") && raw !== "24:00") ctx.addIssue({ code: "custom", path: [key], message: "invalid time (24:00 is the only allowed 24:xx value)" });
          else if (raw === "24:00" && key === "start") ctx.addIssue({ code: "custom", path: [key], message: "invalid time (start cannot be 24:00)" });
        }
      }),
    );

  const HeartbeatFields = {
    every: opt(Duration("invalid duration (use ms, s, m, h)")),
    activeHours: opt(ActiveHours),
    model: str(),
    session: str(),
    /** owner (default) | last | none | a channel id. */
    target: str(),
    directPolicy: opt(z.enum(["allow", "block"])),
    to: str(),
    accountId: str(),
    prompt: str(),
    timeoutSeconds: opt(z.number().check(z.int(), z.positive())),
    lightContext: bool(),
    isolatedSession: bool(),
  };
  const Heartbeat = z.strictObject(HeartbeatFields);
  /** Defaults also name the ambient heartbeat owner. */
  const DefaultsHeartbeat = z.strictObject({ ...HeartbeatFields, agentId: opt(z.string().check(z.minLength(1))) });

  const Cron = z.strictObject({
    enabled: bool(),
    skipMissedJobs: bool(),
    triggers: opt(z.strictObject({ enabled: bool() })),
    webhookToken: opt(SecretInput),
    webhookSsrfPolicy: opt(z.looseObject({})),
    /** Duration (default unit h) or false; "0h" also disables pruning. */
    sessionRetention: opt(z.union([Duration("invalid duration (use ms, s, m, h, d)"), z.literal(false)])),
    failureAlert: opt(
      z.strictObject({
        enabled: bool(),
        after: opt(z.number().check(z.int(), z.minimum(1))),
        cooldownMs: opt(z.number().check(z.int(), z.minimum(0))),
        includeSkipped: bool(),
        mode: opt(z.enum(["announce", "webhook"])),
        accountId: str(),
        channel: str(),
        to: str(),
      }),
    ),
  });

  const HookMapping = z.strictObject({
    id: str(),
    match: opt(z.looseObject({ path: str(), source: str() })),
    action: opt(z.enum(["wake", "agent"])),
    wakeMode: opt(z.enum(["now", "next-heartbeat"])),
    name: str(),
    agentId: str(),
    sessionKey: str(),
    sessionMode: opt(z.enum(["isolated", "persistent"])),
    messageTemplate: str(),
    textTemplate: str(),
    forEach: opt(z.string().check(z.regex(/^[^.[\]]+$/, "forEach must be a top-level payload key"))),
    deliver: bool(),
    allowUnsafeExternalContent: bool(),
    channel: opt(z.string().check(z.minLength(1))),
    to: str(),
    model: str(),
    thinking: str(),
    timeoutSeconds: opt(z.number().check(z.int(), z.positive())),
    transform: opt(z.strictObject({ module: z.string(), export: str() })),
  });

  const Hooks = z
    .strictObject({
      enabled: bool(),
      path: str(),
      /** A plain string: SecretRefs are not supported here (as the original). */
      token: str(),
      defaultSessionKey: str(),
      allowRequestSessionKey: bool(),
      allowedSessionKeyPrefixes: strList(),
      allowedAgentIds: strList(),
      presets: strList(),
      transformsDir: str(),
      mappings: opt(z.array(HookMapping)),
      gmail: Opaque(),
      internal: Opaque(),
    })
    .check(
      z.superRefine((hooks, ctx) => {
        const hasDefault = Boolean(hooks.defaultSessionKey?.trim());
        (hooks.mappings ?? []).forEach((m, index) => {
          if ((m.action ?? "agent") === "agent" && m.sessionMode === "persistent" && !m.sessionKey?.trim() && !hasDefault && !m.transform) {
            ctx.addIssue({
              code: "custom",
              path: ["mappings", index, "sessionKey"],
              message: "persistent hook mappings require sessionKey, hooks.defaultSessionKey, or a transform",
            });
          }
        });
      }),
    );

  // --- memory search, model policy, run queue: the original's shapes ----------------------------

  /**
   * `memory.search` and `agents.entries.<id>.memory.search` (the original's MemorySearchSchema).
   * `/v1/embeddings` reads `provider`, `model` and `outputDimensionality`; the rest is validated
   * and kept (support.ts lists what this gateway does not act on).
   */
  const MemorySearch = z.strictObject({
    enabled: bool(),
    rememberAcrossConversations: bool(),
    sources: opt(z.array(z.enum(["memory", "sessions"]))),
    extraPaths: opt(z.array(z.union([z.string(), z.strictObject({ path: z.string(), pattern: str() })]))),
    multimodal: opt(z.strictObject({ enabled: bool(), modalities: opt(z.array(z.enum(["image", "audio", "all"]))), maxFileBytes: opt(PositiveInt) })),
    experimental: opt(z.strictObject({ sessionMemory: bool() })),
    provider: str(),
    remote: opt(
      z.strictObject({
        baseUrl: str(),
        apiKey: opt(SecretInput),
        headers: opt(z.record(z.string(), z.string())),
        batch: opt(z.strictObject({ enabled: bool() })),
      }),
    ),
    fallback: str(),
    model: str(),
    inputType: opt(z.string().check(z.minLength(1))),
    queryInputType: opt(z.string().check(z.minLength(1))),
    documentInputType: opt(z.string().check(z.minLength(1))),
    outputDimensionality: opt(PositiveInt),
    local: opt(z.strictObject({ modelPath: str() })),
    store: opt(
      z.strictObject({
        fts: opt(z.strictObject({ tokenizer: opt(z.enum(["unicode61", "trigram"])) })),
        vector: opt(z.strictObject({ enabled: bool(), extensionPath: str() })),
      }),
    ),
    query: opt(z.strictObject({ maxResults: opt(PositiveInt), minScore: opt(z.number().check(z.minimum(0), z.maximum(1))) })),
    cache: opt(z.strictObject({ enabled: bool() })),
  });

  /** Top-level `memory` (strict, as the original). */
  const Memory = z.strictObject({ citations: opt(z.enum(["auto", "on", "off"])), search: opt(MemorySearch) });

  /** Model overrides an agent accepts (`modelPolicy.allow`; empty or absent allows any model). */
  const ModelPolicy = z.strictObject({ allow: strList() });

  const QueueMode = z.enum(["steer", "followup", "collect", "interrupt"]);

  /**
   * `messages`: the run queue (`messages.queue`, strict as the original; the lanes read `cap`, the
   * most runs that may wait per session). The rest of the tree is kept as it is.
   */
  const Messages = z.looseObject({
    queue: opt(
      z.strictObject({
        mode: opt(QueueMode),
        byChannel: opt(
          z.strictObject({
            whatsapp: opt(QueueMode),
            telegram: opt(QueueMode),
            discord: opt(QueueMode),
            irc: opt(QueueMode),
            googlechat: opt(QueueMode),
            slack: opt(QueueMode),
            mattermost: opt(QueueMode),
            signal: opt(QueueMode),
            imessage: opt(QueueMode),
            msteams: opt(QueueMode),
            webchat: opt(QueueMode),
            matrix: opt(QueueMode),
          }),
        ),
        debounceMsByChannel: opt(z.record(z.string(), NonNegativeInt)),
        cap: opt(PositiveInt),
        drop: opt(z.enum(["old", "new", "summarize"])),
      }),
    ),
  });

  const AgentFields = {
    default: bool(),
    name: str(),
    workspace: str(),
    model: opt(ModelRef),
    systemPrompt: str(),
    modelPolicy: opt(ModelPolicy),
  };
  /** Per-agent only (the original's agent entries; defaults have no `memory`). */
  const AgentEntryFields = {
    ...AgentFields,
    memory: opt(z.strictObject({ search: opt(MemorySearch) })),
  };
  const AgentId = z.string().check(z.regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/i, "invalid agent id"));

  const Agents = z.looseObject({
    defaults: opt(
      z.looseObject({
        ...AgentFields,
        /** Runs across sessions at once (the lanes; default max(8, CPUs × 4)). */
        maxConcurrent: opt(PositiveInt),
        heartbeat: opt(DefaultsHeartbeat),
      }),
    ),
    entries: opt(z.record(AgentId, z.looseObject({ ...AgentEntryFields, heartbeat: opt(Heartbeat) }))),
    /** The array form, accepted as entries. */
    list: opt(z.array(z.looseObject({ id: AgentId, ...AgentEntryFields, heartbeat: opt(Heartbeat) }))),
    ownership: Opaque(),
  });

  const PositiveNumber = z.number().check(z.positive());

  const Models = z.looseObject({
    mode: opt(z.enum(["merge", "replace"])),
    providers: opt(
      z.record(
        z.string(),
        z.looseObject({
          baseUrl: str(),
          apiKey: opt(SecretInput),
          /** openai-completions (default) | openai-responses | anthropic-messages | ollama; others load but answer 503. */
          api: str(),
          headers: opt(z.record(z.string(), z.string())),
          /** Upstream idle timeout: headers and every gap in the body (default 120). */
          timeoutSeconds: opt(PositiveNumber),
          maxTokens: opt(PositiveInt),
          /** Same-model retries on 429/5xx/unreachable (defaults 3 attempts, 500 ms doubling to 8 s, 30 s budget). */
          retry: opt(
            z.strictObject({
              maxAttempts: opt(PositiveInt),
              baseDelayMs: opt(PositiveInt),
              maxDelayMs: opt(PositiveInt),
              budgetMs: opt(PositiveInt),
            }),
          ),
          models: opt(z.array(z.looseObject({ id: z.string(), name: str() }))),
        }),
      ),
    ),
    catalogRefresh: opt(z.looseObject({ enabled: bool(), url: str() })),
  });

  /*
   * Chat channels (`channels.*`), DM routing (`session.*`) and command owners (`commands.*`): the
   * keys the channel host reads are typed; everything else in these trees stays accepted as-is
   * (other channel plugins, features we do not implement yet).
   */
  const DmPolicy = z.enum(["pairing", "allowlist", "open", "disabled"]);
  const GroupPolicy = z.enum(["open", "allowlist", "disabled"]);
  const IdList = () => z.optional(z.array(z.union([z.string(), z.number()])));
  const GroupTopic = z.looseObject({
    requireMention: bool(),
    groupPolicy: opt(GroupPolicy),
    enabled: bool(),
    allowFrom: IdList(),
    systemPrompt: str(),
    agentId: str(),
  });
  const TelegramGroup = z.looseObject({
    requireMention: bool(),
    groupPolicy: opt(GroupPolicy),
    enabled: bool(),
    allowFrom: IdList(),
    systemPrompt: str(),
    topics: opt(z.record(z.string(), opt(GroupTopic))),
  });
  /** Keys every channel account shares (policy, history, delivery). */
  const ChannelAccountFields = {
    name: str(),
    enabled: bool(),
    dmPolicy: opt(DmPolicy),
    allowFrom: IdList(),
    groupPolicy: opt(GroupPolicy),
    groupAllowFrom: IdList(),
    mentionPatterns: opt(z.union([z.array(z.string()), z.looseObject({})])),
    historyLimit: opt(NonNegativeInt),
    textChunkLimit: opt(PositiveInt),
    ackReaction: str(),
    errorPolicy: opt(z.enum(["always", "once", "silent"])),
  };
  const TelegramAccount = z.looseObject({
    ...ChannelAccountFields,
    botToken: opt(SecretInput),
    tokenFile: str(),
    apiRoot: opt(z.url()),
    groups: opt(z.record(z.string(), opt(TelegramGroup))),
    customCommands: opt(z.array(z.looseObject({ command: z.string(), description: z.string() }))),
    webhookUrl: str(),
    webhookSecret: opt(SecretInput),
    webhookPath: str(),
    webhookHost: str(),
    webhookPort: opt(NonNegativeInt),
  });
  const DiscordChannelEntry = z.looseObject({
    enabled: bool(),
    requireMention: bool(),
    users: IdList(),
    roles: IdList(),
    systemPrompt: str(),
  });
  const DiscordGuild = z.looseObject({
    slug: str(),
    requireMention: bool(),
    users: IdList(),
    roles: IdList(),
    channels: opt(z.record(z.string(), opt(DiscordChannelEntry))),
  });
  const DiscordAccount = z.looseObject({
    ...ChannelAccountFields,
    token: opt(SecretInput),
    applicationId: opt(z.union([z.string(), z.number()])),
    allowBots: opt(z.union([z.boolean(), z.literal("mentions")])),
    guilds: opt(z.record(z.string(), opt(DiscordGuild))),
    dm: opt(z.looseObject({ enabled: bool(), policy: opt(DmPolicy), allowFrom: IdList(), groupEnabled: bool(), groupChannels: IdList() })),
    maxLinesPerMessage: opt(PositiveInt),
    suppressEmbeds: bool(),
    intents: opt(z.union([NonNegativeInt, z.looseObject({})])),
  });

  type DmCheck = { dmPolicy?: string; allowFrom?: Array<string | number>; accounts?: Record<string, DmCheck | undefined> };
  const DM_PREFIX: Record<string, RegExp> = { telegram: /^(telegram|tg):/i, discord: /^(discord|user):/i };

  /** `dmPolicy` allowlist needs a sender, `open` needs "*" (the original's messages, paths and inheritance). */
  function dmPolicyChecks(channel: string) {
    const strip = (v: string | number) => String(v).trim().replace(DM_PREFIX[channel] ?? /^$/, "");
    const check = (root: DmCheck, accountId: string | undefined, ctx: { issues: unknown[] }) => {
      const account = accountId === undefined ? root : root.accounts?.[accountId];
      if (!account) return;
      const policy = account.dmPolicy ?? root.dmPolicy;
      const allow = (account.allowFrom ?? root.allowFrom ?? []).map(strip).filter(Boolean);
      const owner = accountId === undefined ? `channels.${channel}` : `channels.${channel}.accounts.*`;
      const inherited = accountId === undefined ? "" : ` (or channels.${channel}.allowFrom)`;
      let requirement: string | undefined;
      if (policy === "allowlist" && allow.length === 0) requirement = "contain at least one sender ID";
      if (policy === "open" && !allow.includes("*")) requirement = 'include "*"';
      if (!requirement) return;
      ctx.issues.push({
        code: "custom",
        input: account.allowFrom,
        path: accountId === undefined ? ["allowFrom"] : ["accounts", accountId, "allowFrom"],
        message: `${owner}.dmPolicy="${policy}" requires ${owner}.allowFrom${inherited} to ${requirement}`,
      });
    };
    return z.superRefine((value: DmCheck, ctx) => {
      check(value, undefined, ctx);
      for (const id of Object.keys(value.accounts ?? {})) check(value, id, ctx);
    });
  }

  type WebhookCheck = { webhookUrl?: string; webhookSecret?: unknown; enabled?: boolean; accounts?: Record<string, WebhookCheck | undefined> };
  /** A webhook URL needs a secret (at the root, or on the account). */
  const webhookSecretCheck = z.superRefine((value: WebhookCheck, ctx) => {
    const hasSecret = (v: unknown) => (typeof v === "string" ? v.trim() !== "" : v !== undefined && v !== null);
    const rootSecret = hasSecret(value.webhookSecret);
    if (value.webhookUrl?.trim() && !rootSecret) {
      ctx.issues.push({ code: "custom", input: value.webhookSecret, path: ["webhookSecret"], message: "channels.telegram.webhookUrl requires channels.telegram.webhookSecret" });
    }
    for (const [id, account] of Object.entries(value.accounts ?? {})) {
      if (!account || account.enabled === false || !account.webhookUrl?.trim()) continue;
      if (hasSecret(account.webhookSecret) || rootSecret) continue;
      ctx.issues.push({
        code: "custom",
        input: account.webhookSecret,
        path: ["accounts", id, "webhookSecret"],
        message: "channels.telegram.accounts.*.webhookUrl requires channels.telegram.webhookSecret or channels.telegram.accounts.*.webhookSecret",
      });
    }
  });

  const Telegram = z
    .looseObject({ ...TelegramAccount.shape, accounts: opt(z.record(z.string(), opt(TelegramAccount))), defaultAccount: str() })
    .check(dmPolicyChecks("telegram"), webhookSecretCheck);
  const Discord = z
    .looseObject({ ...DiscordAccount.shape, accounts: opt(z.record(z.string(), opt(DiscordAccount))), defaultAccount: str() })
    .check(dmPolicyChecks("discord"));

  const Channels = z.looseObject({
    defaults: opt(z.looseObject({ groupPolicy: opt(GroupPolicy) })),
    telegram: opt(Telegram),
    discord: opt(Discord),
  });

  const Session = z.looseObject({
    mainKey: str(),
    dmScope: opt(z.enum(["main", "per-peer", "per-channel-peer", "per-account-channel-peer"])),
    groupScope: opt(z.enum(["per-group", "main"])),
  });

  const Commands = z.looseObject({
    ownerAllowFrom: IdList(),
  });

  /** Top-level trees owned by plugins and features we accept but do not interpret. */
  const OPAQUE_TOP_LEVEL = [
    "plugins", "skills", "tools", "browser", "talk",
    "diagnostics", "update", "wizard", "secrets", "auth", "bindings", "mcp", "telemetry",
    "identity", "ui", "tui", "audio", "agent", "routing", "approvals", "sandbox", "nodeHost",
    "canvasHost", "web", "media", "broadcast", "workspace", "users", "themes", "logs", "accessGroups", "acp",
    "worktreeRoot", "worktreeAcceleration", "security", "attachments", "tts", "transcripts", "cloudWorkers",
    "desktop", "surfaces", "proxy",
  ] as const;

  const opaque = Object.fromEntries(OPAQUE_TOP_LEVEL.map((k) => [k, Opaque()])) as Record<
    (typeof OPAQUE_TOP_LEVEL)[number],
    ReturnType<typeof Opaque>
  >;

  return z.strictObject({
    $schema: str(),
    meta: opt(
      z.strictObject({
        lastTouchedVersion: str(),
        migrations: opt(
          z.strictObject({
            modelPolicyAllowlist: opt(z.literal(true)),
            utilityModelSeparation: opt(z.literal(true)),
          }),
        ),
        // The original refuses this key: it is read (so such files load) but never written (the
        // writer drops it; doctor offers to remove it).
        lastTouchedAt: str(),
      }),
    ),
    env: opt(z.looseObject({})),
    gateway: opt(Gateway),
    logging: opt(
      z.strictObject({
        level: opt(LogLevel),
        file: str(),
        maxFileBytes: opt(PositiveInt),
        consoleLevel: opt(LogLevel),
        consoleStyle: opt(z.enum(["pretty", "json", "compact"])),
        redactPatterns: strList(),
        redactSensitive: Opaque(),
        audit: Opaque(),
      }),
    ),
    discovery: opt(
      z.strictObject({
        wideArea: opt(z.looseObject({ domain: str(), enabled: bool() })),
        mdns: opt(z.looseObject({ mode: opt(z.enum(["off", "minimal", "full"])) })),
      }),
    ),
    agents: opt(Agents),
    models: opt(Models),
    channels: opt(Channels),
    session: opt(Session),
    commands: opt(Commands),
    cron: opt(Cron),
    hooks: opt(Hooks),
    messages: opt(Messages),
    memory: opt(Memory),
    ...opaque,
  });
}

let built: WeakRef<ReturnType<typeof buildConfigSchema>> | undefined;

/** The config schema: the one built last while anything still holds it, else a new one. */
export function configSchema(): ReturnType<typeof buildConfigSchema> {
  let schema = built?.deref();
  if (!schema) {
    schema = buildSchema(buildConfigSchema);
    built = new WeakRef(schema);
  }
  return schema;
}

export type OpenClawConfig = z.infer<ReturnType<typeof buildConfigSchema>>;

export interface ConfigIssue {
  path: string;
  message: string;
}

/** `a.b[0].c` (keys joined by dots, indexes bracketed); `<root>` for the empty path. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || "<root>";
}

/** Flatten zod issues to `{path, message}`; unknown keys get one issue per key with its full path. */
function toConfigIssues(error: ZodError): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({ path: issuePath([...issue.path, key]), message: hintForUnknownKey([...issue.path, key]) });
      }
      continue;
    }
    issues.push({ path: issuePath(issue.path), message: issue.message });
  }
  return issues;
}

function hintForUnknownKey(path: readonly PropertyKey[]): string {
  const joined = path.map(String).join(".");
  if (joined === "gateway.token") return 'Unknown key. Found "gateway.token" in config. Use "gateway.auth.token" instead.';
  if (joined === "gateway.password") return 'Unknown key. Found "gateway.password" in config. Use "gateway.auth.password" instead.';
  return "Unknown key";
}

export type ValidationResult =
  | { ok: true; config: OpenClawConfig }
  | { ok: false; issues: ConfigIssue[] };

export function validateConfig(value: unknown): ValidationResult {
  const parsed = configSchema().safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, issues: toConfigIssues(parsed.error) };
}
