/**
 * The config schema: the single source of config types.
 *
 * Objects the gateway owns (`gateway.*`, `meta`, `logging`, `discovery`) are closed: an unknown
 * or misspelt key is an error with its path. Trees owned by agents, providers, channels and
 * plugins accept keys we do not interpret yet, so a real OpenClaw config loads unchanged.
 */
import { z } from "zod";

/** A secret given literally (`"abc"`, `"${ENV_VAR}"`) or as a SecretRef. */
export const SecretInput = z.union(
  [
    z.string(),
    z.strictObject({
      source: z.enum(["env", "file", "exec", "store"]),
      provider: z.string().optional(),
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
export const LogLevel = z.enum(["silent", "fatal", "error", "warn", "info", "debug", "trace"]);
export type LogLevel = z.infer<typeof LogLevel>;

const Port = z.number().int().min(1).max(65535);
const PositiveInt = z.number().int().positive();
const Endpoint = z.looseObject({ enabled: z.boolean().optional() });

const GatewayAuth = z.strictObject({
  mode: AuthMode.optional(),
  token: SecretInput.optional(),
  password: SecretInput.optional(),
  allowTailscale: z.boolean().optional(),
  identityScopes: z.array(z.string()).optional(),
  rateLimit: z
    .strictObject({
      maxAttempts: PositiveInt.optional(),
      windowMs: PositiveInt.optional(),
      lockoutMs: PositiveInt.optional(),
      exemptLoopback: z.boolean().optional(),
    })
    .optional(),
  trustedProxy: z
    .looseObject({
      userHeader: z.string().min(1),
      requiredHeaders: z.array(z.string()).optional(),
      allowUsers: z.array(z.string()).optional(),
      allowLoopback: z.boolean().optional(),
    })
    .optional(),
});

const Gateway = z.strictObject({
  mode: z.enum(["local", "remote"]).optional(),
  port: Port.optional(),
  bind: BindMode.optional(),
  customBindHost: z.ipv4().optional(),
  publicOrigin: z.string().optional(),
  auth: GatewayAuth.optional(),
  tailscale: z.looseObject({ mode: z.enum(["off", "serve", "funnel"]).optional() }).optional(),
  controlUi: z
    .looseObject({
      enabled: z.boolean().optional(),
      basePath: z.string().optional(),
      root: z.string().optional(),
      allowedOrigins: z.array(z.string()).optional(),
      dangerouslyAllowHostHeaderOriginFallback: z.boolean().optional(),
    })
    .optional(),
  http: z
    .strictObject({
      endpoints: z
        .strictObject({
          models: Endpoint.optional(),
          chatCompletions: Endpoint.optional(),
          responses: Endpoint.optional(),
          embeddings: Endpoint.optional(),
          toolsInvoke: Endpoint.optional(),
        })
        .optional(),
      cors: z.strictObject({ allowedOrigins: z.array(z.string()).optional() }).optional(),
      securityHeaders: z
        .strictObject({ strictTransportSecurity: z.union([z.string(), z.literal(false)]).optional() })
        .optional(),
    })
    .optional(),
  reload: z
    .strictObject({
      // hot/restart are seed-era values, accepted and treated as their documented meaning.
      mode: z.enum(["off", "hybrid", "hot", "restart"]).optional(),
      debounceMs: z.number().int().nonnegative().optional(),
      deferralTimeoutMs: z.number().int().nonnegative().optional(),
    })
    .optional(),
  remote: z
    .strictObject({
      url: z.string().optional(),
      transport: z.enum(["ssh", "direct"]).optional(),
      remotePort: Port.optional(),
      token: SecretInput.optional(),
      password: SecretInput.optional(),
      tlsFingerprint: z.string().optional(),
      sshTarget: z.string().optional(),
      sshIdentity: z.string().optional(),
      sshHostKeyPolicy: z.enum(["strict", "openssh"]).optional(),
      edgeAuth: z.unknown().optional(),
    })
    .optional(),
  tls: z
    .strictObject({
      enabled: z.boolean().optional(),
      autoGenerate: z.boolean().optional(),
      certPath: z.string().optional(),
      keyPath: z.string().optional(),
      caPath: z.string().optional(),
    })
    .optional(),
  trustedProxies: z.array(z.string()).optional(),
  allowRealIpFallback: z.boolean().optional(),
  tools: z.looseObject({}).optional(),
  nodes: z.looseObject({}).optional(),
  push: z.looseObject({}).optional(),
  terminal: z.unknown().optional(),
  cliAgents: z.unknown().optional(),
  roles: z.unknown().optional(),
  portals: z.unknown().optional(),
});

const ModelRef = z.union([
  z.string(),
  z.looseObject({ primary: z.string().optional(), fallbacks: z.array(z.string()).optional() }),
]);

const AgentFields = {
  default: z.boolean().optional(),
  name: z.string().optional(),
  workspace: z.string().optional(),
  model: ModelRef.optional(),
  embeddingModel: z.string().optional(),
  systemPrompt: z.string().optional(),
};
const AgentId = z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/i, "invalid agent id");

const Agents = z.looseObject({
  defaults: z.looseObject({ ...AgentFields }).optional(),
  entries: z.record(AgentId, z.looseObject({ ...AgentFields })).optional(),
  /** Legacy (seed-era) array form, accepted as entries. */
  list: z.array(z.looseObject({ id: AgentId, ...AgentFields })).optional(),
  ownership: z.unknown().optional(),
});

const Models = z.looseObject({
  mode: z.enum(["merge", "replace"]).optional(),
  providers: z
    .record(
      z.string(),
      z.looseObject({
        baseUrl: z.string().optional(),
        apiKey: SecretInput.optional(),
        api: z.string().optional(),
        models: z.array(z.looseObject({ id: z.string(), name: z.string().optional() })).optional(),
      }),
    )
    .optional(),
  catalogRefresh: z.looseObject({ enabled: z.boolean().optional(), url: z.string().optional() }).optional(),
});

/** Top-level trees owned by channels, plugins and features we accept but do not interpret. */
const OPAQUE_TOP_LEVEL = [
  "channels", "plugins", "skills", "tools", "hooks", "cron", "session", "messages", "browser", "talk",
  "diagnostics", "update", "wizard", "secrets", "auth", "bindings", "commands", "mcp", "telemetry",
  "identity", "ui", "tui", "audio", "agent", "routing", "memory", "approvals", "sandbox", "nodeHost",
  "canvasHost", "web", "media", "broadcast", "workspace", "users", "themes", "logs",
] as const;

const opaque = Object.fromEntries(OPAQUE_TOP_LEVEL.map((k) => [k, z.unknown().optional()])) as Record<
  (typeof OPAQUE_TOP_LEVEL)[number],
  z.ZodOptional<z.ZodUnknown>
>;

export const ConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  meta: z
    .strictObject({
      lastTouchedVersion: z.string().optional(),
      lastTouchedAt: z.string().optional(),
      migrations: z.unknown().optional(),
    })
    .optional(),
  env: z.looseObject({}).optional(),
  gateway: Gateway.optional(),
  logging: z
    .strictObject({
      level: LogLevel.optional(),
      file: z.string().optional(),
      maxFileBytes: PositiveInt.optional(),
      consoleLevel: LogLevel.optional(),
      consoleStyle: z.enum(["pretty", "json", "compact"]).optional(),
      redactPatterns: z.array(z.string()).optional(),
      redactSensitive: z.unknown().optional(),
      audit: z.unknown().optional(),
    })
    .optional(),
  discovery: z
    .strictObject({
      wideArea: z.looseObject({ domain: z.string().optional(), enabled: z.boolean().optional() }).optional(),
      mdns: z.looseObject({ mode: z.enum(["off", "minimal", "full"]).optional() }).optional(),
    })
    .optional(),
  agents: Agents.optional(),
  models: Models.optional(),
  ...opaque,
});

export type OpenClawConfig = z.infer<typeof ConfigSchema>;
export type GatewayConfig = NonNullable<OpenClawConfig["gateway"]>;

export interface ConfigIssue {
  path: string;
  message: string;
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || "<root>";
}

/** Flatten zod issues to `{path, message}`; unknown keys get one issue per key with its full path. */
export function toConfigIssues(error: z.ZodError): ConfigIssue[] {
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
