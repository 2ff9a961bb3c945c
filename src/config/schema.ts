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
import { z, type ZodError } from "../zod.ts";
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
  nodes: opt(z.looseObject({})),
  push: opt(z.looseObject({})),
  terminal: Opaque(),
  cliAgents: Opaque(),
  roles: Opaque(),
  portals: Opaque(),
});

const ModelRef = z.union([z.string(), z.looseObject({ primary: str(), fallbacks: strList() })]);

const AgentFields = {
  default: bool(),
  name: str(),
  workspace: str(),
  model: opt(ModelRef),
  embeddingModel: str(),
  systemPrompt: str(),
};
const AgentId = z.string().check(z.regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/i, "invalid agent id"));

const Agents = z.looseObject({
  defaults: opt(z.looseObject({ ...AgentFields })),
  entries: opt(z.record(AgentId, z.looseObject({ ...AgentFields }))),
  /** The array form, accepted as entries. */
  list: opt(z.array(z.looseObject({ id: AgentId, ...AgentFields }))),
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

/** Top-level trees owned by channels, plugins and features we accept but do not interpret. */
const OPAQUE_TOP_LEVEL = [
  "channels", "plugins", "skills", "tools", "hooks", "cron", "session", "messages", "browser", "talk",
  "diagnostics", "update", "wizard", "secrets", "auth", "bindings", "commands", "mcp", "telemetry",
  "identity", "ui", "tui", "audio", "agent", "routing", "memory", "approvals", "sandbox", "nodeHost",
  "canvasHost", "web", "media", "broadcast", "workspace", "users", "themes", "logs", "accessGroups", "acp",
  "worktreeRoot", "worktreeAcceleration", "security", "attachments", "tts", "transcripts", "cloudWorkers",
  "desktop", "surfaces", "proxy",
] as const;

const opaque = Object.fromEntries(OPAQUE_TOP_LEVEL.map((k) => [k, Opaque()])) as Record<
  (typeof OPAQUE_TOP_LEVEL)[number],
  ReturnType<typeof Opaque>
>;

export const ConfigSchema = z.strictObject({
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
  ...opaque,
});

export type OpenClawConfig = z.infer<typeof ConfigSchema>;

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
  const parsed = ConfigSchema.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, issues: toConfigIssues(parsed.error) };
}
